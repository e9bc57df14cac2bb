"""The Sales panels of the 360° customer page: open opportunities, quotes, orders with
what is due, and the balance; each within its record rules, in a fixed number of
queries, and absent for users without Sales rights.

Opportunities and quotes are written straight to the database: their screens are
another part's, and these panels only read the tables."""
import re

import pytest

from tests.addons.crm_sales.order_helpers import (
    add_user, make_customer, make_order, make_product, pay, text, user_id)


def page_of(client, customer):
    response = client.get(f"/admin/customer/details/?id={customer}")
    assert response.status_code == 200
    return text(response)


def panel(page, title):
    """The HTML of the panel with that title ('' when absent)."""
    match = re.search(r'<section class="card h-100 crm-panel">\s*<div class="card-header[^"]*">\s*'
                      rf"<span>{re.escape(title)}</span>(.*?)</section>", page, re.S)
    return match.group(1) if match else ""


def add_opportunity(suite, customer, owner, name, amount, stage="Proposal", close=None):
    stage_id = suite.sql("SELECT id FROM sale_stage WHERE name = :s", s=stage)[0][0]
    suite.sql("INSERT INTO sale_opportunity (name, customer_id, amount, currency, stage_id, "
              "probability, expected_close, owner_id, created_at, updated_at) VALUES "
              "(:n, :c, :a, 'CNY', :s, 50, :e, :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
              n=name, c=customer, a=amount, s=stage_id, e=close, o=owner)


def add_quote(suite, customer, owner, number, total, state="sent"):
    suite.sql("INSERT INTO sale_quote (number, version, customer_id, state, quote_date, "
              "currency, subtotal, tax, total, approval, owner_id, created_at, updated_at) "
              "VALUES (:n, 1, :c, :s, '2026-02-01', 'CNY', :t, 0, :t, 'not needed', :o, "
              "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", n=number, c=customer, s=state, t=total,
              o=owner)


@pytest.fixture
def world(sales_suite):
    """Acme, a customer both Ann and Bob sell to (Bob sees every customer)."""
    suite = sales_suite
    admin = suite.admin_client()
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    bob = add_user(suite, "bob", "sales_user", "contacts_manager")
    ann_id, bob_id = user_id(suite, "ann"), user_id(suite, "bob")
    acme = make_customer(admin, suite, "Acme", owner=ann_id)
    product = make_product(admin, suite, "P-1", "100.00")

    add_opportunity(suite, acme, ann_id, "Ann's big deal", 5000, close="2026-06-30")
    add_opportunity(suite, acme, ann_id, "Ann's won deal", 900, stage="Won")
    add_opportunity(suite, acme, bob_id, "Bob's secret deal", 7777)
    add_quote(suite, acme, ann_id, "Q2026-00001", 1130)
    add_quote(suite, acme, bob_id, "Q2026-00002", 4321)
    ann_order = make_order(ann, suite, acme, [(product, 10, "100", "0", "13")])    # 1130.00
    assert pay(ann, acme, "500", order=ann_order).status_code == 302
    bob_order = make_order(bob, suite, acme, [(product, 2, "100", "0", "13")])     # 226.00
    assert pay(bob, acme, "26", order=bob_order).status_code == 302
    return suite, admin, ann, bob, acme


def test_panels_show_the_users_own_records(world):
    suite, admin, ann, bob, acme = world
    page = page_of(ann, acme)

    deals = panel(page, "Opportunities")
    assert "Ann&#39;s big deal" in deals and "5,000.00" in deals and "2026-06-30" in deals
    assert "won deal" not in deals and "Bob" not in deals and "7,777" not in deals
    assert "flt0_customer_crm_customer_name_equals=Acme" in deals or \
        "/admin/opportunity/?flt0_customer_crm_customer_name_equals=Acme" in page

    quotes = panel(page, "Quotes")
    assert "Q2026-00001" in quotes and "1,130.00" in quotes and "Q2026-00002" not in quotes

    orders = panel(page, "Orders")
    ann_number = suite.sql("SELECT number FROM sale_order WHERE owner_id = :u",
                           u=user_id(suite, "ann"))[0][0]
    bob_number = suite.sql("SELECT number FROM sale_order WHERE owner_id = :u",
                           u=user_id(suite, "bob"))[0][0]
    assert ann_number in orders and bob_number not in orders
    assert re.search(r'class="text-right text-nowrap crm-due">630.00<', orders)

    balance = panel(page, "Balance")
    assert re.search(r'crm-orders-total">1,130.00<', balance)
    assert re.search(r'crm-paid">500.00<', balance)
    assert re.search(r'crm-outstanding">630.00<', balance)
    assert "226.00" not in page and "4,321" not in page

    bob_page = page_of(bob, acme)
    assert "Bob&#39;s secret deal" in bob_page and "Ann&#39;s big deal" not in bob_page
    assert re.search(r'crm-outstanding">200.00<', panel(bob_page, "Balance"))

    everything = page_of(admin, acme)
    assert re.search(r'crm-orders-total">1,356.00<', everything)
    assert re.search(r'crm-outstanding">830.00<', everything)
    assert "Q2026-00002" in everything and "12,777.00" in panel(everything, "Opportunities")


def test_panels_absent_without_sales_rights(world):
    suite, _admin, _ann, _bob, acme = world
    viewer = add_user(suite, "cleo", "contacts_manager")
    page = page_of(viewer, acme)
    for title in ("Opportunities", "Quotes", "Orders", "Balance"):
        assert panel(page, title) == ""
    assert panel(page, "Contacts")    # the page itself is there


def test_panel_queries_do_not_grow(world):
    suite, admin, ann, _bob, acme = world
    path = f"/admin/customer/details/?id={acme}"
    few = len(admin.queries(path))
    product = suite.sql("SELECT id FROM sale_product")[0][0]
    ann_id = user_id(suite, "ann")
    for number in range(3, 8):
        add_opportunity(suite, acme, ann_id, f"Deal {number}", 100 * number)
        add_quote(suite, acme, ann_id, f"Q2026-{number:05d}", 10 * number)
        make_order(ann, suite, acme, [(product, 1, "100", "0", "13")])
    assert len(admin.queries(path)) == few
