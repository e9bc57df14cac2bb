"""Leads through the screens and in units: entry, record rules, import with assignment,
assignment by region, source and in turn, qualification, and conversion in one step."""
from decimal import Decimal

from addons.crm_sales.leads import assign
from addons.crm_sales.models import Lead
from tests.addons.crm_sales.lead_helpers import (PASSWORD, add_region, add_rule, add_source,
                                                 add_team, add_user, app_session, create_lead,
                                                 leads, owner_names, user_id, write_csv)

LEADS = "/admin/lead/"


def make_user(suite, username, *groups):
    """A user without signing in (quicker when only the id matters)."""
    args = ["--groups", ",".join(groups)] if groups else []
    result = suite.run("create-user", "--username", username, "--password", PASSWORD, *args)
    assert result.exit_code == 0, result.output


def test_lead_on_screen_and_the_salesperson_sees_only_own(sales_suite):
    admin = sales_suite.admin_client()
    assert create_lead(admin, name="Li Lei", company="Acme", email="li@acme.cn").status_code == 302
    ann = add_user(sales_suite, "ann", "sales_user")
    # Bad input: a form error, nothing saved.
    for fields in ({"name": ""}, {"name": "X", "email": "not an email"},
                   {"name": "X", "estimated_amount": "-5"}):
        response = create_lead(ann, **fields)
        assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    assert create_lead(ann, name="Han Meimei", company="Globex").status_code == 302
    assert leads(sales_suite) == [("Li Lei", "new", user_id(sales_suite, "admin")),
                                  ("Han Meimei", "new", user_id(sales_suite, "ann"))]
    listing = ann.get(LEADS).get_data(as_text=True)
    assert "Han Meimei" in listing and "Li Lei" not in listing
    assert ann.get(LEADS + "details/?id=1").status_code == 404
    assert ann.get(LEADS + "details/?id=2").status_code == 200
    listing = admin.get(LEADS + "?search=acme").get_data(as_text=True)
    assert "Li Lei" in listing and "Han Meimei" not in listing
    assert "Li Lei" in admin.get(LEADS + "?flt0_status_equals=new").get_data(as_text=True)


def test_assignment_by_region_source_and_in_turn(sales_suite):
    for name in ("ann", "bob", "cat", "dan", "eve"):
        make_user(sales_suite, name, "sales_user")
    east, web = add_region(sales_suite, "East"), add_source(sales_suite, "Website")
    fair = add_source(sales_suite, "Trade fair")
    team = add_team(sales_suite, "Inside sales", ["cat", "ann", "bob"])
    add_rule(sales_suite, "Inactive first", sequence=1, user="eve", active=False)
    add_rule(sales_suite, "East region", sequence=10, region_id=east, user="dan")
    add_rule(sales_suite, "Website", sequence=20, source_id=web, team_id=team)
    add_rule(sales_suite, "East website", sequence=30, region_id=east, source_id=web, user="eve")
    with app_session(sales_suite) as session:
        new = [Lead(name="East, any source", region_id=east),
               Lead(name="East and website: the earlier rule wins", region_id=east,
                    source_id=web),
               *[Lead(name=f"Web {n}", source_id=web) for n in range(6)],
               Lead(name="Trade fair: no rule", source_id=fair)]
        owners = [assign(session, lead) for lead in new]
        session.add_all(new)
        session.commit()
        names = [owner.username if owner else None for owner in owners]
    # In turn: the team's members by id (ann, bob, cat), whatever order they joined in.
    assert names == ["dan", "dan", "ann", "bob", "cat", "ann", "bob", "cat", None]
    assert owner_names(sales_suite) == names


def test_round_robin_skips_inactive_members_and_turn_is_shared(sales_suite):
    for name in ("ann", "bob", "cat"):
        make_user(sales_suite, name, "sales_user")
    team = add_team(sales_suite, "Inside sales", ["ann", "bob", "cat"])
    add_rule(sales_suite, "Everyone", team_id=team)
    sales_suite.sql("UPDATE core_user SET active = :no WHERE username = 'bob'", no=False)
    # Two apps (two processes) share the turn: it is a database counter.
    with app_session(sales_suite) as session:
        first = [assign(session, Lead(name=name)).username for name in ("a", "b")]
        session.commit()
    with app_session(sales_suite) as session:
        assert assign(session, Lead(name="c")).username == "ann"
    assert first == ["ann", "cat"]


def test_import_bad_row_writes_nothing_good_file_writes_all_and_assigns(sales_suite, tmp_path):
    make_user(sales_suite, "dan", "sales_user")
    east = add_region(sales_suite, "East")
    add_rule(sales_suite, "East region", region_id=east, user="dan")
    header = ("name", "company", "email", "region")
    bad = write_csv(tmp_path / "bad.csv", header, [
        ("Li Lei", "Acme", "li@acme.cn", "East"),
        ("Han Meimei", "Globex", "han at globex", "")])
    result = sales_suite.run("import", "lead", bad)
    assert result.exit_code == 1   # the lead form's own email check, on every row
    assert "row 3, column email: Not a valid email address." in result.output
    assert leads(sales_suite) == []
    # The status moves by Qualify, Disqualify and Convert only: no file sets it.
    refused = write_csv(tmp_path / "status.csv", header + ("status",), [
        ("Li Lei", "Acme", "li@acme.cn", "East", "qualified")])
    # A status column (an export writes it) is left out, and said so.
    result = sales_suite.run("import", "lead", refused, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "left out, an import does not set them: status" in result.output
    assert leads(sales_suite) == []
    good = write_csv(tmp_path / "good.csv", header, [
        ("Li Lei", "Acme", "li@acme.cn", "East"),
        ("Han Meimei", "Globex", "", "")])
    result = sales_suite.run("import", "lead", good)
    assert result.exit_code == 0, result.output
    # The command line imports as the first administrator: a lead no rule places is
    # theirs, as it is on the screen for whoever imports it.
    assert owner_names(sales_suite) == ["dan", "admin"]

    # On the screen, a lead no rule places goes to whoever imports it.
    admin = sales_suite.admin_client()
    url = LEADS + "import/"
    with open(good, "rb") as handle:
        page = admin.post(url, data={"file": (handle, "good.csv"),
                                     "csrf_token": admin.csrf_token(url)},
                          content_type="multipart/form-data").get_data(as_text=True)
    token = page.split('name="token" value="')[1].split('"')[0]
    mapping = {"token": token, **{f"map:{n}": column for n, column in enumerate(header)}}
    response = admin.post_form(url, dict(mapping, step="commit"), token_from=url)
    assert response.status_code == 302
    assert owner_names(sales_suite) == ["dan", "admin", "dan", "admin"]


def test_bulk_assign_by_rules_and_rule_form(sales_suite):
    make_user(sales_suite, "dan", "sales_user")
    meg = add_user(sales_suite, "meg", "sales_manager", "contacts_user")
    team = add_team(sales_suite, "East team", ["dan"], leader="meg")
    # A rule needs a salesperson or a team: a form error otherwise.
    new_rule = "/admin/assignment-rule/new/"
    response = meg.post_form(new_rule, {"name": "Nobody", "sequence": "10", "active": "y"},
                             token_from=new_rule)
    assert "Choose a salesperson or a team." in response.get_data(as_text=True)
    # The manager may route leads to the members of their team (and sees that team).
    lookup = meg.get("/admin/assignment-rule/ajax/lookup/?name=user&query=da")
    assert "dan" in lookup.get_data(as_text=True)
    response = meg.post_form(new_rule, {"name": "All to East team", "sequence": "10",
                                        "team": str(team), "active": "y"}, token_from=new_rule)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert "All to East team" in meg.get("/admin/assignment-rule/").get_data(as_text=True)

    create_lead(meg, name="Li Lei")
    create_lead(meg, name="Han Meimei")
    assert owner_names(sales_suite) == ["meg", "meg"]   # entered by hand: the user's own
    response = meg.post_form(LEADS + "action/", {"action": "assign_by_rules",
                                                 "rowid": ["1", "2"]}, token_from=LEADS)
    assert response.status_code == 302
    assert owner_names(sales_suite) == ["dan", "dan"]
    # A salesperson only reads: the action needs "w" on every lead of theirs, and
    # the ids of others' leads are dropped.
    ann = add_user(sales_suite, "ann", "sales_user")
    sales_suite.sql("UPDATE core_access SET letters = 'r' WHERE model = 'Lead'")
    assert ann.post_form(LEADS + "action/", {"action": "assign_by_rules", "rowid": ["1"]},
                         token_from=LEADS).status_code == 403


def test_qualify_disqualify_and_no_change_after_conversion(sales_suite):
    admin = sales_suite.admin_client()
    create_lead(admin, name="Li Lei", company="Acme")
    details = LEADS + "details/?id=1"
    page = admin.get(details).get_data(as_text=True)
    assert "Qualify" in page and "Disqualify" in page and "/admin/lead/convert/?id=1" in page
    assert admin.post_form(LEADS + "transition/qualify/?id=1", {},
                           token_from=details).status_code == 302
    assert leads(sales_suite, "status") == [("qualified",)]
    assert admin.post_form(LEADS + "transition/disqualify/?id=1", {},
                           token_from=details).status_code == 302
    assert leads(sales_suite, "status") == [("disqualified",)]
    # The endpoints are POSTs that need "w".
    assert admin.get(LEADS + "transition/qualify/?id=1").status_code == 405
    ann = add_user(sales_suite, "ann", "sales_user")
    assert ann.post_form(LEADS + "transition/qualify/?id=1", {},
                         token_from=LEADS).status_code == 404

    sales_suite.sql("UPDATE sale_lead SET status = 'converted'")
    response = admin.get(LEADS + "edit/?id=1")
    assert response.status_code == 302 and "details" in response.headers["Location"]
    edit = admin.post_form(LEADS + "edit/?id=1", {"name": "Renamed"}, token_from=details)
    assert edit.status_code == 302
    admin.post_form(LEADS + "transition/qualify/?id=1", {}, token_from=details)
    assert leads(sales_suite, "name, status") == [("Li Lei", "converted")]
    assert "Qualify</button>" not in admin.get(details).get_data(as_text=True)
    admin.post_form(LEADS + "delete/", {"id": "1"}, token_from=LEADS)
    assert leads(sales_suite, "status") == [("converted",)]


def convert(client, lead_id, **fields):
    url = f"{LEADS}convert/?id={lead_id}"
    return client.post_form(url, fields, token_from=url if client.get(url).status_code == 200
                            else LEADS)


def test_conversion_makes_customer_contact_and_opportunity_in_one_step(sales_suite):
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    create_lead(ann, name="Li Lei", company="Acme Ltd", title="Buyer", phone="13812345678",
                email="li@acme.cn", estimated_amount="12000")
    page = ann.get(LEADS + "convert/?id=1").get_data(as_text=True)
    assert 'value="new" checked' in page and 'value="Acme Ltd"' in page
    assert "Qualification (10 %)" in page
    # A bad date: a message on the field, nothing saved.
    response = convert(ann, 1, customer="new", customer_name="Acme Ltd", customer_kind="company",
                       contact_name="Li Lei", opportunity_name="Acme printers",
                       amount="12000", expected_close="next spring")
    assert response.status_code == 200 and "Enter a date as YYYY-MM-DD." in response.get_data(as_text=True)
    assert sales_suite.sql("SELECT count(*) FROM crm_customer") == [(0,)]
    response = convert(ann, 1, customer="new", customer_name="Acme Ltd", customer_kind="company",
                       contact_name="Li Lei", opportunity_name="Acme printers",
                       amount="12000", expected_close="2026-09-30")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/opportunity/details/?id=1")
    ann_id = user_id(sales_suite, "ann")
    assert sales_suite.sql("SELECT name, kind, phone, owner_id FROM crm_customer") == [
        ("Acme Ltd", "company", "13812345678", ann_id)]
    assert sales_suite.sql("SELECT customer_id, name, title, email, is_primary, owner_id "
                           "FROM crm_contact") == [(1, "Li Lei", "Buyer", "li@acme.cn", True,
                                                    ann_id)]
    opportunity = sales_suite.sql(
        "SELECT o.name, o.customer_id, o.contact_id, o.lead_id, o.amount, s.name, "
        "o.probability, o.expected_close, o.owner_id, o.currency "
        "FROM sale_opportunity o JOIN sale_stage s ON s.id = o.stage_id")
    # (Raw SQL: SQLite gives the amount as a number, the date as text.)
    assert [(*row[:4], Decimal(str(row[4])), *row[5:7], str(row[7]), *row[8:])
            for row in opportunity] == [
        ("Acme printers", 1, 1, 1, Decimal("12000"), "Qualification", 10, "2026-09-30",
         ann_id, "CNY")]
    status, customer_id, converted_at = sales_suite.sql(
        "SELECT status, customer_id, converted_at FROM sale_lead")[0]
    assert (status, customer_id) == ("converted", 1) and converted_at is not None
    # Once converted, the page sends the user back.
    assert ann.get(LEADS + "convert/?id=1").status_code == 302


def test_conversion_onto_an_existing_duplicate_customer(sales_suite):
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    new_customer = "/admin/customer/new/"
    ann.post_form(new_customer, {"kind": "company", "stage": "active", "name": "ACME Ltd.",
                                 "phone": "010-5555 6666"}, token_from=new_customer)
    admin = sales_suite.admin_client()
    admin.post_form(new_customer, {"kind": "company", "stage": "active", "name": "Other",
                                   "email": "li@acme.cn"}, token_from=new_customer)
    create_lead(ann, name="Li Lei", company="Acme Ltd", email="li@acme.cn",
                phone="+86 10 5555 6666")
    page = ann.get(LEADS + "convert/?id=1").get_data(as_text=True)
    # The look-alike the user may read, with a link; the other user's is only counted.
    assert 'value="1" checked' in page and "/admin/customer/details/?id=1" in page
    assert "1 more customer like it belongs to other users." in page
    assert 'value="2"' not in page
    # Picking a customer the user may not read is refused.
    fields = {"contact_name": "Li Lei", "opportunity_name": "Acme deal", "amount": "",
              "customer_name": "", "customer_kind": "company"}
    response = convert(ann, 1, customer="2", **fields)
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert sales_suite.sql("SELECT count(*) FROM sale_opportunity") == [(0,)]
    assert convert(ann, 1, customer="1", **fields).status_code == 302
    assert sales_suite.sql("SELECT count(*) FROM crm_customer") == [(2,)]
    assert sales_suite.sql("SELECT customer_id, is_primary FROM crm_contact") == [(1, False)]
    assert sales_suite.sql("SELECT customer_id, amount FROM sale_opportunity")[0][0] == 1
    assert sales_suite.sql("SELECT status, customer_id FROM sale_lead") == [("converted", 1)]


def test_conversion_refused_for_an_invisible_lead_and_without_rights(sales_suite):
    admin = sales_suite.admin_client()
    create_lead(admin, name="Admin's lead", company="Acme")
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    create_lead(ann, name="Ann's lead", company="Globex")
    fields = {"customer": "new", "customer_name": "X", "customer_kind": "company",
              "contact_name": "X", "opportunity_name": "X"}
    assert ann.get(LEADS + "convert/?id=1").status_code == 404
    assert convert(ann, 1, **fields).status_code == 404
    # Without the right to create opportunities: 403, and no button.
    sales_suite.sql("UPDATE core_access SET letters = 'rw' WHERE model = 'Opportunity'")
    assert ann.get(LEADS + "convert/?id=2").status_code == 403
    assert convert(ann, 2, **fields).status_code == 403
    assert "/admin/lead/convert/" not in ann.get(LEADS + "details/?id=2").get_data(as_text=True)
    for table in ("crm_customer", "crm_contact", "sale_opportunity"):
        assert sales_suite.sql(f"SELECT count(*) FROM {table}") == [(0,)], table
    assert leads(sales_suite, "status") == [("new",), ("new",)]


def test_lead_list_queries_do_not_grow_with_page_size(sales_suite, tmp_path):
    make_user(sales_suite, "dan", "sales_user")
    add_source(sales_suite, "Website")
    path = write_csv(tmp_path / "leads.csv", ("name", "company", "source", "owner"),
                     [(f"Lead {n}", f"Company {n}", "Website", "dan") for n in range(60)])
    assert sales_suite.run("import", "lead", path).exit_code == 0
    meg = add_user(sales_suite, "meg", "sales_manager")
    sales_suite.sql("UPDATE core_access SET scope = 'all' WHERE model = 'Lead'")
    few = len(meg.queries(LEADS + "?page_size=20"))
    assert len(meg.queries(LEADS + "?page_size=50")) == few
