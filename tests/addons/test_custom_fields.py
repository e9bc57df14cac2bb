"""Fields added on Settings > Customise (core/customise.py), on the customers of
crm_contacts: each kind end to end (form, record page, list, filter, search, export and
import back), seen by a second web process at once, and the bad declarations refused
with nothing changed."""
import csv
import io
import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from core import admin

from tests.addons.crm_contacts.helpers import NEW, add_user, create_customer
from tests.conftest import PG_URL, ROOT, Suite, make_suite, write_config

PAGE = "/admin/customise/Customer/"
# Each test in a process of its own: a field maps a column onto the model class for the
# whole process (core.customise), which the other test files' databases do not have.
pytestmark = pytest.mark.own_process


def add_field(client, expect_ok=True, token_from=PAGE, **values):
    data = {"kind": "text", "section": "-", **values}
    response = client.post_form(PAGE, data, token_from=token_from)
    if expect_ok:
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return response


def columns(suite, table="crm_customer"):
    if suite.database_url.startswith("sqlite"):
        return {row[1] for row in suite.sql(f"PRAGMA table_info({table})")}
    return {row[0] for row in suite.sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
        "AND table_schema = current_schema()", t=table)}


def declared(suite):
    return [row[0] for row in suite.sql("SELECT name FROM core_custom_field ORDER BY id")]


# kind, extra declaration, the value typed on the form, as the record page shows it,
# as the database holds it (text), the filter's operation
KINDS = [
    ("text", {}, "wx-123", "wx-123", "wx-123"),
    ("long_text", {}, "Met at the fair.", "Met at the fair.", "Met at the fair."),
    ("number", {}, "42", "42", "42"),
    ("decimal", {}, "1.25", "1.2500", "1.2500"),
    ("money", {}, "99.50", "99.50", "99.50"),
    ("date", {}, "2026-12-31", "2026-12-31", "2026-12-31"),
    ("datetime", {}, "2026-12-31 09:30", "2026-12-31 09:30", "2026-12-31 09:30:00"),
    ("yes_no", {}, "y", "Yes", "1"),
    ("choice", {"options": "gold | Gold | 金牌\nsilver | Silver | 银牌"}, "gold", "Gold",
     "gold"),
    ("choices", {"options": "wx | WeChat | 微信\nmail | Email | 邮件"}, ["wx", "mail"],
     "WeChat, Email", "|wx|mail|"),
]


def same(kind, value, stored):
    """A value read back from either database as the text expected."""
    if kind == "yes_no":
        return int(value) == int(stored)
    if kind in ("decimal", "money"):
        return Decimal(str(value)) == Decimal(stored)
    if kind == "datetime":
        return str(value)[:19] == stored
    return str(value) == stored


def test_each_kind_end_to_end(contacts_suite, tmp_path, monkeypatch):
    """A field of each kind: form, record page, list, filter, search, export, import."""
    client = contacts_suite.admin_client()
    for kind, extra, *_rest in KINDS:   # (indexed text fields are searched)
        add_field(client, name=kind, label_en=f"Field {kind}", label_zh=f"字段{kind}",
                  in_list="1", kind=kind, indexed="1" if "text" in kind else "", **extra)
    assert {f"x_{kind}" for kind, *_rest in KINDS} <= columns(contacts_suite)
    response = create_customer(client, name="Acme", **{f"x_{kind}": typed
                                                       for kind, _e, typed, *_r in KINDS})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    create_customer(client, name="Other")

    def stored_right(name):
        rows = contacts_suite.sql(f"SELECT {', '.join(f'x_{k}' for k, *_r in KINDS)} "
                                  f"FROM crm_customer WHERE name = '{name}'")
        return rows and all(same(kind, value, stored) for row in rows
                            for (kind, *_rest, stored), value in zip(KINDS, row))
    assert stored_right("Acme")
    record_id = contacts_suite.sql("SELECT id FROM crm_customer WHERE name = 'Acme'")[0][0]
    page = client.get(f"/admin/customer/details/?id={record_id}").get_data(as_text=True)
    listing = client.get("/admin/customer/").get_data(as_text=True)
    for kind, _extra, typed, shown, _stored in KINDS:
        assert f"Field {kind}" in page and shown in page, kind
        assert f"Field {kind}" in listing and shown in listing, kind
        # The list's filter on the field finds the one customer.
        operation = "contains" if kind in ("text", "long_text") else \
            "includes" if kind == "choices" else "equals"
        wanted = "1" if kind == "yes_no" else "mail" if kind == "choices" else typed
        arg = f"flt1_x{kind.replace('_', '')}_{operation}"   # (by its key, "_" gone)
        text = client.get("/admin/customer/?" + urlencode({arg: wanted})).get_data(as_text=True)
        assert "Acme" in text and "Other" not in text, kind
    # The search box finds text fields too: their matches named in the list's
    # statements, or (more than NAMED_MATCHES) looked up by each.
    for named in (admin.NAMED_MATCHES, 0):
        monkeypatch.setattr(admin, "NAMED_MATCHES", named)
        for typed in ("wx-123", "at the fair"):
            text = client.get("/admin/customer/?" + urlencode({"search": typed})) \
                .get_data(as_text=True)
            assert "Acme" in text and "Other" not in text, (named, typed)
    # Under 3 characters, a trigram index cannot serve it: the fields are not searched.
    text = client.get("/admin/customer/?search=wx").get_data(as_text=True)
    assert "Acme" not in text
    # Export, then import the file back as new customers: the same values.
    exported = client.get("/admin/customer/export/csv/").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert all(f"Field {kind}" in rows[0] for kind, *_rest in KINDS)
    code = rows[0].index("Code")
    for row in rows[1:]:
        row[code] = ""   # new customers, with new codes
    path = tmp_path / "customers.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    result = contacts_suite.run("import", "customer", str(path))
    assert result.exit_code == 0, result.output
    assert len(contacts_suite.sql("SELECT id FROM crm_customer WHERE name = 'Acme'")) == 2
    assert stored_right("Acme")
    # Chinese: the labels in Chinese on the form.
    zh = add_user(contacts_suite, "li", "contacts_manager")
    contacts_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'li'")
    form = zh.get(NEW).get_data(as_text=True)
    assert all(f"字段{kind}" in form for kind, *_rest in KINDS) and "金牌" in form


def test_a_second_process_sees_a_new_field_at_once(contacts_suite):
    first = contacts_suite.admin_client()
    second = contacts_suite.admin_client(contacts_suite.dispatcher())
    assert "WeChat" not in second.get(NEW).get_data(as_text=True)
    add_field(first, name="wechat", label_en="WeChat", label_zh="微信")
    assert "WeChat" in second.get(NEW).get_data(as_text=True)
    assert create_customer(second, name="Acme", x_wechat="acme-wx").status_code == 302
    assert contacts_suite.sql("SELECT x_wechat FROM crm_customer") == [("acme-wx",)]


def test_a_link_to_another_record(contacts_suite):
    client = contacts_suite.admin_client()
    create_customer(client, name="Parent Co")
    add_field(client, name="parent", label_en="Parent company", label_zh="母公司",
              kind="link", target="Customer", in_list="1")
    assert {"x_parent_id"} <= columns(contacts_suite)
    parent = contacts_suite.sql("SELECT id FROM crm_customer")[0][0]
    assert create_customer(client, name="Child", x_parent=str(parent)).status_code == 302
    child = contacts_suite.sql("SELECT id, x_parent_id FROM crm_customer WHERE name = 'Child'")
    assert child[0][1] == parent
    page = client.get(f"/admin/customer/details/?id={child[0][0]}").get_data(as_text=True)
    assert f'/admin/customer/details/?id={parent}' in page and "Parent Co" in page

    # Chosen by typing, as a built-in link: the form lists no records of its own.
    form = client.get(NEW).get_data(as_text=True)
    assert 'data-role="select2-ajax"' in form and "Parent Co" not in form
    lookup = "/admin/customer/ajax/lookup/?name=x_parent&query=Co"
    assert [label for _id, label in client.get(lookup).get_json()] == ["Parent Co (C000001)"]
    # A record's edit form does not offer the record itself, nor saves a link to it.
    url = f"/admin/customer/edit/?id={parent}"
    assert f"leave_out={parent}" in client.get(url).get_data(as_text=True)
    assert client.get(f"{lookup}&leave_out={parent}").get_json() == []
    response = client.post_form(url, {"name": "Parent Co", "x_parent": str(parent)},
                                token_from=url)
    assert response.status_code == 200
    assert "A record cannot link to itself." in response.get_data(as_text=True)
    assert contacts_suite.sql(f"SELECT x_parent_id FROM crm_customer WHERE id = {parent}") \
        == [(None,)]

    # Whatever writes it (here code, as an API or a job would), a flush refuses it.
    from core.db import LinkedToItself, db
    from addons.crm_contacts.models import Customer
    with contacts_suite.app().app_context():
        record = db.session.get(Customer, parent)
        record.x_parent_id = parent
        with pytest.raises(LinkedToItself):
            db.session.commit()
        db.session.rollback()
        record.x_parent = record
        with pytest.raises(LinkedToItself):
            db.session.commit()

    # Merging the parent into its child keeps no link of the child to itself (audited
    # as cleared); a record linked to the parent now links to the child.
    create_customer(client, confirm=True, name="Sister", x_parent=str(parent))
    child, sister = child[0][0], contacts_suite.sql(
        "SELECT id FROM crm_customer WHERE name = 'Sister'")[0][0]
    response = client.post_form("/admin/customer/merge/", {"ids": f"{parent},{child}",
                                                           "keep": str(child)},
                                token_from=f"/admin/customer/merge/?ids={parent},{child}")
    assert response.status_code == 302
    assert contacts_suite.sql("SELECT id, x_parent_id FROM crm_customer ORDER BY id") == [
        (child, None), (sister, child)]
    feed = client.get(f"/admin/customer/details/?id={child}").get_data(as_text=True)
    assert "Parent company</span>: a deleted record → —" in feed
    assert "1 record merged into Child" in feed and "). 1 related row moved." in feed


def test_bad_declarations_are_refused_and_change_nothing(contacts_suite):
    client = contacts_suite.admin_client()
    create_customer(client, name="Acme")
    create_customer(client, name="Globex")
    before = columns(contacts_suite)
    cases = [
        ({"name": "select", "label_en": "A", "label_zh": "甲"}, "reserved word"),
        ({"name": "class", "label_en": "A", "label_zh": "甲"}, "reserved word"),
        ({"name": "Bad Name", "label_en": "A", "label_zh": "甲"}, "lower-case letters"),
        ({"name": "note", "label_en": "Note", "label_zh": ""}, "in English and in Chinese"),
        ({"name": "level", "label_en": "A", "label_zh": "甲", "required": "1"},
         "has 2 records and the field has no default"),
        ({"name": "level", "label_en": "A", "label_zh": "甲", "is_unique": "1",
          "default": "same"}, "cannot be unique"),
        ({"name": "due", "label_en": "A", "label_zh": "甲", "kind": "date",
          "default": "31/12/2026"}, "is not a date, written 2026-12-31"),
        ({"name": "tier", "label_en": "A", "label_zh": "甲", "kind": "choice",
          "options": "gold Gold"}, "value | English | 中文"),
        ({"name": "up", "label_en": "A", "label_zh": "甲", "kind": "link"},
         "kind of record the field links to"),
    ]
    for values, message in cases:
        page = add_field(client, expect_ok=False, **values)
        assert page.status_code == 200
        assert message in page.get_data(as_text=True), values
    add_field(client, name="wechat", label_en="WeChat", label_zh="微信")
    page = add_field(client, expect_ok=False, name="wechat", label_en="B", label_zh="乙")
    assert "already has a field called" in page.get_data(as_text=True)
    # A label the record type has already, built-in or added, in either language.
    for label_en, label_zh in (("Phone", "座机"), ("X", "电话"), (" wechat ", "新")):
        page = add_field(client, expect_ok=False, name="other", label_en=label_en,
                         label_zh=label_zh)
        assert "choose a label of its own" in page.get_data(as_text=True), label_en
    assert declared(contacts_suite) == ["x_wechat"]
    assert columns(contacts_suite) == before | {"x_wechat"}


def test_a_required_field_with_a_default_fills_the_records_there(contacts_suite, tmp_path):
    client = contacts_suite.admin_client()
    create_customer(client, name="Acme")
    add_field(client, name="level", label_en="Level", label_zh="级别", required="1",
              default="basic")
    assert contacts_suite.sql("SELECT x_level FROM crm_customer") == [("basic",)]
    response = create_customer(client, name="Globex", x_level="")
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    # A record made without it (an import of a file that has no such column) gets it.
    path = tmp_path / "customers.csv"
    path.write_text("name\nInitech\n", encoding="utf-8")
    assert contacts_suite.run("import", "customer", str(path)).exit_code == 0
    assert contacts_suite.sql("SELECT x_level FROM crm_customer WHERE name = 'Initech'") == \
        [("basic",)]


def test_removing_hides_the_field_and_keeps_its_data(contacts_suite):
    client = contacts_suite.admin_client()
    add_field(client, name="wechat", label_en="WeChat", label_zh="微信", in_list="1")
    create_customer(client, name="Acme", x_wechat="acme-wx")
    field_id = contacts_suite.sql("SELECT id FROM core_custom_field")[0][0]
    assert client.post_form(f"{PAGE}remove/", {"id": field_id}, token_from=PAGE) \
        .status_code == 302
    assert "WeChat" not in client.get("/admin/customer/").get_data(as_text=True)
    assert "WeChat" not in client.get(NEW).get_data(as_text=True)
    assert contacts_suite.sql("SELECT x_wechat FROM crm_customer") == [("acme-wx",)]
    client.post_form(f"{PAGE}restore/", {"id": field_id}, token_from=PAGE)
    assert "acme-wx" in client.get("/admin/customer/").get_data(as_text=True)


def test_only_administrators_and_customisers_may_customise(contacts_suite):
    seller = add_user(contacts_suite, "sam", "contacts_user")
    assert seller.get(PAGE).status_code == 403
    assert add_field(seller, expect_ok=False, token_from="/admin/", name="x", label_en="X",
                     label_zh="X").status_code == 403
    customiser = add_user(contacts_suite, "cora", "customiser")
    home = customiser.get("/admin/").get_data(as_text=True)   # the way to their page
    assert f'href="{PAGE[:-9]}"' in home and "You have no screens" not in home
    add_field(customiser, name="wechat", label_en="WeChat", label_zh="微信")
    assert declared(contacts_suite) == ["x_wechat"]


@pytest.mark.parametrize("kind", ["text", "link"])
def test_purging_names_the_count_then_drops_column_and_data(contacts_suite, kind):
    client = contacts_suite.admin_client()
    create_customer(client, name="Acme")
    name = f"gone_{kind}"
    add_field(client, name=name, label_en="Gone", label_zh="已删", kind=kind,
              target="Customer", indexed="1")
    key = f"x_{name}_id" if kind == "link" else f"x_{name}"
    acme = contacts_suite.sql("SELECT id FROM crm_customer")[0][0]
    assert create_customer(client, name="Globex", **{f"x_{name}": str(acme) if kind == "link"
                                                     else "kept"}).status_code == 302
    create_customer(client, name="Initech")
    assert client.post_form("/admin/contact/new/", {"customer": acme, "name": "Ann"},
                            token_from="/admin/contact/new/").status_code == 302
    field_id = contacts_suite.sql("SELECT id FROM core_custom_field")[0][0]
    purge = f"{PAGE}purge/?id={field_id}"
    assert client.get(purge).status_code == 404   # only a removed field
    client.post_form(f"{PAGE}remove/", {"id": field_id}, token_from=PAGE)
    page = client.get(purge).get_data(as_text=True)
    assert "1 record holds a value of this field" in page
    # A count that is no longer true purges nothing.
    client.post_form(purge, {"id": field_id, "count": "0"}, token_from=purge)
    assert key in columns(contacts_suite)
    customiser = add_user(contacts_suite, "cora", "customiser")
    assert customiser.get(purge).status_code == 403
    response = client.post_form(purge, {"id": field_id, "count": "1"}, token_from=purge)
    assert response.status_code == 302
    assert key not in columns(contacts_suite) and declared(contacts_suite) == []
    # Nothing else went with it: the three customers are there, and still work.
    assert contacts_suite.sql("SELECT name FROM crm_customer ORDER BY id") == [
        ("Acme",), ("Globex",), ("Initech",)]
    assert contacts_suite.sql("SELECT name FROM crm_contact") == [("Ann",)]
    assert create_customer(client, name="Umbrella").status_code == 302
    assert client.get(f"/admin/customer/details/?id={acme}").status_code == 200


def test_backup_and_restore_keep_fields_and_values(contacts_suite, tmp_path, new_database):
    client = contacts_suite.admin_client()
    create_customer(client, name="Parent Co")
    add_field(client, name="wechat", label_en="WeChat", label_zh="微信", in_list="1")
    add_field(client, name="parent", label_en="Parent company", label_zh="母公司",
              kind="link", target="Customer")
    parent = contacts_suite.sql("SELECT id FROM crm_customer")[0][0]
    create_customer(client, name="Child", x_wechat="child-wx", x_parent=str(parent))
    archive = tmp_path / "site.zip"
    assert contacts_suite.run("backup", str(archive)).exit_code == 0
    target = Suite(write_config(tmp_path / "target", [ROOT / "addons"], ["crm_contacts"]),
                   new_database("postgresql" if PG_URL else "sqlite"))
    result = target.run("restore", str(archive))
    assert result.exit_code == 0, result.output
    assert target.sql("SELECT name, x_wechat, x_parent_id FROM crm_customer ORDER BY id") == [
        ("Parent Co", None, None), ("Child", "child-wx", parent)]
    assert declared(target) == ["x_wechat", "x_parent"]
    page = target.admin_client().get("/admin/customer/").get_data(as_text=True)
    assert "WeChat" in page and "child-wx" in page


def test_exported_as_an_addon_then_enabled_on_an_empty_site(contacts_suite, tmp_path,
                                                            new_database):
    client = contacts_suite.admin_client()
    add_field(client, name="wechat", label_en="WeChat", label_zh="微信", help_en="Its id",
              help_zh="微信号", in_list="1")
    add_field(client, name="tier", label_en="Tier", label_zh="等级", kind="choice",
              options="gold | Gold | 金牌\nsilver | Silver | 银牌", default="silver")
    add_field(client, name="parent", label_en="Parent company", label_zh="母公司",
              kind="link", target="Customer")
    for field, rule in (("website", {"hidden": "1"}),   # and field rules (core.layout)
                        ("phone", {"group-contacts_user": "readonly", "section": "-"})):
        url = f"{PAGE}layout/{field}/"
        assert client.post_form(url, {"section": "=", **rule}, token_from=url) \
            .status_code == 302
    assert client.post_form(f"{PAGE}tabs/", {"tabs": "1"}, token_from=PAGE).status_code == 302
    result = contacts_suite.run("customisations", "export", str(tmp_path / "client"))
    assert result.exit_code == 0, result.output
    assert "3 fields; new migration client_customisations_0001" in result.output
    addon = tmp_path / "client" / "client_customisations"
    assert (addon / "migrations" / "client_customisations_0001_fields.py").is_file()
    assert "微信号" in (addon / "translations" / "zh_Hans_CN" / "LC_MESSAGES" /
                      "messages.po").read_text(encoding="utf-8")

    other = make_suite(tmp_path / "other", new_database("postgresql" if PG_URL else "sqlite"),
                       addon_paths=[ROOT / "addons", tmp_path / "client"],
                       enabled=["crm_contacts"])
    result = other.run("addons", "enable", "client_customisations")
    assert result.exit_code == 0, result.output
    fields = ("model, name, kind, label_en, label_zh, help_en, help_zh, required, is_unique, "
              "indexed, in_list, \"default\", options, target, section")
    assert other.sql(f"SELECT {fields} FROM core_custom_field ORDER BY position") == \
        contacts_suite.sql(f"SELECT {fields} FROM core_custom_field ORDER BY position")
    assert {"x_wechat", "x_tier", "x_parent_id"} <= columns(other)
    rules = "SELECT model, field, section, hidden, access FROM core_field_rule ORDER BY field"
    assert other.sql(rules) == contacts_suite.sql(rules) and len(other.sql(rules)) == 2
    zh = add_user(other, "li", "contacts_manager")
    other.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'li'")
    form = zh.get(NEW).get_data(as_text=True)
    assert "微信" in form and "金牌" in form and "母公司" in form
    assert 'name="website"' not in form and "crm-tabs" in form
    assert other.sql("SELECT model, addon FROM core_screen_layout") == [
        ("Customer", "client_customisations")]
    assert create_customer(zh, name="Acme", x_wechat="acme-wx").status_code == 302
    assert other.sql("SELECT x_wechat, x_tier FROM crm_customer") == [("acme-wx", "silver")]

    # The suite's upgrade keeps them; disabling the addon hides them, enabling shows them.
    assert other.run("upgrade").exit_code == 0
    assert other.run("addons", "disable", "client_customisations").exit_code == 0
    assert "微信" not in zh.get(NEW).get_data(as_text=True)
    assert "crm-tabs" not in zh.get(NEW).get_data(as_text=True)
    assert 'name="website"' in zh.get(NEW).get_data(as_text=True)
    assert other.run("addons", "enable", "client_customisations").exit_code == 0
    assert "acme-wx" in zh.get("/admin/customer/").get_data(as_text=True)

    # A field added since: exported again, it gets a migration of its own.
    add_field(client, name="since", label_en="Customer since", label_zh="客户起始",
              kind="date")
    result = contacts_suite.run("customisations", "export", str(tmp_path / "client"))
    assert "4 fields; new migration client_customisations_0002" in result.output
    assert "x_since" not in (addon / "migrations" / "client_customisations_0001_fields.py") \
        .read_text(encoding="utf-8")
    # Enabled on the site it came from, the addon takes its fields over, columns and all.
    origin = Suite(write_config(tmp_path / "origin", [ROOT / "addons", tmp_path / "client"]),
                   contacts_suite.database_url)
    assert origin.run("addons", "enable", "client_customisations").exit_code == 0
    assert {row[0] for row in contacts_suite.sql("SELECT addon FROM core_custom_field")} == \
        {"client_customisations"}


def test_changing_a_field(contacts_suite):
    """Labels, help, choices, required and unique changed on the field's own page; its
    name and kind stay; a choice records hold cannot be taken away, nor unique made over
    duplicates; a refusal changes nothing."""
    client = contacts_suite.admin_client()
    add_field(client, name="tier", label_en="Tier", label_zh="等级", kind="choice",
              options="gold | Gold | 金牌\nsilver | Silver | 银牌", in_list="1")
    add_field(client, name="wechat", label_en="WeChat", label_zh="微信")
    for name, tier in (("Acme", "gold"), ("Beta", "gold")):
        assert create_customer(client, name=name, x_tier=tier, x_wechat="same") \
            .status_code == 302
    tier, wechat = contacts_suite.sql("SELECT id FROM core_custom_field ORDER BY id")
    url = f"{PAGE}field/{tier[0]}/"
    page = client.get(url).get_data(as_text=True)
    assert 'value="Tier"' in page and "gold | Gold | 金牌" in page
    # Gold is held by two customers: it stays.
    response = client.post_form(url, {"label_en": "Level", "label_zh": "级别",
                                      "options": "silver | Silver | 银牌", "in_list": "1"},
                                token_from=url)
    assert response.status_code == 200
    assert "gold (2)" in response.get_data(as_text=True)
    assert contacts_suite.sql("SELECT label_en, options FROM core_custom_field WHERE id = :i",
                              i=tier[0])[0][0] == "Tier"
    # A label another field has.
    response = client.post_form(url, {"label_en": "WeChat", "label_zh": "级别",
                                      "options": "gold | Gold | 金牌"}, token_from=url)
    assert "choose a label of its own" in response.get_data(as_text=True)
    # Renamed, a choice added, required (every record has a value): saved, shown at once.
    response = client.post_form(url, {"label_en": "Level", "label_zh": "级别", "required": "1",
                                      "options": "gold | Gold+ | 金牌\nbronze | Bronze | 铜牌",
                                      "in_list": "1", "name": "other", "kind": "text"},
                                token_from=url)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    (name, kind, label_en, required), = contacts_suite.sql(
        "SELECT name, kind, label_en, required FROM core_custom_field WHERE id = :i", i=tier[0])
    assert (name, kind, label_en, bool(required)) == ("x_tier", "choice", "Level", True)
    listing = client.get("/admin/customer/").get_data(as_text=True)
    assert "Level" in listing and "Gold+" in listing
    # A filter's link names the field by its key: saved with the old label, it still works.
    filtered = client.get("/admin/customer/?flt1_xtier_equals=gold").get_data(as_text=True)
    assert "Acme" in filtered
    assert client.get("/admin/customer/?flt1_xtier_equals=silver").get_data(as_text=True) \
        .count("Acme") < filtered.count("Acme")
    # Unique over two records holding "same": refused, then accepted once they differ.
    url = f"{PAGE}field/{wechat[0]}/"
    values = {"label_en": "WeChat", "label_zh": "微信", "is_unique": "1"}
    response = client.post_form(url, values, token_from=url)
    assert "cannot be unique" in response.get_data(as_text=True)
    contacts_suite.sql("UPDATE crm_customer SET x_wechat = name")
    assert client.post_form(url, values, token_from=url).status_code == 302
    response = create_customer(client, name="Gamma", x_tier="gold", x_wechat="Acme")
    assert response.status_code == 200
    assert "Gamma" not in [row[0] for row in contacts_suite.sql("SELECT name FROM crm_customer")]


def test_several_choices_default_history_and_held_choices(contacts_suite):
    client = contacts_suite.admin_client()
    assert create_customer(client, name="Acme").status_code == 302
    add_field(client, name="channels", label_en="Channels", label_zh="渠道", kind="choices",
              options="wx | WeChat | 微信\nmail | Email | 邮件\nfax | Fax | 传真",
              default="wx, mail")
    assert contacts_suite.sql("SELECT x_channels FROM crm_customer") == [("|wx|mail|",)]
    response = add_field(client, expect_ok=False, name="other", label_en="Other",
                         label_zh="其他", kind="choices", options="a | A | 甲", default="a, b")
    assert "“a, b” is not one of the choices" in response.get_data(as_text=True)
    acme = contacts_suite.sql("SELECT id FROM crm_customer")[0][0]
    edit = f"/admin/customer/edit/?id={acme}"
    assert client.post_form(edit, {"name": "Acme", "kind": "company", "stage": "prospect",
                                   "x_channels": ["fax"]}, token_from=edit).status_code == 302
    page = client.get(f"/admin/customer/details/?id={acme}").get_data(as_text=True)
    assert "WeChat, Email → Fax" in page   # the history, in words, in the options' order
    field_id = contacts_suite.sql("SELECT id FROM core_custom_field")[0][0]
    url = f"{PAGE}field/{field_id}/"
    response = client.post_form(url, {"label_en": "Channels", "label_zh": "渠道",
                                      "options": "wx | WeChat | 微信"}, token_from=url)
    assert "fax (1)" in response.get_data(as_text=True)


def test_a_segment_on_a_custom_field_reaches_who_holds_it(marketing_suite):
    """A segment is the customer list's filters: one on a custom field is saved from
    the list and counts the customers holding the value when it is read."""
    import re
    from html import unescape

    from tests.addons.crm_marketing.mass_mail_helpers import add_people
    client = marketing_suite.admin_client()
    add_field(client, name="tier", label_en="Tier", label_zh="等级", kind="choice",
              options="gold | Gold | 金牌\nsilver | Silver | 银牌")
    add_people(marketing_suite, 5)
    marketing_suite.sql("UPDATE crm_customer SET x_tier = 'gold' WHERE id IN "
                        "(SELECT id FROM crm_customer ORDER BY id LIMIT 2)")
    query = "flt0_xtier_equals=gold"
    listed = unescape(client.get("/admin/customer/?" + query).get_data(as_text=True))
    action = re.search(r'formaction="([^"]+)"', listed).group(1)
    answer = client.post_form(action, {"name": "Gold", "query": "?" + query},
                              token_from="/admin/customer/")
    assert answer.status_code == 302
    page = unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert 'data-count="customers">2<' in page and "Tier" in page
    marketing_suite.sql("UPDATE crm_customer SET x_tier = 'gold'")   # read when used
    page = unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert 'data-count="customers">5<' in page


def test_the_record_types_are_under_their_menus_in_menu_order(sales_suite):
    """The index and a link's target list follow the menu bar in either language
    (Chinese labels sorted by code point would be in no order a reader knows)."""
    sales_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN'")
    client = sales_suite.admin_client()
    page = client.get(PAGE[:-9]).get_data(as_text=True)
    body = page[page.index("crm-customisable"):]
    places = [body.index(text) for text in ("客户</th>", ">客户</a>", ">联系人</a>",
                                            "销售</th>", ">商机</a>")]
    assert places == sorted(places), places
    form = client.get(PAGE).get_data(as_text=True)
    assert form.index('<optgroup label="客户">') < form.index('value="Customer"') \
        < form.index('<optgroup label="销售">') < form.index('value="Opportunity"')


def test_the_grouped_deals_group_by_a_choice_or_a_yes_no_field(sales_suite):
    """A choice and a yes/no field of opportunities are groupings of the grouped list:
    groups in the options' order, empty last, each counted and summed in SQL; a field
    hidden for a group is no grouping for its users (asked for anyway: by stage)."""
    from tests.addons.crm_contacts.helpers import user_id
    from tests.addons.crm_sales.pipeline_helpers import (insert_opportunities, make_customer,
                                                         stage_ids)
    from tests.addons.crm_sales.test_pipeline import group_rows
    admin = sales_suite.admin_client()
    page = "/admin/customise/Opportunity/"
    for values in ({"name": "region", "kind": "choice", "label_en": "Region",
                    "label_zh": "区域", "options": "north | North | 华北\nsouth | South | 华南"},
                   {"name": "tender", "kind": "yes_no", "label_en": "Tender",
                    "label_zh": "招标"}):
        response = admin.post_form(page, {"section": "-", **values}, token_from=page)
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    customer, stage = make_customer(admin, sales_suite, "Acme"), stage_ids(sales_suite)["Proposal"]
    insert_opportunities(sales_suite, 4, customer, stage, user_id(sales_suite, "admin"))
    sales_suite.sql("UPDATE sale_opportunity SET x_region = 'south', x_tender = :t "
                    "WHERE name IN ('Deal 0', 'Deal 1')", t=True)
    sales_suite.sql("UPDATE sale_opportunity SET x_region = 'north', x_tender = :f, "
                    "amount = 50 WHERE name = 'Deal 2'", f=False)

    grouped = "/admin/opportunity/grouped/?group={}"
    response = admin.get(grouped.format("x_region"))
    assert group_rows(response) == [("North", 1, "50.00"), ("South", 2, "200.00"),
                                    ("Not set", 1, "100.00")]
    text = response.get_data(as_text=True)
    assert re.search(r'class="btn btn-outline-secondary active" href="[^"]*x_region[^"]*">'
                     r'Region<', text)
    assert "<th>Region</th>" in text   # (the table of all groups)
    assert group_rows(admin.get(grouped.format("x_tender"))) == [
        ("Yes", 2, "200.00"), ("No", 1, "50.00"), ("Not set", 1, "100.00")]
    sales_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    response = admin.get(grouped.format("x_region"))
    assert [row[0] for row in group_rows(response)] == ["华北", "华南", "未设置"]
    assert ">区域<" in response.get_data(as_text=True)

    # Hidden for sales users: not offered to them, and not applied when asked for.
    url = "/admin/customise/Opportunity/layout/x_region/"
    response = admin.post_form(url, {"section": "=", "group-sales_user": "hidden"},
                               token_from=url)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    sales_suite.sql("UPDATE sale_opportunity SET owner_id = :u", u=user_id(sales_suite, "ann"))
    response = ann.get(grouped.format("x_region"))
    assert ">Region<" not in response.get_data(as_text=True)
    assert group_rows(response) == [("Proposal", 4, "350.00")]
    assert "Tender" in ann.get(grouped.format("x_tender")).get_data(as_text=True)


def test_the_list_shows_choices_in_each_readers_language(contacts_suite):
    """A built-in and a custom choice in the list's cells, in the language of each reader,
    served in turns by one process (the choices' texts are looked up once per language)."""
    client = contacts_suite.admin_client()
    add_field(client, name="tier", label_en="Tier", label_zh="等级", kind="choice",
              options="gold | Gold | 金牌\nsilver | Silver | 银牌", in_list="1")
    assert create_customer(client, name="Acme", x_tier="gold").status_code == 302
    zh = add_user(contacts_suite, "li", "contacts_manager")
    contacts_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'li'")
    for _turn in range(2):
        english = client.get("/admin/customer/").get_data(as_text=True)
        chinese = zh.get("/admin/customer/").get_data(as_text=True)
        assert '<td class="col-x_tier">Gold</td>' in english
        assert '<td class="col-stage">Prospect</td>' in english
        assert '<td class="col-x_tier">金牌</td>' in chinese
        assert '<td class="col-stage">潜在</td>' in chinese
