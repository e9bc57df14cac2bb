"""bench/service_generate.py, the customer-service data generator, at a small scale: its
rows are deterministic, their state histories and conversation agree with the tickets'
states and times, its SLA index is what the application's own SLA clock computes, and
the application works on the data (an agent's list, the next ticket number)."""
import re
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from bench.generate import PASSWORD, generate
from bench.service_generate import generate_service
from core.config import normalise_database_url
from tests.addons.conftest import addon_suite

NOW = datetime(2026, 6, 3, 6, 0)      # a Wednesday, 14:00 in Shanghai
TICKETS = 600
MESSAGES = 3000
AGENTS = 20


@pytest.fixture
def service_sales_suite(tmp_path, database_url):
    """crm_service with crm_sales (the customer generator needs it), no demo."""
    installation = addon_suite(tmp_path, database_url, ["crm_service", "crm_sales"])
    yield installation
    installation.close()


def moment(value):
    """A datetime of a raw SQL row (SQLite gives text); other values as they are."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", value):
        return datetime.fromisoformat(value)
    return value


def rows_of(suite, statement, **params):
    return [tuple(moment(value) for value in row) for row in suite.sql(statement, **params)]


def snapshot(connection):
    return [connection.execute(text(sql)).all() for sql in (
        "SELECT id, number, state, priority, customer_id, owner_id, team_id, created_at, "
        "sla_due_at, sla_warn_at FROM svc_ticket ORDER BY id",
        "SELECT count(*), min(id), max(id) FROM svc_ticket_message",
        "SELECT ticket_id, state, at FROM svc_ticket_state_change ORDER BY id")]


def test_service_generate(service_sales_suite):
    suite = service_sales_suite
    engine = create_engine(normalise_database_url(suite.database_url))
    with engine.connect() as connection:
        with connection.begin():
            generate(connection, 100, users=5)
        # The same seed twice gives the same rows: the first run rolled back.
        with connection.begin() as transaction:
            first_counts = generate_service(connection, TICKETS, MESSAGES, agents=AGENTS,
                                            now=NOW)
            first = snapshot(connection)
            transaction.rollback()
        with connection.begin():
            counts = generate_service(connection, TICKETS, MESSAGES, agents=AGENTS, now=NOW)
            assert snapshot(connection) == first and counts == first_counts
    engine.dispose()

    assert counts["svc_ticket"] == TICKETS
    assert 0.9 * MESSAGES <= counts["svc_ticket_message"] <= 1.1 * MESSAGES
    assert counts["core_team"] == AGENTS // 10 and counts["svc_team"] == AGENTS // 10
    states = dict(suite.sql("SELECT state, count(*) FROM svc_ticket GROUP BY state"))
    assert 0.7 * TICKETS < states["closed"] < 0.9 * TICKETS
    assert states.get("new", 0) + states.get("open", 0) > 0.05 * TICKETS

    # Ids follow the order tickets were opened; numbers are unique, by year.
    rows = rows_of(suite, "SELECT id, number, created_at FROM svc_ticket ORDER BY id")
    assert [r[2] for r in rows] == sorted(r[2] for r in rows)
    assert len({r[1] for r in rows}) == TICKETS
    assert all(r[1].startswith(f"T{r[2].year}-") for r in rows)

    # Every history starts with "new" when the ticket opened, runs forward, never past
    # NOW, and ends in the ticket's state; closed tickets were resolved first.
    histories = {}
    for ticket_id, state, at in rows_of(
            suite, "SELECT ticket_id, state, at FROM svc_ticket_state_change ORDER BY ticket_id, id"):
        histories.setdefault(ticket_id, []).append((state, at))
    conversation = {}
    for ticket_id, kind, at in rows_of(
            suite, "SELECT ticket_id, kind, created_at FROM svc_ticket_message ORDER BY ticket_id, id"):
        conversation.setdefault(ticket_id, []).append((kind, at))
    for (ticket_id, state, created, first_response, last_reply, last_incoming, resolved,
         closed, due, warn) in rows_of(
            suite, "SELECT id, state, created_at, first_response_at, last_reply_at, "
            "last_customer_message_at, resolved_at, closed_at, sla_due_at, sla_warn_at "
            "FROM svc_ticket"):
        changes = histories[ticket_id]
        assert changes[0] == ("new", created)
        assert [at for _s, at in changes] == sorted(at for _s, at in changes)
        assert changes[-1][0] == state and changes[-1][1] <= NOW
        if state == "closed":
            assert [s for s, _at in changes][-2:] == ["resolved", "closed"]
            assert resolved < closed
        messages = conversation[ticket_id]
        assert messages[0] == ("incoming", created)
        assert all(created <= at <= NOW for _kind, at in messages)
        replies = [at for kind, at in messages if kind == "reply"]
        assert first_response == (min(replies) if replies else None)
        assert last_reply == (max(replies) if replies else None)
        assert last_incoming == max(at for kind, at in messages if kind == "incoming")
        if state not in ("new", "open"):
            assert due is None and warn is None

    # The SLA index is what the application's own clock says, for every open ticket.
    from addons.crm_service import sla
    from addons.crm_service.models import Ticket
    from core.db import db
    app = suite.app()
    with app.app_context():
        running = db.session.scalars(db.select(Ticket).where(
            Ticket.state.in_(("new", "open")))).all()
        figures = sla.sla_for_page(running, now=NOW)
        for ticket in running:
            assert sla.next_deadlines(figures[ticket.id]) == (
                ticket.sla_due_at, ticket.sla_warn_at), ticket.number
        due = sum(1 for ticket in running if ticket.sla_warn_at <= NOW)
        assert 0.25 * len(running) < due < 0.8 * len(running)

    # The application works on the data: an agent's list shows their team's tickets,
    # and the next ticket number is past the generated ones.
    team, leader = suite.sql("SELECT t.id, t.leader_id FROM core_team t JOIN svc_team s "
                             "ON s.team_id = t.id ORDER BY t.id LIMIT 1")[0]
    agent = suite.sql("SELECT u.username FROM core_user u JOIN core_team_member m "
                      "ON m.user_id = u.id WHERE m.team_id = :t AND u.id <> :l "
                      "ORDER BY u.id LIMIT 1", t=team, l=leader)[0][0]
    client = suite.client()
    client.login(agent, PASSWORD)
    page = client.get("/admin/ticket/?page_size=100").get_data(as_text=True)
    mine = {n for (n,) in suite.sql("SELECT number FROM svc_ticket WHERE team_id = :t", t=team)}
    others = {n for (n,) in suite.sql("SELECT number FROM svc_ticket WHERE team_id <> :t",
                                      t=team)}
    assert any(number in page for number in mine)
    assert not any(number in page for number in others)
    with app.app_context():
        from addons.crm_service.models import next_number
        number = next_number(db.session, NOW.date())
        db.session.rollback()
    assert number not in {r[1] for r in rows}
