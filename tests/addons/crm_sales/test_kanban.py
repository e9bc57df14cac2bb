"""The pipeline board: columns with their totals within the record rules, the card
limit, a constant number of queries, and moves through HTTP, allowed and refused."""
import html
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.addons.crm_contacts.helpers import PASSWORD
from tests.addons.crm_sales.pipeline_helpers import (
    add_opportunity,
    add_user,
    changes_of,
    group_id,
    insert_opportunities,
    make_customer,
    move,
    opportunity_row,
    page_text,
    reason_ids,
    stage_ids,
    user_id,
)

BOARD = "/admin/pipeline/"


def columns(response):
    """{stage id: (count, amount, [card names])} of a board page."""
    found = {}
    for stage, body in re.findall(r'<section class="crm-kanban-column" data-stage="(\d+)"'
                                  r'[^>]*>(.*?)</section>', page_text(response), re.S):
        number = re.search(r'crm-kanban-count">(\d+)<', body).group(1)
        amount = re.search(r'crm-kanban-sum">([^<]*)<', body).group(1)
        cards = re.findall(r'class="crm-kanban-name" href="[^"]*">([^<]*)<', body)
        found[int(stage)] = (int(number), amount, [html.unescape(card) for card in cards])
    return found


def setup_deals(suite):
    """Admin and ann with deals of their own; returns (admin client, ann client, ids)."""
    admin = suite.admin_client()
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    customer = make_customer(ann, suite, "Acme")
    stages = stage_ids(suite)
    ids = {"customer": customer, "ann": user_id(suite, "ann"),
           "admin": user_id(suite, "admin"), **stages}
    ids["ann_deal"] = add_opportunity(ann, suite, "Ann's router", customer,
                                      stages["Qualification"], amount="1200.50")
    ids["admin_deal"] = add_opportunity(admin, suite, "Admin's switch", customer,
                                        stages["Qualification"], amount="800")
    return admin, ann, ids


def test_columns_show_count_and_sum_within_the_rules(sales_suite):
    admin, ann, ids = setup_deals(sales_suite)
    insert_opportunities(sales_suite, 3, ids["customer"], ids["Proposal"], ids["ann"],
                         amount=100.25, prefix="Ann proposal")
    everything = columns(admin.get(BOARD))
    assert list(everything) == [ids[name] for name in ("Qualification", "Needs analysis",
                                                       "Proposal", "Negotiation", "Won",
                                                       "Lost")]
    assert everything[ids["Qualification"]][:2] == (2, "2,000.50")
    assert sorted(everything[ids["Qualification"]][2]) == ["Admin's switch", "Ann's router"]
    assert everything[ids["Proposal"]][:2] == (3, "300.75")
    assert everything[ids["Won"]] == (0, "0.00", [])
    # Ann sees her own deals only, in the cards and in the totals.
    own = columns(ann.get(BOARD))
    assert own[ids["Qualification"]] == (1, "1,200.50", ["Ann's router"])
    assert own[ids["Proposal"]][:2] == (3, "300.75")
    # Mine, and the search box.
    mine = columns(admin.get(BOARD + "?who=mine"))
    assert mine[ids["Qualification"]] == (1, "800.00", ["Admin's switch"])
    assert mine[ids["Proposal"]][0] == 0
    found = columns(admin.get(BOARD + "?q=router"))
    assert found[ids["Qualification"]] == (1, "1,200.50", ["Ann's router"])
    assert columns(admin.get(BOARD + "?q=Acme"))[ids["Qualification"]][0] == 2


def test_my_team_shows_the_deals_of_my_teams(sales_suite):
    admin, ann, ids = setup_deals(sales_suite)
    add_user(sales_suite, "bob", "sales_user", "contacts_user")
    bob_id = user_id(sales_suite, "bob")
    insert_opportunities(sales_suite, 1, ids["customer"], ids["Proposal"], bob_id,
                         prefix="Bob's")
    sales_suite.sql("INSERT INTO core_team (name, leader_id) VALUES ('North', :admin)",
                    admin=ids["admin"])
    sales_suite.sql("INSERT INTO core_team_member (team_id, user_id) "
                    "SELECT id, :ann FROM core_team WHERE name = 'North'", ann=ids["ann"])
    team = columns(admin.get(BOARD + "?who=team"))
    assert sorted(team[ids["Qualification"]][2]) == ["Admin's switch", "Ann's router"]
    assert team[ids["Proposal"]][0] == 0
    assert columns(admin.get(BOARD + "?who=all"))[ids["Proposal"]][0] == 1


def test_a_column_shows_at_most_fifty_cards_and_links_to_the_rest(sales_suite):
    admin, _ann, ids = setup_deals(sales_suite)
    insert_opportunities(sales_suite, 53, ids["customer"], ids["Proposal"], ids["admin"],
                         amount=10)
    sales_suite.sql("UPDATE sale_opportunity SET expected_close = '2026-01-05' "
                    "WHERE name = 'Deal 52'")
    response = admin.get(BOARD)
    number, amount, cards = columns(response)[ids["Proposal"]]
    assert (number, amount, len(cards)) == (53, "530.00", 50)
    assert cards[0] == "Deal 52"   # the soonest close date first
    link = re.search(r'class="crm-kanban-more small" href="([^"]+)">3 more<',
                     page_text(response)).group(1)
    assert parse_qs(urlsplit(html.unescape(link)).query) == {
        "flt0_stage_sale_stage_name_equals": ["Proposal"]}
    listed = page_text(admin.get(html.unescape(link)))
    assert "Deal 52" in listed and "Admin&#39;s switch" not in listed


def test_the_board_runs_the_same_queries_for_5_and_50_deals(sales_suite):
    admin, _ann, ids = setup_deals(sales_suite)
    insert_opportunities(sales_suite, 3, ids["customer"], ids["Proposal"], ids["ann"])
    few = admin.queries(BOARD)
    insert_opportunities(sales_suite, 45, ids["customer"], ids["Negotiation"], ids["ann"],
                         prefix="More")
    insert_opportunities(sales_suite, 5, ids["customer"], ids["Won"], ids["admin"],
                         prefix="Won")
    many = admin.queries(BOARD)
    assert len(many) == len(few)
    assert columns(admin.get(BOARD))[ids["Negotiation"]][0] == 45


def test_a_move_saves_the_stage_and_its_history(sales_suite):
    _admin, ann, ids = setup_deals(sales_suite)
    response = move(ann, ids["ann_deal"], ids["Proposal"])
    assert response.status_code == 200
    assert response.answer["ok"] is True and response.answer["probability"] == 50
    assert response.answer["totals"] == {str(ids["Proposal"]): {"count": 1,
                                                                "amount": "1,200.50"}}
    assert opportunity_row(sales_suite, ids["ann_deal"])[:2] == (ids["Proposal"], 50)
    assert changes_of(sales_suite, ids["ann_deal"]) == [
        (None, ids["Qualification"], ids["ann"]),
        (ids["Qualification"], ids["Proposal"], ids["ann"])]
    # Won through the card's own form (no script): back to the board, closed today.
    response = move(ann, ids["ann_deal"], ids["Won"], as_json=False, who="mine")
    assert response.status_code == 302 and "who=mine" in response.headers["Location"]
    assert opportunity_row(sales_suite, ids["ann_deal"]) == (
        ids["Won"], 100, date.today().isoformat(), None)
    assert changes_of(sales_suite, ids["ann_deal"])[-1] == (ids["Proposal"], ids["Won"],
                                                            ids["ann"])


def test_a_move_of_someone_elses_deal_is_not_found(sales_suite):
    _admin, ann, ids = setup_deals(sales_suite)
    response = move(ann, ids["admin_deal"], ids["Proposal"])
    assert response.status_code == 404
    assert move(ann, 999999, ids["Proposal"]).status_code == 404
    assert opportunity_row(sales_suite, ids["admin_deal"])[0] == ids["Qualification"]
    assert len(changes_of(sales_suite, ids["admin_deal"])) == 1


def test_a_move_without_write_access_is_forbidden(sales_suite):
    _admin, ann, ids = setup_deals(sales_suite)
    sales_suite.sql("UPDATE core_access SET letters = 'r' WHERE model = 'Opportunity' "
                    "AND group_id = :group", group=group_id(sales_suite, "sales_user"))
    assert move(ann, ids["ann_deal"], ids["Proposal"]).status_code == 403
    assert opportunity_row(sales_suite, ids["ann_deal"])[0] == ids["Qualification"]
    page = page_text(ann.get(BOARD))   # the board shows, read-only
    assert "Ann&#39;s router" in page and 'draggable="true" data-id' not in page
    assert 'action="/admin/pipeline/move"' not in page


def test_a_move_into_a_stage_of_another_group_is_forbidden(sales_suite):
    admin, ann, ids = setup_deals(sales_suite)
    sales_suite.sql("UPDATE sale_stage SET group_id = :group WHERE id = :stage",
                    group=group_id(sales_suite, "sales_manager"), stage=ids["Won"])
    response = move(ann, ids["ann_deal"], ids["Won"])
    assert response.status_code == 403
    assert response.answer["ok"] is False and "Only members of" in response.answer["message"]
    response = move(ann, ids["ann_deal"], ids["Won"], as_json=False)
    assert response.status_code == 403 and "Only members of" in page_text(response)
    assert opportunity_row(sales_suite, ids["ann_deal"]) == (ids["Qualification"], 10, None,
                                                             None)
    assert len(changes_of(sales_suite, ids["ann_deal"])) == 1
    # Its members (and administrators) may.
    assert move(admin, ids["ann_deal"], ids["Won"]).status_code == 200


def test_a_lost_deal_needs_its_reason(sales_suite):
    _admin, ann, ids = setup_deals(sales_suite)
    reason = reason_ids(sales_suite)["Price too high"]
    response = move(ann, ids["ann_deal"], ids["Lost"])
    assert response.status_code == 422
    assert response.answer["needs_reason"] is True and "reason" in response.answer["message"]
    # Without the script, a page asks for it.
    response = move(ann, ids["ann_deal"], ids["Lost"], as_json=False)
    assert response.status_code == 422
    assert 'name="lost_reason"' in page_text(response) and "Price too high" in page_text(
        response)
    assert opportunity_row(sales_suite, ids["ann_deal"])[0] == ids["Qualification"]
    assert len(changes_of(sales_suite, ids["ann_deal"])) == 1
    response = move(ann, ids["ann_deal"], ids["Lost"], lost_reason=reason)
    assert response.status_code == 200
    assert opportunity_row(sales_suite, ids["ann_deal"]) == (
        ids["Lost"], 0, date.today().isoformat(), reason)
    assert changes_of(sales_suite, ids["ann_deal"])[-1] == (ids["Qualification"], ids["Lost"],
                                                            ids["ann"])


def test_a_move_needs_the_csrf_token_and_a_stage(sales_suite):
    _admin, ann, ids = setup_deals(sales_suite)
    response = ann.post("/admin/pipeline/move", data={"opportunity": ids["ann_deal"],
                                                      "stage": ids["Proposal"]})
    assert response.status_code == 400
    assert move(ann, ids["ann_deal"], "").status_code == 400
    assert move(ann, ids["ann_deal"], 999999).status_code == 400
    assert opportunity_row(sales_suite, ids["ann_deal"])[0] == ids["Qualification"]


def test_the_boards_inherited_form_pages_are_off(sales_suite):
    """Deals are created and edited on their own screen, with its checks; the board's
    and the dashboard's inherited form pages create or change nothing."""
    admin, _ann, ids = setup_deals(sales_suite)
    for base in ("/admin/pipeline", "/admin/sales-dashboard"):
        assert admin.get(f"{base}/new/").status_code == 302
        response = admin.post_form(f"{base}/new/", {"name": "Sneaky", "customer": ids["customer"],
                                                    "stage": ids["Won"], "amount": "1"})
        assert response.status_code == 302
        response = admin.post_form(f"{base}/edit/?id={ids['admin_deal']}", {
            "name": "Sneaky", "customer": ids["customer"], "stage": ids["Won"], "amount": "1"})
        assert response.status_code == 302
    assert sales_suite.sql("SELECT count(*) FROM sale_opportunity WHERE name = 'Sneaky'") == [
        (0,)]
    assert opportunity_row(sales_suite, ids["admin_deal"])[0] == ids["Qualification"]


def test_drag_and_drop_in_a_browser(sales_suite):
    """The board's script in Chromium: a drop saves, a refused drop puts the card back
    with the reason, a drop on Lost asks for the reason first."""
    pytest.importorskip("playwright.sync_api")
    from tests.e2e.conftest import CHROMIUM, serve, signed_in
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    _admin, _ann, ids = setup_deals(sales_suite)
    sales_suite.sql("UPDATE sale_stage SET group_id = :group WHERE id = :stage",
                    group=group_id(sales_suite, "sales_manager"), stage=ids["Won"])
    card = f'.crm-kanban-card[data-id="{ids["ann_deal"]}"]'

    def column(name):
        return f'.crm-kanban-column[data-stage="{ids[name]}"]'

    with serve(sales_suite) as site, signed_in(site, "ann", PASSWORD) as tab:
        tab.goto(f"{site}{BOARD}")
        tab.drag_and_drop(card, column("Proposal"))
        tab.wait_for_selector(f'{column("Proposal")} .crm-kanban-count:text("1")')
        assert tab.inner_text(f'{column("Proposal")} .crm-kanban-sum') == "1,200.50"
        assert tab.inner_text(f'{column("Qualification")} .crm-kanban-count') == "0"
        assert opportunity_row(sales_suite, ids["ann_deal"])[0] == ids["Proposal"]

        tab.drag_and_drop(card, column("Won"))
        tab.wait_for_selector(".crm-kanban-message.alert-danger", state="attached")
        assert "Only members of" in tab.inner_text(".crm-kanban-message")
        assert tab.locator(f'{column("Proposal")} {card}').count() == 1

        tab.drag_and_drop(card, column("Lost"))
        tab.wait_for_selector(".crm-kanban-reason:not(.d-none)")
        tab.select_option(".crm-kanban-reason select",
                          str(reason_ids(sales_suite)["No budget"]))
        tab.click(".crm-kanban-reason button[type=submit]")
        tab.wait_for_selector(f'{column("Lost")} .crm-kanban-count:text("1")')
        assert tab.locator(f'{column("Lost")} {card}').count() == 1
        assert not [error for error in tab.errors if "status of 4" not in error]
    assert opportunity_row(sales_suite, ids["ann_deal"])[::3] == (
        ids["Lost"], reason_ids(sales_suite)["No budget"])


def card_markup(response, deal):
    page = page_text(response)
    return re.search(rf'<article class="card crm-kanban-card[^"]*"[^>]*data-id="{deal}".*?'
                     r'</article>', page, re.S).group(0)


def test_a_card_shows_amount_date_and_owner_apart_and_no_move_form(sales_suite):
    """Issue 14: the amount and the close date ran together ("180,000.00 CNY2027-01-31")
    and every card carried a "Move" line. Now each fact has its own labelled part, and
    moving is drag and drop or a quiet link to a small page."""
    _admin, ann, ids = setup_deals(sales_suite)
    sales_suite.sql("UPDATE sale_opportunity SET amount = 180000, expected_close = "
                    "'2027-01-31' WHERE id = :id", id=ids["ann_deal"])
    response = ann.get(BOARD)
    card = card_markup(response, ids["ann_deal"])
    amount = re.search(r'<div class="crm-kanban-amount[^"]*">(.*?)</div>', card, re.S).group(1)
    assert re.sub(r"<[^>]+>", " ", amount).split() == ["Amount:", "180,000.00", "CNY"]
    close = re.search(r'<span class="crm-kanban-close[^"]*" title="Expected close">(.*?)'
                      r'</span>\s*(?:<span|</div>)', card, re.S).group(1)
    assert re.sub(r"<[^>]+>", " ", close).split() == ["Expected", "close:", "2027-01-31"]
    assert re.search(r'class="crm-kanban-owner" title="Owner">.*?ann</span>', card, re.S)
    # No form on the cards: a link to the move page, named for screen readers.
    assert "<details" not in page_text(response) and "<form" not in card
    link = re.search(r'<a class="crm-kanban-move-link[^"]*" href="([^"]+)" '
                     r'title="Move to another stage">', card).group(1)
    assert "Move Ann&#39;s router to another stage" in card
    page = ann.get(html.unescape(link))
    assert page.status_code == 200
    form = page_text(page)
    assert f'<option value="{ids["Qualification"]}" selected>Qualification</option>' in form
    assert 'name="lost_reason"' in form and 'action="/admin/pipeline/move"' in form


def test_the_move_page_moves_without_the_script(sales_suite):
    admin, ann, ids = setup_deals(sales_suite)
    # The page posts what the board's drop posts; back to the board, the deal moved.
    response = move(ann, ids["ann_deal"], ids["Proposal"], as_json=False, who="mine")
    assert response.status_code == 302 and "who=mine" in response.headers["Location"]
    assert opportunity_row(sales_suite, ids["ann_deal"])[0] == ids["Proposal"]
    # Someone else's deal is not found; without "w" the page is refused.
    assert ann.get(f"/admin/pipeline/move?opportunity={ids['admin_deal']}").status_code == 404
    sales_suite.sql("UPDATE core_access SET letters = 'r' WHERE model = 'Opportunity' "
                    "AND group_id = :group", group=group_id(sales_suite, "sales_user"))
    assert ann.get(f"/admin/pipeline/move?opportunity={ids['ann_deal']}").status_code == 403
    assert 'class="crm-kanban-move-link' not in page_text(ann.get(BOARD))
    assert admin.get(f"/admin/pipeline/move?opportunity={ids['ann_deal']}").status_code == 200


def test_a_card_and_its_move_link_in_a_browser(sales_suite):
    """In Chromium: amount and close date on lines of their own; the move link reached
    and followed with the keyboard moves the deal."""
    pytest.importorskip("playwright.sync_api")
    from tests.e2e.conftest import CHROMIUM, serve, signed_in
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    _admin, _ann, ids = setup_deals(sales_suite)
    sales_suite.sql("UPDATE sale_opportunity SET amount = 180000, expected_close = "
                    "'2027-01-31' WHERE id = :id", id=ids["ann_deal"])
    card = f'.crm-kanban-card[data-id="{ids["ann_deal"]}"]'
    with serve(sales_suite) as site, signed_in(site, "ann", PASSWORD) as tab:
        tab.goto(f"{site}{BOARD}")
        amount = tab.locator(f"{card} .crm-kanban-amount").bounding_box()
        close = tab.locator(f"{card} .crm-kanban-close").bounding_box()
        assert close["y"] >= amount["y"] + amount["height"] - 1   # a line below
        # (after "Amount:", which only screen readers show)
        assert tab.inner_text(f"{card} .crm-kanban-amount").split("\n")[-1] == "180,000.00 CNY"
        assert tab.locator(f"{card} details, {card} select").count() == 0
        tab.focus(f"{card} .crm-kanban-move-link")
        tab.keyboard.press("Enter")
        tab.wait_for_selector("form.crm-move-form")
        tab.select_option("#stage", str(ids["Proposal"]))
        tab.focus("form.crm-move-form button[type=submit]")
        tab.keyboard.press("Enter")
        tab.wait_for_selector(f'.crm-kanban-column[data-stage="{ids["Proposal"]}"] {card}')
        assert tab.errors == []
    assert opportunity_row(sales_suite, ids["ann_deal"])[0] == ids["Proposal"]
