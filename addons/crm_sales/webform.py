"""The public web-to-lead endpoint: /public/lead/<token>.

A company's website posts its contact form here (the snippet on the web form's page),
or links to the form this page hosts. No login and no CSRF token (other sites post to
it): the per-form token says which form, an unknown or inactive one answers 404 and
creates nothing; a hidden "website" field that people leave empty catches robots; and a
rate limit per visitor address and form caps what one address can send."""
import re
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from addons.crm_sales.leads import EMAIL, assign, is_web_address
from addons.crm_sales.models import Lead, WebForm
from core import options, ratelimit
from core.security import external_redirect
from core.db import db

blueprint = Blueprint("crm_sales_public", __name__, url_prefix="/public")

HONEYPOT = "website"
MESSAGE_LENGTH = 5000
# The fields of the form, with the most characters each: the lengths of the Lead
# columns they go into (the message goes into the description).
FIELDS = {"name": 100, "company": 200, "email": 254, "phone": 40, "message": MESSAGE_LENGTH}


# -- the pages ------------------------------------------------------------------------------

@blueprint.route("/lead/<token>", methods=("GET", "POST"))
def lead_form(token):
    form = active_form(token)
    if request.method == "GET":
        return page("crm_sales/webform_form.html", form, values={}, errors=[])
    if not rate_limit_allows(form):
        return page("crm_sales/webform_refused.html", form, status=429, message=_(
            "Too many messages from your address. Please try again later."))
    if request.form.get(HONEYPOT, "").strip():
        return thanks(form)   # a robot: it sees success, nothing is kept
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    errors = problems(values)
    if errors:
        return page("crm_sales/webform_form.html", form, status=400, values=values,
                    errors=errors)
    lead = Lead(name=values["name"], company=values["company"] or None,
                email=values["email"] or None, phone=values["phone"] or None,
                description=values["message"] or None, status="new",
                source_id=form.source_id, web_form=form)
    db.session.add(lead)
    assign(db.session, lead)
    db.session.commit()
    return thanks(form)


def active_form(token):
    """The active form with this token, or 404: a forged or retired token is refused
    exactly like a page that does not exist."""
    if not token or len(token) > 64:
        abort(404)
    form = db.session.scalar(select(WebForm).where(WebForm.token == token,
                                                   WebForm.active.is_(True)))
    if form is None:
        abort(404)
    return form


def problems(values):
    """What is wrong with a post, as messages for the visitor."""
    found = []
    if not values["name"]:
        found.append(_("Please give your name."))
    if values["email"] and not EMAIL.match(values["email"]):
        found.append(_("The email address does not look right."))
    labels = {"name": _("Your name"), "company": _("Company name"), "email": _("Email"),
              "phone": _("Phone"), "message": _("Message")}
    for name, most in FIELDS.items():
        if len(values[name]) > most:
            found.append(_("%(field)s: at most %(count)d characters.", field=labels[name],
                           count=most))
    return found


def thanks(form):
    """The form's own thank-you page on the website, or ours."""
    if form.thanks_url and is_web_address(form.thanks_url):
        return external_redirect(form.thanks_url, 303)
    return page("crm_sales/webform_thanks.html", form)


def page(template, form, status=200, **context):
    response = current_app.make_response((render_template(
        template, web_form=form, site_name=current_app.extensions["crm"].settings.site_name,
        **context), status))
    g.crm_sales_thanks_origin = origin(form.thanks_url)
    return response


@blueprint.errorhandler(404)
def not_found(_error):
    return render_template("crm_sales/webform_refused.html", web_form=None,
                           site_name=current_app.extensions["crm"].settings.site_name,
                           message=_("This form does not exist or is no longer in use.")), 404


# -- the rate limit ----------------------------------------------------------------------------

def rate_limit_allows(form):
    """Count this post against the visitor's address for this form; False when the
    address has sent more than the setting allows in the last hour (core.ratelimit:
    Redis-backed when [security] ratelimit_storage says so)."""
    return ratelimit.allows("web_lead", form.id,
                            per_hour=options.get("crm_sales", "web_leads_per_hour"))


# -- headers: these pages may be shown inside the company's website -----------------------

def origin(url):
    """scheme://host[:port] of an http(s) address, or None (also for anything that
    could break out of a header value)."""
    if not url or not is_web_address(url):
        return None
    parts = urlsplit(url)
    if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


@blueprint.after_request
def embeddable(response):
    """Runs before the core's after_request, which only fills in headers still missing:
    a policy that lets other sites frame these pages (frame-ancestors present, so
    browsers ignore the core's X-Frame-Options), no scripts at all, and the form may
    lead on to the form's thank-you page on the website."""
    form_action = " ".join(filter(None, ["'self'", g.get("crm_sales_thanks_origin")]))
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"font-src 'self' data:; base-uri 'none'; form-action {form_action}; "
        "frame-ancestors *")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
