"""Stock-takes: the sheet exported to XLSX, filled in and imported back; a file with bad
rows names each of them (row and column) and changes nothing."""
import io

from openpyxl import Workbook, load_workbook

from tests.addons.crm_purchase.purchase_helpers import (
    D, TAKES, default_warehouse, flashes, make_product, make_take, money, put_stock,
    take_lines, take_row, type_counts, user)

HEADER = ["Product code", "Product name", "Unit", "On the books", "Counted"]


def shop(suite):
    warehouse = default_warehouse(suite)
    for code, name, quantity, cost in (("C1", "茶杯", 10, "3.20"), ("C2", "Teapot", 4, "25"),
                                       ("C3", "Saucer", 12, "1.10")):
        put_stock(suite, make_product(suite, code, name=name), warehouse, quantity, cost)
    keeper, _id = user(suite, "keeper", "stock_user")
    return warehouse, keeper


def workbook(rows, header=HEADER):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row if row is not None else [])   # None: a blank row
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def upload(client, take_id, data, filename="count.xlsx"):
    """POST a file to the take's import form; returns the page it leads to."""
    response = client.post(f"{TAKES}import-counts/?id={take_id}", data={
        "csrf_token": client.csrf_token(f"{TAKES}details/?id={take_id}"),
        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
    assert response.status_code == 302, flashes(response)
    return client.get(response.location)


def test_export_fill_in_and_import(purchase_suite):
    suite = purchase_suite
    warehouse, keeper = shop(suite)
    take = make_take(keeper, suite, warehouse)

    response = keeper.get(f"{TAKES}xlsx/?id={take}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:5] == HEADER and rows[0][5:] == ["Variance", "Unit cost", "Variance value"]
    assert [row[:5] for row in rows[1:4]] == [["C1", "茶杯", "pcs", 10, None],
                                             ["C2", "Teapot", "pcs", 4, None],
                                             ["C3", "Saucer", "pcs", 12, None]]
    assert rows[4][1] == "Total"

    # The counter fills in the Counted column (a number, a decimal typed as text, 0).
    for row, counted in zip(sheet.iter_rows(min_row=2, max_row=4), (9, "4.5", 12)):
        row[4].value = counted
    filled = io.BytesIO()
    sheet.parent.save(filled)
    page = flashes(upload(keeper, take, filled.getvalue()))
    assert "3 counts imported" in page, page

    assert take_lines(suite, take) == {"C1": (D(10), D(9), D("3.2")),
                                       "C2": (D(4), D("4.5"), D(25)),
                                       "C3": (D(12), D(12), D("1.1"))}
    # -1 x 3.20 + 0.5 x 25 + 0 = 9.30
    assert take_row(suite, take)[1] == money("9.30")

    # The export now shows the variance, its value and the total.
    rows = [list(row) for row in load_workbook(io.BytesIO(
        keeper.get(f"{TAKES}xlsx/?id={take}").data)).active.iter_rows(values_only=True)]
    assert rows[1][4:] == [9, -1, 3.2, -3.2]
    assert rows[2][4:] == [4.5, 0.5, 25, 12.5]
    assert rows[4][7] == 9.3

    # A later file with only some counts changes only those lines.
    page = flashes(upload(keeper, take, workbook([["C2", "", "", "", 4]])))
    assert "1 count imported" in page
    assert take_lines(suite, take)["C2"][1] == D(4)
    assert take_lines(suite, take)["C1"][1] == D(9)


def test_bad_rows_are_named_and_nothing_changes(purchase_suite):
    suite = purchase_suite
    warehouse, keeper = shop(suite)
    take = make_take(keeper, suite, warehouse)
    type_counts(keeper, suite, take, {"C1": "7"})
    before = take_lines(suite, take), take_row(suite, take)

    data = workbook([
        ["C2", "Teapot", "pcs", 4, 3],            # row 2: fine, but not imported either
        ["C1", "茶杯", "pcs", 10, "abc"],          # row 3
        None,                                     # row 4 left blank
        ["X9", "Unknown", "pcs", 0, 2],           # row 5
        ["C3", "Saucer", "pcs", 12, -2],          # row 6
        ["C2", "Teapot", "pcs", 4, 1.2345],       # row 7: twice, and four decimals
    ])
    page = flashes(upload(keeper, take, data))
    assert "Nothing was imported" in page
    assert "Row 3, Counted: 'abc' is not a number" in page, page
    assert "Row 5, Product code: no product X9 on this count" in page
    assert "Row 6, Counted: '-2' is negative" in page
    assert "Row 7, Product code: C2 is counted twice in the file (also row 2)" in page
    assert "Row 7, Counted: '1.2345' has more than three decimals" in page
    assert "Row 2" not in page
    assert (take_lines(suite, take), take_row(suite, take)) == before


def test_files_that_cannot_be_imported(purchase_suite):
    suite = purchase_suite
    warehouse, keeper = shop(suite)
    boss, _boss_id = user(suite, "boss", "purchase_manager")
    take = make_take(keeper, suite, warehouse)
    before = take_lines(suite, take)

    assert "ending in .xlsx" in flashes(upload(keeper, take, b"a,b\n", "count.csv"))
    assert "content is not XLSX" in flashes(upload(keeper, take, b"not a zip", "count.xlsx"))
    assert "not a readable XLSX" in flashes(upload(keeper, take, b"PK\x03\x04garbage"))
    page = flashes(upload(keeper, take, workbook([["C1", 3]], header=["Code", "Qty"])))
    assert "needs the columns Product code, Counted" in page, page
    page = flashes(upload(keeper, take, workbook([["C1", "茶杯", "pcs", 10, ""]])))
    assert "no counted quantity" in page
    assert take_lines(suite, take) == before

    # Chinese headers (a sheet exported in Chinese) import the same.
    chinese = ["产品编码", "产品名称", "单位", "账面数量", "实盘数量"]
    page = flashes(upload(keeper, take, workbook([["C1", "", "", "", 8]], header=chinese)))
    assert "1 count imported" in page, page

    # Once submitted, counts are locked.
    type_counts(keeper, suite, take, {"C1": "8", "C2": "4", "C3": "12"})
    keeper.post_form(f"{TAKES}transition/submit/?id={take}", {},
                     token_from=f"{TAKES}details/?id={take}")
    assert take_row(suite, take)[0] == "waiting for approval"
    page = flashes(upload(keeper, take, workbook([["C1", "", "", "", 1]])))
    assert "Counts change only while counting" in page
    assert take_lines(suite, take)["C1"][1] == D(8)
    assert boss.get(f"{TAKES}details/?id={take}").status_code == 200
