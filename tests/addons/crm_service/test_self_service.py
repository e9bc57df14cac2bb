"""The public self-service pages (/service/, no login): the public articles and their
search, the request form (CSRF, honeypot, rate limit, field errors), and the signed link
to follow one's ticket and answer it."""
import re

from tests.addons.crm_service.public_helpers import (REQUEST, add_article, add_user,
                                                     app_context, open_web_ticket,
                                                     page_text)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def tickets(suite):
    return suite.sql("SELECT number, channel, kind, subject, requester_name, requester_email, "
                     "requester_phone, state FROM svc_ticket ORDER BY id")


def messages(suite):
    return suite.sql("SELECT kind, body_text FROM svc_ticket_message ORDER BY id")


def test_home_lists_public_articles_only_in_the_visitors_language_first(service_suite):
    add_article(service_suite, "How to get a refund", "Write to us.", language="English")
    add_article(service_suite, "退款流程", "如需退款，请联系我们。", language="Chinese")
    add_article(service_suite, "Internal price list", visibility="internal", language="English")
    add_article(service_suite, "草稿：新政策", visibility="draft")
    visitor = service_suite.client()
    english = visitor.get("/service/?lang=en")
    text = page_text(english)
    assert english.status_code == 200 and "Submit a request" in text
    assert "Internal price list" not in text and "草稿" not in text
    assert text.index("How to get a refund") < text.index("退款流程")
    assert "navbar" not in english.get_data(as_text=True)          # nothing of the admin
    # Chinese from the browser's languages: Chinese articles first, the page in Chinese.
    chinese = service_suite.client().get("/service/", headers=ZH)
    text = page_text(chinese)
    assert text.index("退款流程") < text.index("How to get a refund")
    assert "提交请求" in text and 'lang="zh-CN"' in chinese.get_data(as_text=True)
    # ?lang sticks for the visitor's next pages.
    assert "Submit a request" in page_text(visitor.get("/service/", headers=ZH))


def test_search_finds_chinese_inside_a_sentence_and_escapes_wildcards(service_suite):
    add_article(service_suite, "售后服务说明", "如果您需要退款，请在七天内联系客服。")
    add_article(service_suite, "Opening hours", "We open at 9.", language="English",
                keywords="time schedule")
    add_article(service_suite, "100% cotton", "Care label.", language="English")
    visitor = service_suite.client()
    found = page_text(visitor.get("/service/?q=退款&lang=en"))
    assert "售后服务说明" in found and "Opening hours" not in found
    assert "Opening hours" in page_text(visitor.get("/service/?q=schedule"))   # keywords
    assert "Opening hours" in page_text(visitor.get("/service/?q=OPENING"))   # any case
    assert "100% cotton" in page_text(visitor.get("/service/?q=100%25"))
    nothing = page_text(visitor.get("/service/?q=%25%25"))
    assert "No answer matches your search." in nothing and "Opening hours" not in nothing
    assert "No answer matches" in page_text(visitor.get("/service/?q=_pening"))


def test_article_page_counts_views_shows_safe_text_and_hides_the_rest(service_suite):
    public = add_article(service_suite, "Reset <b>password</b>",
                         "First line\nsecond line\n\n- one\n- <script>alert(1)</script>")
    internal = add_article(service_suite, "Internal", visibility="internal")
    draft = add_article(service_suite, "Draft", visibility="draft")
    visitor = service_suite.client()
    response = visitor.get(f"/service/article/{public}?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<p>First line<br>second line</p>" in page
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in page and "<script>" not in page
    assert "Reset &lt;b&gt;password&lt;/b&gt;" in page
    visitor.get(f"/service/article/{public}")
    assert service_suite.sql("SELECT views FROM svc_kb_article WHERE id = :i", i=public) == [(2,)]
    for hidden in (internal, draft, 999):
        refused = visitor.get(f"/service/article/{hidden}")
        assert refused.status_code == 404 and "Internal" not in page_text(refused)
        assert "Help centre" in page_text(refused)       # our page, not the admin's
    assert service_suite.sql("SELECT sum(views) FROM svc_kb_article") == [(2,)]


def test_submit_opens_a_web_ticket_and_mails_the_follow_link(service_suite):
    visitor = service_suite.client()
    form = visitor.get("/service/request?lang=en")
    assert form.status_code == 200 and 'name="website"' in form.get_data(as_text=True)
    response, follow = open_web_ticket(service_suite, visitor)
    assert response.status_code == 200
    number = tickets(service_suite)[0][0]
    assert re.fullmatch(r"T\d{4}-000001", number) and number in page_text(response)
    assert tickets(service_suite) == [(number, "web form", "request", "打印机卡纸", "Li Lei",
                                       "li@example.cn", "138 1234 5678", "new")]
    assert messages(service_suite) == [("incoming", "打印机每天都卡纸，怎么办？")]
    mail = service_suite.sql("SELECT recipients, subject, body_text FROM core_message")
    assert len(mail) == 1 and mail[0][0] == "li@example.cn" and number in mail[0][1]
    assert follow and follow in mail[0][2]
    page = visitor.get(follow)
    assert page.status_code == 200 and "打印机每天都卡纸" in page_text(page)
    # A signed-in user who fills in the form does not become its author or owner.
    admin = service_suite.admin_client()
    open_web_ticket(service_suite, admin, email="", phone="021-5555 1234")
    assert service_suite.sql("SELECT created_by_id, requester_email FROM svc_ticket "
                             "ORDER BY id")[1] == (None, None)
    assert service_suite.sql("SELECT count(*) FROM core_message") == [(1,)]   # no address


def test_bot_missing_token_and_bad_fields_write_nothing(service_suite):
    visitor = service_suite.client()
    bot, _follow = open_web_ticket(service_suite, visitor, website="http://spam.example")
    assert bot.status_code == 200 and "Thank you" in page_text(bot)
    no_token = visitor.post("/service/request?lang=en", data=REQUEST)
    assert no_token.status_code == 400 and "security token" in page_text(no_token)
    for fields, message in (({"name": " "}, "Please give your name."),
                            ({"email": "li at example"}, "does not look right"),
                            ({"email": "", "phone": ""}, "Give an email address or a phone"),
                            ({"phone": "call me"}, "only digits"),
                            ({"subject": ""}, "Please give a subject."),
                            ({"message": "x" * 10001}, "10000"),
                            ({"kind": "spam"}, "Not a valid choice")):
        response, _follow = open_web_ticket(service_suite, visitor, **fields)
        text = page_text(response)
        assert response.status_code == 400 and message in text, (fields, text[:3000])
        assert "is-invalid" in response.get_data(as_text=True)
    assert 'value="Li Lei"' in response.get_data(as_text=True)    # kept for a retry
    assert tickets(service_suite) == [] and messages(service_suite) == []
    assert service_suite.sql("SELECT count(*) FROM core_message") == [(0,)]


def test_rate_limit_per_address(service_suite):
    service_suite.sql("INSERT INTO core_option (addon, key, value) "
                      "VALUES ('crm_service', 'public_tickets_per_hour', '2')")
    visitor = service_suite.client()
    for _ in range(2):
        assert open_web_ticket(service_suite, visitor)[0].status_code == 200
    refused, _follow = open_web_ticket(service_suite, visitor)
    assert refused.status_code == 429 and "Too many messages" in page_text(refused)
    assert len(tickets(service_suite)) == 2
    other = service_suite.client()
    assert open_web_ticket(service_suite, other, address="10.0.0.9")[0].status_code == 200
    assert len(tickets(service_suite)) == 3


def test_follow_page_hides_notes_refuses_altered_and_revoked_links(service_suite):
    visitor = service_suite.client()
    _response, follow = open_web_ticket(service_suite, visitor)
    with app_context(service_suite) as session:
        from addons.crm_service import tickets as ticket_flow
        from addons.crm_service.models import Ticket
        ticket = session.get(Ticket, 1)
        ticket_flow.note(ticket, None, "客户很着急 (internal)")
    page = visitor.get(follow + "?lang=en")
    assert page.status_code == 200
    text = page_text(page)
    assert "客户很着急" not in text and "打印机每天都卡纸" in text and "new" in text
    token = follow.rsplit("/", 1)[1]
    for altered in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                    token.replace(".", "x", 1), "x" * 500, "1"):
        refused = visitor.get(f"/service/ticket/{altered}")
        assert refused.status_code == 404 and "not valid" in page_text(refused)
        assert "打印机" not in page_text(refused)
    chinese = service_suite.client().get(f"/service/ticket/{token[:-2]}xx", headers=ZH)
    assert chinese.status_code == 404 and "链接" in page_text(chinese)
    service_suite.sql("UPDATE svc_ticket SET access_key = 'a-new-key'")
    assert visitor.get(follow).status_code == 404
    assert service_suite.sql("SELECT count(*) FROM svc_ticket_message") == [(2,)]


def test_customer_reply_appears_and_reopens_a_resolved_ticket(service_suite):
    visitor = service_suite.client()
    _response, follow = open_web_ticket(service_suite, visitor)
    service_suite.sql("UPDATE svc_ticket SET state = 'resolved'")
    no_token = visitor.post(follow, data={"message": "还是不行"})
    assert no_token.status_code == 400 and len(messages(service_suite)) == 1
    empty = visitor.post(follow, data={"message": " ", "csrf_token": visitor.csrf_token(follow)})
    assert empty.status_code == 400 and len(messages(service_suite)) == 1
    sent = visitor.post(follow, data={"message": "还是不行，又卡纸了。",
                                      "csrf_token": visitor.csrf_token(follow)})
    assert sent.status_code == 303
    assert messages(service_suite)[-1] == ("incoming", "还是不行，又卡纸了。")
    assert service_suite.sql("SELECT state FROM svc_ticket") == [("open",)]
    assert service_suite.sql("SELECT from_name, from_address FROM svc_ticket_message "
                             "ORDER BY id DESC LIMIT 1") == [("Li Lei", "li@example.cn")]
    page = visitor.get(sent.headers["Location"])
    assert "还是不行，又卡纸了。" in page_text(page) and "crm-service-sent" in page.get_data(
        as_text=True)


def test_follow_replies_are_rate_limited(service_suite):
    service_suite.sql("INSERT INTO core_option (addon, key, value) "
                      "VALUES ('crm_service', 'public_tickets_per_hour', '1')")
    visitor = service_suite.client()
    _response, follow = open_web_ticket(service_suite, visitor)
    statuses = [visitor.post(follow, data={"message": f"more {n}",
                                           "csrf_token": visitor.csrf_token(follow)}).status_code
                for n in range(5)]
    assert statuses == [303, 303, 303, 303, 429]
    assert len(messages(service_suite)) == 5


def test_agent_pages_still_need_a_login(service_suite):
    agent = add_user(service_suite, "ann", "service_agent")
    assert agent.get("/service/").status_code == 200
    assert service_suite.client().get("/admin/kb-article/").status_code == 302
