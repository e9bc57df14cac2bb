"""Reports mailed on a schedule through a local SMTP server: each recipient's file counted
within their own rights and in their language, sent once a day however many schedulers
run, refused for a recipient without an email address."""
import io
from datetime import date, timedelta

import openpyxl

from tests.addons.crm_contacts.helpers import app_of
from tests.addons.crm_reports.report_helpers import YEAR, pdf_text
from tests.addons.crm_sales.order_helpers import flashes
from tests.addons.crm_sales.test_quote_sending import run_outbox

NEW = "/admin/report-schedule/new/"
MONDAY = date(YEAR, 6, 1) + timedelta(days=(7 - date(YEAR, 6, 1).weekday()) % 7)


def ids(suite, *usernames):
    return [suite.sql("SELECT id FROM core_user WHERE username = :u", u=name)[0][0]
            for name in usernames]


def schedule(admin, suite, recipients, **fields):
    data = {"name": "Weekly won revenue", "source": "report:sales_won_by_owner",
            "frequency": "weekly", "format": "Excel", "period": "year to date",
            "recipients": [str(i) for i in ids(suite, *recipients)], "active": "y", **fields}
    return admin.post_form(NEW, data, token_from=NEW)


def mail_server(admin, smtp):
    admin.post_form("/admin/mail-server/", {
        "host": "127.0.0.1", "port": str(smtp.port), "security": "none",
        "sender": "reports@example.com", "action": "save"}, token_from="/admin/mail-server/")


def send_due(suite, today, hour=8):
    with app_of(suite):
        from addons.crm_reports import schedules
        return schedules.send_due(today, now_hour=hour)


def test_each_recipient_gets_their_own_figures_once(world, smtp, tmp_path):
    suite, admin = world["suite"], world["admin"]
    mail_server(admin, smtp)
    suite.sql("UPDATE core_user SET email = username || '@example.com' WHERE username IN "
              "('ann', 'admin')")
    suite.sql("UPDATE core_user SET email = '' WHERE username = 'bob'")
    # Bob has no address: said on the form, nothing saved.
    response = schedule(admin, suite, ["ann", "bob"])
    assert "No email address for bob" in flashes(response)
    assert suite.sql("SELECT count(*) FROM rep_schedule")[0][0] == 0
    response = schedule(admin, suite, ["ann", "admin"])
    assert response.status_code == 302, flashes(response)
    # Not due on a Tuesday, nor before 7:00; due on Monday, and only once that day.
    assert send_due(suite, MONDAY + timedelta(days=1)) == 0
    assert send_due(suite, MONDAY, hour=6) == 0
    assert send_due(suite, MONDAY) == 1
    assert send_due(suite, MONDAY) == 0
    run_outbox(admin)
    received = {message["To"]: message for message in smtp.messages}
    assert set(received) == {"ann@example.com", "admin@example.com"}
    figures = {}
    for address, message in received.items():
        [part] = list(message.iter_attachments())
        assert part.get_filename().endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(part.get_content())).active
        figures[address] = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert f"{YEAR}-01-01" in message["Subject"]
    assert figures["ann@example.com"] == ["ann"]
    assert figures["admin@example.com"] == ["bob", "ann"]


def test_a_dashboard_as_pdf_in_the_recipients_language(world, smtp, tmp_path):
    suite, admin = world["suite"], world["admin"]
    mail_server(admin, smtp)
    suite.sql("UPDATE core_user SET email = 'ann@example.com', language = 'zh_Hans_CN' "
              "WHERE username = 'ann'")
    response = schedule(admin, suite, ["ann"], source="standard:sales", format="PDF",
                        frequency="monthly", period="previous period")
    assert response.status_code == 302, flashes(response)
    assert send_due(suite, date(YEAR, 5, 2)) == 0           # monthly: on the 1st
    assert send_due(suite, date(YEAR, 5, 1)) == 1
    run_outbox(admin)
    [message] = smtp.messages
    assert f"{YEAR}-04-01" in message["Subject"] and f"{YEAR}-04-30" in message["Subject"]
    [part] = list(message.iter_attachments())
    found = pdf_text(part.get_content(), tmp_path)
    assert "按销售员的赢单收入" in found
    assert "bob" not in found               # April: only Bob's deal, not hers to read
