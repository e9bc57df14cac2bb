"""Settings > Addon settings and Settings > Approvals, as people read them in English and
Chinese."""
import html


def test_the_discount_that_needs_approval_is_a_policy_in_both_languages(sales_suite):
    """The discount above which a quote needs approval is no longer a setting but the
    condition of the approval policy "Quote discount". The label of what it tests has a
    "%": it must not go through gettext's formatting (garbled in English, a 500 in
    Chinese)."""
    suite = sales_suite
    admin = suite.admin_client()
    page = html.unescape(admin.get("/admin/addon-settings/").get_data(as_text=True))
    assert "Days a new quote is valid" in page and "Discount %" not in page
    policy, value = suite.sql("SELECT p.id, c.value FROM core_approval_policy p "
                              "JOIN core_approval_condition c ON c.policy_id = p.id "
                              "WHERE p.addon = 'crm_sales' AND p.key = 'quote_discount' "
                              "AND c.field = 'largest_discount'")[0]
    assert value == "15"
    edit = f"/admin/approval-policies/edit/?id={policy}"
    page = html.unescape(admin.get(edit).get_data(as_text=True))
    assert "Largest discount %" in page
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    chinese = suite.admin_client()
    for path in ("/admin/addon-settings/", edit):
        assert chinese.get(path).status_code == 200, path
    assert "最大折扣 %" in html.unescape(chinese.get(edit).get_data(as_text=True))
