"""Reading bounces and complaints (crm_marketing.bounces): RFC 3464 delivery reports, RFC
5965 feedback reports and the plain-text bounces of common servers, English and Chinese;
hard against soft; the doubt of a guess; never an exception, never half an address.
Pure: no database."""
import random

import pytest

from addons.crm_marketing.bounces import (
    COMPLAINT,
    DOUBTS,
    HARD,
    NO_ACTION,
    NO_ORIGINAL,
    NO_RECIPIENT,
    NO_STATUS,
    NOT_IN_ORIGINAL,
    SOFT,
    UNCLEAR_FEEDBACK,
    WHICH_RECIPIENT,
    classify,
    is_bounce_like,
    kind_of,
)
from core import mailgate
from tests.conftest import ROOT

SAMPLES = ROOT / "tests" / "fixtures" / "mail" / "bounces"
CORE_CORPUS = ROOT / "tests" / "fixtures" / "mail"


def sample(name):
    return (SAMPLES / name).read_bytes()


def found(raw):
    return [(b.address, b.kind, b.status, b.message_ids, b.doubt) for b in classify(raw)]


# -- the samples ---------------------------------------------------------------------------

# name: [(address, kind, status, message_ids, doubt)], words the diagnostic must hold
EXPECTED = {
    "postfix_user_unknown.eml": (
        [("old.buyer@example.net", HARD, "5.1.1", ["mkt-42.abc123@crm.example.com"], None)],
        "550 5.1.1 <old.buyer@example.net>: Recipient address rejected: User unknown"),
    "postfix_delayed.eml": (
        [("purchasing@example.org", SOFT, "4.4.1", ["mkt-43.def456@crm.example.com"], None)],
        "connect to mail.example.org[203.0.113.45]:25: Connection timed out"),
    "postfix_mailbox_full.eml": (   # a 5.x.x that is soft: the address is good
        [("full.box@example.com", SOFT, "5.2.2", ["mkt-44.0f1e2d@crm.example.com"], None)],
        "Mailbox full, quota exceeded"),
    "office365_ndr.eml": (
        [("wei.zhang@partner.example.com", HARD, "5.1.10",
          ["mkt-48.77aa88@crm.example.com"], None)],
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found"),
    "gmail_dsn.eml": (
        [("no.such.person.4711@gmail.com", HARD, "5.1.1",
          ["mkt-50.c0ffee@crm.example.com"], None)],
        # the multi-line reply's repeated "550-5.1.1" prefixes are gone
        "tried to reach does not exist. Please try double-checking the recipient's"),
    "exim_failed.eml": (
        [("m.keller@example.net", HARD, "5.1.1", ["mkt-45.9a8b7c@crm.example.com"], None)],
        "550 5.1.1 <m.keller@example.net>: no such user here"),
    "qmail_failed.eml": (
        [("j.smith@example.org", HARD, "5.1.1", ["mkt-46.5d4c3b@crm.example.com"], None)],
        "Sorry, no mailbox here by that name. (#5.1.1)"),
    "qmail_remote_mailbox_full.eml": (   # SMTP reply codes only, two recipients
        [("anna.lee@example.com", SOFT, "", ["mkt-47.1a2b3c@crm.example.com"], None),
         ("ghost@example.com", HARD, "", ["mkt-47.1a2b3c@crm.example.com"],
          NOT_IN_ORIGINAL)],
        "198.51.100.90 does not like recipient. Remote host said: 55"),
    "exchange_ndr_text.eml": (
        [("li.na@corp.example.com", HARD, "5.1.1", ["mkt-49.aa11bb@crm.example.com"], None)],
        "550 5.1.1 RESOLVER.ADR.RecipNotFound"),
    "gmail_failure_text.eml": (
        [("sales-team@example.com", HARD, "5.1.1", ["mkt-53.beef01@crm.example.com"], None)],
        "Recipient address rejected: User unknown in relay recipient table"),
    "qq_bounce.eml": (   # GB18030, base64; the code is in another paragraph than the address
        [("nonexistent-7731@qq.com", HARD, "", ["mkt-51.9e8d7c@crm.example.com"], None)],
        "550 Mailbox not found or access denied"),
    "netease_163_bounce.eml": (   # HTML only, no code at all: a guess
        [("wangwu-0815@163.com", HARD, "", [], NO_STATUS)], "收件人不存在"),
    "yahoo_arf_complaint.eml": (   # the recipient from the returned original's To:
        [("busy.reader@yahoo.com", COMPLAINT, "", ["mkt-54.abc999@crm.example.com"], None)],
        "This is an email abuse report for an email message from crm.example.com"),
    "outlook_arf_complaint.eml": (   # the recipient from Original-Rcpt-To
        [("tired.customer@outlook.com", COMPLAINT, "", ["mkt-55.fade01@crm.example.com"],
          None)],
        "received from IP 192.0.2.10"),
    "out_of_office.eml": ([], None),
}


def test_every_sample_has_its_expectation():
    assert {path.name for path in SAMPLES.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name):
    expected, words = EXPECTED[name]
    assert found(sample(name)) == expected
    for bounce in classify(sample(name)):
        assert words in bounce.diagnostic
        assert "\n" not in bounce.diagnostic and len(bounce.diagnostic) <= 500


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"out_of_office.eml"}))
def test_samples_look_like_bounces(name):
    assert is_bounce_like(sample(name))


def test_out_of_office_is_no_bounce():
    # It says "mailbox", "not be read", names an address, has Return-Path: <> and
    # Auto-Submitted: still a person's autoreply.
    assert not is_bounce_like(sample("out_of_office.eml"))
    assert classify(sample("out_of_office.eml")) == []


@pytest.mark.parametrize("name", ["plain_utf8.eml", "gmail_reply.eml", "outlook_reply.eml",
                                  "alternative_html.eml", "bulk_newsletter.eml",
                                  "read_receipt.eml", "out_of_office.eml", "gbk_base64.eml",
                                  "missing_end.eml"])
def test_the_core_corpus_of_ordinary_mail_gives_nothing(name):
    raw = (CORE_CORPUS / name).read_bytes()
    assert not is_bounce_like(raw)
    assert classify(raw) == []


# -- agreement with the core gateway -------------------------------------------------------

@pytest.mark.parametrize("name", ["postfix_user_unknown.eml", "office365_ndr.eml"])
def test_core_parse_agrees_on_an_rfc3464_report(name):
    incoming = mailgate.parse(sample(name))   # no application context needed
    found_here = classify(sample(name))
    assert incoming.report_type == "delivery-status"
    assert incoming.original_ids == found_here[0].message_ids
    assert incoming.failed_recipients == [b.address for b in found_here if b.kind == HARD]


def test_core_corpus_report_a_failed_and_a_delayed_recipient():
    raw = (CORE_CORPUS / "dsn_bounce.eml").read_bytes()
    incoming = mailgate.parse(raw)
    assert found(raw) == [
        ("nobody@example.org", HARD, "5.1.1", incoming.original_ids, None),
        ("slow@example.org", SOFT, "4.4.1", incoming.original_ids, None)]
    assert incoming.failed_recipients == ["nobody@example.org"]


# -- never an exception, never half an address ---------------------------------------------

@pytest.mark.parametrize("raw, bounce_like", [
    (b"", False), (b"   \r\n\r\n", False), (b"\x00\xff\xfe\x80garbage\x00", False),
    (b"no headers at all, just words", False), (None, False), ("not bytes", False),
    (b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n--nothing", True),
])
def test_garbage_gives_nothing(raw, bounce_like):
    assert classify(raw) == []
    assert is_bounce_like(raw) is bounce_like


def test_random_bytes_give_nothing():
    generator = random.Random(3464)
    for _ in range(300):
        raw = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 600)))
        assert classify(raw) == []


def test_a_truncated_report_gives_all_or_nothing():
    """Cut anywhere, a report gives nothing (its end is missing) or, cut after its
    closing boundary, everything: never a recipient cut in the middle of its address."""
    raw = sample("postfix_user_unknown.eml")
    whole = found(raw)
    end = raw.rindex(b"--\n")
    for cut in range(0, len(raw)):
        assert found(raw[:cut]) == (whole if cut >= end + 2 else []), cut


def test_a_returned_original_cut_short_is_still_read():
    # MTAs limit the size of the original they return: its own multipart is often cut.
    raw = sample("postfix_mailbox_full.eml").replace(
        b"Content-Type: text/plain; charset=utf-8\n\nDear customer",
        b'Content-Type: multipart/alternative; boundary="inner"\n\n--inner\n'
        b"Content-Type: text/plain\n\nDear customer")
    assert found(raw) == found(sample("postfix_mailbox_full.eml"))


# -- hard or soft --------------------------------------------------------------------------

@pytest.mark.parametrize("status, reply, kind", [
    ("5.1.1", "550", HARD), ("5.1.10", "550", HARD), ("5.2.1", "", HARD),
    ("5.4.4", "", HARD), ("5.0.0", "", HARD),
    ("5.2.2", "552", SOFT), ("5.7.1", "550", SOFT), ("5.7.26", "550", SOFT),
    ("4.4.1", "", SOFT), ("4.2.2", "452", SOFT), ("4.7.0", "550", SOFT),
    ("", "550", HARD), ("", "554", HARD), ("", "552", SOFT), ("", "421", SOFT),
    ("", "", None), ("2.0.0", "", None),
])
def test_kind_of(status, reply, kind):
    assert kind_of(status, reply) == kind


# -- RFC 3464 details ----------------------------------------------------------------------

def report(recipient_fields, original="To: old.buyer@example.net\n"
                                      "Message-ID: <mkt-42.abc123@crm.example.com>\n",
           per_message="Reporting-MTA: dns; mx1.crm.example.com\n"):
    """A delivery report with the given fields for its recipient (and original headers)."""
    parts = ("--b\nContent-Type: text/plain\n\nThe mail system\n\n"
             f"--b\nContent-Type: message/delivery-status\n\n{per_message}\n"
             f"{recipient_fields}\n")
    if original:
        parts += f"--b\nContent-Type: text/rfc822-headers\n\n{original}\n"
    return ("From: MAILER-DAEMON@mx1.crm.example.com\nSubject: Undelivered Mail Returned "
            "to Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; "
            f'report-type=delivery-status; boundary="b"\n\n{parts}--b--\n').encode()


FAILED = "Final-Recipient: rfc822; old.buyer@example.net\nAction: failed\n"
IDS = ["mkt-42.abc123@crm.example.com"]


def test_a_class_only_status_takes_the_precise_code_of_the_servers_words():
    raw = report(FAILED + "Status: 5.0.0\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\n")
    assert found(raw) == [("old.buyer@example.net", SOFT, "5.2.2", IDS, None)]


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_a_delivered_recipient_is_no_bounce(action):
    raw = report(f"Final-Recipient: rfc822; old.buyer@example.net\nAction: {action}\n"
                 "Status: 2.0.0\n")
    assert classify(raw) == []


def test_no_action_is_judged_by_the_status_with_a_doubt():
    raw = report("Final-Recipient: rfc822; old.buyer@example.net\nStatus: 5.1.1\n")
    assert found(raw) == [("old.buyer@example.net", HARD, "5.1.1", IDS, NO_ACTION)]


@pytest.mark.parametrize("diagnostic, kind", [
    ("Diagnostic-Code: x-unix; the recipient's mailbox is full\n", SOFT),
    ("Diagnostic-Code: x-local; no such user\n", HARD),
    ("", HARD),   # failed, and nothing else said: failed
])
def test_failed_without_a_code_is_guessed_with_a_doubt(diagnostic, kind):
    assert found(report(FAILED + diagnostic)) == [
        ("old.buyer@example.net", kind, "", IDS, NO_STATUS)]


def test_original_message_id_field_names_the_original():
    raw = report(FAILED + "Status: 5.1.1\nOriginal-Message-ID: <mkt-7.x1@crm.example.com>\n",
                 original=None)
    assert found(raw) == [("old.buyer@example.net", HARD, "5.1.1",
                           ["mkt-7.x1@crm.example.com"], None)]


def test_no_original_at_all_is_a_doubt():
    raw = report(FAILED + "Status: 5.1.1\n", original=None)
    assert found(raw) == [("old.buyer@example.net", HARD, "5.1.1", [], NO_ORIGINAL)]


def test_the_original_recipient_is_the_address_we_sent_to():
    # Forwarded: the final mailbox failed, our contact is the original address.
    raw = report("Original-Recipient: rfc822;sales@example.net\n"
                 "Final-Recipient: rfc822; bob.internal@mail.example.net\n"
                 "Action: failed\nStatus: 5.1.1\n",
                 original="To: sales@example.net\nMessage-ID: <mkt-42.abc123@crm.example.com>\n")
    assert found(raw) == [("sales@example.net", HARD, "5.1.1", IDS, None)]


def test_a_recipient_the_original_was_not_sent_to_is_a_doubt():
    raw = report(FAILED.replace("old.buyer", "someone.else") + "Status: 5.1.1\n")
    assert found(raw) == [("someone.else@example.net", HARD, "5.1.1", IDS, NOT_IN_ORIGINAL)]


def test_the_diagnostic_is_one_line_of_at_most_500_characters():
    raw = report(FAILED + "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 "
                 + "\n    ".join(["unknown"] * 200) + "\n")
    (bounce,) = classify(raw)
    assert bounce.diagnostic.startswith("550 5.1.1 unknown unknown")
    assert len(bounce.diagnostic) == 500 and "\n" not in bounce.diagnostic


def test_a_report_without_recipients_falls_back_to_its_text():
    raw = report("", original=None).replace(
        b"The mail system", b"<old.buyer@example.net>: host mx said: 550 5.1.1 User unknown")
    assert found(raw) == [("old.buyer@example.net", HARD, "5.1.1", [], NO_ORIGINAL)]


# -- RFC 5965 details ----------------------------------------------------------------------

def feedback(fields, original="To: busy.reader@yahoo.com\n"
                              "Message-ID: <mkt-54.abc999@crm.example.com>\n"):
    return ("From: feedback@arf.mail.yahoo.com\nSubject: FW: offers\nMIME-Version: 1.0\n"
            'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\n\nThis is an abuse report\n\n"
            f"--b\nContent-Type: message/feedback-report\n\nVersion: 1\n{fields}\n"
            f"--b\nContent-Type: message/rfc822\n\n{original}\nbody\n\n--b--\n").encode()


@pytest.mark.parametrize("feedback_type", ["not-spam", "auth-failure"])
def test_feedback_that_is_no_complaint(feedback_type):
    assert classify(feedback(f"Feedback-Type: {feedback_type}\n")) == []


@pytest.mark.parametrize("feedback_type, doubt", [
    ("abuse", None), ("fraud", None), ("virus", None), ("other", UNCLEAR_FEEDBACK),
    ("", UNCLEAR_FEEDBACK)])
def test_feedback_types(feedback_type, doubt):
    assert found(feedback(f"Feedback-Type: {feedback_type}\n")) == [
        ("busy.reader@yahoo.com", COMPLAINT, "", ["mkt-54.abc999@crm.example.com"], doubt)]


def test_a_complaint_about_an_email_to_two_addresses_says_it_is_unsure():
    raw = feedback("Feedback-Type: abuse\n", original="To: a@example.com, B@example.com\n"
                                                     "Message-ID: <mkt-9.z@crm.example.com>\n")
    assert found(raw) == [
        ("a@example.com", COMPLAINT, "", ["mkt-9.z@crm.example.com"], WHICH_RECIPIENT),
        ("b@example.com", COMPLAINT, "", ["mkt-9.z@crm.example.com"], WHICH_RECIPIENT)]


def test_a_redacted_complaint_still_names_our_message():
    raw = feedback("Feedback-Type: abuse\n", original="To: redacted\n"
                                                     "Message-ID: <mkt-9.z@crm.example.com>\n")
    assert found(raw) == [("", COMPLAINT, "", ["mkt-9.z@crm.example.com"], NO_RECIPIENT)]
    assert classify(feedback("Feedback-Type: abuse\n", original="To: redacted\n")) == []


# -- plain-text details and is_bounce_like -------------------------------------------------

def plain(subject, body, sender="someone@example.net"):
    return (f"From: {sender}\nTo: news@crm.example.com\nSubject: {subject}\n"
            f"Content-Type: text/plain; charset=utf-8\n\n{body}\n").encode()


def test_a_bounce_that_says_nothing_we_understand_is_a_doubtful_soft_one():
    raw = plain("Undeliverable: offers", "Your message to x.y@example.com was not sent.")
    assert found(raw) == [("x.y@example.com", SOFT, "", [], NO_STATUS)]


EXIM_DELAY = """This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on relay.example.net.

The address to which the message has not yet been delivered is:

  slow@example.net
    host mx.example.net [198.51.100.9]
    Delay reason: SMTP error from remote mail server after RCPT TO:<slow@example.net>:
    451 4.7.1 Greylisted, please try again later

No action is required on your part. Eventually the mail delivery software will
give up, and when that happens, the message will be returned to you."""


def test_an_exim_delay_warning_is_soft():
    raw = plain("Warning: message 1vT9xQ-0004Ab-2K delayed 24 hours", EXIM_DELAY,
                sender="Mail Delivery System <Mailer-Daemon@relay.example.net>")
    assert found(raw) == [("slow@example.net", SOFT, "4.7.1", [], NO_ORIGINAL)]
    assert classify(raw)[0].diagnostic.endswith("451 4.7.1 Greylisted, please try again later")


def test_a_chinese_mailbox_full_without_a_code_is_a_soft_guess():
    raw = plain("=?UTF-8?B?6YCA5L+h6YCa55+l?=",    # 退信通知
                "您发送给 zhao.liu@sina.com 的邮件被退回。\n退信原因：收件人邮箱已满，无法接收新邮件。",
                sender="MAILER-DAEMON@sina.com")
    assert found(raw) == [("zhao.liu@sina.com", SOFT, "", [], NO_STATUS)]


def test_a_person_quoting_bounce_words_is_no_bounce():
    raw = plain("Re: our address list", "550 5.1.1 user unknown for old@example.com?")
    assert not is_bounce_like(raw)
    assert classify(raw) == []


@pytest.mark.parametrize("subject, sender, expected", [
    ("Undelivered Mail Returned to Sender", "someone@example.net", True),
    ("Undeliverable: December offers", "someone@example.net", True),
    ("Delivery Status Notification (Failure)", "someone@example.net", True),
    ("Mail delivery failed: returning message to sender", "someone@example.net", True),
    ("Warning: message 1vT9xQ-0004Ab-2K delayed 24 hours", "someone@example.net", True),
    ("failure notice", "someone@example.net", True),
    ("=?UTF-8?B?57O757uf6YCA5L+h?=", "someone@example.net", True),          # 系统退信
    ("=?UTF-8?B?6YCA5L+h77ya5bGV5Lya6YKA6K+35Ye9?=", "someone@example.net", True),  # 退信：…
    ("Hello", "MAILER-DAEMON@mx.example.net", True),
    ("Hello", "Mail Delivery System <postmaster@example.net>", True),
    ("Re: Mail delivery failed", "someone@example.net", False),
    ("Delivery failed for order SO-2026-0012", "someone@example.net", False),
    ("Automatic reply: December offers", "someone@example.net", False),
    ("关于退信的问题", "someone@example.net", False),
])
def test_is_bounce_like(subject, sender, expected):
    assert is_bounce_like(plain(subject, "Hello.", sender)) is expected


def test_is_bounce_like_knows_a_bounce_by_its_first_words():
    raw = plain("Your message", "Hi. This is the qmail-send program at mail.example.org.")
    assert is_bounce_like(raw)


def test_doubts_are_distinct_and_fit_their_column():
    assert len(set(DOUBTS)) == len(DOUBTS)
    assert all(doubt and len(doubt) <= 200 for doubt in DOUBTS)   # BounceReport.doubt
    assert {b.doubt for name in EXPECTED for b in classify(sample(name))} - {None} \
        <= set(DOUBTS)
