"""E-mail into tickets end to end: `python run.py mail-in` and the gateway's receive()
with the mail corpus (tests/fixtures/mail/): a new message opens a ticket with its
customer found and is acknowledged; replies join their ticket by In-Reply-To, by
References or by the number in the subject, and reopen it; automatic messages never
open a ticket nor get an answer; Chinese charsets read right; attachments are kept;
a message too large or without a sender writes nothing."""
import json
import logging

from click.testing import CliRunner

from core.cli import cli
from tests.addons.crm_service.ticket_helpers import (app_of, eml, make_customer, message,
                                                     messages, outbox, receive, set_option,
                                                     tickets)


def mail_in(suite, raw):
    """The MTA's pipe: the CLI reading one message on standard input."""
    return CliRunner().invoke(cli, ["mail-in"], input=raw, env=suite.env,
                              catch_exceptions=False)


def test_a_new_message_opens_a_ticket_for_the_known_customer(service_suite):
    customer, (contact,) = make_customer(
        service_suite, "Hualian", contacts=[{"name": "王芳", "email": "wang.fang@example.cn"}])
    result = mail_in(service_suite, eml("plain_utf8"))
    assert result.exit_code == 0, result.output
    (ticket, number, subject, state, customer_id, contact_id, _owner, _team, channel), = \
        tickets(service_suite)
    assert subject == "打印机无法连接 – printer will not connect"
    assert (state, channel, customer_id, contact_id) == ("new", "email", customer, contact)
    (kind, body, message_id, sender), = messages(service_suite, ticket)
    assert kind == "incoming" and "LP-2000" in body and sender == "wang.fang@example.cn"
    assert message_id == "20261201011500.1234@mail.example.cn"
    # The acknowledgement: the number in the subject, threaded under their message.
    (_id, recipients, ack_subject, headers, text, model, record), = outbox(service_suite)
    assert recipients == "wang.fang@example.cn" and (model, record) == ("Ticket", ticket)
    assert ack_subject == f"[{number}] {subject}"
    assert json.loads(headers)["In-Reply-To"] == "<20261201011500.1234@mail.example.cn>"
    assert number in text and "工单" in text and "/service/ticket/" in text
    # The same message again (an MTA retry, a second fetch): nothing new.
    assert mail_in(service_suite, eml("plain_utf8")).exit_code == 0
    assert len(tickets(service_suite)) == 1 and len(outbox(service_suite)) == 1


def test_no_acknowledgement_when_the_setting_is_off(service_suite):
    set_option(service_suite, "auto_reply", "false")
    assert receive(service_suite, message()).status == "taken"
    assert len(tickets(service_suite)) == 1 and outbox(service_suite) == []


def our_message_id(suite, outbox_id):
    from core import outbox as core_outbox
    from core.db import db
    from core.models import Message
    with app_of(suite):
        sent = db.session.get(Message, outbox_id)
        domain = core_outbox.mail_settings()["sender"].rpartition("@")[2]
        return core_outbox.message_id_header(sent, domain).strip("<>")


def resolve(suite, ticket_id):
    suite.sql("UPDATE svc_ticket SET state = 'resolved' WHERE id = :t", t=ticket_id)


def test_replies_join_their_ticket_and_reopen_it(service_suite):
    receive(service_suite, message(message_id="start@example.cn"))
    (ticket, number, *_rest), = tickets(service_suite)
    acknowledgement = our_message_id(service_suite, outbox(service_suite)[0][0])
    # A Gmail reply to our acknowledgement (In-Reply-To names our Message-ID).
    resolve(service_suite, ticket)
    gmail = eml("gmail_reply", pairs=[("<CAB1=other@mail.gmail.com>", f"<{acknowledgement}>"),
                                      ("crm-message-1.20261206100000@crm.example.com",
                                       acknowledgement)])
    assert receive(service_suite, gmail).record_id == ticket
    assert service_suite.sql("SELECT state FROM svc_ticket")[0][0] == "open"
    # A reply naming only the customer's first message in its References.
    by_references = message(message_id="again@example.cn", subject="Re: Help please",
                            headers="References: <start@example.cn>\r\n")
    assert receive(service_suite, by_references).record_id == ticket
    # An Outlook reply with no threading headers left but the number in the subject,
    # written as some help desks write it ("[#T2026-7]").
    short = number.split("-")[0] + "-" + str(int(number.split("-")[1]))
    outlook = eml("outlook_reply", pairs=[("T2026-0007", short.lstrip("#")),
                                          ("References: <crm-message-1.20261206100000@crm"
                                           ".example.com>\n", ""),
                                          ("In-Reply-To: <crm-message-1.20261206100000@crm"
                                           ".example.com>\n", "")])
    resolve(service_suite, ticket)
    assert receive(service_suite, outlook).record_id == ticket
    assert service_suite.sql("SELECT state FROM svc_ticket")[0][0] == "open"
    assert len(tickets(service_suite)) == 1
    assert [row[0] for row in messages(service_suite, ticket)] == ["incoming"] * 4
    # Answers to a known ticket are not acknowledged again.
    assert len(outbox(service_suite)) == 1


def test_automatic_messages_never_open_tickets_nor_get_answers(service_suite):
    # An out-of-office about nothing we know, a delivery report, list mail.
    for name in ("out_of_office", "dsn_bounce", "bulk_newsletter", "read_receipt"):
        outcome = receive(service_suite, eml(name))
        assert outcome.status in ("automatic", "bounce", "unhandled"), (name, outcome)
    assert tickets(service_suite) == [] and outbox(service_suite) == []
    # An out-of-office answering a ticket's e-mail: a note on it, no state change, no answer.
    receive(service_suite, message(message_id="start@example.cn"))
    (ticket, number, *_rest), = tickets(service_suite)
    acknowledgement = our_message_id(service_suite, outbox(service_suite)[0][0])
    resolve(service_suite, ticket)
    away = eml("out_of_office", pairs=[("crm-message-1.20261206100000@crm.example.com",
                                        acknowledgement), ("oof.2026", "oof2.2026")])
    assert receive(service_suite, away).record_id == ticket
    kinds = [row[0] for row in messages(service_suite, ticket)]
    assert kinds == ["incoming", "note"]
    assert "我正在休假" in messages(service_suite, ticket)[1][1]
    assert service_suite.sql("SELECT state FROM svc_ticket")[0][0] == "resolved"
    assert len(outbox(service_suite)) == 1 and len(tickets(service_suite)) == 1


def test_chinese_charsets_read_right(service_suite):
    for name in ("gbk_base64", "gb2312_qp", "big5"):
        assert receive(service_suite, eml(name)).status == "taken", name
    subjects = [row[2] for row in tickets(service_suite)]
    assert subjects[:2] == ["关于合同付款期限的修改（张堃）", "回复：发票已寄出"]
    bodies = service_suite.sql("SELECT body_text FROM svc_ticket_message ORDER BY id")
    assert "付款期限请改为六十天" in bodies[0][0] and "SF1234567890" in bodies[1][0]


def test_attachments_are_kept_with_safe_names(service_suite):
    assert receive(service_suite, eml("attachments")).status == "taken"
    kept = service_suite.sql("SELECT name, size, kind FROM svc_ticket_attachment ORDER BY id")
    names = [row[0] for row in kept]
    assert names[:4] == ["logo.png", "contract-signed.pdf", "报价单 2026.pdf", "价格表.xlsx"]
    assert all("/" not in name for name in names) and len(names) == 5
    assert kept[1][2] == "pdf" and kept[0][2] == "png"


def test_a_message_too_large_is_refused_and_nothing_written(service_suite):
    big = message(body="x" * (30 * 2 ** 20))
    result = mail_in(service_suite, big)
    assert result.exit_code == 65 and "refused" in result.output
    assert tickets(service_suite) == [] and outbox(service_suite) == []
    assert service_suite.sql("SELECT COUNT(*) FROM svc_ticket_message")[0][0] == 0


def test_a_message_with_no_sender_opens_no_ticket(service_suite, caplog):
    with caplog.at_level(logging.WARNING):
        for number in range(3):   # a scanner sending again and again: no storm
            raw = eml("no_from", pairs=[("nofrom.1@", f"nofrom.{number}@")])
            assert receive(service_suite, raw).status == "unhandled"
    assert tickets(service_suite) == [] and outbox(service_suite) == []
    assert "has no sender address" in caplog.text


def test_html_is_kept_sanitised(service_suite):
    receive(service_suite, eml("html_xss"))
    html = service_suite.sql("SELECT body_html FROM svc_ticket_message")[0][0]
    assert "<b>there</b>" in html
    for bad in ("<script", "onerror", "onload", "javascript:", "tracker.example.net",
                "<iframe", "<form"):
        assert bad not in html, bad
