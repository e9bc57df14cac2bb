"""Settings > Company: the details printed on documents, and the logo."""
import io

from tests.conftest import ADMIN_PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PAGE = "/admin/company/"


def test_company_details_are_saved_and_the_logo_kept_as_a_data_url(suite):
    client = suite.admin_client()
    response = client.post(PAGE, data={
        "csrf_token": client.csrf_token(PAGE), "name": "上海明远贸易有限公司",
        "address": "上海市浦东新区张江路 88 号", "tax_number": "91310000MA1FL0000X",
        "logo": (io.BytesIO(PNG), "logo.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    stored = dict(suite.sql("SELECT key, value FROM core_option WHERE addon = 'core.company'"))
    assert stored["name"] == "上海明远贸易有限公司" and stored["tax_number"] == "91310000MA1FL0000X"
    assert stored["logo"].startswith("data:image/png;base64,")
    page = client.get(PAGE).get_data(as_text=True)
    assert "上海明远贸易有限公司" in page and 'src="data:image/png;base64,' in page


def test_a_logo_that_is_not_an_image_is_refused_and_nothing_is_saved(suite):
    client = suite.admin_client()
    response = client.post(PAGE, data={
        "csrf_token": client.csrf_token(PAGE), "name": "Acme",
        "logo": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    assert "The logo must be a PNG or JPEG image." in response.get_data(as_text=True)
    assert suite.sql("SELECT count(*) FROM core_option WHERE addon = 'core.company'") == [(0,)]


def test_only_administrators_see_the_company_page(suite):
    suite.run("create-user", "--username", "clerk", "--password", ADMIN_PASSWORD)
    client = suite.client()
    client.login("clerk", ADMIN_PASSWORD)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"name": "Hijack"}).status_code in (400, 403)
    assert suite.sql("SELECT count(*) FROM core_option WHERE addon = 'core.company'") == [(0,)]
