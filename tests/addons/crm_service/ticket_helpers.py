"""Small helpers the ticket tests share: teams, customers and users set up through
the models, mail from the corpus, and the ticket rows as the database holds them."""
from html import unescape

from tests.addons.crm_contacts import helpers as contacts_helpers
from tests.addons.crm_sales.lead_helpers import insert
from tests.conftest import ROOT

TICKETS = "/admin/ticket/"
CORPUS = ROOT / "tests" / "fixtures" / "mail"
app_of, user = contacts_helpers.app_of, contacts_helpers.user   # for the tests importing here


def page_text(response):
    return unescape(response.get_data(as_text=True))


def make_team(suite, name, members=(), leader=None, assignment="round robin", email=None):
    """A core team with its service settings; returns the team's id."""
    team_id = insert(suite, "core_team", name=name, leader_id=leader)
    for member in members:
        suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :u)",
                  t=team_id, u=member)
    suite.sql("INSERT INTO svc_team (team_id, assignment, email) VALUES (:t, :a, :e)",
              t=team_id, a=assignment, e=email)
    return team_id


def make_customer(suite, name, email=None, phone=None, grade=None, contacts=()):
    """A customer (its keys computed by the model) and its contacts: dicts of name,
    email, phone, mobile. Returns (customer id, [contact ids])."""
    from addons.crm_contacts.models import Contact, Customer
    from core.db import db
    with app_of(suite):
        customer = Customer(name=name, email=email, phone=phone, grade=grade, kind="company")
        db.session.add(customer)
        found = [Contact(customer=customer, **fields) for fields in contacts]
        db.session.add_all(found)
        db.session.commit()
        return customer.id, [contact.id for contact in found]


def eml(name, **replacements):
    """A message of the mail corpus, with ``old=new`` text replaced (keyword names
    stand for the text given in ``replacements["pairs"]`` when not identifiers)."""
    raw = (CORPUS / f"{name}.eml").read_bytes()
    for old, new in replacements.get("pairs", []):
        raw = raw.replace(old.encode(), new.encode())
    return raw


def message(subject="Help please", sender="Li Lei <li.lei@example.cn>",
            to="support@crm.example.com", message_id="m1@example.cn", headers="",
            body="The machine is broken."):
    """A plain e-mail as a mail program writes it."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 09:15:00 +0800\r\nMessage-ID: <{message_id}>\r\n"
            f"{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"\r\n{body}\r\n").encode()


def receive(suite, raw):
    from core import mailgate
    with app_of(suite):
        return mailgate.receive(raw)


def tickets(suite):
    return suite.sql("SELECT id, number, subject, state, customer_id, contact_id, owner_id, "
                     "team_id, channel FROM svc_ticket ORDER BY id")


def messages(suite, ticket_id):
    return suite.sql("SELECT kind, body_text, message_id, from_address FROM "
                     "svc_ticket_message WHERE ticket_id = :t ORDER BY id", t=ticket_id)


def outbox(suite):
    return suite.sql("SELECT id, recipients, subject, headers, body_text, related_model, "
                     "related_id FROM core_message ORDER BY id")


def set_option(suite, key, value):
    suite.sql("DELETE FROM core_option WHERE addon = 'crm_service' AND key = :k", k=key)
    suite.sql("INSERT INTO core_option (addon, key, value) VALUES ('crm_service', :k, :v)",
              k=key, v=value)


def flashes(client, response):
    assert response.status_code == 302, page_text(response)[:2000]
    return page_text(client.get(response.headers["Location"]))
