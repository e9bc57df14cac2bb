"""The reports tests' shared installation: Reports and Sales enabled, two salespeople
and their won deals (tests/addons/conftest.py's reports_suite)."""
import pytest

from tests.addons.crm_contacts.helpers import user
from tests.addons.crm_reports.report_helpers import YEAR, customer, won_deal


@pytest.fixture
def world(reports_suite):
    """Ann (salesperson) won 1,000.50 in March and 200 in May; Bob won 3,000 in April;
    the admin 50 last year. Customers: Ann's A and B, Bob's A, the admin's C."""
    suite = reports_suite
    ann, ann_id = user(suite, "ann", "sales_user", "contacts_user", "reports_user")
    bob, bob_id = user(suite, "bob", "sales_user", "contacts_user", "reports_user")
    admin_id = suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    a1 = customer(suite, "Ann One", "A", ann_id)
    customer(suite, "Ann Two", "B", ann_id)
    b1 = customer(suite, "Bob One", "A", bob_id)
    c1 = customer(suite, "Admin One", "C", admin_id)
    won_deal(suite, a1, ann_id, "1000.50", f"{YEAR}-03-10")
    won_deal(suite, a1, ann_id, "200", f"{YEAR}-05-01")
    won_deal(suite, b1, bob_id, "3000", f"{YEAR}-04-15")
    won_deal(suite, c1, admin_id, "50", f"{YEAR - 1}-12-31")
    return {"suite": suite, "admin": suite.admin_client(), "ann": ann, "bob": bob,
            "ann_id": ann_id}
