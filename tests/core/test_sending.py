"""Honest sending and the first-run set-up, through the screens: Settings > Mail server
and its test email, an email that cannot go (no server) failing at once and telling its
sender, messages_for (what any record shows of its emails), the home page's checklist
and mail warning, and the "Reminders by email too" choice."""
import re
from html import unescape

import pytest

from core import outbox
from core.db import db
from core.models import User
from tests.conftest import make_suite
from tests.core.test_outbox import free_port

PASSWORD = "sending pass 12"
MAIL = "/admin/mail-server/"
COMPANY = "/admin/company/"


@pytest.fixture
def office(tmp_path, database_url):
    """No mail server in config.ini; an administrator with an address."""
    suite = make_suite(tmp_path, database_url)
    suite.sql("UPDATE core_user SET email = 'boss@example.com' WHERE username = 'admin'")
    yield suite
    suite.close()


def text_of(response):
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def followed(client, response):
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return text_of(client.get(response.headers["Location"]))


def save_mail(client, port, action="save", **fields):
    data = {"host": "127.0.0.1", "port": str(port), "security": "none", "username": "",
            "password": "", "sender": "sales@example.com", "sender_name": "",
            "test_to": "boss@example.com", "action": action, **fields}
    return client.post_form(MAIL, data, token_from=MAIL)


def test_test_email_reports_success_and_the_error_in_words(office, smtp):
    admin = office.admin_client()
    page = text_of(admin.get(MAIL))
    assert "No mail server is set up yet." in page and 'value="boss@example.com"' in page

    # Nothing listens on that port: the error in words, at once; nothing kept as tested.
    dead = free_port()
    page = followed(admin, save_mail(admin, dead, action="test"))
    assert f"The test email was not sent: Nothing answers at 127.0.0.1:{dead}" in page
    assert "A test email went out" not in page
    assert smtp.messages == []

    page = followed(admin, save_mail(admin, smtp.port, action="test", sender_name="Yunfan"))
    assert "Test email sent to boss@example.com" in page
    assert "A test email went out through this server." in page
    [received] = smtp.messages
    assert received["To"] == "boss@example.com"
    assert received["From"] == "Yunfan <sales@example.com>"
    stored = dict(office.sql("SELECT key, value FROM core_option WHERE addon = 'core.mail'"))
    assert stored["host"] == "127.0.0.1" and stored["port"] == str(smtp.port)

    # A bad port is refused on its field, and nothing is saved.
    response = save_mail(admin, "99999")
    assert response.status_code == 200 and "A port number" in text_of(response)
    assert dict(office.sql("SELECT key, value FROM core_option WHERE addon = 'core.mail'"))[
        "port"] == str(smtp.port)


def test_the_password_is_kept_but_never_shown_nor_audited(office, smtp):
    admin = office.admin_client()
    followed(admin, save_mail(admin, smtp.port, username="mailer", password="s3cret-pass"))
    assert office.sql("SELECT value FROM core_option WHERE addon = 'core.mail' "
                      "AND key = 'password'") == [("s3cret-pass",)]
    assert "s3cret-pass" not in admin.get(MAIL).get_data(as_text=True)
    # Saved again with the field left empty: the password stays.
    followed(admin, save_mail(admin, smtp.port, username="mailer"))
    assert office.sql("SELECT value FROM core_option WHERE addon = 'core.mail' "
                      "AND key = 'password'") == [("s3cret-pass",)]
    assert not any("s3cret-pass" in changes for (changes,) in office.sql(
        "SELECT changes FROM core_audit"))


def test_no_mail_server_fails_at_once_and_tells_the_sender(office, smtp):
    office.run("create-user", "--username", "amy", "--password", PASSWORD,
               "--email", "amy@example.com")
    office.sql("UPDATE core_user SET notify_by_email = true, language = 'zh_Hans_CN' "
               "WHERE username = 'amy'")
    app = office.app()
    with app.app_context():
        amy = db.session.scalar(db.select(User).where(User.username == "amy"))
        from flask import g
        g.acting_user_id = amy.id           # amy sends it
        message = outbox.send_email(["li@example.com"], "Offer", "Hello", related=amy)
        db.session.commit()
        assert outbox.messages_for("User", amy.id)[0]["state"] == "queued"
        outbox.deliver_due()
        # Failed for good at the first attempt: retrying cannot help without a server.
        assert message.status == "failed" and message.attempts == 1
        [row] = outbox.messages_for("User", amy.id)
        assert row["state"] == "failed" and row["subject"] == "Offer"
        assert outbox.error_text(row["error"]).startswith("No mail server is set up")
        db.session.remove()
    notices = office.sql("SELECT title, body, link FROM core_notification")
    # In amy's language, linked to the record it was sent from.
    assert notices == [("邮件未送达：Offer", notices[0][1], f"/admin/users/details/?id={amy.id}")]
    assert "li@example.com" in notices[0][1]
    # Never by email (it could fail in turn), though amy asked for reminders by email.
    assert office.sql("SELECT count(*) FROM core_message") == [(1,)]

    # Once the server is set up, the same kind of message is delivered.
    admin = office.admin_client()
    followed(admin, save_mail(admin, smtp.port))
    with app.app_context():
        message = outbox.send_email(["li@example.com"], "Offer 2", "Hello", related=amy)
        db.session.commit()
        outbox.deliver_due()
        assert [row["state"] for row in outbox.messages_for("User", amy.id)] == [
            "delivered", "failed"]
        db.session.remove()
    assert [m["Subject"] for m in smtp.messages] == ["Offer 2"]


def test_home_page_checklist_until_the_company_is_set_up(office, smtp):
    admin = office.admin_client()
    page = text_of(admin.get("/admin/"))
    assert "No mail server is set up: every email" in page
    assert "Finish setting up" in page
    for missing in ("Company name", "Address", "Tax number", "Currency", "Mail server",
                    "Users for your team", "Logo"):
        assert missing in page.split("Finish setting up")[1], missing
    assert 'href="/admin/company/"' in page and 'href="/admin/users/"' in page

    # Not for other users.
    office.run("create-user", "--username", "amy", "--password", PASSWORD)
    amy = office.client()
    amy.login("amy", PASSWORD)
    page = text_of(amy.get("/admin/"))
    assert "Finish setting up" not in page and "No mail server" not in page

    response = admin.post_form(COMPANY, {"name": "Yunfan Ltd", "address": "100 Century Ave",
                                         "tax_number": "91310115MA1K4ABCDE",
                                         "currency": "usd"}, token_from=COMPANY)
    assert response.status_code == 302
    assert dict(office.sql("SELECT key, value FROM core_option WHERE addon = 'core.company'"))[
        "currency"] == "USD"
    followed(admin, save_mail(admin, smtp.port))        # saved, not yet tested
    page = text_of(admin.get("/admin/"))
    assert "No mail server is set up" not in page
    checklist = page.split("Finish setting up")[1]
    assert "A test email through the mail server" in checklist
    assert "Company name" not in checklist and "Users for your team" not in checklist
    followed(admin, save_mail(admin, smtp.port, action="test"))
    page = text_of(admin.get("/admin/"))
    assert "Finish setting up" not in page       # the logo alone is optional

    # A currency that is not a code is refused on its field.
    response = admin.post_form(COMPANY, {"name": "Yunfan Ltd", "currency": "dollars"},
                               token_from=COMPANY)
    assert response.status_code == 200 and "A three-letter code" in text_of(response)


def test_reminders_by_email_on_the_user_form_and_the_account_page(office):
    office.run("create-user", "--username", "amy", "--password", PASSWORD,
               "--email", "amy@example.com")
    uid = office.sql("SELECT id FROM core_user WHERE username = 'amy'")[0][0]
    admin = office.admin_client()
    form = text_of(admin.get(f"/admin/users/edit/?id={uid}"))
    assert "Reminders by email too" in form and 'name="notify_by_email"' in form
    response = admin.post_form(f"/admin/users/edit/?id={uid}", {
        "username": "amy", "full_name": "Amy", "email": "amy@example.com", "language": "",
        "active": "y", "notify_by_email": "y"}, token_from=f"/admin/users/edit/?id={uid}")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert office.sql("SELECT notify_by_email FROM core_user WHERE id = :u", u=uid)[0][0]

    amy = office.client()
    amy.login("amy", PASSWORD)
    page = text_of(amy.get("/admin/account/"))
    assert "Reminders by email too" in page and "amy@example.com" in page
    page = followed(amy, amy.post_form("/admin/account/reminders", {},
                                       token_from="/admin/account/"))
    assert "Reminders by email: off." in page
    assert not office.sql("SELECT notify_by_email FROM core_user WHERE id = :u", u=uid)[0][0]
    followed(amy, amy.post_form("/admin/account/reminders", {"notify_by_email": "1"},
                                token_from="/admin/account/"))
    assert office.sql("SELECT notify_by_email FROM core_user WHERE id = :u", u=uid)[0][0]
