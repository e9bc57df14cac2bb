"""How customer names, phone numbers and emails are compared for duplicates."""
import pytest

from addons.crm_contacts import normalise

SAME_NAMES = [
    ("ACME Co., Ltd.", "acme"),
    ("Acme Inc", "acme"),
    ("acme, inc.", "acme"),
    ("ACME Corporation", "acme"),
    ("Acme  Trading   Limited", "acmetrading"),
    ("ＡＣＭＥ　有限公司", "acme"),                 # full-width letters and space
    ("Acme GmbH", "acme"),
    ("Acme LLC", "acme"),
    ("北京华为技术有限公司", "北京华为技术"),
    ("北京华为技术股份有限公司", "北京华为技术"),
    ("北京华为技术有限责任公司", "北京华为技术"),
    ("腾讯科技（深圳）有限公司", "腾讯科技深圳"),      # full-width brackets
    ("腾讯科技(深圳)有限公司", "腾讯科技深圳"),
    ("上海 明远 贸易 公司", "上海明远贸易"),
    ("ACME集团公司", "acme"),
    ("Müller & Söhne GmbH", "müllersöhne"),
    ("Inc", "inc"),                                 # only a suffix: kept
    ("有限公司", "有限公司"),
    ("", ""),
    (None, ""),
]


@pytest.mark.parametrize("text, key", SAME_NAMES)
def test_name_key(text, key):
    assert normalise.name(text) == key


def test_different_companies_stay_different():
    assert normalise.name("Acme Trading Ltd") != normalise.name("Acme Ltd")
    assert normalise.name("北京华为技术有限公司") != normalise.name("上海华为技术有限公司")


SAME_PHONES = [
    ("+86 138 1234 5678", "13812345678"),
    ("13812345678", "13812345678"),
    ("0086-138-1234-5678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("１３８ １２３４ ５６７８", "13812345678"),     # full-width digits
    ("+86 10 1234 5678", "1012345678"),
    ("010-12345678", "1012345678"),
    ("(010) 1234-5678", "1012345678"),
    ("+1 (415) 555-0100", "4155550100"),
    ("415.555.0100", "4155550100"),
    ("+44 20 7946 0958", "2079460958"),
    ("020 7946 0958", "2079460958"),
    ("", ""),
]


@pytest.mark.parametrize("text, key", SAME_PHONES)
def test_phone_key(text, key):
    assert normalise.phone(text) == key


def test_email_key():
    assert normalise.email("  Li.Lei@Example.COM ") == "li.lei@example.com"
    assert normalise.email("ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "li@example.com"
