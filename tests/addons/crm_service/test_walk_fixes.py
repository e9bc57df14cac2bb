"""What a browser walk of the service screens found, kept fixed: a manager's calendar
form shows (and so keeps) the calendar's working hours and holidays; a phoned-in
request reads as the customer's, taken down by the agent; the rating goes to the
address replies go to; a resolved complaint says why it cannot close yet and leads to
its corrective action."""
import re
from html import unescape
from html.parser import HTMLParser

from tests.addons.crm_service.ticket_helpers import (TICKETS, make_customer,
                                                     outbox, page_text, tickets, user)

CALENDAR_FORM = "/admin/business-calendar/edit/?id=1"


class FormFields(HTMLParser):
    """The fields a browser would post from a page's first form with a name field."""

    def __init__(self):
        super().__init__()
        self.fields, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "checkbox"):
            self.fields[name] = attrs.get("value", "")
        elif tag == "input" and name and "checked" in attrs:
            self.fields[name] = attrs.get("value", "y")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def posted_back(html):
    """The form's fields without the hidden template rows (Flask-Admin's "add" copies)."""
    html = re.sub(r'<div class="inline-field-template.*?</div>\s*</div>', "", html,
                  flags=re.S)
    parser = FormFields()
    parser.feed(html)
    return {key: value for key, value in parser.fields.items() if value is not None}


def test_a_manager_edits_a_calendar_and_keeps_its_hours(service_suite):
    manager, _id = user(service_suite, "mia", "service_manager")
    html = manager.get(CALENDAR_FORM).get_data(as_text=True)
    assert 'name="periods-9-start"' in html and 'name="days-38-day"' in html
    fields = posted_back(html)
    fields["name"] = "Office hours"
    response = manager.post_form(CALENDAR_FORM, fields, token_from=CALENDAR_FORM)
    assert response.status_code == 302, page_text(response)[:3000]
    assert service_suite.sql("SELECT name FROM svc_calendar")[0][0] == "Office hours"
    assert service_suite.sql("SELECT count(*) FROM svc_working_period")[0][0] == 10
    assert service_suite.sql("SELECT count(*) FROM svc_calendar_day")[0][0] == 39
    page = unescape(manager.get("/admin/business-calendar/details/?id=1")
                    .get_data(as_text=True))
    assert "Monday: 09:00-12:00, 13:30-18:00" in page


def phoned_in(suite, client, kind="request"):
    make_customer(suite, "Hualian", contacts=[{"name": "王芳", "mobile": "13812345678",
                                               "email": "wang.fang@example.cn"}])
    new = f"{TICKETS}new/"
    response = client.post_form(new, {"channel": "phone", "kind": kind, "priority": "normal",
                                      "requester_phone": "13812345678", "subject": "Toner",
                                      "description": "需要两盒墨粉。"}, token_from=new)
    assert response.status_code == 302, page_text(response)[:3000]
    return tickets(suite)[-1][0]


def move(client, ticket, transition):
    page = f"{TICKETS}details/?id={ticket}"
    response = client.post(f"{TICKETS}transition/{transition}/?id={ticket}",
                           data={"csrf_token": client.csrf_token(page)})
    assert response.status_code == 302


def test_a_phoned_in_request_reads_as_the_customers_and_is_rated_by_them(service_suite):
    agent, _id = user(service_suite, "ann", "service_agent", "contacts_user")
    ticket = phoned_in(service_suite, agent)
    page = page_text(agent.get(f"{TICKETS}details/?id={ticket}"))
    assert "王芳 (taken down by ann)" in page
    # The SLA targets read as words, capitalised like every other choice.
    assert "First response" in page
    before = len(outbox(service_suite))
    move(agent, ticket, "resolve")
    (_id, to, subject, *_rest), = outbox(service_suite)[before:]
    assert to == "wang.fang@example.cn" and "您对我们的服务满意吗" in subject   # her language


def test_a_resolved_complaint_says_why_it_stays_open(service_suite):
    client = service_suite.admin_client()
    ticket = phoned_in(service_suite, client, kind="complaint")
    move(client, ticket, "resolve")
    page = page_text(client.get(f"{TICKETS}details/?id={ticket}"))
    assert "Give the complaint its root cause before closing it." in page
    assert f'href="/admin/complaint/details/?id={ticket}"' in page
    assert f"/transition/close/?id={ticket}" not in page
