"""An export of a list imports back unchanged through the same screen: headers are the
list's labels (translated, and known to the import in either language), related
records are written by the key the import takes, XLSX cells keep their types. An
import may also take only the good rows and give the bad ones back with their errors."""
import csv
import datetime
import gc
import io
import re

import pytest
from openpyxl import load_workbook

from tests.addons.conftest import addon_suite

PASSWORD = "a long password 1"
PHONE = "+44 20 7946 0000"
CUSTOMERS = [  # name, grade, stage, phone, city, owner, is_key, credit_limit
    ("Thames Trading Ltd", "A", "active", PHONE, "London", "tom.lee", "yes", "1000.50"),
    ("=HYPERLINK(\"http://x\")", "B", "prospect", "-5", "上海", "tom.lee", "no", ""),
    ("华为技术有限公司", "", "dormant", "", "", "tom.lee", "", "0"),
    ("Admin's own Co", "C", "active", "", "", "admin", "", ""),
]


@pytest.fixture
def sales(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_sales"])
    assert suite.run("create-user", "--username", "tom.lee", "--password", PASSWORD,
                     "--groups", "sales_user,contacts_user").exit_code == 0
    suite.sql("UPDATE core_user SET full_name = 'Tom Lee' WHERE username = 'tom.lee'")
    path = tmp_path / "seed.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["name", "grade", "stage", "phone", "city", "owner",
                                       "is_key", "credit_limit"],
                                      *CUSTOMERS])
    assert suite.run("import", "customer", str(path)).exit_code == 0
    path.write_text("name,customer,amount,stage,probability,expected_close,owner\n"
                    "Big deal,C000001,180000.50,Won,100,2027-01-31,tom.lee\n"
                    "Small deal,C000002,99,Qualification,10,,tom.lee\n", encoding="utf-8")
    result = suite.run("import", "opportunity", str(path))
    assert result.exit_code == 0, result.output
    yield suite
    suite.close()


def signed_in(suite, username, password=PASSWORD, language="en"):
    suite.sql("UPDATE core_user SET language = :l WHERE username = :u", l=language,
              u=username)
    client = suite.client()
    client.login(username, password)
    return client


def import_file(client, url, content, name, step):
    """Upload ``content`` on the import screen with the columns as it maps them; then
    post ``step``. Returns the page."""
    page = client.post(url, data={"csrf_token": client.csrf_token(url),
                                  "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data").get_data(as_text=True)
    fields = {"token": re.search(r'name="token" value="([^"]+)"', page).group(1)}
    for select, options in re.findall(r'<select name="(map:\d+)"(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[select] = chosen.group(1) if chosen else ""
    response = client.post_form(url, dict(fields, step=step), token_from=url)
    return response, fields


CUSTOMER_ROWS = ("SELECT code, name, grade, stage, phone, city, owner_id, is_key, credit_limit, "
                 "kind FROM crm_customer ORDER BY code")


def test_a_salespersons_export_in_chinese_imports_back_unchanged(sales):
    tom = signed_in(sales, "tom.lee", language="zh_Hans_CN")
    before = sales.sql(CUSTOMER_ROWS)
    exported = {fmt: tom.get(f"/admin/customer/export/{fmt}/") for fmt in ("csv", "xlsx")}
    assert all(response.status_code == 200 for response in exported.values())
    text = exported["csv"].get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    # The list's columns, then the others that the import sets.
    assert rows[0][:7] == ["编码", "名称", "客户等级", "生命周期阶段", "电话", "城市", "负责人"]
    assert "电子邮件" in rows[0] and "类型" in rows[0]
    assert len(rows) == 4 and "Admin's own Co" not in text          # his own records only
    by_code = {row[0]: row for row in rows[1:]}
    # The owner by username, as the import takes it; a choice as the user reads it;
    # CSV neutralises what a spreadsheet would run, not a plain number.
    assert by_code["C000001"][3:7] == ["有效", "'" + PHONE, "London", "tom.lee"]
    assert by_code["C000002"][1] == "'=HYPERLINK(\"http://x\")" and by_code["C000002"][4] == "-5"
    sheet = load_workbook(io.BytesIO(exported["xlsx"].get_data())).active
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert [c.value for c in sheet[1]][6] == "负责人"
    assert cells["C000001"][4].value == PHONE and cells["C000001"][4].data_type == "s"
    formula = cells["C000002"][1]   # text, no apostrophe, never run
    named = dict(zip([c.value for c in sheet[1]], cells["C000001"]))
    assert named["关键客户"].value is True and named["信用额度"].value == 1000.5
    assert formula.value == "=HYPERLINK(\"http://x\")" and formula.data_type == "s"

    admins = sales.sql(CUSTOMER_ROWS)[3:]
    for fmt, response in exported.items():   # into the database again, from empty
        sales.sql("DELETE FROM sale_opportunity")
        sales.sql("DELETE FROM crm_customer WHERE owner_id != 1")
        page, _fields = import_file(tom, "/admin/customer/import/", response.get_data(),
                                    f"customers.{fmt}", "commit")
        assert page.status_code == 302, page.get_data(as_text=True)
        assert sales.sql(CUSTOMER_ROWS) == before, fmt
    assert sales.sql(CUSTOMER_ROWS)[3:] == admins


def test_a_streamed_export_gives_its_database_connection_back(sales):
    # A CSV is written after the request has ended: its query must not keep a connection
    # that only the garbage collector would return (hundreds of exports emptied the pool).
    tom = signed_in(sales, "tom.lee")
    pool = sales._web._engine.pool
    gc.disable()
    try:
        for _ in range(3):
            response = tom.get("/admin/customer/export/csv/")
            assert response.status_code == 200 and "Thames Trading" in response.get_data(
                as_text=True)
            assert pool.checkedout() == 0
    finally:
        gc.enable()


def test_an_admins_xlsx_has_types_widths_and_a_frozen_header_and_imports_back(sales):
    admin = signed_in(sales, "admin", "correct horse battery")
    response = admin.get("/admin/opportunity/export/xlsx/?sort=0")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Name", "Customer", "Amount"] and "Lost reason" in header
    assert sheet.freeze_panes == "A2" and sheet[1][0].font.b
    assert sheet.column_dimensions["A"].width >= len("Small deal")
    big = {name: cell for name, cell in zip(header, sheet[2])}
    assert big["Name"].value == "Big deal" and big["Customer"].value == "C000001"
    assert big["Amount"].data_type == "n" and big["Amount"].value == 180000.5
    assert big["Amount"].number_format == "#,##0.00"
    assert big["Expected close"].is_date and \
        big["Expected close"].value.date() == datetime.date(2027, 1, 31)
    assert big["Probability %"].value == 100 and big["Owner"].value == "tom.lee"
    assert big["Stage"].value == "Won"

    deals = ("SELECT name, customer_id, amount, stage_id, probability, expected_close, "
             "owner_id FROM sale_opportunity ORDER BY name")
    before = sales.sql(deals)
    page, fields = import_file(admin, "/admin/opportunity/import/", response.get_data(),
                               "deals.xlsx", "check")
    assert "All 2 rows are valid." in page.get_data(as_text=True)
    sales.sql("DELETE FROM sale_opportunity")
    assert admin.post_form("/admin/opportunity/import/", dict(fields, step="commit"),
                           token_from="/admin/opportunity/import/").status_code == 302
    assert sales.sql(deals) == before

    # A Chinese export names the stage as the user reads it; it imports as well.
    tom = signed_in(sales, "tom.lee", language="zh_Hans_CN")
    text = tom.get("/admin/opportunity/export/csv/").get_data(as_text=True)
    assert "tom.lee" in text and "Won" not in text
    page, _fields = import_file(tom, "/admin/opportunity/import/", text.encode(),
                                "deals.csv", "check")
    assert "crm-problems" not in page.get_data(as_text=True)


def test_the_good_rows_are_imported_and_the_bad_ones_given_back(sales, tmp_path):
    tom = signed_in(sales, "tom.lee")
    url = "/admin/customer/import/"
    content = ("Name,Grade,Phone,Owner\n"
               "Good One,A,+86 10 1234 5678,tom.lee\n"
               "Bad grade,Z,,tom.lee\n"
               "Good Two,B,,\n"
               ",A,,admin\n").encode()
    page, fields = import_file(tom, url, content, "new.csv", "check")
    page = page.get_data(as_text=True)
    assert "Import only the rows without problems (2 of 4)" in page
    assert "<td>3</td><td>Grade</td>" in page       # the file's own column name
    count = "SELECT count(*) FROM crm_customer"
    assert sales.sql(count) == [(4,)]                # a check writes nothing
    # All or nothing refuses; the good rows only, in one go, gives back the others.
    tom.post_form(url, dict(fields, step="commit"), token_from=url)
    assert sales.sql(count) == [(4,)]
    page = tom.post_form(url, dict(fields, step="commit_good"), token_from=url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 rows were not imported." in text
    assert sales.sql("SELECT name, phone, owner_id FROM crm_customer WHERE id > 4 ORDER BY id") \
        == [("Good One", "+86 10 1234 5678", 2), ("Good Two", None, 2)]
    link = re.search(r'href="([^"]*rejected=[^"]*format=xlsx)"', text).group(1)
    sheet = load_workbook(io.BytesIO(tom.get(link.replace("&amp;", "&")).get_data())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Name", "Grade", "Phone", "Owner", "Error"]
    assert rows[1][:2] == ["Bad grade", "Z"] and rows[1][4].startswith("Grade: Z is not one of")
    assert rows[2][0] is None and "Name: is required" in rows[2][4]
    assert "Owner:" in rows[2][4]                     # not an owner he may assign
    # Put right, the same file imports (its error column is left out).
    rows[1][1], rows[2][0], rows[2][3] = "C", "Fixed Co", "tom.lee"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rows)
    page, _fields = import_file(tom, url, fixed.getvalue().encode(), "fixed.csv", "commit")
    assert page.status_code == 302 and sales.sql(count) == [(8,)]

    # The command line, the same: the good rows, and the others in a file.
    path = tmp_path / "more.csv"
    path.write_text("名称,负责人,客户等级\nGood Co,tom.lee,A\nNo Owner Co,ghost,B\n",
                    encoding="utf-8")
    result = sales.run("import", "customer", str(path))
    assert result.exit_code == 1 and "nothing written" in result.output
    rejected = tmp_path / "rejected.csv"
    result = sales.run("import", "customer", str(path), "--skip-bad", "--rejected",
                       str(rejected))
    assert result.exit_code == 0, result.output
    assert "1 Customer records imported" in result.output and "1 rows not imported" in result.output
    assert sales.sql("SELECT name FROM crm_customer WHERE id > 8") == [("Good Co",)]
    rows = list(csv.reader(open(rejected, encoding="utf-8-sig")))
    assert rows == [["名称", "负责人", "客户等级", "Error"],
                    ["No Owner Co", "ghost", "B", "负责人: ghost was not found"]]
