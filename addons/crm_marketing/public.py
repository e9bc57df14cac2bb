"""The links of marketing e-mails, for people with no login (/m/...).

- Unsubscribe (RFC 8058): a POST to the link unsubscribes at once, with no login, no
  token of a form and no further step (mail programs' one-click button, the page's
  button); a GET only shows the page with that button, so a link scanner opening the
  link unsubscribes no one.
- The open pixel and the click link record the first open and click. A click link
  redirects only to the address it was signed with when the message was made: no one
  can make our site redirect elsewhere.

Every token is signed with the site's secret for one recipient and one purpose (see
mailtext.signed); a forged token gets 404, a replayed one changes nothing more."""
import base64

from flask import Blueprint, abort, make_response, render_template, request
from sqlalchemy import select

from addons.crm_marketing import mailtext
from addons.crm_marketing.responses import responded
from addons.crm_marketing.models import CampaignResponse, Mailing, Recipient, Suppression
from core.db import db, dialect_insert
from core.security import external_redirect
from core.models import utcnow

blueprint = Blueprint("crm_marketing_public", __name__, url_prefix="/m")

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def recipient_of(token, *purpose):
    recipient_id = mailtext.verified(token, *purpose)
    recipient = db.session.get(Recipient, recipient_id) if recipient_id else None
    if recipient is None:
        abort(404)
    return recipient


@blueprint.route("/u/<token>", methods=("GET", "POST"))
def unsubscribe(token):
    recipient = recipient_of(token, "unsubscribe")
    done = False
    if request.method == "POST":
        unsubscribe_address(recipient)
        db.session.commit()
        done = True
    else:
        done = db.session.scalar(select(Suppression.id).where(
            Suppression.address == recipient.address_key)) is not None
    response = make_response(render_template(
        "crm_marketing/unsubscribe.html", email=recipient.email, done=done))
    response.headers.update(NO_STORE)
    return response


def unsubscribe_address(recipient):
    """Put the recipient's address on the suppression list (once), and say so on the
    recipient's row (unless it bounced or complained, which says more)."""
    db.session.execute(dialect_insert(Suppression).values(
        address=recipient.address_key, reason="unsubscribed", added_at=utcnow(),
        mailing_id=recipient.mailing_id).on_conflict_do_nothing())
    if recipient.state in ("sent", "queued", "claimed"):
        recipient.state = "unsubscribed" if recipient.state == "sent" else "failed"
        if recipient.state == "failed":
            recipient.error = "unsubscribed before it was sent"


@blueprint.route("/o/<token>.gif")
def opened(token):
    recipient = recipient_of(token, "open")
    if recipient.opened_at is None:
        recipient.opened_at = utcnow()
        db.session.commit()
    response = make_response(PIXEL)
    response.headers.update(NO_STORE, **{"Content-Type": "image/gif"})
    return response


@blueprint.route("/c/<token>")
def click(token):
    url = request.args.get("u", "")
    recipient = recipient_of(token, "click", url)
    now = utcnow()
    if recipient.clicked_at is None:
        recipient.clicked_at = now
        recipient.opened_at = recipient.opened_at or now
        mailing = db.session.get(Mailing, recipient.mailing_id)
        if mailing.campaign_id is not None:
            response = CampaignResponse(
                campaign_id=mailing.campaign_id, kind="click", responded_at=now,
                customer_id=recipient.customer_id, contact_id=recipient.contact_id,
                name=recipient.name, email=recipient.email, phone=recipient.phone,
                note=url[:1000])
            db.session.add(response)
            responded(response)
        db.session.commit()
    # The one redirect off the site: signed with the message's address (no open redirect).
    response = external_redirect(url)
    response.headers.update(NO_STORE)
    return response
