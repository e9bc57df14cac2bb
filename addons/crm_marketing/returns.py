"""What comes back from a mailing: delivery reports and spam complaints (through the
core's mail gateway: ``python run.py mail-in`` or the IMAP fetch), and unsubscribe
requests sent by e-mail to the List-Unsubscribe mailto address.

A report acts only when it is clear: it names one of our messages (by its signed
Message-ID) and carries a status, or is a complaint. Anything less (no message of ours,
a status guessed from the text) is kept "to review": a person applies or dismisses it
on Marketing > Configuration > Delivery reports, so a strange message never suppresses
anyone blindly. Rules, as listmonk's: a hard bounce or a complaint suppresses the
address at once; soft bounces do, after as many as the setting says (0: never)."""
import re

from sqlalchemy import func, select

from addons.crm_marketing import bounces, mailtext
from addons.crm_marketing.models import BounceReport, Recipient, Suppression
from addons.crm_marketing.public import unsubscribe_address
from core import hooks, options
from core.i18n import mark
from core.db import db, dialect_insert
from core.models import utcnow

OUR_ID = re.compile(r"<?mkt-(\d+\.[0-9a-f]{20})@")
UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+(\d+\.[0-9a-f]{20})\b", re.IGNORECASE)
SUPPRESSING = {"hard": "hard bounce", "complaint": "complaint"}
RECIPIENT_STATE = {"hard": "bounced", "complaint": "complained"}
NO_MESSAGE = mark("the report names none of our messages")


def our_recipient(message_ids):
    """The recipient row one of ``message_ids`` (a mailing's Message-IDs) names."""
    for value in message_ids:
        match = OUR_ID.search(value or "")
        recipient_id = mailtext.verified(match.group(1), "message") if match else None
        if recipient_id is not None:
            return db.session.get(Recipient, recipient_id)
    return None


def take_report(raw, extra_ids=()):
    """Classify a delivery report or complaint; record each finding, acting on the
    clear ones. Returns the BounceReport rows (the caller commits)."""
    made = []
    for found in bounces.classify(raw):
        recipient = our_recipient([*found.message_ids, *extra_ids])
        doubt = found.doubt
        if recipient is not None and found.kind == "complaint" and not found.address:
            # A complaint that hides the address but names our (signed) message: the
            # message says whom it was sent to.
            found.address, doubt = recipient.address_key, None
        if not found.address:
            continue
        if recipient is not None and recipient.address_key != found.address:
            recipient = None
        doubt = doubt or (None if recipient is not None else NO_MESSAGE)
        report = BounceReport(email=found.address[:254], kind=found.kind,
                              status=found.status[:20] or None,
                              diagnostic=found.diagnostic[:500] or None,
                              recipient=recipient, doubt=doubt and doubt[:200],
                              decision="to review" if doubt else "applied")
        db.session.add(report)
        if not doubt:
            apply(report)
        made.append(report)
    return made


def apply(report):
    """Act on a report: the recipient's state, and the suppression list when the rules
    say so."""
    report.decision = "applied"
    recipient = report.recipient
    if recipient is not None and report.kind in RECIPIENT_STATE:
        recipient.state = RECIPIENT_STATE[report.kind]
    reason = SUPPRESSING.get(report.kind)
    if reason is None:
        limit = int(options.get("crm_marketing", "soft_bounce_limit") or 0)
        db.session.flush()
        soft = db.session.scalar(select(func.count()).where(
            BounceReport.email == report.email, BounceReport.kind == "soft",
            BounceReport.decision == "applied"))
        reason = "hard bounce" if limit and soft >= limit else None
    if reason is not None:
        db.session.execute(dialect_insert(Suppression).values(
            address=report.email, reason=reason, added_at=utcnow(),
            mailing_id=recipient.mailing_id if recipient is not None else None,
            note=(report.diagnostic or "")[:500]).on_conflict_do_nothing())


@hooks.connect("mail.bounce")
def on_report(incoming, failed_recipients=()):
    take_report(incoming.raw, incoming.original_ids)


@hooks.connect("mail.received")
def on_mail(incoming):
    """An unsubscribe by e-mail (the List-Unsubscribe mailto), or a bounce that is not
    a standard report but names one of our messages."""
    match = UNSUBSCRIBE_SUBJECT.search(incoming.subject or "")
    recipient_id = mailtext.verified(match.group(1), "unsubscribe") if match else None
    recipient = db.session.get(Recipient, recipient_id) if recipient_id else None
    if recipient is not None:
        unsubscribe_address(recipient)
        return ("Recipient", recipient.id)
    if OUR_ID.search(incoming.raw.decode("latin-1")) \
            and bounces.is_bounce_like(incoming.raw):
        made = take_report(incoming.raw, incoming.original_ids)
        if made:
            db.session.flush()
            return ("BounceReport", made[0].id)
    return None
