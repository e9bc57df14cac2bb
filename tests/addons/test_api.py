"""The REST API (core/api.py) on the customers of crm_contacts: tokens made on the account
page, shown once and kept hashed; records read as the token's user (access letters,
record rules, hidden fields), paged by cursor, sorted, searched and filtered by the list
screen's names; every refusal a problem document."""
import re
from urllib.parse import urlencode

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.addons.crm_contacts.helpers import add_user, create_customer, import_customers
from tests.addons.test_custom_fields import add_field
from tests.addons.test_field_layout import set_layout

ACCOUNT = "/admin/account/"


def make_token(client, expect_ok=True, **values):
    """A token made on the account page: its key, or the page when refused."""
    data = {"name": "Shop", "days": "90", **values}
    response = client.post_form(f"{ACCOUNT}tokens", data, token_from=ACCOUNT)
    page = response.get_data(as_text=True)
    assert (response.status_code == 302) == expect_ok, page[-2000:]
    if not expect_ok:
        return page
    page = client.get(ACCOUNT).get_data(as_text=True)   # shown there once
    return re.search(r'value="(crm_[0-9a-f]{8}_[\w-]+)"', page).group(1)


def api(client, key, path, **args):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    query = f"?{urlencode(args)}" if args else ""
    return client.get(f"/api/v1/{path}{query}", headers=headers)


def names(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [row["name"] for row in response.get_json()["data"]]


def refused(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["title"]
    return problem


def test_a_token_is_shown_once_kept_hashed_scoped_and_revoked(contacts_suite):
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert create_customer(sam, name="Acme").status_code == 302
    key = make_token(sam, name="Shop", models=["Customer"])
    prefix, digest = contacts_suite.sql("SELECT prefix, digest FROM core_api_token")[0]
    assert key.startswith(f"crm_{prefix}_") and key not in digest and len(digest) == 64
    page = sam.get(ACCOUNT).get_data(as_text=True)
    assert key not in page and "Shop" in page and "Active" in page

    browser = contacts_suite.client()   # no cookie: the key alone opens the API
    assert names(api(browser, key, "customer")) == ["Acme"]
    assert api(browser, key, "").get_json()["models"][0]["name"] == "customer"
    refused(api(browser, key, "contact"), 403)   # a model the token does not name
    contacts_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'sam'")
    assert refused(api(browser, key, "contact"), 403)["title"] == "此令牌无权读取这些记录。"
    # A signed-in browser without a token is not let in (its requests carry no CSRF).
    refused(sam.get("/api/v1/customer"), 401)

    token_id = contacts_suite.sql("SELECT id FROM core_api_token")[0][0]
    response = sam.post_form(f"{ACCOUNT}tokens/{token_id}/revoke", {}, token_from=ACCOUNT)
    assert response.status_code == 302
    refused(api(browser, key, "customer"), 401)
    assert "已撤销" in sam.get(ACCOUNT).get_data(as_text=True)   # (sam reads Chinese now)
    # Another user cannot revoke it (nor see it): 404.
    ann = add_user(contacts_suite, "ann", "contacts_user")
    assert ann.post_form(f"{ACCOUNT}tokens/{token_id}/revoke", {},
                         token_from=ACCOUNT).status_code == 404
    assert "Shop" not in ann.get(ACCOUNT).get_data(as_text=True)


def test_bad_token_requests_change_nothing(contacts_suite):
    sam = add_user(contacts_suite, "sam", "contacts_user")
    page = make_token(sam, expect_ok=False, name="")
    assert "Give the token a name" in page
    page = make_token(sam, expect_ok=False, models=["User"])   # not one sam may read
    assert "Choose among the records listed." in page
    assert make_token(sam, expect_ok=False, days="7")
    assert contacts_suite.sql("SELECT count(*) FROM core_api_token")[0][0] == 0

    key = make_token(sam)
    browser = contacts_suite.client()
    assert refused(api(browser, None, "customer"), 401)["detail"].startswith("Send it as")
    assert api(browser, None, "customer").headers["WWW-Authenticate"].startswith("Bearer")
    refused(api(browser, key[:-2] + "xx", "customer"), 401)
    refused(api(browser, "crm_nonsense", "customer"), 401)
    contacts_suite.sql("UPDATE core_api_token SET expires_at = '2020-01-01'")
    refused(api(browser, key, "customer"), 401)
    assert "Expired" in sam.get(ACCOUNT).get_data(as_text=True)
    contacts_suite.sql("UPDATE core_api_token SET expires_at = NULL")
    assert api(browser, key, "customer").status_code == 200
    contacts_suite.sql("UPDATE core_user SET active = false WHERE username = 'sam'")
    refused(api(browser, key, "customer"), 401)


def test_records_are_read_as_the_user_with_rules_and_hidden_fields(contacts_suite):
    admin = contacts_suite.admin_client()
    sam = add_user(contacts_suite, "sam", "contacts_user")
    ann = add_user(contacts_suite, "ann", "contacts_user")
    assert create_customer(sam, name="Sam's", phone="021-5550001", credit_limit="1234.50",
                           grade="A").status_code == 302
    assert create_customer(ann, name="Ann's", phone="021-5550002").status_code == 302
    sams, anns = (contacts_suite.sql("SELECT id FROM crm_customer WHERE name = :n", n=n)[0][0]
                  for n in ("Sam's", "Ann's"))
    browser = contacts_suite.client()
    sam_key, admin_key = make_token(sam), make_token(admin)

    # The record rule "own": sam reads his customer, and not ann's (not even that it exists).
    assert names(api(browser, sam_key, "customer")) == ["Sam's"]
    record = api(browser, sam_key, f"customer/{sams}")
    assert record.status_code == 200 and record.headers["ETag"]
    values = record.get_json()
    assert (values["id"], values["phone"], values["credit_limit"], values["grade"]) == \
        (sams, "021-5550001", "1234.50", "A")
    assert "name_key" not in values   # (derived: never shown)
    refused(api(browser, sam_key, f"customer/{anns}"), 404)
    assert names(api(browser, admin_key, "customer")) == ["Ann's", "Sam's"]

    # A field hidden from sam's group: not given, not to be asked for, filtered or sorted.
    set_layout(admin, "phone", contacts_user="hidden")
    assert "phone" not in api(browser, sam_key, f"customer/{sams}").get_json()
    assert "phone" in api(browser, admin_key, f"customer/{sams}").get_json()
    problem = refused(api(browser, sam_key, "customer", fields="name,phone"), 400)
    assert problem["errors"] == [{"field": "phone",
                                  "message": "No such field, or not one you may see."}]
    refused(api(browser, sam_key, "customer", flt0_phone_equals="021-5550001"), 400)
    refused(api(browser, sam_key, "customer", sort="phone"), 400)
    assert api(browser, sam_key, "customer", fields="name").get_json()["data"] == [
        {"id": sams, "name": "Sam's"}]


def test_a_list_pages_by_cursor_sorted_searched_and_filtered(contacts_suite, tmp_path):
    grades = ["A", "B", ""]   # every third without a grade: the sort puts them last
    import_customers(contacts_suite, tmp_path, [(f"Acme {n:02d}", "", "", grades[n % 3])
                                                for n in range(25)] + [("Other", "", "", "A")])
    browser = contacts_suite.client()
    key = make_token(contacts_suite.admin_client())

    def every(**args):
        found, cursor = [], None
        while True:
            page = api(browser, key, "customer", limit=4, **args,
                       **({"cursor": cursor} if cursor else {}))
            found += names(page)
            cursor = page.get_json()["next"]
            if cursor is None:
                return found

    assert every(sort="name") == sorted(f"Acme {n:02d}" for n in range(25)) + ["Other"]
    assert every() == ["Other"] + [f"Acme {n:02d}" for n in reversed(range(25))]
    acme = lambda numbers: [f"Acme {n:02d}" for n in numbers]   # noqa: E731
    assert every(sort="-grade") == acme(range(22, 0, -3)) + ["Other"] + \
        acme(range(24, -1, -3)) + acme(range(23, 1, -3))   # B, A, then none
    assert every(sort="grade") == acme(range(0, 25, 3)) + ["Other"] + acme(range(1, 23, 3)) \
        + acme(range(2, 24, 3))
    assert every(search="acme 1") == [name for name in acme(range(24, -1, -1)) if "1" in name]
    assert every(flt0_grade_equals="A", search="acme") == \
        [f"Acme {n:02d}" for n in reversed(range(0, 25, 3))]

    for args, field in (({"limit": 0}, "limit"), ({"limit": "x"}, "limit"),
                        ({"sort": "nothing"}, "sort"), ({"cursor": "not-one"}, "cursor"),
                        ({"fields": "name,nothing"}, "nothing"),
                        ({"flt0_nothing_equals": "1"}, "flt0_nothing_equals")):
        problem = refused(api(browser, key, "customer", **args), 400)
        assert [error["field"] for error in problem["errors"]] == [field]


def test_what_is_not_there_answers_a_problem(contacts_suite):
    browser = contacts_suite.client()
    key = make_token(contacts_suite.admin_client())
    refused(api(browser, key, "opportunity"), 404)   # crm_sales is not enabled
    users = api(browser, key, "users").get_json()["data"]   # secrets are never given
    assert users[0]["username"] == "admin"
    assert not {"password_hash", "session_token"} & set(users[0])
    # The core's own screens go no further than the token either.
    narrow = make_token(contacts_suite.admin_client(), models=["Customer"])
    refused(api(browser, narrow, "users"), 403)
    assert [m["name"] for m in api(browser, narrow, "").get_json()["models"]] == ["customer"]
    refused(api(browser, key, "customer/999999"), 404)
    refused(api(browser, key, "customer/abc"), 404)
    refused(browser.put("/api/v1/customer/1", headers={"Authorization": f"Bearer {key}"}),
            405)
    refused(browser.post("/api/v1/customer", headers={"Authorization": f"Bearer {key}"},
                         json={"name": "Acme"}), 403)   # (a token that reads only)
    # The key is kept nowhere but in the caller's hands; the use is noted.
    assert contacts_suite.sql("SELECT count(*) FROM core_api_token "
                              "WHERE last_used_at IS NULL") == [(0,)]


@pytest.mark.own_process   # (a field added is mapped for the whole process)
def test_a_page_of_records_with_custom_fields_takes_the_same_statements(contacts_suite,
                                                                        tmp_path):
    """Custom fields come with the records (one column of each, read with the rest), and
    a page of 25 takes as many statements as a page of 5."""
    admin = contacts_suite.admin_client()
    add_field(admin, name="wechat", label_en="WeChat", label_zh="微信")
    add_field(admin, name="since", label_en="Since", label_zh="起始", kind="date")
    import_customers(contacts_suite, tmp_path, [(f"Acme {n:02d}", "", "", "A")
                                                for n in range(25)])
    contacts_suite.sql("UPDATE crm_customer SET x_wechat = 'wx-' || name, "
                       "x_since = '2026-01-02'")
    headers = {"Authorization": f"Bearer {make_token(admin)}"}
    rows = admin.get("/api/v1/customer?limit=1", headers=headers).get_json()["data"]
    assert (rows[0]["x_wechat"], rows[0]["x_since"]) == ("wx-Acme 24", "2026-01-02")
    assert len(admin.queries("/api/v1/customer?limit=5", headers=headers)) == \
        len(admin.queries("/api/v1/customer?limit=25", headers=headers))


def test_the_openapi_document_says_what_the_token_may_do(contacts_suite):
    """A valid OpenAPI 3.1 document of the screens the token may read, with the writes it
    and its user may make, whose record schema the records given match."""
    admin = contacts_suite.admin_client()
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert create_customer(sam, name="Acme", credit_limit="12.50", grade="A").status_code == 302
    browser = contacts_suite.client()

    def document(key):
        found = api(browser, key, "openapi.json").get_json()
        validate(found)   # (openapi-spec-validator: the OpenAPI 3.1 schema)
        return found

    full = document(make_token(admin, access="write"))
    assert {"get", "post"} <= set(full["paths"]["/customer"])
    assert {"get", "patch", "delete"} <= set(full["paths"]["/customer/{id}"])
    assert "/users" in full["paths"]
    writer_key = make_token(sam, access="write")
    writer = document(writer_key)
    assert "post" in writer["paths"]["/customer"]
    assert "delete" not in writer["paths"]["/customer/{id}"]   # (contacts_user: rwcx)
    assert "/users" not in writer["paths"]
    reader = document(make_token(sam))
    assert set(reader["paths"]["/customer"]) == {"get"}
    schemas = writer["components"]["schemas"]
    assert schemas["customer"]["properties"]["credit_limit"] == {"type": ["string", "null"]}
    assert "name" in schemas["customerNew"]["required"]
    for row in api(browser, writer_key, "customer").get_json()["data"]:
        jsonschema.validate(row, schemas["customer"])
    # The same page for people, signed in: Your account > API.
    page = sam.get(f"{ACCOUNT}api/").get_data(as_text=True)
    assert "/api/v1/customer" in page and "credit_limit" in page


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/15"])
def test_a_token_is_held_to_its_rate(tmp_path, database_url, storage):
    """Counted in the process, or in Redis: shared by every worker and host."""
    from tests.addons.conftest import ADDONS
    from tests.conftest import make_suite
    if storage.startswith("redis"):
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(storage).ping()
        except redis.exceptions.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
    suite = make_suite(tmp_path, database_url, addon_paths=[ADDONS], enabled=["crm_contacts"],
                       extra="[api]\nrequests_per_minute = 3\n"
                             f"[security]\nratelimit_storage = {storage}\n")
    try:
        sam = add_user(suite, "sam", "contacts_user")
        shop, desk = make_token(sam, name="Shop"), make_token(sam, name="Desk")
        browser = suite.client()
        assert [api(browser, shop, "customer").status_code for _ in range(3)] == [200] * 3
        problem = refused(api(browser, shop, "customer"), 429)
        assert "3 requests a minute" in problem["detail"]
        assert 1 <= int(api(browser, shop, "customer").headers["Retry-After"]) <= 60
        assert api(browser, desk, "customer").status_code == 200   # each token its own count
    finally:
        suite.close()


def test_an_integration_user_works_through_the_api_and_never_signs_in(contacts_suite):
    admin = contacts_suite.admin_client()
    groups = [str(contacts_suite.sql("SELECT id FROM core_group WHERE code = :c", c=code)[0][0])
              for code in ("contacts_user", "integration")]
    response = admin.post_form("/admin/users/new/", {
        "username": "shop", "full_name": "Web shop", "active": "y",
        "groups": groups}, token_from="/admin/users/new/")   # no password needed
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    shop = contacts_suite.sql("SELECT id FROM core_user WHERE username = 'shop'")[0][0]
    page = admin.get(f"/admin/users/details/?id={shop}").get_data(as_text=True)
    assert f"/admin/users/api-tokens/?id={shop}" in page

    # Its tokens are made by an administrator on its page, shown once.
    tokens = f"/admin/users/api-tokens/?id={shop}"
    assert admin.post_form(f"/admin/users/tokens?id={shop}", {
        "name": "Shop", "days": "never", "access": "write"}, token_from=tokens).status_code == 302
    key = re.search(r'value="(crm_[0-9a-f]{8}_[\w-]+)"',
                    admin.get(tokens).get_data(as_text=True)).group(1)
    assert key not in admin.get(tokens).get_data(as_text=True)
    browser = contacts_suite.client()
    created = browser.post("/api/v1/customer", json={"name": "Acme", "kind": "company",
                                                      "stage": "prospect"},
                           headers={"Authorization": f"Bearer {key}"})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert contacts_suite.sql("SELECT owner_id FROM crm_customer") == [(shop,)]

    # It never signs in, even with a password an administrator gave it.
    assert admin.post_form(f"/admin/users/edit/?id={shop}", {
        "username": "shop", "active": "y", "groups": groups,
        "new_password": "Another-secret-42"},
        token_from=f"/admin/users/edit/?id={shop}").status_code == 302
    refused_login = browser.post("/login", data={
        "username": "shop", "password": "Another-secret-42",
        "csrf_token": browser.csrf_token("/login")})
    assert refused_login.status_code == 200
    assert "Invalid username or password." in refused_login.get_data(as_text=True)

    # Only an integration user's tokens are made there, and only by an administrator.
    admin_id = contacts_suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    assert admin.get(f"/admin/users/api-tokens/?id={admin_id}").status_code == 404
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert sam.get(tokens).status_code == 403
    token_id = contacts_suite.sql("SELECT id FROM core_api_token")[0][0]
    assert admin.post_form(f"/admin/users/tokens/{token_id}/revoke?id={shop}", {},
                           token_from=tokens).status_code == 302
    assert api(browser, key, "customer").status_code == 401


def test_an_integration_user_and_its_token_from_the_command_line(contacts_suite):
    result = contacts_suite.run("create-user", "--username", "phones", "--api-only",
                                "--groups", "contacts_user")
    assert result.exit_code == 0, result.output
    assert contacts_suite.sql(
        "SELECT g.code FROM core_group g JOIN core_user_group ug ON ug.group_id = g.id "
        "JOIN core_user u ON u.id = ug.user_id WHERE u.username = 'phones' ORDER BY g.code") \
        == [("contacts_user",), ("integration",)]
    assert contacts_suite.run("api-token", "--user", "phones", "--name", "PBX",
                              "--models", "Nothing").exit_code != 0
    result = contacts_suite.run("api-token", "--user", "phones", "--name", "PBX",
                                "--models", "Customer", "--days", "30")
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    browser = contacts_suite.client()
    assert api(browser, key, "customer").status_code == 200
    refused(api(browser, key, "contact"), 403)   # only the model it names
    assert contacts_suite.run("create-user", "--username", "ann").exit_code != 0


def test_linked_records_are_embedded_as_their_screen_shows_them(contacts_suite):
    admin = contacts_suite.admin_client()
    sam = add_user(contacts_suite, "sam", "contacts_user")
    ann = add_user(contacts_suite, "ann", "contacts_user")
    assert create_customer(sam, name="Sam's").status_code == 302
    assert create_customer(ann, name="Ann's").status_code == 302
    sams, anns = (contacts_suite.sql("SELECT id FROM crm_customer WHERE name = :n", n=n)[0][0]
                  for n in ("Sam's", "Ann's"))
    sam_key, admin_key = make_token(sam, access="write"), make_token(admin)
    browser = contacts_suite.client()
    for name in ("Wang", "Li", "Zhao"):
        assert browser.post("/api/v1/contact", json={"name": name, "customer_id": sams},
                            headers={"Authorization": f"Bearer {sam_key}"}).status_code == 201
    # One of sam's contacts now works for ann's customer, which sam may not read.
    contacts_suite.sql("UPDATE crm_contact SET customer_id = :c WHERE name = 'Zhao'", c=anns)

    rows = api(browser, sam_key, "contact", embed="customer", sort="name").get_json()["data"]
    assert [(row["name"], row["customer"] and row["customer"]["name"]) for row in rows] == \
        [("Li", "Sam's"), ("Wang", "Sam's"), ("Zhao", None)]
    one = api(browser, sam_key, f"contact/{rows[0]['id']}", embed="customer").get_json()
    assert one["customer"]["id"] == sams and "name_key" not in one["customer"]
    # Users are an administrator's screen: not sam's to embed.
    problem = refused(api(browser, sam_key, "contact", embed="owner"), 400)
    assert problem["errors"][0]["field"] == "embed"
    owner = api(browser, admin_key, "contact", embed="owner,customer").get_json()["data"][0]
    assert owner["owner"]["username"] == "sam" and "password_hash" not in owner["owner"]
    # One statement per link, whatever the page's size.
    headers = {"Authorization": f"Bearer {admin_key}"}
    assert len(admin.queries("/api/v1/contact?limit=1&embed=customer", headers=headers)) == \
        len(admin.queries("/api/v1/contact?limit=3&embed=customer", headers=headers))
    document = api(browser, sam_key, "openapi.json").get_json()
    validate(document)
    assert document["components"]["schemas"]["contact"]["properties"]["customer"] == {
        "anyOf": [{"$ref": "#/components/schemas/customer"}, {"type": "null"}]}


def test_the_integration_group_stays(contacts_suite):
    admin = contacts_suite.admin_client()
    group = contacts_suite.sql("SELECT id FROM core_group WHERE code = 'integration'")[0][0]
    admin.post_form("/admin/groups/delete/", {"id": group}, token_from="/admin/groups/")
    page = admin.post_form(f"/admin/groups/edit/?id={group}", {"code": "robots", "name": "R"},
                           token_from=f"/admin/groups/edit/?id={group}").get_data(as_text=True)
    assert "The code of a built-in group cannot change." in page
    assert contacts_suite.sql("SELECT code FROM core_group WHERE id = :g", g=group) == \
        [("integration",)]
