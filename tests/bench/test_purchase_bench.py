"""bench/purchase.py, the purchasing and stock benchmark, end to end at a tiny scale:
the generated data passes the stock check (and still does after the receipts posted),
every measure runs through the application and lands in purchase-small-latest.json and
.md, and what the reorder job wrote besides its suggestions is gone afterwards, so that
a kept database can be measured again. Timings are not asserted (bench/ measures them)."""
import json

import pytest
from sqlalchemy import create_engine, text

from core.config import normalise_database_url
from tests.bench.bench_helpers import own_database, run_script

LISTS = ["stock-on-hand list, first page", "stock-on-hand list, filtered (one warehouse)",
         "stock-on-hand list, searched by a product code"]


@pytest.fixture
def purchase_bench_database():
    """None (SQLite), or a PostgreSQL database of this test's own, dropped afterwards."""
    with own_database("crm_bench_purchase_test") as url:
        yield url


def run_bench(tmp_path, database, *extra):
    return run_script("purchase.py", "--products", "600", "--moves", "6000", "--orders",
                      "400", "--rules", "500", "--suppliers", "20", "--buyers", "3",
                      "--sales-orders", "100", "--runs", "2", "--receipt-runs", "1",
                      "--receipt-lines", "30", "--job-runs", "2", "--results",
                      str(tmp_path), *extra, database=database)


def by_start(results, start):
    found = [result for name, result in results.items() if name.startswith(start)]
    assert len(found) == 1, (start, list(results))
    return found[0]


def test_every_purchase_measure_is_recorded(tmp_path, purchase_bench_database):
    run_bench(tmp_path, purchase_bench_database)
    db = "postgresql" if purchase_bench_database else "sqlite"
    results = {r["name"]: r for r in json.loads(
        (tmp_path / "purchase-small-latest.json").read_text())}
    assert {r["db"] for r in results.values()} == {db}

    generated = by_start(results, "generate 600 products, 6,000 stock moves, 400 purchase "
                                  "orders, 500 reorder rules")
    assert generated["rows"] == 6000
    for who in ("purchase manager (every order)", "buyer (own orders)"):
        by_start(results, f"dashboard purchase, {who}, first view of the day (counted)")
        assert by_start(results, f"dashboard purchase, {who}, the views after it")["p95_ms"]
    # The levels are the sums of the moves, before and after three orders of 30 lines
    # were received (a warm-up, the timed run, the run measuring memory).
    assert "the sums of 6,000 moves: none differs" in by_start(results, "stock check, before")["name"]
    assert "the sums of 6,090 moves: none differs" in by_start(
        results, "stock check, after the receipts")["name"]
    for name in LISTS:
        assert results[name]["queries"] > 0 and results[name]["p95_ms"] is not None
    receipt = by_start(results, "receipt of 30 lines posted")
    # Counted through the application (PostgreSQL batches the moves' inserts: fewer).
    assert receipt["median_ms"] > 0 and receipt["queries"] > 0
    first = by_start(results, "reorder job, first run of the day")
    assert "reorder suggestions" in first["name"] and "low-stock digest" in first["name"]
    assert "0 low-stock digests" in by_start(results, "reorder job, run again at once")["name"]
    assert by_start(results, "purchase-order PDF, 1 page")["median_ms"] > 0

    table = (tmp_path / "purchase-small-latest.md").read_text(encoding="utf-8")
    for target in ("p95 < 50 ms", "p95 < 300 ms", "median < 30 s", "median < 150 ms"):
        assert target in table

    if purchase_bench_database:
        # Kept and measured again: the data is reused, the job's kind of figures replaced
        # and the others kept, and the digests the job wrote removed.
        output = run_bench(tmp_path, purchase_bench_database, "--keep", "--only", "reorder")
        assert "kept: 6,000 stock moves and 600 products" in output
        again = json.loads((tmp_path / "purchase-small-latest.json").read_text())
        assert len(again) == len(results)
        engine = create_engine(normalise_database_url(purchase_bench_database))
        with engine.connect() as connection:
            assert connection.scalar(text(
                "SELECT count(*) FROM core_notification WHERE key LIKE "
                "'crm_purchase.low_stock:%'")) == 0
        engine.dispose()
