"""Suppliers through the screens: the customer's flag, prices inline and on their own
list, their checks, the supplier's page, and who may pick a purchaser."""
import json

import pytest

from tests.addons.crm_purchase.purchase_helpers import (D, count, flashes, last_id,
                                                        make_product, make_supplier, text,
                                                        user)

SUPPLIERS = "/admin/supplier/"
NEW_SUPPLIER = "/admin/supplier/new/"
PRICES = "/admin/supplier-price/"
NEW_PRICE = "/admin/supplier-price/new/"


def make_company(suite, name):
    """A customer that is no supplier yet; returns its id."""
    return suite.sql(
        "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
        "email_key, is_supplier, created_at, updated_at) VALUES ('company', :n, :n, 'B', "
        "false, 'active', '', '', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        n=name)[0][0]


def supplier_form(customer, code, prices=(), **fields):
    """The supplier form; ``prices``: dicts of a price row's fields (prices-0-...)."""
    data = {"customer": str(customer), "code": code, "payment_days": "45",
            "payment_terms": "月结45天", "lead_time_days": "10", "currency": "cny",
            "purchaser": "", "active": "y", "notes": "", **fields}
    for index, price in enumerate(prices):
        row = {"product": "", "supplier_product_code": "", "price": "", "min_quantity": "1",
               "valid_from": "", "valid_to": "", "sequence": "10", **price}
        data.update({f"prices-{index}-{key}": str(value) for key, value in row.items()})
    return data


def is_supplier(suite, customer):
    return bool(suite.sql("SELECT is_supplier FROM crm_customer WHERE id = :c",
                          c=customer)[0][0])


@pytest.fixture
def shop(purchase_suite):
    admin = purchase_suite.admin_client()
    bolt = make_product(purchase_suite, "BOLT", cost="0.50", name="六角螺栓 M8")
    nut = make_product(purchase_suite, "NUT", cost="0.20", name="Nut M8")
    return purchase_suite, admin, bolt, nut


def test_a_supplier_flags_its_company_and_keeps_its_prices(shop):
    suite, admin, bolt, nut = shop
    company = make_company(suite, "宁波紧固件有限公司")
    response = admin.post_form(NEW_SUPPLIER, supplier_form(company, "S-NB", prices=[
        {"product": bolt, "supplier_product_code": "NB-M8", "price": "0.45",
         "min_quantity": "1", "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
        {"product": bolt, "price": "0.40", "min_quantity": "1000", "sequence": "5"},
        {"product": nut, "price": "0.18"}]), token_from=NEW_SUPPLIER)
    assert response.status_code == 302, flashes(response)
    supplier = last_id(suite, "pur_supplier")
    assert is_supplier(suite, company)
    row = suite.sql("SELECT code, payment_days, payment_terms, lead_time_days, currency "
                    "FROM pur_supplier WHERE id = :s", s=supplier)[0]
    assert tuple(row) == ("S-NB", 45, "月结45天", 10, "CNY")
    prices = suite.sql("SELECT product_id, price, min_quantity, valid_from, sequence, "
                       "supplier_product_code FROM pur_supplier_price WHERE supplier_id = :s "
                       "ORDER BY product_id, min_quantity", s=supplier)
    assert [(p[0], D(p[1]), D(p[2]), p[4]) for p in prices] == [
        (bolt, D("0.45"), D(1), 10), (bolt, D("0.40"), D(1000), 5), (nut, D("0.18"), D(1), 10)]
    assert str(prices[0][3]) == "2026-01-01" and prices[0][5] == "NB-M8"

    # The supplier's page shows its prices (and the company's name, escaped).
    page = text(admin.get(f"{SUPPLIERS}details/?id={supplier}"))
    assert "crm-supplier-prices" in page and "NB-M8" in page and "1,000" in page
    assert "六角螺栓 M8" in page and "0.40" in page and "2026-12-31" in page
    assert "New purchase order" in page

    # Edited inline: one price changed, one deleted.
    ids = [r[0] for r in suite.sql("SELECT id FROM pur_supplier_price WHERE supplier_id = :s "
                                   "ORDER BY product_id, min_quantity", s=supplier)]
    edit = f"{SUPPLIERS}edit/?id={supplier}"
    data = supplier_form(company, "S-NB", prices=[
        {"id": ids[0], "product": bolt, "price": "0.44", "valid_from": "2026-01-01"},
        {"id": ids[1], "product": bolt, "price": "0.40", "min_quantity": "1000"},
        {"id": ids[2], "product": nut, "price": "0.18"}])
    data["del-prices-2"] = "y"
    response = admin.post_form(edit, data, token_from=edit)
    assert response.status_code == 302, flashes(response)
    assert [D(p[0]) for p in suite.sql(
        "SELECT price FROM pur_supplier_price WHERE supplier_id = :s ORDER BY product_id, "
        "min_quantity", s=supplier)] == [D("0.44"), D("0.40")]


def test_bad_prices_are_refused_on_their_row(shop):
    suite, admin, bolt, _nut = shop
    company = make_company(suite, "Bad Prices Ltd")
    response = admin.post_form(NEW_SUPPLIER, supplier_form(company, "S-BAD", prices=[
        {"product": bolt, "price": "-1", "min_quantity": "0"},
        {"product": bolt, "price": "2", "valid_from": "2026-05-01", "valid_to": "2026-04-01"}]),
        token_from=NEW_SUPPLIER)
    assert response.status_code == 200
    messages = flashes(response)
    assert "A price cannot be negative." in messages
    assert "The minimum quantity must be more than 0." in messages
    assert "The end of validity is before its start." in messages
    assert count(suite, "pur_supplier") == 0 and count(suite, "pur_supplier_price") == 0
    assert not is_supplier(suite, company)


def test_a_company_is_one_supplier_and_a_code_is_unique(shop):
    suite, admin, _bolt, _nut = shop
    make_supplier(suite, "S-1", name="First Ltd")
    first_company = suite.sql("SELECT id FROM crm_customer WHERE name = 'First Ltd'")[0][0]
    response = admin.post_form(NEW_SUPPLIER, supplier_form(first_company, "S-2"),
                               token_from=NEW_SUPPLIER)
    assert response.status_code == 200
    assert "This company is a supplier already (S-1)." in flashes(response)
    other = make_company(suite, "Second Ltd")
    response = admin.post_form(NEW_SUPPLIER, supplier_form(other, "S-1"), token_from=NEW_SUPPLIER)
    assert response.status_code == 200 and count(suite, "pur_supplier") == 1
    response = admin.post_form(NEW_SUPPLIER, supplier_form(other, "S-2", currency="yuan"),
                               token_from=NEW_SUPPLIER)
    assert "A three-letter code, such as CNY." in flashes(response)


def test_the_price_list_screen(shop):
    suite, admin, bolt, _nut = shop
    supplier = make_supplier(suite, "S-PL", name="Price List Co")
    response = admin.post_form(NEW_PRICE, {
        "supplier": supplier, "product": bolt, "supplier_product_code": "PL-1", "price": "1.5",
        "min_quantity": "0", "valid_from": "", "valid_to": "", "sequence": "1"},
        token_from=NEW_PRICE)
    assert response.status_code == 200
    assert "The minimum quantity must be more than 0." in flashes(response)
    assert count(suite, "pur_supplier_price") == 0
    response = admin.post_form(NEW_PRICE, {
        "supplier": supplier, "product": bolt, "supplier_product_code": "PL-1", "price": "1.5",
        "min_quantity": "10", "valid_from": "", "valid_to": "", "sequence": "1"},
        token_from=NEW_PRICE)
    assert response.status_code == 302, flashes(response)
    page = text(admin.get(PRICES))
    assert "S-PL" in page and "PL-1" in page and "1.50" in page
    # The supplier look-up finds it by its company's name.
    found = json.loads(text(admin.get(f"{PRICES}ajax/lookup/?name=supplier&query=Price List")))
    assert [item[0] for item in found] == [supplier]


def test_deleting_a_supplier_clears_the_flag(shop):
    suite, admin, _bolt, _nut = shop
    supplier = make_supplier(suite, "S-DEL", name="Gone Ltd")
    company = suite.sql("SELECT customer_id FROM pur_supplier WHERE id = :s", s=supplier)[0][0]
    response = admin.post_form(f"{SUPPLIERS}delete/", {"id": supplier}, token_from=SUPPLIERS)
    assert response.status_code == 302
    assert count(suite, "pur_supplier") == 0 and not is_supplier(suite, company)


def test_a_buyer_makes_a_supplier_and_picks_a_purchaser(purchase_suite):
    buyer, buyer_id = user(purchase_suite, "buyer", "purchase_user")
    clerk, _clerk_id = user(purchase_suite, "clerk", "stock_user")
    company = make_company(purchase_suite, "Buyer's Supplier")
    found = json.loads(text(buyer.get(f"{SUPPLIERS}ajax/lookup/?name=purchaser&query=")))
    assert [item[0] for item in found] == [buyer_id]   # buyers only, not the clerk
    response = buyer.post_form(NEW_SUPPLIER, supplier_form(company, "S-B", purchaser=buyer_id),
                               token_from=NEW_SUPPLIER)
    assert response.status_code == 302, flashes(response)
    assert purchase_suite.sql("SELECT purchaser_id FROM pur_supplier")[0][0] == buyer_id
    assert is_supplier(purchase_suite, company)
    # A buyer may not delete suppliers, nor their prices (the manifest gives them no
    # "d"), not even on the supplier's form.
    supplier = last_id(purchase_suite, "pur_supplier")
    response = buyer.post_form(f"{SUPPLIERS}delete/", {"id": supplier}, token_from=SUPPLIERS)
    assert response.status_code == 403 and count(purchase_suite, "pur_supplier") == 1
    product = make_product(purchase_suite, "P-B", cost="1")
    edit = f"{SUPPLIERS}edit/?id={supplier}"
    response = buyer.post_form(edit, supplier_form(company, "S-B", purchaser=buyer_id, prices=[
        {"product": product, "price": "3"}]), token_from=edit)
    assert response.status_code == 302, flashes(response)
    price = last_id(purchase_suite, "pur_supplier_price")
    data = supplier_form(company, "S-B", purchaser=buyer_id, prices=[
        {"id": price, "product": product, "price": "3"}])
    data["del-prices-0"] = "y"
    response = buyer.post_form(edit, data, token_from=edit)
    assert response.status_code == 200
    assert "You may not delete supplier prices: end their validity instead." in flashes(response)
    assert count(purchase_suite, "pur_supplier_price") == 1
    # The warehouse reads suppliers, not what they charge.
    page = text(clerk.get(f"{SUPPLIERS}details/?id={supplier}"))
    assert "S-B" in page and "crm-supplier-prices" not in page
    assert "crm-supplier-prices" in text(buyer.get(f"{SUPPLIERS}details/?id={supplier}"))


def test_a_price_field_hidden_for_buyers_is_hidden_on_the_suppliers_form(purchase_suite):
    """A rule of the prices' own screen (Settings > Customise > Layout) holds where the
    prices are lines of another form, and on the supplier's page."""
    admin = purchase_suite.admin_client()
    buyer, _buyer_id = user(purchase_suite, "buyer", "purchase_user")
    layout = "/admin/customise/SupplierPrice/layout/{}/"
    for name, access in (("supplier_product_code", "hidden"), ("sequence", "readonly")):
        response = admin.post_form(layout.format(name), {
            "section": "=", "group-purchase_user": access}, token_from=layout.format(name))
        assert response.status_code == 302, text(response)[-2000:]
    company = make_company(purchase_suite, "Hidden Codes Ltd")
    product = make_product(purchase_suite, "P-H", cost="1")
    response = admin.post_form(NEW_SUPPLIER, supplier_form(company, "S-H", prices=[
        {"product": product, "price": "3", "supplier_product_code": "SECRET-1",
         "sequence": "7"}]), token_from=NEW_SUPPLIER)
    assert response.status_code == 302, flashes(response)
    supplier, price = last_id(purchase_suite, "pur_supplier"), last_id(purchase_suite,
                                                                        "pur_supplier_price")
    edit = f"{SUPPLIERS}edit/?id={supplier}"
    form = text(buyer.get(edit))
    # The lines are a section of their own, not part of "Notes" before them: neither has
    # a heading that its one field's label repeats.
    assert 'crm-form-section-title">Notes<' not in form
    assert form.index('name="notes"') < form.index('name="prices-0-price"')
    # Neither on the price's line nor on the blank line "Add" copies; read-only shown.
    assert "SECRET-1" not in form and "supplier_product_code" not in form
    assert 'name="prices-0-sequence"' in form and "disabled" in form[
        form.index('name="prices-0-sequence"') - 200:form.index('name="prices-0-sequence"') + 200]
    assert "SECRET-1" in text(admin.get(edit))
    page = text(buyer.get(f"{SUPPLIERS}details/?id={supplier}"))
    assert "crm-supplier-prices" in page and "SECRET-1" not in page
    assert "Supplier&#39;s product code" not in page and "Supplier's product code" not in page
    # Posted anyway, on the line and on a new line: not written.
    response = buyer.post_form(edit, supplier_form(company, "S-H", prices=[
        {"id": price, "product": product, "price": "4", "supplier_product_code": "MINE",
         "sequence": "1"},
        {"product": product, "price": "2", "min_quantity": "100",
         "supplier_product_code": "MINE-2", "sequence": "2"}]), token_from=edit)
    assert response.status_code == 302, flashes(response)
    assert purchase_suite.sql("SELECT price, supplier_product_code, sequence FROM "
                              "pur_supplier_price ORDER BY id") == [
        (D("4"), "SECRET-1", 7), (D("2"), None, 10)]
