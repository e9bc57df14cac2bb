"""Quotes through the screens: the form and its lines, states, approval, versions, the
order an accepted quote becomes, and the daily expiry job."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.addons.crm_sales.quote_helpers import (
    NEW_QUOTE,
    QUOTES,
    act,
    add_user,
    create_customer,
    create_product,
    create_quote,
    flashes,
    form_errors,
    last_id,
    page_text,
    post_quote,
    quote_row,
    set_option,
    team,
    user_id,
)


def cents(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


def line(description="Consulting", quantity="1", unit_price="100", discount="0",
         tax_rate="13"):
    return {"description": description, "quantity": quantity, "unit_price": unit_price,
            "discount": discount, "tax_rate": tax_rate}


def test_form_defaults_list_and_search(sales_suite):
    set_option(sales_suite, "quote_validity_days", "10")
    set_option(sales_suite, "quote_terms", "Payment within 30 days.")
    admin = sales_suite.admin_client()
    page = page_text(admin.get(NEW_QUOTE))
    assert f'value="{(date.today() + timedelta(days=10)).isoformat()}"' in page
    assert "Payment within 30 days." in page
    acme = create_customer(admin, sales_suite, "Acme Trading")
    other = create_customer(admin, sales_suite, "Zenith Works")
    first = create_quote(admin, sales_suite, acme, [line()])
    create_quote(admin, sales_suite, other, [line(unit_price="50")])
    number = quote_row(sales_suite, first).number
    assert number == f"Q{date.today().year}-00001"

    listing = page_text(admin.get(QUOTES))
    assert number in listing and "Acme Trading" in listing and "Zenith Works" in listing
    assert "CNY 113.00" in listing
    by_number = page_text(admin.get(f"{QUOTES}?search={number}"))
    assert "Acme Trading" in by_number and "Zenith Works" not in by_number
    by_customer = page_text(admin.get(f"{QUOTES}?search=Zenith"))
    assert "Zenith Works" in by_customer and "Acme Trading" not in by_customer
    drafts = page_text(admin.get(f"{QUOTES}?flt0_state_equals=draft"))
    assert "Acme Trading" in drafts
    # The list loads its customers, opportunities and owners with the rows: no query
    # per row.
    create_quote(admin, sales_suite, other, [line()])
    assert len(admin.queries(QUOTES)) <= 12


def test_lines_take_price_tax_and_name_from_the_product(sales_suite):
    admin = sales_suite.admin_client()
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    customer = create_customer(ann, sales_suite, "Priced Ltd", grade="A")
    product = create_product(admin, sales_suite, "WID-1", "Widget", "100.00", tax_rate="6")
    # The customer's own price list wins over the product's price.
    sales_suite.sql("INSERT INTO sale_price_list (name, customer_id, active) "
                    "VALUES ('Priced special', :c, :t)", c=customer, t=True)
    sales_suite.sql("INSERT INTO sale_price_list_item (price_list_id, product_id, price) "
                    "VALUES (:l, :p, 80)", l=last_id(sales_suite, "sale_price_list"), p=product)
    quote = create_quote(ann, sales_suite, customer, [
        {"product": product, "quantity": "2"},
        {"product": product, "quantity": "1", "unit_price": "95", "tax_rate": "13",
         "description": "Widget, blue"}])
    rows = sales_suite.sql("SELECT description, unit_price, tax_rate, subtotal FROM "
                           "sale_quote_line WHERE quote_id = :q ORDER BY sequence", q=quote)
    assert [(d, cents(p), cents(t), cents(s)) for d, p, t, s in rows] == [
        ("Widget", Decimal("80.00"), Decimal("6.00"), Decimal("160.00")),
        ("Widget, blue", Decimal("95.00"), Decimal("13.00"), Decimal("95.00"))]
    row = quote_row(sales_suite, quote)
    assert (cents(row.subtotal), cents(row.tax), cents(row.total)) == (
        Decimal("255.00"), Decimal("21.95"), Decimal("276.95"))


def test_bad_lines_are_refused_on_their_field_and_nothing_is_saved(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Careful Co")
    cases = [
        (line(quantity="-2"), "The quantity must be more than 0."),
        (line(quantity="0"), "The quantity must be more than 0."),
        (line(quantity=""), "Enter a quantity."),
        (line(discount="150"), "A discount is between 0 and 100 %."),
        (line(discount="-1"), "A discount is between 0 and 100 %."),
        (line(unit_price="-5"), "A price cannot be negative."),
        (line(unit_price="9.999"), "At most 2 decimal places."),
        (line(tax_rate="101"), "A tax rate is between 0 and 100 %."),
        (line(unit_price=""), "Give a price or choose a product."),
        (line(description=""), "Describe the line or choose a product."),
        (line(quantity="abc"), "Not a valid decimal value."),
    ]
    for bad, message in cases:
        response = post_quote(admin, customer, [line(), bad])
        assert response.status_code == 200, (bad, message)
        assert message in form_errors(response), (bad, form_errors(response))
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_quote")[0][0] == 0
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_quote_line")[0][0] == 0
    # A validity date before the quote's own date, a contact of another customer.
    response = post_quote(admin, customer, [line()],
                          valid_until=(date.today() - timedelta(days=1)).isoformat())
    assert "A quote cannot expire before its date." in form_errors(response)
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_quote")[0][0] == 0


def test_editing_a_draft_recomputes_and_removes_lines(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Editable Ltd")
    quote = create_quote(admin, sales_suite, customer, [line(), line("Travel", "2", "50")])
    ids = [row[0] for row in sales_suite.sql(
        "SELECT id FROM sale_quote_line WHERE quote_id = :q ORDER BY sequence", q=quote)]
    edit = f"{QUOTES}edit/?id={quote}"
    form = page_text(admin.get(edit))
    assert 'name="lines-1-description"' in form and 'value="Travel"' in form
    response = post_quote(admin, customer, [
        {**line(quantity="3"), "id": ids[0]}, {**line("Travel", "2", "50"), "id": ids[1]}],
        path=edit, **{"del-lines-1": "y"})
    assert response.status_code == 302, form_errors(response)
    row = quote_row(sales_suite, quote)
    assert cents(row.total) == Decimal("339.00")
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_quote_line WHERE quote_id = :q",
                           q=quote)[0][0] == 1


def test_lines_are_added_in_the_browser(sales_suite):
    """The lines table's "Add line" and "remove" work under the CSP, and the product
    look-up fills the line (Chromium through Playwright, where installed)."""
    e2e = pytest.importorskip("tests.e2e.conftest")
    if not e2e.CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Browser Buyers")
    quote = create_quote(admin, sales_suite, customer, [line()])
    create_product(admin, sales_suite, "PEN-1", "Fountain pen", "2.50", tax_rate="13")
    with e2e.serve(sales_suite) as site, e2e.signed_in(site) as tab:
        tab.goto(f"{site}/admin/quote/edit/?id={quote}")
        tab.click("#lines-add")
        tab.click("#lines-add")
        tab.locator("#lines-2 .crm-line-remove").click()
        assert tab.locator("#lines-2").count() == 0
        tab.locator("#s2id_lines-1-product").click()
        tab.keyboard.type("PEN")
        tab.wait_for_selector("text=PEN-1 Fountain pen", timeout=10000)
        tab.keyboard.press("Enter")
        tab.fill("#lines-1-quantity", "4")
        with tab.expect_navigation():
            tab.locator("input[type=submit][value=Save]").click()
        assert tab.errors == []
    rows = sales_suite.sql("SELECT description, quantity, unit_price, tax_rate FROM "
                           "sale_quote_line WHERE quote_id = :q ORDER BY sequence", q=quote)
    assert [(d, cents(q), cents(p), cents(t)) for d, q, p, t in rows] == [
        ("Consulting", Decimal("1.00"), Decimal("100.00"), Decimal("13.00")),
        ("Fountain pen", Decimal("4.00"), Decimal("2.50"), Decimal("13.00"))]


def test_only_a_draft_can_be_edited(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Frozen Ltd")
    quote = create_quote(admin, sales_suite, customer, [line()])
    assert "marked as sent" in flashes(admin, act(admin, quote, "mark-sent"))
    assert quote_row(sales_suite, quote).state == "sent"
    response = admin.get(f"{QUOTES}edit/?id={quote}")
    assert response.status_code == 302
    assert "can no longer be changed" in flashes(admin, response)
    response = post_quote(admin, customer, [line(unit_price="1")],
                          path=f"{QUOTES}edit/?id={quote}")
    assert response.status_code == 302
    assert cents(quote_row(sales_suite, quote).total) == Decimal("113.00")


def test_states_follow_the_customers_answer(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Answer Co")
    empty = create_quote(admin, sales_suite, customer, [])
    assert "Add at least one line" in flashes(admin, act(admin, empty, "mark-sent"))
    assert quote_row(sales_suite, empty).state == "draft"
    quote = create_quote(admin, sales_suite, customer, [line()])
    refused = "“Accept” cannot be done from there."
    assert refused in flashes(admin, act(admin, quote, "transition/accept"))
    act(admin, quote, "mark-sent")
    row = quote_row(sales_suite, quote)
    assert row.state == "sent" and row.sent_at is not None
    page = page_text(admin.get(f"{QUOTES}details/?id={quote}"))
    assert "Accept</button>" in page and "Reject</button>" in page
    act(admin, quote, "transition/reject")
    assert quote_row(sales_suite, quote).state == "rejected"
    assert refused in flashes(admin, act(admin, quote, "transition/accept"))
    assert quote_row(sales_suite, quote).state == "rejected"


def test_a_large_discount_needs_a_managers_approval(sales_suite):
    """The approval policy "Quote discount" (a line discount above 15 %, decided by a
    sales manager who can see the quote), through the approval engine."""
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    mia = add_user(sales_suite, "mia", "sales_manager", "contacts_user")
    bob = add_user(sales_suite, "bob", "sales_user", "contacts_user")
    team(sales_suite, "East", user_id(sales_suite, "mia"), [user_id(sales_suite, "ann"),
                                                            user_id(sales_suite, "bob")])
    customer = create_customer(ann, sales_suite, "Bargain Hunters")
    quote = create_quote(ann, sales_suite, customer, [line(discount="10"),
                                                      line("Support", discount="20")])
    details = f"{QUOTES}details/?id={quote}"
    edit = f"{QUOTES}edit/?id={quote}"
    ids = [r[0] for r in sales_suite.sql(
        "SELECT id FROM sale_quote_line WHERE quote_id = :q ORDER BY sequence", q=quote)]
    assert "to be requested" in page_text(ann.get(details))

    # Not sendable without approval, neither by hand nor by email.
    assert "needs approval first" in flashes(ann, act(ann, quote, "mark-sent"))
    assert "needs approval first" in flashes(ann, ann.get(f"{QUOTES}send/?id={quote}"))
    assert quote_row(sales_suite, quote).state == "draft"

    assert "Approval requested" in flashes(ann, act(ann, quote, "request-approval"))
    assert quote_row(sales_suite, quote).approval == "pending"
    assert "/approve/?id=" not in page_text(ann.get(details))
    assert "You are not an approver of this step." in flashes(ann, act(ann, quote, "approve"))
    # A salesperson of the same team may see nothing of it, let alone approve it.
    assert act(bob, quote, "approve", page=QUOTES).status_code == 404
    assert quote_row(sales_suite, quote).approval == "pending"
    assert "Waiting for approval" in flashes(ann, act(ann, quote, "mark-sent"))
    # While it waits, its lines are locked; the rest of the quote is not.
    response = post_quote(ann, customer, [{**line(discount="10"), "id": ids[0]},
                                          {**line("Support", discount="5"), "id": ids[1]}],
                          path=edit)
    assert response.status_code == 200
    assert "cannot change until it is decided" in page_text(response)
    response = post_quote(ann, customer, [{**line(discount="10"), "id": ids[0]},
                                          {**line("Support", discount="20"), "id": ids[1]}],
                          path=edit, notes="Asked for a better price")
    assert response.status_code == 302, form_errors(response)
    assert quote_row(sales_suite, quote).approval == "pending"

    assert '/approve/?id=' in page_text(mia.get(details))
    assert "Approved." in flashes(mia, act(mia, quote, "approve"))
    row = sales_suite.sql("SELECT approval, approved_by_id FROM sale_quote WHERE id = :q",
                          q=quote)[0]
    assert tuple(row) == ("approved", user_id(sales_suite, "mia"))

    # Changing the lines of an approved quote starts its approval again.
    response = post_quote(ann, customer, [
        {**line(discount="10"), "id": ids[0]},
        {**line("Support", discount="25"), "id": ids[1]}], path=edit)
    assert response.status_code == 302, form_errors(response)
    row = sales_suite.sql("SELECT approval, approved_by_id FROM sale_quote WHERE id = :q",
                          q=quote)[0]
    assert tuple(row) == ("pending", None)
    assert "Waiting for approval" in flashes(ann, act(ann, quote, "mark-sent"))
    # A refusal says why.
    assert "Say why you reject it." in flashes(mia, act(mia, quote, "refuse"))
    act(mia, quote, "refuse", comment="25 % is too much")
    assert quote_row(sales_suite, quote).approval == "refused"
    assert "25 % is too much" in page_text(ann.get(details))
    assert "needs approval first" in flashes(ann, act(ann, quote, "mark-sent"))
    act(ann, quote, "request-approval")
    act(mia, quote, "approve")
    assert "marked as sent" in flashes(ann, act(ann, quote, "mark-sent"))
    assert quote_row(sales_suite, quote).state == "sent"

    # Within the limit, no approval at all.
    small = create_quote(ann, sales_suite, customer, [line(discount="15")])
    act(ann, small, "mark-sent")
    assert quote_row(sales_suite, small)[2:4] == ("sent", "not needed")


def test_revise_makes_the_next_version_and_keeps_the_old_one(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Revision Ltd")
    first = create_quote(admin, sales_suite, customer, [line(), line("Travel", "2", "50")])
    assert "“Revise” cannot be done from there." in flashes(admin, act(admin, first, "revise"))
    act(admin, first, "mark-sent")
    response = act(admin, first, "revise")
    second = last_id(sales_suite, "sale_quote")
    assert response.headers["Location"].endswith(f"/admin/quote/edit/?id={second}")
    old, new = quote_row(sales_suite, first), quote_row(sales_suite, second)
    assert (old.state, old.version) == ("revised", 1)
    assert (new.number, new.version, new.state, new.previous_id) == (
        old.number, 2, "draft", first)
    assert cents(new.total) == cents(old.total) == Decimal("226.00")
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_quote_line WHERE quote_id = :q",
                           q=second)[0][0] == 2
    # The old version stays readable, and each lists both.
    for quote in (first, second):
        page = page_text(admin.get(f"{QUOTES}details/?id={quote}"))
        assert f"{old.number} v2" in page and "revised" in page
    # The new draft is edited and sent; the revised one can no longer change.
    assert "can no longer be changed" in flashes(admin, admin.get(f"{QUOTES}edit/?id={first}"))
    act(admin, second, "mark-sent")
    act(admin, second, "transition/reject")
    act(admin, second, "revise")
    assert quote_row(sales_suite, last_id(sales_suite, "sale_quote")).version == 3


def test_an_accepted_quote_becomes_one_order(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Ordering Co")
    product = create_product(admin, sales_suite, "KIT-9", "Starter kit", "199.00")
    quote = create_quote(admin, sales_suite, customer, [
        {"product": product, "quantity": "3", "discount": "12.5"}, line("Install", "1.5")],
        currency="USD")
    act(admin, quote, "mark-sent")
    assert "Only an accepted quote" in flashes(admin, act(admin, quote, "create-order"))
    act(admin, quote, "transition/accept")
    assert "Create order" in page_text(admin.get(f"{QUOTES}details/?id={quote}"))
    response = act(admin, quote, "create-order")
    order = last_id(sales_suite, "sale_order")
    assert response.headers["Location"].endswith(f"/admin/sales-order/details/?id={order}")
    row = sales_suite.sql("SELECT customer_id, quote_id, currency, subtotal, tax, total, "
                          "owner_id FROM sale_order WHERE id = :o", o=order)[0]
    quoted = quote_row(sales_suite, quote)
    assert (row.customer_id, row.quote_id, row.currency, row.owner_id) == (
        customer, quote, "USD", quoted.owner_id)
    assert (cents(row.subtotal), cents(row.tax), cents(row.total)) == (
        cents(quoted.subtotal), cents(quoted.tax), cents(quoted.total))
    lines = sales_suite.sql("SELECT product_id, description, quantity, unit_price, discount, "
                            "tax_rate FROM sale_order_line WHERE order_id = :o "
                            "ORDER BY sequence", o=order)
    assert [(p, d, Decimal(str(q)).normalize(), cents(u), cents(di), cents(t))
            for p, d, q, u, di, t in lines] == [
        (product, "Starter kit", Decimal("3"), Decimal("199.00"), Decimal("12.50"),
         Decimal("13.00")),
        (None, "Install", Decimal("1.5"), Decimal("100.00"), Decimal("0.00"), Decimal("13.00"))]
    # A second click opens the same order.
    again = act(admin, quote, "create-order")
    assert again.headers["Location"].endswith(f"/admin/sales-order/details/?id={order}")
    assert sales_suite.sql("SELECT COUNT(*) FROM sale_order")[0][0] == 1


def test_salespeople_see_and_act_on_their_own_quotes_only(sales_suite):
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    bob = add_user(sales_suite, "bob", "sales_user", "contacts_user")
    customer = create_customer(ann, sales_suite, "Ann's Customer")
    quote = create_quote(ann, sales_suite, customer, [line()])
    assert quote_row(sales_suite, quote).owner_id == user_id(sales_suite, "ann")
    assert bob.get(f"{QUOTES}details/?id={quote}").status_code == 404
    assert bob.get(f"{QUOTES}pdf/?id={quote}").status_code == 404
    assert act(bob, quote, "mark-sent", page=QUOTES).status_code == 404
    assert quote_row(sales_suite, quote).state == "draft"
    assert "Ann&#39;s Customer" not in page_text(bob.get(QUOTES))


def test_expiry_job_expires_only_sent_quotes_past_their_date(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Slow Deciders")
    quotes = [create_quote(admin, sales_suite, customer, [line()]) for _ in range(4)]
    for quote in quotes[:3]:
        act(admin, quote, "mark-sent")
    yesterday, today = date.today() - timedelta(days=1), date.today()
    for quote, valid_until in zip(quotes, (yesterday, today, None, yesterday)):
        sales_suite.sql("UPDATE sale_quote SET valid_until = :d WHERE id = :q", d=valid_until,
                        q=quote)
    result = sales_suite.run("run-job", "crm_sales.expire_quotes")
    assert result.exit_code == 0, result.output
    assert "1 quote expired" in result.output
    assert [quote_row(sales_suite, q).state for q in quotes] == ["expired", "sent", "sent",
                                                                 "draft"]
    # Recorded in the audit trail like any change, and nothing more on a second run.
    assert sales_suite.sql("SELECT COUNT(*) FROM core_audit WHERE model = 'Quote' AND "
                           "record_id = :q AND changes LIKE '%expired%'", q=quotes[0])[0][0] == 1
    assert "0 quotes expired" in sales_suite.run("run-job", "crm_sales.expire_quotes").output
    # An expired quote can be revised into a new offer.
    act(admin, quotes[0], "revise")
    assert quote_row(sales_suite, quotes[0]).state == "revised"
