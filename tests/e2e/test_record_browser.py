"""The record page in a real browser: from a deal to its quote (customer carried over),
Save staying on the saved record, the look-up box in Chinese, the quote in the deal's Quotes panel, and a note
posted on the feed, in Chinese."""
from tests.addons.conftest import addon_suite
from tests.addons.crm_sales.pipeline_helpers import add_opportunity, make_customer, stage_ids
from tests.e2e.conftest import playwright, serve, signed_in

expect = playwright.expect


def test_from_a_deal_to_its_quote_and_a_note_on_the_feed(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_sales"])
    try:
        admin = suite.admin_client()
        acme = make_customer(admin, suite, "Acme Trading")
        deal = add_opportunity(admin, suite, "Routers", acme, stage_ids(suite)["Qualification"])
        suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
        with serve(suite) as site, signed_in(site) as tab:
            tab.goto(f"{site}/admin/opportunity/details/?id={deal}")
            expect(tab.locator(".crm-statusbar .crm-step-current")).to_have_text("初步接洽")
            tab.click("text=新建报价单")
            tab.wait_for_url("**/admin/quote/new/**")
            # The deal's customer came with it.
            expect(tab.locator("#s2id_customer")).to_contain_text("Acme Trading")
            # Its look-up box speaks the page's language (Select2's own words are English).
            tab.click("#s2id_customer a")
            tab.keyboard.type("没有这家")
            expect(tab.locator(".select2-drop-active .select2-no-results")).to_have_text(
                "没有找到匹配项")
            tab.keyboard.press("Escape")
            tab.click("#lines-add")
            tab.fill("#lines-0-description", "Router")
            tab.fill("#lines-0-unit_price", "100")
            tab.click("input[type=submit][value='保存']")
            # Save stays on the record: the quote's own page, not the list.
            tab.wait_for_url("**/admin/quote/details/**")
            expect(tab.locator(".crm-record-title")).to_contain_text("Q")
            tab.click(".crm-record-sheet a:has-text('Routers')")   # the deal is a link
            tab.wait_for_url(f"**/admin/opportunity/details/?id={deal}")
            expect(tab.locator(".crm-panel:has-text('报价单') table")).to_contain_text("草稿")

            tab.fill("#crm-note-body", "客户要求下周报价 <b>加急</b>")
            tab.click("text=发布备注")
            tab.wait_for_url("**#feed")
            note = tab.locator(".crm-feed-note").first
            expect(note).to_contain_text("客户要求下周报价 <b>加急</b>")   # as typed, not markup
            expect(tab.locator(".crm-feed-items")).to_contain_text("创建")
            assert tab.errors == []
    finally:
        suite.close()
