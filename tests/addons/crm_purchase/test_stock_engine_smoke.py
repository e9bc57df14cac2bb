"""The stock engine: moves in and out with the moving average (a first check the
other tests build on)."""
from addons.crm_purchase import stock
from core.db import db
from tests.addons.crm_purchase.purchase_helpers import (D, app_of, default_warehouse,
                                                        make_product, on_hand)


def test_moving_average_in_and_out(purchase_suite):
    product = make_product(purchase_suite, "P1")
    warehouse = default_warehouse(purchase_suite)
    with app_of(purchase_suite):
        stock.post_moves([stock.Move(product, warehouse, "receipt", D(10), D("10"))])
        stock.post_moves([stock.Move(product, warehouse, "receipt", D(5), D("13"))])
        db.session.commit()
    assert on_hand(purchase_suite, product, warehouse) == (D(15), D(165), D(11))
    with app_of(purchase_suite):
        stock.post_moves([stock.Move(product, warehouse, "delivery", D(-3))])
        db.session.commit()
        try:
            stock.post_moves([stock.Move(product, warehouse, "delivery", D(-13))])
        except stock.StockError as refused:
            assert "12" in str(refused)
        else:
            raise AssertionError("a delivery of more than on hand was taken")
        db.session.rollback()
        assert stock.differences() == []
    assert on_hand(purchase_suite, product, warehouse) == (D(12), D(132), D(11))
