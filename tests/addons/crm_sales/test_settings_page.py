"""Settings > Addon settings, as people read it in English and Chinese."""
import html
import re


def test_addon_settings_show_a_percent_sign_in_both_languages(sales_suite):
    """A manifest's label with a "%" went through gettext: garbled in English (a format
    code), 500 in Chinese."""
    suite = sales_suite
    admin = suite.admin_client()
    page = html.unescape(admin.get("/admin/addon-settings/").get_data(as_text=True))
    assert "Discount % above which a quote needs a sales manager's approval" in page
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    response = suite.admin_client().get("/admin/addon-settings/")
    assert response.status_code == 200
    assert "%" in re.search(r'for="crm_sales:approval_discount">([^<]*)<',
                            response.get_data(as_text=True)).group(1)
