"""Helpers the tests of products, leads and web forms share."""
from contextlib import contextmanager

from core.db import db
from tests.addons.crm_contacts.helpers import PASSWORD, add_user, user_id, write_csv  # noqa: F401

NEW_LEAD = "/admin/lead/new/"


@contextmanager
def app_session(suite):
    """The ORM session of an app of the suite, for unit tests on real tables."""
    app = suite.dispatcher().app
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


def insert(suite, table, **values):
    """One row by SQL; returns its id."""
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    suite.sql(f"INSERT INTO {table} ({columns}) VALUES ({params})", **values)
    return suite.sql(f"SELECT max(id) FROM {table}")[0][0]


def add_source(suite, name):
    return insert(suite, "crm_source", name=name)


def add_region(suite, name):
    return insert(suite, "crm_region", name=name)


def add_team(suite, name, member_names, leader=None):
    team_id = insert(suite, "core_team", name=name,
                     leader_id=user_id(suite, leader) if leader else None)
    for member in member_names:
        suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :u)",
                  t=team_id, u=user_id(suite, member))
    return team_id


def add_rule(suite, name, sequence=10, region_id=None, source_id=None, user=None,
             team_id=None, active=True):
    return insert(suite, "sale_assignment_rule", name=name, sequence=sequence,
                  region_id=region_id, source_id=source_id,
                  user_id=user_id(suite, user) if user else None, team_id=team_id,
                  active=active)


def add_web_form(suite, name="Contact us", token="t0ken-for-tests", source_id=None,
                 team_id=None, thanks_url=None, active=True):
    return insert(suite, "sale_web_form", name=name, token=token, source_id=source_id,
                  team_id=team_id, thanks_url=thanks_url, active=active)


def create_lead(client, **fields):
    """POST the lead form; returns the response."""
    return client.post_form(NEW_LEAD, fields, token_from=NEW_LEAD)


def leads(suite, columns="name, status, owner_id"):
    return suite.sql(f"SELECT {columns} FROM sale_lead ORDER BY id")


def owner_names(suite):
    return [row[0] for row in suite.sql(
        "SELECT u.username FROM sale_lead l LEFT JOIN core_user u ON u.id = l.owner_id "
        "ORDER BY l.id")]
