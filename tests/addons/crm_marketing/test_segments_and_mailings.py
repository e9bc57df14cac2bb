"""Segments and mailings through the screens, as a marketing user works: filter the
customer list, "Save as segment", see who it reaches; write a mailing (a template with
an unknown field or a syntax error is refused with its line), preview it, send it
(the segment evaluated then), and the static lists imported from a file."""
import re
from html import unescape

import pytest

from tests.addons.crm_contacts.helpers import write_csv
from tests.addons.crm_marketing.marketing_helpers import user
from tests.addons.crm_marketing.mass_mail_helpers import add_people

CUSTOMERS = "/admin/customer/"
MAILINGS = "/admin/mailing/"


@pytest.fixture
def marketer(marketing_suite):
    client, _id = user(marketing_suite, "mia", "marketing_user")
    return client


def text(response):
    return unescape(response.get_data(as_text=True))


def save_segment(client, name, query):
    listed = client.get(CUSTOMERS + "?" + query)
    assert listed.status_code == 200
    page = text(listed)
    assert "Save as segment" in page
    action = re.search(r'formaction="([^"]+)"', page).group(1)
    return client.post_form(action, {"name": name, "query": "?" + query},
                            token_from=CUSTOMERS)


def test_a_segment_saved_from_the_customer_list_reaches_who_matches_at_send_time(
        marketing_suite, marketer):
    add_people(marketing_suite, 4, grade="A")
    add_people(marketing_suite, 3, grade="B", start=100)
    answer = save_segment(marketer, "Grade A", "flt0_grade_equals=A")
    assert answer.status_code == 302
    segment_page = text(marketer.get(answer.headers["Location"]))
    assert 'data-count="customers">4<' in segment_page
    assert "Grade" in segment_page and "A" in segment_page
    assert marketing_suite.sql("SELECT kind, rules FROM mkt_segment") == [
        ("filter", "flt0_grade_equals=A")]

    segment_id = marketing_suite.sql("SELECT id FROM mkt_segment")[0][0]
    created = marketer.post_form(MAILINGS + "new/", {
        "name": "Offer", "segment": segment_id, "audience": "contacts",
        "subject": "Hello {{ name }}", "body": "<p>Hi {{ first_name }}</p>"},
        token_from=MAILINGS + "new/")
    assert created.status_code == 302, text(created)[:3000]
    mailing_id = marketing_suite.sql("SELECT id FROM mkt_mailing")[0][0]
    add_people(marketing_suite, 2, grade="A", start=200)   # after the segment was saved
    send_page = text(marketer.get(f"{MAILINGS}send/?id={mailing_id}"))
    assert 'data-count="addresses">6<' in send_page
    sent = marketer.post_form(f"{MAILINGS}send/", {"id": mailing_id},
                              token_from=f"{MAILINGS}send/?id={mailing_id}")
    assert sent.status_code == 302
    assert marketing_suite.sql("SELECT count(*) FROM mkt_recipient")[0][0] == 6
    assert marketing_suite.sql("SELECT state FROM mkt_mailing")[0][0] == "sending"
    # Sent once: the mailing can be neither sent again nor changed.
    marketer.post_form(f"{MAILINGS}send/", {"id": mailing_id},
                       token_from=f"{MAILINGS}details/?id={mailing_id}")
    assert marketing_suite.sql("SELECT count(*) FROM mkt_recipient")[0][0] == 6


def test_a_template_with_an_unknown_field_or_bad_syntax_is_refused_with_its_line(
        marketing_suite, marketer):
    new = MAILINGS + "new/"
    answer = marketer.post_form(new, {"name": "Bad", "audience": "contacts",
                                      "subject": "Hi", "body": "<p>Hi</p>\n<p>{{ nmae }}</p>"},
                                token_from=new)
    page = text(answer)
    assert answer.status_code == 200 and "Unknown field nmae on line 2" in page
    answer = marketer.post_form(new, {"name": "Bad", "audience": "contacts",
                                      "subject": "Hi {{ name ", "body": "<p>Hi</p>"},
                                token_from=new)
    assert "Syntax error on line 1" in text(answer)
    assert marketing_suite.sql("SELECT count(*) FROM mkt_mailing")[0][0] == 0


def test_a_segment_that_reaches_nobody_is_not_sent(marketing_suite, marketer):
    add_people(marketing_suite, 2, grade="A")
    save_segment(marketer, "Grade D", "flt0_grade_equals=D")
    segment_id = marketing_suite.sql("SELECT id FROM mkt_segment")[0][0]
    marketer.post_form(MAILINGS + "new/", {
        "name": "Nobody", "segment": segment_id, "audience": "contacts",
        "subject": "Hello", "body": "<p>Hi</p>"}, token_from=MAILINGS + "new/")
    mailing_id = marketing_suite.sql("SELECT id FROM mkt_mailing")[0][0]
    page = text(marketer.get(f"{MAILINGS}send/?id={mailing_id}"))
    assert "crm-send-nobody" in page
    answer = marketer.post_form(f"{MAILINGS}send/", {"id": mailing_id},
                                token_from=f"{MAILINGS}send/?id={mailing_id}")
    assert "Nobody to send to" in text(marketer.get(answer.headers["Location"]))
    assert marketing_suite.sql("SELECT state FROM mkt_mailing")[0][0] == "draft"


def test_the_preview_shows_any_recipient_and_escapes_their_data(marketing_suite, marketer):
    add_people(marketing_suite, 2, grade="A")
    marketing_suite.sql("UPDATE crm_contact SET name = '<script>x</script> Wang' "
                        "WHERE email = 'p1@example.com'")
    save_segment(marketer, "Grade A", "flt0_grade_equals=A")
    segment_id = marketing_suite.sql("SELECT id FROM mkt_segment")[0][0]
    marketer.post_form(MAILINGS + "new/", {
        "name": "Offer", "segment": segment_id, "audience": "contacts",
        "subject": "Hello {{ name }}", "body": "<p>Dear {{ name }}</p>"},
        token_from=MAILINGS + "new/")
    mailing_id = marketing_suite.sql("SELECT id FROM mkt_mailing")[0][0]
    page = marketer.get(f"{MAILINGS}details/?id={mailing_id}&preview=p1@example.com")
    raw = page.get_data(as_text=True)
    assert "p1@example.com" in raw and "<script>x</script>" not in raw
    assert "sandbox" in raw and 'class="w-100 border rounded crm-preview-body"' in raw


def test_a_static_list_imported_from_a_file(marketing_suite, tmp_path):
    marketing_suite.sql("INSERT INTO mkt_segment (name, kind, rules, created_at, updated_at) "
                        "VALUES ('Fair visitors', 'static list', '', CURRENT_TIMESTAMP, "
                        "CURRENT_TIMESTAMP)")
    path = write_csv(tmp_path / "list.csv", ("segment", "name", "email"),
                     [("Fair visitors", "Zhang Wei", "zhang@example.cn"),
                      ("Fair visitors", "No Address", "not an address")])
    result = marketing_suite.run("import", "SegmentMember", path)
    assert result.exit_code != 0
    assert "row 3, column email: Enter an e-mail address." in result.output
    assert marketing_suite.sql("SELECT count(*) FROM mkt_segment_member")[0][0] == 0
    path = write_csv(tmp_path / "list.csv", ("segment", "name", "email"),
                     [("Fair visitors", "Zhang Wei", "Zhang@Example.cn")])
    assert marketing_suite.run("import", "SegmentMember", path).exit_code == 0
    assert marketing_suite.sql("SELECT email, email_key FROM mkt_segment_member "
                               "WHERE name = 'Zhang Wei'") == [("Zhang@Example.cn",
                                                                "zhang@example.cn")]


def test_marketing_users_without_the_right_cannot_save_segments(marketing_suite):
    contacts_only, _ = user(marketing_suite, "cathy", "contacts_user") \
        if _group_exists(marketing_suite, "contacts_user") else (None, None)
    if contacts_only is None:
        pytest.skip("no contacts group")
    page = text(contacts_only.get(CUSTOMERS))
    assert "Save as segment" not in page
    answer = contacts_only.post_form("/admin/segment/from-list/", {"name": "X", "query": ""},
                                     token_from=CUSTOMERS)
    assert answer.status_code == 403
    assert marketing_suite.sql("SELECT count(*) FROM mkt_segment")[0][0] == 0


def _group_exists(suite, code):
    return bool(suite.sql("SELECT 1 FROM core_group WHERE code = :c", c=code))


def test_the_links_of_a_mailing_and_a_segment_lead_to_their_own_rows(marketing_suite):
    from tests.addons.crm_marketing.mass_mail_helpers import make_mailing, queue
    manager, _ = user(marketing_suite, "max", "marketing_manager")
    add_people(marketing_suite, 3, grade="A")
    add_people(marketing_suite, 2, grade="B", start=100)
    first = make_mailing(marketing_suite, name="First")
    second = make_mailing(marketing_suite, rules="flt0_grade_equals=B", name="Second")
    queue(marketing_suite, first)
    queue(marketing_suite, second)
    page = text(manager.get(f"{MAILINGS}details/?id={first}"))
    link = re.search(r'href="(/admin/mailing-recipient/\?[^"]+)"', page).group(1)
    listed = text(manager.get(link))
    assert "p0@example.com" in listed and "p100@example.com" not in listed


def test_a_list_member_with_a_bad_address_or_on_a_filter_segment_is_refused(
        marketing_suite, marketer):
    marketing_suite.sql("INSERT INTO mkt_segment (name, kind, rules, created_at, updated_at) "
                        "VALUES ('Visitors', 'static list', '', CURRENT_TIMESTAMP, "
                        "CURRENT_TIMESTAMP), ('Grade A', 'filter', 'flt0_grade_equals=A', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    static, rules = [row[0] for row in marketing_suite.sql(
        "SELECT id FROM mkt_segment ORDER BY id")]
    new = "/admin/segment-member/new/"
    answer = marketer.post_form(new, {"segment": static, "name": "X", "email": "nope"},
                                token_from=new)
    assert "Enter an e-mail address." in text(answer)
    answer = marketer.post_form(new, {"segment": rules, "name": "X", "email": "x@example.com"},
                                token_from=new)
    assert "Only a static list has members; Grade A is a filter segment." in text(answer)
    assert marketing_suite.sql("SELECT count(*) FROM mkt_segment_member")[0][0] == 0
    answer = marketer.post_form(new, {"segment": static, "name": "X",
                                      "email": "X@Example.com"}, token_from=new)
    assert answer.status_code == 302
    assert marketing_suite.sql("SELECT email_key FROM mkt_segment_member") == [
        ("x@example.com",)]


def test_a_segment_on_tags_counts_a_customer_with_two_matching_tags_once(marketing_suite):
    from addons.crm_marketing import segments
    from addons.crm_marketing.models import Segment
    from tests.addons.crm_marketing.marketing_helpers import app_of
    add_people(marketing_suite, 2, grade="A")
    customer = marketing_suite.sql("SELECT id FROM crm_customer ORDER BY id")[0][0]
    for name in ("alpha", "gamma"):
        tag = marketing_suite.sql("INSERT INTO crm_tag (name) VALUES (:n) RETURNING id",
                                  n=name)[0][0]
        marketing_suite.sql("INSERT INTO crm_customer_tag (customer_id, tag_id) VALUES "
                            "(:c, :t)", c=customer, t=tag)
    with app_of(marketing_suite) as app:
        with app.test_request_context():
            view = segments.customer_list()
            name = next(key for key in view._filter_args if key.startswith("tags")
                        and key.endswith("contains"))
            segment = Segment(name="Tagged", kind="filter", rules=f"flt0_{name}=a")
            assert segments.counts(segment) == (1, 1)
            segment.rules = "flt0_grade_equals=A"
            assert segments.counts(segment) == (2, 2)
