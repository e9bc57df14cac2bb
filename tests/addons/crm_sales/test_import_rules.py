"""Imports obey what the forms obey: the record rules for every related record named,
only the fields the form sets, the form's validators and the screens' stage rules; the
command line as a named user is the same import. Also the leaks closed at their root in
the shared query helpers: stage rules with ?id=, competitors' customers, duplicates."""
import html
import re

import pytest

from tests.addons.conftest import addon_suite
from tests.addons.crm_contacts.helpers import add_user, write_csv
from tests.addons.crm_sales.pipeline_helpers import (
    add_opportunity,
    count,
    group_id,
    opportunity_form,
    stage_ids,
)


@pytest.fixture
def office(tmp_path, database_url):
    """Two salespeople, Tom and Amy, a manager, and one customer each."""
    suite = addon_suite(tmp_path, database_url, ["crm_sales"])
    clients = {name: add_user(suite, name, "sales_user", "contacts_user")
               for name in ("tom", "amy")}
    clients["boss"] = add_user(suite, "boss", "sales_manager", "contacts_manager")
    path = write_csv(tmp_path / "customers.csv", ["name", "owner"],
                     [["Tom Trading", "tom"], ["Amy Holdings", "amy"]])
    result = suite.run("import", "customer", path)
    assert result.exit_code == 0, result.output
    yield suite, clients, tmp_path
    suite.close()


def customer_code(suite, name):
    return suite.sql("SELECT code FROM crm_customer WHERE name = :n", n=name)[0][0]


def screen_check(client, screen, path, header=None):
    """Upload ``path`` on ``screen``'s import screen and run the dry run: the page.
    ``header``: the file's columns, each mapped to the field of its name (as a
    browser may post whatever the page offered or not)."""
    url = f"/admin/{screen}/import/"
    token = client.csrf_token(url)
    with open(path, "rb") as handle:
        page = client.post(url, data={"csrf_token": token, "file": (handle, path.name)})
    text = page.get_data(as_text=True)
    upload = re.search(r'name="token"[^>]*value="([^"]+)"', text)
    if upload is None:
        return text
    mapping = {f"map:{index}": name for index, name in enumerate(header or [])}
    return client.post(url, data={"csrf_token": token, "token": upload.group(1),
                                  "step": "check", **mapping}).get_data(as_text=True)


def problems(page):
    """[(row, column, message)] of the problems table."""
    table = re.search(r'crm-problems">(.*?)</table>', page, re.S)
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
                      table.group(1)) if table else []
    return [(int(row), column, html.unescape(message)) for row, column, message in rows]


def test_a_row_may_name_only_records_the_user_may_read(office):
    suite, clients, tmp = office
    own, others = customer_code(suite, "Tom Trading"), customer_code(suite, "Amy Holdings")
    path = tmp / "contacts.csv"
    write_csv(path, ["customer", "name"], [[others, "Spy"], ["C999999", "Ghost"],
                                           [own, "Friend"], ["Amy Holdings", "Spy 2"]])
    found = problems(screen_check(clients["tom"], "contact", path))
    # Another user's customer reads exactly like one that does not exist.
    assert found == [(2, "customer", f"{others} was not found"),
                     (3, "customer", "C999999 was not found"),
                     (5, "customer", "Amy Holdings was not found")]
    result = suite.run("import", "contact", str(path), "--user", "tom")
    assert result.exit_code == 1
    assert f"row 2, column customer: {others} was not found" in result.output
    assert count(suite, "crm_contact") == 0
    # Amy may name her own customer.
    assert problems(screen_check(clients["amy"], "contact", path))[0][0] == 3
    # Owners are those the user may give records to.
    path = tmp / "leads.csv"
    write_csv(path, ["name", "owner"], [["Lead one", "amy"], ["Lead two", "tom"]])
    assert problems(screen_check(clients["tom"], "lead", path)) == [
        (2, "owner", "amy was not found")]
    assert suite.run("import", "lead", str(path), "--user", "tom").exit_code == 1
    assert count(suite, "sale_lead") == 0
    # The administrator may give records to anyone.
    assert suite.run("import", "lead", str(path)).exit_code == 0
    assert suite.sql("SELECT u.username FROM sale_lead l JOIN core_user u "
                     "ON u.id = l.owner_id ORDER BY l.name") == [("amy",), ("tom",)]


REFUSED = [  # screen, the file's columns, those refused
    ("expense", ["expense_date", "kind", "category", "amount", "description", "state",
                 "approved_by", "approved_at"], "state, approved_by, approved_at"),
    ("quote", ["customer", "state", "approval", "approved_by", "total"],
     "state, approval, approved_by, total"),
    ("sales_order", ["customer", "state", "number"], "state, number"),
    ("lead", ["name", "status", "converted_at"], "status, converted_at"),
]


def test_workflow_approval_and_computed_columns_are_never_imported(office):
    suite, clients, tmp = office
    for screen, header, refused in REFUSED:
        path = write_csv(tmp / f"{screen}.csv", header, [["x"] * len(header)])
        page = screen_check(clients["tom"], screen.replace("_", "-"), tmp / f"{screen}.csv",
                            header)
        assert f"These columns cannot be imported: {refused}." in html.unescape(page), screen
        result = suite.run("import", screen.replace("_", ""), path, "--user", "tom",
                           "--dry-run")
        # Refused, or left out where the screen's export writes them (so that an export
        # imports back), and said so: never set from the file.
        said = re.findall(r"(?:cannot be imported|an import does not set them): ([^.\n]*)",
                          result.output)
        assert sorted(", ".join(said).split(", ")) == sorted(refused.split(", ")), screen
    # What the expense form sets is imported: by its submitter, it starts as a draft.
    path = write_csv(tmp / "expenses.csv", ["expense_date", "kind", "category", "amount",
                                            "description"],
                     [["2026-12-01", "expense", "Travel", "120.50", "Train"]])
    result = suite.run("import", "expense", path, "--user", "tom")
    assert result.exit_code == 0, result.output
    assert suite.sql("SELECT e.state, e.approved_by_id, u.username FROM sale_expense e "
                     "JOIN core_user u ON u.id = e.owner_id") == [("draft", None, "tom")]


def test_every_row_gets_the_forms_validators_and_the_stage_rules(office):
    suite, clients, tmp = office
    manager_only = "Negotiation"
    suite.sql("UPDATE sale_stage SET group_id = :g WHERE name = :n",
              g=group_id(suite, "sales_manager"), n=manager_only)
    own = customer_code(suite, "Tom Trading")
    path = write_csv(tmp / "deals.csv", ["name", "customer", "stage", "amount", "currency",
                                         "lost_reason"], [
        ["Fine", own, "Proposal", "1000", "CNY", ""],
        ["Too far", own, manager_only, "1000", "CNY", ""],
        ["Lost, no reason", own, "Lost", "1000", "CNY", ""],
        ["Negative", own, "Proposal", "-5", "CNY", ""],
        ["Bad currency", own, "Proposal", "5", "yuan", ""],
    ])
    found = problems(screen_check(clients["tom"], "opportunity", tmp / "deals.csv"))
    assert [(row, column) for row, column, _message in found] == [
        (3, "stage"), (4, "lost_reason"), (5, "amount"), (6, "currency")]
    assert "Only members of" in found[0][2]
    assert found[1][2] == "Choose the reason this deal was lost."
    assert found[2][2] == "The amount cannot be negative."
    result = suite.run("import", "opportunity", path, "--user", "tom")
    assert result.exit_code == 1 and "row 3, column stage: Only members of" in result.output
    assert count(suite) == 0
    # The manager may move deals there: the same file has one problem fewer for them.
    assert [row for row, _c, _m in problems(screen_check(clients["boss"], "opportunity",
                                                          tmp / "deals.csv"))] == [4, 5, 6]


def test_expense_rows_are_checked_as_the_expense_form_checks_them(office):
    suite, clients, tmp = office
    write_csv(tmp / "expenses.csv", ["expense_date", "kind", "category", "amount",
                                     "description"], [
        ["2026-12-01", "expense", "Travel", "0", "Nothing"],
        ["2026-12-01", "expense", "Service fees", "10", "Wrong kind"],
    ])
    found = problems(screen_check(clients["tom"], "expense", tmp / "expenses.csv"))
    assert [(row, column) for row, column, _m in found] == [(2, "amount"), (3, "category")]
    assert found[0][2] == "The amount must be more than 0."
    # Deliveries and returns are made from their order's lines, not imported.
    for screen in ("delivery", "customer-return"):
        assert clients["boss"].get(f"/admin/{screen}/import/").status_code == 403
    result = suite.run("import", "customerreturn", write_csv(tmp / "r.csv", ["reason"],
                                                             [["broken"]]))
    assert result.exit_code == 1 and "no screen imports them" in result.output


def test_the_create_form_ignores_an_id_in_its_address(office):
    """The stage rules compared the submitted stage with the record of ?id=, read
    without the record rules: a salesperson could create a deal in a manager's stage."""
    suite, clients, _tmp = office
    stages = stage_ids(suite)
    suite.sql("UPDATE sale_stage SET group_id = :g WHERE name = 'Negotiation'",
              g=group_id(suite, "sales_manager"))
    customer = suite.sql("SELECT id FROM crm_customer WHERE name = 'Tom Trading'")[0][0]
    theirs = add_opportunity(clients["boss"], suite, "Boss deal", customer,
                             stages["Negotiation"])
    form = opportunity_form("Sneaky", customer, stages["Negotiation"])
    response = clients["tom"].post_form(f"/admin/opportunity/new/?id={theirs}", form,
                                        token_from="/admin/opportunity/new/")
    assert response.status_code == 200 and "Only members of" in response.get_data(as_text=True)
    assert count(suite) == 1


def test_competitors_and_duplicates_name_only_customers_the_user_may_read(office):
    suite, clients, tmp = office
    suite.sql("INSERT INTO crm_competitor (name) VALUES ('Rival Corp')")
    competitor = suite.sql("SELECT id FROM crm_competitor")[0][0]
    for name in ("Tom Trading", "Amy Holdings"):
        suite.sql("INSERT INTO crm_competitor_customer (competitor_id, customer_id) "
                  "SELECT :c, id FROM crm_customer WHERE name = :n", c=competitor, n=name)
    text = clients["tom"].get("/admin/competitor/").get_data(as_text=True)
    assert "Tom Trading" in text and "Amy Holdings" not in text
    text = clients["boss"].get("/admin/competitor/").get_data(as_text=True)
    assert "Tom Trading" in text and "Amy Holdings" in text
    assert "Amy Holdings" not in clients["tom"].get(
        f"/admin/competitor/details/?id={competitor}").get_data(as_text=True)
    # Nor do the import's duplicate warnings name them.
    write_csv(tmp / "customers.csv", ["name"], [["Amy Holdings Ltd"], ["Tom Trading Co."]])
    page = html.unescape(screen_check(clients["tom"], "customer", tmp / "customers.csv"))
    assert "possible duplicate of another user's customer (same name)" in page
    assert "Amy Holdings (" not in page
    assert f"possible duplicate of Tom Trading ({customer_code(suite, 'Tom Trading')})" in page
