"""Merging duplicate customers: every row that points at the merged ones moves to the
kept one, in every addon (a fixture addon's too), audited, in one transaction."""
import json
import re

import pytest

from tests.addons.conftest import ADDONS, FIXTURES
from tests.addons.crm_contacts.helpers import add_user, create_customer
from tests.conftest import ROOT, make_suite

CONTACTS_FIXTURES = ROOT / "tests" / "fixtures" / "contacts_addons"


@pytest.fixture
def deals_suite(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, addon_paths=[ADDONS, FIXTURES, CONTACTS_FIXTURES],
                       enabled=["crm_contacts", "fixture_deals"])
    yield suite
    suite.close()


def setup_duplicates(suite):
    client = suite.admin_client()
    create_customer(client, name="Acme Ltd", phone="13800000001")
    create_customer(client, confirm=True, name="ACME Co., Ltd.", email="sales@acme.example")
    create_customer(client, confirm=True, name="Acme Inc", city="Shanghai")
    suite.sql("INSERT INTO crm_tag (id, name) VALUES (1, 'VIP'), (2, 'Export')")
    suite.sql("INSERT INTO crm_customer_tag VALUES (1, 1), (2, 1), (2, 2), (3, 2)")
    for customer in (1, 2, 2, 3):
        suite.sql("INSERT INTO crm_contact (customer_id, name, is_primary, created_at, updated_at)"
                  " VALUES (:c, 'Person', false, '2026-01-01', '2026-01-01')", c=customer)
        suite.sql("INSERT INTO crm_activity (kind, subject, customer_id, start_at, status,"
                  " created_at, updated_at) VALUES ('call', 'Call', :c, '2026-01-01', 'done',"
                  " '2026-01-01', '2026-01-01')", c=customer)
    suite.sql("INSERT INTO fixture_deal (name, customer_id) VALUES ('Big deal', 2), ('Small', 3)")
    suite.sql("INSERT INTO fixture_deal_customer VALUES (1, 1), (1, 3), (2, 2)")
    suite.sql("INSERT INTO crm_competitor (id, name) VALUES (1, 'Rival')")
    suite.sql("INSERT INTO crm_competitor_customer VALUES (1, 2)")
    return client


def test_merge_moves_every_related_row_and_deletes_the_others(deals_suite):
    client = setup_duplicates(deals_suite)
    page = client.get("/admin/customer/merge/?ids=1,2,3").get_data(as_text=True)
    # What refers to the records, in words: the model and the field, or the relation.
    assert "Contact: Customer" in page and "Customer: Tags" in page
    assert "crm_contact.customer_id" not in page and "fixture_deal" not in page
    response = client.post_form("/admin/customer/merge/", {"ids": "1,2,3", "keep": "1"},
                                token_from="/admin/customer/merge/?ids=1,2,3")
    assert response.status_code == 302 and "details/?id=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"2 records merged into .*?\(C\d+\)\. \d\d? related rows moved\.", page)
    sql = deals_suite.sql
    assert sql("SELECT id FROM crm_customer") == [(1,)]
    assert sql("SELECT count(*) FROM crm_contact WHERE customer_id = 1") == [(4,)]
    assert sql("SELECT count(*) FROM crm_activity WHERE customer_id = 1") == [(4,)]
    assert sql("SELECT customer_id FROM fixture_deal") == [(1,), (1,)]
    assert sorted(sql("SELECT deal_id, customer_id FROM fixture_deal_customer")) == [(1, 1), (2, 1)]
    assert sorted(sql("SELECT tag_id FROM crm_customer_tag WHERE customer_id = 1")) == [(1,), (2,)]
    assert sql("SELECT customer_id FROM crm_competitor_customer") == [(1,)]
    # The kept customer's blanks are filled from the merged ones.
    assert sql("SELECT email, city FROM crm_customer") == [("sales@acme.example", "Shanghai")]
    # Audited: the moves, the deletes and the merge itself.
    moves = sql("SELECT record_id, changes FROM core_audit WHERE model = 'Contact'")
    assert len(moves) == 3 and all(json.loads(c)["customer_id"][1] == 1 for _r, c in moves)
    assert len(sql("SELECT id FROM core_audit WHERE model = 'Customer' AND action = 'delete'")) == 2
    merged = sql("SELECT changes FROM core_audit WHERE model = 'Customer' AND record_id = 1 "
                 "AND changes LIKE '%merged%'")
    assert "ACME Co., Ltd." in merged[0][0]


def test_merge_needs_delete_rights_and_sees_only_visible_records(deals_suite):
    setup_duplicates(deals_suite)
    user = add_user(deals_suite, "sam", "contacts_user")
    assert user.get("/admin/customer/merge/?ids=1,2").status_code == 403
    manager = add_user(deals_suite, "meg", "contacts_manager")
    assert manager.get("/admin/customer/merge/?ids=1,2").status_code == 200
    # A guessed id outside the list merges nothing.
    response = manager.post_form("/admin/customer/merge/", {"ids": "1,999", "keep": "1"},
                                 token_from="/admin/customer/merge/?ids=1,2")
    assert response.status_code == 302
    assert deals_suite.sql("SELECT count(*) FROM crm_customer") == [(3,)]


def test_merge_is_offered_as_a_bulk_action(deals_suite):
    client = setup_duplicates(deals_suite)
    assert "modelActions.execute('merge')" in client.get("/admin/customer/").get_data(as_text=True)
    response = client.post_form("/admin/customer/action/", {"action": "merge",
                                                            "rowid": ["1", "2"]},
                                token_from="/admin/customer/")
    assert response.status_code == 302 and "merge/?ids=1,2" in response.headers["Location"]


def test_360_page_shows_panels_of_other_addons(deals_suite):
    client = setup_duplicates(deals_suite)
    page = client.get("/admin/customer/details/?id=2").get_data(as_text=True)
    assert "Deals" in page and "1 deals" in page
    # With the other addon disabled, its panel goes and the page still works.
    assert deals_suite.run("addons", "disable", "fixture_deals").exit_code == 0
    page = client.get("/admin/customer/details/?id=2").get_data(as_text=True)
    assert "1 deals" not in page and "Contacts" in page
