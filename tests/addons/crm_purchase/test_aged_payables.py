"""The aged payables: each supplier's open bills by days past due (as of today or a
chosen day), payments on account, the balance, the export, the link to the bills, and
the record rules."""
import csv
import io
import re
from datetime import date, timedelta

import openpyxl
import pytest

from tests.addons.crm_purchase.purchase_helpers import (
    BILLS, D, direct_order, flashes, last_id, make_bill, make_product, make_supplier,
    pay_supplier, set_received, text, user)

AGED = "/admin/aged-payables/"
TODAY = date.today()


def day(offset):
    return (TODAY + timedelta(days=offset)).isoformat()


def bill_due(client, suite, order, line, units, due_in):
    """A bill of ``units`` (11.30 each, tax included) due ``due_in`` days from today
    (negative: past due), dated 30 days before that."""
    response = make_bill(client, order, {line: units}, bill_date=day(due_in - 30),
                         due_date=day(due_in))
    assert response.status_code == 302, flashes(response)
    return last_id(suite, "pur_bill")


def rows_of(page):
    """{supplier name: (0-30, 31-60, 61-90, over 90, open, on account, balance)}."""
    found = {}
    for row in re.findall(r'<tr data-supplier="\d+">(.*?)</tr>', page, re.S):
        name = re.search(r'crm-supplier-name">(?:<a [^>]*>)?([^<]+)<', row).group(1)
        cells = re.findall(r'<td class="text-right[^"]*">(?:<strong>)?([-\d,.]+)<', row)
        found[name] = tuple(D(cell.replace(",", "")) for cell in cells)
    return found


@pytest.fixture
def world(purchase_suite):
    """Acme Parts: five bills due 10, 45, 75 and 120 days ago and in 5 days, 15.20 paid
    on the oldest and 7 on account. Beta Tools (Ann's): one bill due 40 days ago.
    Gamma: a cancelled bill only; Delta: a bill fully paid."""
    suite = purchase_suite
    admin = suite.admin_client()
    ann, ann_id = user(suite, "ann", "purchase_user")
    product = make_product(suite, "P1")
    acme, beta = make_supplier(suite, "ACME", "Acme Parts"), make_supplier(suite, "BETA",
                                                                           "Beta Tools")
    gamma, delta = make_supplier(suite, "GAMMA", "Gamma"), make_supplier(suite, "DELTA",
                                                                         "Delta")
    order, (line,) = direct_order(suite, acme, [(product, 15, "10")])
    set_received(suite, line, 15)
    bills = {due: bill_due(admin, suite, order, line, units, due)
             for units, due in ((1, -10), (2, -45), (3, -75), (4, -120), (5, 5))}
    assert pay_supplier(admin, acme, "15.20", bill=bills[-120], day=day(0)).status_code == 302
    assert pay_supplier(admin, acme, "7", day=day(0)).status_code == 302

    beta_order, (beta_line,) = direct_order(suite, beta, [(product, 1, "10")], owner=ann_id)
    set_received(suite, beta_line, 1)
    beta_bill = bill_due(ann, suite, beta_order, beta_line, 1, -40)

    for supplier in (gamma, delta):
        other, (other_line,) = direct_order(suite, supplier, [(product, 1, "10")])
        set_received(suite, other_line, 1)
        other_bill = bill_due(admin, suite, other, other_line, 1, -5)
        if supplier == gamma:
            admin.post_form(f"{BILLS}transition/cancel/?id={other_bill}", {},
                            token_from=f"{BILLS}details/?id={other_bill}")
        else:
            assert pay_supplier(admin, delta, "11.30", bill=other_bill).status_code == 302
    return suite, admin, ann, bills, beta_bill


def test_open_bills_by_days_past_due(world):
    suite, admin, _ann, _bills, _beta_bill = world
    page = text(admin.get(AGED))
    rows = rows_of(page)
    assert list(rows) == ["Acme Parts", "Beta Tools"]      # largest first; no Gamma, Delta
    assert rows["Acme Parts"] == (D("67.80"), D("22.60"), D("33.90"), D("30.00"),
                                  D("154.30"), D("7.00"), D("147.30"))
    assert rows["Beta Tools"] == (D(0), D("11.30"), D(0), D(0), D("11.30"), D(0), D("11.30"))
    totals = re.search(r'crm-payables-totals">(.*?)</tr>', page, re.S).group(1)
    assert "Total (2 suppliers)" in totals and "165.60" in totals and "158.60" in totals

    searched = rows_of(text(admin.get(f"{AGED}?search=beta")))
    assert list(searched) == ["Beta Tools"]


def test_as_of_an_earlier_day(world):
    suite, admin, _ann, _bills, _beta_bill = world
    rows = rows_of(text(admin.get(f"{AGED}?as_of={day(-50)}")))
    # Bills dated after that day and today's payments are left out; ages count from it.
    assert rows["Acme Parts"] == (D("56.50"), D(0), D("45.20"), D(0), D("101.70"), D(0),
                                  D("101.70"))
    assert rows["Beta Tools"][:5] == (D("11.30"), D(0), D(0), D(0), D("11.30"))
    response = admin.get(f"{AGED}?as_of=yesterday")
    assert response.status_code == 200 and "Enter a date as YYYY-MM-DD." in flashes(response)


def test_each_supplier_links_to_its_open_bills(world):
    suite, admin, _ann, bills, beta_bill = world
    page = text(admin.get(AGED))
    link = re.search(r'<a href="([^"]+)" class="small ml-1 crm-supplier-bills"', page).group(1)
    listed = text(admin.get(link.replace("&amp;", "&")))
    numbers = dict(suite.sql("SELECT id, number FROM pur_bill"))
    for bill in bills.values():
        assert numbers[bill] in listed
    assert numbers[beta_bill] not in listed
    paid = suite.sql("SELECT number FROM pur_bill WHERE state = 'paid'")[0][0]
    assert paid not in listed


def test_export_csv_and_xlsx(world):
    suite, admin, _ann, _bills, _beta_bill = world
    response = admin.get(f"{AGED}export/csv/")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0] == ["Supplier code", "Supplier", "0-30 days", "31-60 days", "61-90 days",
                        "Over 90 days", "Open bills", "Paid on account", "Balance"]
    assert table[1][:2] == ["ACME", "Acme Parts"]
    assert [D(value) for value in table[1][2:]] == [
        D("67.80"), D("22.60"), D("33.90"), D("30.00"), D("154.30"), D("7.00"), D("147.30")]
    assert len(table) == 3

    response = admin.get(f"{AGED}export/xlsx/?search=beta")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:2] == ("BETA", "Beta Tools") and len(values) == 2


def test_a_buyer_sees_their_own_bills(world):
    suite, _admin, ann, _bills, _beta_bill = world
    assert list(rows_of(text(ann.get(AGED)))) == ["Beta Tools"]
    assert ann.get(f"{AGED}export/csv/").status_code == 200     # the buyer may export
    viewer, _viewer_id = user(suite, "cleo", "stock_user")
    assert viewer.get(AGED).status_code == 403                  # no bills for the warehouse


def test_queries_do_not_grow_with_suppliers(world):
    suite, admin, _ann, _bills, _beta_bill = world
    few = len(admin.queries(AGED))
    product = suite.sql("SELECT id FROM sale_product")[0][0]
    for number in range(3):
        supplier = make_supplier(suite, f"MORE{number}")
        order, (line,) = direct_order(suite, supplier, [(product, 1, "10")])
        set_received(suite, line, 1)
        bill_due(admin, suite, order, line, 1, -number * 40)
    assert len(rows_of(text(admin.get(AGED)))) == 5
    assert len(admin.queries(AGED)) == few
