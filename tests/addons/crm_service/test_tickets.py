"""Tickets in the application's terms (addons/crm_service/tickets.py): opening one with
its customer found, who gets it (routing rules, round robin, least open, the team's
address), the customer writing again (reopen, resume), replies through the outbox with
threading headers, and internal notes."""
import json

import pytest

from tests.addons.crm_service.ticket_helpers import (app_of, make_customer, make_team,
                                                     outbox, user)


def open_one(suite, **fields):
    from addons.crm_service import tickets
    from core.db import db
    with app_of(suite):
        values = {"subject": "Printer", "body_text": "It is broken.", "channel": "email",
                  **fields}
        for name in ("customer", "product", "contact"):
            if isinstance(values.get(name), int):
                values[name] = db.session.get(model_of(name), values[name])
        ticket = tickets.open_ticket(**values)
        db.session.commit()
        return {"id": ticket.id, "number": ticket.number, "customer": ticket.customer_id,
                "contact": ticket.contact_id, "owner": ticket.owner_id,
                "team": ticket.team_id, "state": ticket.state,
                "requester": ticket.requester_name}


def model_of(name):
    from addons.crm_contacts.models import Contact, Customer
    from addons.crm_service.models import ServiceProduct
    return {"customer": Customer, "contact": Contact, "product": ServiceProduct}[name]


def test_the_customer_is_found_by_email_or_phone(service_suite):
    customer, (contact,) = make_customer(
        service_suite, "上海华联有限公司", email="Office@HuaLian.cn", phone="021-5555 0101",
        contacts=[{"name": "王芳", "email": "wang.fang@example.cn", "mobile": "13812345678"}])
    other, _ = make_customer(service_suite, "Acme", phone="+86 10 8888 7777")

    by_contact = open_one(service_suite, requester_email="Wang.Fang@Example.CN")
    assert (by_contact["customer"], by_contact["contact"]) == (customer, contact)
    assert by_contact["requester"] == "王芳"
    by_company_mail = open_one(service_suite, requester_email="office@hualian.cn")
    assert (by_company_mail["customer"], by_company_mail["contact"]) == (customer, None)
    by_mobile = open_one(service_suite, channel="phone", requester_phone="13812345678")
    assert by_mobile["contact"] == contact
    by_company_phone = open_one(service_suite, channel="phone", requester_phone="010 8888 7777")
    assert by_company_phone["customer"] == other
    stranger = open_one(service_suite, requester_email="nobody@example.org")
    assert (stranger["customer"], stranger["contact"]) == (None, None)
    assert stranger["number"].startswith("T") and stranger["state"] == "new"


def test_routing_rules_come_first_in_their_order(service_suite):
    _client, agent = user(service_suite, "agent1", "service_agent")
    _client, expert = user(service_suite, "expert", "service_agent")
    general = make_team(service_suite, "General", [agent], assignment="manual")
    vip = make_team(service_suite, "VIP desk", [agent, expert], assignment="round robin")
    service_suite.sql("INSERT INTO svc_product (name, active) VALUES ('LP-2000', true)")
    product = service_suite.sql("SELECT id FROM svc_product")[0][0]
    rules = [(10, "complaint", None, None, vip, expert), (20, None, product, None, general, None),
             (30, None, None, "A", vip, None)]
    for sequence, kind, product_id, grade, team, person in rules:
        service_suite.sql(
            "INSERT INTO svc_assignment_rule (sequence, kind, product_id, grade, team_id, "
            "user_id) VALUES (:s, :k, :p, :g, :t, :u)",
            s=sequence, k=kind, p=product_id, g=grade, t=team, u=person)
    grade_a, _ = make_customer(service_suite, "Big client", grade="A")

    complaint = open_one(service_suite, kind="complaint", product=product)
    assert (complaint["team"], complaint["owner"]) == (vip, expert)   # rule 10 first
    about_product = open_one(service_suite, product=product, customer=grade_a)
    assert (about_product["team"], about_product["owner"]) == (general, None)   # manual
    by_grade = open_one(service_suite, customer=grade_a)
    assert by_grade["team"] == vip and by_grade["owner"] in (agent, expert)
    nothing = open_one(service_suite)
    assert (nothing["team"], nothing["owner"]) == (None, None)


def test_round_robin_takes_members_in_turn_skipping_inactive_ones(service_suite):
    ids = [user(service_suite, name, "service_agent")[1] for name in ("ann", "bob", "cal")]
    team = make_team(service_suite, "Desk", ids, email="desk@crm.example.com")
    service_suite.sql("UPDATE core_user SET active = false WHERE id = :u", u=ids[1])
    owners = [open_one(service_suite, to=["Desk@crm.example.com"])["owner"] for _ in range(4)]
    assert owners == [ids[0], ids[2], ids[0], ids[2]]
    assert {row[0] for row in service_suite.sql("SELECT team_id FROM svc_ticket")} == {team}


def test_least_open_gives_the_member_with_fewest_open_tickets(service_suite):
    ids = [user(service_suite, name, "service_agent")[1] for name in ("ann", "bob")]
    team = make_team(service_suite, "Desk", ids, assignment="least open",
                     email="desk@crm.example.com")
    first = open_one(service_suite, to=["desk@crm.example.com"])
    second = open_one(service_suite, to=["desk@crm.example.com"])
    assert [first["owner"], second["owner"]] == ids
    # Ann's ticket resolved: she has none open now, Bob one.
    service_suite.sql("UPDATE svc_ticket SET state = 'resolved' WHERE id = :t", t=first["id"])
    assert open_one(service_suite, to=["desk@crm.example.com"])["owner"] == ids[0]
    assert open_one(service_suite, to=["desk@crm.example.com"])["owner"] in ids
    assert open_one(service_suite, to=["other@crm.example.com"])["team"] is None
    assert team


def move(suite, ticket_id, transition):
    from addons.crm_service.models import Ticket
    from core import workflow
    from core.db import db
    with app_of(suite):
        workflow.move(db.session.get(Ticket, ticket_id), transition)
        db.session.commit()


def customer_writes(suite, ticket_id, text="One more thing."):
    from addons.crm_service import tickets
    from addons.crm_service.models import Ticket
    from core.db import db
    with app_of(suite):
        tickets.customer_message(db.session.get(Ticket, ticket_id), body_text=text,
                                 from_address="li.lei@example.cn")
        db.session.commit()


def state_of(suite, ticket_id):
    return suite.sql("SELECT state FROM svc_ticket WHERE id = :t", t=ticket_id)[0][0]


def test_the_customer_writing_again_reopens_or_resumes(service_suite):
    ticket = open_one(service_suite, requester_email="li.lei@example.cn")["id"]
    move(service_suite, ticket, "resolve")
    customer_writes(service_suite, ticket)
    assert state_of(service_suite, ticket) == "open"
    move(service_suite, ticket, "wait_customer")
    customer_writes(service_suite, ticket)
    assert state_of(service_suite, ticket) == "open"
    move(service_suite, ticket, "wait_third_party")
    customer_writes(service_suite, ticket)   # still waiting for the supplier
    assert state_of(service_suite, ticket) == "waiting for third party"
    history = [row[0] for row in service_suite.sql(
        "SELECT state FROM svc_ticket_state_change WHERE ticket_id = :t ORDER BY id", t=ticket)]
    assert history == ["new", "resolved", "open", "waiting for customer", "open",
                       "waiting for third party"]
    assert [row[0] for row in service_suite.sql(
        "SELECT kind FROM svc_ticket_message WHERE ticket_id = :t", t=ticket)] == \
        ["incoming"] * 4


def reply(suite, ticket_id, username, text, **kwargs):
    from addons.crm_service import tickets
    from addons.crm_service.models import Ticket
    from core.db import db
    from core.models import User
    with app_of(suite):
        author = db.session.query(User).filter_by(username=username).one()
        tickets.reply(db.session.get(Ticket, ticket_id), author, text, **kwargs)
        db.session.commit()


def test_a_reply_goes_out_threaded_and_counts_as_the_first_response(service_suite):
    from addons.crm_service import tickets
    opened = open_one(service_suite, requester_email="li.lei@example.cn",
                      message_id="first@example.cn", subject="打印机坏了")
    customer_writes(service_suite, opened["id"])
    service_suite.sql("UPDATE svc_ticket_message SET message_id = 'second@example.cn' "
                      "WHERE id = (SELECT MAX(id) FROM svc_ticket_message)")
    reply(service_suite, opened["id"], "admin", "We send a technician.",
          attachments=[("guide.txt", "重启打印机".encode(), "text/plain")])
    (_id, recipients, subject, headers, body, model, record), = outbox(service_suite)
    assert recipients == "li.lei@example.cn" and (model, record) == ("Ticket", opened["id"])
    assert subject == f"[{opened['number']}] 打印机坏了"
    headers = json.loads(headers)
    assert headers["In-Reply-To"] == "<second@example.cn>"
    assert headers["References"] == "<first@example.cn> <second@example.cn>"
    assert body.startswith("We send a technician.") and "/service/ticket/" in body
    row = service_suite.sql("SELECT state, first_response_at, last_reply_at FROM svc_ticket "
                            "WHERE id = :t", t=opened["id"])[0]
    assert row[0] == "open" and row[1] is not None and row[1] == row[2]
    kept = service_suite.sql("SELECT m.kind, m.message_id, a.name, a.size FROM "
                             "svc_ticket_message m JOIN svc_ticket_attachment a "
                             "ON a.message_id = m.id")
    assert kept[0][0] == "reply" and kept[0][1].startswith("crm-message-")
    assert kept[0][2:] == ("guide.txt", len("重启打印机".encode()))
    # Nowhere to reply to: refused, nothing queued.
    silent = open_one(service_suite, channel="phone")
    with pytest.raises(tickets.TicketRefused):
        reply(service_suite, silent["id"], "admin", "Hello?")
    assert len(outbox(service_suite)) == 1


def test_an_internal_note_is_never_sent(service_suite):
    from addons.crm_service import tickets
    from addons.crm_service.models import Ticket
    from core.db import db
    ticket = open_one(service_suite, requester_email="li.lei@example.cn")["id"]
    with app_of(service_suite):
        found = db.session.get(Ticket, ticket)
        tickets.note(found, None, "Customer is impatient.")
        with pytest.raises(tickets.TicketRefused):
            tickets.note(found, None, "   ")
        db.session.commit()
    assert outbox(service_suite) == []
    assert [row[0] for row in service_suite.sql(
        "SELECT kind FROM svc_ticket_message WHERE ticket_id = :t ORDER BY id", t=ticket)] == \
        ["incoming", "note"]
    assert state_of(service_suite, ticket) == "new"
