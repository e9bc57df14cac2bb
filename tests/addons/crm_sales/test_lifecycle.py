"""The customer's lifecycle stage moves on by the rules Sales declares
(crm_sales/lifecycle.py): a won deal or a payment makes a prospect active, in the same
save, audited; nothing else does."""
import json

from tests.addons.crm_sales.order_helpers import make_order, make_product, pay
from tests.addons.crm_sales.pipeline_helpers import (
    add_opportunity,
    edit,
    make_customer,
    move,
    opportunity_form,
    reason_ids,
    stage_ids,
)


def stage_of(suite, customer):
    return suite.sql("SELECT stage FROM crm_customer WHERE id = :id", id=customer)[0][0]


def stage_changes(suite, customer):
    """The stage changes the audit trail holds for the customer."""
    rows = suite.sql("SELECT changes FROM core_audit WHERE model = 'Customer' "
                     "AND record_id = :id AND action = 'update' ORDER BY id", id=customer)
    return [json.loads(changes)["stage"] for (changes,) in rows
            if "stage" in json.loads(changes)]


def test_a_won_deal_makes_the_customer_active(sales_suite):
    admin = sales_suite.admin_client()
    stages = stage_ids(sales_suite)
    customer = make_customer(admin, sales_suite, "Acme")
    deal = add_opportunity(admin, sales_suite, "Routers", customer, stages["Qualification"])
    assert move(admin, deal, stages["Proposal"]).status_code == 200
    assert stage_of(sales_suite, customer) == "prospect"   # an open deal: no change
    assert move(admin, deal, stages["Won"]).status_code == 200   # the board
    assert stage_of(sales_suite, customer) == "active"
    assert stage_changes(sales_suite, customer) == [["prospect", "active"]]


def test_a_deal_won_on_its_form_or_created_won_wakes_a_dormant_customer(sales_suite):
    admin = sales_suite.admin_client()
    stages = stage_ids(sales_suite)
    dormant = make_customer(admin, sales_suite, "Sleepy")
    sales_suite.sql("UPDATE crm_customer SET stage = 'dormant' WHERE id = :id", id=dormant)
    add_opportunity(admin, sales_suite, "Renewal", dormant, stages["Won"])
    assert stage_of(sales_suite, dormant) == "active"
    other = make_customer(admin, sales_suite, "Beta")
    deal = add_opportunity(admin, sales_suite, "Switches", other, stages["Negotiation"])
    response = edit(admin, deal, opportunity_form("Switches", other, stages["Won"]))
    assert response.status_code == 302
    assert stage_of(sales_suite, other) == "active"


def test_a_lost_deal_changes_nothing(sales_suite):
    admin = sales_suite.admin_client()
    stages = stage_ids(sales_suite)
    customer = make_customer(admin, sales_suite, "Acme")
    deal = add_opportunity(admin, sales_suite, "Routers", customer, stages["Qualification"])
    assert move(admin, deal, stages["Lost"],
                lost_reason=reason_ids(sales_suite)["No budget"]).status_code == 200
    assert stage_of(sales_suite, customer) == "prospect"
    assert stage_changes(sales_suite, customer) == []


def test_a_paid_order_makes_the_customer_active(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    product = make_product(admin, sales_suite, "P-1", "100.00")
    order = make_order(admin, sales_suite, customer, [(product, 2, "100.00", "0", "13")])
    assert stage_of(sales_suite, customer) == "prospect"   # ordered, not paid yet
    response = pay(admin, customer, "226.00", order=order)
    assert response.status_code == 302
    assert stage_of(sales_suite, customer) == "active"
    assert stage_changes(sales_suite, customer) == [["prospect", "active"]]


def test_a_customer_set_back_by_hand_stays_until_the_next_sale(sales_suite):
    """Rules move a customer on when something happens, not on every save."""
    admin = sales_suite.admin_client()
    stages = stage_ids(sales_suite)
    customer = make_customer(admin, sales_suite, "Acme")
    deal = add_opportunity(admin, sales_suite, "Routers", customer, stages["Won"])
    sales_suite.sql("UPDATE crm_customer SET stage = 'lost' WHERE id = :id", id=customer)
    response = edit(admin, deal, opportunity_form("Routers v2", customer, stages["Won"]))
    assert response.status_code == 302
    assert stage_of(sales_suite, customer) == "lost"
