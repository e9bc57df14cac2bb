"""Product promotions (产品促销): a discount on some products for a period, perhaps part
of a campaign. The promotion's percent applies to each of its lines unless a line
gives its own.

Marketing only describes the promotion; with Sales enabled, the bridge addon
(crm_marketing_sales) makes a price list of it from ``items_of``."""
from decimal import Decimal

from flask import render_template
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms.validators import InputRequired, NumberRange, Optional

from addons.crm_marketing.models import Campaign
from core.admin import ModelView
from core.db import db
from core.i18n import mark

PERCENT = db.Numeric(5, 2)
PERCENT_MESSAGE = _l("A percentage from 0 to 100.")


class Promotion(db.Model):
    """A discount on products from one date to another."""

    __tablename__ = "mkt_promotion"
    __label__ = mark("Promotion")
    __table_args__ = (
        db.CheckConstraint("discount_percent >= 0 AND discount_percent <= 100",
                           name="ck_mkt_promotion_percent"),
        db.Index("ix_mkt_promotion_period", "starts_on", "ends_on"),
    )
    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="SET NULL"), index=True)
    campaign = db.relationship(Campaign, info={"label": _l("Campaign")})
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    starts_on = db.Column(db.Date, nullable=False, info={"label": _l("Starts on")})
    ends_on = db.Column(db.Date, nullable=False, info={"label": _l("Ends on")})
    discount_percent = db.Column(PERCENT, nullable=False, default=0,
                                 info={"label": _l("Discount %")})
    description = db.Column(db.Text, info={"label": _l("Description")})
    items = db.relationship("PromotionItem", back_populates="promotion",
                            cascade="all, delete-orphan", passive_deletes=True,
                            order_by="PromotionItem.id", info={"label": _l("Products")})

    def __str__(self):
        return self.name


class PromotionItem(db.Model):
    """A product of a promotion, by its code and name; its own percent, if given,
    overrides the promotion's."""

    __tablename__ = "mkt_promotion_item"
    __label__ = mark("Promotion product")
    __table_args__ = (
        db.CheckConstraint("discount_percent IS NULL OR (discount_percent >= 0 "
                           "AND discount_percent <= 100)", name="ck_mkt_promotion_item_percent"),
    )
    id = db.Column(db.Integer, primary_key=True)
    promotion_id = db.Column(db.ForeignKey("mkt_promotion.id", ondelete="CASCADE"),
                             nullable=False, index=True)
    promotion = db.relationship(Promotion, back_populates="items",
                                info={"label": _l("Promotion")})
    product_code = db.Column(db.String(64), nullable=False, index=True,
                             info={"label": _l("Product code")})
    product_name = db.Column(db.String(200), info={"label": _l("Product name")})
    discount_percent = db.Column(PERCENT, info={"label": _l("Discount %")})

    def __str__(self):
        return " ".join(part for part in (self.product_code, self.product_name) if part)


def items_of(promotion):
    """[(product code, product name, percent)] of a promotion's lines, in their order,
    the promotion's percent filled in where a line has none (a Decimal either way)."""
    default = Decimal(promotion.discount_percent or 0)
    return [(item.product_code, item.product_name or "",
             default if item.discount_percent is None else Decimal(item.discount_percent))
            for item in promotion.items]


class ItemInline(InlineFormAdmin):
    form_columns = ["id", "product_code", "product_name", "discount_percent"]
    form_args = {"product_code": {"validators": [InputRequired()]},
                 "discount_percent": {
                     "description": _l("Empty: the promotion's percent."),
                     "validators": [Optional(), NumberRange(0, 100, PERCENT_MESSAGE)]}}


class PromotionView(ModelView):
    column_list = ["name", "campaign", "starts_on", "ends_on", "discount_percent"]
    column_searchable_list = ["name"]
    column_filters = ["starts_on", "ends_on", "discount_percent", "campaign.name"]
    column_sortable_list = ["name", "starts_on", "ends_on", "discount_percent",
                            ("campaign", "campaign.name")]
    column_labels = {"campaign.name": _l("Campaign")}
    column_default_sort = ("starts_on", True)
    form_columns = ["name", "campaign", "starts_on", "ends_on", "discount_percent",
                    "description"]
    column_details_list = ["name", "campaign", "starts_on", "ends_on", "discount_percent",
                           "description"]
    inline_models = [ItemInline(PromotionItem)]
    form_args = {"discount_percent": {"validators": [InputRequired(), NumberRange(
        0, 100, PERCENT_MESSAGE)]}}
    form_ajax_refs = {"campaign": {"fields": ["name"], "page_size": 10}}

    def validate_form(self, form):
        valid = super().validate_form(form)
        # Checked whatever else is wrong, so that every message shows at once.
        start = getattr(form, "starts_on", None)
        end = getattr(form, "ends_on", None)
        if start is not None and end is not None and start.data and end.data \
                and end.data < start.data:
            end.errors = [*end.errors, _("The end comes before the start.")]
            return False
        return valid

    def detail_panels(self, promotion):
        """The products with the percent each gets (the promotion's where a line gives
        none), as a price list made from the promotion would have them."""
        html = render_template("crm_marketing/promotion_items.html", items=items_of(promotion))
        return [{"title": _("Products"), "order": 10, "html": Markup(html)}] + \
            super().detail_panels(promotion)
