"""The incoming mail gateway: every email the suite receives comes in through here.

Two ways in, one path: ``python run.py mail-in`` reads a message on its standard input
(for an MTA's pipe or alias), and the ``core.fetch_mail`` job fetches new messages from
an IMAP mailbox (core.mail_fetch). Both call ``receive(raw)``, which

1. refuses a message over ``[mail] max_incoming_mb`` (nothing written);
2. parses it (``parse``: decoded headers in any charset, the text, the HTML sanitised,
   the attachments);
3. takes each Message-ID once (table core_mail_received): an MTA retry or a second
   fetch never makes a second ticket;
4. drops our own emails coming back (a loop), hands delivery reports to the handlers of
   the ``mail.bounce`` hook, and offers the rest to the handlers of ``mail.received``,
   in order, until one takes it and says on which record (model name, id) it filed it:

    from core import hooks

    @hooks.connect("mail.received")
    def open_ticket(incoming):          # a mailgate.Incoming
        if incoming.replied_to and incoming.replied_to[0] == "Ticket": ...
        if incoming.automatic: ...      # an out-of-office or a list: never answer it
        return ("Ticket", ticket.id)    # or None: not mine

The core's row and whatever the handler writes commit together, or not at all: on an
error the transaction rolls back and the error goes up (the CLI exits 75, so the MTA
tries again; the fetch leaves the message unread for the next run).
"""
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

import nh3
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import files, outbox
from core.db import db
from core.models import MailReceived, Message

log = logging.getLogger(__name__)

DEFAULT_MAX_MB = 25

# Charsets as mail programs label them, and the codec that reads what they really send:
# "GB2312" mail holds GBK characters, Big5 mail Hong Kong ones, Latin-1 Windows quotes.
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                   "cp936": "gb18030", "euc-cn": "gb18030", "big5": "big5hkscs",
                   "x-big5": "big5hkscs", "ks_c_5601-1987": "cp949",
                   "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8",
                   "ascii": "utf-8", "utf8": "utf-8"}

# Our own outgoing Message-ID (outbox.message_id_header): <crm-message-ID.STAMP@domain>.
OUR_MESSAGE_ID = re.compile(r"^crm-message-(\d+)\.(\d{14})@(.+)$")
ANGLE_IDS = re.compile(r"<([^<>\s]+)>")

# The sanitised HTML: no scripts, styles or event handlers (nh3 drops what it does not
# list); links may not run code; images only from the message itself (cid:) or inline
# data, so that opening a message does not tell a tracker it was read.
HTML_URL_SCHEMES = nh3.ALLOWED_URL_SCHEMES | {"cid", "data"}
IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
HTML_DROPPED_WITH_CONTENT = {"script", "style", "title", "head", "template", "noscript",
                             "iframe", "object", "svg", "math"}


class _RawHeaders(Compat32):
    """Headers as they came, 8-bit bytes kept (as surrogates) for header_text to decode;
    the standard policy would turn unencoded Chinese into question marks."""

    def header_fetch_parse(self, name, value):
        return value


RAW = _RawHeaders()


class MailRefused(Exception):
    """A message the gateway cannot take at all; the text says why."""


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes
    content_id: str = None     # without <>, for an image the HTML shows as cid:...


@dataclass
class Incoming:
    """One parsed email (see parse)."""
    message_id: str
    in_reply_to: list
    references: list
    subject: str
    from_name: str
    from_address: str
    to: list
    date: datetime
    text: str
    html: str
    attachments: list
    replied_to: tuple = None    # (model name, record id): set by receive()
    raw_size: int = 0
    automatic: str = None       # why it is an automatic message (auto_reason), else None
    report_type: str = None     # of a multipart/report: "delivery-status", ...
    failed_recipients: list = field(default_factory=list)   # of a delivery report
    original_ids: list = field(default_factory=list)   # Message-IDs a report is about
    raw: bytes = field(default=b"", repr=False)   # the message as received


@dataclass
class Outcome:
    """What receive() did: status is taken, duplicate, loop, bounce, automatic (no
    handler took an automatic message), unhandled or refused."""
    status: str
    message: str = ""
    model: str = None
    record_id: int = None


# -- decoding ------------------------------------------------------------------------------

def decode_bytes(data, charset=None):
    """Bytes as text: in their declared charset (as mail programs mean it), else UTF-8,
    else GB18030; never fails (an undecodable byte becomes U+FFFD)."""
    declared = (charset or "").strip().strip('"').lower()
    declared = CHARSET_ALIASES.get(declared, declared)
    for codec in [c for c in (declared, "utf-8", "gb18030") if c]:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode(declared or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _raw_text(text):
    # The parser keeps a header's 8-bit bytes as surrogates: read them back as bytes
    # and decode them (unencoded UTF-8 or GBK headers are common).
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return decode_bytes(text.encode("utf-8", "surrogateescape"))
    return text


def header_text(value):
    """A header's value as text: RFC 2047 words decoded in their charset, lines
    unfolded, control characters removed."""
    if value is None:
        return ""
    value = str(value)
    try:
        parts = decode_header(value)
    except (HeaderParseError, ValueError, LookupError):
        parts = [(value, None)]
    text = "".join(
        decode_bytes(chunk, charset) if charset
        else _raw_text(chunk.decode("raw-unicode-escape") if isinstance(chunk, bytes) else chunk)
        for chunk, charset in parts)
    return " ".join("".join(ch if unicodedata.category(ch)[0] != "C" else " "
                            for ch in text).split())


def _ids(value):
    """Message-IDs of a header, without <>."""
    text = _raw_text(str(value or ""))
    found = ANGLE_IDS.findall(text)
    return found if found else [word.strip("<>") for word in text.split() if "@" in word]


def _addresses(message, *names):
    values = [str(v) for name in names for v in (message.get_all(name) or [])]
    return [(header_text(name), _raw_text(address).strip().lower())
            for name, address in getaddresses(values) if "@" in address]


def _date(value):
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


# -- the body ------------------------------------------------------------------------------

class _TextOfHtml(HTMLParser):
    """The words of an HTML body, a line per block, without scripts and styles."""
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "blockquote", "pre", "hr", "ul", "ol", "section", "article"}
    HIDDEN = {"script", "style", "head", "title", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html):
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):   # very broken markup: its bare words will do
        return unescape(re.sub(r"<[^>]*>", " ", html))
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _keep_attribute(element, attribute, value):
    if element == "img" and attribute == "src":
        return value if value.lower().startswith(("cid:", "data:image/")) else None
    if attribute in ("href", "cite") and value.strip().lower().startswith("data:"):
        return None
    return value


def sanitise_html(html):
    """An email's HTML, safe to show inside the suite's pages."""
    clean = nh3.clean(html, clean_content_tags=HTML_DROPPED_WITH_CONTENT,
                      url_schemes=HTML_URL_SCHEMES, attribute_filter=_keep_attribute,
                      link_rel="noopener noreferrer", strip_comments=True)
    # An image whose remote source was dropped: nothing left to show (nh3 writes every
    # tag in one normal form, so a pattern can find them).
    return IMG_WITHOUT_SRC.sub("", clean).strip()


EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
              "image/gif": ".gif", "text/plain": ".txt", "text/html": ".html",
              "message/rfc822": ".eml", "text/calendar": ".ics"}


def attachment_name(name, content_type, number):
    """A name the file store accepts (core.files.clean_name): separators and control
    characters replaced, a made-up name when the sender gave none."""
    name = unicodedata.normalize("NFC", name or "")
    # (Cf covers the direction characters of files.BIDI_CONTROLS.)
    name = "".join("_" if ch in "/\\" or unicodedata.category(ch) in ("Cc", "Cf", "Cs")
                   else ch for ch in name)
    if not name.strip(". _"):
        name = f"attachment-{number}{EXTENSIONS.get(content_type, '.bin')}"
    return files.clean_name(name)


def _filename(part):
    name = part.get_param("filename", header="content-disposition") \
        or part.get_param("name")
    if isinstance(name, tuple):   # RFC 2231: (charset, language, text)
        charset, _language, text = name
        return decode_bytes(text.encode("latin-1", "surrogateescape"), charset)
    return header_text(name) if name else ""


def _payload(part):
    try:
        return part.get_payload(decode=True) or b""
    except (ValueError, TypeError, AssertionError):
        return b""


class _Body:
    """What the walk through a message's parts finds."""

    def __init__(self):
        self.texts, self.html, self.attachments = [], None, []
        self.report_blocks, self.original_ids = [], []


def _walk(part, body):
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "message/global", "text/rfc822-headers"):
        _embedded(part, body)
        return
    if content_type in ("message/delivery-status", "message/disposition-notification"):
        _report(part, body)
        return
    if part.is_multipart():
        for sub in part.get_payload():
            _walk(sub, body)
        return
    name = _filename(part)
    inline = part.get_content_disposition() != "attachment" and not name
    data = _payload(part)
    if content_type.startswith("multipart/") and _reparsed(part, data, body):
        return
    if inline and (content_type == "text/plain" or content_type.startswith("multipart/")):
        body.texts.append(_text(data, part))
    elif inline and content_type == "text/html" and body.html is None:
        body.html = _text(data, part)
    else:
        content_id = (part.get("Content-ID") or "").strip().strip("<>") or None
        body.attachments.append(Attachment(
            attachment_name(name, content_type, len(body.attachments) + 1),
            content_type, data, content_id))


def _text(data, part):
    return decode_bytes(data, part.get_content_charset()).replace("\r\n", "\n")


def _reparsed(part, data, body):
    """A multipart whose declared boundary is not in its body (a broken mailer): read it
    again with the boundary its body does use. False when it has none either."""
    if getattr(part, "_reparsed", False):
        return False
    match = re.search(rb"^--([^\s]{1,70}?)(?:--)?\s*$", data, re.MULTILINE)
    if not match:
        return False
    again = message_from_bytes(b'Content-Type: multipart/mixed; boundary="' + match.group(1)
                               + b'"\r\n\r\n' + data, policy=RAW)
    again._reparsed = True
    if not again.is_multipart():
        return False
    _walk(again, body)
    return True


def _embedded(part, body):
    """A message inside: the original of a delivery report, or a forwarded email (kept
    as an .eml attachment). Its Message-ID tells which of our emails bounced."""
    inner = part.get_payload(0) if part.is_multipart() else message_from_bytes(
        _payload(part), policy=RAW)
    body.original_ids.extend(_ids(inner.get("Message-ID")))
    if part.get_content_type() == "text/rfc822-headers":
        return
    try:
        data = inner.as_bytes()
    except (ValueError, TypeError, LookupError, UnicodeError):
        data = _payload(part)
    name = header_text(inner.get("Subject")) or "message"
    body.attachments.append(Attachment(
        attachment_name(f"{name[:100]}.eml", "message/rfc822",
                        len(body.attachments) + 1), "message/rfc822", data))


def _report(part, body):
    """A delivery report (a block of headers per recipient) or a read receipt."""
    blocks = part.get_payload() if part.is_multipart() else []
    if not blocks:   # the parser reads the blocks itself; when it did not, split them
        text = decode_bytes(_payload(part) or str(part.get_payload()).encode(
            "utf-8", "surrogateescape"))
        blocks = [message_from_bytes(chunk.encode(), policy=RAW)
                  for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    body.report_blocks.extend(blocks)
    for block in blocks:
        body.original_ids.extend(_ids(block.get("Original-Message-ID")))


def _failed_recipients(blocks):
    failed = []
    for block in blocks:
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        address = recipient.rpartition(";")[2].strip().strip("<>").lower()
        if "@" in address and (action == "failed" or (not action and status.startswith("5"))):
            failed.append(address)
    return failed


# -- parse ---------------------------------------------------------------------------------

def auto_reason(message):
    """Why ``message`` (an email.message.Message) is an automatic one, in the words of
    its headers (an out-of-office reply, a delivery report, list mail); None for a
    message a person wrote. Nothing should ever answer an automatic message."""
    def value(name):
        return header_text(message.get(name)).lower()

    submitted = value("Auto-Submitted")
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"[:64]
    if value("Precedence") in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {value('Precedence')}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if message.get(name) is not None:
            return name
    suppress = {word.strip() for word in value("X-Auto-Response-Suppress").split(",")}
    if suppress & {"all", "oof", "autoreply"}:
        return f"X-Auto-Response-Suppress: {value('X-Auto-Response-Suppress')}"[:64]
    if message.get_content_type() == "multipart/report":
        return f"multipart/report; {message.get_param('report-type') or ''}".strip("; ")[:64]
    for name in ("From", "Sender"):
        for _name, address in _addresses(message, name):
            if address.partition("@")[0] in ("mailer-daemon", "postmaster"):
                return f"{name}: {address}"[:64]
    if value("Return-Path").strip() == "<>":
        return "Return-Path: <>"
    for name in ("List-Id", "List-Unsubscribe"):
        if message.get(name) is not None:
            return name
    return None


def parse(raw):
    """An Incoming of the raw message (bytes). Best effort on broken MIME; MailRefused
    only for what is no email at all. ``replied_to`` is left to receive(), which looks
    in the database."""
    if not isinstance(raw, (bytes, bytearray)) or not raw.strip():
        raise MailRefused("the message is empty")
    message = message_from_bytes(bytes(raw), policy=RAW)
    if not message.keys():
        raise MailRefused("this is not an email: it has no headers")
    body = _Body()
    _walk(message, body)
    senders = _addresses(message, "From") or _addresses(message, "Sender")
    from_name, from_address = senders[0] if senders else ("", "")
    text = "\n".join(t for t in body.texts if t.strip()).strip()
    report_type = (message.get_param("report-type") or "").lower() \
        if message.get_content_type() == "multipart/report" else None
    return Incoming(
        message_id=(_ids(message.get("Message-ID")) or [None])[0]
        or f"crm-nomsgid-{hashlib.sha1(raw).hexdigest()}",
        in_reply_to=_ids(message.get("In-Reply-To")),
        references=_ids(message.get("References")),
        subject=header_text(message.get("Subject")),
        from_name=from_name, from_address=from_address,
        to=[address for _name, address in _addresses(message, "To", "Cc")],
        date=_date(message.get("Date")),
        text=text or (html_to_text(body.html) if body.html else ""),
        html=sanitise_html(body.html) if body.html else None,
        attachments=body.attachments, raw_size=len(raw),
        automatic=auto_reason(message), report_type=report_type,
        failed_recipients=_failed_recipients(body.report_blocks),
        original_ids=body.original_ids, raw=bytes(raw))


# -- receive -------------------------------------------------------------------------------

def max_bytes():
    settings = current_app.extensions["crm"].settings
    return int(float(settings.get("mail", "max_incoming_mb", str(DEFAULT_MAX_MB)))
               * 2**20)


def log_key(message_id):
    # The column holds 255 characters; a longer Message-ID is kept as its digest.
    if len(message_id) <= 255:
        return message_id
    return "sha1:" + hashlib.sha1(message_id.encode("utf-8", "surrogatepass")).hexdigest()


def _our_ids(ids):
    """{id: Message} of the ids that name an outbox message of ours (one query)."""
    found = {}
    for value in ids:
        match = OUR_MESSAGE_ID.match(value)
        if match:
            found[value] = (int(match.group(1)), match.group(2))
    if not found:
        return {}
    rows = {row.id: row for row in db.session.execute(
        select(Message.id, Message.created_at, Message.related_model, Message.related_id)
        .where(Message.id.in_({number for number, _stamp in found.values()})))}
    # The stamp must match too: an id alone could name another message after a restore.
    return {value: rows[number] for value, (number, stamp) in found.items()
            if number in rows and f"{rows[number].created_at:%Y%m%d%H%M%S}" == stamp}


def is_loop(incoming, ours):
    """Our own email come back: its Message-ID is one the outbox made."""
    if incoming.message_id in ours:
        return True
    match = OUR_MESSAGE_ID.match(incoming.message_id)
    domain = outbox.mail_settings()["sender"].rpartition("@")[2].lower()
    return bool(match and domain and match.group(3).lower() == domain)


def replied_to(incoming, ours):
    """(model, id) of the record our email that this answers (or that bounced) was
    sent from: the In-Reply-To first, then References newest first."""
    for value in [*incoming.in_reply_to, *reversed(incoming.references),
                  *incoming.original_ids]:
        row = ours.get(value)
        if row is not None and row.related_model and row.related_id:
            return (row.related_model, row.related_id)
    return None


def receive(raw, source="pipe"):
    """Take one message in: see the module's docstring. Commits; on an error rolls back
    and raises."""
    limit = max_bytes()
    if len(raw) > limit:
        return Outcome("refused", f"the message is {len(raw) / 2**20:.1f} MB, over the "
                                  f"limit of {limit / 2**20:g} MB ([mail] max_incoming_mb)")
    try:
        incoming = parse(raw)
    except MailRefused as exc:
        return Outcome("refused", str(exc))
    session = db.session
    try:
        outcome = _route(session, incoming, source)
        session.commit()
    except Exception:
        session.rollback()
        raise
    if outcome.status == "unhandled":   # (on record in core_mail_received too)
        log.info("incoming mail %s from %s: no handler took it", incoming.message_id,
                 incoming.from_address or "?")
    return outcome


def _route(session, incoming, source):
    key = log_key(incoming.message_id)
    if session.scalar(select(MailReceived.id).where(MailReceived.message_id == key)):
        return Outcome("duplicate")
    row = MailReceived(message_id=key, from_address=incoming.from_address[:255],
                       subject=incoming.subject[:255], source=source, outcome="taken",
                       automatic=incoming.automatic, size=incoming.raw_size)
    session.add(row)
    try:
        session.flush()    # first: a copy arriving at the same moment waits here, then fails
    except IntegrityError:
        session.rollback()
        return Outcome("duplicate")
    ours = _our_ids([incoming.message_id, *incoming.in_reply_to, *incoming.references,
                     *incoming.original_ids])
    incoming.replied_to = replied_to(incoming, ours)
    outcome = _dispatch(incoming, ours)
    row.outcome, row.model, row.record_id = outcome.status, outcome.model, outcome.record_id
    return outcome


# Delivery reports (RFC 3464) and spam complaints (RFC 5965 feedback reports).
BOUNCE_REPORTS = ("delivery-status", "feedback-report")


def _dispatch(incoming, ours):
    hooks = current_app.extensions["crm"].hooks
    if is_loop(incoming, ours):
        return Outcome("loop")
    if incoming.report_type in BOUNCE_REPORTS:
        hooks.call("mail.bounce", incoming, failed_recipients=incoming.failed_recipients)
        return Outcome("bounce")
    taken = hooks.first("mail.received", incoming)
    if taken is None:
        return Outcome("automatic" if incoming.automatic else "unhandled")
    model, record_id = taken
    return Outcome("taken", model=str(model), record_id=int(record_id))
