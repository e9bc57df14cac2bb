"""How customers are compared for duplicates: names, phone numbers and email addresses
reduced to a key, so that "ACME Co., Ltd.", "Acme" and "ＡＣＭＥ有限公司" meet."""
import re
import unicodedata

# Legal-form words at the end of a company name: they say nothing about who it is.
CHINESE_SUFFIXES = ("股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "股份公司",
                    "集团公司", "公司")   # longest first
WESTERN_SUFFIXES = {"co", "ltd", "limited", "inc", "incorporated", "corp", "corporation",
                    "company", "llc", "gmbh", "plc", "ag", "sa", "bv", "pte", "pty", "kk"}
# Country calling codes recognised after + or 00 (the longest match wins).
COUNTRY_CODES = {"1", "7", "31", "33", "34", "39", "41", "44", "49", "60", "61", "62", "63",
                 "64", "65", "66", "81", "82", "84", "86", "91", "852", "853", "886", "971"}
WORD = re.compile(r"\w+")


def name(text):
    """The comparable form of a customer name: compatibility forms folded (full-width
    letters, digits and spaces), case folded, punctuation and spaces dropped, legal-form
    suffixes removed. A name that is nothing but a suffix keeps it."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    words = [w.replace("_", "") for w in WORD.findall(folded)]
    words = [w for w in words if w]
    while len(words) > 1 and words[-1] in WESTERN_SUFFIXES:
        words.pop()
    key = "".join(words)
    while key not in CHINESE_SUFFIXES:
        suffix = next((s for s in CHINESE_SUFFIXES if key.endswith(s)), None)
        if suffix is None:
            break
        key = key[: -len(suffix)]
    return key[:200]


def phone(text):
    """The national number, digits only: the international prefix (+ or 00), a
    recognised country code and the trunk 0 are left out."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+") or digits.startswith("00")
    digits = digits.lstrip("0") if digits.startswith("00") else digits
    if not international and len(digits) == 13 and digits.startswith("86"):
        international = True   # 8613812345678: a Chinese mobile written with its code
    if international:
        for length in (3, 2, 1):
            if digits[:length] in COUNTRY_CODES:
                digits = digits[length:]
                break
    return digits.lstrip("0")[:40]


def email(text):
    return unicodedata.normalize("NFKC", text or "").strip().casefold()[:254]
