"""The company's own details, printed on every document (quotes, contracts, orders):
name, address, contact details, tax number, bank account and logo. Edited by
administrators on Settings > Company; kept in the database like addon settings.

    from core import company
    pdf.render("crm_sales/quote.html", company=company.details(), ...)
"""
import base64

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core import options
from core.db import db
from core.models import Option

OPTION_ADDON = "core.company"
FIELDS = {
    "name": _l("Company name"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "website": _l("Website"),
    "tax_number": _l("Tax number"),
    "bank_account": _l("Bank and account"),
}
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
