"""The company's own details, printed on every document (quotes, contracts, orders)
and used by emails: name, address, contact details, tax number, bank account, currency
and logo. Edited by administrators on Settings > Company; kept in the database like
addon settings. The mail server has its screen here too (Settings > Mail server, with
"Send test email"), and ``setup_missing`` is the first-run checklist the home page shows
administrators until the company is set up.

    from core import company
    pdf.render("my_addon/document.html", company=company.letterhead(), ...)
"""
import base64
import hashlib
import hmac
import re

from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, insert, select, update

from core import mail_fetch, options, outbox
from core.db import db
from core.models import Option, User

OPTION_ADDON = "core.company"
FIELDS = {
    "name": _l("Company name"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "website": _l("Website"),
    "tax_number": _l("Tax number"),
    "bank_account": _l("Bank and account"),
    "currency": _l("Currency"),
}
DEFAULT_CURRENCY = "CNY"
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
LOGO_MAX_BYTES = 512 * 1024


def details():
    """{field: text} plus ``logo``: a data: URL (the PDF engine loads nothing else from
    outside its folders), or "" when there is none."""
    stored = dict(db.session.execute(select(Option.key, Option.value)
                                     .where(Option.addon == OPTION_ADDON)).all())
    result = {key: stored.get(key, "") for key in FIELDS}
    result["logo"] = stored.get("logo", "")
    return result


def name():
    """The company's name; the site's name until it is set."""
    stored = db.session.scalar(select(Option.value).where(Option.addon == OPTION_ADDON,
                                                          Option.key == "name"))
    return stored or current_app.extensions["crm"].settings.site_name


def letterhead():
    """details() for printing: the name falls back on the site's, so that a fresh
    installation still prints a heading (the home page asks for the real one)."""
    result = details()
    result["name"] = result["name"] or current_app.extensions["crm"].settings.site_name
    return result


def currency():
    """The company's currency (a three-letter code; CNY until it is set)."""
    stored = db.session.scalar(select(Option.value).where(Option.addon == OPTION_ADDON,
                                                          Option.key == "currency"))
    return stored or DEFAULT_CURRENCY


def setup_missing():
    """What the administrator has still to set up, as [{text, link, optional}]: empty
    once the company's details are in, the mail server has passed a test and a second
    active user (the team's first) has been made."""
    values = details()
    company_page = url_for("company.index")
    missing = [{"text": text, "link": company_page, "optional": False}
               for key, text in (("name", _("Company name")), ("address", _("Address")),
                                 ("tax_number", _("Tax number")),
                                 ("currency", _("Currency")))
               if not values[key]]
    mail = outbox.mail_settings()
    if not outbox.mail_configured(mail):
        missing.append({"text": _("Mail server"), "link": url_for("mail_server.index"),
                        "optional": False})
    elif stored_option(outbox.MAIL_OPTIONS, "tested") != mail_fingerprint(mail):
        missing.append({"text": _("A test email through the mail server"),
                        "link": url_for("mail_server.index"), "optional": False})
    users = db.session.scalar(select(func.count(User.id)).where(User.active.is_(True)))
    if users < 2:
        missing.append({"text": _("Users for your team"), "link": url_for("users.index_view"),
                        "optional": False})
    if missing and not values["logo"]:
        missing.append({"text": _("Logo"), "link": company_page, "optional": True})
    return missing


def stored_option(addon, key):
    return db.session.scalar(select(Option.value).where(Option.addon == addon,
                                                        Option.key == key))


def mail_fingerprint(mail):
    """Which server settings a test passed with: changing any of them asks for a new
    test. Keyed with the installation's secret: it covers the password."""
    text = "\n".join(mail[key] for key in ("host", "port", "security", "username", "password",
                                            "sender"))
    key = current_app.extensions["crm"].settings.secret_key.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def save_secret(addon, key, value):
    """Store a value like options.save, but with plain SQL statements: the audit trail
    records every change of an option with its value, and a password must not be in it."""
    found = db.session.execute(update(Option).where(Option.addon == addon, Option.key == key)
                               .values(value=value)).rowcount
    if not found:
        db.session.execute(insert(Option).values(addon=addon, key=key, value=value))


def logo_data_url(data):
    """The logo as a data: URL; ValueError when it is not a PNG or JPEG of fair size."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValueError(_("The logo may be at most %(kb)d KB.", kb=LOGO_MAX_BYTES // 1024))
    kind = next((kind for head, kind in LOGO_TYPES.items() if data.startswith(head)), None)
    if kind is None:
        raise ValueError(_("The logo must be a PNG or JPEG image."))
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


class CompanyView(BaseView):
    """Settings > Company (administrators only: see core.views)."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        values = details()
        errors = {}
        if request.method == "POST":
            for key in FIELDS:
                values[key] = request.form.get(key, "").strip()[:500]
            values["currency"] = values["currency"].upper()
            if values["currency"] and not re.fullmatch(r"[A-Z]{3}", values["currency"]):
                errors["currency"] = _("A three-letter code, such as CNY.")
            upload = request.files.get("logo")
            if request.form.get("remove_logo"):
                values["logo"] = ""
            elif upload and upload.filename:
                try:
                    values["logo"] = logo_data_url(upload.read(LOGO_MAX_BYTES + 1))
                except ValueError as exc:
                    errors["logo"] = str(exc)
            if not errors:
                for key, value in values.items():
                    options.save(db.session, OPTION_ADDON, key, value)
                db.session.commit()
                flash(_("Company details saved."), "success")
                return redirect(url_for(".index"))
        return self.render("core/company.html", fields=FIELDS, values=values, errors=errors)


MAIL_FIELDS = {
    "host": _l("Server (host name)"),
    "port": _l("Port"),
    "security": _l("Security"),
    "username": _l("User name"),
    "password": _l("Password"),
    "sender": _l("Sender address"),
    "sender_name": _l("Sender name"),
}
SECURITY_LABELS = {"none": _l("None (port 25)"), "starttls": _l("STARTTLS (port 587)"),
                   "ssl": _l("SSL/TLS (port 465)")}


def server_problems(values, port_message, host_message):
    """{field: message} for a mail server's port and host name (SMTP or IMAP) that do
    not fit; the messages name the ports and host of the kind of server."""
    errors = {}
    if not values["port"].isdigit() or not 0 < int(values["port"]) < 65536:
        errors["port"] = port_message
    if values["host"] and not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", values["host"]):
        errors["host"] = host_message
    return errors


def save_server(addon, keys, values):
    """Store a mail server's settings (the caller commits); the password apart, out of
    the audit trail (save_secret)."""
    for key in keys:
        if key != "password":
            options.save(db.session, addon, key, values[key])
    save_secret(addon, "password", values["password"])


def read_mail_form(form, current):
    """The mail server as posted, and {field: message} for what does not fit. An empty
    password keeps the one stored."""
    values = {key: form.get(key, "").strip()[:254] for key in MAIL_FIELDS}
    values["timeout"] = current["timeout"]
    if not values["password"]:
        values["password"] = current["password"]
    errors = server_problems(values, _("A port number, such as 25, 465 or 587."),
                             _("A host name such as smtp.example.com, or an IP address."))
    if values["security"] not in outbox.SECURITY:
        values["security"] = "none"
    if not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+", values["sender"]):   # crm@localhost too
        errors["sender"] = _("An email address, such as sales@example.com.")
    return values, errors


INCOMING_FIELDS = {
    "host": _l("Server (host name)"),
    "port": _l("Port"),
    "security": _l("Security"),
    "username": _l("User name"),
    "password": _l("Password"),
    "folder": _l("Folder"),
}
INCOMING_SECURITY_LABELS = {"none": _l("None (port 143)"), "starttls": _l("STARTTLS (port 143)"),
                            "ssl": _l("SSL/TLS (port 993)")}
INCOMING_ACTIONS = ("save_incoming", "test_incoming")


def read_incoming_form(form, current):
    """The incoming mailbox as posted, and {field: message} for what does not fit. An
    empty password keeps the one stored."""
    values = {key: form.get(key, "").strip()[:254] for key in INCOMING_FIELDS}
    values["enabled"] = "true" if form.get("enabled") else "false"
    values["password"] = form.get("password", "")[:254] or current["password"]
    values["folder"] = values["folder"] or "INBOX"
    errors = server_problems(values, _("A port number, such as 993 or 143."),
                             _("A host name such as imap.example.com, or an IP address."))
    if values["security"] not in outbox.SECURITY:
        values["security"] = "ssl"
    if (values["enabled"] == "true" or form.get("action") == "test_incoming") \
            and not values["host"]:
        errors["host"] = _("Enter the server to fetch mail from.")
    return values, errors


class MailServerView(BaseView):
    """Settings > Mail server (administrators only: see core.views): the SMTP server the
    outbox sends through, and a test email that reports at once what went wrong; and
    the IMAP mailbox incoming mail is fetched from (core.mail_fetch), with a test of
    its sign-in."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        current = outbox.mail_settings()
        values, errors = dict(current), {}
        incoming = mail_fetch.settings()
        in_values, in_errors = dict(incoming), {}
        test_to = request.form.get("test_to", current_user.email or "").strip()
        if request.method == "POST" and request.form.get("action") in INCOMING_ACTIONS:
            in_values, in_errors = read_incoming_form(request.form, incoming)
            if not in_errors:
                self._save_incoming(in_values)
                return redirect(url_for(".index"))
        elif request.method == "POST":
            values, errors = read_mail_form(request.form, current)
            testing = request.form.get("action") == "test"
            if testing and not outbox.EMAIL.match(test_to):
                errors["test_to"] = _("Enter the address to send the test email to.")
            if not errors:
                save_server(outbox.MAIL_OPTIONS, MAIL_FIELDS, values)
                db.session.commit()
                if not testing:
                    flash(_("Mail server saved."), "success")
                else:
                    self._test(values, test_to)
                return redirect(url_for(".index"))
        return self.render("core/mail_server.html", fields=MAIL_FIELDS, values=values,
                           errors=errors, security=SECURITY_LABELS, test_to=test_to,
                           has_password=bool(current["password"]),
                           in_fields=INCOMING_FIELDS, in_values=in_values,
                           in_errors=in_errors, in_security=INCOMING_SECURITY_LABELS,
                           has_in_password=bool(incoming["password"]),
                           tested=stored_option(outbox.MAIL_OPTIONS, "tested")
                           == mail_fingerprint(current) and outbox.mail_configured(current))

    def _test(self, mail, address):
        try:
            outbox.send_test(mail, address)
        except Exception as exc:   # any failure is the answer the administrator asked for
            flash(_("The test email was not sent: %(reason)s", reason=outbox.explain(exc, mail)),
                  "error")
            return
        options.save(db.session, outbox.MAIL_OPTIONS, "tested", mail_fingerprint(mail))
        db.session.commit()
        flash(_("Test email sent to %(address)s: check that it arrived.", address=address),
              "success")

    def _save_incoming(self, values):
        save_server(mail_fetch.OPTIONS, mail_fetch.DEFAULTS, values)
        db.session.commit()
        if request.form.get("action") != "test_incoming":
            flash(_("Incoming mail settings saved."), "success")
            return
        try:
            count = mail_fetch.test_login(values)
        except Exception as exc:   # any failure is the answer the administrator asked for
            flash(_("The mailbox could not be opened: %(reason)s",
                    reason=mail_fetch.explain(exc, values)), "error")
            return
        flash(_("Signed in to the mailbox: %(count)d unread messages in %(folder)s.",
                count=count, folder=values["folder"]), "success")
