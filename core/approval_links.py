"""The approve and reject links of approval emails: /approval/<token>, no login needed.

Opening a link decides nothing (mail scanners and link previews fetch it): it shows the
record, the policy, the step and the decision, with a comment box and a button that
posts the decision, with the CSRF token of the session the page started. The token is
signed with the site's secret and names one link row, used once and expiring
(core.approvals.read_link, use_link): a replayed, altered or expired link is refused
and changes nothing. The page acts for the link's user only, and speaks their language.
"""
from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _
from itsdangerous import BadSignature

from core import approvals, auth, notifications
from core.db import db
from core.i18n import label
from core.models import ApprovalLink, ApprovalRequest, User
from core.workflow import Refused

blueprint = Blueprint("approval_links", __name__, url_prefix="/approval")
TOKEN_LENGTH = 500   # longer than any token the site signs


@blueprint.before_request
def act_for_no_one():
    """Even in a signed-in browser: what this page does is the link's user's doing."""
    g._login_user = auth.login_manager.anonymous_user()


@blueprint.route("/<token>", methods=("GET", "POST"))
def confirm(token):
    try:
        if len(token) > TOKEN_LENGTH:
            raise Refused(_("This link is not valid."))
        link, decision = approvals.read_link(token)
    except Refused as exc:
        return refused(str(exc), 400 if is_altered(token) else 410)
    user = db.session.get(User, link.user_id)
    found = db.session.get(ApprovalRequest, link.request_id)
    with notifications.in_language(user):
        if found.state != "pending" or found.step != link.step:
            return refused(_("This step was decided already."), 410)
        record = approvals.record_of(found)
        if user is None or not user.active or record is None:
            return refused(_("This link is not valid."), 400)
        facts = {"record": approvals.describe_record(record), "policy": label(found.policy_name),
                 "step": label(approvals.steps_of(found)[found.step]["name"]),
                 "link": notifications.record_link(found.model, found.record_id)}
        if request.method != "POST":   # GET, or HEAD: never a decision
            return page(facts, decision, ask=True)
        comment = request.form.get("comment", "")[:4000]
        g.acting_user_id = user.id   # the audit trail names them
        try:
            approvals.use_link(token, comment)
            db.session.commit()
        except Refused as exc:
            db.session.rollback()   # the link too stays unused
            if decision == "reject" and not comment.strip():
                return page(facts, decision, ask=True, status=400, message=str(exc))
            return refused(str(exc), 410)
        return page(facts, decision, done=True, message=(
            _("Thank you: you approved it.") if decision == "approve"
            else _("Thank you: you rejected it.")))


def is_altered(token):
    """Is ``token`` not one the site signed (or for no link it has)? Then 400; a used or
    expired link of ours is gone (410)."""
    try:
        payload = approvals.serializer().loads(token)
    except BadSignature:
        return True
    return not isinstance(payload, dict) or db.session.get(
        ApprovalLink, str(payload.get("link", ""))) is None


def page(facts, decision, ask=False, done=False, message=None, status=200):
    return render_template("core/approval_link.html", facts=facts, decision=decision,
                           ask=ask, done=done, message=message,
                           comment=request.form.get("comment", "")), status


def refused(message, status):
    return render_template("core/approval_link.html", facts=None, decision=None, ask=False,
                           done=False, message=message, comment=""), status
