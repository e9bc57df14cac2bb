"""The printed quote (read back from the PDF) and sending it by email through the
outbox."""
import io
from datetime import date

from PIL import Image
from pypdf import PdfReader

from tests.addons.crm_sales.quote_helpers import (
    QUOTES,
    act,
    create_contact,
    create_customer,
    create_product,
    create_quote,
    flashes,
    form_errors,
    page_text,
    quote_row,
)

COMPANY = {"name": "上海云帆信息科技有限公司", "address": "上海市浦东新区世纪大道100号",
           "phone": "+86 21 5888 0000", "email": "sales@yunfan.example.cn",
           "website": "www.yunfan.example.cn", "tax_number": "91310115MA1K4ABCDE",
           "bank_account": "招商银行上海分行 121900000001"}


def png_logo():
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (31, 58, 95)).save(buffer, "PNG")
    return buffer.getvalue()


def save_company(client, logo=None):
    data = dict(COMPANY)
    if logo:
        data["logo"] = (io.BytesIO(logo), "logo.png")
    response = client.post_form("/admin/company/", data, token_from="/admin/company/")
    assert response.status_code == 302, page_text(response)[:2000]


def read_pdf(response):
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    return reader, [page.extract_text() for page in reader.pages]


def font_names(reader):
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def image_count(reader):
    count = 0
    for page in reader.pages:
        objects = page["/Resources"].get("/XObject", {})
        count += sum(1 for item in objects.values()
                     if item.get_object().get("/Subtype") == "/Image")
    return count


def chinese_quote(suite, client):
    customer = create_customer(client, suite, "北京星辰贸易有限公司", province="北京市",
                               city="北京市", district="朝阳区", street="建国路88号",
                               postcode="100022", email="buy@xingchen.example.cn")
    contact = create_contact(client, suite, customer, "王丽", email="wangli@xingchen.example.cn",
                             mobile="138 0000 0000")
    server = create_product(client, suite, "SRV-001", "云服务器 标准版", "12800.00")
    licence = create_product(client, suite, "LIC-100", "CRM licence, per user and year",
                             "980.00", tax_rate="6", unit="user")
    quote = create_quote(client, suite, customer, [
        {"product": server, "quantity": "3", "discount": "12.5"},
        {"product": licence, "quantity": "25"},
        {"description": "实施服务 Implementation", "quantity": "1.5", "unit_price": "3200",
         "tax_rate": "6"}],
        contact=str(contact), terms="付款方式：合同签订后预付50%。\nDelivery within 30 days.")
    return quote, customer, contact


def test_the_printed_quote(sales_suite):
    admin = sales_suite.admin_client()
    save_company(admin, logo=png_logo())
    quote, _customer, _contact = chinese_quote(sales_suite, admin)
    number = quote_row(sales_suite, quote).number
    response = admin.get(f"{QUOTES}pdf/?id={quote}")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{number}.pdf"'
    reader, pages = read_pdf(response)
    text = "\n".join(pages)
    assert len(pages) == 1
    for expected in [
            "Quotation", number, date.today().isoformat(),
            # the letterhead
            "上海云帆信息科技有限公司", "世纪大道100号", "+86 21 5888 0000",
            "sales@yunfan.example.cn", "91310115MA1K4ABCDE", "招商银行上海分行",
            # the customer and the contact
            "北京星辰贸易有限公司", "朝阳区建国路88号", "100022", "王丽",
            # lines: code, description, quantity and unit, price, discount, amount (seven
            # cells a line: the code leads the description, the unit follows the quantity)
            "SRV-001 · 云服务器 标准版", "3 pcs", "LIC-100 · CRM licence", "25 user",
            "12,800.00", "12.5", "33,600.00", "24,500.00", "实施服务", "Implementation",
            "4,800.00",
            # totals: 62,900.00 + tax 4,368.00 (13 %) + 1,758.00 (6 %)
            "62,900.00", "4,368.00", "1,758.00", "CNY 69,026.00", "陆万玖仟零贰拾陆元整",
            "付款方式：合同签订后预付50%。", "Authorised signature", "1 / 1"]:
        assert expected in text, expected
    # Signed for the company, never for the software ("For CRM").
    assert "For 上海云帆信息科技有限公司" in text and "CRM" not in text.replace("CRM licence", "")
    fonts = font_names(reader)
    assert any("CJK" in name for name in fonts), fonts
    assert image_count(reader) == 1   # the logo


def test_long_quotes_repeat_the_table_header_on_every_page(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Many Lines Ltd")
    lines = [{"description": f"Spare part {index:03d}", "quantity": "1", "unit_price": "10",
              "tax_rate": "13"} for index in range(90)]
    quote = create_quote(admin, sales_suite, customer, lines)
    _reader, pages = read_pdf(admin.get(f"{QUOTES}pdf/?id={quote}"))
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert "Description" in text and "Unit price" in text
        assert f"{number} / {len(pages)}" in text
    assert "Spare part 089" in pages[-1] and "CNY 1,017.00" in pages[-1]


def test_send_by_email_puts_the_pdf_into_the_outbox(sales_suite):
    admin = sales_suite.admin_client()
    save_company(admin)
    quote, _customer, _contact = chinese_quote(sales_suite, admin)
    number = quote_row(sales_suite, quote).number
    send = f"{QUOTES}send/?id={quote}"
    form = page_text(admin.get(send))
    assert 'value="wangli@xingchen.example.cn"' in form   # the contact's, not the customer's
    response = admin.post_form(send, {
        "to": "wangli@xingchen.example.cn, buyer@xingchen.example.cn",
        "subject": f"Quotation {number}", "text": "Dear Ms Wang,\n\nplease find our offer."},
        token_from=send)
    # Queued, not "sent": the outbox delivers it later (see test_quote_sending.py).
    assert "queued for wangli@xingchen.example.cn, buyer@xingchen.example.cn" in flashes(
        admin, response)
    message = sales_suite.sql("SELECT id, channel, recipients, subject, body_text, "
                              "related_model, related_id, status FROM core_message")
    assert len(message) == 1
    message = message[0]
    assert tuple(message[1:]) == (
        "email", "wangli@xingchen.example.cn, buyer@xingchen.example.cn",
        f"Quotation {number}", "Dear Ms Wang,\n\nplease find our offer.", "Quote", quote,
        "queued")
    attachments = sales_suite.sql("SELECT filename, content_type, data FROM "
                                  "core_message_attachment WHERE message_id = :m",
                                  m=message.id)
    assert [(name, kind) for name, kind, _data in attachments] == [
        (f"{number}.pdf", "application/pdf")]
    _reader, pages = read_pdf_bytes(attachments[0][2])
    assert number in pages[0] and "北京星辰贸易有限公司" in pages[0]
    row = quote_row(sales_suite, quote)
    assert row.state == "sent" and row.sent_at is not None
    # Sent again (a sent quote may be emailed once more): a second message.
    admin.post_form(send, {"to": "wangli@xingchen.example.cn", "subject": "Again",
                           "text": ""}, token_from=send)
    assert sales_suite.sql("SELECT COUNT(*) FROM core_message")[0][0] == 2


def read_pdf_bytes(data):
    assert bytes(data).startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(bytes(data)))
    return reader, [page.extract_text() for page in reader.pages]


def test_sending_without_an_address_changes_nothing(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "No Mail Ltd")
    quote = create_quote(admin, sales_suite, customer, [
        {"description": "Service", "quantity": "1", "unit_price": "100", "tax_rate": "6"}])
    send = f"{QUOTES}send/?id={quote}"
    assert "Neither the contact nor the customer has an email address" in page_text(
        admin.get(send))
    for address, message in (("", "Enter the customer's email address."),
                             ("not-an-address", "Not a valid email address: not-an-address")):
        response = admin.post_form(send, {"to": address, "subject": "Quote", "text": "Hi"},
                                   token_from=send)
        assert response.status_code == 200
        assert message in form_errors(response)
    assert sales_suite.sql("SELECT COUNT(*) FROM core_message")[0][0] == 0
    assert quote_row(sales_suite, quote).state == "draft"


def test_sending_waits_for_approval(sales_suite):
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Discount Lovers",
                               email="buy@lovers.example.com")
    quote = create_quote(admin, sales_suite, customer, [
        {"description": "Service", "quantity": "1", "unit_price": "100", "discount": "30",
         "tax_rate": "6"}])
    send = f"{QUOTES}send/?id={quote}"
    response = admin.post_form(send, {"to": "buy@lovers.example.com", "subject": "Quote",
                                      "text": "Hi"}, token_from=f"{QUOTES}details/?id={quote}")
    assert "needs approval first" in flashes(admin, response)
    assert sales_suite.sql("SELECT COUNT(*) FROM core_message")[0][0] == 0
    act(admin, quote, "request-approval")
    act(admin, quote, "approve")        # an administrator may approve (no manager here)
    response = admin.post_form(send, {"to": "buy@lovers.example.com", "subject": "Quote",
                                      "text": "Hi"}, token_from=send)
    assert response.status_code == 302
    assert sales_suite.sql("SELECT COUNT(*) FROM core_message")[0][0] == 1
    assert quote_row(sales_suite, quote).state == "sent"
