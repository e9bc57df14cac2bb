"""Customers through the screens: codes, validation, the duplicate warning, the groups
and their record rules, and the 360° page."""
import html

from tests.addons.crm_contacts.helpers import (NEW, add_user, create_customer,
                                               import_customers, user_id)


def customers(suite):
    return suite.sql("SELECT code, name, owner_id FROM crm_customer ORDER BY id")


def test_create_gives_codes_from_the_sequence(contacts_suite):
    client = contacts_suite.admin_client()
    assert create_customer(client, name="Acme Ltd").status_code == 302
    assert create_customer(client, name="Globex", code="VIP-1").status_code == 302
    assert create_customer(client, name="Initech").status_code == 302
    assert [row[:2] for row in customers(contacts_suite)] == [
        ("C000001", "Acme Ltd"), ("VIP-1", "Globex"), ("C000002", "Initech")]


def test_a_code_typed_in_by_hand_is_skipped_by_the_sequence(contacts_suite):
    client = contacts_suite.admin_client()
    assert create_customer(client, name="Manual", code="C000001").status_code == 302
    assert create_customer(client, name="Next").status_code == 302
    assert [row[0] for row in customers(contacts_suite)] == ["C000001", "C000002"]


def test_bad_input_is_a_form_error_and_saves_nothing(contacts_suite):
    client = contacts_suite.admin_client()
    for fields in ({"name": ""}, {"name": "X", "grade": "E"}, {"name": "X", "credit_limit": "lots"},
                   {"name": "X", "stage": "sleeping"}):
        response = create_customer(client, **fields)
        assert response.status_code == 200
        assert "is-invalid" in response.get_data(as_text=True) or "Not a valid" in \
            response.get_data(as_text=True)
    assert customers(contacts_suite) == []


def test_duplicate_warning_on_create_lists_the_candidates(contacts_suite):
    client = contacts_suite.admin_client()
    create_customer(client, name="北京华为技术有限公司", phone="010-12345678")
    create_customer(client, name="Other", email="li@example.com")
    for fields, reason in (({"name": "北京华为技术股份有限公司"}, "name"),
                           ({"name": "New", "phone": "+86 10 1234 5678"}, "phone"),
                           ({"name": "New", "email": "LI@example.com "}, "email")):
        response = create_customer(client, **fields)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, fields
        assert "Possible duplicate" in page and "crm-save-anyway" in page
        assert "Failed to create record" not in page
        assert "/admin/customer/details/?id=" in page and reason in page
    assert len(customers(contacts_suite)) == 2
    # The user goes on anyway.
    assert create_customer(client, confirm=True, name="北京华为技术股份有限公司").status_code == 302
    assert len(customers(contacts_suite)) == 3


def test_duplicate_warning_on_edit_ignores_the_record_itself(contacts_suite):
    client = contacts_suite.admin_client()
    create_customer(client, name="Acme", phone="13812345678")
    create_customer(client, name="Globex")
    edit = "/admin/customer/edit/?id=1"
    data = {"kind": "company", "stage": "active", "name": "Acme", "phone": "13812345678"}
    assert client.post_form(edit, data, token_from=edit).status_code == 302
    edit = "/admin/customer/edit/?id=2"
    response = client.post_form(edit, dict(data, name="Globex"), token_from=edit)
    assert "Possible duplicate" in response.get_data(as_text=True)
    assert contacts_suite.sql("SELECT phone FROM crm_customer WHERE id = 2") == [(None,)]


def test_duplicates_owned_by_others_are_counted_not_shown(contacts_suite):
    admin = contacts_suite.admin_client()
    create_customer(admin, name="Secret Client Ltd")
    user = add_user(contacts_suite, "sam", "contacts_user")
    page = create_customer(user, name="Secret Client").get_data(as_text=True)
    # Nothing is listed to check, and the words say so (not "1 of them ... above").
    assert ("Possible duplicate: another user has a customer with the same name, phone or "
            "email.") in html.unescape(page)
    assert "/admin/customer/details/?id=1" not in page
    create_customer(user, name="Secret Client", confirm=True)
    page = create_customer(user, name="Secret Client Co").get_data(as_text=True)
    assert "One more belongs to another user." in page and "/admin/customer/details/?id=2" in page


def test_contacts_user_sees_and_edits_only_own_customers(contacts_suite, tmp_path):
    admin = contacts_suite.admin_client()
    create_customer(admin, name="Admin customer")
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert create_customer(sam, name="Sam customer").status_code == 302
    assert customers(contacts_suite)[1][2] == user_id(contacts_suite, "sam")
    listing = sam.get("/admin/customer/").get_data(as_text=True)
    assert "Sam customer" in listing and "Admin customer" not in listing
    assert sam.get("/admin/customer/details/?id=1").status_code == 404
    assert sam.get("/admin/customer/details/?id=2").status_code == 200
    # contacts_user exports what they may read: their own customers.
    exported = sam.get("/admin/customer/export/csv/").get_data(as_text=True)
    assert "Sam customer" in exported and "Admin customer" not in exported
    manager = add_user(contacts_suite, "meg", "contacts_manager")
    listing = manager.get("/admin/customer/").get_data(as_text=True)
    assert "Sam customer" in listing and "Admin customer" in listing
    assert manager.get("/admin/customer/export/csv/").status_code == 200


def test_customer_list_queries_do_not_grow_with_page_size(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [
        (f"Customer {n}", f"1380000{n:04d}", f"c{n}@example.com", "ABCD"[n % 4])
        for n in range(120)])
    user = add_user(contacts_suite, "meg", "contacts_manager")
    few = len(user.queries("/admin/customer/?page_size=20"))
    assert len(user.queries("/admin/customer/?page_size=100")) == few
    assert len(user.queries("/admin/customer/?page_size=100&page=1&sort=1")) == few
    assert len(user.queries("/admin/customer/?flt0_grade_equals=A&page_size=50")) == few


def test_360_page_has_contacts_and_activities_panels(contacts_suite):
    client = contacts_suite.admin_client()
    create_customer(client, name="Acme")
    new_contact = "/admin/contact/new/?customer=1"
    form = client.get(new_contact).get_data(as_text=True)
    filled = 'name="customer" type="hidden" value="1"'   # from the link
    assert filled in form
    assert filled in client.get("/admin/activity/new/?customer=1").get_data(as_text=True)
    assert client.post_form("/admin/contact/new/", {"customer": "1", "name": "<b>Li Lei</b>",
                                                    "is_primary": "y"},
                            token_from=new_contact).status_code == 302
    contacts_suite.sql("INSERT INTO crm_activity (kind, subject, customer_id, start_at, status,"
                       " created_at, updated_at) VALUES ('call', 'Discuss the offer', 1,"
                       " '2026-11-20 10:00:00', 'done', '2026-11-20', '2026-11-20')")
    page = client.get("/admin/customer/details/?id=1").get_data(as_text=True)
    assert "Contacts" in page and "&lt;b&gt;Li Lei&lt;/b&gt;" in page and "<b>Li Lei" not in page
    assert "Activities" in page and "Discuss the offer" in page
    assert "/admin/contact/new/?customer=1" in page
    assert "/admin/activity/new/?customer=1" in page
    # "All" on a panel opens the list filtered to this customer.
    link = page.split('href="/admin/contact/?')[1].split('"')[0].replace("&amp;", "&")
    assert "Li Lei" in client.get(f"/admin/contact/?{link}").get_data(as_text=True)
    create_customer(client, name="Other")
    client.post_form("/admin/contact/new/", {"customer": "2", "name": "Other person"},
                     token_from=new_contact)
    assert "Other person" not in client.get(f"/admin/contact/?{link}").get_data(as_text=True)


def test_360_page_panels_follow_the_record_rules(contacts_suite):
    sam = add_user(contacts_suite, "sam", "contacts_user")
    create_customer(sam, name="Sam customer")
    admin = contacts_suite.admin_client()
    admin.post_form("/admin/contact/new/", {"customer": "1", "name": "Hidden person",
                                            "owner": str(user_id(contacts_suite, "admin"))},
                    token_from="/admin/contact/new/")
    assert "Hidden person" in admin.get("/admin/customer/details/?id=1").get_data(as_text=True)
    assert "Hidden person" not in sam.get("/admin/customer/details/?id=1").get_data(as_text=True)


def test_new_contact_belongs_to_the_customer_owner(contacts_suite):
    sam = add_user(contacts_suite, "sam", "contacts_user")
    create_customer(sam, name="Sam customer")
    admin = contacts_suite.admin_client()
    admin.post_form("/admin/contact/new/", {"customer": "1", "name": "Wang"},
                    token_from="/admin/contact/new/")
    assert contacts_suite.sql("SELECT owner_id FROM crm_contact") == [
        (user_id(contacts_suite, "sam"),)]


def test_create_page_offers_every_field(contacts_suite):
    page = contacts_suite.admin_client().get(NEW).get_data(as_text=True)
    for field in ("name", "grade", "is_key", "stage", "source", "industry", "region", "tags",
                  "credit_limit", "province", "city", "district", "street", "postcode",
                  "is_supplier", "owner", "notes"):
        assert f'name="{field}"' in page, field
    assert 'name="name_key"' not in page


def test_screens_in_chinese_show_stored_values_translated(contacts_suite):
    client = contacts_suite.admin_client()
    assert create_customer(client, name="Acme", stage="active").status_code == 302
    client.post_form("/language", {"language": "zh_Hans_CN", "next": "/admin/"})
    listing = client.get("/admin/customer/").get_data(as_text=True)
    assert "客户" in listing and "有效" in listing            # menu, and the stage's label
    form = client.get(NEW).get_data(as_text=True)
    assert 'value="prospect"' in form and "潜在" in form        # stored as is, shown in Chinese
    assert "有效" in client.get("/admin/customer/details/?id=1").get_data(as_text=True)
    settings = client.get("/admin/addon-settings/").get_data(as_text=True)
    assert "A 级客户无活动多少天后提醒跟进" in settings
