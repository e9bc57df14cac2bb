"""The IMAP fetch (core.mail_fetch) against a real Dovecot: each test starts its own on
a loopback port, with a maildir in a temporary folder, and puts messages in with APPEND."""
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from html import unescape
from pathlib import Path

import pytest

from core import hooks, mail_fetch
from core.db import db
from tests.conftest import make_suite
from tests.core.test_outbox import free_port

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot"
                                       if os.path.exists("/usr/sbin/dovecot") else None)
pytestmark = pytest.mark.skipif(
    DOVECOT is None, reason="Dovecot is not installed (Debian: apt-get install dovecot-imapd; "
                            "`make install` does it as root)")
USER, PASSWORD = "support", "imap pass 1"

CONFIG = """base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
{users}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


@pytest.fixture
def dovecot():
    """A Dovecot of the test's own; yields its port. As root, the mail belongs to
    nobody (Dovecot refuses mail users with uid 0); else to the current user."""
    # Not under pytest's tmp_path: Dovecot's socket paths must stay short, and its mail
    # user (nobody) must be able to reach the folder.
    root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid, users = nobody.pw_uid, nobody.pw_gid, ""
        os.chown(root / "mail", uid, gid)
    else:
        me = pwd.getpwuid(os.getuid()).pw_name
        uid, gid = os.getuid(), os.getgid()
        users = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, uid=uid, gid=gid, port=port, users=users))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.time() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() \
                    else ""
                pytest.fail(f"dovecot did not start: {process.stderr.read()!r} {log}")
            time.sleep(0.1)
    yield port
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(root, ignore_errors=True)


def imap(port):
    connection = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    connection.login(USER, PASSWORD)
    connection.select("INBOX")
    return connection


def append(port, *names, data=None):
    connection = imap(port)
    for message in [(CORPUS / name).read_bytes() for name in names] + ([data] if data else []):
        status, _answer = connection.append("INBOX", None, None, message)
        assert status == "OK"
    connection.logout()


def flags(port):
    """{uid: is it \\Seen}"""
    connection = imap(port)
    _status, answer = connection.uid("FETCH", "1:*", "(FLAGS)")
    connection.logout()
    found = {}
    for line in answer:
        text = line.decode()
        uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
        found[uid] = "\\Seen" in text
    return found


@pytest.fixture
def mailbox_site(tmp_path, database_url, dovecot):
    extra = (f"[mail]\nsender = support@crm.example.com\nmax_incoming_mb = 1\n"
             f"imap_enabled = true\nimap_host = 127.0.0.1\nimap_port = {dovecot}\n"
             f"imap_security = none\nimap_username = {USER}\nimap_password = {PASSWORD}\n")
    suite = make_suite(tmp_path, database_url, extra=extra)
    yield suite, dovecot
    suite.close()


@pytest.fixture
def ticket_desk():
    """A handler that takes every message a person wrote (an addon's ticket desk)."""
    taken = []

    def take(incoming):
        if incoming.automatic:
            return None
        taken.append(incoming.subject)
        return ("Ticket", len(taken))

    hooks.connect("mail.received")(take)
    yield taken
    hooks._handlers["mail.received"].remove(take)


def outcomes(suite):
    return sorted((message_id, outcome) for message_id, outcome in suite.sql(
        "SELECT message_id, outcome FROM core_mail_received WHERE source = 'imap'"))


def test_fetch_takes_unread_mail_marks_it_read_and_never_twice(mailbox_site, ticket_desk):
    suite, port = mailbox_site
    append(port, "plain_utf8.eml", "gbk_base64.eml", "bulk_newsletter.eml")
    # A message already read before the CRM was set up is left alone.
    connection = imap(port)
    connection.append("INBOX", "(\\Seen)", None, (CORPUS / "big5.eml").read_bytes())
    connection.logout()

    result = suite.run("run-job", "core.fetch_mail")
    assert result.exit_code == 0, result.output
    assert "automatic 1" in result.output and "taken 2" in result.output
    assert outcomes(suite) == [("20261201011500.1234@mail.example.cn", "taken"),
                               ("202612031020332341876@example.com.cn", "taken"),
                               ("newsletter.2026-49.abc123@lists.example.com", "automatic")]
    assert sorted(ticket_desk) == ["关于合同付款期限的修改（张堃）",
                                   "打印机无法连接 – printer will not connect"]
    assert flags(port) == {1: True, 2: True, 3: True, 4: True}

    # Nothing new: nothing fetched. A message marked unread again by someone (or left
    # unread by a crash after the commit) is recognised and not taken twice.
    assert "no new mail" in suite.run("run-job", "core.fetch_mail").output
    connection = imap(port)
    connection.uid("STORE", "1", "-FLAGS", "(\\Seen)")
    connection.logout()
    result = suite.run("run-job", "core.fetch_mail")
    assert "duplicate 1" in result.output
    assert len(ticket_desk) == 2 and len(outcomes(suite)) == 3
    assert flags(port)[1] is True


def test_a_message_over_the_limit_is_marked_read_and_not_fetched_again(mailbox_site,
                                                                       ticket_desk):
    suite, port = mailbox_site
    big = (CORPUS / "big5.eml").read_bytes() + b"z" * (2 * 2**20)   # limit: 1 MB
    append(port, "missing_end.eml", data=big)
    result = suite.run("run-job", "core.fetch_mail")
    assert result.exit_code == 0 and "refused 1" in result.output and "taken 1" in result.output
    assert flags(port) == {1: True, 2: True}
    assert outcomes(suite) == [("missingend.1@example.jp", "taken")]
    assert "no new mail" in suite.run("run-job", "core.fetch_mail").output


def test_a_failing_message_stays_unread_and_the_others_go_in(mailbox_site):
    suite, port = mailbox_site

    def fussy(incoming):
        if "Truncated" in incoming.subject:
            raise RuntimeError("the ticket desk is down")
        return ("Ticket", 1)

    hooks.connect("mail.received")(fussy)
    try:
        append(port, "missing_end.eml", "big5.eml")
        result = suite.run("run-job", "core.fetch_mail")
        assert result.exit_code == 1
        assert "taken 1" in result.output and "left unread for the next run" in result.output
        assert flags(port) == {1: False, 2: True}
        assert outcomes(suite) == [("big5.20261205080000@example.com.tw", "taken")]
        state = suite.sql("SELECT last_status FROM core_job WHERE id = 'core.fetch_mail'")
        assert state == [("error",)]
    finally:
        hooks._handlers["mail.received"].remove(fussy)
    # Fixed: the next run takes it.
    assert "unhandled 1" in suite.run("run-job", "core.fetch_mail").output
    assert flags(port) == {1: True, 2: True}


def test_wrong_password_and_test_sign_in_on_the_settings_page(mailbox_site):
    suite, port = mailbox_site
    admin = suite.admin_client()
    page = "/admin/mail-server/"
    data = {"enabled": "1", "host": "127.0.0.1", "port": str(port), "security": "none",
            "username": USER, "password": "wrong password", "folder": "INBOX",
            "action": "test_incoming"}
    response = admin.post_form(page, data, token_from=page)
    text = unescape(admin.get(response.headers["Location"]).get_data(as_text=True))
    assert "The mailbox could not be opened: The mailbox server answered:" in text
    assert "AUTHENTICATIONFAILED" in text or "Authentication failed" in text
    result = suite.run("run-job", "core.fetch_mail")
    assert result.exit_code == 1 and ("AUTHENTICATIONFAILED" in result.output
                                      or "Authentication failed" in result.output)

    append(port, "big5.eml", "plain_utf8.eml")
    response = admin.post_form(page, dict(data, password=PASSWORD), token_from=page)
    text = unescape(admin.get(response.headers["Location"]).get_data(as_text=True))
    assert "Signed in to the mailbox: 2 unread messages in INBOX." in text
    assert flags(port) == {1: False, 2: False}   # the test reads nothing


def test_chinese_folder_names_are_written_as_imap_wants():
    assert mail_fetch.imap_utf7("收件箱") == "&ZTZO9nux-"
    assert mail_fetch.imap_utf7("Tickets & more") == "Tickets &- more"
    assert mail_fetch.quoted_folder("") == '"INBOX"'


def test_the_job_is_off_until_a_mailbox_is_set(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url)
    app = suite.app()
    with app.app_context():
        assert mail_fetch.fetch_job() == "off: no incoming mailbox is set up"
        db.session.remove()
    suite.close()
