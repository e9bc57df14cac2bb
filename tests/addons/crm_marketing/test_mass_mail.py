"""Mass e-mail end to end: a segment queued at send time, 2,000 recipients through a
loopback SMTP server each exactly once, suppressed addresses left out, the headers of
RFC 8058, a server that drops the connection mid-batch, and throttling."""
import re
from datetime import timedelta

import pytest

from tests.addons.crm_marketing.mass_mail_helpers import (SENDER, add_people, mail_suite,
                                                          make_mailing, queue, send_here,
                                                          start_sink, states)


@pytest.fixture
def sink():
    found, controller = start_sink()
    yield found
    controller.stop()


@pytest.fixture
def office(tmp_path, database_url, sink):
    suite = mail_suite(tmp_path, database_url, sink.port)
    yield suite
    suite.close()


def test_two_thousand_recipients_each_once_with_one_click_unsubscribe(office, sink):
    add_people(office, 2000)
    add_people(office, 5, grade="C", start=5000)        # not in the segment
    for n in range(10):
        office.sql("INSERT INTO mkt_suppression (address, reason, added_at) VALUES "
                   "(:e, 'unsubscribed', CURRENT_TIMESTAMP)", e=f"p{n}@example.com")
    office.sql("UPDATE crm_contact SET email = 'P11@Example.com ' WHERE email = 'p11@example.com'")
    mailing = make_mailing(office)
    assert queue(office, mailing) == (1990, 10)
    result = send_here(office)
    assert "sent 1990" in result, result
    received = sink.per_address()
    assert len(received) == 1990 and set(received.values()) == {1}
    assert "p0@example.com" not in received and "p5000@example.com" not in received
    assert "P11@Example.com" in received          # as written, once
    assert states(office, mailing) == {"sent": 1990}
    assert office.sql("SELECT state FROM mkt_mailing WHERE id = :m", m=mailing)[0][0] == "sent"

    message = next(m for m in sink.parsed() if str(m["To"]).endswith("<p42@example.com>"))
    assert message["Subject"] == "Hello Person 42"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert re.fullmatch(r"<mkt-\d+\.[0-9a-f]{20}@crm\.example\.com>", message["Message-ID"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [part.strip(" <>") for part in message["List-Unsubscribe"].split(",")]
    assert https.startswith("https://crm.example.com/m/u/")
    assert mailto.startswith(f"mailto:{SENDER}?subject=unsubscribe%20")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Dear Person," in text and "our offer (https://shop.example.com/spring?a=1&b=2)" in text
    assert "https://shop.example.com" not in re.sub(r"u=[^\"]+", "", html)   # links go via us
    assert "/m/o/" in html and https in html


def test_unsubscribe_one_click_post_and_confirm_page(office, sink):
    add_people(office, 3)
    mailing = make_mailing(office)
    queue(office, mailing)
    send_here(office)
    message = next(m for m in sink.parsed() if "p1@example.com" in str(m["To"]))
    link = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    path = link.replace("https://crm.example.com", "")
    visitor = office.client()

    page = visitor.get(path)                   # a link scanner, or the person looking
    assert page.status_code == 200 and "crm-unsubscribe-form" in page.get_data(as_text=True)
    assert office.sql("SELECT count(*) FROM mkt_suppression")[0][0] == 0

    # RFC 8058: the mail program POSTs "List-Unsubscribe=One-Click", no cookie, no token.
    answer = office.client().post(path, data="List-Unsubscribe=One-Click",
                                  content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and "crm-unsubscribed" in answer.get_data(as_text=True)
    again = office.client().post(path, data="List-Unsubscribe=One-Click",
                                 content_type="application/x-www-form-urlencoded")
    assert again.status_code == 200
    assert office.sql("SELECT address, reason FROM mkt_suppression") == [
        ("p1@example.com", "unsubscribed")]
    assert office.sql("SELECT state FROM mkt_recipient WHERE email = 'p1@example.com'") == [
        ("unsubscribed",)]

    forged = re.sub(r"\.([0-9a-f])", lambda m: "." + ("0" if m.group(1) != "0" else "1"),
                    path, count=1)
    assert office.client().post(forged).status_code == 404
    other = re.sub(r"/m/u/(\d+)\.", lambda m: f"/m/u/{int(m.group(1)) + 1}.", path)
    assert office.client().post(other).status_code == 404

    # The next mailing leaves the address out.
    second = make_mailing(office, name="Summer news")
    assert queue(office, second) == (2, 1)


def test_open_and_click_links_are_signed_and_redirect_only_where_the_message_pointed(office, sink):
    add_people(office, 1)
    mailing = make_mailing(office)
    queue(office, mailing)
    send_here(office)
    html = sink.parsed()[0].get_body(("html",)).get_content()
    click = re.search(r'href="https://crm\.example\.com(/m/c/[^"]+)"', html).group(1)
    click = click.replace("&amp;", "&")
    pixel = re.search(r'src="https://crm\.example\.com(/m/o/[^"]+)"', html).group(1)
    visitor = office.client()
    assert visitor.get(pixel).headers["Content-Type"] == "image/gif"
    answer = visitor.get(click)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://shop.example.com/spring?a=1&b=2"
    elsewhere = re.sub(r"u=[^&]+", "u=https%3A%2F%2Fevil.example.net%2F", click)
    assert visitor.get(elsewhere).status_code == 404
    opened, clicked = office.sql("SELECT opened_at, clicked_at FROM mkt_recipient")[0]
    assert opened is not None and clicked is not None


def test_a_server_dropping_the_connection_mid_batch_loses_and_repeats_nobody(office, sink):
    add_people(office, 40)
    mailing = make_mailing(office)
    queue(office, mailing)
    sink.drop_after = 15
    result = send_here(office)
    assert "stopped" in result
    assert sink.count() == 15
    assert states(office, mailing) == {"sent": 15, "queued": 25}
    problem = office.sql("SELECT problem FROM mkt_mailing WHERE id = :m", m=mailing)[0][0]
    assert problem
    sink.drop_after = None
    send_here(office)
    received = sink.per_address()
    assert len(received) == 40 and set(received.values()) == {1}
    assert states(office, mailing) == {"sent": 40}


def test_the_cap_per_second_is_kept(office, sink):
    add_people(office, 12)
    office.sql("UPDATE core_option SET value = '5' WHERE addon = 'crm_marketing' "
               "AND key = 'per_second'")
    mailing = make_mailing(office)
    queue(office, mailing)
    send_here(office)
    assert sink.count() == 12
    # 5 a second, in windows of the clock's seconds: 12 messages take three windows, so
    # the last comes at least one whole second after the first (however slow the
    # machine), and no second holds more than one window's 5 plus the next one's. The
    # times are those the sink received them at: a message that took longer on its way
    # (a loaded machine) may fall in the same second as the next window and the first
    # of the one after: one more than the windows allow.
    times = sink.times
    assert times[-1] - times[0] >= 1.0
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 11


def test_a_lapsed_sender_is_replaced_without_second_copies(office, sink):
    """A sender that died with rows claimed and one under way: after the lease, the
    claimed rows go out once; only the one under way may go twice."""
    from core.models import utcnow
    add_people(office, 6)
    mailing = make_mailing(office)
    queue(office, mailing)
    ids = [row[0] for row in office.sql("SELECT id FROM mkt_recipient ORDER BY id")]
    office.sql("UPDATE mkt_recipient SET state = 'claimed', claimed_by = 'dead', "
               "lease_until = :t WHERE id IN (:a, :b, :c)", t=utcnow() + timedelta(minutes=5),
               a=ids[0], b=ids[1], c=ids[2])
    office.sql("UPDATE mkt_recipient SET state = 'sending', claimed_by = 'dead', "
               "lease_until = :t WHERE id = :a", t=utcnow() + timedelta(minutes=5), a=ids[3])
    send_here(office)
    assert sink.count() == 2                   # the dead sender's rows wait for its lease
    send_here(office, now=utcnow() + timedelta(minutes=6))
    assert sink.count() == 6 and set(sink.per_address().values()) == {1}
    error = office.sql("SELECT error FROM mkt_recipient WHERE id = :i", i=ids[3])[0][0]
    assert "may arrive twice" in error


def test_a_mailing_of_a_campaign_with_a_survey_links_each_person_to_it(office, sink):
    add_people(office, 2)
    campaign = office.sql("INSERT INTO mkt_campaign (name, kind, state, budget, "
                          "expected_revenue, created_at, updated_at) VALUES ('Survey 2027', "
                          "'survey', 'running', 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
                          "RETURNING id")[0][0]
    office.sql("INSERT INTO mkt_survey (name, campaign_id, is_open, created_at, updated_at) "
               "VALUES ('How are we doing?', :c, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
               c=campaign)
    mailing = make_mailing(office, body='<p><a href="{{ survey_url }}">Answer</a></p>')
    office.sql("UPDATE mkt_mailing SET campaign_id = :c", c=campaign)
    queue(office, mailing)
    send_here(office)
    text = next(m for m in sink.parsed() if "p1@example.com" in str(m["To"])) \
        .get_body(("plain",)).get_content()
    survey = re.search(r"Answer \((https://crm\.example\.com(/m/s/[^)\s]+))\)", text).group(2)
    page = office.client().get(survey)
    assert page.status_code == 200 and "How are we doing?" in page.get_data(as_text=True)
