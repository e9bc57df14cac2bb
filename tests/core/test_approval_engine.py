"""The approval engine through the screens, on the fixture addon tw_approvals (claims of
1000 or more need a claim manager's approval): steps in sequence, any / all / N of M,
self-approval, delegation, rejection back to the submitter, locked fields, approval
restarted by a change, the log, and two approvers deciding at the same moment."""
import threading
from datetime import date, timedelta

import pytest
from flask import g
from sqlalchemy import select

from core import approvals
from core.db import db
from core.models import User
from core.workflow import Refused
from tests.conftest import make_suite

PASSWORD = "approval password 1"
CLAIMS = "/admin/claim"


@pytest.fixture
def office(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=("tw_approvals",))
    for name, groups in [("ann", "tw_user"), ("max", "tw_manager"), ("mia", "tw_manager"),
                         ("mo", "tw_manager"), ("dora", "tw_director"), ("dan", "tw_user")]:
        assert suite.run("create-user", "--username", name, "--password", PASSWORD,
                         "--groups", groups, "--full-name", name.title()).exit_code == 0
    yield suite
    suite.close()


def signed_in(suite, name):
    client = suite.client()
    client.login(name, PASSWORD)
    return client


def new_claim(client, amount, title="Trade fair stand"):
    response = client.post_form(f"{CLAIMS}/new/", {"title": title, "amount": str(amount),
                                                   "state": "draft", "owner": ""},
                                token_from=f"{CLAIMS}/new/")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(response.headers["Location"].split("id=")[1].split("&")[0])


def press(client, claim, action, comment=""):
    """POST a button of the claim's page: a transition name, or approve / refuse."""
    path = f"{CLAIMS}/{action}/" if action in ("approve", "refuse", "request-approval") \
        else f"{CLAIMS}/transition/{action}/"
    response = client.post_form(f"{path}?id={claim}", {"comment": comment},
                                token_from=f"{CLAIMS}/")
    assert response.status_code in (302, 404), response.status_code
    return client.get(response.headers["Location"]).get_data(as_text=True) \
        if response.status_code == 302 else ""


def edit(client, suite, claim, **values):
    """POST the claim's form: title, amount, state and its owner as they are, but for
    ``values``."""
    title, amount, current, owner = suite.sql(
        "SELECT title, amount, state, owner_id FROM tw_claim WHERE id = :c", c=claim)[0]
    form = {"title": title, "amount": str(amount), "state": current, "owner": str(owner),
            **{key: str(value) for key, value in values.items()}}
    path = f"{CLAIMS}/edit/?id={claim}"
    return client.post_form(path, form, token_from=path)


def state(suite, claim):
    return suite.sql("SELECT state FROM tw_claim WHERE id = :c", c=claim)[0][0]


def requests(suite, claim):
    return [tuple(row) for row in suite.sql(
        "SELECT state, step FROM core_approval_request WHERE model = 'Claim' "
        "AND record_id = :c ORDER BY id", c=claim)]


def decisions(suite, claim):
    return [tuple(row) for row in suite.sql(
        "SELECT d.step, a.username, u.username, d.decision, d.comment "
        "FROM core_approval_decision d JOIN core_approval_request r ON r.id = d.request_id "
        "JOIN core_user a ON a.id = d.approver_id JOIN core_user u ON u.id = d.user_id "
        "WHERE r.record_id = :c ORDER BY d.id", c=claim)]


def set_steps(suite, *steps):
    """Replace the policy's steps: (approver kind, group code or username, rule, count)."""
    policy = suite.sql("SELECT id FROM core_approval_policy WHERE key = 'large'")[0][0]
    suite.sql("DELETE FROM core_approval_step WHERE policy_id = :p", p=policy)
    for number, (kind, who, rule, count) in enumerate(steps, start=1):
        group = suite.sql("SELECT id FROM core_group WHERE code = :c", c=who) \
            if kind == "group" else None
        user = suite.sql("SELECT id FROM core_user WHERE username = :u", u=who) \
            if kind == "user" else None
        suite.sql("INSERT INTO core_approval_step (policy_id, sequence, approver, group_id, "
                  "user_id, rule, count) VALUES (:p, :s, :k, :g, :u, :r, :n)", p=policy,
                  s=number * 10, k=kind, g=group[0][0] if group else None,
                  u=user[0][0] if user else None, r=rule, n=count)


def test_a_small_claim_needs_no_approval_and_a_large_one_waits(office):
    ann = signed_in(office, "ann")
    small, large = new_claim(ann, 200), new_claim(ann, 5000)
    press(ann, small, "submit")
    assert state(office, small) == "approved" and requests(office, small) == []
    page = press(ann, large, "submit")
    assert state(office, large) == "submitted" and requests(office, large) == [("pending", 0)]
    assert "Large claims" in page and "Approve</button>" not in page
    # The managers are told, in-app.
    told = office.sql("SELECT u.username FROM core_notification n JOIN core_user u "
                      "ON u.id = n.user_id WHERE n.title LIKE 'Approval requested%' "
                      "ORDER BY u.username")
    assert [row[0] for row in told] == ["max", "mia", "mo"]


def test_steps_in_sequence_and_each_approver_only_on_their_step(office):
    set_steps(office, ("group", "tw_manager", "any", 1), ("group", "tw_director", "any", 1))
    ann, max_, dora = (signed_in(office, name) for name in ("ann", "max", "dora"))
    claim = new_claim(ann, 5000)
    press(ann, claim, "submit")
    # The director is not an approver of the first step; the submitter of none.
    assert "not an approver" in press(dora, claim, "approve")
    assert "not an approver" in press(ann, claim, "approve")
    press(max_, claim, "approve", "Budgeted")
    assert requests(office, claim) == [("pending", 1)] and state(office, claim) == "submitted"
    assert "not an approver" in press(max_, claim, "approve")   # the step has moved on
    press(dora, claim, "approve")
    assert requests(office, claim) == [("approved", 1)] and state(office, claim) == "approved"
    assert decisions(office, claim) == [(0, "max", "max", "approve", "Budgeted"),
                                        (1, "dora", "dora", "approve", "")]
    # The feed shows the submission and each decision; the audit trail keeps them.
    page = ann.get(f"{CLAIMS}/details/?id={claim}").get_data(as_text=True)
    assert page.count("crm-feed-approval") == 3 and "Budgeted" in page
    actions = office.sql("SELECT action FROM core_audit WHERE model = 'Claim' "
                         "AND record_id = :c AND action IN ('submit', 'approve', 'reject') "
                         "ORDER BY id", c=claim)
    assert [row[0] for row in actions] == ["submit", "approve", "approve"]


def test_all_of_them_and_n_of_m(office):
    set_steps(office, ("group", "tw_manager", "all", 1))
    ann, max_, mia, mo = (signed_in(office, name) for name in ("ann", "max", "mia", "mo"))
    claim = new_claim(ann, 5000)
    press(ann, claim, "submit")
    press(max_, claim, "approve")
    press(mia, claim, "approve")
    assert requests(office, claim) == [("pending", 0)]
    assert "decided this step already" in press(max_, claim, "approve")   # twice: refused
    press(mo, claim, "approve")
    assert state(office, claim) == "approved"
    assert len(decisions(office, claim)) == 3

    set_steps(office, ("group", "tw_manager", "count", 2))
    other = new_claim(ann, 7000)
    press(ann, other, "submit")
    press(mo, other, "approve")
    assert state(office, other) == "submitted"
    press(mia, other, "approve")
    assert state(office, other) == "approved" and len(decisions(office, other)) == 2


def test_a_rejection_returns_the_claim_to_its_submitter(office):
    ann, max_ = signed_in(office, "ann"), signed_in(office, "max")
    claim = new_claim(ann, 5000)
    press(ann, claim, "submit")
    press(max_, claim, "refuse", "Too much for one stand")
    assert state(office, claim) == "refused" and requests(office, claim) == [("rejected", 0)]
    told = office.sql("SELECT body FROM core_notification n JOIN core_user u ON u.id = "
                      "n.user_id WHERE u.username = 'ann' AND n.title LIKE 'Rejected%'")
    assert "Too much for one stand" in told[0][0]
    # Corrected and submitted again: a new request, from the first step.
    assert edit(ann, office, claim, title="Smaller stand", amount=4000).status_code == 302
    press(ann, claim, "submit")
    assert requests(office, claim) == [("rejected", 0), ("pending", 0)]


def test_self_approval_only_where_the_policy_allows_it(office):
    max_, mia = signed_in(office, "max"), signed_in(office, "mia")
    claim = new_claim(max_, 5000)
    press(max_, claim, "submit")
    assert "not an approver" in press(max_, claim, "approve")
    seats = office.sql("SELECT u.username FROM core_approval_seat s JOIN core_user u "
                       "ON u.id = s.user_id ORDER BY u.username")
    assert [row[0] for row in seats] == ["mia", "mo"]
    press(mia, claim, "refuse", "No")
    office.sql("UPDATE core_approval_policy SET self_approval = :t", t=True)
    press(max_, claim, "submit")
    press(max_, claim, "approve")
    assert state(office, claim) == "approved"


def test_a_delegate_decides_while_the_approver_is_away(office):
    set_steps(office, ("user", "dora", "any", 1))
    ann, dan = signed_in(office, "ann"), signed_in(office, "dan")
    today = date.today()
    office.sql("INSERT INTO core_delegation (user_id, delegate_id, starts_on, ends_on, "
               "created_at) SELECT d.id, m.id, :a, :b, :a FROM core_user d, core_user m "
               "WHERE d.username = 'dora' AND m.username = 'max'", a=today,
               b=today + timedelta(days=3))
    claim = new_claim(ann, 5000)
    press(ann, claim, "submit")
    # Max is told, as Dora's delegate; Dan is not an approver at all.
    told = office.sql("SELECT u.username, n.body FROM core_notification n JOIN core_user u "
                      "ON u.id = n.user_id WHERE n.title LIKE 'Approval requested%'")
    assert [row[0] for row in told] == ["max"] and "Dora" in told[0][1]
    assert press(dan, claim, "approve") == ""   # not his to see: 404
    max_ = signed_in(office, "max")
    press(max_, claim, "approve", "For Dora")
    assert decisions(office, claim) == [(0, "dora", "max", "approve", "For Dora")]
    page = ann.get(f"{CLAIMS}/details/?id={claim}").get_data(as_text=True)
    assert "On behalf of Dora, who is away" in page


def test_covered_fields_lock_while_waiting_and_a_change_restarts_approval(office):
    ann, max_ = signed_in(office, "ann"), signed_in(office, "max")
    claim = new_claim(ann, 5000)
    press(ann, claim, "submit")
    response = edit(ann, office, claim, amount=9000)
    assert "Waiting for approval" in response.get_data(as_text=True)
    assert office.sql("SELECT amount FROM tw_claim")[0][0] == 5000
    # A field the policy does not cover may change.
    assert edit(ann, office, claim, title="Stand B").status_code == 302
    press(max_, claim, "approve")
    assert state(office, claim) == "approved"
    # After the approval, a new amount makes it wait again, from the first step.
    assert edit(ann, office, claim, amount=6000).status_code == 302
    assert state(office, claim) == "submitted"
    assert requests(office, claim) == [("cancelled", 0), ("pending", 0)]


def test_the_state_changes_only_through_transitions(office):
    ann = signed_in(office, "ann")
    claim = new_claim(ann, 100)
    # A form that sets the state straight to approved is refused, on the field.
    response = edit(ann, office, claim, state="approved")
    assert response.status_code == 200 and state(office, claim) == "draft"
    assert "cannot go from" in response.get_data(as_text=True)
    # Reopening is for managers only.
    press(ann, claim, "submit")
    assert state(office, claim) == "approved"
    assert "may not" in press(ann, claim, "reopen")
    assert "cannot be done from there" in press(ann, claim, "submit")   # the wrong state
    assert state(office, claim) == "approved"
    press(signed_in(office, "max"), claim, "reopen")
    assert state(office, claim) == "draft"


def test_two_approvers_at_the_same_moment_make_one_decision(office):
    ann = signed_in(office, "ann")
    claim = new_claim(ann, 5000)
    press(ann, claim, "submit")
    app = office.app()
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(username):
        with app.test_request_context():
            user = db.session.scalar(select(User).where(User.username == username))
            g._login_user = user
            record = db.session.get(approvals.model_class("Claim"), claim)
            approvals.pending(record)   # both read the request before either decides
            barrier.wait()
            try:
                approvals.decide(record, user, "approve", "", via="page")
                db.session.commit()
                outcomes.append("decided")
            except Refused as exc:
                db.session.rollback()
                outcomes.append(str(exc))
            except Exception as exc:   # SQLite: the second writer may find the file locked
                db.session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=decide, args=(name,)) for name in ("max", "mia")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 2 and outcomes.count("decided") == 1, outcomes
    assert len(decisions(office, claim)) == 1
    assert requests(office, claim) == [("approved", 0)]


def test_an_import_creates_records_only_in_their_first_state(office, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("title,amount,state\nStand,100,draft\nBooth,200,approved\n",
                    encoding="utf-8")
    result = office.run("import", "Claim", str(path), "--user", "ann")
    assert result.exit_code != 0
    assert "row 3, column state: A new record starts as Draft, not Approved." in result.output
    assert office.sql("SELECT count(*) FROM tw_claim")[0][0] == 0
    path.write_text("title,amount,state\nStand,100,draft\n", encoding="utf-8")
    assert office.run("import", "Claim", str(path), "--user", "ann").exit_code == 0
    assert office.sql("SELECT state FROM tw_claim")[0][0] == "draft"


def test_to_approve_lists_every_request_still_waiting_for_the_approver(office):
    ann, max_ = signed_in(office, "ann"), signed_in(office, "max")
    first, second = new_claim(ann, 5000), new_claim(ann, 6000)
    press(ann, first, "submit")
    press(ann, second, "submit")
    press(max_, first, "approve")
    page = max_.get("/admin/to-approve/").get_data(as_text=True)
    assert f"details/?id={second}" in page and f"details/?id={first}" not in page
    # Each approver is told once, in-app; the email alone holds the signed links.
    body = office.sql("SELECT n.body FROM core_notification n JOIN core_user u ON u.id = "
                      "n.user_id WHERE u.username = 'max' AND n.title LIKE 'Approval requested%' "
                      "ORDER BY n.id")[0][0]
    assert "/approval/" not in body
