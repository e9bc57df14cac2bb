"""Sending a quote honestly, and telling people about approvals: "Send" queues (and says
so), the quote's page shows how the email fared once the outbox knows, a failure tells
the salesperson; an approval request tells the sales managers (in-app and by email, in
each one's language) and the decision tells the one who asked."""
import re
from html import unescape

from tests.addons.crm_sales.quote_helpers import (
    QUOTES,
    act,
    add_user,
    create_customer,
    create_quote,
    flashes,
    page_text,
    quote_row,
    team,
    user_id,
)

LINE = {"description": "Consulting", "quantity": "1", "unit_price": "1000", "tax_rate": "6"}


def words(html):
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def run_outbox(admin):
    response = admin.post_form("/admin/jobs/run/core.outbox", {}, token_from="/admin/jobs/")
    assert response.status_code == 302


def send(client, quote, to="buyer@acme.example.com"):
    page = f"{QUOTES}send/?id={quote}"
    return client.post_form(page, {"to": to, "subject": "Our quotation", "text": "Hello"},
                            token_from=page)


def salesperson_with_quote(suite):
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    suite.sql("UPDATE core_user SET email = 'ann@example.com' WHERE username = 'ann'")
    customer = create_customer(ann, suite, "Acme Trading", email="buyer@acme.example.com")
    return ann, create_quote(ann, suite, customer, [LINE])


def test_send_without_a_mail_server_says_queued_then_failed_and_tells_the_sender(sales_suite):
    admin = sales_suite.admin_client()
    ann, quote = salesperson_with_quote(sales_suite)
    details = f"{QUOTES}details/?id={quote}"
    assert "No mail server is set up: this email will fail" in page_text(
        ann.get(f"{QUOTES}send/?id={quote}"))

    page = words(flashes(ann, send(ann, quote)))
    assert "queued for buyer@acme.example.com" in page
    assert " sent to " not in page
    assert "queued" in words(page_text(ann.get(details))).split("email to buyer@acme")[1][:40]

    run_outbox(admin)
    assert sales_suite.sql("SELECT status FROM core_message") == [("failed",)]
    page = words(page_text(ann.get(details)))
    assert "email to buyer@acme.example.com failed" in page
    assert "No mail server is set up" in page
    # The record's feed shows the email as failed, with the reason.
    feed = words(page_text(ann.get(details)).split('id="feed"')[1])
    assert re.search(r"Email: Our quotation Failed .*To buyer@acme.example.com No mail server", feed)
    # The salesperson is told, with a link to the quote (not by email: it would fail too).
    title = "Email not delivered: Our quotation"
    today = page_text(ann.get("/admin/today/"))
    assert title in today and f'href="{details}"' in today
    assert sales_suite.sql("SELECT count(*) FROM core_message") == [(1,)]
    # Sending again stays possible (a sent quote may be emailed once more).
    assert quote_row(sales_suite, quote).state == "sent"
    assert f"{QUOTES}send/?id={quote}" in page_text(ann.get(details))


def test_send_with_a_mail_server_shows_delivered(sales_suite, smtp):
    admin = sales_suite.admin_client()
    admin.post_form("/admin/company/", {"name": "Yunfan Ltd", "currency": "CNY"},
                    token_from="/admin/company/")
    admin.post_form("/admin/mail-server/", {
        "host": "127.0.0.1", "port": str(smtp.port), "security": "none",
        "sender": "sales@yunfan.example.com", "action": "save"}, token_from="/admin/mail-server/")
    ann, quote = salesperson_with_quote(sales_suite)
    assert "No mail server" not in page_text(ann.get(f"{QUOTES}send/?id={quote}"))
    assert "queued for buyer@acme.example.com" in words(flashes(ann, send(ann, quote)))
    run_outbox(admin)
    page = words(page_text(ann.get(f"{QUOTES}details/?id={quote}")))
    assert "email to buyer@acme.example.com delivered" in page
    [received] = smtp.messages
    # From the company (Settings > Company), never "CRM".
    assert received["From"] == "Yunfan Ltd <sales@yunfan.example.com>"
    assert [part.get_filename() for part in received.iter_attachments()] == [
        f"{quote_row(sales_suite, quote).number}.pdf"]
    assert sales_suite.sql("SELECT count(*) FROM core_notification") == [(0,)]


def test_approval_request_tells_the_managers_and_the_decision_the_requester(sales_suite):
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    mia = add_user(sales_suite, "mia", "sales_manager", "contacts_user")
    add_user(sales_suite, "leo", "sales_manager", "contacts_user")   # another team's
    add_user(sales_suite, "bob", "sales_user", "contacts_user")      # not a manager
    add_user(sales_suite, "zoe", "sales_manager", "contacts_user")   # no email address
    team(sales_suite, "East", user_id(sales_suite, "mia"),
         [user_id(sales_suite, "ann"), user_id(sales_suite, "bob"), user_id(sales_suite, "zoe")])
    team(sales_suite, "West", user_id(sales_suite, "leo"), [])
    sales_suite.sql("UPDATE core_user SET email = username || '@example.com' "
                    "WHERE username IN ('ann', 'mia', 'bob', 'leo')")
    sales_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'mia'")
    customer = create_customer(ann, sales_suite, "Bargain Hunters")
    quote = create_quote(ann, sales_suite, customer, [dict(LINE, discount="25")])
    title = quote_row(sales_suite, quote).number
    details = f"{QUOTES}details/?id={quote}"
    in_english = f"Approval requested: Quote {title}"

    act(ann, quote, "request-approval")
    notices = sales_suite.sql("SELECT u.username, n.title, n.body, n.link FROM "
                              "core_notification n JOIN core_user u ON u.id = n.user_id "
                              "ORDER BY u.username")
    # The managers who may see the quote (its team's), each in their own language.
    assert [name for name, *_rest in notices] == ["mia", "zoe"]
    assert notices[1][1] == in_english
    assert f"报价单 {title}" in notices[0][1] and "Approval" not in notices[0][1]
    assert all(link == details for *_rest, link in notices)
    assert notices[1][2] == "ann asks for your approval (Quote discount, step: Sales: manager)."
    # By email too, to those with an address, whatever their reminder choice, with
    # links that approve or reject without signing in.
    mails = sales_suite.sql("SELECT recipients, subject, body_text FROM core_message")
    assert [(to, subject) for to, subject, _text in mails] == [("mia@example.com", notices[0][1])]
    assert f"/admin/quote/details/?id={quote}" in mails[0][2] and "/approval/" in mails[0][2]
    assert notices[0][1] in page_text(mia.get("/admin/today/"))

    # The decision goes back to ann (and not to the manager who took it).
    act(mia, quote, "refuse", comment="Too generous")
    assert quote_row(sales_suite, quote).approval == "refused"
    told = sales_suite.sql("SELECT n.title, n.body FROM core_notification n "
                           "WHERE n.user_id = :u", u=user_id(sales_suite, "ann"))
    assert told == [(f"Rejected: Quote {title}",
                     "mia rejected it (Quote discount): Too generous")]
    act(ann, quote, "request-approval")
    act(mia, quote, "approve")
    told = sales_suite.sql("SELECT n.title FROM core_notification n WHERE n.user_id = :u "
                           "ORDER BY n.id", u=user_id(sales_suite, "ann"))
    assert told[-1] == (f"Approved: Quote {title}",)
    to_ann = sales_suite.sql("SELECT subject FROM core_message WHERE recipients = "
                             "'ann@example.com' ORDER BY id")
    assert to_ann == [(f"Rejected: Quote {title}",), (f"Approved: Quote {title}",)]
    assert sales_suite.sql("SELECT count(*) FROM core_notification WHERE user_id = :u",
                           u=user_id(sales_suite, "bob")) == [(0,)]
