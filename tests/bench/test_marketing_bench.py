"""bench/marketing.py, the marketing benchmark, end to end at a tiny scale: every measure
runs through the application (the sends through sender processes and a counting SMTP
server) and lands in marketing-small-latest.json and .md. Timings are not asserted
(bench/ measures them); what the script promises is: segments tagged to give exactly
the recipients asked for, every message received once, the figures recorded."""
import json

import pytest
from sqlalchemy import create_engine, text

from core.config import normalise_database_url
from tests.bench.bench_helpers import own_database, run_script

SEGMENT_COUNTS = ["segment count, grade A and a province (广东):", "segment count, grade A:",
                  "segment count, a tag (bench-100):"]
LISTS = ["campaign list, first page (20 a page)", "campaign list, 100 a page",
         "recipient list, one mailing, first page", "recipient list, one mailing, page 5"]


@pytest.fixture
def marketing_bench_database():
    """None (SQLite), or a PostgreSQL database of this test's own, dropped afterwards."""
    with own_database("crm_bench_marketing_test") as url:
        yield url


def run_bench(tmp_path, database, *extra):
    return run_script("marketing.py", "--customers", "300", "--recipients", "100", "--sends",
                      "20,60", "--campaigns", "5", "--runs", "2", "--results", str(tmp_path),
                      *extra, database=database)


def by_start(results, start):
    found = [result for name, result in results.items() if name.startswith(start)]
    assert found, start
    return found


def test_every_marketing_measure_is_recorded(tmp_path, marketing_bench_database):
    run_bench(tmp_path, marketing_bench_database)
    db = "postgresql" if marketing_bench_database else "sqlite"
    results = {r["name"]: r for r in json.loads(
        (tmp_path / "marketing-small-latest.json").read_text())}
    assert {r["db"] for r in results.values()} == {db}
    assert len(by_start(results, "generate customers and marketing data (300 customers")) == 1
    by_start(results, "dashboard marketing, marketing manager, first view of the day (counted)")
    [after] = by_start(results, "dashboard marketing, marketing manager, the views after it")
    assert after["p95_ms"] is not None

    for start in SEGMENT_COUNTS:
        [count] = by_start(results, start)
        assert count["median_ms"] is not None and count["queries"] == 3   # segment + 2 counts
        assert [s for s in count["sql"] if "count(distinct(lower(trim(" in s["statement"]]
    # The tag's customers give exactly 100 addresses that are not suppressed: queued both
    # by e-mail and by SMS, the suppressed ones (every 100th contact, the last customer's
    # extra ones) left out.
    for channel in ("e-mail", "SMS"):
        [queued] = by_start(results, f"queue {channel} recipients")
        assert "(100 queued," in queued["name"] and queued["rows"] == 100

    sends = sorted(by_start(results, "sending e-mails, 2 sender processes"),
                   key=lambda r: r["rows"])
    assert [send["rows"] for send in sends] == [20, 60]
    for send in sends:
        # The counting SMTP server received each message once: none lost, none twice.
        assert f"the SMTP server received {send['rows']}" in send["name"]
        assert send["rate"] > 0 and send["steady_rate"] > 0
        assert sum(sender["sent"] for sender in send["senders"]) == send["rows"]
        assert send["peak_rss_mb"] == max(sender["rss_mb"] for sender in send["senders"]) > 20

    for name in LISTS:
        assert results[name]["queries"] > 0 and results[name]["p95_ms"] is not None

    table = (tmp_path / "marketing-small-latest.md").read_text(encoding="utf-8")
    assert "segment count, grade A" in table and "p95 < 1 s" in table
    assert ">= 300 messages/s" in table and "time < 30 s" in table
    assert "```sql" in table and "crm_tag" in table
    explain = tmp_path / "marketing-small-explain.txt"
    assert explain.exists() == bool(marketing_bench_database)

    if marketing_bench_database:
        assert "Execution Time" in explain.read_text(encoding="utf-8")
        # Kept and measured again: the data is reused; the lists' kind of figures is
        # replaced, the others kept.
        output = run_bench(tmp_path, marketing_bench_database, "--keep", "--only", "lists")
        assert "kept: 300 customers" in output
        again = json.loads((tmp_path / "marketing-small-latest.json").read_text())
        assert len(again) == len(results)
        engine = create_engine(normalise_database_url(marketing_bench_database))
        with engine.connect() as connection:
            assert connection.scalar(text(
                "SELECT count(*) FROM mkt_recipient r JOIN mkt_mailing m "
                "ON m.id = r.mailing_id WHERE m.name = 'Bench newsletter (e-mail)'")) == 100
        engine.dispose()
