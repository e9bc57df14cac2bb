"""Billing service fees on sales orders through the core hook billing.charge: with
Sales enabled, billable fees of one customer become lines of an open order (one line
per record, totals right, records marked billed), a record is billed once, the next
fees join the order until it is done, and a user who may not create orders is refused
with nothing written."""
from datetime import date

import pytest

from tests.addons.conftest import addon_suite
from tests.addons.crm_service.records_helpers import (
    add_user, flashes, make_customer, make_record, make_ticket, money, one, orm, text)

LIST = "/admin/service-record/"


@pytest.fixture
def billing_suite(tmp_path, database_url):
    installation = addon_suite(tmp_path, database_url, ["crm_service", "crm_sales"])
    yield installation
    installation.close()


@pytest.fixture
def fees(billing_suite):
    """Two customers, each with a ticket; three billable fees of the first, one not
    billable, one of the second."""
    suite = billing_suite
    acme = make_customer(suite, "Acme Trading", owner="admin")
    other = make_customer(suite, "Other Ltd")
    ticket = make_ticket(suite, "Printer jam", customer_id=acme)
    other_ticket = make_ticket(suite, "Scanner", customer_id=other)
    ids = {"a": make_record(suite, ticket, "100.10", description="Repair"),
           "b": make_record(suite, ticket, "250.00", description="Visit"),
           "c": make_record(suite, ticket, "30.00", description="Phone help"),
           "free": make_record(suite, ticket, "99.00", billable=False),
           "other": make_record(suite, other_ticket, "40.00")}
    return suite, suite.admin_client(), ids


def bill(client, *ids):
    return client.post_form(f"{LIST}action/", {"action": "bill", "url": LIST,
                                               "rowid": [str(i) for i in ids]},
                            token_from=LIST)


def billed(suite, record):
    return one(suite, "SELECT billed_at, billed_reference FROM svc_record WHERE id = :r",
               r=record)


def orders(suite):
    return suite.sql("SELECT id, number, state, subtotal, total, owner_id FROM sale_order ORDER BY id")


def test_bill_makes_one_line_per_record_and_marks_them(fees):
    suite, admin, ids = fees
    assert "Bill on a sales order" in text(admin.get(LIST))
    response = bill(admin, ids["a"], ids["b"])
    assert response.status_code == 302
    [order] = orders(suite)
    number = order[1]
    assert number.startswith("SO") and order[2] == "open"
    assert money(order[3]) == money("350.10") and money(order[4]) == money("350.10")
    lines = suite.sql("SELECT description, quantity, unit_price, total FROM sale_order_line "
                      "WHERE order_id = :o ORDER BY sequence", o=order[0])
    assert [(row[0].split(" ", 1)[1], money(row[3])) for row in lines] == [
        ("Repair", money("100.10")), ("Visit", money("250.00"))]
    assert all(row[0].startswith("T") for row in lines)
    for key in ("a", "b"):
        assert billed(suite, ids[key])[0] is not None and billed(suite, ids[key])[1] == number
    assert billed(suite, ids["c"])[0] is None
    # The order belongs to the customer's owner.
    assert order[5] == one(suite, "SELECT owner_id FROM crm_customer WHERE name = 'Acme Trading'")[0]

    # Billed again: refused, nothing changes.
    response = bill(admin, ids["a"])
    assert "billed already" in text(admin.get(LIST))
    assert one(suite, "SELECT count(*) FROM sale_order_line")[0] == 2

    # The next fee joins the same open order; its totals follow.
    bill(admin, ids["c"])
    [order] = orders(suite)
    assert money(order[4]) == money("380.10") and billed(suite, ids["c"])[1] == number
    assert one(suite, "SELECT count(*) FROM sale_order_charge")[0] == 3


def test_a_done_order_is_not_added_to(fees):
    suite, admin, ids = fees
    bill(admin, ids["a"])
    [order] = orders(suite)
    assert admin.post_form(f"/admin/sales-order/transition/done/?id={order[0]}", {},
                           token_from=f"/admin/sales-order/details/?id={order[0]}").status_code == 302
    bill(admin, ids["b"])
    first, second = orders(suite)
    assert first[2] == "done" and second[2] == "open" and money(second[4]) == money("250.00")


@pytest.mark.parametrize("keys, message", [
    (("a", "other"), "Select the records of one customer"),
    (("a", "free"), "Only billable records can be billed."),
])
def test_bad_selections_are_refused_and_nothing_written(fees, keys, message):
    suite, admin, ids = fees
    bill(admin, *(ids[key] for key in keys))
    assert message in flashes(admin.get(LIST))
    assert orders(suite) == [] and one(suite, "SELECT count(*) FROM sale_order_line")[0] == 0
    assert one(suite, "SELECT count(*) FROM svc_record WHERE billed_at IS NOT NULL")[0] == 0


def test_an_agent_without_sales_rights_is_refused(fees):
    suite, _admin, ids = fees
    ann = add_user(suite, "ann", "service_manager")
    assert "Bill on a sales order" in text(ann.get(LIST))
    bill(ann, ids["a"])
    assert "You may not create sales orders" in flashes(ann.get(LIST))
    assert orders(suite) == [] and billed(suite, ids["a"])[0] is None
    # With the salesperson's group, the order is theirs (they may own only their own).
    seller = add_user(suite, "sam", "service_manager", "sales_user")
    bill(seller, ids["a"])
    [order] = orders(suite)
    assert order[5] == one(suite, "SELECT id FROM core_user WHERE username = 'sam'")[0]
    assert billed(suite, ids["a"])[1] == order[1]


def test_the_hook_refuses_a_source_billed_twice(fees):
    suite, _admin, ids = fees
    from core import hooks
    from core.models import User
    from flask import current_app
    customer = one(suite, "SELECT id FROM crm_customer WHERE name = 'Acme Trading'")[0]
    line = {"description": "Fee", "quantity": 1, "unit_price": 10,
            "source": ("ServiceRecord", ids["a"])}
    with orm(suite) as session:
        admin = session.scalar(__import__("sqlalchemy").select(User).where(User.username == "admin"))
        [number] = current_app.extensions["crm"].hooks.call(
            "billing.charge", customer_id=customer, lines=[line], user=admin)
        assert number.startswith("SO")
    with orm(suite) as session:
        admin = session.scalar(__import__("sqlalchemy").select(User).where(User.username == "admin"))
        with pytest.raises(hooks.Refused, match="billed already"):
            current_app.extensions["crm"].hooks.call(
                "billing.charge", customer_id=customer, lines=[line], user=admin)
    assert one(suite, "SELECT count(*) FROM sale_order_line")[0] == 1
    assert date.today()
