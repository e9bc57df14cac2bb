"""The record page every screen inherits (core/record.py), seen on Sales' records: the
header with its status bar and actions, values as people read them, the feed (changes
in words, notes, activities), save staying on the record, and the flows from a customer
and a deal to the next step."""
import html
import re

from tests.addons.crm_sales.order_helpers import flashes, text
from tests.addons.crm_sales.pipeline_helpers import (
    NEW, add_opportunity, add_user, make_customer, opportunity_form, stage_ids, user_id)


def visible(response):
    """The page's text as a reader sees it (tags out, entities decoded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", text(response), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def feed_of(response):
    match = re.search(r'<section id="feed".*?</section>', text(response), re.S)
    assert match, "no feed on the page"
    words = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))))
    return words.replace(" :", ":")


def test_the_record_page_reads_as_a_work_page_and_its_feed_in_words(sales_suite):
    suite = sales_suite
    admin = suite.admin_client()
    add_user(suite, "ann", "sales_user", "contacts_user")
    suite.sql("UPDATE core_user SET full_name = 'Ann Lee' WHERE username = 'ann'")
    acme = make_customer(admin, suite, "Acme")
    stages = stage_ids(suite)
    deal = add_opportunity(admin, suite, "Big deal", acme, stages["Qualification"])
    page = f"/admin/opportunity/details/?id={deal}"

    # Save stays on the record; "Save and new" opens an empty form.
    edit = f"/admin/opportunity/edit/?id={deal}"
    saved = admin.post_form(edit, opportunity_form(
        "Big deal", acme, stages["Proposal"], amount="2500.5",
        owner=user_id(suite, "ann")), token_from=edit)
    assert saved.status_code == 302, flashes(saved)
    assert f"/admin/opportunity/details/?id={deal}" in saved.headers["Location"]
    again = admin.post_form(edit, {**opportunity_form("Big deal", acme, stages["Proposal"],
                                                      amount="2500.5",
                                                      owner=user_id(suite, "ann")),
                                   "_add_another": "1"}, token_from=edit)
    assert "/admin/opportunity/new/" in again.headers["Location"]

    response = admin.get(page)
    body = text(response)
    assert '<h2 class="crm-record-title mb-2 mr-3">Big deal</h2>' in body
    assert re.search(r'<li class="crm-step-current" aria-current="step">Proposal</li>', body)
    assert re.search(rf'href="/admin/customer/details/\?id={acme}">Acme', body)
    assert f"/admin/quote/new/?opportunity={deal}" in body          # the next step
    assert "Log activity" in body
    seen = visible(response)
    assert "2,500.50 CNY" in seen and "Filter" not in seen

    feed = feed_of(response)
    assert "Owner: admin → Ann Lee" in feed
    assert "Stage: Qualification → Proposal" in feed
    assert "Amount: 1,000.00 CNY → 2,500.50 CNY" in feed
    assert "owner_id" not in feed and "stage_id" not in feed and "_key" not in feed

    # The customer's page: yes/no in words, no internal columns, next steps.
    customer_page = admin.get(f"/admin/customer/details/?id={acme}")
    seen = visible(customer_page)
    assert "Key customer No" in seen and "False" not in seen
    # (the search keys are internal columns; a field's key is in the page's markup only)
    assert "_key" not in seen and not any(f'data-field="{name}_key"' in text(customer_page)
                                          for name in ("name", "phone", "email"))
    for step in (f"/admin/opportunity/new/?customer={acme}",
                 f"/admin/quote/new/?customer={acme}",
                 f"/admin/activity/new/?customer={acme}"):
        assert step in text(customer_page)


def test_notes_are_posted_escaped_and_the_feed_costs_the_same_whatever_its_length(sales_suite):
    suite = sales_suite
    admin = suite.admin_client()
    acme = make_customer(admin, suite, "Acme")
    deal = add_opportunity(admin, suite, "Deal", acme, stage_ids(suite)["Qualification"])
    page = f"/admin/opportunity/details/?id={deal}"
    note = f"/admin/opportunity/note/?id={deal}"

    empty = admin.post_form(note, {"body": "   "}, token_from=page)
    assert suite.sql("SELECT count(*) FROM core_note")[0][0] == 0
    assert "Write the note first." in flashes(admin.get(empty.headers["Location"]))
    posted = admin.post_form(note, {"body": "Called <b>Bob</b>\n50% off?"}, token_from=page)
    assert posted.status_code == 302 and posted.headers["Location"].endswith("#feed")
    body = text(admin.get(page))
    assert "Called &lt;b&gt;Bob&lt;/b&gt;\n50% off?" in body and "<b>Bob</b>" not in body

    def add_history(number):
        admin.post_form(note, {"body": f"note {number}"}, token_from=page)
        suite.sql("INSERT INTO core_audit (at, model, record_id, action, changes) VALUES "
                  "(CURRENT_TIMESTAMP, 'Opportunity', :i, 'update', :c)", i=deal,
                  c='{"amount": ["%d", "%d"]}' % (number, number + 1))
        suite.sql("INSERT INTO crm_activity (kind, subject, customer_id, start_at, status, "
                  "record_model, record_id, owner_id, created_at, updated_at) VALUES "
                  "('call', :s, :c, CURRENT_TIMESTAMP, 'done', 'Opportunity', :i, 1, "
                  "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", s=f"Call {number}", c=acme, i=deal)

    # One of each, then thirty more: the page asks no more queries.
    add_history(0)
    before = admin.queries(page)
    for number in range(1, 31):
        add_history(number)
    after = admin.queries(page)
    from collections import Counter
    assert len(after) == len(before), str((Counter(before) - Counter(after), Counter(after) - Counter(before)))[:3000]
    first = feed_of(admin.get(page))
    assert first.count("Note") >= 1 and "Older" in first
    older = feed_of(admin.get(page + "&feed_page=2"))
    assert "Newer" in older and older != first


def test_from_a_deal_to_its_quote_and_activity_and_back(sales_suite):
    suite = sales_suite
    admin = suite.admin_client()
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    acme = make_customer(admin, suite, "Acme", owner=user_id(suite, "ann"))
    deal = add_opportunity(ann, suite, "Deal", acme, stage_ids(suite)["Qualification"])
    other = add_opportunity(admin, suite, "Not Ann's", acme, stage_ids(suite)["Qualification"])
    page = f"/admin/opportunity/details/?id={deal}"

    quote_form = text(ann.get(f"/admin/quote/new/?opportunity={deal}"))
    assert re.search(rf'name="customer"[^>]*value="{acme}"', quote_form) or \
        re.search(rf'value="{acme}"[^>]*name="customer"', quote_form)

    # An activity logged from the deal's page belongs to it and leads back to it.
    new_activity = f"/admin/activity/new/?regarding=Opportunity:{deal}&url={page}"
    form = text(ann.get(new_activity))
    assert f'value="Opportunity:{deal}"' in form
    response = ann.post_form(new_activity, {
        "kind": "call", "subject": "Discussed price", "customer": str(acme), "contact": "",
        "start_at": "2026-12-09 14:00:00", "end_at": "", "status": "done", "outcome": "",
        "next_follow_up": "", "owner": "", "regarding": f"Opportunity:{deal}",
        "crm_confirmed": "1"}, token_from=new_activity)
    assert response.status_code == 302, flashes(response)
    assert response.headers["Location"].endswith(page)
    assert suite.sql("SELECT record_model, record_id FROM crm_activity") == [("Opportunity", deal)]
    deal_page = ann.get(page)
    assert "Discussed price" in feed_of(deal_page)
    assert "Discussed price" in visible(deal_page).split("Feed")[0]   # the panel too

    # A deal Ann may not read cannot be named: refused, nothing saved.
    sneaky = f"/admin/activity/new/?regarding=Opportunity:{other}"
    response = ann.post_form(sneaky, {
        "kind": "call", "subject": "Sneaky", "customer": str(acme), "contact": "",
        "start_at": "2026-12-09 15:00:00", "end_at": "", "status": "done", "outcome": "",
        "next_follow_up": "", "owner": "", "regarding": f"Opportunity:{other}",
        "crm_confirmed": "1"}, token_from=sneaky)
    assert response.status_code == 200
    assert "was not found" in flashes(response)
    assert suite.sql("SELECT count(*) FROM crm_activity")[0][0] == 1
