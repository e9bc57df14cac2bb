from tests.addons.conftest import addon_suite
def test_demo(tmp_path, database_url):
    s = addon_suite(tmp_path, database_url, ["crm_contacts"], demo=True)
    print(s.sql("select count(*) from crm_customer"), s.sql("select count(*) from crm_contact"), s.sql("select count(*) from crm_activity"))
    c = s.admin_client()
    for url in ["/admin/customer/", "/admin/customer/details/?id=3", "/admin/contact/", "/admin/activity/", "/admin/region/", "/admin/search/?q=上海", "/admin/calendar/"]:
        r = c.get(url); assert r.status_code == 200, (url, r.get_data(as_text=True)[-1500:])
    print(c.get("/admin/search/?q=上海").get_data(as_text=True).count("list-group-item"))
    s.close()
