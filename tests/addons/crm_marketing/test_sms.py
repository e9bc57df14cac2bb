"""SMS to a segment: one message per mobile number (+86 138 0000 0001 and 13800000001
are one), suppressed numbers left out, through the core's gateway (here its log), the
unsubscribe link in every message, and the length in characters and parts shown
before sending (70 a part in Chinese)."""
import pytest

from addons.crm_marketing.mailtext import sms_size
from tests.addons.crm_marketing.marketing_helpers import user
from tests.addons.crm_marketing.mass_mail_helpers import make_mailing, queue, send_here


@pytest.mark.parametrize("text, size", [
    ("Hello", (5, 1)), ("a" * 160, (160, 1)), ("a" * 161, (161, 2)), ("a" * 306, (306, 2)),
    ("a" * 307, (307, 3)), ("€" * 80, (160, 1)), ("你好", (2, 1)), ("好" * 70, (70, 1)),
    ("好" * 71, (71, 2)), ("好" * 134, (134, 2)), ("好" * 135, (135, 3)),
    ("Price 9折 " + "a" * 60, (69, 1)), ("😀" * 35, (70, 1)),
])
def test_the_length_and_parts_of_an_sms(text, size):
    assert sms_size(text) == size


def mobiles(suite):
    for number, mobile in enumerate(["+86 138-0000-0001", "13800000001", "13800000002",
                                     "13800000003", None]):
        customer = suite.sql(
            "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
            "email_key, is_supplier, created_at, updated_at) VALUES ('company', :n, :n, 'A', "
            "false, 'active', '', '', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
            n=f"客户 {number}")[0][0]
        suite.sql("INSERT INTO crm_contact (customer_id, name, mobile, is_primary, created_at, "
                  "updated_at) VALUES (:c, :n, :m, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                  c=customer, n=f"联系人{number}", m=mobile)


def test_an_sms_mailing_reaches_each_number_once_and_honours_the_suppression_list(
        marketing_suite):
    mobiles(marketing_suite)
    marketing_suite.sql("INSERT INTO mkt_suppression (address, reason, added_at) VALUES "
                        "('13800000003', 'added by hand', CURRENT_TIMESTAMP)")
    mailing = make_mailing(marketing_suite, channel="SMS",
                           body="{{ name }}您好，春季新品九折。")
    assert queue(marketing_suite, mailing) == (2, 1)
    result = send_here(marketing_suite)
    assert "sent 2" in result, result
    log = (marketing_suite.config_path.parent / "instance" / "sms.log").read_text("utf-8")
    lines = log.splitlines()
    assert len(lines) == 2
    assert {line.split("\t")[2] for line in lines} == {"+86 138-0000-0001", "13800000002"}
    assert "联系人0您好，春季新品九折。" in log and "/m/u/" in log
    assert dict(marketing_suite.sql("SELECT state, count(*) FROM mkt_recipient "
                                    "GROUP BY state")) == {"sent": 2}


def test_the_send_page_shows_the_length_and_parts(marketing_suite):
    mobiles(marketing_suite)
    client, mia = user(marketing_suite, "mia", "marketing_user")
    mailing = make_mailing(marketing_suite, channel="SMS", body="尊敬的客户" * 20)
    marketing_suite.sql("UPDATE mkt_mailing SET owner_id = :u", u=mia)
    page = client.get(f"/admin/mailing/send/?id={mailing}").get_data(as_text=True)
    assert "crm-sms-size" in page
    assert "parts" in page and 'data-count="addresses">' in page


def test_an_sms_body_with_an_unknown_field_is_refused(marketing_suite):
    client, _ = user(marketing_suite, "mia", "marketing_user")
    answer = client.post_form("/admin/mailing/new/", {
        "name": "SMS", "channel": "SMS", "audience": "contacts", "subject": "",
        "body": "Hi {{ mobile }}"}, token_from="/admin/mailing/new/")
    assert "Unknown field mobile on line 1" in answer.get_data(as_text=True)
    assert marketing_suite.sql("SELECT count(*) FROM mkt_mailing")[0][0] == 0
