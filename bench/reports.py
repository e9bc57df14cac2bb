"""Reports (crm_reports) at scale: every standard dashboard, the customer-value
analysis, and a report's Excel file of a million rows.

    python bench/reports.py [--scale small|large] [--database-url URL] [--keep]
                            [--customers N] [--orders N] [--analysed N] [--runs N]
                            [--xlsx-rows N] [--only MEASURES] [--results DIR]

A site in a temporary folder with crm_contacts, crm_sales and crm_reports (and so the
bridge crm_reports_sales) on the database named (default: a SQLite file in that folder;
a PostgreSQL database is dropped and created, unless --keep finds it holding this
scale's data already), filled by bench/generate.py (customers, their contacts,
activities, leads, deals and quotes; users in teams) and then sales orders over the
last three years, of 1-5 lines each, set-based (bench/purchase_generate.py's
add_sales_orders and add_sales_lines). Scales: small 5,000 customers and 100,000
orders; large 100,000 customers and 2,000,000 orders (PostgreSQL).

Measured, through the real application (run:app's Dispatcher, in this process):

- each standard dashboard (/admin/dashboard/standard/<key>/, the year so far), signed
  in as an administrator (every record) and as a salesperson (record rules: their own);
- the customer-value analysis (analysis.analyse, what the nightly job and
  ``python run.py analyse customer-value`` run) over the purchases up to the day that
  takes ``analysed`` orders (1,000,000 at the large scale), once: the models fitted and
  every customer's figures written;
- a report's Excel file of ``xlsx_rows`` rows (every order: number, customer, date,
  state, total, read from the database as they are written), by core/exporting.py's
  streaming writer, in a process of its own: its time and its peak resident memory.

Results: bench/results/reports-<scale>-latest.json and .md (a run replaces its
database's figures of the measures it ran, keeps the others).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.marketing import machine_facts  # noqa: E402
from bench.purchase import row_line as purchase_row_line  # noqa: E402
from bench.run import get_ok, measure, merge_results, signed_in_client  # noqa: E402
from bench.service import sql  # noqa: E402

ADDONS = ["crm_contacts", "crm_sales", "crm_reports"]
SCALES = {
    "small": {"customers": 5_000, "orders": 100_000, "analysed": 50_000, "runs": 10,
              "xlsx_rows": 100_000, "users": 20},
    "large": {"customers": 100_000, "orders": 2_000_000, "analysed": 1_000_000, "runs": 20,
              "xlsx_rows": 1_000_000, "users": 50},
}
DAYS = 3 * 365
TARGETS = {"dashboard": ("p95_ms", 300), "customer-value analysis": ("median_ms", 20_000),
           "Excel file": ("peak_rss_mb", 200)}
MEASURES = ("dashboards", "analysis", "xlsx")


# -- the site and its data ---------------------------------------------------------------------

def prepare(folder, database_url, scale, keep):
    def kept(url):
        return keep and held(url, scale) and \
            f"{scale['orders']:,} orders of {scale['customers']:,} customers"
    return startup.generated_site(folder, database_url, ADDONS, "reports.db",
                                  lambda url: fill(url, scale), kept)


def held(database_url, scale):
    try:
        customers = sql(database_url, "SELECT count(*) FROM crm_customer")[0][0]
        orders = sql(database_url, "SELECT count(*) FROM sale_order")[0][0]
    except Exception:  # noqa: BLE001 - no such database or table: nothing kept
        return False
    return customers == scale["customers"] and orders >= scale["orders"]


def fill(database_url, scale):
    from sqlalchemy import create_engine

    from bench.generate import generate
    from bench.purchase_generate import (Sql, add_order_totals, add_sales_lines,
                                         add_sales_orders, indexes_dropped, next_id,
                                         raise_counters)
    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(database_url))
    today = date.today()
    with engine.begin() as connection:
        counts = generate(connection, scale["customers"], users=scale["users"],
                          progress=lambda line: print(line, flush=True))
        helper = Sql(connection, 23, today)
        first_order, first_line = next_id(helper, "sale_order"), next_id(helper, "sale_order_line")
        first_customer = helper.run("SELECT min(id) FROM crm_customer").scalar()
        first_product = helper.run("SELECT min(id) FROM sale_product").scalar()
        products = helper.run("SELECT count(*) FROM sale_product").scalar()
        with indexes_dropped(helper, ("sale_order", "sale_order_line")):
            counts["sale_order"] = add_sales_orders(
                helper, first_order, scale["orders"], first_customer, scale["customers"],
                today, days=DAYS, state="done", skewed=True)
            print(f"  sale_order: {counts['sale_order']:,}", flush=True)
            counts["sale_order_line"] = add_sales_lines(helper, first_line, first_order,
                                                        first_product, products)
            add_order_totals(helper, "sale_order", "sale_order_line", first_order)
        raise_counters(helper, "sale_order", "order_date", "crm_sales.SO", first_order, today)
        if helper.postgresql:
            for table in ("sale_order", "sale_order_line"):
                helper.run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        # Owners: each order the customer's owner's, so that record rules narrow them.
        helper.run("UPDATE sale_order SET owner_id = (SELECT owner_id FROM crm_customer c "
                   f"WHERE c.id = sale_order.customer_id) WHERE id >= {first_order}")
    startup.analyse_tables(engine)
    engine.dispose()
    return counts


def facts_of(app):
    """The salesperson measured (the second member of the first team, given the Reports
    group) and the day before which ``analysed`` orders were made."""
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        one = lambda statement, **p: db.session.execute(text(statement), p).first()  # noqa: E731
        people = db.session.execute(text(
            "SELECT username, id FROM core_user WHERE username LIKE 'bench\\_%' ESCAPE '\\' "
            "ORDER BY id LIMIT 2")).all()
        (admin, _admin_id), (username, user_id) = people
        orders = one("SELECT count(*) FROM sale_order")[0]
        own = one("SELECT count(*) FROM sale_order WHERE owner_id = :u", u=user_id)[0]
        customers = one("SELECT count(*) FROM crm_customer")[0]
        db.session.rollback()
    # The first bench user signs in as an administrator (every record); the second,
    # a salesperson, reads reports of their own records.
    grant(app, {admin: "admin", username: "reports_user"})
    return {"salesperson": username, "admin": admin, "orders": orders, "own": own,
            "customers": customers}


def grant(app, groups):
    """Put each user of {username: group code} in that group (once)."""
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        for username, code in groups.items():
            db.session.execute(text(
                "INSERT INTO core_user_group (user_id, group_id) SELECT u.id, g.id FROM "
                "core_user u, core_group g WHERE u.username = :u AND g.code = :c AND NOT "
                "EXISTS (SELECT 1 FROM core_user_group x WHERE x.user_id = u.id AND "
                "x.group_id = g.id)"), {"u": username, "c": code})
        db.session.commit()


def until_for(app, count):
    """The first day by which ``count`` orders were made."""
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        found = db.session.execute(text(
            "SELECT order_date FROM sale_order ORDER BY order_date LIMIT 1 OFFSET :n"),
            {"n": max(count - 1, 0)}).scalar()
    return found if isinstance(found, date) else date.fromisoformat(str(found)[:10])


# -- the measures ------------------------------------------------------------------------------

def measure_dashboards(dispatcher, engine, people, runs, record, keys=None):
    """Each standard dashboard (of ``keys``, or every one) for each of ``people``
    [(username, who they are, the records they may read)]: its first view of the day
    (counted), then the views after it (its kept figures where counting took long,
    kept.py); then the nightly job counting them all again."""
    from sqlalchemy import text

    from core import reports
    with dispatcher.app.test_request_context():
        keys = keys or list(reports.standard_dashboards())
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM rep_kept_figures"))
    for username, who, rows in people:
        client = signed_in_client(dispatcher, username)
        for key in keys:
            path = f"/admin/dashboard/standard/{key}/"
            # The page's templates and code loaded first, on a day without figures.
            get_ok(client, path + "?start=2000-01-01&end=2000-01-01")
            first = measure(lambda: get_ok(client, path), engine, 1, warm_ups=0)
            record(f"dashboard {key}, {who}, first view of the day (counted)", rows,
                   {**first, "p95_ms": None})
            figures = measure(lambda: get_ok(client, path), engine, runs)
            with engine.connect() as connection:
                is_kept = connection.execute(text(
                    "SELECT count(*) FROM rep_kept_figures k JOIN core_user u ON "
                    "u.id = k.user_id WHERE k.source = :s AND u.username = :u"),
                    {"s": f"standard:{key}", "u": username}).scalar()
            record(f"dashboard {key}, {who}, the views after it "
                   f"({'kept figures' if is_kept else 'counted at each view'})", rows, figures)
    measure_nightly(dispatcher.app, engine, record)


def measure_nightly(app, engine, record):
    """The nightly job counting again every dashboard kept (as if counted and opened
    yesterday, for the year so far then)."""
    from datetime import timedelta

    from sqlalchemy import text

    from addons.crm_reports import kept
    from core.db import db
    today = date.today()
    with engine.begin() as connection:
        yesterday = today - timedelta(days=1)
        connection.execute(text(
            'UPDATE rep_kept_figures SET counted_on = :d, viewed_on = :d, start = :s, "end" = :d'),
            {"d": yesterday, "s": yesterday.replace(month=1, day=1)})
    with app.app_context():
        started = time.perf_counter()
        counted = kept.count_again(today)
        seconds = time.perf_counter() - started
        db.session.remove()
    record(f"nightly job: kept dashboards counted again: {counted}", counted,
           {"median_ms": round(seconds * 1000), "p95_ms": None, "queries": None})


def measure_analysis(app, engine, facts, scale, record):
    from addons.crm_reports import analysis
    from core.db import db
    until = until_for(app, scale["analysed"])
    with app.app_context():
        started = time.perf_counter()
        run = analysis.analyse(until)
        seconds = time.perf_counter() - started
        state, customers, message = run.state, run.customers, run.message
        db.session.remove()
    record(f"customer-value analysis up to {until} ({scale['analysed']:,} orders)", customers,
           {"median_ms": round(seconds * 1000), "p95_ms": None, "queries": None,
            "note": state if state == "done" else f"failed: {message}"})


# The peak is the process's own high-water mark (VmHWM): ru_maxrss would carry the
# parent's peak over the exec.
XLSX_SCRIPT = """
import re, sys, time
sys.path.insert(0, {root!r})
from sqlalchemy import create_engine, text
from core.config import normalise_database_url
from core.exporting import write_xlsx
engine = create_engine(normalise_database_url({url!r}))
started = time.perf_counter()
with engine.connect() as connection:
    rows = connection.execution_options(yield_per=5000).execute(text(
        "SELECT o.number, c.name, o.order_date, o.state, o.total FROM sale_order o "
        "JOIN crm_customer c ON c.id = o.customer_id ORDER BY o.id LIMIT {rows}"))
    write_xlsx(["Number", "Customer", "Date", "State", "Total"], rows, {target!r})
status = open("/proc/self/status").read()
print(time.perf_counter() - started, re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""


def measure_xlsx(folder, database_url, scale, record):
    target = str(folder / "orders.xlsx")
    script = XLSX_SCRIPT.format(root=str(ROOT), url=database_url, rows=scale["xlsx_rows"],
                                target=target)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    seconds, peak_kb = float(out[-2]), int(out[-1])
    record(f"Excel file of {scale['xlsx_rows']:,} report rows, streamed", scale["xlsx_rows"],
           {"median_ms": round(seconds * 1000), "p95_ms": None, "queries": None,
            "peak_rss_mb": round(peak_kb / 1024), "file_mb": round(
                os.path.getsize(target) / 2**20, 1)})


def run_site(folder, database_url, scale, keep, only=MEASURES):
    env, generated = prepare(folder, database_url, scale, keep)
    database_url = env["CRM_DATABASE_URL"]
    dispatcher, engine, db_name, results, record = startup.measured_site(env, row_line)
    app = dispatcher.app
    if generated:
        counts = generated["counts"]
        record(f"generate {counts.get('crm_customer', 0):,} customers, "
               f"{counts.get('sale_order', 0):,} orders", counts.get("sale_order", 0),
               {"median_ms": generated["seconds"] * 1000, "p95_ms": None, "queries": None})
    facts = facts_of(app)
    print(f"# {facts['customers']:,} customers, {facts['orders']:,} orders; salesperson "
          f"{facts['salesperson']} owns {facts['own']:,}", flush=True)
    try:
        if "dashboards" in only:
            measure_dashboards(dispatcher, engine, [
                (facts["admin"], "administrator", facts["orders"]),
                (facts["salesperson"], "salesperson (own records)", facts["own"])],
                scale["runs"], record)
        if "analysis" in only:
            measure_analysis(app, engine, facts, scale, record)
        if "xlsx" in only:
            measure_xlsx(folder, database_url, scale, record)
    finally:
        engine.dispose()
    return results, db_name


def row_line(result):
    line = purchase_row_line({**result, "peak_mb": None})
    cells = line.split(" | ")
    cells[-2] = "; ".join(part for part in (
        f"peak RSS {result['peak_rss_mb']} MB, file {result['file_mb']} MB"
        if result.get("peak_rss_mb") is not None else "",
        result.get("note", "")) if part)
    cells[-1] = target_text(result) + " |"
    return " | ".join(cells)


def target_text(result):
    for prefix, (statistic, limit) in TARGETS.items():
        if not result["name"].startswith(prefix) or result.get(statistic) is None:
            continue
        shown = {"p95_ms": f"p95 < {limit} ms", "median_ms": f"< {limit / 1000:g} s",
                 "peak_rss_mb": f"peak < {limit} MB"}[statistic]
        if str(result.get("note", "")).startswith("failed"):
            return f"{shown}: **failed**"
        return f"{shown}: {'met' if result[statistic] < limit else '**missed**'}"
    return ""


def write_results(results, db_name, folder, scale_name, machine, loads):
    folder.mkdir(parents=True, exist_ok=True)
    merged = merge_results(results, db_name, folder / f"reports-{scale_name}-latest.json")
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d %H:%M')}; load average "
             f"{loads[0]:.1f} at the start of the run, {loads[1]:.1f} at its end.", "",
             "| measure | db | rows | median | p95 | queries | memory, notes | target |",
             "|---|---|---|---|---|---|---|---|"] + [row_line(r) for r in merged]
    written = folder / f"reports-{scale_name}-latest.md"
    written.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true",
                        help="reuse the PostgreSQL database when it holds this scale's data")
    numbers = ("customers", "orders", "analysed", "runs", "xlsx_rows", "users")
    for key in numbers:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int,
                            help="instead of the scale's number")
    parser.add_argument("--only", default=",".join(MEASURES),
                        help=f"which measures, comma-separated ({', '.join(MEASURES)})")
    parser.add_argument("--results", type=Path, default=startup.RESULTS)
    parser.add_argument("--if-reachable", action="store_true",
                        help="skip quietly when the PostgreSQL server does not answer")
    args = parser.parse_args(argv)
    if args.database_url and args.if_reachable:
        from bench.run import reachable
        if not reachable(args.database_url):
            print(f"PostgreSQL at {args.database_url} not reachable: skipped")
            return
    scale = dict(SCALES[args.scale])
    for key in numbers:
        if getattr(args, key) is not None:
            scale[key] = getattr(args, key)
    started_load = os.getloadavg()[0]
    print(f"# {args.scale} scale: {scale['customers']:,} customers, {scale['orders']:,} "
          f"orders on {'PostgreSQL' if args.database_url else 'SQLite'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-reports-") as folder:
        results, db_name = run_site(Path(folder), args.database_url, scale, args.keep,
                                    args.only.split(","))
    machine = machine_facts(args.database_url)
    written = write_results(results, db_name, args.results, args.scale, machine,
                            (started_load, os.getloadavg()[0]))
    print(f"written: {written}")
    print(json.dumps({"results": len(results)}))


if __name__ == "__main__":
    main()
