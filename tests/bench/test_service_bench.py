"""bench/service.py, the customer-service benchmark, end to end at a tiny scale: every
measure runs through the application and lands in service-small-latest.json and .md, and
what the escalation job and the mail wrote is gone afterwards, so that a kept database
can be measured again. Timings are not asserted (bench/ measures them)."""
import json

import pytest
from sqlalchemy import create_engine, text

from core.config import normalise_database_url
from tests.bench.bench_helpers import own_database, run_script

MEASURES = ["ticket list, agent, first page", "ticket list, agent, by SLA due",
            "ticket list, agent, searched by number", "ticket list, manager, first page",
            "SLA figures of a page of 100 (newest): sla_for_page alone",
            "SLA figures of a page of 100 (old, closed): difference"]


@pytest.fixture
def service_bench_database():
    """None (SQLite), or a PostgreSQL database of this test's own, dropped afterwards."""
    with own_database("crm_bench_service_test") as url:
        yield url


def run_bench(tmp_path, database, *extra):
    return run_script("service.py", "--tickets", "400", "--messages", "2000", "--customers",
                      "100", "--agents", "20", "--runs", "2", "--mails", "12", "--cli-mails",
                      "1", "--results", str(tmp_path), *extra, database=database)


def test_every_service_measure_is_recorded(tmp_path, service_bench_database):
    run_bench(tmp_path, service_bench_database)
    db = "postgresql" if service_bench_database else "sqlite"
    results = {r["name"]: r for r in json.loads(
        (tmp_path / "service-small-latest.json").read_text())}
    assert {r["db"] for r in results.values()} == {db}
    for name in MEASURES:
        assert name in results, name
        assert results[name]["median_ms"] is not None
    names = list(results)
    assert any(n.startswith("generate 400 tickets") for n in names)
    escalations = [n for n in names if n.startswith("escalation job")]
    assert len(escalations) == 3 and any("again at once" in n for n in escalations)
    mail = [results[n] for n in names if n.startswith("mail-in")]
    assert len(mail) == 2 and all(r["rate"] > 0 for r in mail)
    assert "outcomes {'taken': 12}" in next(n for n in names if "mailgate.receive" in n)
    # The Service dashboard, for the manager and an agent, after the generated tickets'
    # resolution SLA was worked out.
    assert any(n.startswith("resolution SLA worked out for ") for n in names)
    for who in ("service manager (every ticket)", "agent (their team's tickets)"):
        assert f"dashboard service, {who}, first view of the day (counted)" in names
        assert any(n.startswith(f"dashboard service, {who}, the views after it") and
                   results[n]["p95_ms"] is not None for n in names)
    table = (tmp_path / "service-small-latest.md").read_text(encoding="utf-8")
    assert "ticket list, agent, first page" in table and "p95 < 50 ms" in table

    if service_bench_database:
        # Kept and measured again: the generated data is reused, and the job's and the
        # mail's writes were removed (no escalation left, the index as generated).
        output = run_bench(tmp_path, service_bench_database, "--keep", "--only",
                           "escalation,mail")
        assert "kept: 400 tickets" in output
        engine = create_engine(normalise_database_url(service_bench_database))
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM svc_sla_escalation")) == 0
            assert connection.scalar(text("SELECT count(*) FROM svc_ticket")) == 400
            assert connection.scalar(text(
                "SELECT count(*) FROM svc_ticket t JOIN bench_sla_index b ON b.id = t.id "
                "WHERE t.sla_warn_at IS DISTINCT FROM b.sla_warn_at")) == 0
        engine.dispose()
