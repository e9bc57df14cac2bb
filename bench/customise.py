"""Custom fields (Settings > Customise) at scale: the customer list with 20 fields
added, against the same pages without them.

    python bench/customise.py [--scale small|large] [--database-url URL] [--keep]
                              [--customers N] [--runs N] [--rounds N] [--results DIR]
                              [--if-reachable]

A site with crm_contacts and crm_sales on the database named (default: a SQLite file in
a temporary folder; a PostgreSQL database is dropped and created, unless --keep finds it
holding this scale's customers), filled by bench/generate.py. Scales: small 20,000
customers; large 1,000,000 (PostgreSQL), the main benchmark's.

Measured through the real application (run:app's Dispatcher), signed in as an
administrator (every record): the customer list's first page, sorted by name, filtered
on grade and city, and searched (2 and 4 characters), on two copies of the generated
database, one as generated and one with 20 fields added through core.customise (four
of each of five kinds: text, whole number, money, date, choice; one of each kind a
column of the list, each with a value on every customer; the text fields indexed, so
that a search of 3 characters or more looks in them). Each copy is served by a process
of its own (a field is mapped onto the model class for the whole process), and each
page is requested from the two in turns, so that whatever else the machine does falls
on both halves alike; the page servers run on the first core, the database's processes
on the last. At the large scale three such rounds, each with new copies and processes; a
page's figures are the median and p95 of all the rounds' times together. Target: each
page's p95 with the fields within 10 % of its p95 without. The generated database never
holds the fields: the copies are dropped after their round.

Results: bench/results/customise-<scale>-latest.json and .md.
"""
import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.marketing import machine_facts  # noqa: E402
from bench.run import (WARM_UPS, get_ok, measure, merge_results, ms_text,  # noqa: E402
                       signed_in_client, summary)
from bench.service import sql  # noqa: E402

ADDONS = ["crm_contacts", "crm_sales"]
# (100 runs at the large scale: the p95 of 30 is their second slowest, too noisy a
# figure for a 10 % target)
# Three rounds at the large scale, each on new copies in new processes (a process's
# medians moved by up to a third from one process to the next here).
SCALES = {"small": {"customers": 20_000, "runs": 20, "rounds": 1},
          "large": {"customers": 1_000_000, "runs": 100, "rounds": 3}}
ADMIN, ADMIN_PASSWORD = "bench_admin", "bench admin password 1"
PAGES = [("first page", "/admin/customer/"),
         ("sorted by name", "/admin/customer/?sort=1"),
         ("filtered", "/admin/customer/?flt0_grade_equals=A&flt1_city_equals=上海市"),
         ("searched", "/admin/customer/?search=科技"),
         ("searched, 4 characters", "/admin/customer/?search=精密科技")]
# Twenty fields: four of each kind, the first of each kind a column of the list; the SQL
# that gives every customer a value.
KINDS = {"text": "'wx-' || CAST(id AS VARCHAR(20))", "number": "id % 1000",
         "money": "(id % 100000) / 100.0", "date": "'2026-01-01'",
         "choice": "CASE WHEN id % 2 = 0 THEN 'gold' ELSE 'silver' END"}
FIELDS = [(f"bench_{kind}_{number}", kind, number == 1) for kind in KINDS
          for number in range(1, 5)]
TARGET = 1.10   # with the fields, at most 10 % slower (p95)


def customers_held(database_url):
    try:
        return sql(database_url, "SELECT count(*) FROM crm_customer")[0][0]
    except Exception:  # noqa: BLE001 - no such table yet
        return 0


def prepare(folder, database_url, scale, keep):
    def fill(url):
        from sqlalchemy import create_engine
        from bench.generate import generate
        engine = create_engine(url)
        with engine.begin() as connection:
            counts = generate(connection, scale["customers"], users=20)
        engine.dispose()
        return counts

    def kept(url):
        held = customers_held(url) if keep else 0
        return f"{held:,} customers" if held == scale["customers"] else None

    env, generated = startup.generated_site(folder, database_url, ADDONS, "customise.db",
                                            fill, kept)
    startup.run_cli(env, "create-admin", "--username", ADMIN, "--password", ADMIN_PASSWORD)
    return env, generated


def site_app():
    from core.app import Dispatcher
    dispatcher = Dispatcher()
    app = dispatcher.app
    return dispatcher, app


def remove_bench_fields(app):
    """The fields an earlier (interrupted) run left, purged: the run starts without."""
    from core import customise
    from core.db import db
    from core.models import CustomField
    from sqlalchemy import select
    with app.app_context():
        for field in db.session.scalars(select(CustomField).where(
                CustomField.name.like("x_bench_%"))).all():
            customise.purge_field(db.session, field, app.extensions["crm"].registry)
            db.session.commit()


def add_bench_fields(app):
    """The twenty fields, then a value of each on every customer (one UPDATE for all),
    then the table vacuumed (vacuum)."""
    from sqlalchemy import text
    from core import customise
    from core.db import db
    from core.i18n import model_class
    registry = app.extensions["crm"].registry
    with app.app_context():
        model = model_class("Customer")
        for name, kind, listed in FIELDS:
            customise.add_field(db.session, model, {
                "name": name, "kind": kind, "label_en": name.replace("_", " ").title(),
                "label_zh": f"字段{name[6:]}", "in_list": listed,
                "indexed": kind == "text",   # so that a search looks in them
                "options": "gold | Gold | 金牌\nsilver | Silver | 银牌"}, registry)
            db.session.commit()
        db.session.execute(text("UPDATE crm_customer SET " + ", ".join(
            f"x_{name} = {KINDS[kind]}" for name, kind, _listed in FIELDS)))
        db.session.commit()
    vacuum(app)


def vacuum(app):
    """The table rewritten (VACUUM FULL) and its statistics and visibility map made
    (VACUUM ANALYZE) on PostgreSQL, before each half: both measure a table of its real
    width, not one holding a bulk UPDATE's dead rows or an earlier run's dropped
    columns."""
    from sqlalchemy import text
    from core.db import db
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM FULL crm_customer"))
                connection.execute(text("VACUUM ANALYZE crm_customer"))


def page_server(connection, database_url):
    """One half of a round, in a process of its own (a field is mapped onto the model
    class for the whole process): the site on ``database_url``, signed in. It answers
    ("page", path) with the page, ("time", path) with one GET's milliseconds, ("facts",
    path) with one GET's statements and peak memory; None ends it."""
    os.environ["CRM_DATABASE_URL"] = database_url
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})   # the database's processes get the other core
    dispatcher, app = site_app()
    with app.app_context():
        from core.db import db
        engine = db.engine
    client = signed_in_client(dispatcher, ADMIN, ADMIN_PASSWORD)
    while (message := connection.recv()) is not None:
        kind, path = message
        if kind == "page":
            connection.send(get_ok(client, path).decode())
        elif kind == "time":
            started = time.perf_counter()
            get_ok(client, path)
            connection.send((time.perf_counter() - started) * 1000)
        else:
            facts = measure(lambda: get_ok(client, path), engine, 1, warm_ups=0)
            connection.send({key: facts[key] for key in ("queries", "peak_mb")})


def pin_database_processes(urls):
    """The PostgreSQL processes serving ``urls`` on the last core, the page servers on
    the first: where the scheduler puts each otherwise moved a page's median by a third
    from one process to the next. Says so when it may not (another user's processes)."""
    from sqlalchemy.engine import make_url
    from core.config import normalise_database_url
    names = [make_url(normalise_database_url(url)).database for url in urls]
    if not urls[0].startswith("postgresql") or (os.cpu_count() or 1) < 2:
        return
    pids = [pid for (pid,) in sql(urls[0], "SELECT pid FROM pg_stat_activity "
                                           "WHERE datname = ANY(:names)", names=names)]
    for pid in pids:
        try:
            os.sched_setaffinity(pid, {os.cpu_count() - 1})
        except ProcessLookupError:   # (ended since it was listed: a parallel worker)
            continue
        except PermissionError as exc:
            print(f"the database's processes could not be pinned to a core: {exc}",
                  flush=True)
            return


def interleaved(urls, runs):
    """Each page measured on both copies in turns (without, with; then with, without),
    so that whatever else the machine does falls on both alike: per copy {page name:
    figures and the times}."""
    context = multiprocessing.get_context("spawn")
    servers = []
    for url in urls:
        ours, theirs = context.Pipe()
        process = context.Process(target=page_server, args=(theirs, url))
        process.start()
        servers.append((process, ours))

    def ask(server, *message):
        server[1].send(message)
        return server[1].recv()
    try:
        found = [{}, {}]
        for number, (name, path) in enumerate(PAGES):
            if "Bench Text 1" not in ask(servers[1], "page", path):
                raise RuntimeError(f"{path}: the listed custom fields are not on the page")
            ask(servers[0], "page", path)
            if number == 0:
                pin_database_processes(urls)
            times = [[], []]
            for index in range(WARM_UPS + runs):
                for half in ((0, 1) if index % 2 == 0 else (1, 0)):
                    elapsed = ask(servers[half], "time", path)
                    if index >= WARM_UPS:
                        times[half].append(elapsed)
            for half, server in enumerate(servers):
                found[half][name] = {**summary(times[half]), **ask(server, "facts", path),
                                     "times": times[half]}
        return found
    finally:
        for process, connection in servers:
            if process.is_alive():
                connection.send(None)
            process.join()


def one_round(generated_url, number, runs):
    """(figures without the fields, figures with them), measured in turns on two copies
    of the generated database, the twenty fields added to the second."""
    plain, drop_plain = round_copy(generated_url, f"{number}_plain")
    fields, drop_fields = round_copy(generated_url, f"{number}_fields")
    try:
        for url in (plain, fields):
            os.environ["CRM_DATABASE_URL"] = url
            app = site_app()[1]
            if url == fields:
                started = time.perf_counter()
                add_bench_fields(app)
                print(f"20 fields added and filled in {time.perf_counter() - started:.0f} s",
                      flush=True)
            else:
                vacuum(app)
            with app.app_context():
                from core.db import db
                db.engine.dispose()   # (the copy is dropped after the round)
        return interleaved([plain, fields], runs)
    finally:
        drop_plain()
        drop_fields()


def round_copy(database_url, number):
    """A copy of the generated database for one round (PostgreSQL: CREATE DATABASE …
    TEMPLATE; SQLite: the file), dropped after it: every round adds its fields to the
    table as generated. (Removing them instead leaves their columns behind: PostgreSQL
    keeps a dropped column in its catalogue and a null for it in every row written
    after, and the earlier rounds' sixty made the later rounds' pages slower.)"""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from core.config import normalise_database_url
    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() == "sqlite":
        copy = f"{url.database}.round{number}"
        shutil.copyfile(url.database, copy)
        return f"sqlite:///{copy}", lambda: os.remove(copy)
    copy = f"{url.database}_round{number}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop():
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
    drop()
    with server.connect() as connection:
        # (FILE_COPY, from PostgreSQL 15: the files copied, not the gigabytes written
        # through the log, which the checkpointer would still be writing while timed)
        strategy = " STRATEGY = FILE_COPY" if connection.dialect.server_version_info >= (15,) \
            else ""
        connection.execute(text(
            f'CREATE DATABASE "{copy}" TEMPLATE "{url.database}"{strategy}'))
    return url.set(database=copy).render_as_string(hide_password=False), drop


def combined(rounds):
    """Several rounds' figures as one: the median and p95 of all their times together,
    and each round's p95 ("p95s")."""
    first = rounds[0]
    times = [ms for one in rounds for ms in one["times"]]
    return {**first, **summary(times), "runs": len(times),
            "p95s": [one["p95_ms"] for one in rounds],
            "peak_mb": max(one["peak_mb"] for one in rounds)}


def run_site(folder, database_url, scale, keep):
    env, generated = prepare(folder, database_url, scale, keep)
    os.environ.update(env)
    db_name = "postgresql" if database_url else "sqlite"
    generated_url = env["CRM_DATABASE_URL"]
    dispatcher, app = site_app()
    remove_bench_fields(app)   # (what a run of an earlier version left)
    with app.app_context():
        from core.db import db
        db.engine.dispose()    # (a database copied has no one connected)
    rows = customers_held(generated_url)
    rounds = []
    for number in range(scale["rounds"]):
        rounds.append(one_round(generated_url, number, scale["runs"]))
        for name, _path in PAGES:
            without, with_ = (half[name] for half in rounds[-1])
            print(f"round {number + 1}, {name}: p95 {ms_text(without['p95_ms'])} → "
                  f"{ms_text(with_['p95_ms'])} (medians {ms_text(without['median_ms'])} → "
                  f"{ms_text(with_['median_ms'])})", flush=True)
    os.environ["CRM_DATABASE_URL"] = generated_url
    results = []
    for name, _path in PAGES:
        without, with_ = (combined([one[half][name] for one in rounds]) for half in (0, 1))
        with_["ratio"] = round(with_["p95_ms"] / without["p95_ms"], 3)
        for kind, figures in (("none", without), ("20 custom fields", with_)):
            results.append({"name": f"customer list, {name}, {kind}", "db": db_name,
                            "rows": rows, **{k: v for k, v in figures.items() if k != "times"}})
    return results, db_name


def row_line(result):
    target = ""
    if "ratio" in result:
        verdict = "met" if result["ratio"] <= TARGET else "**missed**"
        target = f"p95 {result['ratio']:.2f}x of none; ≤ 1.10x: {verdict}"
    p95 = ms_text(result["p95_ms"]) + (
        f" ({', '.join(ms_text(each) for each in result['p95s'])})" if "p95s" in result else "")
    return (f"| {result['name']} | {result['db']} | {result['rows']:,} | "
            f"{ms_text(result['median_ms'])} | {p95} | "
            f"{result['queries']} | {target} |")


def write_results(results, db_name, folder, scale_name, machine, loads):
    folder.mkdir(parents=True, exist_ok=True)
    merged = merge_results(results, db_name, folder / f"customise-{scale_name}-latest.json")
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d %H:%M')}; load average "
             f"{loads[0]:.1f} at the start of the run, {loads[1]:.1f} at its end.", "",
             "| measure | db | customers | median | p95 (each round's) | queries | target |",
             "|---|---|---|---|---|---|---|"] + [row_line(r) for r in merged]
    written = folder / f"customise-{scale_name}-latest.md"
    written.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database (dropped and created unless --keep "
                             "finds it filled); default: SQLite in a temporary folder")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the PostgreSQL database when it holds this scale's data")
    parser.add_argument("--customers", type=int, help="instead of the scale's number")
    parser.add_argument("--runs", type=int, help="instead of the scale's number")
    parser.add_argument("--rounds", type=int, help="instead of the scale's number")
    parser.add_argument("--results", type=Path, default=startup.RESULTS)
    parser.add_argument("--if-reachable", action="store_true",
                        help="skip quietly when the PostgreSQL server does not answer")
    args = parser.parse_args(argv)
    if args.database_url and args.if_reachable:
        from bench.run import reachable
        if not reachable(args.database_url):
            print(f"PostgreSQL at {args.database_url} not reachable: skipped")
            return None
    scale = dict(SCALES[args.scale])
    for key in ("customers", "runs", "rounds"):
        if getattr(args, key) is not None:
            scale[key] = getattr(args, key)
    started_load = os.getloadavg()[0]
    print(f"# {args.scale} scale: {scale['customers']:,} customers on "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; load average "
          f"{started_load:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-customise-") as folder:
        results, db_name = run_site(Path(folder), args.database_url, scale, args.keep)
    machine = machine_facts(args.database_url)
    written = write_results(results, db_name, args.results, args.scale, machine,
                            (started_load, os.getloadavg()[0]))
    print(f"written: {written}")
    return results


if __name__ == "__main__":
    main()
