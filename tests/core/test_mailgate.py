"""The incoming mail gateway (core.mailgate): parsing a corpus of real-world shapes,
routing (first taker, replies to our emails, bounces, automatic messages, loops),
one Message-ID taken once, one transaction, the size limit, `python run.py mail-in`,
the threading headers of outgoing email and Settings > Received mail."""
import email
import os
import re
import subprocess
import sys
from html import unescape

import pytest
from click.testing import CliRunner

from core import hooks, mailgate, outbox
from core.cli import cli
from core.db import db
from core.models import RecordNote
from tests.conftest import ADMIN_PASSWORD, ROOT, make_suite

CORPUS = ROOT / "tests" / "fixtures" / "mail"
# The outbox Message-ID the corpus's replies and reports name; a test puts a real one in.
CORPUS_OUTBOX_ID = "crm-message-1.20261206100000@crm.example.com"
MAIL = "[mail]\nsender = support@crm.example.com\n"


def raw(name):
    return (CORPUS / name).read_bytes()


# -- parse ---------------------------------------------------------------------------------

CASES = {
    "plain_utf8.eml": dict(
        message_id="20261201011500.1234@mail.example.cn",
        subject="打印机无法连接 – printer will not connect", from_name="王芳",
        from_address="wang.fang@example.cn", to=["support@crm.example.com", "li.lei@example.cn"],
        date="2026-12-01 01:15:00", text_has="型号 LP-2000", html=None, automatic=None),
    "alternative_html.eml": dict(
        subject="Invoice for order SO-2026-0042", from_name="Anna Schmidt",
        from_address="anna.schmidt@example.de", date="2026-12-02 13:03:11",
        text_has="(€1.250,00)", html_has='<b>invoice</b>', automatic=None),
    "gbk_base64.eml": dict(   # labelled GB2312, holds GBK-only characters (堃, 喆)
        subject="关于合同付款期限的修改（张堃）", from_name="陶喆",
        from_address="taozhe@example.com.cn", to=["service@crm.example.com"],
        text_has="张堃先生：\n\n您好！合同第三条的付款期限请改为六十天。"),
    "gb2312_qp.eml": dict(    # quoted-printable body, unencoded 8-bit GBK subject
        subject="回复：发票已寄出", from_name="李明", text_has="快递单号 SF1234567890"),
    "big5.eml": dict(subject="本月報價單", from_name="黃志明", text_has="附上本月報價"),
    "outlook_reply.eml": dict(
        subject="RE: [#T2026-0007] Replacement parts", from_name="Zhou, Min",
        from_address="min.zhou@corp.example.org", in_reply_to=[CORPUS_OUTBOX_ID],
        references=[CORPUS_OUTBOX_ID], text_has="-----Original Message-----",
        date="2026-12-07 03:02:40"),
    "gmail_reply.eml": dict(
        in_reply_to=["CAB1=other@mail.gmail.com"],
        references=[CORPUS_OUTBOX_ID, "CAB1=other@mail.gmail.com"],
        text_has="wrote:\n\n> Could we meet next week?", html_has="<blockquote>"),
    "dsn_bounce.eml": dict(
        from_address="mailer-daemon@mx.crm.example.com", report_type="delivery-status",
        failed_recipients=["nobody@example.org"], original_ids=[CORPUS_OUTBOX_ID],
        automatic="Auto-Submitted: auto-replied"),
    "out_of_office.eml": dict(subject="自动回复: [#T2026-0007] Replacement parts",
                              automatic="Auto-Submitted: auto-replied"),
    "read_receipt.eml": dict(report_type="disposition-notification", failed_recipients=[],
                             original_ids=[CORPUS_OUTBOX_ID],
                             automatic="multipart/report; disposition-notification"),
    "bulk_newsletter.eml": dict(automatic="Precedence: bulk"),
    "no_from.eml": dict(from_name="", from_address="", subject="(no sender)"),
    "bad_boundary.eml": dict(text="The scanner's message text."),
    "missing_end.eml": dict(text="The first part arrived in full."),
    "no_message_id.eml": dict(text="Sent by a very old mail program."),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_reads_each_shape_of_the_corpus(name):
    incoming = mailgate.parse(raw(name))
    for key, expected in CASES[name].items():
        if key == "text_has":
            assert expected in incoming.text, incoming.text
        elif key == "html_has":
            assert expected in incoming.html, incoming.html
        elif key == "date":
            assert f"{incoming.date:%Y-%m-%d %H:%M:%S}" == expected
        else:
            assert getattr(incoming, key) == expected, key
    assert "\r" not in incoming.text and "\ufffd" not in incoming.text + incoming.subject
    assert incoming.raw_size == len(raw(name)) and incoming.replied_to is None


def test_the_corpus_is_all_covered():
    assert {path.name for path in CORPUS.glob("*.eml")} == set(CASES) | {
        "html_xss.eml", "attachments.eml"}


def test_a_message_without_message_id_gets_one_made_of_its_content():
    first, again = mailgate.parse(raw("no_message_id.eml")), mailgate.parse(raw("no_message_id.eml"))
    assert re.fullmatch(r"crm-nomsgid-[0-9a-f]{40}", first.message_id)
    assert first.message_id == again.message_id   # an MTA's retry is the same message
    other = mailgate.parse(raw("no_message_id.eml").replace(b"very old", b"older"))
    assert other.message_id != first.message_id


def test_html_is_sanitised():
    incoming = mailgate.parse(raw("html_xss.eml"))
    html = incoming.html
    for bad in ("<script", "alert(", "onerror", "onload", "javascript:", "tracker.example.net",
                "<iframe", "<form", "<input", "style=", "data:text/html"):
        assert bad not in html, bad
    assert '<img src="cid:logo@example" alt="logo">' in html
    assert '<a href="https://example.com/safe" rel="noopener noreferrer">safe link</a>' in html
    assert "<b>there</b>" in html
    assert html.count("<img") == 1        # the images with a dropped source are gone
    assert "Hello there" in incoming.text and "alert" not in incoming.text


def test_attachments_inline_images_and_file_names():
    incoming = mailgate.parse(raw("attachments.eml"))
    found = {a.name: a for a in incoming.attachments}
    assert list(found) == ["logo.png", "contract-signed.pdf", "报价单 2026.pdf", "价格表.xlsx",
                           ".._.._etc_passwd"]
    logo = found["logo.png"]
    assert logo.content_type == "image/png" and logo.content_id == "logo.png@01DB4C00"
    assert logo.data.startswith(b"\x89PNG")
    assert found["报价单 2026.pdf"].data.startswith(b"%PDF-1.4")   # RFC 2231, UTF-8
    assert found["价格表.xlsx"].data.startswith(b"PK")                # RFC 2047 in GBK
    assert found[".._.._etc_passwd"].data == b"root:x:0:0"           # no folder in a name
    assert 'src="cid:logo.png@01DB4C00"' in incoming.html
    assert incoming.text == "Please find the signed contract attached."


def test_a_forwarded_message_is_kept_as_an_eml_attachment():
    inner = raw("plain_utf8.eml")
    outer = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Fwd: printer\r\n"
             b"Message-ID: <fwd.1@example.com>\r\nMIME-Version: 1.0\r\n"
             b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
             b"Content-Type: text/plain\r\n\r\nSee below.\r\n--B\r\n"
             b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--B--\r\n")
    incoming = mailgate.parse(outer)
    assert incoming.text == "See below."
    [attachment] = incoming.attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.name == "打印机无法连接 – printer will not connect.eml"
    assert b"LP-2000" in attachment.data or b"5Z6L5Y+3" in attachment.data


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\x00\x01\x02 binary garbage"])
def test_what_is_no_email_at_all_is_refused(data):
    with pytest.raises(mailgate.MailRefused):
        mailgate.parse(data)


@pytest.mark.parametrize("headers, reason", [
    ("Auto-Submitted: no", None),
    ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
    ("Precedence: junk", "Precedence: junk"),
    ("Precedence: first-class", None),
    ("X-Autoreply: yes", "X-Autoreply"),
    ("X-Autorespond: vacation", "X-Autorespond"),
    ("X-Auto-Response-Suppress: OOF, AutoReply", "X-Auto-Response-Suppress: oof, autoreply"),
    ("X-Auto-Response-Suppress: RN, NRN", None),
    ("Return-Path: <>", "Return-Path: <>"),
    ("Return-Path: <li@example.com>", None),
    ("List-Id: <sales.lists.example.com>", "List-Id"),
    ("List-Unsubscribe: <mailto:u@example.com>", "List-Unsubscribe"),
    ("Sender: postmaster@example.com", "Sender: postmaster@example.com"),
])
def test_auto_reason(headers, reason):
    message = email.message_from_string(
        f"From: li@example.com\nTo: x@example.com\n{headers}\nSubject: s\n\nbody\n")
    assert mailgate.auto_reason(message) == reason


# -- receive -------------------------------------------------------------------------------

class Handlers:
    """Handlers connected to the gateway's hooks for one test, disconnected after."""

    def __init__(self):
        self.calls, self.connected = [], []

    def on(self, name, func):
        hooks.connect(name)(func)
        self.connected.append((name, func))
        return func

    def close(self):
        for name, func in self.connected:
            hooks._handlers[name].remove(func)


@pytest.fixture
def handlers():
    found = Handlers()
    yield found
    found.close()


@pytest.fixture
def gate(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra=MAIL)
    app = suite.dispatcher().app
    with app.app_context():
        yield suite
        db.session.remove()
    suite.close()


def note_taker(handlers, model="Ticket", record_id=7):
    """A handler that files every message as a note on one record."""
    def take(incoming):
        handlers.calls.append(incoming)
        db.session.add(RecordNote(model=model, record_id=record_id, body=incoming.subject))
        return (model, record_id)
    return handlers.on("mail.received", take)


def rows(suite):
    return suite.sql("SELECT message_id, outcome, model, record_id, source, from_address "
                     "FROM core_mail_received ORDER BY id")


class Ticket:
    """What an outbox email is sent from (its class name is the model's)."""
    id = 7


def our_email():
    """An email the outbox sent from Ticket 7, and its Message-ID without <>."""
    message = outbox.send_email(["zhou@example.org"], "[#T2026-0007] Replacement parts",
                                "sent", related=Ticket())
    db.session.commit()
    return outbox.message_id_header(message, "crm.example.com").strip("<>")


def test_a_message_is_taken_by_a_handler_with_what_it_writes(gate, handlers):
    note_taker(handlers)
    outcome = mailgate.receive(raw("plain_utf8.eml"))
    assert (outcome.status, outcome.model, outcome.record_id) == ("taken", "Ticket", 7)
    [incoming] = handlers.calls
    assert incoming.from_address == "wang.fang@example.cn" and incoming.automatic is None
    assert rows(gate) == [("20261201011500.1234@mail.example.cn", "taken", "Ticket", 7,
                           "pipe", "wang.fang@example.cn")]
    assert gate.sql("SELECT body FROM core_note") == [
        ("打印机无法连接 – printer will not connect",)]


def test_the_same_message_twice_is_taken_once(gate, handlers):
    note_taker(handlers)
    assert mailgate.receive(raw("gbk_base64.eml"), source="imap").status == "taken"
    assert mailgate.receive(raw("gbk_base64.eml"), source="pipe").status == "duplicate"
    assert len(handlers.calls) == 1 and len(rows(gate)) == 1
    assert gate.sql("SELECT count(*) FROM core_note") == [(1,)]


def test_the_first_handler_that_takes_it_wins(gate, handlers):
    order = []
    handlers.on("mail.received", lambda incoming: order.append("first"))   # returns None
    handlers.on("mail.received", lambda incoming: order.append("second") or ("Lead", 3))
    handlers.on("mail.received", lambda incoming: order.append("third") or ("Ticket", 9))
    outcome = mailgate.receive(raw("big5.eml"))
    assert order == ["first", "second"]
    assert (outcome.status, outcome.model, outcome.record_id) == ("taken", "Lead", 3)


def test_no_taker_leaves_it_unhandled_on_record(gate, handlers):
    handlers.on("mail.received", lambda incoming: None)
    assert mailgate.receive(raw("no_from.eml")).status == "unhandled"
    assert rows(gate) == [("nofrom.1@scanner.example.local", "unhandled", None, None, "pipe",
                           "")]


def test_a_reply_names_the_record_our_email_was_sent_from(gate, handlers):
    note_taker(handlers)
    ours = our_email()
    for name in ("outlook_reply.eml", "gmail_reply.eml"):    # In-Reply-To; References
        assert mailgate.receive(raw(name).replace(CORPUS_OUTBOX_ID.encode(), ours.encode())) \
            .status == "taken"
    assert [incoming.replied_to for incoming in handlers.calls] == [("Ticket", 7)] * 2


def test_a_made_up_outbox_id_names_no_record(gate, handlers):
    note_taker(handlers)
    ours = our_email()
    forged = re.sub(r"\.\d{14}@", ".20000101000000@", ours)
    mailgate.receive(raw("outlook_reply.eml").replace(CORPUS_OUTBOX_ID.encode(), forged.encode()))
    assert handlers.calls[0].replied_to is None


def test_an_out_of_office_is_offered_as_automatic(gate, handlers):
    seen = []
    handlers.on("mail.received", lambda incoming: seen.append(incoming) and None)
    ours = our_email()
    outcome = mailgate.receive(raw("out_of_office.eml").replace(CORPUS_OUTBOX_ID.encode(),
                                                                ours.encode()))
    assert outcome.status == "automatic"
    [incoming] = seen
    assert incoming.automatic == "Auto-Submitted: auto-replied"
    assert incoming.replied_to == ("Ticket", 7)
    assert rows(gate)[0][1] == "automatic"
    assert gate.sql("SELECT automatic FROM core_mail_received") == [
        ("Auto-Submitted: auto-replied",)]


def test_a_delivery_report_goes_to_the_bounce_handlers_only(gate, handlers):
    note_taker(handlers)
    bounces = []
    handlers.on("mail.bounce", lambda incoming, failed_recipients:
                bounces.append((incoming.replied_to, failed_recipients)))
    ours = our_email()
    outcome = mailgate.receive(raw("dsn_bounce.eml").replace(CORPUS_OUTBOX_ID.encode(),
                                                             ours.encode()))
    assert outcome.status == "bounce"
    assert bounces == [(("Ticket", 7), ["nobody@example.org"])]
    assert handlers.calls == [] and rows(gate)[0][1] == "bounce"


def test_our_own_email_coming_back_is_a_loop(gate, handlers):
    note_taker(handlers)
    ours = our_email()
    looped = raw("plain_utf8.eml").replace(b"20261201011500.1234@mail.example.cn", ours.encode())
    assert mailgate.receive(looped).status == "loop"
    # One of our domain that the outbox no longer knows (a restored copy) is ours too.
    other = raw("big5.eml").replace(b"big5.20261205080000@example.com.tw",
                                    b"crm-message-999.20250101000000@crm.example.com")
    assert mailgate.receive(other).status == "loop"
    assert handlers.calls == [] and [row[1] for row in rows(gate)] == ["loop", "loop"]


def test_a_handler_error_rolls_everything_back_and_a_retry_succeeds(gate, handlers):
    failing = []

    def take(incoming):
        db.session.add(RecordNote(model="Ticket", record_id=7, body="half-written"))
        db.session.flush()
        if not failing:
            failing.append(1)
            raise RuntimeError("the ticket's sequence is locked")
        return ("Ticket", 7)

    handlers.on("mail.received", take)
    with pytest.raises(RuntimeError):
        mailgate.receive(raw("plain_utf8.eml"))
    assert rows(gate) == [] and gate.sql("SELECT count(*) FROM core_note") == [(0,)]
    assert mailgate.receive(raw("plain_utf8.eml")).status == "taken"   # not a "duplicate"
    assert gate.sql("SELECT count(*) FROM core_note") == [(1,)]


def test_a_message_over_the_size_limit_is_refused_and_nothing_written(gate, handlers):
    note_taker(handlers)
    big = raw("plain_utf8.eml") + b"x" * (30 * 2**20)
    outcome = mailgate.receive(big)
    assert outcome.status == "refused" and "over the limit of 25 MB" in outcome.message
    assert rows(gate) == [] and handlers.calls == []


def test_a_very_long_message_id_is_kept_by_its_digest(gate, handlers):
    note_taker(handlers)
    long_id = b"x" * 300 + b"@example.com"
    message = raw("big5.eml").replace(b"big5.20261205080000@example.com.tw", long_id)
    assert mailgate.receive(message).status == "taken"
    assert mailgate.receive(message).status == "duplicate"
    assert rows(gate)[0][0].startswith("sha1:")


# -- the command line ----------------------------------------------------------------------

def mail_in(suite, data):
    return CliRunner().invoke(cli, ["mail-in"], env=suite.env, input=data)


@pytest.fixture
def site(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra=MAIL)
    yield suite
    suite.close()


def test_mail_in_takes_one_message_from_standard_input(site, handlers):
    note_taker(handlers)
    result = mail_in(site, raw("plain_utf8.eml"))
    assert result.exit_code == 0 and result.output == ""
    assert mail_in(site, raw("plain_utf8.eml")).exit_code == 0     # the MTA's retry
    assert [row[1] for row in rows(site)] == ["taken"]


def test_mail_in_exit_statuses_for_the_mta(site, handlers):
    result = mail_in(site, b"")
    assert result.exit_code == 65 and "message refused: the message is empty" in result.output
    result = mail_in(site, raw("big5.eml") + b"y" * (26 * 2**20))
    assert result.exit_code == 65 and "over the limit of 25 MB" in result.output

    handlers.on("mail.received", lambda incoming: 1 / 0)
    result = mail_in(site, raw("big5.eml"))
    assert result.exit_code == 75 and "temporary failure" in result.output
    assert rows(site) == []


def test_mail_in_as_a_real_process(site):
    """As the MTA runs it: a process of its own, the message on its standard input."""
    def run(data, env=None):
        return subprocess.run([sys.executable, "run.py", "mail-in"], input=data, cwd=ROOT,
                              capture_output=True, env={**os.environ, **site.env, **(env or {})},
                              timeout=120)

    done = run(raw("missing_end.eml"))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert rows(site)[0][:2] == ("missingend.1@example.jp", "unhandled")
    refused = run(b"")
    assert refused.returncode == 65 and b"message refused" in refused.stderr
    # No database there: the MTA keeps the message and tries again later.
    down = run(raw("big5.eml"), {"CRM_DATABASE_URL": "sqlite:////nonexistent/dir/crm.db"})
    assert down.returncode == 75 and b"temporary failure" in down.stderr


# -- outgoing threading headers ------------------------------------------------------------

def test_a_reply_carries_threading_headers(gate):
    message = outbox.send_email(["li@example.com"], "Re: printer", "fixed",
                                headers={"In-Reply-To": "<a@example.cn>",
                                         "References": "<root@example.cn>\n <a@example.cn>"})
    db.session.commit()
    built = outbox.build_email(outbox.mail_settings(), message)
    assert built["In-Reply-To"] == "<a@example.cn>"
    assert built["References"] == "<root@example.cn> <a@example.cn>"
    assert built["Message-ID"] == outbox.message_id_header(message, "crm.example.com")
    plain = outbox.build_email(outbox.mail_settings(), outbox.send_email(["x@example.com"], "s", "t"))
    assert plain["In-Reply-To"] is None
    with pytest.raises(ValueError):
        outbox.send_email(["li@example.com"], "s", "t", headers={"Bcc": "victim@example.com"})


# -- Settings > Received mail --------------------------------------------------------------

def test_received_mail_screen_lists_the_log_for_administrators_only(site, handlers):
    note_taker(handlers, model="RecordNote", record_id=1)
    mail_in(site, raw("gbk_base64.eml"))
    mail_in(site, raw("bulk_newsletter.eml"))
    admin = site.admin_client()
    page = unescape(admin.get("/admin/received-mail/").get_data(as_text=True))
    assert "关于合同付款期限的修改（张堃）" in page and "Mail server (pipe)" in page
    assert "taken" in page and "Precedence: bulk" in page
    assert admin.get("/admin/received-mail/edit/?id=1").status_code == 403
    assert site.run("create-user", "--username", "clerk", "--password",
                    ADMIN_PASSWORD).exit_code == 0
    clerk = site.client()
    clerk.login("clerk", ADMIN_PASSWORD)
    assert clerk.get("/admin/received-mail/").status_code in (302, 403)


# -- Settings > Mail server: the incoming mailbox ------------------------------------------

MAIL_PAGE = "/admin/mail-server/"


def save_incoming(client, action="save_incoming", **fields):
    data = {"enabled": "1", "host": "imap.example.com", "port": "993", "security": "ssl",
            "username": "support", "password": "", "folder": "INBOX", "action": action,
            **fields}
    return client.post_form(MAIL_PAGE, {k: v for k, v in data.items() if v is not None},
                            token_from=MAIL_PAGE)


def test_incoming_mailbox_settings_are_saved_checked_and_the_password_kept(site):
    from tests.core.test_outbox import free_port
    admin = site.admin_client()
    assert "Incoming mail" in admin.get(MAIL_PAGE).get_data(as_text=True)
    response = save_incoming(admin, password="imap-s3cret")
    assert response.status_code == 302
    stored = dict(site.sql("SELECT key, value FROM core_option WHERE addon = 'core.mail_in'"))
    assert stored == {"enabled": "true", "host": "imap.example.com", "port": "993",
                      "security": "ssl", "username": "support", "password": "imap-s3cret",
                      "folder": "INBOX"}
    page = admin.get(MAIL_PAGE).get_data(as_text=True)
    assert "imap-s3cret" not in page and 'value="imap.example.com"' in page
    assert not any("imap-s3cret" in changes for (changes,) in site.sql(
        "SELECT changes FROM core_audit"))

    # Bad input: the field says why; nothing saved.
    response = save_incoming(admin, port="70000", host="imap.example.com")
    assert response.status_code == 200 and "A port number, such as 993" in \
        response.get_data(as_text=True)
    response = save_incoming(admin, host="")
    assert "Enter the server to fetch mail from." in response.get_data(as_text=True)
    assert dict(site.sql("SELECT key, value FROM core_option WHERE addon = 'core.mail_in'"))[
        "host"] == "imap.example.com"

    # Test sign-in with nothing listening: the error in words, no 500; off is saved too.
    dead = free_port()
    response = save_incoming(admin, action="test_incoming", host="127.0.0.1", port=str(dead),
                             security="none", enabled=None)
    assert response.status_code == 302
    page = unescape(admin.get(response.headers["Location"]).get_data(as_text=True))
    assert f"The mailbox could not be opened: Nothing answers at 127.0.0.1:{dead}" in page
    assert dict(site.sql("SELECT key, value FROM core_option WHERE addon = 'core.mail_in'"))[
        "password"] == "imap-s3cret"
    result = site.run("run-job", "core.fetch_mail")
    assert result.exit_code == 0 and "off: no incoming mailbox" in result.output
