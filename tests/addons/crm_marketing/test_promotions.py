"""Promotions (crm_marketing.promotions): the form's checks with their messages on the
field (dates in order, percentages 0 to 100, on the promotion and its lines), and
``items_of``, which the Sales bridge turns into a price list."""
import re
from decimal import Decimal

from addons.crm_marketing.promotions import Promotion, items_of
from core.db import db
from tests.addons.crm_marketing.marketing_helpers import app_of, user

NEW = "/admin/promotion/new/"
PROMOTION = {"name": "Spring sale", "starts_on": "2026-03-01", "ends_on": "2026-03-31",
             "discount_percent": "10",
             "items-0-product_code": "P-100", "items-0-product_name": "打印机",
             "items-0-discount_percent": "",
             "items-1-product_code": "P-200", "items-1-product_name": "Toner",
             "items-1-discount_percent": "25.5"}


def field_errors(response, field):
    """The messages shown under one field of the form."""
    page = response.get_data(as_text=True)
    start = page.find(f'id="{field}"')
    assert start >= 0, field
    block = page[start:page.find('class="form-group', start)]
    return [" ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in re.findall(
        r'class="invalid-feedback[^"]*">(.*?)</div>', block, re.S)]


def promotions(suite):
    return suite.sql("SELECT name, starts_on, ends_on, discount_percent FROM mkt_promotion")


def test_promotion_with_lines_and_items_of(marketing_suite):
    mia, _mia_id = user(marketing_suite, "mia", "marketing_user")
    response = mia.post_form(NEW, PROMOTION, token_from=NEW)
    assert response.status_code == 302
    promotion_id = marketing_suite.sql("SELECT id FROM mkt_promotion")[0][0]
    assert marketing_suite.sql("SELECT product_code, discount_percent FROM mkt_promotion_item "
                               "ORDER BY id") == [("P-100", None), ("P-200", Decimal("25.50"))]
    with app_of(marketing_suite):
        promotion = db.session.get(Promotion, promotion_id)
        assert items_of(promotion) == [("P-100", "打印机", Decimal("10")),
                                       ("P-200", "Toner", Decimal("25.5"))]
        assert all(isinstance(percent, Decimal) for _code, _name, percent in items_of(promotion))
        # The promotion's percent changed: lines without their own follow it.
        promotion.discount_percent = Decimal("12.5")
        promotion.items[1].product_name = None
        assert items_of(promotion) == [("P-100", "打印机", Decimal("12.5")),
                                       ("P-200", "", Decimal("25.5"))]
        db.session.rollback()
    # The record page lists the lines with the percent each gets.
    page = mia.get(f"/admin/promotion/details/?id={promotion_id}").get_data(as_text=True)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page[page.find("crm-promotion-items"):])
    assert cells[:6] == ["P-100", "打印机", "10.00", "P-200", "Toner", "25.50"]


def test_dates_and_percentages_are_checked_on_their_fields(marketing_suite):
    mia, _mia_id = user(marketing_suite, "mia", "marketing_user")
    backwards = mia.post_form(NEW, dict(PROMOTION, ends_on="2026-02-28"), token_from=NEW)
    assert backwards.status_code == 200
    assert field_errors(backwards, "ends_on") == ["The end comes before the start."]
    for percent in ("100.01", "-1"):
        refused = mia.post_form(NEW, dict(PROMOTION, discount_percent=percent), token_from=NEW)
        assert field_errors(refused, "discount_percent") == ["A percentage from 0 to 100."]
    # A line's percent too; every message shows at once.
    both = mia.post_form(NEW, dict(PROMOTION, ends_on="2026-02-28",
                                   **{"items-1-discount_percent": "150"}), token_from=NEW)
    assert field_errors(both, "items-1-discount_percent") == ["A percentage from 0 to 100."]
    assert field_errors(both, "ends_on") == ["The end comes before the start."]
    assert promotions(marketing_suite) == []
    assert marketing_suite.sql("SELECT count(*) FROM mkt_promotion_item") == [(0,)]
    # The edges are allowed: a one-day promotion, 0 % and 100 %.
    same_day = dict(PROMOTION, ends_on="2026-03-01", discount_percent="100",
                    **{"items-1-discount_percent": "0"})
    assert mia.post_form(NEW, same_day, token_from=NEW).status_code == 302
    assert len(promotions(marketing_suite)) == 1
