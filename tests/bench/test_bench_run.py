"""bench/run.py, the benchmark harness, end to end at a tiny scale: every measure runs
through the application and lands in latest.json and latest.md. Timings are not
asserted (bench/ measures them); what the harness promises is."""
import json
import shutil

import pytest

from tests.bench.bench_helpers import own_database, run_script

PAGES = ["customer list, first page", "customer list, page size 100", "customer list, deep page",
         "customer list, sorted by name", "customer list, sorted by name, deep",
         "customer list, filtered (grade A, Shanghai)", "customer list, searched",
         "customer list, searched (two Chinese characters)",
         "opportunity list, first page", "activity list, first page", "quick search, a name",
         "quick search, two Chinese characters", "quick search, a code",
         "quick search, a phone number",
         "360° customer page (10 contacts, 200 activities)",
         "record page with its feed (50 changes, 20 activities, 10 notes)",
         "kanban board, 10,000 open opportunities", "Sales dashboard, by month",
         "Sales dashboard, by year", "quote PDF, 1 page", "quote PDF, 2 pages"]


@pytest.fixture
def bench_database():
    """None (SQLite), or a PostgreSQL database of this test's own, dropped afterwards."""
    with own_database("crm_bench_test") as url:
        yield url


def test_every_measure_is_recorded(tmp_path, bench_database):
    run_script("run.py", "--customers", "300", "--import-rows", "30", "--runs", "2",
               "--throughput-seconds", "3", "--due-items", "2000", "--users", "5",
               "--pdf-pages", "2", "--connections", "10", "--no-startup", "--results",
               str(tmp_path), database=bench_database, timeout=600)

    db = "postgresql" if bench_database else "sqlite"
    results = {r["name"]: r for r in json.loads((tmp_path / "latest.json").read_text())}
    assert {r["db"] for r in results.values()} == {db}
    for name in PAGES:
        page = results[name]
        assert page["median_ms"] > 0 and page["p95_ms"] >= page["median_ms"], name
        assert page["queries"] > 0 and page["peak_mb"] > 0, name
    # A list page costs the same statements whatever its size.
    assert results["customer list, first page"]["queries"] == \
        results["customer list, page size 100"]["queries"]
    assert results["quote PDF, 2 pages"]["rows"] > results["quote PDF, 1 page"]["rows"]
    job = next(r for name, r in results.items() if name.startswith("reminder job"))
    assert job["name"].startswith("reminder job (2000 follow-ups") and job["rows"] == 2000
    for fmt in ("CSV", "XLSX"):
        imported = results[f"{fmt} import of 30 customers (upload and commit)"]
        assert imported["queries"] > 0 and imported["median_ms"] > 0
    assert results["generate 300 customers"]["median_ms"] > 0
    throughput = [r for name, r in results.items() if name.startswith("throughput")]
    if shutil.which("wrk"):
        assert len(throughput) == 2 and all(r["rps"] > 0 for r in throughput)
        for pages in ("1 page", "2 pages"):
            served = results[f"quote PDF, {pages}, from a gunicorn worker"]
            assert served["p95_ms"] >= served["median_ms"] > 0
            assert served["rows"] == results[f"quote PDF, {pages}"]["rows"]

    table = (tmp_path / "latest.md").read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("| ") for line in table) == len(results) + 1   # and the header
    assert any("| kanban board" in line and "median < 300 ms" in line for line in table)
