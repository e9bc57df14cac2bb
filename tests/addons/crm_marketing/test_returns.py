"""What comes back from a mailing, through the core's gateway (python run.py mail-in):
a clear bounce suppresses at once, a complaint too, a soft bounce does not; a report
that names none of our messages waits for review and a manager applies or dismisses it;
an unsubscribe e-mailed to the List-Unsubscribe address works like the link."""
import pytest

from tests.addons.crm_marketing.marketing_helpers import user
from tests.addons.crm_marketing.mass_mail_helpers import (SENDER, add_people, mail_suite,
                                                          make_mailing, queue, send_here,
                                                          start_sink)
from tests.conftest import ROOT

BOUNCES = ROOT / "tests" / "fixtures" / "mail" / "bounces"


@pytest.fixture
def sent(tmp_path, database_url):
    """Three people mailed: (suite, {address: Message-ID of what they got})."""
    sink, controller = start_sink()
    suite = mail_suite(tmp_path, database_url, sink.port)
    add_people(suite, 3)
    queue(suite, make_mailing(suite))
    send_here(suite)
    ids = {str(m["To"]).rpartition("<")[2].rstrip(">"): m["Message-ID"].strip("<>")
           for m in sink.parsed()}
    yield suite, ids
    controller.stop()
    suite.close()


def deliver(suite, sample, address, message_id, old_address, old_id):
    raw = (BOUNCES / sample).read_bytes().replace(old_id.encode(), message_id.encode())
    raw = raw.replace(old_address.encode(), address.encode())
    raw = raw.replace(old_address.lower().encode(), address.encode())
    result = _mail_in(suite, raw)
    assert result.exit_code == 0, result.output
    return result


def _mail_in(suite, raw):
    from click.testing import CliRunner

    from core.cli import cli
    return CliRunner().invoke(cli, ["mail-in"], input=raw, env=suite.env,
                              catch_exceptions=False)


def reports(suite):
    return suite.sql("SELECT email, kind, decision, doubt FROM mkt_bounce ORDER BY id")


def test_a_hard_bounce_suppresses_and_marks_the_recipient(sent):
    suite, ids = sent
    deliver(suite, "postfix_user_unknown.eml", "p1@example.com", ids["p1@example.com"],
            "Old.Buyer@example.net", "mkt-42.abc123@crm.example.com")
    assert reports(suite) == [("p1@example.com", "hard", "applied", None)]
    assert suite.sql("SELECT address, reason FROM mkt_suppression") == [
        ("p1@example.com", "hard bounce")]
    assert suite.sql("SELECT state FROM mkt_recipient WHERE email = 'p1@example.com'") == [
        ("bounced",)]


def test_a_complaint_suppresses_and_a_soft_bounce_does_not(sent):
    suite, ids = sent
    deliver(suite, "yahoo_arf_complaint.eml", "p2@example.com", ids["p2@example.com"],
            "Busy.Reader@yahoo.com", "mkt-54.abc999@crm.example.com")
    deliver(suite, "postfix_mailbox_full.eml", "p0@example.com", ids["p0@example.com"],
            *_sample_names("postfix_mailbox_full.eml"))
    found = {row[0]: row for row in reports(suite)}
    assert found["p2@example.com"][1:3] == ("complaint", "applied")
    assert found["p0@example.com"][1:3] == ("soft", "applied")
    assert suite.sql("SELECT address, reason FROM mkt_suppression") == [
        ("p2@example.com", "complaint")]
    assert suite.sql("SELECT state FROM mkt_recipient WHERE email = 'p0@example.com'") == [
        ("sent",)]


def _sample_names(sample):
    """(recipient address, original Message-ID) written in a sample."""
    import re
    raw = (BOUNCES / sample).read_text("latin-1")
    address = re.search(r"Final-Recipient: rfc822;\s*(\S+)", raw).group(1)
    message_id = re.search(r"Message-ID: <(mkt-[^>]+)>", raw).group(1)
    return address, message_id


def test_a_report_naming_none_of_our_messages_waits_for_a_manager(sent, tmp_path):
    suite, ids = sent
    # The address of one of ours, but an original Message-ID we never made (forged).
    deliver(suite, "postfix_user_unknown.eml", "p1@example.com",
            "mkt-1.00000000000000000000@crm.example.com", "Old.Buyer@example.net",
            "mkt-42.abc123@crm.example.com")
    assert reports(suite) == [("p1@example.com", "hard", "to review",
                               "the report names none of our messages")]
    assert suite.sql("SELECT count(*) FROM mkt_suppression")[0][0] == 0

    marketer, _ = user(suite, "mia", "marketing_user")
    page = "/admin/bounce-report/"
    report_id = suite.sql("SELECT id FROM mkt_bounce")[0][0]
    answer = marketer.post_form(page + "action/", {"action": "apply", "rowid": report_id},
                                token_from=page)
    assert answer.status_code in (302, 403)
    assert suite.sql("SELECT decision FROM mkt_bounce")[0][0] == "to review"

    manager, _ = user(suite, "max", "marketing_manager")
    listed = manager.get(page + "?flt0_decision_equals=to+review").get_data(as_text=True)
    assert "p1@example.com" in listed
    manager.post_form(page + "action/", {"action": "apply", "rowid": report_id},
                      token_from=page)
    assert suite.sql("SELECT decision FROM mkt_bounce")[0][0] == "applied"
    assert suite.sql("SELECT address, reason FROM mkt_suppression") == [
        ("p1@example.com", "hard bounce")]


def test_an_out_of_office_reply_is_no_report(sent):
    suite, _ids = sent
    _mail_in(suite, (BOUNCES / "out_of_office.eml").read_bytes())
    assert reports(suite) == []


def test_unsubscribe_by_email_to_the_list_unsubscribe_address(sent):
    suite, ids = sent
    token = suite.sql("SELECT id FROM mkt_recipient WHERE email = 'p2@example.com'")[0][0]
    from addons.crm_marketing import mailtext
    from tests.addons.crm_marketing.marketing_helpers import app_of
    with app_of(suite):
        signed = mailtext.signed(token, "unsubscribe")
    raw = (f"From: p2@example.com\r\nTo: {SENDER}\r\nSubject: unsubscribe {signed}\r\n"
           "Message-ID: <u1@example.com>\r\n\r\n\r\n").encode()
    assert _mail_in(suite, raw).exit_code == 0
    assert suite.sql("SELECT address, reason FROM mkt_suppression") == [
        ("p2@example.com", "unsubscribed")]
    forged = raw.replace(signed.encode(), signed[:-1].encode() + b"0" if not signed.endswith(
        "0") else signed[:-1].encode() + b"1").replace(b"u1@", b"u2@")
    _mail_in(suite, forged)
    assert suite.sql("SELECT count(*) FROM mkt_suppression")[0][0] == 1
