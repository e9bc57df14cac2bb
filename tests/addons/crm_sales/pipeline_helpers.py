"""Helpers the pipeline, kanban and dashboard tests share: users, customers and
opportunities made through the screens (or, for bulk, straight into the database)."""
import html
import json
import re
from datetime import datetime

from tests.addons.crm_contacts.helpers import add_user, create_customer, user_id  # noqa: F401

NEW = "/admin/opportunity/new/"
MOVE = "/admin/pipeline/move"


def page_text(response):
    return response.get_data(as_text=True)


def last_id(suite, table):
    return suite.sql(f"SELECT max(id) FROM {table}")[0][0]


def count(suite, table="sale_opportunity"):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def make_customer(client, suite, name, owner=None):
    """A customer through its form; its id."""
    fields = {"name": name, "confirm": True}
    if owner is not None:
        fields["owner"] = owner
    response = create_customer(client, **fields)
    assert response.status_code == 302, page_text(response)[:3000]
    return suite.sql("SELECT id FROM crm_customer WHERE name = :name", name=name)[0][0]


def stage_ids(suite):
    """{stage name: id} of the default stages."""
    return dict(suite.sql("SELECT name, id FROM sale_stage"))


def reason_ids(suite):
    return dict(suite.sql("SELECT name, id FROM sale_lost_reason"))


def group_id(suite, code):
    return suite.sql("SELECT id FROM core_group WHERE code = :code", code=code)[0][0]


def opportunity_form(name, customer, stage, amount="1000", probability="", **fields):
    data = {"name": name, "customer": customer, "stage": stage, "amount": amount,
            "currency": "CNY", "probability": probability, "expected_close": "",
            "lost_reason": "", "description": "", "owner": "", "contact": ""}
    data.update({key: "" if value is None else value for key, value in fields.items()})
    return data


def add_opportunity(client, suite, name, customer, stage, **fields):
    """An opportunity through its form; its id."""
    response = client.post_form(NEW, opportunity_form(name, customer, stage, **fields),
                                token_from=NEW)
    assert response.status_code == 302, page_text(response)[:3000]
    return suite.sql("SELECT max(id) FROM sale_opportunity WHERE name = :name",
                     name=name)[0][0]


def insert_opportunities(suite, number, customer, stage, owner, amount=100, prefix="Deal",
                         expected_close=None):
    """Many opportunities straight into the database (no stage history): for counting
    queries and figures, where the screens would only slow the test down."""
    now = datetime(2026, 1, 1)
    for index in range(number):
        suite.sql("INSERT INTO sale_opportunity (name, customer_id, amount, currency, "
                  "stage_id, probability, expected_close, owner_id, created_at, updated_at) "
                  "VALUES (:name, :customer, :amount, 'CNY', :stage, 10, :close, :owner, "
                  ":now, :now)", name=f"{prefix} {index}", customer=customer, amount=amount,
                  stage=stage, close=expected_close, owner=owner, now=now)


def move(client, opportunity, stage, lost_reason="", as_json=True, **extra):
    """Post a board move as the board's script does (JSON) or as a card's form does."""
    token = client.csrf_token("/admin/")
    data = {"csrf_token": token, "opportunity": opportunity, "stage": stage,
            "lost_reason": lost_reason, **extra}
    headers = {"Accept": "application/json", "X-CSRFToken": token} if as_json else {}
    response = client.post(MOVE, data=data, headers=headers)
    if as_json and response.mimetype == "application/json":
        response.answer = json.loads(response.get_data(as_text=True))
    return response


def stage_of(suite, opportunity):
    return suite.sql("SELECT stage_id FROM sale_opportunity WHERE id = :id",
                     id=opportunity)[0][0]


def changes_of(suite, opportunity):
    """(from, to, user) of an opportunity's stage changes, oldest first."""
    return [tuple(row) for row in suite.sql(
        "SELECT from_stage_id, to_stage_id, user_id FROM sale_stage_change "
        "WHERE opportunity_id = :id ORDER BY id", id=opportunity)]


def field_errors(response, name):
    """The messages shown under one field of a form page."""
    page = page_text(response)
    start = page.find(f'id="{name}"')
    if start < 0:
        return []
    end = page.find('<div class="form-group', start)
    block = page[start:end if end > 0 else None]
    return [html.unescape(text.strip()) for text in re.findall(r"<li>(.*?)</li>", block, re.S)]


def edit(client, opportunity, data):
    path = f"/admin/opportunity/edit/?id={opportunity}"
    return client.post_form(path, data, token_from=path)


def opportunity_row(suite, opportunity):
    """(stage_id, probability, closed_on as text or None, lost_reason_id)."""
    stage, probability, closed, reason = suite.sql(
        "SELECT stage_id, probability, closed_on, lost_reason_id FROM sale_opportunity "
        "WHERE id = :id", id=opportunity)[0]
    return stage, probability, str(closed) if closed is not None else None, reason


def insert_deal(suite, name, customer, stage, owner, amount, probability,
                expected_close=None, closed_on=None):
    """One opportunity straight into the database, every figure given."""
    now = datetime(2026, 1, 1)
    suite.sql("INSERT INTO sale_opportunity (name, customer_id, amount, currency, stage_id, "
              "probability, expected_close, closed_on, owner_id, created_at, updated_at) "
              "VALUES (:name, :customer, :amount, 'CNY', :stage, :probability, :close, "
              ":closed, :owner, :now, :now)", name=name, customer=customer, amount=amount,
              stage=stage, probability=probability, close=expected_close, closed=closed_on,
              owner=owner, now=now)
