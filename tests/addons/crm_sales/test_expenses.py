"""Expenses through the screens: the receipt (kept under a random name, checked by
extension and content, sent back only to those who may read the expense), approval by
a manager and never by the owner (the approval engine, core/approvals.py), no editing
once submitted, and the monthly totals."""
import io
import re
from pathlib import Path

import pytest

from tests.addons.crm_sales.order_helpers import add_user, count, flashes, last_id, text, user_id

NEW = "/admin/expense/new/"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def category(suite, name):
    return suite.sql("SELECT id FROM sale_expense_category WHERE name = :n", n=name)[0][0]


def expense_form(suite, amount="120.50", kind="expense", category_name="Travel",
                 receipt=None, day="2026-04-03", description="Taxi to Acme", **extra):
    data = {"expense_date": day, "kind": kind, "category": str(category(suite, category_name)),
            "amount": str(amount), "customer": "", "opportunity": "",
            "description": description, "owner": "", **extra}
    if receipt is not None:
        content, filename = receipt
        data["receipt"] = (io.BytesIO(content), filename)
    return data


def add_expense(client, suite, **fields):
    response = client.post_form(NEW, expense_form(suite, **fields), token_from=NEW)
    assert response.status_code == 302, flashes(response)
    return last_id(suite, "sale_expense")


# Submit is the workflow's transition; Approve and Refuse decide the approval request.
ACTIONS = {"submit": "transition/submit", "approve": "approve", "refuse": "refuse"}


def post(client, action, expense, comment=""):
    """Press Submit, Approve or Refuse (the token from the list: the user may not see
    the expense's page)."""
    return client.post_form(f"/admin/expense/{ACTIONS[action]}/?id={expense}",
                            {"comment": comment}, token_from="/admin/expense/")


def told(client, response):
    """The messages shown after an action (on the page it redirects to)."""
    if response.status_code == 302:
        response = client.get(response.headers["Location"])
    return flashes(response)


def state(suite, expense):
    return suite.sql("SELECT state FROM sale_expense WHERE id = :e", e=expense)[0][0]


def attachments(suite):
    folder = Path(suite.settings().instance_path) / "attachments"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def people(sales_suite):
    """ann and bob, salespeople; max, their team's sales manager."""
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    bob = add_user(sales_suite, "bob", "sales_user", "contacts_user")
    manager = add_user(sales_suite, "max", "sales_manager", "contacts_user")
    sales_suite.sql("INSERT INTO core_team (name, leader_id) VALUES ('North', :m)",
                    m=user_id(sales_suite, "max"))
    team = sales_suite.sql("SELECT id FROM core_team WHERE name = 'North'")[0][0]
    for name in ("ann", "max"):
        sales_suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :u)",
                        t=team, u=user_id(sales_suite, name))
    return sales_suite, ann, bob, manager


def test_receipt_upload_and_download(people):
    suite, ann, bob, _manager = people
    expense = add_expense(ann, suite, receipt=(PDF, "../taxi receipt.pdf"))
    name, token = suite.sql("SELECT attachment_name, attachment_token FROM sale_expense "
                            "WHERE id = :e", e=expense)[0]
    # Kept under a random token, never the browser's name; the name is kept for download.
    assert name == "taxi receipt.pdf"
    assert attachments(suite) == [token] and "taxi" not in token and token.endswith(".pdf")

    details = text(ann.get(f"/admin/expense/details/?id={expense}"))
    link = f"/admin/expense/attachment/?id={expense}"
    assert link in details and "taxi receipt.pdf" in details
    response = ann.get(link)
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "taxi%20receipt.pdf" in response.headers["Content-Disposition"] or \
        "taxi receipt.pdf" in response.headers["Content-Disposition"]

    # Bob may not read Ann's expense: 404, as for one that does not exist.
    assert bob.get(link).status_code == 404
    assert bob.get("/admin/expense/attachment/?id=999").status_code == 404

    # A new receipt replaces the old file; deleting the expense... is for drafts only.
    edit = f"/admin/expense/edit/?id={expense}"
    response = ann.post_form(edit, expense_form(suite, receipt=(PNG, "photo.PNG")),
                             token_from=edit)
    assert response.status_code == 302, flashes(response)
    new_token = suite.sql("SELECT attachment_token FROM sale_expense")[0][0]
    assert attachments(suite) == [new_token] and new_token.endswith(".png")
    assert ann.get(link).mimetype == "image/png"
    # Editing without choosing a file keeps the receipt.
    response = ann.post_form(edit, expense_form(suite, amount="99"), token_from=edit)
    assert response.status_code == 302
    assert suite.sql("SELECT attachment_token FROM sale_expense")[0][0] == new_token


@pytest.mark.parametrize("receipt, message", [
    ((b"MZ\x90\x00binary", "setup.exe"), "Choose a file ending in .pdf, .png, .jpg, .jpeg."),
    ((b"just some text, not an image", "photo.png"), "The file's content is not PNG."),
    ((b"<html></html>", "receipt.pdf"), "The file's content is not PDF."),
])
def test_bad_receipts_refused(people, receipt, message):
    suite, ann, _bob, _manager = people
    response = ann.post_form(NEW, expense_form(suite, receipt=receipt), token_from=NEW)
    assert response.status_code == 200
    assert message in flashes(response)
    assert count(suite, "sale_expense") == 0 and attachments(suite) == []


def test_form_checks(people):
    suite, ann, _bob, _manager = people
    for fields, message in [
        ({"amount": "0"}, "The amount must be more than 0."),
        ({"amount": "-3"}, "The amount must be more than 0."),
        ({"kind": "income", "category_name": "Travel"}, "Travel is a category of expense entries."),
    ]:
        response = ann.post_form(NEW, expense_form(suite, **fields), token_from=NEW)
        assert response.status_code == 200 and message in flashes(response), fields
    assert count(suite, "sale_expense") == 0
    add_expense(ann, suite, kind="income", category_name="Service fees", amount="300")


def test_submit_approve_refuse(people):
    suite, ann, bob, manager = people
    expense = add_expense(ann, suite)
    details = f"/admin/expense/details/?id={expense}"
    assert "Submit</button>" in text(ann.get(details))
    # Only the owner submits.
    assert bob.get(details).status_code == 404
    assert post(bob, "submit", expense).status_code == 404
    post(ann, "submit", expense)
    assert state(suite, expense) == "submitted"

    # Submitted: no more editing.
    edit = f"/admin/expense/edit/?id={expense}"
    response = ann.get(edit, follow_redirects=True)
    assert "can no longer be changed" in flashes(response)
    ann.post_form(edit, expense_form(suite, amount="9999"), token_from=details)
    assert suite.sql("SELECT amount FROM sale_expense")[0][0] != 9999

    # A salesperson cannot approve; neither can a manager their own expense.
    assert "Approve</button>" not in text(ann.get(details))
    assert "You are not an approver of this step." in told(ann, post(ann, "approve", expense))
    assert state(suite, expense) == "submitted"
    own = add_expense(manager, suite, description="Client dinner")
    post(manager, "submit", own)
    assert "Approve</button>" not in text(manager.get(f"/admin/expense/details/?id={own}"))
    response = post(manager, "approve", own)
    assert "You are not an approver of this step." in told(manager, response)
    assert state(suite, own) == "submitted"

    # The team's manager approves Ann's; the decision is recorded and Ann is told.
    assert "Approve</button>" in text(manager.get(details))
    post(manager, "approve", expense)
    assert state(suite, expense) == "approved"
    assert suite.sql("SELECT approved_by_id FROM sale_expense WHERE id = :e",
                     e=expense)[0][0] == user_id(suite, "max")
    assert suite.sql("SELECT count(*) FROM core_notification WHERE user_id = :u",
                     u=user_id(suite, "ann"))[0][0] == 1
    # Approved: no editing, no deleting, no second decision.
    assert "can no longer be changed" in flashes(ann.get(edit, follow_redirects=True))
    post(manager, "refuse", expense, comment="Too late")
    assert state(suite, expense) == "approved"
    # A refusal says why; a refused expense may be corrected and submitted again.
    second = add_expense(ann, suite, description="Hotel")
    post(ann, "submit", second)
    assert "Say why you reject it." in told(manager, post(manager, "refuse", second))
    assert state(suite, second) == "submitted"
    post(manager, "refuse", second, comment="Attach the receipt")
    assert state(suite, second) == "refused"
    assert "Attach the receipt" in text(ann.get(f"/admin/expense/details/?id={second}"))
    edit_second = f"/admin/expense/edit/?id={second}"
    assert ann.post_form(edit_second, expense_form(suite, amount="10", receipt=(PDF, "r.pdf")),
                         token_from=edit_second).status_code == 302
    post(ann, "submit", second)
    assert state(suite, second) == "submitted"
    post(manager, "approve", second)
    assert state(suite, second) == "approved"
    # An administrator's own expense needs another approver: with no other one, it
    # cannot be submitted.
    admin = suite.admin_client()
    mine = add_expense(admin, suite, description="Admin trip")
    assert "No one may approve this step" in told(admin, post(admin, "submit", mine))
    assert state(suite, mine) == "draft"
    # Bob's expense is outside the manager's team: not visible, not approvable.
    bobs = add_expense(bob, suite, description="Bob's taxi")
    post(bob, "submit", bobs)
    assert post(manager, "approve", bobs).status_code == 404
    assert state(suite, bobs) == "submitted"


def test_monthly_totals_of_approved_entries(people):
    suite, ann, _bob, manager = people
    entries = [("2026-04-03", "expense", "Travel", "100.00"),
               ("2026-04-20", "expense", "Travel", "20.50"),
               ("2026-05-02", "expense", "Travel", "7.00"),
               ("2026-04-09", "income", "Service fees", "300.00"),
               ("2026-04-10", "expense", "Samples", "55.00")]   # this one stays a draft
    for day, kind, name, amount in entries:
        expense = add_expense(ann, suite, day=day, kind=kind, category_name=name,
                              amount=amount)
        if name != "Samples":
            post(ann, "submit", expense)
            post(manager, "approve", expense)
    page = text(manager.get("/admin/expense/summary/?year=2026"))
    travel = re.search(r'<tr data-category="Travel">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>|\s+", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                      travel, re.S)]
    assert cells[2:] == ["", "", "", "120.50", "7.00", "", "", "", "", "", "", "", "127.50"]
    assert 'data-category="Samples"' not in page
    assert "300.00" in page
    # Within the record rules: Bob sees none of Ann's.
    bob_page = text(people[2].get("/admin/expense/summary/?year=2026"))
    assert "No approved entries in 2026." in bob_page
