"""Web-to-lead: the form screen with its token and snippet, and the public endpoint with
its token check, honeypot, rate limit, validation and headers."""
import re

from tests.addons.crm_sales.lead_helpers import (add_rule, add_source, add_team, add_user,
                                                 add_web_form, leads, owner_names, user_id)

TOKEN = "t0ken-for-tests"
PUBLIC = f"/public/lead/{TOKEN}"
VISITOR = {"name": "Li Lei", "company": "Acme", "email": "li@acme.cn", "phone": "13812345678",
           "message": "Please call me about printers.", "website": ""}


def test_manager_makes_a_form_with_token_snippet_and_new_token(sales_suite):
    meg = add_user(sales_suite, "meg", "sales_manager", "contacts_user")
    new = "/admin/web-form/new/"
    response = meg.post_form(new, {"name": "Contact us", "thanks_url": "javascript:alert(1)",
                                   "active": "y"}, token_from=new)
    assert "starting with http:// or https://" in response.get_data(as_text=True)
    response = meg.post_form(new, {"name": "Contact us", "active": "y", "token": "mine"},
                             token_from=new)
    assert response.status_code == 302
    token = sales_suite.sql("SELECT token FROM sale_web_form")[0][0]
    assert token != "mine" and len(token) >= 30    # made on create, never from the form
    assert 'name="token"' not in meg.get("/admin/web-form/edit/?id=1").get_data(as_text=True)

    details = "/admin/web-form/details/?id=1"
    page = meg.get(details).get_data(as_text=True)
    assert token in page
    assert f"action=&#34;http://127.0.0.1:5000/public/lead/{token}&#34;" in page
    for field in ("name", "company", "email", "phone", "message", "website"):
        assert f"name=&#34;{field}&#34;" in page, field
    assert "New token" in page
    assert meg.post_form("/admin/web-form/new-token/?id=1", {},
                         token_from=details).status_code == 302
    renewed = sales_suite.sql("SELECT token FROM sale_web_form")[0][0]
    assert renewed != token
    visitor = sales_suite.client()
    assert visitor.post(f"/public/lead/{token}", data=VISITOR).status_code == 404
    assert visitor.get(f"/public/lead/{renewed}").status_code == 200
    # Salespeople have no access to web forms at all.
    ann = add_user(sales_suite, "ann", "sales_user")
    assert ann.get(details).status_code == 403
    assert ann.post_form("/admin/web-form/new-token/?id=1", {}, token_from="/admin/").status_code \
        == 403


def test_valid_post_creates_an_assigned_lead_forged_token_nothing(sales_suite):
    add_user(sales_suite, "ann", "sales_user")
    add_user(sales_suite, "bob", "sales_user")
    web = add_source(sales_suite, "Website")
    team = add_team(sales_suite, "Inside sales", ["ann", "bob"])
    add_web_form(sales_suite, source_id=web, team_id=team)
    visitor = sales_suite.client()
    page = visitor.get(PUBLIC)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="website"' in html and "navbar" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "frame-ancestors 'none'" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"

    for forged in ("/public/lead/forged-token", "/public/lead/" + "x" * 200,
                   PUBLIC.upper()):
        assert visitor.post(forged, data=VISITOR).status_code == 404
    assert leads(sales_suite) == []

    # No rule: in turn among the form's team; the source and the form are kept.
    for _ in range(3):
        response = visitor.post(PUBLIC, data=VISITOR)
        assert response.status_code == 200
        assert "Thank you" in response.get_data(as_text=True)
    assert owner_names(sales_suite) == ["ann", "bob", "ann"]
    assert sales_suite.sql("SELECT name, company, email, phone, description, status, "
                           "source_id, web_form_id FROM sale_lead")[0] == (
        "Li Lei", "Acme", "li@acme.cn", "13812345678", "Please call me about printers.", "new",
        web, 1)
    # A rule that matches wins over the form's team.
    add_rule(sales_suite, "Website leads", source_id=web, user="bob")
    visitor.post(PUBLIC, data=VISITOR)
    assert owner_names(sales_suite)[-1] == "bob"
    # The form's own thank-you page, when it has one.
    sales_suite.sql("UPDATE sale_web_form SET thanks_url = 'https://www.example.com/thanks'")
    response = visitor.post(PUBLIC, data=VISITOR)
    assert response.status_code == 303
    assert response.headers["Location"] == "https://www.example.com/thanks"
    assert "form-action 'self' https://www.example.com;" in \
        visitor.get(PUBLIC).headers["Content-Security-Policy"]
    # An inactive form is refused like a forged token.
    sales_suite.sql("UPDATE sale_web_form SET active = :no", no=False)
    assert visitor.post(PUBLIC, data=VISITOR).status_code == 404
    assert visitor.get(PUBLIC).status_code == 404
    assert len(leads(sales_suite)) == 5


def test_honeypot_bad_input_and_staff_posting_save_nothing_wrong(sales_suite):
    add_web_form(sales_suite)
    visitor = sales_suite.client()
    response = visitor.post(PUBLIC, data=dict(VISITOR, website="http://spam.example"))
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    for fields, message in (({"email": "li at acme"}, "does not look right"),
                            ({"name": "  "}, "Please give your name."),
                            ({"company": "x" * 201}, "at most 200 characters")):
        response = visitor.post(PUBLIC, data=dict(VISITOR, **fields))
        assert response.status_code == 400 and message in response.get_data(as_text=True)
        assert 'value="13812345678"' in response.get_data(as_text=True)   # kept for a retry
    assert leads(sales_suite) == []
    # A signed-in user who sends the form does not become the owner: no rule, no team,
    # so the lead stays unowned for a manager to assign.
    admin = sales_suite.admin_client()
    assert admin.post(PUBLIC, data=VISITOR).status_code == 200
    assert owner_names(sales_suite) == [None]
    assert sales_suite.sql("SELECT created_by_id FROM sale_lead") == [(None,)]
    assert user_id(sales_suite, "admin") is not None


def test_rate_limit_per_address_and_form(sales_suite):
    add_web_form(sales_suite)
    add_web_form(sales_suite, name="Other form", token="other-token")
    sales_suite.sql("INSERT INTO core_option (addon, key, value) "
                    "VALUES ('crm_sales', 'web_leads_per_hour', '3')")
    visitor = sales_suite.client()
    for _ in range(3):
        assert visitor.post(PUBLIC, data=VISITOR).status_code == 200
    response = visitor.post(PUBLIC, data=VISITOR)
    assert response.status_code == 429
    assert "Too many messages" in response.get_data(as_text=True)
    assert len(leads(sales_suite)) == 3
    # Another address, or another form, has its own count.
    other = sales_suite.client()
    assert other.post(PUBLIC, data=VISITOR,
                      environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    assert visitor.post("/public/lead/other-token", data=VISITOR).status_code == 200
    assert len(leads(sales_suite)) == 5
    # The form itself can still be read.
    assert re.search("<form", visitor.get(PUBLIC).get_data(as_text=True))
