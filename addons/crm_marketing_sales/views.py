"""The page behind a promotion's "Make a price list" button (hooks.py).

It lives on a screen of price lists that has no menu entry (Sales > Catalogue > Price
lists is the one people use): a manifest's pages belong to a screen, and this one
checks the rights on price lists like every other."""
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from addons.crm_contacts.models import GRADES
from addons.crm_marketing_sales.pricelists import make_price_list, promotion_lines
from addons.crm_sales import money
from core import permissions, record
from core.admin import ModelView
from core.db import db
from core.util import int_ids


class PriceListForm(FlaskForm):
    name = StringField(_l("Name of the price list"), validators=[DataRequired(), Length(max=100)])
    grade = SelectField(_l("For customers of grade"), choices=[(grade, grade) for grade in GRADES])


class PromotionPriceListView(ModelView):
    column_list = ["name", "grade", "customer", "valid_from", "valid_to", "active"]
    allow_create = allow_edit = allow_delete = allow_import = allow_export = False

    def is_visible(self):
        return False   # reached from a promotion's page

    @expose("/make/", methods=("GET", "POST"))
    def make(self):
        if not self.permits("c"):
            abort(403)
        promotion = readable_promotion(request.args.get("promotion", ""))
        form = PriceListForm(data={"name": promotion.name[:100]})
        if form.validate_on_submit():
            price_list, missing = make_price_list(promotion, form.name.data.strip(),
                                                  form.grade.data)
            if price_list is None:
                flash(_("None of the promotion's products is in the catalogue: no price list "
                        "was made."), "error")
            else:
                db.session.commit()
                flash(_("Price list made with %(count)d products.",
                        count=len(price_list.items)), "success")
                if missing:
                    flash(_("Not in the catalogue, left out: %(codes)s.", codes=", ".join(
                        code for code, _name, _percent, _product, _price in missing)), "warning")
                return redirect(url_for("price_list.details_view", id=price_list.id))
        return self.render("crm_marketing_sales/price_list_form.html", form=form,
                           promotion=promotion, lines=promotion_lines(promotion),
                           amount=money.cents,
                           back=record.url_of(promotion) or url_for("price_list.index_view"))


def readable_promotion(value):
    """The promotion of id ``value``, or 404 (also to a user who may not read
    promotions: the same answer for "none" and "not yours")."""
    from addons.crm_marketing.promotions import Promotion   # (only with its promotions)
    ids = int_ids([value])
    if not ids or not permissions.permits(current_user, "Promotion", "r"):
        abort(404)
    promotion = db.session.scalar(permissions.apply_rules(
        db.select(Promotion).where(Promotion.id == ids[0]), Promotion))
    if promotion is None:
        abort(404)
    return promotion
