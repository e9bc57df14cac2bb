"""The ticket screens over HTTP: a phone ticket through the form, the page with its
conversation (sanitised HTML, files to download), reply and internal-note forms with
CSRF, what an agent may see, the list's filters and its fixed number of queries, the
customer's 360° panel, the quick search and the Chinese page."""
import re

from tests.addons.crm_service.ticket_helpers import (TICKETS, eml, flashes,
                                                     make_customer, make_team, outbox,
                                                     page_text, receive, tickets, user)


def details(ticket_id):
    return f"{TICKETS}details/?id={ticket_id}"


def test_a_phone_ticket_through_the_form(service_suite):
    customer, (contact,) = make_customer(
        service_suite, "Hualian", contacts=[{"name": "王芳", "mobile": "13812345678",
                                             "email": "wang.fang@example.cn"}])
    client = service_suite.admin_client()
    new = f"{TICKETS}new/"
    response = client.post_form(new, {"channel": "phone", "kind": "request",
                                      "priority": "high", "requester_phone": "138 1234 5678",
                                      "subject": "Toner", "description": "需要两盒墨粉。"},
                                token_from=new)
    assert response.status_code == 302, page_text(response)[:3000]
    (ticket, number, subject, state, customer_id, contact_id, owner, *_rest), = \
        tickets(service_suite)
    assert (subject, state, customer_id, contact_id) == ("Toner", "new", customer, contact)
    assert owner is not None   # nobody else given it: whoever took the call
    page = page_text(client.get(details(ticket)))
    assert number in page and "需要两盒墨粉。" in page and "crm-ticket-incoming" in page
    # A contact of another customer is refused, nothing written.
    other, (stranger,) = make_customer(service_suite, "Other", contacts=[{"name": "Bob"}])
    refused = client.post_form(new, {"channel": "visit", "kind": "inquiry", "priority": "low",
                                     "customer": str(customer), "contact": str(stranger),
                                     "subject": "Visit"}, token_from=new)
    assert refused.status_code == 200 and "works for another customer" in page_text(refused)
    assert len(tickets(service_suite)) == 1 and other


def test_reply_and_note_from_the_page(service_suite):
    receive(service_suite, eml("html_xss"))
    (ticket, number, *_rest), = tickets(service_suite)
    client = service_suite.admin_client()
    page = client.get(details(ticket)).get_data(as_text=True)
    assert "<b>there</b>" in page and "alert(" not in page and "onerror" not in page
    token = client.csrf_token(details(ticket))
    # Without the CSRF token: refused.
    assert client.post(f"{TICKETS}reply/?id={ticket}", data={"body": "Hi"}).status_code == 400
    sent = client.post(f"{TICKETS}reply/?id={ticket}",
                       data={"body": "<script>x()</script> We are on it.", "csrf_token": token})
    assert "Reply queued for mallory@evil.example.net" in flashes(client, sent)
    assert outbox(service_suite)[-1][2] == f"[{number}] Urgent: please look"
    noted = client.post(f"{TICKETS}internal-note/?id={ticket}",
                        data={"body": "Looks like phishing.", "csrf_token": token})
    assert "Internal note added." in flashes(client, noted)
    empty = client.post(f"{TICKETS}internal-note/?id={ticket}",
                        data={"body": "  ", "csrf_token": token})
    assert "Write the note first." in flashes(client, empty)
    html = client.get(details(ticket)).get_data(as_text=True)
    assert "&lt;script&gt;x()&lt;/script&gt; We are on it." in html
    assert "crm-ticket-note" in html and "Looks like phishing." in html
    assert service_suite.sql("SELECT state FROM svc_ticket")[0][0] == "open"


def test_attachments_download_with_the_tickets_read_right(service_suite):
    receive(service_suite, eml("attachments"))
    (ticket, *_rest), = tickets(service_suite)
    client = service_suite.admin_client()
    page = client.get(details(ticket)).get_data(as_text=True)
    links = re.findall(r'href="([^"]*/attachment/\d+/[^"]*)"', page)
    assert len(links) == 5
    pdf = client.get(links[1].replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # Another ticket's id with this file: not found.
    receive(service_suite, eml("plain_utf8"))
    other = tickets(service_suite)[-1][0]
    wrong = re.sub(r"id=\d+", f"id={other}", links[1].replace("&amp;", "&"))
    assert client.get(wrong).status_code == 404


def test_agents_see_their_own_and_their_teams_tickets(service_suite):
    ann_client, ann = user(service_suite, "ann", "service_agent")
    _bob_client, bob = user(service_suite, "bob", "service_agent")
    _cal_client, cal = user(service_suite, "cal", "service_agent")
    make_team(service_suite, "Desk A", [ann, bob], email="a@crm.example.com")
    make_team(service_suite, "Desk B", [cal], email="b@crm.example.com")
    receive(service_suite, eml("plain_utf8", pairs=[("support@crm", "a@crm")]))
    receive(service_suite, eml("gbk_base64", pairs=[("service@crm", "b@crm")]))
    (mine, *_a), (theirs, *_b) = tickets(service_suite)
    assert ann_client.get(details(mine)).status_code == 200
    assert ann_client.get(details(theirs)).status_code == 404
    token = ann_client.csrf_token(details(mine))
    assert ann_client.post(f"{TICKETS}reply/?id={theirs}",
                           data={"body": "x", "csrf_token": token}).status_code == 404
    listed = page_text(ann_client.get(TICKETS))
    assert "printer will not connect" in listed and "付款期限" not in listed
    assert bob and cal


def test_the_list_filters_and_costs_the_same_for_more_tickets(service_suite):
    client = service_suite.admin_client()
    for number in range(3):
        receive(service_suite, eml("plain_utf8", pairs=[("1234@mail", f"{number}a@mail")]))
    few = len(client.queries(f"{TICKETS}?page_size=100"))
    for number in range(12):
        receive(service_suite, eml("gbk_base64", pairs=[("2341876@", f"{number}b@")]))
    assert len(client.queries(f"{TICKETS}?page_size=100")) == few
    mine = page_text(client.get(f"{TICKETS}?flt0_assigned_is=me"))
    nobody = page_text(client.get(f"{TICKETS}?flt0_assigned_is=nobody"))
    assert "付款期限" not in mine and "付款期限" in nobody
    by_state = page_text(client.get(f"{TICKETS}?flt0_state_equals=new"))
    assert "付款期限" in by_state


def test_the_customer_page_and_the_quick_search(service_suite):
    customer, _ = make_customer(service_suite, "Hualian",
                                contacts=[{"name": "王芳", "email": "wang.fang@example.cn"}])
    receive(service_suite, eml("plain_utf8"))
    (ticket, number, *_rest), = tickets(service_suite)
    client = service_suite.admin_client()
    page = page_text(client.get(f"/admin/customer/details/?id={customer}"))
    assert "Open tickets (1)" in page and number in page
    found = page_text(client.get(f"/admin/search/?q={number}"))
    assert f"/admin/ticket/details/?id={ticket}" in found
    short = "%23" + number.split("-")[0] + "-" + str(int(number.split("-")[1]))
    assert f"/admin/ticket/details/?id={ticket}" in page_text(client.get(f"/admin/search/?q={short}"))


def test_the_ticket_page_reads_in_chinese(service_suite):
    receive(service_suite, eml("plain_utf8"))
    (ticket, *_rest), = tickets(service_suite)
    client = service_suite.admin_client()
    client.post_form("/language", {"language": "zh_Hans_CN"})
    page = page_text(client.get(details(ticket)))
    for text in ("回复客户", "内部备注", "对话"):
        assert text in page, text
