"""Reports and dashboards through the screens: figures against a table worked by hand,
within each user's record rules and the owner, team and period chosen; Excel and PDF
read back; a user's copy of a standard dashboard, and what it shows when the addon of
one of its reports is disabled; bad filters."""
import io
import re
from decimal import Decimal

import openpyxl

from tests.addons.crm_contacts.helpers import app_of, user
from tests.addons.crm_reports.report_helpers import YEAR, pdf_text, table
from tests.addons.crm_sales.order_helpers import flashes, text
WON_BY_OWNER = "/admin/report/sales_won_by_owner/"
BY_GRADE = "/admin/report/customers_by_grade/"


def test_won_revenue_by_salesperson_against_a_worked_table(world):
    admin, ann = world["admin"], world["ann"]
    period = f"?start={YEAR}-01-01&end={YEAR}-12-31"
    rows, totals = table(text(admin.get(WON_BY_OWNER + period)))
    assert rows == [["bob", "1", "3,000.00"], ["ann", "2", "1,200.50"]]
    assert totals == ["Total", "3", "4,200.50"]
    # Ann's own deals only: the record rules hold in every figure.
    rows, totals = table(text(ann.get(WON_BY_OWNER + period)))
    assert rows == [["ann", "2", "1,200.50"]] and totals == ["Total", "2", "1,200.50"]
    # The period: March and April only; then last year.
    rows, _totals = table(text(admin.get(WON_BY_OWNER + f"?start={YEAR}-03-01&end={YEAR}-04-30")))
    assert rows == [["bob", "1", "3,000.00"], ["ann", "1", "1,000.50"]]
    rows, _totals = table(text(admin.get(WON_BY_OWNER + f"?start={YEAR - 1}-01-01&end={YEAR - 1}-12-31")))
    assert rows == [["admin", "1", "50.00"]]
    # An owner chosen.
    rows, _totals = table(text(admin.get(WON_BY_OWNER + period + f"&owner={world['ann_id']}")))
    assert rows == [["ann", "2", "1,200.50"]]


def test_customers_by_grade_within_the_rules(world):
    admin, bob = world["admin"], world["bob"]
    rows, totals = table(text(admin.get(BY_GRADE)))
    assert sorted(rows) == [["A", "2", "2"], ["B", "1", "1"], ["C", "1", "1"]]
    assert totals == ["Total", "4", "4"]
    rows, totals = table(text(bob.get(BY_GRADE)))
    assert rows == [["A", "1", "1"]] and totals == ["Total", "1", "1"]


def test_a_period_without_data_and_bad_filters_say_so(world):
    admin = world["admin"]
    page = text(admin.get(WON_BY_OWNER + "?start=2001-01-01&end=2001-12-31"))
    assert "Nothing to count in this period." in page
    response = admin.get(WON_BY_OWNER + "?start=2026-13-45")
    assert response.status_code == 200 and "Enter dates as YYYY-MM-DD." in flashes(response)
    response = admin.get(WON_BY_OWNER + "?start=2026-05-01&end=2026-04-01")
    assert "The period ends before it starts." in flashes(response)
    assert admin.get("/admin/report/no_such_report/").status_code == 404


def test_excel_keeps_types_and_freezes_the_header(world):
    admin, ann = world["admin"], world["ann"]
    response = admin.get(WON_BY_OWNER + "xlsx" + f"?start={YEAR}-01-01&end={YEAR}-12-31")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Salesperson", "Deals", "Won revenue")
    assert rows[1:] == [("bob", 1, 3000), ("ann", 2, Decimal("1200.50"))] or \
        rows[1:] == [("bob", 1, 3000.0), ("ann", 2, 1200.5)]
    assert sheet.freeze_panes == "A2"
    # A salesperson's file holds only their figures.
    sheet = openpyxl.load_workbook(io.BytesIO(ann.get(
        WON_BY_OWNER + "xlsx" + f"?start={YEAR}-01-01&end={YEAR}-12-31").data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["ann"]


def test_pdf_prints_the_filters_the_time_and_the_figures(world, tmp_path):
    admin = world["admin"]
    response = admin.get(WON_BY_OWNER + "pdf" + f"?start={YEAR}-03-01&end={YEAR}-04-30"
                         f"&owner={world['ann_id']}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    found = pdf_text(response.data, tmp_path)
    assert "Won revenue by salesperson" in found
    assert "Owner: ann" in found and "As of" in found
    assert f"{YEAR}" in found.split("Owner")[0]          # the period, before the owner
    assert re.search(r"ann\s+1\s+1,000\.50", found)
    assert "bob" not in found


def test_a_dashboard_in_chinese_and_as_one_pdf(world, tmp_path):
    suite, admin = world["suite"], world["admin"]
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    page = text(admin.get("/admin/dashboard/standard/sales/"))
    assert "按销售员的赢单收入" in page and "Won revenue by salesperson" not in page
    response = admin.get("/admin/dashboard/standard/sales/pdf")
    assert response.status_code == 200
    found = pdf_text(response.data, tmp_path)
    assert "按销售员的赢单收入" in found and "期间" in found


def test_my_copy_of_a_dashboard_outlives_the_addon_of_its_reports(world):
    suite, admin = world["suite"], world["admin"]
    listing = text(admin.get("/admin/dashboard/"))
    assert "/admin/dashboard/standard/sales/" in listing
    response = admin.post_form("/admin/dashboard/clone/", {"source": "standard:sales"},
                               token_from="/admin/dashboard/")
    assert response.status_code == 302
    copy_id = suite.sql("SELECT max(id) FROM rep_dashboard")[0][0]
    assert "sales_won_by_owner" in suite.sql("SELECT reports FROM rep_dashboard")[0][0]
    # Trimmed to two reports, one of them the customers' (of crm_contacts).
    edit = f"/admin/dashboard/edit/?id={copy_id}"
    response = admin.post_form(edit, {"name": "My sales", "reports": ["sales_won_by_owner",
                                                                      "customers_by_grade"]},
                               token_from=edit)
    assert response.status_code == 302, flashes(response)
    page = text(admin.get(f"/admin/dashboard/own/{copy_id}/"))
    assert "Won revenue by salesperson" in page and "Pipeline by stage" not in page
    # Another user neither sees nor opens it.
    assert "My sales" not in text(world["bob"].get("/admin/dashboard/"))
    assert world["bob"].get(f"/admin/dashboard/own/{copy_id}/").status_code == 404
    # Sales disabled: the standard Sales dashboard goes; the copy stays and explains.
    assert suite.run("addons", "disable", "crm_sales").exit_code == 0
    assert admin.get("/admin/dashboard/standard/sales/").status_code == 404
    response = admin.get(f"/admin/dashboard/own/{copy_id}/")
    assert response.status_code == 200
    page = text(response)
    assert "This report belongs to an addon that is not enabled." in page
    assert "Customers by grade" in page
    # Enabled again, and the suite upgraded: the copy is as the user left it.
    assert suite.run("addons", "enable", "crm_sales").exit_code == 0
    assert suite.run("upgrade").exit_code == 0
    assert suite.sql("SELECT name, reports FROM rep_dashboard")[0] == (
        "My sales", "sales_won_by_owner\ncustomers_by_grade")


def test_reports_follow_the_readers_rights(world):
    suite = world["suite"]
    # Reports' own group without Sales: the sales reports are not listed, nor open.
    viewer, _id = user(suite, "viewer", "reports_user", "contacts_user")
    listing = text(viewer.get("/admin/report/"))
    assert "Customers by grade" in listing and "Won revenue" not in listing
    assert viewer.get(WON_BY_OWNER).status_code == 404
    # Without the Reports group, no report screen at all.
    outsider, _id = user(suite, "outsider", "sales_user")
    assert outsider.get("/admin/report/").status_code in (302, 403)


def test_every_report_runs_for_every_enabled_addon(world):
    """Each report of the enabled addons opens for the administrator, and each standard
    dashboard: found at run time, so a later addon's reports are covered too."""
    with app_of(world["suite"]) as app:
        with app.test_request_context():
            from core import reports
            keys = list(reports.available())
            dashboards = list(reports.standard_dashboards())
    assert {"sales_won_by_owner", "customers_by_grade"} <= set(keys)
    for key in keys:
        response = world["admin"].get(f"/admin/report/{key}/")
        assert response.status_code == 200, key
    for key in dashboards:
        assert world["admin"].get(f"/admin/dashboard/standard/{key}/").status_code == 200


def test_a_user_who_owns_nothing_counts_nothing_in_any_report(world):
    """Record rules in every figure, found at run time: a salesperson with no records of
    their own sees no figure above zero in any report or standard dashboard, where the
    administrator sees the deals above."""
    suite = world["suite"]
    carl, _id = user(suite, "carl", "sales_user", "contacts_user", "reports_user")
    with app_of(suite) as app:
        with app.test_request_context():
            from core import reports
            keys = list(reports.available())
            dashboards = list(reports.standard_dashboards())
    period = f"?start={YEAR - 1}-01-01&end={YEAR}-12-31"
    for key in keys:
        rows, _totals = table(text(carl.get(f"/admin/report/{key}/{period}")))
        figures = [cell for row in rows for cell in row[1:]]
        assert all(cell in ("", "0", "0.00", "0 %") for cell in figures), (key, rows)
    for key in dashboards:
        assert carl.get(f"/admin/dashboard/standard/{key}/{period}").status_code == 200
    rows, _totals = table(text(world["admin"].get(WON_BY_OWNER + period)))
    assert len(rows) == 3
