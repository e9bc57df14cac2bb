"""Importing and exporting customers and contacts: the CLI and the import screen, with
the duplicate check, all rows or none."""
import csv

from openpyxl import Workbook

from tests.addons.crm_contacts.helpers import add_user, import_customers, write_csv

HEADER = ["name", "kind", "grade", "stage", "phone", "email", "province", "city", "owner",
          "credit_limit", "is_key"]


def count(suite, table="crm_customer"):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def test_a_file_with_bad_rows_writes_nothing_and_names_each_problem(contacts_suite, tmp_path):
    path = write_csv(tmp_path / "bad.csv", HEADER, [
        ["Acme", "company", "A", "active", "13812345678", "a@example.com", "上海", "上海市",
         "admin", "1000.50", "yes"],
        ["", "company", "B", "active", "", "", "", "", "", "", ""],
        ["Globex", "company", "E", "active", "", "", "", "", "", "", ""],
        ["Initech", "company", "C", "asleep", "", "", "", "", "nobody", "lots", "maybe"],
    ])
    for args in (["--dry-run"], []):
        result = contacts_suite.run("import", "customer", path, *args)
        assert result.exit_code == 1
        output = result.output
        assert "row 3, column name: is required" in output
        assert "row 4, column grade: E is not one of A, B, C, D" in output
        assert "row 5, column stage" in output and "row 5, column owner" in output
        assert "row 5, column credit_limit: lots is not a number" in output
        assert "row 5, column is_key: maybe is not yes or no" in output
        assert "nothing written" in output
    assert count(contacts_suite) == 0


def test_a_good_file_writes_every_row_with_codes_and_keys(contacts_suite, tmp_path):
    rows = [[f"客户{n}有限公司", "company", "ABCD"[n % 4], "active", f"1390000{n:04d}",
             f"c{n}@example.com", "江苏", "南京市", "admin", "5000", "no"] for n in range(50)]
    path = write_csv(tmp_path / "good.csv", HEADER, rows)
    dry = contacts_suite.run("import", "customer", path, "--dry-run")
    assert dry.exit_code == 0 and "50 rows are valid" in dry.output
    assert count(contacts_suite) == 0
    result = contacts_suite.run("import", "customer", path)
    assert result.exit_code == 0, result.output
    assert count(contacts_suite) == 50
    first = contacts_suite.sql("SELECT code, name_key, phone_key, grade FROM crm_customer "
                               "ORDER BY id LIMIT 1")
    assert first == [("C000001", "客户0", "13900000000", "A")]


def test_import_warns_of_duplicates_in_the_file_and_in_the_database(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("北京华为技术有限公司", "010-12345678", "", "A")])
    path = write_csv(tmp_path / "dups.csv", ["name", "phone", "email"], [
        ["Fresh Ltd", "", "fresh@example.com"],
        ["北京华为技术股份有限公司", "", ""],                 # same name as the database's
        ["Someone", "+86 10 1234 5678", ""],               # same phone
        ["FRESH CO., LTD.", "", ""],                      # same name as row 2
    ])
    result = contacts_suite.run("import", "customer", path, "--dry-run")
    assert result.exit_code == 0
    assert "row 3, column name: possible duplicate of 北京华为技术有限公司 (C000001)" in result.output
    assert "row 4, column phone: possible duplicate of 北京华为技术有限公司 (C000001)" in result.output
    assert "row 5, column name: possible duplicate of row 2" in result.output
    assert "row 2, column" not in result.output         # Fresh Ltd has no twin


def test_import_screen_dry_run_then_commit(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("Acme Ltd", "", "", "A")])
    client = contacts_suite.admin_client()
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "phone", "grade"])
    sheet.append(["ACME Inc.", "13800000001", "B"])
    sheet.append(["Globex", "13800000002", "Z"])
    book.save(tmp_path / "customers.xlsx")
    url = "/admin/customer/import/"
    with open(tmp_path / "customers.xlsx", "rb") as handle:
        page = client.post(url, data={"file": (handle, "customers.xlsx"),
                                      "csrf_token": client.csrf_token(url)},
                           content_type="multipart/form-data").get_data(as_text=True)
    token = page.split('name="token" value="')[1].split('"')[0]
    mapping = {"token": token, "map:0": "name", "map:1": "phone", "map:2": "grade"}
    page = client.post_form(url, dict(mapping, step="check"), token_from=url).get_data(as_text=True)
    assert "Z is not one of A, B, C, D" in page and "possible duplicate of Acme Ltd" in page
    assert count(contacts_suite) == 1
    page = client.post_form(url, dict(mapping, step="commit"), token_from=url)
    assert count(contacts_suite) == 1   # still refused: a bad row
    # Mapping the bad column away lets the rest in; the duplicate is a warning only.
    mapping["map:2"] = ""
    response = client.post_form(url, dict(mapping, step="commit"), token_from=url)
    assert response.status_code == 302
    assert count(contacts_suite) == 3


def test_contacts_import_by_customer_code_or_name(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("Acme Ltd", "", "", "A")])
    import_customers(contacts_suite, tmp_path, [("Acme Ltd", "", "", "B")])   # a namesake
    path = write_csv(tmp_path / "contacts.csv", ["customer", "name", "mobile", "birthday"], [
        ["C000001", "Li Lei", "13800000001", "1990-05-01"],
        ["C000002", "Han Meimei", "", ""]])
    result = contacts_suite.run("import", "contact", path)
    assert result.exit_code == 0, result.output
    assert contacts_suite.sql("SELECT customer_id FROM crm_contact ORDER BY id") == [(1,), (2,)]
    by_name = write_csv(tmp_path / "by_name.csv", ["customer", "name"], [["Acme Ltd", "X"]])
    result = contacts_suite.run("import", "contact", by_name)
    assert result.exit_code == 1 and "Acme Ltd matches several records" in result.output
    bad = write_csv(tmp_path / "bad.csv", ["customer", "name"], [["Nobody Inc", "X"]])
    result = contacts_suite.run("import", "contact", bad)
    assert result.exit_code == 1 and "row 2, column customer: Nobody Inc was not found" in result.output


def test_export_then_import_round_trip(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("Acme", "13800000001", "a@example.com", "A"),
                                                ("Globex", "", "", "B")])
    out = tmp_path / "out.csv"
    result = contacts_suite.run("export", "customer", str(out))
    assert result.exit_code == 0 and "2 Customer records" in result.output
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert rows[0]["name"] == "Acme" and rows[0]["code"] == "C000001"
    assert "name_key" not in rows[0] and "owner" in rows[0]
    # Codes are unique: importing the same file again is refused, naming the rows.
    again = contacts_suite.run("import", "customer", str(out))
    assert again.exit_code == 1 and "C000001 already exists" in again.output


def test_export_of_the_list_keeps_its_filter(contacts_suite, tmp_path):
    import_customers(contacts_suite, tmp_path, [("Acme", "", "", "A"), ("Globex", "", "", "B")])
    manager = add_user(contacts_suite, "meg", "contacts_manager")
    body = manager.get("/admin/customer/export/csv/?flt0_grade_equals=A").get_data(as_text=True)
    assert "Acme" in body and "Globex" not in body


def test_an_imported_customer_is_saved_as_by_any_other_way(contacts_suite, tmp_path):
    """The bulk write of an import gives each row what a save gives a customer: the
    duplicate keys and the code (addon listeners), defaults, dates, and an audit row;
    the same row and audit content as a customer saved one by one."""
    import json

    from flask import g

    from addons.crm_contacts.models import Customer
    from core.db import db

    values = {"name": "ＡＣＭＥ 有限公司", "phone": "+86 138-1234-5678", "email": "Sales@ACME.cn"}
    app = contacts_suite.app()
    admin = contacts_suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    with app.app_context():   # saved by the administrator, whom the command line acts as
        g.acting_user_id = admin
        db.session.add(Customer(**values))
        db.session.commit()
        db.session.remove()
    path = write_csv(tmp_path / "one.csv", ["name", "phone", "email", "grade"],
                     [[values["name"], values["phone"], values["email"], ""],
                      ["Globex", "", "", "B"]])
    assert contacts_suite.run("import", "customer", path).exit_code == 0
    with app.app_context():   # after the import, a save takes the next id and code
        g.acting_user_id = admin
        db.session.add(Customer(name="After"))
        db.session.commit()
        db.session.remove()
    columns = [c.name for c in Customer.__table__.columns]
    rows = [dict(zip(columns, row)) for row in contacts_suite.sql(
        "SELECT * FROM crm_customer ORDER BY id")]
    assert [(row["id"], row["code"], row["name"]) for row in rows] == [
        (1, "C000001", values["name"]), (2, "C000002", values["name"]),
        (3, "C000003", "Globex"), (4, "C000004", "After")]
    saved, imported, globex = rows[:3]
    assert (imported["name_key"], imported["phone_key"], imported["email_key"]) == (
        "acme", "13812345678", "sales@acme.cn")
    assert (globex["kind"], globex["stage"], globex["grade"], globex["phone_key"]) == (
        "company", "prospect", "B", "")
    assert imported["created_at"] is not None and imported["updated_at"] is not None
    differ = {"id", "code", "created_at", "updated_at"}
    assert {k: v for k, v in imported.items() if k not in differ} == \
        {k: v for k, v in saved.items() if k not in differ}
    changes = {record_id: json.loads(text) for record_id, text in contacts_suite.sql(
        "SELECT record_id, changes FROM core_audit WHERE model = 'Customer' "
        "AND action = 'create'")}
    assert sorted(changes) == [1, 2, 3, 4]
    assert changes[2].pop("code") == [None, "C000002"]
    assert changes[1].pop("code") == [None, "C000001"]
    assert changes[2] == changes[1] and changes[2]["name_key"] == [None, "acme"]
