"""The REST API at scale: a page of 100 customers as JSON, as a salesperson (their record
rules: the customers they may see), beside the customer list screen as the same user;
then throughput under gunicorn, the API and the screen side by side.

    python bench/api.py [--scale small|large] [--database-url URL] [--keep] [--runs N]
                        [--seconds N] [--results DIR] [--if-reachable]

A site with crm_contacts and crm_sales on the database named (default: a SQLite file in
a temporary folder; a PostgreSQL database is dropped and created, unless --keep finds it
holding this scale's customers), filled by bench/generate.py with its 50 salespeople.
Scales: small 20,000 customers; large 1,000,000 (PostgreSQL), the main benchmark's.

Latency: through the real application (run:app's Dispatcher) in this process, the API's
GET /api/v1/customer?limit=100 with a read token of the salesperson, and the list screen
(its first page) signed in as them, asked in turns. Target: the API's p95 under 30 ms at
the large scale on PostgreSQL. Throughput: gunicorn with 2 workers and wrk with 50
connections, each one salesperson: their token for the API, their session for the screen
(bench/throughput.py). Each salesperson's token has a rate limit of its own; the site's
([api] requests_per_minute) is raised for the run, which measures the API, not its limit.

Results: bench/results/api-<scale>-latest.json and .md.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup, throughput  # noqa: E402
from bench.customise import customers_held, site_app  # noqa: E402
from bench.marketing import machine_facts  # noqa: E402
from bench.run import (WARM_UPS, counting_statements, get_ok, merge_results,  # noqa: E402
                       ms_text, salesperson, signed_in_client, summary)

ADDONS = ["crm_contacts", "crm_sales"]
SCALES = {"small": {"customers": 20_000, "runs": 30, "seconds": 10},
          "large": {"customers": 1_000_000, "runs": 300, "seconds": 30}}
API_PAGE = "/api/v1/customer?limit=100"
SCREEN_PAGE = "/admin/customer/"
TARGET_MS = 30


def prepare(folder, database_url, scale, keep):
    def fill(url):
        from sqlalchemy import create_engine
        from bench.generate import generate
        engine = create_engine(url)
        with engine.begin() as connection:
            counts = generate(connection, scale["customers"], users=50)
        engine.dispose()
        return counts

    def kept(url):
        held = customers_held(url) if keep else 0
        return f"{held:,} customers" if held == scale["customers"] else None

    env, generated = startup.generated_site(folder, database_url, ADDONS, "api.db", fill, kept)
    config = Path(env["CRM_CONFIG"])
    config.write_text(config.read_text(encoding="utf-8")
                      + "[api]\nrequests_per_minute = 1000000\n", encoding="utf-8")
    return env, generated


def tokens(app):
    """(the salesperson's facts, {user id: a read token's key} of every salesperson)."""
    from core import api
    from core.db import db
    from core.models import User
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        facts = salesperson(db.session)
        keys = {user_id: api.make_token(db.session.get(User, user_id), "bench")[1]
                for user_id, _name in facts["users"]}
        db.session.commit()
    return facts, keys


def latency(dispatcher, app, facts, key, runs):
    """The API's page and the screen's, asked in turns: {name: median, p95, statements,
    rows}."""
    from werkzeug.test import Client
    from core.db import db
    with app.app_context():
        engine = db.engine
    api_client = Client(dispatcher)
    headers = {"Authorization": f"Bearer {key}"}

    def api_page():
        response = api_client.get(API_PAGE, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {API_PAGE} answered {response.status_code}")
        return response.get_json()["data"]

    screen = signed_in_client(dispatcher, facts["username"])
    asks = {"API, 100 customers as JSON": api_page,
            "customer list screen, first page": lambda: get_ok(screen, SCREEN_PAGE)}
    rows = len(api_page())
    times = {name: [] for name in asks}
    statements = {}
    for index in range(WARM_UPS + runs):
        for name, ask in (asks.items() if index % 2 == 0 else reversed(asks.items())):
            with counting_statements(engine) as count:
                started = time.perf_counter()
                ask()
                elapsed = (time.perf_counter() - started) * 1000
            statements.setdefault(name, count[0])
            if index >= WARM_UPS:
                times[name].append(elapsed)
    return [{"name": f"{name}, as a salesperson ({facts['own_customers']:,} of their own)",
             **summary(times[name]), "queries": statements[name],
             **({"page_rows": rows} if name.startswith("API") else {})} for name in asks]


def throughput_run(env, facts, keys, seconds):
    """wrk on the API and on the screen, one after the other, in the same gunicorn."""
    import shutil
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk): throughput run skipped")
        return []
    with throughput.served(env) as (base, server, folder):
        cookies = {user_id: throughput.sign_in(base, name) for user_id, name in facts["users"]}
        checks = [("API, 100 customers as JSON",
                   [("Authorization", f"Bearer {keys[user_id]}", API_PAGE) for user_id in keys]),
                  ("customer list screen, first page",
                   [("Cookie", cookie, SCREEN_PAGE) for cookie in cookies.values()])]
        return [throughput.loaded(base, server, folder, name, requests, seconds)
                for name, requests in checks]


def run_site(folder, database_url, scale, keep):
    env, _generated = prepare(folder, database_url, scale, keep)
    os.environ.update(env)
    db_name = "postgresql" if database_url else "sqlite"
    rows = customers_held(env["CRM_DATABASE_URL"])
    dispatcher, app = site_app()
    facts, keys = tokens(app)
    results = latency(dispatcher, app, facts, keys[facts["user_id"]], scale["runs"])
    results += throughput_run(env, facts, keys, scale["seconds"])
    for result in results:
        result.update(db=db_name, rows=rows)
        print(row_line(result), flush=True)
    return results, db_name


def row_line(result):
    target = ""
    if result["name"].startswith("API") and "rps" not in result:
        target = f"p95 < {TARGET_MS} ms: " + (
            "met" if result["p95_ms"] < TARGET_MS else "**missed**")
    rps = f"{result['rps']:,.0f}" if result.get("rps") else ""
    return (f"| {result['name']} | {result['db']} | {result['rows']:,} | "
            f"{ms_text(result['median_ms'])} | {ms_text(result['p95_ms'])} | "
            f"{result.get('queries') or ''} | {rps} | {target} |")


def write_results(results, db_name, folder, scale_name, machine, loads):
    folder.mkdir(parents=True, exist_ok=True)
    merged = merge_results(results, db_name, folder / f"api-{scale_name}-latest.json")
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d %H:%M')}; load average "
             f"{loads[0]:.1f} at the start of the run, {loads[1]:.1f} at its end.", "",
             "| measure | db | customers | median | p95 | queries | requests/s | target |",
             "|---|---|---|---|---|---|---|---|"] + [row_line(r) for r in merged]
    written = folder / f"api-{scale_name}-latest.md"
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
    parser.add_argument("--seconds", type=int, help="instead of the scale's number")
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
    for key in ("customers", "runs", "seconds"):
        if getattr(args, key) is not None:
            scale[key] = getattr(args, key)
    started_load = os.getloadavg()[0]
    print(f"# {args.scale} scale: {scale['customers']:,} customers on "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; load average "
          f"{started_load:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-api-") as folder:
        results, db_name = run_site(Path(folder), args.database_url, scale, args.keep)
    machine = machine_facts(args.database_url)
    written = write_results(results, db_name, args.results, args.scale, machine,
                            (started_load, os.getloadavg()[0]))
    print(f"written: {written}")
    return results


if __name__ == "__main__":
    main()
