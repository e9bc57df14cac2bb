"""Contracts: the form's checks, the printed contract, renewal, and the daily job that
reminds owners before the end and ends or renews contracts after it."""
import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from addons.crm_sales.contracts import add_months, renewal_period
from tests.addons.crm_sales.quote_helpers import (
    CONTRACTS,
    NEW_CONTRACT,
    add_user,
    create_customer,
    create_quote,
    flashes,
    form_errors,
    last_id,
    page_text,
    set_option,
    user_id,
)

JOB = "crm_sales.contract_expiry"


def post_contract(client, customer, **fields):
    data = {"title": "Annual maintenance", "customer": str(customer),
            "start_date": "2026-01-01", "end_date": "2026-12-31", "value": "120000",
            "currency": "CNY", "status": "active", **fields}
    return client.post_form(NEW_CONTRACT, data, token_from=NEW_CONTRACT)


def create_contract(client, suite, customer, **fields):
    response = post_contract(client, customer, **fields)
    assert response.status_code == 302, form_errors(response) or page_text(response)[:3000]
    return last_id(suite, "sale_contract")


def contract_row(suite, contract):
    return suite.sql("SELECT number, title, start_date, end_date, status, renewal_of_id, "
                     "value, owner_id FROM sale_contract WHERE id = :c", c=contract)[0]


def as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@pytest.mark.parametrize("start, end, new_start, new_end", [
    ("2026-01-01", "2026-12-31", "2027-01-01", "2027-12-31"),   # a year
    ("2027-01-01", "2027-12-31", "2028-01-01", "2028-12-31"),   # into a leap year
    ("2026-02-01", "2026-02-28", "2026-03-01", "2026-03-31"),   # a month stays a month
    ("2026-01-31", "2026-04-29", "2026-04-30", "2026-07-29"),   # three months from the 31st
    ("2026-03-10", "2026-04-05", "2026-04-06", "2026-05-02"),   # 27 days stay 27 days
    ("2026-05-01", "2026-05-01", "2026-05-02", "2026-05-02"),   # one day
])
def test_renewal_keeps_the_length(start, end, new_start, new_end):
    assert renewal_period(date.fromisoformat(start), date.fromisoformat(end)) == (
        date.fromisoformat(new_start), date.fromisoformat(new_end))


def test_add_months_ends_on_short_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_contract_form_errors_save_nothing(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Strict Ltd")
    other = create_customer(admin, sales_suite, "Someone Else")
    foreign_quote = create_quote(admin, sales_suite, other, [
        {"description": "x", "quantity": "1", "unit_price": "1"}])
    cases = [
        ({"end_date": "2025-12-31"}, "A contract cannot end before it starts."),
        ({"value": "-1"}, "The value cannot be negative."),
        ({"value": "abc"}, "Not a valid decimal value."),
        ({"quote": str(foreign_quote)}, "This document is another customer's."),
        ({"start_date": "31/12/2026"}, "Enter a date as YYYY-MM-DD."),
    ]
    for fields, message in cases:
        response = post_contract(admin, customer, **fields)
        assert response.status_code == 200, fields
        assert message in form_errors(response), (fields, form_errors(response))
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_contract")[0][0] == 0
    # An end on the start day is fine; no end at all too.
    create_contract(admin, sales_suite, customer, end_date="2026-01-01")
    create_contract(admin, sales_suite, customer, end_date="")
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_contract")[0][0] == 2


def test_list_prefill_and_printed_contract(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "深圳前海科技有限公司", city="深圳市",
                               district="南山区", street="科技园路1号")
    quote = create_quote(admin, sales_suite, customer, [
        {"description": "Platform", "quantity": "1", "unit_price": "100000",
         "tax_rate": "6"}])
    form = page_text(admin.get(f"{NEW_CONTRACT}?quote={quote}"))
    assert 'name="value" step="any" type="number" value="106000.00"' in form
    assert f'name="customer" type="hidden" value="{customer}"' in form
    contract = create_contract(admin, sales_suite, customer, quote=str(quote),
                               payment_terms="50% on signing, 50% on acceptance",
                               signed_on="2025-12-20", terms="第一条 服务内容\nSecond article.")
    number = contract_row(sales_suite, contract).number
    assert number == f"CT{date.today().year}-00001"
    listing = page_text(admin.get(f"{CONTRACTS}?search=前海"))
    assert number in listing and "Annual maintenance" in listing and "CNY 120,000.00" in listing

    response = admin.get(f"{CONTRACTS}pdf/?id={contract}")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{number}.pdf"'
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in [number, "Annual maintenance", "深圳前海科技有限公司", "南山区",
                     "2026-01-01", "2026-12-31", "2025-12-20", "CNY 120,000.00",
                     "壹拾贰万元整", "50% on signing", "第一条 服务内容", "PARTY A",
                     "PARTY B", "For the customer", "Authorised signature", "1 / 1"]:
        assert expected in text, expected
    fonts = {str(font.get_object()["/BaseFont"]) for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("CJK" in name for name in fonts)


def test_renew_makes_the_next_contract(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Loyal Ltd")
    contract = create_contract(admin, sales_suite, customer)
    details = f"{CONTRACTS}details/?id={contract}"
    assert "/renew/?id=" in page_text(admin.get(details))
    response = admin.post_form(f"{CONTRACTS}renew/?id={contract}", {}, token_from=details)
    following = last_id(sales_suite, "sale_contract")
    assert response.headers["Location"].endswith(f"/admin/contract/edit/?id={following}")
    old, new = contract_row(sales_suite, contract), contract_row(sales_suite, following)
    assert old.status == "renewed"
    assert (new.title, as_date(new.start_date), as_date(new.end_date), new.status,
            new.renewal_of_id) == ("Annual maintenance", date(2027, 1, 1), date(2027, 12, 31),
                                   "draft", contract)
    assert new.number != old.number
    # Each lists the chain; a renewed contract is not renewed twice.
    assert old.number in page_text(admin.get(f"{CONTRACTS}details/?id={following}"))
    assert "/renew/?id=" not in page_text(admin.get(details))
    again = admin.post_form(f"{CONTRACTS}renew/?id={contract}", {}, token_from=details)
    assert "“Renew” cannot be done from there" in flashes(admin, again)
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_contract")[0][0] == 2


def run_job(suite):
    result = suite.run("run-job", JOB)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_expiry_job_reminds_once_and_ends_or_renews(sales_suite):
    set_option(sales_suite, "contract_reminder_days", "30")
    admin = sales_suite.admin_client()
    add_user(sales_suite, "ann", "sales_user", "contacts_user")
    ann = user_id(sales_suite, "ann")
    customer = create_customer(admin, sales_suite, "Renewals Inc")
    today = date.today()

    def contract(title, start, end, **fields):
        return create_contract(admin, sales_suite, customer, title=title, owner=str(ann),
                               start_date=start.isoformat(), end_date=end.isoformat(),
                               **fields)

    soon = contract("Ends soon", today - timedelta(days=300), today + timedelta(days=10))
    contract("Ends today", today - timedelta(days=30), today)
    contract("Later", today - timedelta(days=300), today + timedelta(days=40))
    contract("Draft", today, today + timedelta(days=5), status="draft")
    lapsed = contract("Lapsed", today - timedelta(days=365), today - timedelta(days=1))
    rolling = contract("Rolling", today - timedelta(days=100), today - timedelta(days=1),
                       auto_renew="y")

    assert run_job(sales_suite) == f"{JOB}: ok 2 expiry reminders, 1 contract expired, 1 renewed"
    reminders = sales_suite.sql("SELECT user_id, title, body, link, key FROM core_notification")
    soon_row = contract_row(sales_suite, soon)
    first = next(r for r in reminders if r.link.endswith(f"={soon}"))
    assert (first.user_id, first.link, first.key) == (
        ann, f"/admin/contract/details/?id={soon}",
        f"contract:{soon}:expiry:{(today + timedelta(days=10)).isoformat()}")
    assert first.title == f"Contract ends soon: {soon_row.number} Ends soon"
    assert first.body == f"It ends on {(today + timedelta(days=10)).isoformat()}."
    assert sorted(r.title.split()[-1] for r in reminders) == ["soon", "today"]

    assert contract_row(sales_suite, lapsed).status == "expired"
    assert contract_row(sales_suite, rolling).status == "renewed"
    renewal = sales_suite.sql("SELECT id, start_date, end_date, status, owner_id FROM "
                              "sale_contract WHERE renewal_of_id = :c", c=rolling)[0]
    # 100 days, to yesterday: the renewal runs 100 days from today.
    assert (as_date(renewal.start_date), as_date(renewal.end_date), renewal.status,
            renewal.owner_id) == (today, today + timedelta(days=99), "active", ann)

    # The next run reminds no one again and changes nothing.
    assert run_job(sales_suite) == f"{JOB}: ok 0 expiry reminders, 0 contracts expired, 0 renewed"
    assert sales_suite.sql("SELECT COUNT(*) FROM core_notification")[0][0] == 2
