"""A price list made from a promotion: valid from the promotion's first day to its last,
for the customers of one grade (a Sales price list is for a grade or for one customer;
a newer list of the grade wins over the year's list while the promotion runs), each of
the promotion's products, found in the catalogue by its code, at its price less the
promotion's percent."""
from decimal import Decimal

from sqlalchemy import func, select

from addons.crm_sales import money
from addons.crm_sales.models import PriceList, PriceListItem, Product
from core.db import db

HUNDRED = Decimal(100)


def promotion_lines(promotion):
    """[(code, name, percent, product or None, price or None)] of the promotion's
    products, in its order; a code given twice counts the first time."""
    from addons.crm_marketing.promotions import items_of   # (only with its promotions)
    items = items_of(promotion)
    codes = {code.strip().upper() for code, _name, _percent in items}
    products = {product.code.strip().upper(): product for product in db.session.scalars(
        select(Product).where(func.upper(Product.code).in_(codes)))} if codes else {}
    lines, seen = [], set()
    for code, name, percent in items:
        key = code.strip().upper()
        if key in seen:
            continue
        seen.add(key)
        product = products.get(key)
        price = discounted(product.price, percent) if product is not None else None
        lines.append((code, name, percent, product, price))
    return lines


def discounted(price, percent):
    return money.cents(money.to_decimal(price) * (HUNDRED - Decimal(percent)) / HUNDRED)


def make_price_list(promotion, name, grade):
    """(the new PriceList, added to the session, or None when no product of the
    promotion is in the catalogue; the lines of products not found)."""
    lines = promotion_lines(promotion)
    found = [line for line in lines if line[3] is not None]
    missing = [line for line in lines if line[3] is None]
    if not found:
        return None, missing
    price_list = PriceList(name=name, grade=grade, valid_from=promotion.starts_on,
                           valid_to=promotion.ends_on, active=True)
    price_list.items = [PriceListItem(product=product, price=price)
                        for _code, _name, _percent, product, price in found]
    db.session.add(price_list)
    return price_list, missing
