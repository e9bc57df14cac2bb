"""`python run.py stock check`: every stock level against the sums of its moves."""
from addons.crm_purchase import stock
from core.db import db
from tests.addons.crm_purchase.purchase_helpers import (D, app_of, default_warehouse,
                                                        make_product, make_warehouse)


def post(suite, *moves):
    with app_of(suite):
        stock.post_moves([stock.Move(*move) for move in moves])
        db.session.commit()


def test_stock_check_is_clean_then_finds_a_planted_difference(purchase_suite):
    suite = purchase_suite
    main, north = default_warehouse(suite), make_warehouse(suite, "NORTH")
    bolt, nut = make_product(suite, "BOLT-8"), make_product(suite, "NUT-8")
    post(suite, (bolt, main, "receipt", D(10), D("0.10")), (nut, main, "receipt", D(3), D(1)),
         (bolt, north, "receipt", D("2.5"), D("0.30")))
    post(suite, (bolt, main, "delivery", D(-4)))

    result = suite.run("stock", "check")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Stock matches the ledger: 3 levels checked."

    # Someone wrote a level behind the ledger's back.
    suite.sql("UPDATE stock_level SET quantity = quantity + 1 WHERE product_id = :p AND "
              "warehouse_id = :w", p=bolt, w=north)
    suite.sql("UPDATE stock_level SET value = value - 0.5 WHERE product_id = :p", p=nut)
    result = suite.run("stock", "check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    bolt_line = next(line for line in lines if line.startswith("BOLT-8\tNORTH"))
    assert "on hand 3.500, ledger 2.500 (difference 1.000)" in bolt_line
    nut_line = next(line for line in lines if line.startswith("NUT-8\tWH"))
    assert "value 2.5000, ledger 3.0000 (difference -0.5000)" in nut_line
    assert "2 of 3 stock levels differ from the ledger" in result.output
    assert not any(line.startswith("BOLT-8\tWH") for line in lines)


def test_stock_check_needs_purchase_enabled(purchase_suite):
    suite = purchase_suite
    assert suite.run("addons", "disable", "crm_purchase").exit_code == 0
    result = suite.run("stock", "check")
    assert result.exit_code == 1
    assert "addon crm_purchase is not enabled" in result.output
    assert suite.run("stock", "--help").exit_code == 0   # help needs nothing enabled
