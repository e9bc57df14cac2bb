"""The screens of workflows and approvals: Settings > Approvals and > Workflows, the
To approve list, delegations, the emailed approve and reject links and the command
line, on the fixture addon tw_approvals (claims of 1000 or more wait for a claim
manager)."""
import re
from datetime import date, timedelta

import pytest

from tests.conftest import make_suite

PASSWORD = "a long enough password"
CLAIM_PAGE = "/admin/claim/details/?id={}"


@pytest.fixture
def claims(tmp_path, database_url):
    """Claims enabled; emp (own claims), mgr and mgr2 (claim managers: they approve),
    boss (a director: reads every claim, approves nothing) and other (own claims)."""
    suite = make_suite(tmp_path, database_url, enabled=["tw_approvals"])
    for name, group in (("emp", "tw_user"), ("other", "tw_user"), ("mgr", "tw_manager"),
                        ("mgr2", "tw_manager"), ("boss", "tw_director")):
        result = suite.run("create-user", "--username", name, "--password", PASSWORD,
                           "--groups", group, "--email", f"{name}@example.com",
                           "--full-name", name.title())
        assert result.exit_code == 0, result.output
    yield suite
    suite.close()


def signed_in(suite, username):
    client = suite.client()
    client.login(username, PASSWORD)
    return client


def new_claim(client, title, amount):
    response = client.post_form("/admin/claim/new/", {"title": title, "amount": str(amount)},
                                token_from="/admin/claim/new/")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(re.search(r"id=(\d+)", response.headers["Location"]).group(1))


def submit(client, claim_id):
    return client.post_form(f"/admin/claim/transition/submit/?id={claim_id}", {},
                            token_from=CLAIM_PAGE.format(claim_id))


def state(suite, claim_id):
    return suite.sql("SELECT state FROM tw_claim WHERE id = :i", i=claim_id)[0][0]


def user_id(suite, username):
    return suite.sql("SELECT id FROM core_user WHERE username = :u", u=username)[0][0]


def group_id(suite, code):
    return suite.sql("SELECT id FROM core_group WHERE code = :c", c=code)[0][0]


def flashed(client, response):
    """The messages of the page a redirect leads to."""
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(" ".join(text.split()) for text in re.findall(
        r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


# -- Settings > Approvals ---------------------------------------------------------------------

def good_policy(suite, **changes):
    data = {"name": "Very large claims", "model": "Claim", "sequence": "5", "active": "1",
            "fields": ["amount", "title"],
            "cond_field": ["amount", ""], "cond_operator": [">=", ">="],
            "cond_value": ["5000", ""],
            "step_sequence": ["20", "10", ""], "step_approver": ["user", "group", ""],
            "step_group": ["", str(group_id(suite, "tw_manager")), ""],
            "step_user": [str(user_id(suite, "boss")), "", ""],
            "step_rule": ["any", "count", "any"], "step_count": ["1", "2", "1"],
            "step_deadline": ["", "48", ""]}
    data.update(changes)
    return data


def policies(suite):
    return suite.sql("SELECT name, active, sequence, fields, addon FROM core_approval_policy "
                     "ORDER BY id")


def test_policy_form_saves_and_refuses_bad_input(claims):
    admin = claims.admin_client()
    listing = admin.get("/admin/approval-policies/").get_data(as_text=True)
    assert "Large claims" in listing and "Amount &gt;= 1000" in listing
    before = policies(claims)

    bad = good_policy(claims, name="", cond_field=["amount", "nope"],
                      cond_value=["lots", "1"],
                      step_group=["", "", ""], step_user=["", "", ""],
                      step_count=["0", "2", "1"], fields=["amount", "password"])
    response = admin.post_form("/admin/approval-policies/new/", bad,
                               token_from="/admin/approval-policies/new/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in ("Give the policy a name.", "Give a number.",
                    "Choose a field of this record type.", "Choose the user who approves.",
                    "Choose the group that approves.", "Give a whole number, 1 or more.",
                    "Choose fields of this record type.", "Nothing was saved"):
        assert message in page, message
    assert page.count("is-invalid") >= 7
    # "Show the fields of this record type" checks and saves nothing.
    response = admin.post_form("/admin/approval-policies/new/", dict(bad, refresh="1"),
                               token_from="/admin/approval-policies/new/")
    assert response.status_code == 200 and "is-invalid" not in response.get_data(as_text=True)
    no_steps = good_policy(claims, step_approver=["", "", ""])
    page = admin.post_form("/admin/approval-policies/new/", no_steps,
                           token_from="/admin/approval-policies/new/").get_data(as_text=True)
    assert "Give at least one step." in page
    assert policies(claims) == before

    response = admin.post_form("/admin/approval-policies/new/", good_policy(claims),
                               token_from="/admin/approval-policies/new/")
    assert response.status_code == 302
    assert policies(claims)[-1] == ("Very large claims", 1, 5, '["amount", "title"]', None)
    [policy_id] = claims.sql("SELECT id FROM core_approval_policy WHERE addon IS NULL")[0]
    assert claims.sql("SELECT field, operator, value FROM core_approval_condition "
                      "WHERE policy_id = :p", p=policy_id) == [("amount", ">=", "5000")]
    # In the order of their numbers, whatever the order of the rows.
    assert claims.sql("SELECT sequence, approver, group_id, user_id, rule, count, "
                      "deadline_hours FROM core_approval_step WHERE policy_id = :p "
                      "ORDER BY sequence", p=policy_id) == [
        (10, "group", group_id(claims, "tw_manager"), None, "count", 2, 48),
        (20, "user", None, user_id(claims, "boss"), "any", 1, None)]

    # The declared default: edited and deactivated, still the addon's.
    [default_id] = claims.sql("SELECT id FROM core_approval_policy WHERE addon IS NOT NULL")[0]
    edit = f"/admin/approval-policies/edit/?id={default_id}"
    page = admin.get(edit).get_data(as_text=True)
    assert 'value="Large claims"' in page
    data = good_policy(claims, name="Large claims", sequence="10", fields=["amount"])
    del data["active"]
    assert admin.post_form(edit, data, token_from=edit).status_code == 302
    assert policies(claims)[0] == ("Large claims", 0, 10, '["amount"]', "tw_approvals")

    response = admin.post_form("/admin/approval-policies/delete/", {"id": str(policy_id)},
                               token_from="/admin/approval-policies/")
    assert response.status_code == 302
    assert [row[0] for row in policies(claims)] == ["Large claims"]


def test_policy_screens_are_for_administrators(claims):
    mgr = signed_in(claims, "mgr")
    for path in ("/admin/approval-policies/", "/admin/approval-policies/new/",
                 "/admin/workflows/"):
        assert mgr.get(path).status_code == 403
    response = mgr.post_form("/admin/approval-policies/delete/", {"id": "1"})
    assert response.status_code == 403
    assert len(policies(claims)) == 1


# -- Settings > Workflows ---------------------------------------------------------------------

def test_narrowing_a_transition_removes_its_button_and_refuses_it(claims):
    emp, mgr, admin = signed_in(claims, "emp"), signed_in(claims, "mgr"), claims.admin_client()
    first, second = new_claim(emp, "Taxi", 20), new_claim(emp, "Hotel", 30)
    submit_url = "/admin/claim/transition/submit/"
    assert submit_url in emp.get(CLAIM_PAGE.format(first)).get_data(as_text=True)

    page = admin.get("/admin/workflows/").get_data(as_text=True)
    assert "anyone who may change these records" in page
    assert "the application only" in page
    assert 'name="groups:Claim:approve"' not in page      # the application's: read-only
    assert 'name="groups:Claim:submit" value="tw_user"' in page
    assert 'name="groups:Claim:reopen" value="tw_manager"' in page
    assert 'name="groups:Claim:reopen" value="tw_user"' not in page   # not declared

    response = admin.post_form("/admin/workflows/", {
        "shown:Claim:submit": "1", "groups:Claim:submit": ["tw_manager"],
        "shown:Claim:reopen": "1", "groups:Claim:reopen": ["tw_manager", "tw_director"]},
        token_from="/admin/workflows/")
    assert response.status_code == 302
    assert claims.sql("SELECT model, transition, groups FROM core_transition_right") == [
        ("Claim", "submit", '["tw_manager"]')]

    assert submit_url not in emp.get(CLAIM_PAGE.format(first)).get_data(as_text=True)
    response = submit(emp, first)
    assert "You may not do" in flashed(emp, response)
    assert state(claims, first) == "draft"
    assert submit_url in mgr.get(CLAIM_PAGE.format(first)).get_data(as_text=True)
    submit(mgr, first)
    assert state(claims, first) == "approved"   # under 1000: no approval needed

    # A group the transition does not declare is refused; nothing changes.
    response = admin.post_form("/admin/workflows/", {
        "shown:Claim:reopen": "1", "groups:Claim:reopen": ["tw_user"]},
        token_from="/admin/workflows/")
    assert response.status_code == 400
    # Every group ticked: back to the declaration.
    codes = [code for (code,) in claims.sql("SELECT code FROM core_group WHERE code != 'admin'")]
    admin.post_form("/admin/workflows/", {"shown:Claim:submit": "1",
                                          "groups:Claim:submit": codes},
                    token_from="/admin/workflows/")
    assert claims.sql("SELECT count(*) FROM core_transition_right") == [(0,)]
    submit(emp, second)
    assert state(claims, second) == "approved"


# -- To approve -------------------------------------------------------------------------------

def test_to_approve_lists_and_decides_in_bulk(claims):
    emp, mgr = signed_in(claims, "emp"), signed_in(claims, "mgr")
    ids = [new_claim(emp, title, amount) for title, amount in
           (("Flight", 1200), ("Fair", 3000), ("Lunch", 1000))]
    for claim_id in ids:
        submit(emp, claim_id)
    assert [state(claims, claim_id) for claim_id in ids] == ["submitted"] * 3
    requests = {claim: number for number, claim in claims.sql(
        "SELECT id, record_id FROM core_approval_request")}

    page = mgr.get("/admin/to-approve/").get_data(as_text=True)
    assert all(title in page for title in ("Flight", "Fair", "Lunch"))
    assert 'href="/admin/claim/details/?id=%d"' % ids[0] in page
    assert "Large claims" in page and "Emp" in page
    assert re.search(r'crm-to-approve-count.*?badge[^>]*>3<', mgr.get("/admin/").get_data(
        as_text=True), re.S)
    assert "Nothing waits for your approval." in emp.get("/admin/to-approve/").get_data(
        as_text=True)

    # A rejection needs a comment: nothing is decided.
    chosen = [str(requests[ids[0]]), str(requests[ids[1]])]
    response = mgr.post_form("/admin/to-approve/decide/", {"ids": chosen, "decision": "reject",
                                                           "comment": " "},
                             token_from="/admin/to-approve/")
    assert "Nothing was decided" in flashed(mgr, response)
    assert "Say why you reject it." in flashed(mgr, mgr.post_form(
        "/admin/to-approve/decide/", {"ids": chosen, "decision": "reject"},
        token_from="/admin/to-approve/"))
    assert claims.sql("SELECT count(*) FROM core_approval_decision") == [(0,)]

    response = mgr.post_form("/admin/to-approve/decide/", {"ids": chosen, "decision": "approve",
                                                           "comment": "Fine"},
                             token_from="/admin/to-approve/")
    assert "2 approvals decided." in flashed(mgr, response)
    assert [state(claims, claim_id) for claim_id in ids] == ["approved", "approved",
                                                             "submitted"]
    assert claims.sql("SELECT via, comment FROM core_approval_decision") == [
        ("list", "Fine"), ("list", "Fine")]

    # One of them decided already (by mgr2 meanwhile): all or nothing, naming it.
    response = mgr.post_form("/admin/to-approve/decide/", {
        "ids": [chosen[0], str(requests[ids[2]])], "decision": "approve"},
        token_from="/admin/to-approve/")
    assert "no longer waits for you" in flashed(mgr, response)
    assert state(claims, ids[2]) == "submitted"
    mgr2 = signed_in(claims, "mgr2")
    response = mgr2.post_form(
        "/admin/to-approve/decide/", {"ids": [str(requests[ids[2]])], "decision": "reject",
                                      "comment": "Too much"}, token_from="/admin/to-approve/")
    assert "1 approval decided." in flashed(mgr2, response)
    assert state(claims, ids[2]) == "refused"
    assert "Nothing waits for your approval." in mgr.get("/admin/to-approve/").get_data(
        as_text=True)


def test_a_bulk_decision_names_the_refused_record(claims):
    emp, mgr = signed_in(claims, "emp"), signed_in(claims, "mgr")
    first, second = new_claim(emp, "Laptop", 2000), new_claim(emp, "Screen", 1500)
    submit(emp, first)
    submit(emp, second)
    requests = [row[0] for row in claims.sql("SELECT id FROM core_approval_request ORDER BY id")]
    # The second record's seat is given away behind the app's back: mgr no longer holds it.
    claims.sql("DELETE FROM core_approval_seat WHERE request_id = :r AND user_id = :u",
               r=requests[1], u=user_id(claims, "mgr"))
    response = mgr.post_form("/admin/to-approve/decide/", {
        "ids": [str(number) for number in requests], "decision": "approve"},
        token_from="/admin/claim/")
    message = flashed(mgr, response)
    assert "Nothing was decided" in message and "Screen" in message and "Laptop" not in message
    assert [state(claims, first), state(claims, second)] == ["submitted", "submitted"]
    assert claims.sql("SELECT count(*) FROM core_approval_decision") == [(0,)]
    # A refusal of the engine names each record.
    response = mgr.post_form("/admin/to-approve/decide/", {
        "ids": [str(requests[0])], "decision": "reject"}, token_from="/admin/claim/")
    assert "Laptop: Say why you reject it." in flashed(mgr, response)


# -- Delegations ------------------------------------------------------------------------------

def test_delegation_lets_the_delegate_decide(claims):
    emp, mgr = signed_in(claims, "emp"), signed_in(claims, "mgr")
    today = date.today()
    form = {"delegate": str(user_id(claims, "boss")), "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat()}
    for wrong, message in (({"delegate": str(user_id(claims, "mgr"))}, "someone else"),
                           ({"delegate": ""}, "Choose an active user."),
                           ({"ends_on": (today - timedelta(days=1)).isoformat()},
                            "The end comes before the start."),
                           ({"starts_on": "soon"}, "Give a date")):
        page = mgr.post_form("/admin/delegations/", dict(form, **wrong),
                             token_from="/admin/delegations/").get_data(as_text=True)
        assert message in page, message
    assert claims.sql("SELECT count(*) FROM core_delegation") == [(0,)]
    assert mgr.post_form("/admin/delegations/", form,
                         token_from="/admin/delegations/").status_code == 302
    overlapping = dict(form, starts_on=(today + timedelta(days=2)).isoformat(),
                       ends_on=(today + timedelta(days=9)).isoformat())
    page = mgr.post_form("/admin/delegations/", overlapping,
                         token_from="/admin/delegations/").get_data(as_text=True)
    assert "This overlaps a delegation" in page
    assert claims.sql("SELECT count(*) FROM core_delegation") == [(1,)]

    claim = new_claim(emp, "Conference", 4000)
    submit(emp, claim)
    boss = signed_in(claims, "boss")
    page = boss.get("/admin/to-approve/").get_data(as_text=True)
    assert "Conference" in page and "for Mgr (away)" in page
    [request_id] = claims.sql("SELECT id FROM core_approval_request")[0]
    response = boss.post_form("/admin/to-approve/decide/", {"ids": [str(request_id)],
                                                            "decision": "approve"},
                              token_from="/admin/to-approve/")
    assert "1 approval decided." in flashed(boss, response)
    assert state(claims, claim) == "approved"
    assert claims.sql("SELECT approver_id, user_id FROM core_approval_decision") == [
        (user_id(claims, "mgr"), user_id(claims, "boss"))]

    # Each sees their own; another's cannot be removed; administrators see all.
    [delegation_id] = claims.sql("SELECT id FROM core_delegation")[0]
    assert 'class="crm-delegation"' not in emp.get("/admin/delegations/").get_data(
        as_text=True)
    assert 'class="crm-delegation"' in mgr.get("/admin/delegations/").get_data(as_text=True)
    assert emp.post_form("/admin/delegations/delete/", {"id": str(delegation_id)},
                         token_from="/admin/delegations/").status_code == 404
    assert 'class="crm-delegation"' in claims.admin_client().get(
        "/admin/delegations/").get_data(as_text=True)
    assert mgr.post_form("/admin/delegations/delete/", {"id": str(delegation_id)},
                         token_from="/admin/delegations/").status_code == 302
    assert claims.sql("SELECT count(*) FROM core_delegation") == [(0,)]

    # An administrator names one for someone else; a user's own "user" is ignored.
    admin = claims.admin_client()
    assert admin.post_form("/admin/delegations/", dict(form, user=str(user_id(claims, "mgr2"))),
                           token_from="/admin/delegations/").status_code == 302
    assert emp.post_form("/admin/delegations/", dict(form, user=str(user_id(claims, "mgr2"))),
                         token_from="/admin/delegations/").status_code == 302
    assert claims.sql("SELECT user_id FROM core_delegation ORDER BY id") == [
        (user_id(claims, "mgr2"),), (user_id(claims, "emp"),)]


# -- the emailed links ------------------------------------------------------------------------

def links_for(suite, username):
    """{"approve": path, "reject": path} of the latest approval email to ``username``."""
    address = suite.sql("SELECT email FROM core_user WHERE id = :u",
                        u=user_id(suite, username))[0][0]
    bodies = [row[0] for row in suite.sql(
        "SELECT body_text FROM core_message WHERE recipients LIKE :a "
        "AND body_text LIKE '%/approval/%' ORDER BY id", a=f"%{address}%")]
    approve, reject = re.findall(r"/approval/[\w.\-]+", bodies[-1])   # in this order
    return {"approve": approve, "reject": reject}


def test_an_emailed_link_decides_once_and_only_when_confirmed(claims):
    emp = signed_in(claims, "emp")
    claim = new_claim(emp, "Printer", 2500)
    submit(emp, claim)
    links = links_for(claims, "mgr")
    visitor = claims.client()   # no one signed in: the link's own browser

    page = visitor.get(links["approve"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Printer" in text and "Large claims" in text and "Claim manager" in text
    assert visitor.get(links["approve"]).status_code == 200   # a scanner's second fetch
    assert visitor.head(links["approve"]).status_code == 200
    assert state(claims, claim) == "submitted"
    assert claims.sql("SELECT count(*) FROM core_approval_link WHERE used_at IS NOT NULL") \
        == [(0,)]

    # Without the page's CSRF token, nothing happens.
    assert visitor.post(links["approve"], data={"comment": "x"}).status_code == 400
    assert state(claims, claim) == "submitted"

    response = visitor.post_form(links["approve"], {"comment": "Go ahead"},
                                 token_from=links["approve"])
    assert response.status_code == 200
    assert "you approved it" in response.get_data(as_text=True)
    assert state(claims, claim) == "approved"
    assert claims.sql("SELECT via, comment, user_id FROM core_approval_decision") == [
        ("email", "Go ahead", user_id(claims, "mgr"))]
    # The change is the link's user's.
    assert claims.sql("SELECT updated_by_id FROM tw_claim") == [(user_id(claims, "mgr"),)]

    # Replayed: refused, nothing more.
    again = visitor.post_form(links["approve"], {"comment": "again"},
                              token_from="/login")
    assert again.status_code == 410
    assert visitor.get(links["reject"]).status_code == 410   # the step is decided
    assert claims.sql("SELECT count(*) FROM core_approval_decision") == [(1,)]


def test_altered_and_expired_links_are_refused(claims):
    emp = signed_in(claims, "emp")
    claim = new_claim(emp, "Desk", 1800)
    submit(emp, claim)
    links = links_for(claims, "mgr")
    visitor = claims.client()

    token = links["approve"].rsplit("/", 1)[1]
    payload, signature = token.split(".")
    altered = f"/approval/{payload}.{signature[:-2]}xy"
    response = visitor.get(altered)
    assert response.status_code == 400 and "This link is not valid." in response.get_data(
        as_text=True)
    assert visitor.get("/approval/nonsense").status_code == 400

    # A rejection needs a reason: asked again, the link still works.
    response = visitor.post_form(links["reject"], {"comment": ""}, token_from=links["reject"])
    assert response.status_code == 400 and "Say why you reject it." in response.get_data(
        as_text=True)
    assert claims.sql("SELECT count(*) FROM core_approval_link WHERE used_at IS NOT NULL") \
        == [(0,)]

    claims.sql("UPDATE core_approval_link SET expires_at = :t",
               t="2000-01-01 00:00:00.000000")
    response = visitor.get(links["approve"])
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    token = visitor.csrf_token("/login")
    response = visitor.post(links["reject"], data={"comment": "no", "csrf_token": token})
    assert response.status_code == 410
    assert state(claims, claim) == "submitted"
    assert claims.sql("SELECT count(*) FROM core_approval_decision") == [(0,)]


def test_a_link_page_speaks_its_users_language(claims):
    claims.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'mgr'")
    emp = signed_in(claims, "emp")
    submit(emp, new_claim(emp, "Chair", 1100))
    page = claims.client().get(links_for(claims, "mgr")["approve"]).get_data(as_text=True)
    assert "您的决定" in page and "Your decision" not in page


# -- the command line -------------------------------------------------------------------------

def test_cli_transition_and_approval(claims):
    emp = signed_in(claims, "emp")
    claim = new_claim(emp, "Phone", 1500)
    claims.sql("INSERT INTO core_transition_right (model, transition, groups) "
               "VALUES ('Claim', 'submit', '[\"tw_manager\"]')")
    result = claims.run("transition", "Claim", str(claim), "submit", "--user", "emp")
    assert result.exit_code == 1 and "You may not do" in result.output
    assert state(claims, claim) == "draft"
    claims.sql("DELETE FROM core_transition_right")

    result = claims.run("transition", "claim", str(claim), "submit", "--user", "other")
    assert result.exit_code == 1 and "that other may read" in result.output   # not hers
    result = claims.run("transition", "Claim", str(claim), "approve", "--user", "emp")
    assert result.exit_code == 1 and state(claims, claim) == "draft"   # the application's
    result = claims.run("transition", "Claim", str(claim), "submit", "--user", "emp")
    assert result.exit_code == 0, result.output
    assert "Phone: Submitted" in result.output and state(claims, claim) == "submitted"

    result = claims.run("approval", "reject", "Claim", str(claim), "--user", "mgr")
    assert result.exit_code == 1 and "Say why" in result.output
    result = claims.run("approval", "approve", "Claim", str(claim), "--user", "emp")
    assert result.exit_code == 1 and "not an approver" in result.output
    result = claims.run("approval", "approve", "Claim", str(claim), "--user", "mgr",
                        "--comment", "OK")
    assert result.exit_code == 0, result.output
    assert state(claims, claim) == "approved"
    assert claims.sql("SELECT via FROM core_approval_decision") == [("cli",)]
