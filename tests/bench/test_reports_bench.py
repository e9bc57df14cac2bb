"""bench/reports.py, the reports benchmark, end to end at a tiny scale: every standard
dashboard is measured for an administrator and for a salesperson, the customer-value
analysis fits its models on the generated orders, and the Excel file is written with its
peak memory; all in reports-small-latest.json and .md. Timings are not asserted (bench/
measures them)."""
import json

import pytest

from tests.bench.bench_helpers import own_database, run_script


@pytest.fixture
def reports_bench_database():
    with own_database("crm_bench_reports_test") as url:
        yield url


def test_every_reports_measure_is_recorded(tmp_path, reports_bench_database):
    run_script("reports.py", "--customers", "300", "--orders", "3000", "--analysed", "2000",
               "--runs", "2", "--xlsx-rows", "2000", "--users", "6", "--results",
               str(tmp_path), database=reports_bench_database)
    results = {r["name"]: r for r in json.loads(
        (tmp_path / "reports-small-latest.json").read_text())}
    assert results["generate 300 customers, 3,000 orders"]["rows"] == 3000
    dashboards = [name for name in results if name.startswith("dashboard ")]
    for key in ("customers", "sales", "customer_analysis"):
        for who in ("administrator", "salesperson (own records)"):
            first = results[f"dashboard {key}, {who}, first view of the day (counted)"]
            assert first["queries"] > 0 and first["p95_ms"] is None
            [after] = [results[name] for name in dashboards
                       if name.startswith(f"dashboard {key}, {who}, the views after it")]
            assert after["queries"] > 0 and after["p95_ms"] is not None
    assert len(dashboards) == 12
    # The salesperson's dashboards count their own orders only.
    assert results["dashboard sales, salesperson (own records), first view of the day "
                   "(counted)"]["rows"] < 3000
    [nightly] = [r for name, r in results.items() if name.startswith("nightly job")]
    assert nightly["median_ms"] is not None
    [analysis] = [r for name, r in results.items() if name.startswith("customer-value")]
    assert analysis["note"] == "done" and analysis["rows"] > 100
    [excel] = [r for name, r in results.items() if name.startswith("Excel file of 2,000")]
    assert 0 < excel["peak_rss_mb"] and excel["file_mb"] > 0
    table = (tmp_path / "reports-small-latest.md").read_text(encoding="utf-8")
    for target in ("p95 < 300 ms", "< 20 s", "peak < 200 MB"):
        assert target in table
