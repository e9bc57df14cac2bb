"""`init --demo` with crm_contacts: about 50 customers with contacts and activities, the
screens full of them, and still an administrator login printed once."""
from tests.addons.conftest import ADDONS, addon_suite
from tests.conftest import Suite, write_config


def test_demo_data_fills_the_screens_and_the_admin_login_is_printed(tmp_path, database_url):
    config = write_config(tmp_path / "site", [ADDONS], ["crm_contacts"])
    suite = Suite(config, database_url)
    try:
        result = suite.run("init", "--demo")
        assert result.exit_code == 0, result.output
        assert "Administrator login (shown once): admin / " in result.output
        password = result.output.split("admin / ")[1].split()[0]
        customers = suite.sql("SELECT count(*), count(DISTINCT owner_id) FROM crm_customer")[0]
        assert customers[0] == 50 and customers[1] == 3
        assert suite.sql("SELECT count(*) FROM crm_customer WHERE name LIKE '%公司'")[0][0] >= 30
        assert suite.sql("SELECT count(*) FROM crm_contact")[0][0] >= 40
        assert suite.sql("SELECT count(*) FROM crm_activity")[0][0] >= 50
        client = suite.client()
        client.login("admin", password)
        # The printed login works, and asks for a new password first.
        response = client.get("/admin/customer/")
        assert response.status_code == 302 and "password" in response.headers["Location"]
        again = suite.run("init", "--demo")
        assert "already initialised" in again.output
        assert suite.sql("SELECT count(*) FROM crm_customer")[0][0] == 50
    finally:
        suite.close()


def test_demo_screens_answer(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_contacts"], demo=True)
    client = suite.admin_client()
    for url in ("/admin/customer/", "/admin/customer/details/?id=3", "/admin/contact/",
                "/admin/activity/", "/admin/calendar/", "/admin/calendar/?view=week",
                "/admin/region/", "/admin/competitor/", "/admin/search/?q=上海"):
        assert client.get(url).status_code == 200, url
    assert "上海明远贸易有限公司" in client.get("/admin/search/?q=上海").get_data(as_text=True)
    suite.close()
