"""Satisfaction: resolving a ticket asks the customer for a rating by email; the signed
links need no login, record nothing when opened, rate once, and refuse an altered,
expired or replaced link; the averages per agent, team and kind."""
import re

from tests.addons.crm_service.public_helpers import (add_user, app_context, insert,
                                                     open_web_ticket, page_text, user_id)

LINK = re.compile(r"https?://[^/\s\"]+(/service/rating/[^\s\"?]+)\?lang=(\w+)")


def resolve(client, ticket_id=1, transition="resolve"):
    response = client.post_form(f"/admin/ticket/transition/{transition}/?id={ticket_id}", {},
                                token_from="/admin/")
    assert response.status_code == 302, response.status_code


def rating(suite):
    return suite.sql("SELECT score, comment, rated_at IS NOT NULL, closed_at IS NOT NULL "
                     "FROM svc_rating")


def rating_links(suite):
    """The links of the last rating email: {score or "comment": path}, and its text."""
    text = suite.sql("SELECT body_text FROM core_message WHERE subject LIKE '%]%' "
                     "ORDER BY id DESC LIMIT 1")[0][0]
    paths = [match.group(1) for match in LINK.finditer(text)]
    assert len(paths) == 6, text
    return {**{score: paths[score - 1] for score in range(1, 6)}, "comment": paths[5]}, text


def web_ticket(suite, **fields):
    visitor = suite.client()
    open_web_ticket(suite, visitor, **fields)
    return visitor


def test_resolving_asks_the_requester_in_their_language(service_suite):
    admin = service_suite.admin_client()
    ann = add_user(service_suite, "ann", "service_agent")
    team = insert(service_suite, "core_team", name="Hotline")
    web_ticket(service_suite)                                  # Chinese, li@example.cn
    service_suite.sql("UPDATE svc_ticket SET owner_id = :u, team_id = :t",
                      u=user_id(service_suite, "ann"), t=team)
    before = service_suite.sql("SELECT count(*) FROM core_message")[0][0]
    resolve(ann)
    assert service_suite.sql("SELECT state FROM svc_ticket") == [("resolved",)]
    assert service_suite.sql("SELECT t.number, r.agent_id, r.team_id, r.kind, r.score "
                             "FROM svc_rating r JOIN svc_ticket t ON t.id = r.ticket_id") == [
        (service_suite.sql("SELECT number FROM svc_ticket")[0][0],
         user_id(service_suite, "ann"), team, "request", None)]
    mails = service_suite.sql("SELECT recipients, subject, body_html FROM core_message "
                              "ORDER BY id")[before:]
    assert len(mails) == 1 and mails[0][0] == "li@example.cn"
    assert "您对我们的服务满意吗" in mails[0][1]
    links, text = rating_links(service_suite)
    assert "点击一下即可评价" in text and "?lang=zh" in text
    assert all(path in mails[0][2] for path in links.values())
    # In English when the customer wrote in English.
    web_ticket(service_suite, subject="Printer jams", message="It jams every day.",
               email="bob@example.com")
    resolve(admin, 2)
    _links, text = rating_links(service_suite)
    assert "How satisfied are you" in text and "?lang=en" in text
    # No address: no rating asked, nothing sent.
    web_ticket(service_suite, email="", phone="13800000000", subject="No mail")
    sent = service_suite.sql("SELECT count(*) FROM core_message")[0][0]
    resolve(admin, 3)
    assert service_suite.sql("SELECT count(*) FROM core_message")[0][0] == sent
    assert service_suite.sql("SELECT count(*) FROM svc_rating") == [(2,)]


def test_link_opens_without_writing_rates_once_and_refuses_replay(service_suite):
    admin = service_suite.admin_client()
    web_ticket(service_suite)
    resolve(admin)
    links, _text = rating_links(service_suite)
    customer = service_suite.client()
    page = customer.get(links[4] + "?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Rate our help" in page_text(page)
    assert re.search(r'<input checked[^>]*value="4"', html) or \
        re.search(r'value="4"[^>]*checked', html)
    assert customer.head(links[4]).status_code == 200
    assert rating(service_suite) == [(None, None, False, False)]   # opening wrote nothing
    chinese = service_suite.client().get(links[2] + "?lang=zh")
    assert "评价我们的服务" in page_text(chinese)
    # The post needs the page's CSRF token and a score.
    assert customer.post(links[4], data={"score": "4"}).status_code == 400
    token = customer.csrf_token(links[4])
    assert customer.post(links["comment"], data={"csrf_token": token}).status_code == 400
    assert rating(service_suite) == [(None, None, False, False)]
    done = customer.post(links[4], data={"score": "4", "comment": "很快，谢谢",
                                         "csrf_token": token})
    assert done.status_code == 200 and "Thank you for your rating!" in page_text(done)
    assert rating(service_suite) == [(4, "很快，谢谢", True, True)]
    # Replayed, or another of the five links: thanked, nothing changed.
    other = service_suite.client()
    again = other.post(links[1], data={"score": "1", "csrf_token": other.csrf_token("/service/request")})
    assert again.status_code == 200 and "rated already" in page_text(again)
    assert "rated already" in page_text(customer.get(links["comment"]))
    assert rating(service_suite) == [(4, "很快，谢谢", True, True)]


def test_altered_expired_and_replaced_links_are_refused(service_suite, monkeypatch):
    admin = service_suite.admin_client()
    web_ticket(service_suite)
    resolve(admin)
    links, _text = rating_links(service_suite)
    customer = service_suite.client()
    token = links[5].rsplit("/", 1)[1]
    for altered in (token[:-3] + "abc", token.replace(".", "-", 1), "x" * 300):
        response = customer.post(f"/service/rating/{altered}?lang=en", data={"score": "5"})
        assert response.status_code == 400 and "not valid" in page_text(response)
    # A link signed more than rating_link_days (14) ago has expired.
    with app_context(service_suite, commit=False):
        from addons.crm_service import satisfaction
        from addons.crm_service.models import SatisfactionRating, Ticket
        from core.db import db
        ticket = db.session.get(Ticket, 1)
        kept = db.session.get(SatisfactionRating, 1)
        import itsdangerous.timed
        real = itsdangerous.timed.time.time
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 15 * 86400)
        old = satisfaction.rating_link(ticket, kept, 5, "en")
        monkeypatch.undo()
    expired = customer.get(LINK.search(old).group(1) + "?lang=en")
    assert expired.status_code == 410 and "has expired" in page_text(expired)
    # Reopened and resolved again: a new request; the first links no longer work.
    resolve(admin, transition="reopen")
    resolve(admin)
    refused = customer.get(links[5] + "?lang=en")
    assert refused.status_code == 410 and "newer rating request" in page_text(refused)
    new_links, _text = rating_links(service_suite)
    assert new_links[5] != links[5]
    assert customer.get(new_links[5]).status_code == 200
    assert rating(service_suite) == [(None, None, False, False)]
    assert service_suite.sql("SELECT count(*) FROM svc_rating") == [(1,)]


def test_averages_per_agent_team_and_kind_and_the_customer_summary(service_suite):
    manager = add_user(service_suite, "meg", "service_manager")
    agent = add_user(service_suite, "ann", "service_agent")
    add_user(service_suite, "bob", "service_agent")
    ann, bob = user_id(service_suite, "ann"), user_id(service_suite, "bob")
    red = insert(service_suite, "core_team", name="Red team")
    customer = insert(service_suite, "crm_customer", name="Acme", kind="company",
                      stage="active", grade="A", is_key=False, is_supplier=False,
                      name_key="acme", phone_key="", email_key="",
                      created_at="2026-01-01", updated_at="2026-01-01")
    rows = [(ann, red, "complaint", 2, "2026-03-02"), (ann, red, "inquiry", 4, "2026-03-05"),
            (bob, red, "inquiry", 5, "2026-03-09"), (bob, None, "inquiry", None, "2026-03-10"),
            (ann, None, "request", 1, "2025-12-01")]            # outside the period
    for number, (agent_id, team_id, kind, score, sent) in enumerate(rows, 1):
        ticket = insert(service_suite, "svc_ticket", number=f"T2026-{number:06d}",
                        subject=f"Ticket {number}", kind=kind, channel="phone",
                        priority="normal", state="resolved", customer_id=customer,
                        created_at=sent, updated_at=sent)
        insert(service_suite, "svc_rating", ticket_id=ticket, agent_id=agent_id,
               team_id=team_id, kind=kind, score=score, sent_at=sent,
               rated_at=sent if score else None, comment="ok" if score == 5 else None)
    page = manager.get("/admin/satisfaction/averages/?start=2026-03-01&end=2026-03-31")
    assert page.status_code == 200
    rows_text = re.findall(r"<tr><td>([^<]+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>\s*"
                           r"<td[^>]*>([^<]+)</td></tr>", page.get_data(as_text=True))
    assert rows_text == [
        ("bob", "2", "1", "5.00"), ("ann", "2", "2", "3.00"),                  # per agent
        ("Red team", "3", "3", "3.67"), ("(none)", "1", "0", "—"),            # per team
        ("inquiry", "3", "2", "4.50"), ("complaint", "1", "1", "2.00")]       # per kind
    whole = manager.get("/admin/satisfaction/averages/?start=2025-01-01&end=2026-12-31")
    assert ("ann", "3", "3", "2.33") in re.findall(
        r"<tr><td>([^<]+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>\s*<td[^>]*>([^<]+)</td>",
        whole.get_data(as_text=True))
    # Agents read the ratings; nobody writes them on screen.
    assert agent.get("/admin/satisfaction/").status_code == 200
    assert "ok" in page_text(agent.get("/admin/satisfaction/?search=ok"))
    assert agent.get("/admin/satisfaction/new/").status_code in (403, 404)
    assert manager.get("/admin/satisfaction/edit/?id=1").status_code in (302, 403, 404)
    with app_context(service_suite, commit=False):
        from addons.crm_service.satisfaction import ratings_summary
        summary = ratings_summary(customer)
        assert (summary["asked"], summary["rated"], summary["average"]) == (5, 4, 3.0)
        assert [row["number"] for row in summary["latest"]] == [
            "T2026-000003", "T2026-000002", "T2026-000001", "T2026-000005"]
        assert ratings_summary(customer + 1) == {"asked": 0, "rated": 0, "average": None,
                                                 "latest": []}
