"""Delivery reports and spam complaints about our mass e-mail, read from the raw message.

``classify(raw)`` says which addresses bounced (hard or soft) or complained, with the
status code, the server's words and the Message-IDs of our original email, and a
``doubt`` when the reading is a guess. It reads, most trusted first:

- RFC 3464 delivery reports (multipart/report; report-type=delivery-status): a Bounce
  per recipient whose Action is failed (hard for 5.x.x, soft for 4.x.x) or delayed
  (soft); delivered, relayed and expanded recipients give nothing;
- RFC 5965 feedback reports (report-type=feedback-report): a complaint;
- the plain-text bounces of servers that write no report (qmail, Exim, Exchange,
  Gmail's older notices, QQ Mail, 163.com, Sina): the recipients, and the status or
  SMTP reply code, found in the text; keywords only as a last resort.

Mailbox full (5.2.2, SMTP 552) and policy or spam blocks (5.7.x) count as soft, as
listmonk and most sending services count them: the address itself is good.

``is_bounce_like(raw)`` says whether a message looks like a bounce or a complaint at all
(the core hands only RFC 3464 reports to the "mail.bounce" hook).

Pure: no database, no application context, and never an exception on a broken message.
"""
import logging
import re
import textwrap
from dataclasses import dataclass, field
from email import message_from_bytes, message_from_string
from email.errors import CloseBoundaryNotFoundDefect
from email.utils import getaddresses

from core.i18n import mark
from core.mailgate import RAW, decode_bytes, header_text, html_to_text

log = logging.getLogger(__name__)

SOFT, HARD, COMPLAINT = "soft", "hard", "complaint"

# Why a Bounce needs a person's review. Stored in English in BounceReport.doubt and
# translated where shown, so each is marked there; one per Bounce, the first that applies.
NO_STATUS = mark("no status code; guessed from the text")
NO_ACTION = mark("the report gives no action; judged by the status code")
UNCLEAR_FEEDBACK = mark("the feedback type is not abuse, fraud or virus")
WHICH_RECIPIENT = mark("the complaint does not say which recipient complained")
NO_RECIPIENT = mark("the complaint names no recipient, only the original message")
NOT_IN_ORIGINAL = mark("recipient not in the original message")
NO_ORIGINAL = mark("the report names no original message")
DOUBTS = (NO_STATUS, NO_ACTION, UNCLEAR_FEEDBACK, WHICH_RECIPIENT, NO_RECIPIENT,
          NOT_IN_ORIGINAL, NO_ORIGINAL)

MAX_DIAGNOSTIC = 500
# Bounce texts are short; a huge body is no reason to run every pattern over all of it.
MAX_TEXT = 200_000

DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
ARF_TYPES = ("message/feedback-report",)
RETURNED_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers",
                  "message/global-headers")
# Feedback types that are no complaint of the recipient's (RFC 6430, RFC 6591).
NOT_COMPLAINTS = ("not-spam", "auth-failure")
CERTAIN_COMPLAINTS = ("abuse", "fraud", "virus")

BOUNCE_SENDERS = ("mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon",
                  "postmaster")
# Subjects of bounces, at the start of the subject: "Re: Mail delivery failed" is a
# person answering one, and "Delivery failed for order 12" a customer, not a server.
BOUNCE_SUBJECT = re.compile(
    r"\s*(undelivered mail|undeliverable\s*(mail\b|:)|delivery status notification"
    r"|mail delivery (failed|failure)|returned mail\b|failure notice\s*$"
    r"|delayed mail \(still being retried\)|warning: message \S+ delayed"
    r"|non-?delivery (report|notification)|complaint about message from"
    r"|(系统)?退信|邮件被退回|邮件(投递|发送)失败|邮件未能?送达)", re.I)
# The first words of the plain-text bounces of common servers.
BOUNCE_PREAMBLE = re.compile(
    r"this is the qmail-send program|this message was created automatically by mail "
    r"delivery software|delivery has failed to these recipients or groups|this is the "
    r"mail system at host|delivery to the following recipients? failed|your message "
    r"wasn't delivered to|您的邮件(被退回|没有成功送达|未能成功送达)|退信原因", re.I)

# An enhanced status code (RFC 3463) and an SMTP reply code, as servers write them in
# text: "550 5.1.1", "550-5.1.1", "(#5.1.1)", "returned '550 5.1.10", "返回：550 ...".
# The boundaries keep out IP addresses (198.51.100.23) and version numbers.
STATUS_FIELD = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
STATUS_IN_TEXT = re.compile(r"(?<![\d.])([45]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
REPLY_IN_TEXT = re.compile(r"(?:^|(?<=[\s'\"(#:：]))([45][0-5]\d)(?=[\s-]|$)", re.M)
REPLY_PREFIX = re.compile(r"^([245]\d\d)[ -]((?:[245]\.\d{1,3}\.\d{1,3})?)\s*")

ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Lines of a bounce's text whose addresses are not the failed recipient's.
NOT_RECIPIENT_LINE = re.compile(
    r"^[\s>]*(from|sender|reply-to|return-path|message-id|received|envelope-to"
    r"|x-original-to|delivered-to|发件人)\s*[:：]", re.I)
QUOTED_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID[ \t]*[:：][ \t]*<([^<>\s]+)>", re.I | re.M)
# Where a plain-text bounce starts quoting our original email (Exim, qmail, Gmail,
# Exchange): what follows is our text, not the server's.
COPY_MARKER = re.compile(
    r"^[ \t]*(-{2,}[ \t]*(this is a copy of the message|below this line is a copy of the "
    r"message|original message|undelivered message headers)|original message headers:)",
    re.I | re.M)

# Keywords, tried in this order, when the text has no code at all: mailbox full first
# ("permanent error ... mailbox full" is a full mailbox), then unknown users, then
# policy blocks, then what only says temporary or permanent.
GUESSES = [
    (SOFT, re.compile(r"mailbox (is )?full|over ?quota|quota exceeded|exceeded storage|"
                      r"insufficient (system )?storage|邮箱已满|容量已满|空间不足|超出.{0,6}容量")),
    (HARD, re.compile(r"user unknown|unknown (user|recipient)|no such (user|mailbox|"
                      r"recipient|address|person)|mailbox (unavailable|not found|does not "
                      r"exist)|does ?n[o']t exist|no mailbox here|address couldn't be found|"
                      r"recipient (not found|unknown)|invalid (recipient|mailbox)|account "
                      r"(is |has been )?disabled|收件人不存在|用户不存在|查无此人|无此用户|"
                      r"(地址|邮箱|帐号|账号|帐户|账户)(不存在|已被?注销)|域名不存在")),
    (SOFT, re.compile(r"spam|blocked|blacklist|block ?list|垃圾邮件|拒收|拦截")),
    (SOFT, re.compile(r"temporar|try again later|deferred|delayed|not yet been delivered|"
                      r"will (be )?retr|still being retried|暂时|稍后")),
    (HARD, re.compile(r"permanent|given up|giving up|永久")),
]


@dataclass
class Bounce:
    """What a report says of one address."""
    address: str                 # lower-case; "" only for a complaint naming no one
    kind: str                    # soft, hard or complaint
    status: str = ""             # the enhanced status code, "" when none was given
    diagnostic: str = ""         # the server's words, one line, at most 500 characters
    message_ids: list = field(default_factory=list)   # of our original, without <>
    doubt: str = None            # one of DOUBTS when the reading is a guess


def classify(raw):
    """The Bounces a raw message (bytes) reports; [] for anything else, broken included."""
    try:
        message = _message(raw)
        return _classify(message) if message is not None else []
    except Exception:   # broad on purpose: no malformed report may stop the mail gateway
        log.warning("could not read a delivery report", exc_info=True)
        return []


def is_bounce_like(raw):
    """True for a message that looks like a bounce or a complaint, report or not."""
    try:
        message = _message(raw)
        return message is not None and _looks_like_bounce(message)
    except Exception:   # as classify: a broken message is simply not a bounce
        log.warning("could not read a message", exc_info=True)
        return False


def kind_of(status="", reply=""):
    """hard or soft by the enhanced status code, else by the SMTP reply code; None when
    neither says (no code, or a 2.x.x one)."""
    if status.startswith("4") or status == "5.2.2" or status.startswith("5.7."):
        return SOFT
    if status.startswith("5"):
        return HARD
    if reply.startswith("4") or reply == "552":    # 552: exceeded storage allocation
        return SOFT
    if reply.startswith("5"):
        return HARD
    return None


# -- the message ---------------------------------------------------------------------------

def _message(raw):
    if not isinstance(raw, (bytes, bytearray)) or not raw.strip():
        return None
    message = message_from_bytes(bytes(raw), policy=RAW)
    return message if message.keys() else None


def _classify(message):
    if _cut_short(message):
        return []
    if _report_type(message) == "feedback-report" or _parts(message, ARF_TYPES):
        return _complaints(message)
    blocks = [block for part in _parts(message, DSN_TYPES) for block in _blocks(part)]
    recipient_blocks = [block for block in blocks if _recipient_names(block)]
    if recipient_blocks:
        return _dsn_bounces(message, blocks, recipient_blocks)
    # A report with no recipient in it (a broken one), or no report at all: the text.
    if _looks_like_bounce(message):
        return _text_bounces(message)
    return []


def _cut_short(message):
    """A multipart without its closing boundary: a report cut short (a size limit, a
    failed fetch), whose last line may hold half an address; servers close their parts.
    The original it returns may well be cut (MTAs limit its size): not looked into."""
    return any(isinstance(defect, CloseBoundaryNotFoundDefect)
               for part in _walk(message) for defect in part.defects)


def _looks_like_bounce(message):
    if _report_type(message) in ("delivery-status", "feedback-report"):
        return True
    if _parts(message, DSN_TYPES + ARF_TYPES) or message.get("X-Failed-Recipients"):
        return True
    if any(address.partition("@")[0] in BOUNCE_SENDERS
           for address in _header_addresses(message, "From", "Sender")):
        return True
    if BOUNCE_SUBJECT.match(header_text(message.get("Subject"))):
        return True
    return bool(BOUNCE_PREAMBLE.search(_report_text(message)[:3000]))


def _report_type(message):
    if message.get_content_type() != "multipart/report":
        return None
    return str(message.get_param("report-type") or "").strip().lower()


def _walk(part):
    """The parts of a message, but not those inside the messages it returns: their
    words are ours, not the server's."""
    yield part
    if part.is_multipart() and part.get_content_maintype() != "message":
        for sub in part.get_payload():
            yield from _walk(sub)


def _parts(message, content_types):
    return [part for part in _walk(message) if part.get_content_type() in content_types]


def _decoded(part):
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    return decode_bytes(data, part.get_content_charset()).replace("\r\n", "\n")


def _report_text(message):
    """The words of the report: its text parts (its HTML as text when it has no plain
    text), neither attachments nor the returned original."""
    plain, html = [], []
    for part in _walk(message):
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "text/plain":
            plain.append(_decoded(part))
        elif part.get_content_type() == "text/html":
            html.append(html_to_text(_decoded(part)))
    texts = plain if any(text.strip() for text in plain) else html
    return "\n\n".join(texts)[:MAX_TEXT]


def _paragraphs(text):
    return [paragraph for paragraph in re.split(r"\n[ \t]*\n", text) if paragraph.strip()]


def _one_line(text, address=""):
    """Text as one line of at most MAX_DIAGNOSTIC characters, without the lines that
    only name the recipient (the bounce's heading, not the server's words)."""
    lines = [line for line in text.splitlines()
             if not address or line.strip(" \t<>():").lower() != address]
    return " ".join(" ".join(lines).split())[:MAX_DIAGNOSTIC]


def _header_addresses(message, *names):
    values = [header_text(value) for name in names for value in message.get_all(name) or []]
    return [address.strip().lower() for _name, address in getaddresses(values)
            if "@" in address]


# -- our original email --------------------------------------------------------------------

@dataclass
class _Original:
    ids: list          # Message-IDs, without <>
    recipients: set    # its To and Cc, lower-case; empty when not known


def _original(message, text, blocks=()):
    """Our email as the report returns or quotes it: Original-Message-ID fields, the
    returned message or its headers, else a Message-ID: line quoted in the text."""
    ids, recipients = [], set()
    for block in blocks:
        for name in ("Original-Message-ID", "X-Original-Message-ID"):
            ids += re.findall(r"<([^<>\s]+)>", header_text(block.get(name)))
    returned = [_returned(part) for part in _parts(message, RETURNED_TYPES)]
    quoted = _quoted_headers(text)
    for headers in [inner for inner in returned if inner is not None] + [quoted]:
        ids += re.findall(r"<([^<>\s]+)>", header_text(headers.get("Message-ID")))
        recipients.update(_header_addresses(headers, "To", "Cc"))
    ids += QUOTED_MESSAGE_ID.findall(text)
    return _Original(list(dict.fromkeys(ids)), recipients)


def _returned(part):
    if part.is_multipart():
        inner = part.get_payload()
        return inner[0] if inner else None
    data = part.get_payload(decode=True)
    return message_from_bytes(data, policy=RAW) if isinstance(data, bytes) else None


def _quoted_headers(text):
    """The headers of the original a plain-text bounce quotes after its marker line
    (an empty message when it quotes none)."""
    match = COPY_MARKER.search(text)
    if not match:
        return message_from_string("")
    after = text[match.end():].partition("\n")[2]
    return message_from_string(textwrap.dedent(after.lstrip("\n")), policy=RAW)


def _doubt_of_original(original, names):
    if original.recipients and not original.recipients & set(names):
        return NOT_IN_ORIGINAL
    return None if original.ids else NO_ORIGINAL


def _first(*doubts):
    return next((doubt for doubt in doubts if doubt), None)


# -- RFC 3464 delivery reports -------------------------------------------------------------

def _blocks(part):
    """The field blocks of a delivery-status part: the parser splits them itself, but
    leaves a message/global-delivery-status (or an encoded one) as text."""
    payload = part.get_payload()
    if isinstance(payload, str):
        return _split_blocks(payload)
    blocks = []
    for block in payload:
        blocks.append(block)
        rest = block.get_payload()
        if isinstance(rest, str) and rest.strip():
            blocks += _split_blocks(rest)
    return blocks


def _split_blocks(text):
    text = decode_bytes(text.encode("utf-8", "surrogateescape")).replace("\r\n", "\n")
    return [message_from_string(chunk.strip("\n") + "\n", policy=RAW)
            for chunk in re.split(r"\n[ \t]*\n", text) if chunk.strip()]


def _recipient_names(block):
    """A block's recipient addresses, the original one first (the address we sent to;
    the final one may be where it was forwarded)."""
    names = []
    for name in ("Original-Recipient", "Final-Recipient"):
        address = header_text(block.get(name)).rpartition(";")[2].strip(" <>").lower()
        if "@" in address and address not in names:
            names.append(address)
    return names


def _dsn_bounces(message, blocks, recipient_blocks):
    text = _report_text(message)
    original = _original(message, text, blocks)
    bounces = {}
    for block in recipient_blocks:
        bounce = _dsn_bounce(block, text, original)
        if bounce is not None and bounce.address not in bounces:
            bounces[bounce.address] = bounce
    return list(bounces.values())


def _dsn_bounce(block, text, original):
    names = _recipient_names(block)
    action = (header_text(block.get("Action")).lower().split() or [""])[0]
    if action in ("delivered", "relayed", "expanded"):
        return None
    diagnostic = _diagnostic(header_text(block.get("Diagnostic-Code")))
    status = _status(header_text(block.get("Status")), diagnostic)
    replies = REPLY_IN_TEXT.findall(diagnostic)
    reply = replies[0] if replies else ""
    doubt = None
    if action == "delayed":
        kind = SOFT
    elif action == "failed":
        kind = kind_of(status, reply)
        if kind is None:
            kind, doubt = (_guess(diagnostic, *_own_paragraphs(text, names)) or HARD,
                           NO_STATUS)
    else:   # no Action, or one RFC 3464 does not know: the code alone decides
        kind, doubt = kind_of(status, reply), NO_ACTION
        if kind is None:
            return None
    if not diagnostic:   # the report's words for this recipient then
        own = _own_paragraphs(text, names)
        diagnostic = _one_line(own[0], names[0]) if own else ""
    return Bounce(names[0], kind, status if status.startswith(("4", "5")) else "",
                  diagnostic[:MAX_DIAGNOSTIC], original.ids,
                  _first(doubt, _doubt_of_original(original, names)))


def _diagnostic(value):
    """A Diagnostic-Code without its type ("smtp; ") and without the code repeated on
    each line of a multi-line reply ("550-5.1.1 ... 550-5.1.1 ... 550 5.1.1 ...")."""
    text = re.sub(r"^[A-Za-z0-9-]+\s*;\s*", "", value.strip())
    prefix = REPLY_PREFIX.match(text)
    if prefix:
        repeated = re.compile(rf"\s{prefix.group(1)}[ -]{re.escape(prefix.group(2))}\s+")
        text = text[:prefix.end()] + repeated.sub(" ", text[prefix.end():])
    return " ".join(text.split())


def _status(field_value, diagnostic):
    """The Status field's code; when it only gives the class (5.0.0), the more precise
    one of the server's words (552 5.2.2 mailbox full) if it has one of the same class."""
    found = STATUS_FIELD.findall(field_value)
    status = found[0] if found else ""
    precise = STATUS_IN_TEXT.findall(diagnostic)
    if precise and (not status or (status.endswith(".0.0") and precise[0][0] == status[0])):
        return precise[0]
    return status


def _own_paragraphs(text, names):
    return [paragraph for paragraph in _paragraphs(text)
            if any(name in paragraph.lower() for name in names)]


def _guess(*texts):
    for kind, pattern in GUESSES:
        if any(pattern.search(text.lower()) for text in texts):
            return kind
    return None


# -- RFC 5965 feedback reports -------------------------------------------------------------

def _complaints(message):
    fields = {}
    for part in _parts(message, ARF_TYPES):
        for block in _blocks(part):
            for name in block.keys():
                fields.setdefault(name.lower(), []).extend(
                    header_text(value) for value in block.get_all(name))
    feedback_type = ((fields.get("feedback-type") or [""])[0].lower().split() or [""])[0]
    if feedback_type in NOT_COMPLAINTS:
        return []
    text = _report_text(message)
    original = _original(message, text)
    addresses = [address.lower() for _name, address in getaddresses(
        fields.get("original-rcpt-to", [])) if "@" in address]
    doubt = None if feedback_type in CERTAIN_COMPLAINTS else UNCLEAR_FEEDBACK
    if not addresses:   # who complained: the one the original was sent to
        addresses = sorted(original.recipients)
        if len(addresses) > 1:
            doubt = _first(doubt, WHICH_RECIPIENT)
    diagnostic = _one_line(text) or f"Feedback-Type: {feedback_type}"
    if not addresses:
        # Some providers hide the recipient; our Message-ID still tells who it was.
        return [Bounce("", COMPLAINT, "", diagnostic, original.ids,
                       _first(doubt, NO_RECIPIENT))] if original.ids else []
    return [Bounce(address, COMPLAINT, "", diagnostic, original.ids,
                   _first(doubt, _doubt_of_original(original, [address])))
            for address in dict.fromkeys(addresses)]


# -- plain-text bounces --------------------------------------------------------------------

def _text_bounces(message):
    text = _report_text(message)
    marker = COPY_MARKER.search(text)
    report = text[:marker.start()] if marker else text
    original = _original(message, text)
    recipients = _header_addresses(message, "X-Failed-Recipients") \
        or _text_recipients(report, _our_addresses(message))
    return [_text_bounce(address, report, len(recipients) == 1, original)
            for address in dict.fromkeys(recipients)]


def _our_addresses(message):
    """The addresses of the bounce's own headers: ours (its To) and the server's."""
    return set(_header_addresses(message, "From", "Sender", "To", "Cc", "Return-Path",
                                 "Delivered-To", "X-Original-To", "Envelope-To"))


def _text_recipients(report, ours):
    found = []
    for line in report.splitlines():
        if NOT_RECIPIENT_LINE.match(line):
            continue
        for address in ADDRESS.findall(line):
            address = address.lower()
            if address not in ours and address.partition("@")[0] not in BOUNCE_SENDERS \
                    and address not in found:
                found.append(address)
    return found


def _text_bounce(address, report, single, original):
    """One recipient of a plain-text bounce: the code of the paragraphs that name it
    (or, when it is the only recipient, of any paragraph), else a guess from words."""
    own = _own_paragraphs(report, [address])
    evidence = own + (_paragraphs(report) if single else [])
    doubt = _doubt_of_original(original, [address])
    for paragraph in evidence:
        statuses = STATUS_IN_TEXT.findall(paragraph)
        replies = REPLY_IN_TEXT.findall(paragraph)
        kind = kind_of(statuses[0] if statuses else "", replies[0] if replies else "")
        if kind is not None:
            return Bounce(address, kind, statuses[0] if statuses else "",
                          _one_line(paragraph, address), original.ids, doubt)
    for paragraph in evidence:
        kind = _guess(paragraph)
        if kind is not None:
            return Bounce(address, kind, "", _one_line(paragraph, address), original.ids,
                          NO_STATUS)
    # A bounce that names the address but says nothing we understand: soft, so that one
    # strange report never stops the mail of a good address.
    return Bounce(address, SOFT, "", _one_line(own[0], address) if own else "",
                  original.ids, NO_STATUS)
