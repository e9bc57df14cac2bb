"""Settings > Customise > Layout (core/layout.py) on the customers of crm_contacts: a field
moved to another section, hidden from everyone, hidden or read-only for a group, each
enforced on the server on every path; refusals change nothing."""
import csv
import re
import io
from urllib.parse import urlencode

from tests.addons.crm_contacts.helpers import NEW, add_user, create_customer, write_csv

LAYOUT = "/admin/customise/Customer/layout/{}/"


def set_layout(client, name, expect_ok=True, section="=", hidden=False, **groups):
    url = LAYOUT.format(name)
    data = {"section": section, **({"hidden": "1"} if hidden else {}),
            **{f"group-{code}": access for code, access in groups.items()}}
    response = client.post_form(url, data, token_from=url)
    assert (response.status_code == 302) == expect_ok, response.get_data(as_text=True)[-2000:]
    return response


def customer(suite, name):
    return suite.sql("SELECT id, phone, credit_limit FROM crm_customer WHERE name = :n",
                     n=name)[0]


def export_header(client):
    text = client.get("/admin/customer/export/csv/").get_data(as_text=True)
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_a_field_hidden_for_a_group_is_on_no_path(contacts_suite, tmp_path):
    admin = contacts_suite.admin_client()
    sam = add_user(contacts_suite, "sam", "contacts_user")
    both = add_user(contacts_suite, "bo", "contacts_user", "contacts_manager")
    assert create_customer(sam, name="Acme", phone="021-5550001").status_code == 302
    acme = customer(contacts_suite, "Acme")[0]
    set_layout(admin, "phone", contacts_user="hidden")
    page = admin.get("/admin/customise/Customer/").get_data(as_text=True)
    assert "Customers: user: Hidden" in page   # (who sees what, in words)

    details = f"/admin/customer/details/?id={acme}"
    # The list, the record page, the forms, the export, the search, the filters.
    assert "col-phone" not in sam.get("/admin/customer/").get_data(as_text=True)
    assert 'data-field="phone"' not in sam.get(details).get_data(as_text=True)
    assert 'name="phone"' not in sam.get(NEW).get_data(as_text=True)
    assert 'name="phone"' not in sam.get(f"/admin/customer/edit/?id={acme}") \
        .get_data(as_text=True)
    assert "Phone" not in export_header(sam)
    searched = sam.get("/admin/customer/?" + urlencode({"search": "5550001"}))
    assert "Acme" not in searched.get_data(as_text=True)
    filtered = sam.get("/admin/customer/?" + urlencode({"flt0_phone_equals": "nothing"}))
    assert "Acme" in filtered.get_data(as_text=True)   # the filter is not applied
    # A POST that sets it is ignored: on edit, and on create.
    response = sam.post_form(f"/admin/customer/edit/?id={acme}",
                             {"name": "Acme", "kind": "company", "stage": "prospect",
                              "phone": "999"}, token_from=f"/admin/customer/edit/?id={acme}")
    assert response.status_code == 302
    assert customer(contacts_suite, "Acme")[1] == "021-5550001"
    assert create_customer(sam, name="Beta", phone="021-5550002").status_code == 302
    assert customer(contacts_suite, "Beta")[1] in (None, "")
    # An import that names it is refused, row and all.
    path = write_csv(tmp_path / "c.csv", ["name", "phone"], [["Gamma", "021-5550003"]])
    result = contacts_suite.run("import", "customer", path, "--user", "sam")
    assert result.exit_code != 0 and "phone" in result.output
    assert not contacts_suite.sql("SELECT id FROM crm_customer WHERE name = 'Gamma'")
    # The history: a change of it made by someone else is not shown.
    admin.post_form(f"/admin/customer/edit/?id={acme}",
                    {"name": "Acme", "kind": "company", "stage": "prospect",
                     "phone": "021-5550009"}, token_from=f"/admin/customer/edit/?id={acme}")
    assert "5550009" in admin.get(details).get_data(as_text=True)
    assert "5550009" not in sam.get(details).get_data(as_text=True)
    # Others see it: the administrator, and a user with a group that does not hide it.
    for client in (admin, both):
        assert 'data-field="phone"' in client.get(details).get_data(as_text=True)
        assert "Phone" in export_header(client)
        assert 'name="phone"' in client.get(NEW).get_data(as_text=True)
    # Back to everyone.
    set_layout(admin, "phone")
    assert 'data-field="phone"' in sam.get(details).get_data(as_text=True)
    assert not contacts_suite.sql("SELECT id FROM core_field_rule")


def test_a_read_only_field_is_shown_and_never_written(contacts_suite, tmp_path):
    admin = contacts_suite.admin_client()
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert create_customer(admin, name="Acme", credit_limit="5000", owner="").status_code \
        == 302
    acme = customer(contacts_suite, "Acme")[0]
    contacts_suite.sql("UPDATE crm_customer SET owner_id = (SELECT id FROM core_user WHERE "
                       "username = 'sam') WHERE id = :i", i=acme)
    set_layout(admin, "credit_limit", contacts_user="readonly")
    edit = f"/admin/customer/edit/?id={acme}"
    form = sam.get(edit).get_data(as_text=True)
    field = form[form.index('name="credit_limit"') - 200:form.index('name="credit_limit"') + 200]
    assert "disabled" in field and "5000" in field
    response = sam.post_form(edit, {"name": "Acme 2", "kind": "company", "stage": "prospect",
                                    "credit_limit": "999999"}, token_from=edit)
    assert response.status_code == 302
    assert customer(contacts_suite, "Acme 2")[2] == 5000
    assert "Credit limit" in export_header(sam)   # shown, so exported
    path = write_csv(tmp_path / "c.csv", ["name", "credit_limit"], [["Gamma", "1"]])
    result = contacts_suite.run("import", "customer", path, "--user", "sam")
    assert result.exit_code != 0
    assert not contacts_suite.sql("SELECT id FROM crm_customer WHERE name = 'Gamma'")


def test_hidden_from_everyone_and_moved_to_another_section(contacts_suite):
    admin = contacts_suite.admin_client()
    assert create_customer(admin, name="Acme", website="acme.example").status_code == 302
    acme = customer(contacts_suite, "Acme")[0]
    set_layout(admin, "website", hidden=True)
    set_layout(admin, "email", section="-")
    page = admin.get(f"/admin/customer/details/?id={acme}").get_data(as_text=True)
    assert 'data-field="website"' not in page and "acme.example" not in page
    assert 'name="website"' not in admin.get(NEW).get_data(as_text=True)
    # Email, alone in a section of its own at the end, headed by the section's title.
    assert page.index('data-field="email"') > page.rindex("crm-section-title")
    assert "More details" in page and 'crm-field-label">Email<' in page   # (labelled)
    # The forms have the record page's sections, email in its new one, last; a field
    # no section names (none here) would follow the one before it.
    for url in (NEW, f"/admin/customer/edit/?id={acme}"):
        form = admin.get(url).get_data(as_text=True)
        titles = [form.index(f'crm-form-section-title">{title}<')
                  for title in ("Contact details", "More details")]
        # (Notes: a section of one field of that name, its label heads it)
        assert 'section-title">Notes<' not in form
        assert form.index('name="name"') < titles[0] < form.index('name="phone"') \
            < form.index('name="notes"') < titles[1] < form.index('name="email"')
    listing = admin.get("/admin/customise/Customer/").get_data(as_text=True)
    assert "Hidden from everyone" in listing


def test_bad_rules_are_refused_and_change_nothing(contacts_suite):
    admin = contacts_suite.admin_client()
    # A new customer needs a name: no one may lose it.
    for rule in ({"hidden": True}, {"contacts_user": "readonly"}):
        response = set_layout(admin, "name", expect_ok=False, **rule)
        assert "A new record needs this field" in response.get_data(as_text=True)
    response = set_layout(admin, "phone", expect_ok=False, contacts_user="everything")
    assert "Choose, for each group" in response.get_data(as_text=True)
    assert not contacts_suite.sql("SELECT id FROM core_field_rule")
    assert admin.get(LAYOUT.format("no_such_field")).status_code == 404
    # Only administrators and customisers.
    sam = add_user(contacts_suite, "sam", "contacts_manager")
    assert sam.get(LAYOUT.format("phone")).status_code in (302, 403)


def test_sections_as_tabs_on_the_record_page_and_the_form(contacts_suite):
    admin = contacts_suite.admin_client()
    assert create_customer(admin, name="Acme", phone="021-5550001", notes="Met at a fair") \
        .status_code == 302
    acme = customer(contacts_suite, "Acme")[0]
    details, edit = f"/admin/customer/details/?id={acme}", f"/admin/customer/edit/?id={acme}"
    assert "crm-tabs" not in admin.get(details).get_data(as_text=True)
    url = "/admin/customise/Customer/tabs/"
    response = admin.post_form(url, {"tabs": "1"}, token_from="/admin/customise/Customer/")
    assert response.status_code == 302
    assert "checked" in re.search(r'<input[^>]*id="tabs"[^>]*>', admin.get(
        "/admin/customise/Customer/").get_data(as_text=True)).group(0)

    # The record page: the first section on top, each other one on a tab, the first open.
    page = admin.get(details).get_data(as_text=True)
    tabs = page.index('crm-tabs')
    assert page.index('data-field="name"') < tabs < page.index('data-field="phone"') \
        < page.index("Met at a fair")
    assert re.findall(r'data-toggle="tab"[^>]*>([^<]+)<', page) == ["Contact details", "Notes"]
    assert re.search(r'class="tab-pane show active"[^>]*>\s*<dl[^>]*>\s*<dt[^>]*>Phone<', page)
    # The form likewise; a field that did not pass opens its tab.
    form = admin.get(edit).get_data(as_text=True)
    assert form.index('name="name"') < form.index('crm-tabs') < form.index('name="phone"')
    assert "crm-form-section-title" not in form[:form.index('name="name"')]   # (untitled)
    response = admin.post_form(edit, {"name": "Acme", "kind": "company", "stage": "prospect",
                                      "phone": "1" * 41, "notes": "Changed"},
                               token_from=edit)
    failed = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'class="nav-link active text-danger crm-tab-failed"[^>]*>'
                     r'<i[^>]*></i> Contact details<', failed)
    opened = next(pane for pane in failed.split('class="tab-pane')[1:]
                  if pane.startswith(' show active"'))
    assert 'name="phone"' in opened and "invalid-feedback" in opened
    assert contacts_suite.sql("SELECT notes FROM crm_customer")[0][0] == "Met at a fair"

    # In Chinese, the tabs' titles too.
    li = add_user(contacts_suite, "li", "contacts_manager")
    contacts_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'li'")
    titles = re.findall(r'data-toggle="tab"[^>]*>([^<]+)<', li.get(details).get_data(
        as_text=True))
    assert titles == ["联系方式", "备注"]
    # Only administrators and customisers choose; unticked, one under the other again.
    assert li.post_form(url, {}, token_from=details).status_code in (302, 403)
    assert "crm-tabs" in li.get(details).get_data(as_text=True)
    assert admin.post_form(url, {}, token_from="/admin/customise/Customer/").status_code == 302
    assert "crm-tabs" not in admin.get(details).get_data(as_text=True)
    assert not contacts_suite.sql("SELECT id FROM core_screen_layout")
