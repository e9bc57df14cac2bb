"""Purchase orders through the screens: money, numbers (also under concurrent creation on
PostgreSQL), prices from the supplier, the workflow with its approval, cancelling, the
PDF, sending by email, who sees which order, and bad quantities."""
import json
import re
import subprocess
import threading
import time
from datetime import date
from html import unescape

import pytest

from tests.addons.conftest import addon_suite
from tests.addons.crm_purchase.purchase_helpers import (D, app_of, count, default_warehouse,
                                                        flashes, last_id, make_product,
                                                        make_supplier, money, text, user)

ORDERS = "/admin/purchase-order/"
NEW_ORDER = "/admin/purchase-order/new/"
YEAR = date.today().year


def order_form(supplier, lines, warehouse, order_date="2026-03-02", **extra):
    """The order form; ``lines``: dicts of a line's fields (lines-0-quantity...), the
    fields not given left blank."""
    data = {"supplier": str(supplier), "warehouse": str(warehouse), "order_date": order_date,
            "expected_date": "", "supplier_reference": "", "terms": "", "notes": "",
            "owner": "", **extra}
    for index, line in enumerate(lines):
        row = {"product": "", "description": "", "quantity": "1", "unit_price": "",
               "discount": "", "tax_rate": "", **line}
        data.update({f"lines-{index}-{key}": str(value) for key, value in row.items()})
    return data


def post_order(client, suite, supplier, lines, **extra):
    return client.post_form(NEW_ORDER, order_form(supplier, lines, default_warehouse(suite),
                                                  **extra), token_from=NEW_ORDER)


def create_order(client, suite, supplier, lines, **extra):
    response = post_order(client, suite, supplier, lines, **extra)
    assert response.status_code == 302, flashes(response)
    return last_id(suite, "pur_order")


def act(client, order, action, **data):
    """POST one of the order's buttons: transition/submit/, approve/, send/..."""
    return client.post_form(f"{ORDERS}{action}/?id={order}", data,
                            token_from=f"{ORDERS}details/?id={order}")


def order_row(suite, order):
    return suite.sql("SELECT number, state, subtotal, tax, total, currency, expected_date, "
                     "sent_at, owner_id FROM pur_order WHERE id = :o", o=order)[0]


def line_rows(suite, order):
    return [(row[0], D(row[1]), money(row[2]), money(row[3]), money(row[4]), money(row[5]))
            for row in suite.sql(
                "SELECT description, quantity, unit_price, subtotal, tax, total FROM "
                "pur_order_line WHERE order_id = :o ORDER BY sequence", o=order)]


def followed(client, response):
    """The page a redirect leads to (where its flashed message shows)."""
    assert response.status_code == 302, flashes(response)
    return text(client.get(response.headers["Location"]))


@pytest.fixture
def shop(purchase_suite):
    """An admin, a supplier (lead time 7 days) and two products."""
    admin = purchase_suite.admin_client()
    supplier = make_supplier(purchase_suite, "S-1", name="Fasteners Ltd", lead_time_days=7)
    bolt = make_product(purchase_suite, "BOLT", cost="9.00", tax_rate="13", name="Bolt M8")
    nut = make_product(purchase_suite, "NUT", cost="4.40", tax_rate="9", name="Nut M8")
    return purchase_suite, admin, supplier, bolt, nut


# -- money and numbers ---------------------------------------------------------------------

def test_the_money_of_an_order(shop):
    suite, admin, supplier, bolt, nut = shop
    order = create_order(admin, suite, supplier, [
        # 3 x 19.99 less 12.5 % = 52.47375 -> 52.47; 13 % tax 6.8211 -> 6.82
        {"product": bolt, "quantity": "3", "unit_price": "19.99", "discount": "12.5"},
        # 13 % of 2.50 = 0.325 -> 0.33 (half-up; half-even would give 0.32)
        {"product": bolt, "quantity": "1", "unit_price": "2.50"},
        # 0.5 x 0.25 = 0.125 -> 0.13 (half-up); 6 % tax 0.0078 -> 0.01
        {"product": nut, "quantity": "0.5", "unit_price": "0.25", "tax_rate": "6"},
        # 7 x 12.35 = 86.45; 9 % (the product's rate) 7.7805 -> 7.78
        {"product": nut, "quantity": "7", "unit_price": "12.35"},
        {"product": make_product(suite, "FREIGHT", name="Freight"),
         "description": "运费 Freight", "quantity": "1", "unit_price": "100", "tax_rate": "0"},
    ])
    assert line_rows(suite, order) == [
        ("Bolt M8", D(3), money("19.99"), money("52.47"), money("6.82"), money("59.29")),
        ("Bolt M8", D(1), money("2.50"), money("2.50"), money("0.33"), money("2.83")),
        ("Nut M8", D("0.5"), money("0.25"), money("0.13"), money("0.01"), money("0.14")),
        ("Nut M8", D(7), money("12.35"), money("86.45"), money("7.78"), money("94.23")),
        ("运费 Freight", D(1), money("100"), money("100"), money("0"), money("100")),
    ]
    row = order_row(suite, order)
    assert (money(row.subtotal), money(row.tax), money(row.total)) == (
        money("241.55"), money("14.94"), money("256.49"))
    assert row.number == f"PO{YEAR}-00001" and row.state == "draft"
    assert row.currency == "CNY" and str(row.expected_date) == "2026-03-09"   # + lead time
    page = text(admin.get(f"{ORDERS}details/?id={order}"))
    assert "crm-purchase-lines" in page and "256.49" in page and "运费 Freight" in page


def test_numbers_follow_each_other(shop):
    suite, admin, supplier, bolt, _nut = shop
    for _index in range(3):
        create_order(admin, suite, supplier, [{"product": bolt, "quantity": "1"}])
    assert [row[0] for row in suite.sql("SELECT number FROM pur_order ORDER BY id")] == [
        f"PO{YEAR}-0000{n}" for n in (1, 2, 3)]


def test_numbers_are_unique_under_concurrent_creation(purchase_suite):
    """Orders saved at the same moment from several connections: each waits for the
    counter's row, so the numbers are unique and follow each other without a gap."""
    if not purchase_suite.database_url.startswith("postgresql"):
        pytest.skip("SQLite writes one transaction at a time: nothing runs concurrently")
    from addons.crm_purchase.models import PurchaseOrder, PurchaseOrderLine
    from core import workflow
    from core.db import db
    supplier = make_supplier(purchase_suite, "S-C")
    product = make_product(purchase_suite, "P-C")
    warehouse = default_warehouse(purchase_suite)
    threads_count, per_thread = 6, 4
    barrier = threading.Barrier(threads_count)
    failures = []
    with app_of(purchase_suite) as app:
        workflow.declared()   # built once, before the threads share the app

    def buyer():
        try:
            with app.app_context():
                barrier.wait()
                for _index in range(per_thread):
                    order = PurchaseOrder(supplier_id=supplier, warehouse_id=warehouse)
                    order.lines.append(PurchaseOrderLine(
                        product_id=product, quantity=D(1), unit_price=D(10), tax_rate=D(13),
                        description="x"))
                    db.session.add(order)
                    db.session.flush()      # numbered: the counter's row is locked now
                    time.sleep(0.02)        # ... while the others wait for it
                    db.session.commit()
        except Exception as exc:   # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=buyer) for _index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    numbers = sorted(row[0] for row in purchase_suite.sql("SELECT number FROM pur_order"))
    assert numbers == [f"PO{YEAR}-{n:05d}" for n in range(1, threads_count * per_thread + 1)]


# -- prices from the supplier ------------------------------------------------------------------

def add_price(suite, supplier, product, price, minimum=1, valid_from=None, valid_to=None,
              sequence=10):
    suite.sql("INSERT INTO pur_supplier_price (supplier_id, product_id, price, min_quantity, "
              "valid_from, valid_to, sequence) VALUES (:s, :p, :price, :m, :f, :t, :q)",
              s=supplier, p=product, price=price, m=minimum, f=valid_from, t=valid_to,
              q=sequence)


def test_unit_prices_come_from_the_supplier(shop):
    suite, admin, supplier, bolt, nut = shop
    other = make_supplier(suite, "S-2", name="Cheaper Elsewhere")
    add_price(suite, supplier, bolt, "10.00")
    add_price(suite, supplier, bolt, "9.50", minimum=100)
    add_price(suite, supplier, bolt, "8.00", minimum=100, valid_from="2026-01-01",
              valid_to="2026-02-28")                               # a winter promotion
    add_price(suite, supplier, bolt, "7.00", valid_from="2026-06-01")   # not yet valid
    add_price(suite, other, bolt, "5.00")                               # another supplier's
    march = create_order(admin, suite, supplier, [
        {"product": bolt, "quantity": "50"},                       # blank: 10.00
        {"product": bolt, "quantity": "100", "unit_price": "0"},   # zero: 9.50 from 100
        {"product": bolt, "quantity": "100", "unit_price": "11"},  # typed: kept
        {"product": nut, "quantity": "1"},                         # no price: its cost
    ])
    assert [row[2] for row in line_rows(suite, march)] == [
        money("10.00"), money("9.50"), money("11.00"), money("4.40")]
    february = create_order(admin, suite, supplier, [
        {"product": bolt, "quantity": "100"}, {"product": bolt, "quantity": "99.5"}],
        order_date="2026-02-15")
    assert [row[2] for row in line_rows(suite, february)] == [money("8.00"), money("10.00")]
    june = create_order(admin, suite, supplier, [{"product": bolt, "quantity": "1"}],
                        order_date="2026-06-05")
    assert [row[2] for row in line_rows(suite, june)] == [money("7.00")]

    # The line editor's look-up: a price that depends on the quantity is left to the
    # save; a single price is given; without one, the product's cost.
    def look_up(product, on, party=supplier):
        response = admin.get(f"{ORDERS}line-price/?product={product}&customer={party}&on={on}")
        assert response.status_code == 200
        return json.loads(text(response))
    found = look_up(bolt, "2026-03-02")
    assert found["price"] == "" and "10.00 from 1, 9.50 from 100" in found["note"]
    assert found["tax_rate"] == "13" and found["description"] == "Bolt M8"
    assert look_up(bolt, "2026-03-02", party=other)["price"] == "5.00"
    assert look_up(nut, "2026-03-02")["price"] == "4.40"
    assert admin.get(f"{ORDERS}line-price/?product=999999").status_code == 404
    # The form's editor sends the supplier as the document's party.
    form = text(admin.get(NEW_ORDER))
    assert 'data-customer-input="#supplier"' in form
    assert "fills in the supplier&#39;s price" in form and "price list first" not in form


# -- the workflow --------------------------------------------------------------------------------

@pytest.fixture
def people(shop):
    suite, admin, supplier, bolt, nut = shop
    buyer, buyer_id = user(suite, "buyer", "purchase_user")
    manager, manager_id = user(suite, "boss", "purchase_manager")
    return suite, buyer, manager, supplier, bolt


def test_confirming_below_the_limit_approves_at_once(people):
    suite, buyer, _manager, supplier, bolt = people
    order = create_order(buyer, suite, supplier, [
        {"product": bolt, "quantity": "100", "unit_price": "12"}])
    page = text(buyer.get(f"{ORDERS}details/?id={order}"))
    assert "Confirm order" in page and "Send by email" not in page
    followed(buyer, act(buyer, order, "transition/submit"))
    assert order_row(suite, order).state == "approved"
    assert suite.sql("SELECT count(*) FROM core_approval_request")[0][0] == 0
    page = text(buyer.get(f"{ORDERS}details/?id={order}"))
    assert "Mark as sent" in page and "Send by email" in page
    followed(buyer, act(buyer, order, "transition/send"))
    row = order_row(suite, order)
    assert row.state == "sent" and row.sent_at is not None


def test_above_the_limit_a_manager_approves(people):
    suite, buyer, manager, supplier, bolt = people
    # 1,000 x 48.00 = 48,000 + 13 % = 54,240 > 50,000
    order = create_order(buyer, suite, supplier, [
        {"product": bolt, "quantity": "1000", "unit_price": "48"}])
    followed(buyer, act(buyer, order, "transition/submit"))
    assert order_row(suite, order).state == "waiting for approval"
    # The buyer may not approve their own order; the manager may.
    assert "You are not an approver" in followed(buyer, act(buyer, order, "approve"))
    assert order_row(suite, order).state == "waiting for approval"
    assert "Approve" in text(manager.get(f"{ORDERS}details/?id={order}"))
    followed(manager, act(manager, order, "approve", comment="OK"))
    assert order_row(suite, order).state == "approved"
    assert suite.sql("SELECT state FROM core_approval_request")[0][0] == "approved"
    # What the approval did not cover may still change: the approval stands.
    edit = f"{ORDERS}edit/?id={order}"
    response = buyer.post_form(edit, {"expected_date": "2026-05-01", "supplier_reference": "",
                                      "terms": "", "notes": "Call first", "owner": ""},
                               token_from=edit)
    assert response.status_code == 302, flashes(response)
    assert order_row(suite, order).state == "approved"
    assert suite.sql("SELECT state FROM core_approval_request")[0][0] == "approved"

    # Rejected, another goes back to draft, with the reason required.
    second = create_order(buyer, suite, supplier, [
        {"product": bolt, "quantity": "2000", "unit_price": "48"}])
    followed(buyer, act(buyer, second, "transition/submit"))
    assert "Say why you reject it." in followed(manager, act(manager, second, "refuse"))
    followed(manager, act(manager, second, "refuse", comment="Too many"))
    assert order_row(suite, second).state == "draft"

    # Cancelled while waiting: the approval is withdrawn from the manager's list.
    followed(buyer, act(buyer, second, "transition/submit"))
    followed(buyer, act(buyer, second, "transition/cancel"))
    assert order_row(suite, second).state == "cancelled"
    assert [row[0] for row in suite.sql(
        "SELECT state FROM core_approval_request WHERE record_id = :o ORDER BY id",
        o=second)] == ["rejected", "cancelled"]


def test_bad_quantities_and_empty_orders(shop):
    suite, admin, supplier, bolt, _nut = shop
    for quantity in ("0", "-5", ""):
        response = post_order(admin, suite, supplier, [
            {"product": bolt, "quantity": "2"}, {"product": bolt, "quantity": quantity}])
        assert response.status_code == 200
        message = "Enter a quantity." if quantity == "" else "The quantity must be more than 0."
        assert message in flashes(response)
    assert count(suite, "pur_order") == 0 and count(suite, "pur_order_line") == 0
    # An order without lines is a draft that cannot be confirmed.
    order = create_order(admin, suite, supplier, [])
    assert "Add at least one line before confirming the order." in followed(
        admin, act(admin, order, "transition/submit"))
    # A zero quantity that came around the form is refused on confirming too.
    suite.sql("INSERT INTO pur_order_line (order_id, product_id, sequence, description, "
              "quantity, unit_price, discount, tax_rate, subtotal, tax, total, received, "
              "returned, billed) VALUES (:o, :p, 10, 'x', 0, 1, 0, 13, 0, 0, 0, 0, 0, 0)",
              o=order, p=bolt)
    assert "Line 1 has no quantity" in followed(admin, act(admin, order, "transition/submit"))
    assert order_row(suite, order).state == "draft"


def test_lines_change_only_in_a_draft(shop):
    suite, admin, supplier, bolt, _nut = shop
    order = create_order(admin, suite, supplier, [{"product": bolt, "quantity": "3",
                                                   "unit_price": "10"}])
    followed(admin, act(admin, order, "transition/submit"))
    edit = f"{ORDERS}edit/?id={order}"
    page = text(admin.get(edit))
    assert "only its expected date, references, terms and notes can change" in page
    assert 'name="lines-0-quantity"' not in page
    line = suite.sql("SELECT id FROM pur_order_line")[0][0]
    response = admin.post_form(edit, {"expected_date": "2026-04-01", "supplier_reference": "",
                                      "terms": "", "notes": "", "owner": "",
                                      "lines-0-id": line, "lines-0-product": bolt,
                                      "lines-0-quantity": "30", "lines-0-unit_price": "10"},
                               token_from=edit)
    assert response.status_code == 200
    assert D(suite.sql("SELECT quantity FROM pur_order_line")[0][0]) == D(3)
    response = admin.post_form(edit, {"expected_date": "2026-04-01", "supplier_reference": "A-7",
                                      "terms": "", "notes": "", "owner": ""}, token_from=edit)
    assert response.status_code == 302, flashes(response)
    row = order_row(suite, order)
    assert str(row.expected_date) == "2026-04-01" and row.state == "approved"


def test_cancelling(shop):
    suite, admin, supplier, bolt, _nut = shop
    draft = create_order(admin, suite, supplier, [{"product": bolt, "quantity": "1"}])
    followed(admin, act(admin, draft, "transition/cancel"))
    assert order_row(suite, draft).state == "cancelled"
    order = create_order(admin, suite, supplier, [{"product": bolt, "quantity": "5"}])
    followed(admin, act(admin, order, "transition/submit"))
    # Part of it received (written here as the receipts screen would).
    line = suite.sql("SELECT id FROM pur_order_line WHERE order_id = :o", o=order)[0][0]
    receipt = suite.sql(
        "INSERT INTO pur_receipt (number, order_id, warehouse_id, receipt_date, created_at, "
        "updated_at) VALUES ('GR-TEST', :o, :w, '2026-03-05', CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP) RETURNING id", o=order, w=default_warehouse(suite))[0][0]
    suite.sql("INSERT INTO pur_receipt_line (receipt_id, order_line_id, quantity, unit_cost, "
              "returned, billed) VALUES (:r, :l, 2, 9, 0, 0)", r=receipt, l=line)
    suite.sql("UPDATE pur_order_line SET received = 2 WHERE id = :l", l=line)
    assert "Cancel" not in text(admin.get(f"{ORDERS}details/?id={order}")).split(
        "crm-record-buttons")[1].split("</header>")[0]
    page = followed(admin, act(admin, order, "transition/cancel"))
    assert "Goods of this order have been received: it cannot be cancelled." in page
    assert order_row(suite, order).state == "approved"


# -- the PDF and sending ---------------------------------------------------------------------

def pdftotext(data):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=bytes(data),
                          capture_output=True, check=True).stdout.decode("utf-8")


def chinese_order(suite, client):
    supplier = make_supplier(suite, "S-NB", name="宁波紧固件有限公司", lead_time_days=5)
    suite.sql("UPDATE crm_customer SET province = '浙江省', city = '宁波市', street = "
              "'北仑区新碶街道88号', email = 'sales@nbfast.example.cn' WHERE name = "
              "'宁波紧固件有限公司'")
    suite.sql("UPDATE pur_supplier SET payment_terms = '月结60天' WHERE id = :s", s=supplier)
    bolt = make_product(suite, "M8-B", cost="0.45", name="六角螺栓 M8×30 镀锌")
    add_price(suite, supplier, bolt, "0.42", minimum=1000)
    suite.sql("UPDATE pur_supplier_price SET supplier_product_code = 'NB-830'")
    order = create_order(client, suite, supplier, [
        {"product": bolt, "quantity": "5000"},
        {"product": make_product(suite, "PACK"), "description": "包装费 Packing",
         "quantity": "1", "unit_price": "80", "tax_rate": "6"}],
        terms="货到验收合格后付款。")
    return order, supplier


def test_the_printed_order_has_its_chinese(shop):
    suite, admin, _supplier, _bolt, _nut = shop
    order, _supplier = chinese_order(suite, admin)
    number = order_row(suite, order).number
    response = admin.get(f"{ORDERS}pdf/?id={order}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{number}.pdf"'
    printed = pdftotext(response.data)
    # 5,000 x 0.42 = 2,100.00 + 13 % 273.00; 80.00 + 6 % 4.80: 2,457.80
    for expected in (number, "宁波紧固件有限公司", "六角螺栓", "镀锌", "NB-830", "浙江省宁波市",
                     "包装费", "2,100.00", "273.00", "4.80", "CNY 2,457.80", "月结60天",
                     "货到验收合格后付款", "贰仟肆佰伍拾柒元捌角整", "Main warehouse",
                     "Draft: not approved yet"):
        assert expected in printed, expected
    fonts = subprocess.run(["pdffonts", "-"], input=response.data, capture_output=True,
                           check=True).stdout.decode()
    assert "CJK" in fonts


def sent_order(suite, client):
    order, supplier = chinese_order(suite, client)
    followed(client, act(client, order, "transition/submit"))
    return order


def test_send_by_email_queues_the_pdf_and_marks_it_sent(shop):
    suite, admin, _supplier, _bolt, _nut = shop
    order, _supplier = chinese_order(suite, admin)
    send = f"{ORDERS}send/?id={order}"
    # Not before it is approved.
    assert "only an approved order is sent" in followed(admin, admin.get(send))
    followed(admin, act(admin, order, "transition/submit"))
    number = order_row(suite, order).number
    assert 'value="sales@nbfast.example.cn"' in text(admin.get(send))
    response = admin.post_form(send, {"to": "", "subject": "PO", "text": ""}, token_from=send)
    assert response.status_code == 200 and "Enter the supplier&#39;s email address." in text(
        response)
    assert count(suite, "core_message") == 0 and order_row(suite, order).state == "approved"
    response = admin.post_form(send, {"to": "sales@nbfast.example.cn", "subject": f"PO {number}",
                                      "text": "请确认订单。"}, token_from=send)
    assert "queued for sales@nbfast.example.cn" in followed(admin, response)
    message = suite.sql("SELECT id, recipients, subject, body_text, related_model, related_id, "
                        "status FROM core_message")
    assert [tuple(row[1:]) for row in message] == [
        ("sales@nbfast.example.cn", f"PO {number}", "请确认订单。", "PurchaseOrder", order,
         "queued")]
    attachment = suite.sql("SELECT filename, content_type, data FROM core_message_attachment "
                           "WHERE message_id = :m", m=message[0].id)[0]
    assert (attachment[0], attachment[1]) == (f"{number}.pdf", "application/pdf")
    printed = pdftotext(attachment[2])
    assert number in printed and "宁波紧固件有限公司" in printed
    assert "Draft: not approved yet" not in printed
    row = order_row(suite, order)
    assert row.state == "sent" and row.sent_at is not None
    # A sent order may be emailed again.
    admin.post_form(send, {"to": "sales@nbfast.example.cn", "subject": "Again", "text": ""},
                    token_from=send)
    assert count(suite, "core_message") == 2


@pytest.fixture
def docs_purchase_suite(tmp_path, database_url):
    installation = addon_suite(tmp_path, database_url, ["crm_purchase", "crm_docs"])
    yield installation
    installation.close()


def test_the_sent_pdf_is_kept_when_documents_are_enabled(docs_purchase_suite):
    suite = docs_purchase_suite
    admin = suite.admin_client()
    order = sent_order(suite, admin)
    send = f"{ORDERS}send/?id={order}"
    followed(admin, admin.post_form(send, {"to": "sales@nbfast.example.cn", "subject": "PO",
                                           "text": ""}, token_from=send))
    rows = suite.sql("SELECT record_model, record_id, kind, event, recipients FROM "
                     "crm_issued_document")
    assert [tuple(row) for row in rows] == [
        ("PurchaseOrder", order, "purchase_order", "sent", "sales@nbfast.example.cn")]
    # The template is editable there: saved unchanged, and previewed with the order.
    page = "/admin/pdf-template/edit/purchase_order/"
    source = unescape(re.search(r'(?s)<textarea id="source"[^>]*>(.*?)</textarea>',
                                text(admin.get(page))).group(1))
    response = admin.post_form(page, {"source": source, "comment": "as it was"},
                               token_from=page)
    assert response.status_code == 302, flashes(response)
    response = admin.post_form("/admin/pdf-template/preview/purchase_order/", {
        "source": source, "record": str(order)}, token_from=page)
    assert "宁波紧固件有限公司" in pdftotext(response.get_data())


# -- who sees what -----------------------------------------------------------------------------

def test_buyers_see_their_own_orders(shop):
    suite, _admin, supplier, bolt, _nut = shop
    first, first_id = user(suite, "buyer1", "purchase_user")
    second, _second_id = user(suite, "buyer2", "purchase_user")
    keeper, _keeper_id = user(suite, "keeper", "stock_user")
    manager, _manager_id = user(suite, "boss", "purchase_manager")
    order = create_order(first, suite, supplier, [{"product": bolt, "quantity": "1"}])
    number = order_row(suite, order).number
    assert order_row(suite, order).owner_id == first_id
    for path in (f"details/?id={order}", f"pdf/?id={order}", f"edit/?id={order}",
                 f"send/?id={order}"):
        assert second.get(f"{ORDERS}{path}").status_code == 404, path
    assert number not in text(second.get(ORDERS))
    assert number in text(first.get(ORDERS)) and number in text(manager.get(ORDERS))
    assert keeper.get(f"{ORDERS}details/?id={order}").status_code == 200
    assert keeper.get(f"{ORDERS}pdf/?id={order}").status_code == 200
    assert keeper.get(f"{ORDERS}edit/?id={order}").status_code == 403
    assert keeper.get(NEW_ORDER).status_code == 403
    response = second.post_form(f"{ORDERS}transition/submit/?id={order}", {},
                                token_from=ORDERS)
    assert response.status_code == 404 and order_row(suite, order).state == "draft"


def test_pages_ask_the_same_queries_however_many_orders_and_lines(shop):
    suite, admin, supplier, bolt, nut = shop
    order = create_order(admin, suite, supplier, [{"product": bolt, "quantity": "1"}])
    few_list = len(admin.queries(ORDERS))
    few_page = len(admin.queries(f"{ORDERS}details/?id={order}"))
    few_pdf = len(admin.queries(f"{ORDERS}pdf/?id={order}"))
    other = make_supplier(suite, "S-Q", name="Another Supplier")
    for index in range(5):
        create_order(admin, suite, other if index % 2 else supplier, [
            {"product": bolt, "quantity": "1"}, {"product": nut, "quantity": "2"}])
    big = create_order(admin, suite, supplier, [
        {"product": make_product(suite, f"X{index}"), "quantity": "1"} for index in range(12)])
    assert len(admin.queries(ORDERS)) == few_list
    assert len(admin.queries(f"{ORDERS}details/?id={big}")) == few_page
    assert len(admin.queries(f"{ORDERS}pdf/?id={big}")) == few_pdf
