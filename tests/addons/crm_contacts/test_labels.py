"""Address labels and envelopes: the address formats, and the PDFs the customer
screen's bulk actions print."""
import importlib
import io
import subprocess
from datetime import datetime
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from core.registry import Registry
from tests.addons.conftest import ADDONS

PASSWORD = "labels password 1"
CHINESE = {"province": "广东省", "city": "深圳市", "district": "南山区",
           "street": "科技园路1号", "postcode": "518057", "country": ""}
WESTERN = {"province": "IL", "city": "Springfield", "district": "",
           "street": "742 Evergreen Terrace", "postcode": "62704", "country": "USA"}


@pytest.fixture(scope="module")
def labels():
    Registry([ADDONS])   # imports the addons as the app does, as the package addons.*
    return importlib.import_module("addons.crm_contacts.labels")


def customer(name="Acme", **address):
    fields = dict.fromkeys(("province", "city", "district", "street", "postcode", "country"))
    return SimpleNamespace(name=name, kind="company", **{**fields, **address})


# -- the address formats ------------------------------------------------------------------

def test_a_chinese_address_runs_from_postcode_to_recipient(labels):
    lines = labels.address_lines(customer("深圳市星河科技有限公司", **CHINESE), "李娜")
    assert lines == ["518057", "广东省深圳市南山区科技园路1号", "深圳市星河科技有限公司", "李娜 收"]
    assert labels.address_lines(customer("星河科技", **CHINESE))[-1] == "星河科技 收"


def test_a_chinese_address_without_a_country_or_in_latin_letters(labels):
    beijing = customer("首都公司", province="北京市", city="北京市", district="朝阳区",
                       street="建国路88号")
    assert labels.address_lines(beijing) == ["北京市朝阳区建国路88号", "首都公司 收"]
    pinyin = customer("Xinghe Tech", province="Guangdong", city="Shenzhen", street="Keji Rd 1",
                      postcode="518057", country="China")
    assert labels.address_lines(pinyin, "Li Na") == [
        "518057", "Guangdong Shenzhen Keji Rd 1", "Xinghe Tech", "Li Na 收"]
    mixed = customer("Mixed", city="上海市", street="Century Avenue 100", country="CN")
    assert labels.address_lines(mixed)[0] == "上海市 Century Avenue 100"


def test_a_western_address_runs_from_name_to_country(labels):
    lines = labels.address_lines(customer("Acme Widgets Ltd", **WESTERN), "Jane Doe")
    assert lines == ["Acme Widgets Ltd", "Attn: Jane Doe", "742 Evergreen Terrace",
                     "Springfield IL 62704", "USA"]
    assert labels.address_lines(customer("Bare", country="Germany")) == ["Bare", "GERMANY"]


def test_which_addresses_look_chinese(labels):
    assert labels.looks_chinese(customer(country=""))
    assert labels.looks_chinese(customer(country=" china "))
    assert labels.looks_chinese(customer(country="中国"))
    assert labels.looks_chinese(customer(country="Singapore", street="乌节路1号"))
    assert not labels.looks_chinese(customer(country="Germany", city="Berlin"))
    # The name is not part of the address.
    assert not labels.looks_chinese(customer("中文名 GmbH", country="Germany"))


# -- the bulk actions on the customer screen -------------------------------------------

class Shop:
    """crm_contacts with clerk (contacts_user: own customers) and nobody (no group)."""

    def __init__(self, suite):
        self.suite = suite
        self.dispatcher = suite.dispatcher()
        for name, groups in (("clerk", ["--groups", "contacts_user"]), ("nobody", [])):
            assert suite.run("create-user", "--username", name, "--password", PASSWORD,
                             *groups).exit_code == 0
        self.admin = suite.admin_client(self.dispatcher)

    def client(self, name):
        client = self.suite.client(self.dispatcher)
        client.login(name, PASSWORD)
        return client

    def user_id(self, name):
        return self.suite.sql("SELECT id FROM core_user WHERE username = :n", n=name)[0][0]

    def add_customer(self, name, owner, **address):
        """Straight into the table: quicker than the form, and no screen under test."""
        now = datetime(2026, 11, 1, 9, 0)
        code = f"T{self.suite.sql('SELECT count(*) FROM crm_customer')[0][0]:05d}"
        self.suite.sql(
            "INSERT INTO crm_customer (code, kind, name, name_key, stage, is_key, phone_key,"
            " email_key, is_supplier, owner_id, created_at, updated_at, province, city,"
            " district, street, postcode, country) VALUES (:code, 'company', :name, :name,"
            " 'active', :no, '', '', :no, :owner, :now, :now, :province, :city, :district,"
            " :street, :postcode, :country)",
            code=code, name=name, no=False, owner=self.user_id(owner), now=now,
            **{**dict.fromkeys(CHINESE), **address})
        return self.suite.sql("SELECT id FROM crm_customer WHERE code = :c", c=code)[0][0]

    def add_contact(self, customer_id, name, owner):
        now = datetime(2026, 11, 1, 9, 0)
        self.suite.sql(
            "INSERT INTO crm_contact (customer_id, name, is_primary, owner_id, created_at,"
            " updated_at) VALUES (:customer, :name, :yes, :owner, :now, :now)",
            customer=customer_id, name=name, yes=True, owner=self.user_id(owner), now=now)

    @staticmethod
    def print(client, kind, ids):
        return client.post_form("/admin/customer/action/", {
            "action": f"print_{kind}", "rowid": [str(i) for i in ids]}, token_from="/admin/")


@pytest.fixture
def shop(contacts_suite):
    return Shop(contacts_suite)


def pdf_pages(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data)).pages


def pdftotext(data):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode("utf-8")


def font_names(page):
    names = []
    for font in page["/Resources"]["/Font"].values():
        for descendant in font.get_object().get("/DescendantFonts", [font]):
            descriptor = descendant.get_object().get("/FontDescriptor")
            if descriptor is not None:
                names.append(str(descriptor.get_object()["/FontName"]))
    return names


def test_labels_for_fifteen_customers_fill_two_sheets(shop):
    names = [f"客户{n:02d} 有限公司" if n % 2 else f"Customer {n:02d} Ltd" for n in range(15)]
    ids = [shop.add_customer(name, "admin", **(CHINESE if n % 2 else WESTERN))
           for n, name in enumerate(names)]
    shop.add_contact(ids[0], "Jane Doe", "admin")
    response = shop.print(shop.admin, "labels", ids)
    assert "attachment;" in response.headers["Content-Disposition"]
    pages = pdf_pages(response)
    assert len(pages) == 2
    assert [round(float(v)) for v in pages[0].mediabox.upper_right] == [595, 842]   # A4
    text = "\n".join(page.extract_text() for page in pages)
    poppler = pdftotext(response.data)
    for name in names:
        assert name in text and name in poppler
    assert "Attn: Jane Doe" in text and "518057" in text and "科技园路1号" in poppler
    # Sorted by name: the first sheet ends with the 14th name; the 15th is alone.
    assert sorted(names)[-1] in pages[1].extract_text()
    assert sorted(names)[0] not in pages[1].extract_text()
    assert any("CJK" in name for name in font_names(pages[0])), font_names(pages[0])


def test_envelopes_one_customer_a_page(shop):
    ids = [shop.add_customer("深圳星河科技", "admin", **CHINESE),
           shop.add_customer("Acme Widgets Ltd", "admin", **WESTERN)]
    shop.add_contact(ids[0], "李娜", "admin")
    pages = pdf_pages(shop.print(shop.admin, "envelopes", ids))
    assert len(pages) == 2
    assert [round(float(v)) for v in pages[0].mediabox.upper_right] == [624, 312]  # DL
    assert "Acme Widgets Ltd" in pages[0].extract_text()
    assert "李娜 收" in pages[1].extract_text() and "CRM" in pages[1].extract_text()  # sender
    assert any("CJK" in name for name in font_names(pages[1]))


def test_printing_needs_read_access(shop):
    mine = shop.add_customer("Clerk's customer", "clerk")
    assert shop.print(shop.client("nobody"), "labels", [mine]).status_code == 403
    assert shop.print(shop.client("nobody"), "envelopes", [mine]).status_code == 403
    # Printing changes nothing: reading is enough, writing is not needed.
    shop.suite.sql("UPDATE core_access SET letters = 'r' WHERE model = 'Customer'")
    assert len(pdf_pages(shop.print(shop.client("clerk"), "labels", [mine]))) == 1


def test_customers_and_contacts_outside_the_users_rules_are_left_out(shop):
    mine = shop.add_customer("Clerk's customer", "clerk", **WESTERN)
    theirs = shop.add_customer("Somebody else's customer", "admin", **WESTERN)
    shop.add_contact(mine, "Hidden Person", "admin")   # a contact the clerk may not read
    clerk = shop.client("clerk")
    text = pdftotext(shop.print(clerk, "labels", [mine, theirs]).data)
    assert "Clerk's customer" in text
    assert "Somebody else" not in text and "Hidden Person" not in text
    # Nothing the clerk may see: back to the list, no PDF.
    response = shop.print(clerk, "envelopes", [theirs])
    assert response.status_code == 302 and response.mimetype != "application/pdf"
