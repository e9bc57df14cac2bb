"""Opportunities through their screens: the stage rules (probability, closed_on, lost
reason, restricted stages), bad input, the stage history however a deal is saved, the
grouped list and the stage screen."""
import re
from datetime import date

import pytest
from flask import g

from core import workflow
from tests.addons.crm_sales.pipeline_helpers import (
    NEW,
    add_opportunity,
    add_user,
    changes_of,
    count,
    edit,
    field_errors,
    group_id,
    insert_opportunities,
    make_customer,
    opportunity_form,
    opportunity_row,
    page_text,
    reason_ids,
    stage_ids,
    user_id,
)

TODAY = date.today().isoformat()


def test_a_new_deal_takes_its_stage_probability_and_starts_its_history(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    form = page_text(admin.get(NEW))
    assert 'id="currency" maxlength="3" name="currency" type="text" value="CNY"' in form
    deal = add_opportunity(admin, sales_suite, "Router upgrade", customer, stages["Proposal"])
    assert opportunity_row(sales_suite, deal) == (stages["Proposal"], 50, None, None)
    admin_id = user_id(sales_suite, "admin")
    assert changes_of(sales_suite, deal) == [(None, stages["Proposal"], admin_id)]
    # A probability typed in by hand is kept.
    other = add_opportunity(admin, sales_suite, "Switches", customer, stages["Proposal"],
                            probability="35")
    assert opportunity_row(sales_suite, other)[1] == 35
    page = page_text(admin.get(f"/admin/opportunity/details/?id={deal}"))
    assert "Stage history" in page and "crm-stage-history" in page


def test_probability_follows_the_stage_unless_changed_by_hand(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    deal = add_opportunity(admin, sales_suite, "Deal", customer, stages["Qualification"])
    assert opportunity_row(sales_suite, deal)[1] == 10
    # Stage changed, probability left as it was: the new stage's default.
    edit(admin, deal, opportunity_form("Deal", customer, stages["Negotiation"], probability="10"))
    assert opportunity_row(sales_suite, deal)[:2] == (stages["Negotiation"], 75)
    # Stage and probability both changed: the hand-typed value stays.
    edit(admin, deal, opportunity_form("Deal", customer, stages["Proposal"], probability="60"))
    assert opportunity_row(sales_suite, deal)[:2] == (stages["Proposal"], 60)
    # Probability alone changed.
    edit(admin, deal, opportunity_form("Deal", customer, stages["Proposal"], probability="55"))
    assert opportunity_row(sales_suite, deal)[:2] == (stages["Proposal"], 55)
    admin_id = user_id(sales_suite, "admin")
    assert changes_of(sales_suite, deal) == [
        (None, stages["Qualification"], admin_id),
        (stages["Qualification"], stages["Negotiation"], admin_id),
        (stages["Negotiation"], stages["Proposal"], admin_id)]


def test_won_and_lost_close_the_deal_and_reopening_clears_it(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages, reasons = stage_ids(sales_suite), reason_ids(sales_suite)
    deal = add_opportunity(admin, sales_suite, "Deal", customer, stages["Proposal"])
    edit(admin, deal, opportunity_form("Deal", customer, stages["Won"], probability="50"))
    assert opportunity_row(sales_suite, deal) == (stages["Won"], 100, TODAY, None)
    edit(admin, deal, opportunity_form("Deal", customer, stages["Negotiation"],
                                       probability="100"))
    assert opportunity_row(sales_suite, deal) == (stages["Negotiation"], 75, None, None)
    edit(admin, deal, opportunity_form("Deal", customer, stages["Lost"], probability="75",
                                       lost_reason=reasons["No budget"]))
    assert opportunity_row(sales_suite, deal) == (stages["Lost"], 0, TODAY, reasons["No budget"])
    # Reopened: no longer closed, and no longer lost for a reason.
    edit(admin, deal, opportunity_form("Deal", customer, stages["Proposal"], probability="0",
                                       lost_reason=reasons["No budget"]))
    assert opportunity_row(sales_suite, deal) == (stages["Proposal"], 50, None, None)


def test_bad_input_is_a_field_error_and_saves_nothing(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    cases = [
        ("expected_close", {"expected_close": "31/03/2026"}, "YYYY-MM-DD"),
        ("expected_close", {"expected_close": "2026-02-30"}, "YYYY-MM-DD"),
        ("amount", {"amount": "-1"}, "cannot be negative"),
        ("amount", {"amount": "lots"}, "Not a valid decimal"),
        ("probability", {"probability": "150"}, "from 0 to 100"),
        ("probability", {"probability": "-1"}, "from 0 to 100"),
        ("currency", {"currency": "C1Y"}, "three letters"),
        ("lost_reason", {"stage": stages["Lost"]}, "reason this deal was lost"),
    ]
    for field, fields, message in cases:
        data = opportunity_form("Bad", customer, stages["Proposal"])
        data.update(fields)
        response = admin.post_form(NEW, data, token_from=NEW)
        assert response.status_code == 200, field
        assert any(message in text for text in field_errors(response, field)), (
            field, field_errors(response, field))
    assert count(sales_suite) == 0
    assert count(sales_suite, "sale_stage_change") == 0

    # The same on an existing deal: it stays as it was.
    deal = add_opportunity(admin, sales_suite, "Good", customer, stages["Proposal"],
                           amount="500", expected_close="2026-03-31")
    for field, fields, message in cases:
        data = opportunity_form("Changed", customer, stages["Proposal"], amount="500",
                                expected_close="2026-03-31")
        data.update(fields)
        response = edit(admin, deal, data)
        assert response.status_code == 200 and field_errors(response, field), field
    assert sales_suite.sql("SELECT name, amount, stage_id, expected_close FROM "
                           "sale_opportunity")[0][:3] == ("Good", 500, stages["Proposal"])
    assert len(changes_of(sales_suite, deal)) == 1


def test_a_contact_of_another_customer_is_refused(sales_suite):
    admin = sales_suite.admin_client()
    acme = make_customer(admin, sales_suite, "Acme")
    globex = make_customer(admin, sales_suite, "Globex")
    response = admin.post_form("/admin/contact/new/", {"customer": globex, "name": "Li Lei"},
                               token_from="/admin/contact/new/")
    assert response.status_code == 302
    contact = sales_suite.sql("SELECT id FROM crm_contact")[0][0]
    data = opportunity_form("Deal", acme, stage_ids(sales_suite)["Proposal"], contact=contact)
    response = admin.post_form(NEW, data, token_from=NEW)
    assert "works for another customer" in " ".join(field_errors(response, "contact"))
    assert count(sales_suite) == 0


def test_a_restricted_stage_is_entered_by_its_group_only(sales_suite):
    stages = stage_ids(sales_suite)
    sales_suite.sql("UPDATE sale_stage SET group_id = :group WHERE id = :stage",
                    group=group_id(sales_suite, "sales_manager"), stage=stages["Won"])
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    boss = add_user(sales_suite, "boss", "sales_manager", "contacts_manager")
    ann_id, boss_id = user_id(sales_suite, "ann"), user_id(sales_suite, "boss")
    customer = make_customer(ann, sales_suite, "Acme")
    deal = add_opportunity(ann, sales_suite, "Deal", customer, stages["Negotiation"])
    response = edit(ann, deal, opportunity_form("Deal", customer, stages["Won"],
                                                probability="75", owner=ann_id))
    assert response.status_code == 200
    assert "Only members of" in " ".join(field_errors(response, "stage"))
    assert opportunity_row(sales_suite, deal)[0] == stages["Negotiation"]
    assert len(changes_of(sales_suite, deal)) == 1
    # A manager may (the deal is his to see once he owns it) ...
    sales_suite.sql("UPDATE sale_opportunity SET owner_id = :boss", boss=boss_id)
    response = edit(boss, deal, opportunity_form("Deal", customer, stages["Won"],
                                                 probability="75", owner=boss_id))
    assert response.status_code == 302
    assert opportunity_row(sales_suite, deal)[0] == stages["Won"]
    # ... and a salesperson may still edit a deal that is in such a stage already.
    sales_suite.sql("UPDATE sale_opportunity SET owner_id = :ann", ann=ann_id)
    response = edit(ann, deal, opportunity_form("Deal renamed", customer, stages["Won"],
                                                probability="100", owner=ann_id))
    assert response.status_code == 302


def test_any_save_writes_the_stage_history(sales_suite):
    """A script moves a deal through the workflow, and it is recorded like the screens;
    setting stage_id directly is refused."""
    from addons.crm_sales.models import Opportunity, Stage, StageChange
    from core.db import db

    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    admin_id = user_id(sales_suite, "admin")
    app = sales_suite.app()
    with app.app_context():
        g.acting_user_id = admin_id
        deal = Opportunity(name="Scripted", customer_id=customer,
                           stage=db.session.get(Stage, stages["Needs analysis"]))
        db.session.add(deal)
        db.session.commit()
        assert deal.probability == 30
        deal.stage_id = stages["Won"]
        with pytest.raises(workflow.Refused):
            db.session.commit()
        db.session.rollback()
        workflow.move(deal, "move", target=stages["Won"])
        db.session.commit()
        assert (deal.probability, deal.closed_on) == (100, date.today())
        deal.name = "Renamed"   # no move, no history
        db.session.commit()
        moves = db.session.query(StageChange.from_stage_id, StageChange.to_stage_id,
                                 StageChange.user_id).order_by(StageChange.id).all()
        assert moves == [(None, stages["Needs analysis"], admin_id),
                         (stages["Needs analysis"], stages["Won"], admin_id)]


def group_rows(response):
    """[(title, count, amount)] of the subtotal rows of the grouped list."""
    page = page_text(response)
    return [(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", title)).strip(), int(number), amount)
            for title, number, amount in re.findall(
                r'<tr class="table-active crm-group-row">\s*<th colspan="2">(.*?)'
                r'<span class="badge badge-secondary crm-group-count">(\d+)</span></th>\s*'
                r'<th class="text-right crm-group-amount">([^<]*)</th>', page, re.S)]


def test_grouped_list_has_a_subtotal_per_group(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    ann_id, admin_id = user_id(sales_suite, "ann"), user_id(sales_suite, "admin")
    insert_opportunities(sales_suite, 3, customer, stages["Proposal"], admin_id, amount=100,
                         expected_close="2026-03-10")
    insert_opportunities(sales_suite, 2, customer, stages["Qualification"], ann_id,
                         amount=250.5, prefix="Ann", expected_close="2026-04-02")
    insert_opportunities(sales_suite, 1, customer, stages["Won"], admin_id, amount=1000,
                         prefix="Big")

    by_stage = group_rows(admin.get("/admin/opportunity/grouped/?group=stage"))
    assert by_stage == [("Qualification", 2, "501.00"), ("Proposal", 3, "300.00"),
                        ("Won", 1, "1,000.00")]
    by_owner = group_rows(admin.get("/admin/opportunity/grouped/?group=owner"))
    assert by_owner == [("admin", 4, "1,300.00"), ("ann", 2, "501.00")]
    by_month = group_rows(admin.get("/admin/opportunity/grouped/?group=month"))
    assert [row[1:] for row in by_month] == [(3, "300.00"), (2, "501.00"), (1, "1,000.00")]
    assert by_month[0][0] == "Mar 2026" and by_month[2][0] == "No close date"
    page = page_text(admin.get("/admin/opportunity/grouped/?group=stage&search=Ann"))
    assert "Ann 0" in page and "Deal 0" not in page
    # Within the record rules: ann's own deals only.
    assert group_rows(ann.get("/admin/opportunity/grouped/?group=stage")) == [
        ("Qualification", 2, "501.00")]
    assert "/admin/opportunity/grouped/" in page_text(admin.get("/admin/opportunity/"))


def test_grouped_list_pages_its_rows_and_keeps_whole_group_totals(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    admin_id = user_id(sales_suite, "admin")
    insert_opportunities(sales_suite, 25, customer, stages["Proposal"], admin_id, amount=10)
    insert_opportunities(sales_suite, 3, customer, stages["Negotiation"], admin_id, amount=7,
                         prefix="Late")
    first = admin.get("/admin/opportunity/grouped/?group=stage")
    second = admin.get("/admin/opportunity/grouped/?group=stage&page=1")
    assert group_rows(first) == [("Proposal", 25, "250.00")]
    assert group_rows(second) == [("Proposal (continued)", 25, "250.00"),
                                  ("Negotiation", 3, "21.00")]
    rows = [len(re.findall(r'href="/admin/opportunity/details/\?id=\d+"', page_text(page)))
            for page in (first, second)]
    assert rows == [20, 8]
    queries = len(admin.queries("/admin/opportunity/grouped/?group=stage"))
    insert_opportunities(sales_suite, 30, customer, stages["Won"], admin_id, prefix="More")
    assert len(admin.queries("/admin/opportunity/grouped/?group=stage&page=2")) == queries


def test_stage_screen_checks_probability_and_keeps_stages_in_use(sales_suite):
    admin = sales_suite.admin_client()
    stages = stage_ids(sales_suite)
    new = "/admin/stage/new/"
    data = {"name": "Demo", "sequence": "35", "probability": "150", "kind": "open",
            "group": ""}
    response = admin.post_form(new, data, token_from=new)
    assert response.status_code == 200
    assert "from 0 to 100" in " ".join(field_errors(response, "probability"))
    data["probability"] = "60"
    data["group"] = group_id(sales_suite, "sales_manager")
    assert admin.post_form(new, data, token_from=new).status_code == 302
    assert sales_suite.sql("SELECT probability, kind FROM sale_stage WHERE name = 'Demo'") == [
        (60, "open")]

    customer = make_customer(admin, sales_suite, "Acme")
    add_opportunity(admin, sales_suite, "Deal", customer, stages["Proposal"])
    response = admin.post_form("/admin/stage/delete/", {"id": stages["Proposal"]},
                               token_from="/admin/stage/")
    page = page_text(admin.get("/admin/stage/"))
    assert "cannot be deleted" in page and "1 opportunity is in it" in page
    # A stage only the history mentions stays too.
    sales_suite.sql("UPDATE sale_opportunity SET stage_id = :stage",
                    stage=stages["Negotiation"])
    admin.post_form("/admin/stage/delete/", {"id": stages["Proposal"]}, token_from="/admin/stage/")
    assert "Rename it instead" in page_text(admin.get("/admin/stage/"))
    assert count(sales_suite, "sale_stage") == 7
    # An unused one goes.
    demo = sales_suite.sql("SELECT id FROM sale_stage WHERE name = 'Demo'")[0][0]
    admin.post_form("/admin/stage/delete/", {"id": demo}, token_from="/admin/stage/")
    assert count(sales_suite, "sale_stage") == 6
