"""Purchasing and stock (crm_purchase) at scale: the stock-on-hand list, posting a
receipt of 200 lines, the daily reorder job, a purchase order's PDF.

    python bench/purchase.py [--scale small|large] [--database-url URL] [--keep]
                             [--products N] [--moves N] [--orders N] [--rules N]
                             [--runs N] [--receipt-runs N] [--receipt-lines N]
                             [--only MEASURES] [--results DIR]

A site in a temporary folder with crm_contacts, crm_sales and crm_purchase on the
database named (default: a SQLite file in that folder; a PostgreSQL database is dropped
and created, unless --keep finds it holding this scale's data already), filled by
bench/purchase_generate.py (set-based SQL). Scales: small 5,000 products, 200,000 stock
moves, 10,000 purchase orders, 5,000 reorder rules (a minute or two on either
database); large 100,000 products, 5,000,000 moves (with their 170,000 levels, the sums
of the moves), 200,000 purchase orders, 100,000 reorder rules, 2,000 suppliers with two
prices a product (PostgreSQL; several minutes to generate).

Measured, through the real application (run:app's Dispatcher, in this process), signed
in as the purchase manager (group purchase_manager, who sees every order):

- stock check: every level against the sums of its moves (stock.differences, what
  ``python run.py stock check`` runs), once: the generated data must hold, and does
  again after the receipts below;
- the stock-on-hand list (/admin/stock-level/): first page, filtered on one warehouse,
  searched by a product code;
- a receipt of a purchase order of 200 lines (each a product of its own), everything
  ordered received at once: the POST of /admin/receipt/new/?order=<id> (its GET, which
  gives the CSRF token, untimed), one new order per run, made before the runs;
- the reorder job (crm_purchase.reorder, as the scheduler runs it) over every rule: the
  first run of the day (suggestions replaced, the low-stock digests written), each run
  after removing the digests of the one before, then once more at once (digests already
  sent today);
- the PDF of a purchase order of one page (/admin/purchase-order/pdf/?id=), its pages
  counted.

Each timed measure: warm-up runs, then timed runs; median and 95th percentile, the SQL
statements of one run (bench/run.py's measure). Results:
bench/results/purchase-<scale>-latest.json and .md (a run replaces its database's
figures of the measures it ran, keeps the others).
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.generate import PASSWORD  # noqa: E402
from bench.marketing import machine_facts  # noqa: E402
from bench.run import (counting_statements, csrf_token, get_ok, measure,  # noqa: E402
                       merge_results, ms_text, pdf_pages, signed_in_client)
from bench.service import sql  # noqa: E402

ADDONS = ["crm_contacts", "crm_sales", "crm_purchase", "crm_reports"]
SCALES = {
    "small": {"products": 5_000, "moves": 200_000, "orders": 10_000, "rules": 5_000,
              "suppliers": 100, "buyers": 10, "sales_orders": 1_000, "runs": 10,
              "receipt_runs": 5, "receipt_lines": 200, "job_runs": 2},
    "large": {"products": 100_000, "moves": 5_000_000, "orders": 200_000, "rules": 100_000,
              "suppliers": 2_000, "buyers": 50, "sales_orders": 20_000, "runs": 30,
              "receipt_runs": 10, "receipt_lines": 200, "job_runs": 3},
}
WARM_UPS = 2
PDF_LINES = 8                # a purchase order of one page
TARGETS = {"stock-on-hand list": ("p95_ms", 50), "receipt of": ("p95_ms", 300),
           "reorder job, first run": ("median_ms", 30_000),
           "purchase-order PDF, 1 page": ("median_ms", 150), "dashboard": ("p95_ms", 300)}
MEASURES = ("check", "lists", "receipt", "reorder", "pdf", "dashboards")
# What the reorder job writes besides its suggestions (children first): removed after
# each run so that the next is again the first of the day.
JOB_TABLES = ("core_message_attachment", "core_message", "core_notification")


# -- the site and its data ---------------------------------------------------------------------

def prepare(folder, database_url, scale, keep):
    """The site's environment, on a database holding the scale's data."""
    def kept(url):
        return keep and held(url, scale) and \
            f"{scale['moves']:,} stock moves and {scale['products']:,} products"
    return startup.generated_site(folder, database_url, ADDONS, "purchase.db",
                                  lambda url: fill(url, scale), kept)


def held(database_url, scale):
    """Does the database hold this scale's products and moves (at least)?"""
    try:
        products = sql(database_url, "SELECT count(*) FROM sale_product "
                                     "WHERE code LIKE 'PB%'")[0][0]
        moves = sql(database_url, "SELECT count(*) FROM stock_move")[0][0]
    except Exception:  # noqa: BLE001 - no such database or table: nothing kept
        return False
    return products == scale["products"] and moves >= scale["moves"]


def fill(database_url, scale):
    from sqlalchemy import create_engine

    from bench.purchase_generate import generate_purchase
    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(database_url))
    with engine.begin() as connection:
        counts = generate_purchase(
            connection, scale["products"], scale["moves"], scale["orders"], scale["rules"],
            scale["suppliers"], scale["buyers"], scale["sales_orders"],
            progress=lambda line: print(line, flush=True))
    startup.analyse_tables(engine)
    engine.dispose()
    return counts


def facts_of(app):
    """Who signs in, what the lists are filtered and searched on, and the sizes."""
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        one = lambda statement: db.session.execute(text(statement)).first()  # noqa: E731
        facts = {
            "manager": one("SELECT username FROM core_user WHERE username LIKE "
                           "'purchase\\_manager\\_%' ESCAPE '\\' ORDER BY id DESC")[0],
            "buyer_id": one("SELECT id FROM core_user WHERE username LIKE 'buyer\\_%' "
                            "ESCAPE '\\' ORDER BY id")[0],
            "buyer": one("SELECT username FROM core_user WHERE username LIKE 'buyer\\_%' "
                         "ESCAPE '\\' ORDER BY id")[0],
            "supplier_id": one("SELECT min(id) FROM pur_supplier")[0],
            "warehouse_id": one("SELECT id FROM stock_warehouse WHERE is_default = "
                                f"{'true' if db.engine.dialect.name == 'postgresql' else '1'}"
                                " ORDER BY id")[0],
            "other_warehouse": one("SELECT name FROM stock_warehouse ORDER BY id DESC")[0],
            "code": one("SELECT p.code FROM stock_level l JOIN sale_product p "
                        "ON p.id = l.product_id ORDER BY l.id DESC")[0],
            "levels": one("SELECT count(*) FROM stock_level")[0],
            "moves": one("SELECT count(*) FROM stock_move")[0],
            "rules": one("SELECT count(*) FROM stock_reorder_rule WHERE active = "
                         f"{'true' if db.engine.dialect.name == 'postgresql' else '1'}")[0],
            "orders": one("SELECT count(*) FROM pur_order")[0],
        }
        facts["own_orders"] = one(f"SELECT count(*) FROM pur_order WHERE owner_id = "
                                  f"{facts['buyer_id']}")[0]
        db.session.rollback()
    return facts


def bench_orders(app, facts, count, lines, state):
    """``count`` purchase orders of ``lines`` lines each (products of their own, the
    first ones generated), made as data like the generator's, in state ``state``;
    [(order id, [line ids])]."""
    from sqlalchemy import select

    from addons.crm_purchase.models import PurchaseOrder, PurchaseOrderLine
    from addons.crm_sales.models import Product
    from core.db import db
    with app.app_context():
        products = db.session.execute(select(Product.id, Product.name, Product.cost,
                                             Product.tax_rate)
                                      .where(Product.code.like("PB%"))
                                      .order_by(Product.id).limit(lines)).all()
        if len(products) < lines:
            raise RuntimeError(f"{lines} products are needed, {len(products)} found")
        orders = []
        for _ in range(count):
            order = PurchaseOrder(
                supplier_id=facts["supplier_id"], warehouse_id=facts["warehouse_id"],
                owner_id=facts["buyer_id"], state=state, order_date=date.today(),
                terms="货到付款，30 天内付清。Payment within 30 days of delivery.",
                lines=[PurchaseOrderLine(sequence=(n + 1) * 10, product_id=pid,
                                         description=name, quantity=Decimal(10 + n % 7),
                                         unit_price=cost or Decimal(1),
                                         tax_rate=tax or Decimal(0))
                       for n, (pid, name, cost, tax) in enumerate(products)])
            db.session.add(order)
            orders.append(order)
        db.session.commit()
        made = [(order.id, [line.id for line in order.lines]) for order in orders]
        db.session.remove()
    return made


# -- the measures ------------------------------------------------------------------------------

def measure_check(app, engine, facts, record, when):
    from addons.crm_purchase import stock
    from core.db import db
    with app.app_context():
        with counting_statements(engine) as count:
            started = time.perf_counter()
            found = stock.differences()
            elapsed = (time.perf_counter() - started) * 1000
        db.session.rollback()
    if found:
        raise RuntimeError(f"stock check {when}: {len(found)} levels differ from the "
                           f"ledger, e.g. {found[:3]}")
    record(f"stock check, {when} (every level against the sums of {facts['moves']:,} "
           "moves: none differs)", facts["levels"],
           {"median_ms": round(elapsed), "p95_ms": None, "queries": count[0]})


def equal_filter_arg(app, endpoint, column):
    """The URL name of the list's "equals" filter on ``column`` (flt0_<name>=...)."""
    from flask_admin.contrib.sqla.filters import FilterEqual
    view = next(view for view in app.extensions["admin"][0]._views
                if view.endpoint == endpoint)
    for arg, (_index, flt) in (view._filter_args or {}).items():
        if isinstance(flt, FilterEqual) and flt.column is column:
            return arg
    raise RuntimeError(f"no 'equals' filter on {column} in {endpoint}")


def list_checks(app, facts):
    from urllib.parse import urlencode

    from addons.crm_purchase.models import Warehouse
    warehouse = equal_filter_arg(app, "stock_level", Warehouse.__table__.c.name)
    return [
        ("stock-on-hand list, first page", "/admin/stock-level/"),
        ("stock-on-hand list, filtered (one warehouse)",
         "/admin/stock-level/?" + urlencode({f"flt0_{warehouse}": facts["other_warehouse"]})),
        ("stock-on-hand list, searched by a product code",
         "/admin/stock-level/?" + urlencode({"search": facts["code"]})),
    ]


def measure_lists(dispatcher, engine, facts, runs, record):
    client = signed_in_client(dispatcher, facts["manager"], PASSWORD)
    for name, path in list_checks(dispatcher.app, facts):
        record(name, facts["levels"], measure(lambda: get_ok(client, path), engine, runs))


def measure_receipt(dispatcher, engine, facts, scale, record):
    """POST a receipt of every line of a new order in each run (the GET that gives the
    form's token untimed, before it)."""
    runs, lines = scale["receipt_runs"], scale["receipt_lines"]
    warm_ups = min(WARM_UPS, runs)
    orders = iter(bench_orders(dispatcher.app, facts, warm_ups + runs + 1, lines, "sent"))
    client = signed_in_client(dispatcher, facts["manager"], PASSWORD)
    posted, form = [], {}

    def open_form():
        order_id, line_ids = next(orders)
        path = f"/admin/receipt/new/?order={order_id}"
        form.update(path=path, data={
            "csrf_token": csrf_token(get_ok(client, path).decode()),
            "receipt_date": date.today().isoformat(), "warehouse": str(facts["warehouse_id"]),
            "delivery_note": f"DN-BENCH-{order_id}",
            **{f"quantity-{line_id}": str(10 + n % 7) for n, line_id in enumerate(line_ids)}})
        posted.append(order_id)

    def post():
        response = client.post(form["path"], data=form["data"])
        if response.status_code != 302 or "/details/" not in response.headers["Location"]:
            raise RuntimeError(f"receipt of order {posted[-1]} not saved "
                               f"({response.status_code}): {flashes(response)}")
    figures = measure(post, engine, runs, warm_ups=warm_ups, before=open_form)
    received = sql(os.environ["CRM_DATABASE_URL"],
                   "SELECT count(*) FROM pur_order WHERE state = 'received' AND id IN "
                   f"({', '.join(str(order_id) for order_id in posted)})")[0][0]
    if received != len(posted):
        raise RuntimeError(f"{len(posted) - received} of the {len(posted)} orders received "
                           "are not in state 'received'")
    record(f"receipt of {lines} lines posted (POST /admin/receipt/new/?order=: the receipt, "
           f"{lines} moves and levels, the order received)", facts["moves"], figures)


def flashes(response):
    page = response.get_data(as_text=True)
    found = re.findall(r'class="[^"]*(?:alert|invalid-feedback|text-danger)[^"]*"[^>]*>(.*?)<',
                       page, re.S)
    return "; ".join(text.strip() for text in found if text.strip())[:1500] or page[-1500:]


def measure_reorder(app, engine, facts, runs, record):
    """The job as the scheduler runs it: ``runs`` first runs of the day, then one
    more at once."""
    from sqlalchemy import text

    from core.db import db
    from core.scheduler import job_specs, run_job
    with app.app_context():
        spec = job_specs(app.extensions["crm"])["crm_purchase.reorder"]
        marks = startup.high_water(db.session, JOB_TABLES)

        def run():
            with counting_statements(engine) as count:
                started, started_cpu = time.perf_counter(), time.process_time()
                status, message = run_job(spec)
                elapsed = (time.perf_counter() - started) * 1000
                cpu = (time.process_time() - started_cpu) * 1000
            if status != "ok":
                raise RuntimeError(f"crm_purchase.reorder: {status} {message}")
            return elapsed, cpu, count[0], message
        try:
            first = []
            for _ in range(runs):
                startup.delete_since(db.session, marks)
                first.append(run())
            again = run()
        finally:
            startup.delete_since(db.session, marks)
        open_ones = db.session.execute(text(
            "SELECT count(*) FROM stock_reorder_suggestion WHERE state = 'open'")).scalar()
        db.session.commit()
    times = [elapsed for elapsed, _cpu, _count, _message in first]
    record(f"reorder job, first run of the day, {facts['rules']:,} active rules "
           f"({first[-1][3]}; {open_ones:,} open suggestions)", facts["rules"],
           {"median_ms": round(statistics.median(times)), "p95_ms": round(max(times)),
            "queries": first[-1][2],
            "cpu_median_ms": round(statistics.median(cpu for _e, cpu, _c, _m in first))})
    record(f"reorder job, run again at once ({again[3]})", facts["rules"],
           {"median_ms": round(again[0]), "p95_ms": None, "queries": again[2],
            "cpu_median_ms": round(again[1])})


def measure_pdf(dispatcher, engine, facts, runs, record):
    [(order_id, _lines)] = bench_orders(dispatcher.app, facts, 1, PDF_LINES, "approved")
    client = signed_in_client(dispatcher, facts["manager"], PASSWORD)
    path = f"/admin/purchase-order/pdf/?id={order_id}"
    pages = pdf_pages(get_ok(client, path))
    if pages != 1:
        raise RuntimeError(f"the purchase order of {PDF_LINES} lines printed on {pages} pages")
    record("purchase-order PDF, 1 page", PDF_LINES,
           measure(lambda: get_ok(client, path), engine, runs))


# -- the run -----------------------------------------------------------------------------------

def run_site(folder, database_url, scale, keep, only=MEASURES):
    env, generated = prepare(folder, database_url, scale, keep)
    database_url = env["CRM_DATABASE_URL"]
    dispatcher, engine, db_name, results, record = startup.measured_site(env, row_line)
    app = dispatcher.app
    if generated:
        counts = generated["counts"]
        record(f"generate {counts.get('sale_product', 0):,} products, "
               f"{counts.get('stock_move', 0):,} stock moves, "
               f"{counts.get('pur_order', 0):,} purchase orders, "
               f"{counts.get('stock_reorder_rule', 0):,} reorder rules",
               counts.get("stock_move", 0),
               {"median_ms": generated["seconds"] * 1000, "p95_ms": None, "queries": None})
    facts = facts_of(app)
    print(f"# {facts['levels']:,} stock levels, {facts['moves']:,} moves, "
          f"{facts['orders']:,} purchase orders, {facts['rules']:,} active rules; signed in "
          f"as {facts['manager']}", flush=True)
    try:
        if "check" in only:
            measure_check(app, engine, facts, record, "before")
        if "lists" in only:
            measure_lists(dispatcher, engine, facts, scale["runs"], record)
        if "receipt" in only:
            measure_receipt(dispatcher, engine, facts, scale, record)
        if "reorder" in only:
            measure_reorder(app, engine, facts, scale["job_runs"], record)
        if "pdf" in only:
            measure_pdf(dispatcher, engine, facts, scale["runs"], record)
        if "dashboards" in only:
            from bench.reports import grant, measure_dashboards
            grant(app, {facts["manager"]: "reports_user", facts["buyer"]: "reports_user"})
            measure_dashboards(dispatcher, engine, [
                (facts["manager"], "purchase manager (every order)", facts["orders"]),
                (facts["buyer"], "buyer (own orders)", facts["own_orders"])],
                scale["runs"], record, keys=["purchase"])
        if "check" in only and "receipt" in only:
            facts.update(facts_of(app))
            measure_check(app, engine, facts, record, "after the receipts")
    finally:
        engine.dispose()
    return results, db_name


def row_line(result):
    other = []
    if result.get("cpu_median_ms") is not None:
        other.append(f"CPU {result['cpu_median_ms']} ms")
    if result.get("peak_mb") is not None:
        other.append(f"{result['peak_mb']} MB allocated")
    return (f"| {result['name']} | {result['db']} | {result['rows']:,} | "
            f"{ms_text(result['median_ms'])} | {ms_text(result['p95_ms'])} | "
            f"{'' if result.get('queries') is None else result['queries']} | "
            f"{'; '.join(other)} | {target_text(result)} |")


def target_text(result):
    for prefix, (statistic, limit) in TARGETS.items():
        if not result["name"].startswith(prefix) or result.get(statistic) is None:
            continue
        shown = f"{limit / 1000:g} s" if limit >= 10_000 else f"{limit} ms"
        verdict = "met" if result[statistic] < limit else "**missed**"
        return f"{'p95' if statistic == 'p95_ms' else 'median'} < {shown}: {verdict}"
    return ""


def write_results(results, db_name, folder, scale_name, machine, loads):
    folder.mkdir(parents=True, exist_ok=True)
    merged = merge_results(results, db_name,
                           folder / f"purchase-{scale_name}-latest.json")
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d %H:%M')}; load average "
             f"{loads[0]:.1f} at the start of the run, {loads[1]:.1f} at its end (each "
             "result's own in the JSON).", "",
             "| measure | db | rows | median | p95 | queries | CPU, memory | target |",
             "|---|---|---|---|---|---|---|---|"] + [row_line(r) for r in merged]
    written = folder / f"purchase-{scale_name}-latest.md"
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
    numbers = ("products", "moves", "orders", "rules", "suppliers", "buyers", "sales_orders",
               "runs", "receipt_runs", "receipt_lines", "job_runs")
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
    print(f"# {args.scale} scale: {scale['products']:,} products, {scale['moves']:,} moves, "
          f"{scale['orders']:,} purchase orders, {scale['rules']:,} reorder rules on "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; load average "
          f"{started_load:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-purchase-") as folder:
        results, db_name = run_site(Path(folder), args.database_url, scale, args.keep,
                                    args.only.split(","))
    machine = machine_facts(args.database_url)
    print(f"# {machine}", flush=True)
    written = write_results(results, db_name, args.results, args.scale, machine,
                            (started_load, os.getloadavg()[0]))
    print(f"written: {written}")


if __name__ == "__main__":
    main()
