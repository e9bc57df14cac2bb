"""The low-stock digest (库存提醒) of the daily reorder job: one reminder and one email a
day per purchaser listing all their products below minimum (the supplier's purchaser,
else every active purchase manager), never one per product, and nothing more when the
job runs again the same day; its link opens the suggestions list filtered for them."""
from datetime import date

from tests.addons.crm_purchase.purchase_helpers import (
    default_warehouse, make_product, make_rule, make_supplier, put_stock, run_reorder, text,
    user)

KEY = f"crm_purchase.low_stock:{date.today().isoformat()}"


def digests(suite):
    """[(username, title, body, link)] of today's digests, by user."""
    return suite.sql(
        "SELECT u.username, n.title, n.body, n.link FROM core_notification n JOIN core_user u "
        "ON u.id = n.user_id WHERE n.key = :k ORDER BY u.username", k=KEY)


def emails_to(suite, address):
    return suite.sql("SELECT subject, body_text FROM core_message WHERE recipients LIKE :a",
                     a=f"%{address}%")


def with_email(suite, user_id, address):
    suite.sql("UPDATE core_user SET email = :e WHERE id = :u", e=address, u=user_id)


def low_products(suite, supplier, codes, warehouse):
    """Products each with 1 in stock and a rule of minimum 10 (so below it)."""
    ids = []
    for code in codes:
        product = make_product(suite, code, name=f"Part {code}")
        put_stock(suite, product, warehouse, 1, "1")
        make_rule(suite, product, warehouse, 10, 20, supplier=supplier)
        ids.append(product)
    return ids


def test_one_digest_per_purchaser_and_day(purchase_suite):
    warehouse = default_warehouse(purchase_suite)
    buyer, buyer_id = user(purchase_suite, "buyer", "purchase_user")
    with_email(purchase_suite, buyer_id, "buyer@example.com")
    supplier = make_supplier(purchase_suite, "S1")
    purchase_suite.sql("UPDATE pur_supplier SET purchaser_id = :u", u=buyer_id)
    low_products(purchase_suite, supplier, ["AX1", "AX2"], warehouse)
    # A third product with enough stock is not in the digest.
    enough = make_product(purchase_suite, "AX3")
    put_stock(purchase_suite, enough, warehouse, 15, "1")
    make_rule(purchase_suite, enough, warehouse, 10, 20, supplier=supplier)
    output = run_reorder(purchase_suite)
    assert "2 reorder suggestions, 1 low-stock digest" in output
    [(username, title, body, link)] = digests(purchase_suite)
    assert username == "buyer"
    assert title == "Low stock: 2 products to reorder"
    assert "2 products are below their minimum" in body
    assert "AX1 Part AX1, Main warehouse: order 19" in body
    assert "AX2 Part AX2, Main warehouse: order 19" in body and "AX3" not in body
    [(subject, email_text)] = emails_to(purchase_suite, "buyer@example.com")
    assert subject == title and "AX2 Part AX2" in email_text
    assert link in email_text
    # Again the same day: nothing more, neither under the bell nor by email.
    assert "0 low-stock digests" in run_reorder(purchase_suite)
    assert len(digests(purchase_suite)) == 1
    assert len(emails_to(purchase_suite, "buyer@example.com")) == 1
    # The link opens the buyer's open suggestions.
    page = text(buyer.get(link))
    assert "Part AX1" in page and "Part AX2" in page and "Part AX3" not in page


def test_products_nobody_buys_go_to_every_active_manager(purchase_suite):
    warehouse = default_warehouse(purchase_suite)
    boss, boss_id = user(purchase_suite, "boss", "purchase_manager")
    chief, chief_id = user(purchase_suite, "chief", "purchase_manager")
    _gone, gone_id = user(purchase_suite, "gone", "purchase_manager")
    buyer, buyer_id = user(purchase_suite, "buyer", "purchase_user")
    for user_id, address in ((boss_id, "boss@example.com"), (chief_id, "chief@example.com"),
                             (gone_id, "gone@example.com"), (buyer_id, "buyer@example.com")):
        with_email(purchase_suite, user_id, address)
    purchase_suite.sql("UPDATE core_user SET active = false WHERE id = :u", u=gone_id)
    unassigned = make_supplier(purchase_suite, "FREE")
    chiefs = make_supplier(purchase_suite, "CHIEF")
    buyers = make_supplier(purchase_suite, "BUYER")
    purchase_suite.sql("UPDATE pur_supplier SET purchaser_id = :u WHERE id = :s",
                       u=chief_id, s=chiefs)
    purchase_suite.sql("UPDATE pur_supplier SET purchaser_id = :u WHERE id = :s",
                       u=buyer_id, s=buyers)
    low_products(purchase_suite, unassigned, ["F1", "F2", "F3"], warehouse)
    low_products(purchase_suite, chiefs, ["C1"], warehouse)
    low_products(purchase_suite, buyers, ["B1"], warehouse)
    run_reorder(purchase_suite)
    found = {row[0]: row for row in digests(purchase_suite)}
    # The chief is a purchaser and a manager: one message with both.
    assert sorted(found) == ["boss", "buyer", "chief"]
    assert found["boss"][1] == "Low stock: 3 products to reorder"
    assert found["chief"][1] == "Low stock: 4 products to reorder"
    assert found["buyer"][1] == "Low stock: 1 product to reorder"
    assert "C1" in found["chief"][2] and "F3" in found["chief"][2]
    assert "C1" not in found["boss"][2] and "B1" not in found["boss"][2]
    for address in ("boss@example.com", "chief@example.com", "buyer@example.com"):
        assert len(emails_to(purchase_suite, address)) == 1
    assert emails_to(purchase_suite, "gone@example.com") == []
    # Each link lists what the message lists.
    boss_page = text(boss.get(found["boss"][3]))
    assert "Part F1" in boss_page and "Part C1" not in boss_page
    chief_page = text(chief.get(found["chief"][3]))
    assert "Part F1" in chief_page and "Part C1" in chief_page and "Part B1" not in chief_page


def test_a_long_digest_names_twenty_and_counts_the_rest(purchase_suite):
    warehouse = default_warehouse(purchase_suite)
    _boss, boss_id = user(purchase_suite, "boss", "purchase_manager")
    supplier = make_supplier(purchase_suite, "S1")
    low_products(purchase_suite, supplier, [f"M{n:02d}" for n in range(25)], warehouse)
    run_reorder(purchase_suite)
    [(_username, title, body, _link)] = digests(purchase_suite)
    assert title == "Low stock: 25 products to reorder"
    assert "M19" in body and "M20" not in body
    assert "…and 5 more." in body
