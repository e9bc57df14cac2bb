"""Quick search across customers and contacts, within the user's record rules; the
advanced search (combined filters) and saved filters of the customer list."""
from tests.addons.crm_contacts.helpers import add_user, create_customer, import_customers


def found(client, text):
    return client.get("/admin/search/", query_string={"q": text}).get_data(as_text=True)


def test_quick_search_by_name_code_phone_and_email(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [
        ("上海明远贸易有限公司", "021-68881234", "info@mingyuan.cn", "A"),
        ("Northwind Traders Ltd.", "+44 20 7946 0958", "sales@northwind.example", "B"),
        ("Acme Industrial Supply Inc.", "", "", "C")])
    client = contacts_suite.admin_client()
    cases = {
        "明远": "上海明远贸易有限公司",
        "上海明远贸易公司": "上海明远贸易有限公司",            # suffix left out
        "ｎｏｒｔｈｗｉｎｄ": "Northwind Traders Ltd.",         # full width
        "traders northwind": "Northwind Traders Ltd.",     # words in any order
        "C000003": "Acme Industrial Supply Inc.",
        "c000003": "Acme Industrial Supply Inc.",
        "68881234": "上海明远贸易有限公司",
        "020 7946 0958": "Northwind Traders Ltd.",
        "SALES@northwind.example": "Northwind Traders Ltd.",
    }
    for text, name in cases.items():
        page = found(client, text)
        assert name in page, text
    assert "Nothing found" in found(client, "Globex")
    assert "Acme" not in found(client, "明远")


def test_quick_search_finds_contacts_and_escapes(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("Acme", "", "", "A")])
    client = contacts_suite.admin_client()
    client.post_form("/admin/contact/new/", {"customer": "1", "name": "<i>Li Lei</i>",
                                             "mobile": "13911112222"},
                     token_from="/admin/contact/new/")
    page = found(client, "Li Lei")
    assert "&lt;i&gt;Li Lei&lt;/i&gt;" in page and "<i>Li Lei" not in page
    assert "/admin/contact/details/?id=1" in found(client, "13911112222")
    assert "%" not in found(client, "%") or "Nothing found" in found(client, "%")


def test_quick_search_keeps_to_the_record_rules(contacts_suite):
    admin = contacts_suite.admin_client()
    create_customer(admin, name="Admin Acme")
    sam = add_user(contacts_suite, "sam", "contacts_user")
    create_customer(sam, name="Sam Acme")
    page = found(sam, "acme")
    assert "Sam Acme" in page and "Admin Acme" not in page
    # Without any customer rights, no customer at all.
    nobody = add_user(contacts_suite, "nobody")
    assert "Acme" not in found(nobody, "acme")
    # The search box is in every page's top bar.
    assert 'action="/admin/search/"' in sam.get("/admin/").get_data(as_text=True)


def test_advanced_search_combines_conditions_and_can_be_saved(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("Alpha", "", "", "A"), ("Beta", "", "", "A"),
                                                ("Gamma", "", "", "B")],
                     )
    client = contacts_suite.admin_client()
    query = "flt0_grade_equals=A&flt1_name_contains=alp"
    page = client.get(f"/admin/customer/?{query}").get_data(as_text=True)
    assert "Alpha" in page and "Beta" not in page and "Gamma" not in page
    client.post_form("/admin/customer/saved-filters/", {"name": "A starting alp",
                                                         "query": query},
                     token_from="/admin/customer/")
    listing = client.get("/admin/customer/").get_data(as_text=True)
    assert "A starting alp" in listing and "flt0_grade_equals=A" in listing


def test_quick_search_lists_the_first_found_by_name(contacts_suite, tmp_path, monkeypatch):
    # Ids first, then rows (hooks.first_found): the rows keep the name order and the limit.
    import_customers(contacts_suite, tmp_path, [(f"Acme {letter}", "", "", "A")
                                                for letter in "DBECA"])
    monkeypatch.setattr("core.views.SEARCH_LIMIT", 3)
    page = found(contacts_suite.admin_client(), "acme")
    shown = [name for name in ("Acme A", "Acme B", "Acme C", "Acme D", "Acme E") if name in page]
    assert shown == ["Acme A", "Acme B", "Acme C"]
    assert page.index("Acme A") < page.index("Acme B") < page.index("Acme C")


def counted_acmes(suite, tmp_path, monkeypatch, **limits):
    """45 customers "Acme 00" to "Acme 44", and the list's count limits set (core.admin's
    COUNT_LIMIT, NARROWED_COUNT_LIMIT, PAGES_PAST): an administrator's client."""
    import_customers(suite, tmp_path, [(f"Acme {n:02d}", "", "", "A") for n in range(45)])
    for name, value in limits.items():
        monkeypatch.setattr(f"core.admin.{name}", value)
    return suite.admin_client()


def test_a_long_list_counts_up_to_a_limit_and_pages_on(contacts_suite, tmp_path,
                                                        monkeypatch):
    # 45 customers, counted up to 20 here (10,000 on a site), or one page past the one
    # shown: "40+" on the first page, which offers the second; the exact count there.
    client = counted_acmes(contacts_suite, tmp_path, monkeypatch, COUNT_LIMIT=20,
                           PAGES_PAST=1)
    first = client.get("/admin/customer/").get_data(as_text=True)
    assert "List (40+)" in first and "page=1" in first
    assert "List (45)" in client.get("/admin/customer/?page=1").get_data(as_text=True)


def test_a_searched_or_filtered_list_counts_to_a_lower_limit(contacts_suite, tmp_path,
                                                             monkeypatch):
    # The whole list of 45 is counted (limit 50); searched or filtered, the same 45 are
    # counted to 20 (a site's 1,000 against 10,000), and exactly on a page past that.
    client = counted_acmes(contacts_suite, tmp_path, monkeypatch, COUNT_LIMIT=50,
                           NARROWED_COUNT_LIMIT=20, PAGES_PAST=0)
    assert "List (45)" in client.get("/admin/customer/").get_data(as_text=True)
    assert "List (20+)" in client.get("/admin/customer/?search=acme").get_data(as_text=True)
    assert "List (20+)" in client.get(
        "/admin/customer/?flt0_grade_equals=A").get_data(as_text=True)
    assert "List (45)" in client.get(
        "/admin/customer/?search=acme&page=2").get_data(as_text=True)
    assert "List (1)" in client.get("/admin/customer/?search=acme 07").get_data(as_text=True)
