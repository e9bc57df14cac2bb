"""Incoming mail from an IMAP mailbox: the ``core.fetch_mail`` job, every minute.

It signs in, looks for unread messages, and hands each to the gateway
(``mailgate.receive``), at most BATCH a run. A message is fetched without marking it
read (BODY.PEEK) and marked read (\\Seen) only once the gateway has committed it: a
crash in between leaves it unread, the next run fetches it again, and the gateway's
Message-ID log (core_mail_received) knows it already. A message over the size limit is
marked read and logged, not fetched again and again. A message the gateway fails on (a
database error, a handler's bug) stays unread for the next run, and the job reports it.

The mailbox is set on Settings > Mail server ("Incoming mail"), kept in the database
under OPTIONS; ``[mail] imap_*`` in config.ini gives the values until then.
"""
import base64
import imaplib
import logging
import re
import ssl
from collections import Counter
from contextlib import contextmanager

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core import mailgate, outbox
from core.db import db
from core.models import Option

log = logging.getLogger(__name__)

OPTIONS = "core.mail_in"
DEFAULTS = {"enabled": "false", "host": "", "port": "993", "security": "ssl",
            "username": "", "password": "", "folder": "INBOX"}
BATCH = 200
TIMEOUT = 30


class FetchError(Exception):
    """Some messages could not be taken in; they stay unread for the next run."""


def settings():
    """{key: text} of the mailbox (DEFAULTS' keys): what an administrator saved on
    Settings > Mail server, else ``[mail] imap_KEY`` in config.ini, else the default."""
    config = current_app.extensions["crm"].settings
    values = {key: config.get("mail", f"imap_{key}", default)
              for key, default in DEFAULTS.items()}
    stored = db.session.execute(select(Option.key, Option.value)
                                .where(Option.addon == OPTIONS)).all()
    values.update({key: value for key, value in stored if key in DEFAULTS})
    return values


def is_on(values):
    return values["enabled"].strip().lower() in ("1", "true", "yes", "on") \
        and bool(values["host"].strip())


def imap_utf7(name):
    """A folder name as IMAP writes it (modified UTF-7, RFC 3501): 收件箱 -> &ZTZO9nux-."""
    out, pending = [], []

    def flush():
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def quoted_folder(name):
    name = imap_utf7(name.strip() or "INBOX")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def mailbox(values):
    """The mailbox of ``values``, signed in, its folder selected."""
    host, port = values["host"].strip(), int(values["port"] or 993)
    if values["security"] == "ssl":
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(),
                                 timeout=TIMEOUT)
    else:
        imap = imaplib.IMAP4(host, port, timeout=TIMEOUT)
    try:
        if values["security"] == "starttls":
            imap.starttls(ssl.create_default_context())
        imap.login(values["username"], values["password"])
        status, answer = imap.select(quoted_folder(values["folder"]))
        if status != "OK":
            raise imaplib.IMAP4.error(f"{values['folder']}: {_answer_text(answer)}")
        yield imap
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _answer_text(answer):
    return " ".join(part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part)
                    for part in answer or [])


def unseen(imap):
    """The UIDs of the unread messages, oldest first."""
    status, answer = imap.uid("SEARCH", None, "UNSEEN")
    if status != "OK":
        raise imaplib.IMAP4.error(f"SEARCH: {_answer_text(answer)}")
    return [uid.decode() for uid in b" ".join(answer or [b""]).split()]


def _size(imap, uid):
    status, answer = imap.uid("FETCH", uid, "(RFC822.SIZE)")
    match = re.search(rb"RFC822\.SIZE (\d+)", b" ".join(
        part if isinstance(part, bytes) else part[0] for part in answer or [] if part))
    return int(match.group(1)) if status == "OK" and match else None


def _raw(imap, uid):
    status, answer = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    found = [part[1] for part in answer or [] if isinstance(part, tuple)]
    if status != "OK" or not found:
        raise imaplib.IMAP4.error(f"FETCH {uid}: {_answer_text(answer)}")
    return found[0]


def _mark_seen(imap, uid):
    imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")


def take_in(imap, uid, limit):
    """Fetch one message, give it to the gateway, mark it read; its outcome's status."""
    size = _size(imap, uid)
    if size is not None and size > limit:
        log.warning("incoming mail: message %s is %d bytes, over the limit of %d; "
                    "marked read and left in the mailbox", uid, size, limit)
        _mark_seen(imap, uid)
        return "refused"
    outcome = mailgate.receive(_raw(imap, uid), source="imap")
    if outcome.status == "refused":
        log.warning("incoming mail: message %s refused: %s", uid, outcome.message)
    _mark_seen(imap, uid)
    return outcome.status


def fetch_job():
    """The job: take in the mailbox's unread messages (BATCH at most)."""
    values = settings()
    if not is_on(values):
        return "off: no incoming mailbox is set up"
    limit, counts, failed = mailgate.max_bytes(), Counter(), []
    with mailbox(values) as imap:
        for uid in unseen(imap)[:BATCH]:
            try:
                counts[take_in(imap, uid, limit)] += 1
            except (imaplib.IMAP4.abort, OSError):
                raise       # the connection is gone: the next run starts again
            except Exception as exc:  # this message's failure must not hold up the rest
                db.session.rollback()
                log.exception("incoming mail: message %s not taken in", uid)
                failed.append(f"{uid} ({type(exc).__name__}: {exc})")
    summary = ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
    if failed:
        raise FetchError(f"{summary or 'none taken'}; not taken in, left unread for the "
                         f"next run: {'; '.join(failed)}"[:1500])
    return summary or "no new mail"


def test_login(values):
    """Sign in and count the unread messages; the server's error when it fails."""
    with mailbox(values) as imap:
        return len(unseen(imap))


def explain(error, values):
    """Why the mailbox could not be reached, in words for the administrator."""
    if isinstance(error, imaplib.IMAP4.error) and not isinstance(error, imaplib.IMAP4.abort):
        reply = str(error.args[0] if error.args else error)
        if reply.startswith("b'") or reply.startswith('b"'):
            reply = reply[2:-1]
        return _("The mailbox server answered: %(reply)s", reply=reply)
    return outbox.explain(error, values)
