"""Events and trade shows (crm_marketing.events): the public registration page (CSRF,
honeypot, rate limit, field errors, signed link), the response each registration
brings, the campaign page's panel, attendance marked in bulk, and an import."""
import html
import re

from addons.crm_marketing import events
from tests.addons.crm_contacts.helpers import write_csv
from tests.addons.crm_marketing.marketing_helpers import app_of, customers_with_contacts, user

LIST = "/admin/event-registration/"
VISITOR = {"name": "Li Lei", "company": "Acme 上海", "email": "li@example.cn",
           "phone": "138 1234 5678", "website": ""}


def add_campaign(suite, name, kind="event or trade show", state="running"):
    return suite.sql(
        "INSERT INTO mkt_campaign (name, kind, state, budget, expected_revenue, created_at, "
        "updated_at) VALUES (:n, :k, :s, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
        "RETURNING id", n=name, k=kind, s=state)[0][0]


def registration_path(suite, campaign_id):
    """The campaign page's published link, read from its panel as a user copies it."""
    page = suite.admin_client().get(f"/admin/campaign/details/?id={campaign_id}")
    match = re.search(r'class="[^"]*crm-event-link"[^>]*value="https?://[^/"]+(/m/e/[^"]+)"',
                      page.get_data(as_text=True))
    return match.group(1) if match else None


def signed_path(suite, campaign_id):
    """A correctly signed link for any campaign (the panel shows none for a campaign
    that is not an event)."""
    with app_of(suite):
        return "/m/e/" + events.serializer().dumps(campaign_id)


def page_text(response):
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def post_registration(client, path, address="127.0.0.1", **fields):
    data = dict(VISITOR, **fields)
    data["csrf_token"] = client.csrf_token(path)
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": address})


def registrations(suite):
    return suite.sql("SELECT campaign_id, name, company, email, phone, how, attended, "
                     "customer_id, contact_id FROM mkt_event_registration ORDER BY id")


def responses(suite):
    return suite.sql("SELECT r.campaign_id, r.kind, r.name, r.email, r.customer_id "
                     "FROM mkt_response r JOIN mkt_event_registration e ON e.response_id = r.id "
                     "ORDER BY e.id")


def test_public_registration_makes_one_registration_and_one_response(marketing_suite):
    expo = add_campaign(marketing_suite, "Canton Fair 2026")
    [customer] = customers_with_contacts(marketing_suite, 1)
    path = registration_path(marketing_suite, expo)
    assert path is not None
    visitor = marketing_suite.client()
    form = visitor.get(path)
    assert form.status_code == 200 and 'name="website"' in form.get_data(as_text=True)
    assert "Canton Fair 2026" in page_text(form)
    response = post_registration(visitor, path)
    assert response.status_code == 200 and "You are registered for Canton Fair 2026" in \
        page_text(response)
    # A known contact's address links the registration to its contact and customer.
    post_registration(visitor, path, name="Person 0", company="", phone="",
                      email="person0@example.com")
    contact = marketing_suite.sql("SELECT id FROM crm_contact")[0][0]
    assert registrations(marketing_suite) == [
        (expo, "Li Lei", "Acme 上海", "li@example.cn", "138 1234 5678", "registered", False,
         None, None),
        (expo, "Person 0", None, "person0@example.com", None, "registered", False,
         customer, contact)]
    assert responses(marketing_suite) == [
        (expo, "registration", "Li Lei", "li@example.cn", None),
        (expo, "registration", "Person 0", "person0@example.com", customer)]
    # The same address again is kept once; the visitor is thanked all the same.
    again = post_registration(visitor, path, email="LI@Example.CN")
    assert again.status_code == 200 and len(registrations(marketing_suite)) == 2
    assert marketing_suite.sql("SELECT count(*) FROM mkt_response") == [(2,)]
    # A signed-in user who fills in the page does not become anyone's registrant.
    admin = marketing_suite.admin_client()
    assert post_registration(admin, path, email="wang@example.cn").status_code == 200
    assert len(registrations(marketing_suite)) == 3


def test_bad_fields_missing_token_and_robots_write_nothing(marketing_suite):
    path = registration_path(marketing_suite, add_campaign(marketing_suite, "Expo"))
    visitor = marketing_suite.client()
    for fields, message in (
            ({"email": "li at example"}, "The email address does not look right."),
            ({"email": " "}, "Please give your email address."),
            ({"name": ""}, "Please give your name."),
            ({"phone": "call me"}, "A phone number has only digits, spaces and + - ( ).")):
        response = post_registration(visitor, path, **fields)
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page_text(response), fields
        # The message sits under its own field, which is marked.
        field = next(iter(fields))
        assert re.search(rf'class="form-control is-invalid"[^>]*id="{field}"[^>]*>\s*'
                         rf'<div class="invalid-feedback d-block">{re.escape(message)}', page), \
            fields
    assert 'value="Li Lei"' in page                       # kept for a retry
    no_token = visitor.post(path, data=VISITOR)
    assert no_token.status_code == 400 and "security token" in page_text(no_token)
    robot = post_registration(visitor, path, website="http://spam.example")
    assert robot.status_code == 200 and "You are registered" in page_text(robot)
    assert registrations(marketing_suite) == []
    assert marketing_suite.sql("SELECT count(*) FROM mkt_response") == [(0,)]


def test_rate_limit_per_address(marketing_suite, monkeypatch):
    monkeypatch.setattr(events, "PER_HOUR", 2)
    path = registration_path(marketing_suite, add_campaign(marketing_suite, "Expo"))
    visitor = marketing_suite.client()
    for number in range(2):
        assert post_registration(visitor, path, email=f"v{number}@example.cn").status_code == 200
    refused = post_registration(visitor, path, email="v2@example.cn")
    assert refused.status_code == 429 and "Too many registrations" in page_text(refused)
    assert len(registrations(marketing_suite)) == 2
    other = marketing_suite.client()
    assert post_registration(other, path, address="10.0.0.9",
                             email="v3@example.cn").status_code == 200
    assert len(registrations(marketing_suite)) == 3


def test_only_open_event_campaigns_take_registrations(marketing_suite):
    expo = add_campaign(marketing_suite, "Expo")
    promotion = add_campaign(marketing_suite, "Spring sale", kind="promotion")
    done = add_campaign(marketing_suite, "Last year's show", state="done")
    cancelled = add_campaign(marketing_suite, "Cancelled show", state="cancelled")
    visitor = marketing_suite.client()
    good = signed_path(marketing_suite, expo)
    assert visitor.get(good).status_code == 200
    with app_of(marketing_suite):
        other_salt = "/m/e/" + events.URLSafeSerializer(
            marketing_suite.app().config["SECRET_KEY"], salt="other").dumps(expo)
    for path in (signed_path(marketing_suite, promotion), signed_path(marketing_suite, done),
                 signed_path(marketing_suite, cancelled), signed_path(marketing_suite, 9999),
                 signed_path(marketing_suite, "1"), good[:-2] + "xx", other_salt,
                 "/m/e/" + "a" * 300):
        refused = visitor.get(path)
        assert refused.status_code == 404, path
        assert "no longer takes registrations" in page_text(refused)
    forged = visitor.post(signed_path(marketing_suite, promotion),
                          data=dict(VISITOR, csrf_token=visitor.csrf_token(good)))
    assert forged.status_code == 404
    assert registrations(marketing_suite) == []
    # The panel: only on event campaigns; a closed one shows no link.
    admin = marketing_suite.admin_client()
    assert "crm-event-counts" not in admin.get(
        f"/admin/campaign/details/?id={promotion}").get_data(as_text=True)
    closed = admin.get(f"/admin/campaign/details/?id={done}").get_data(as_text=True)
    assert "crm-event-counts" in closed and "crm-event-closed" in closed
    assert registration_path(marketing_suite, done) is None


def test_panel_counts_and_bulk_attendance_needs_the_write_right(marketing_suite):
    expo = add_campaign(marketing_suite, "Expo")
    other = add_campaign(marketing_suite, "Other expo")
    path = registration_path(marketing_suite, expo)
    visitor = marketing_suite.client()
    for number in range(3):
        post_registration(visitor, path, email=f"v{number}@example.cn", name=f"V{number}")
    post_registration(visitor, registration_path(marketing_suite, other), email="o@example.cn",
                      name="Elsewhere")
    mia, _mia_id = user(marketing_suite, "mia", "marketing_user")
    # The panel's link lists the event's registrations only.
    details = mia.get(f"/admin/campaign/details/?id={expo}").get_data(as_text=True)
    assert re.search(r'data-count="registered">3<', details)
    assert re.search(r'data-count="attended">0<', details)
    listed = mia.get(f"{LIST}?flt0_event_is={expo}")
    assert listed.status_code == 200
    assert "V1" in page_text(listed) and "Elsewhere" not in page_text(listed)
    ids = [row[0] for row in marketing_suite.sql(
        "SELECT id FROM mkt_event_registration WHERE campaign_id = :c ORDER BY id", c=expo)]
    response = mia.post_form(f"{LIST}action/", {"action": "mark_attended",
                                                "rowid": [str(i) for i in ids[:2]]},
                             token_from=LIST)
    assert response.status_code == 302
    assert marketing_suite.sql("SELECT attended FROM mkt_event_registration ORDER BY id") == [
        (True,), (True,), (False,), (False,)]
    details = mia.get(f"/admin/campaign/details/?id={expo}").get_data(as_text=True)
    assert re.search(r'data-count="attended">2<', details)
    mia.post_form(f"{LIST}action/", {"action": "mark_absent", "rowid": [str(ids[0])]},
                  token_from=LIST)
    assert marketing_suite.sql("SELECT attended FROM mkt_event_registration ORDER BY id")[0] \
        == (False,)
    # A user who may only read registrations may not mark them.
    reader, _reader_id = user(marketing_suite, "rita", "marketing_manager")
    marketing_suite.sql("UPDATE core_access SET letters = 'r' WHERE model = 'EventRegistration' "
                        "AND group_id = (SELECT id FROM core_group WHERE code = 'marketing_manager')")
    refused = reader.post_form(f"{LIST}action/", {"action": "mark_attended",
                                                  "rowid": [str(i) for i in ids]},
                               token_from=LIST)
    assert refused.status_code == 403
    assert marketing_suite.sql("SELECT count(*) FROM mkt_event_registration "
                               "WHERE attended = true") == [(1,)]


def test_import_registrations_matches_customers_and_makes_responses(marketing_suite, tmp_path):
    expo = add_campaign(marketing_suite, "Expo 2026")
    add_campaign(marketing_suite, "Spring sale", kind="promotion")
    customers_with_contacts(marketing_suite, 2)
    customer = marketing_suite.sql("SELECT id FROM crm_customer WHERE name = 'Customer 1'")[0][0]
    admin = marketing_suite.admin_client()
    url = f"{LIST}import/"

    def check_and_commit(path, step="commit"):
        token = admin.csrf_token(url)
        with open(path, "rb") as handle:
            page = admin.post(url, data={"csrf_token": token, "file": (handle, path.name)})
        upload = re.search(r'name="token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
        assert upload, page_text(page)[:2000]
        return admin.post(url, data={"csrf_token": token, "token": upload.group(1),
                                     "step": step})

    bad = tmp_path / "bad.csv"
    write_csv(bad, ["campaign", "name", "customer", "email"], [
        ["Spring sale", "Wang", "", ""], ["Expo 2026", "Zhao", "Nobody Ltd", ""],
        ["Expo 2026", "Qian", "", "qian at example"]])
    page = page_text(check_and_commit(bad, step="check"))
    assert "event or trade show" in page and "Nobody Ltd was not found" in page
    assert "The email address does not look right." in page
    good = tmp_path / "registrations.csv"
    write_csv(good, ["Event", "Name", "Company", "Email", "customer", "how", "attended"], [
        ["Expo 2026", "Han Meimei", "Customer 1", "han@example.cn", "Customer 1",
         "met at the stand", "yes"],
        ["Expo 2026", "Zhou", "", "", "", "", ""]])
    response = check_and_commit(good)
    assert response.status_code == 302, page_text(response)[:3000]
    rows = registrations(marketing_suite)
    assert rows == [(expo, "Han Meimei", "Customer 1", "han@example.cn", None,
                     "met at the stand", True, customer, None),
                    (expo, "Zhou", None, None, None, "registered", False, None, None)]
    assert responses(marketing_suite) == [(expo, "registration", "Han Meimei", "han@example.cn",
                                           customer),
                                          (expo, "registration", "Zhou", None, None)]
    assert marketing_suite.sql("SELECT count(*) FROM mkt_event_registration "
                               "WHERE registered_at IS NULL") == [(0,)]


def test_registration_by_hand_on_the_screen(marketing_suite):
    expo = add_campaign(marketing_suite, "Expo")
    sale = add_campaign(marketing_suite, "Spring sale", kind="promotion")
    [customer] = customers_with_contacts(marketing_suite, 1)
    contact = marketing_suite.sql("SELECT id FROM crm_contact")[0][0]
    mia, _mia_id = user(marketing_suite, "mia", "marketing_user")
    offered = mia.get(f"{LIST}ajax/lookup/?name=campaign&query=").get_json()
    assert [name for _id, name in offered] == ["Expo"]       # events only
    new = f"{LIST}new/"
    # A campaign of another kind posted all the same is refused.
    refused = mia.post_form(new, {"campaign": str(sale), "name": "Wang", "how": "registered"},
                            token_from=new)
    assert refused.status_code == 200 and "event or trade show" in page_text(refused)
    bad_email = mia.post_form(new, {"campaign": str(expo), "name": "Wang", "how": "registered",
                                    "email": "wang at example"}, token_from=new)
    assert re.search(r'id="email"[^>]*>\s*<div class="invalid-feedback">\s*<ul[^>]*>\s*'
                     r'<li>The email address does not look right.</li>',
                     bad_email.get_data(as_text=True))
    saved = mia.post_form(new, {"campaign": str(expo), "name": "Person 0", "contact": str(contact),
                                "how": "met at the stand", "email": "person0@example.com"},
                          token_from=new)
    assert saved.status_code == 302, page_text(saved)[:3000]
    assert registrations(marketing_suite) == [(expo, "Person 0", None, "person0@example.com",
                                               None, "met at the stand", False, customer,
                                               contact)]
    assert responses(marketing_suite) == [(expo, "registration", "Person 0",
                                           "person0@example.com", customer)]
