"""The products bought together in the last year's orders, found every night
(cross_sell.refresh_pairs): what the customer page's suggestions are read from."""
from core.db import db
from core.i18n import mark


class ProductPair(db.Model):
    """Customers who bought ``product`` also bought ``also``: in how many orders, and
    how strongly (support, confidence, lift: addons/crm_reports/cross_selling.py)."""
    __tablename__ = "rsa_product_pair"
    __label__ = mark("Products bought together")
    __table_args__ = (db.Index("ix_rsa_product_pair_product_lift", "product_id", "lift"),)
    id = db.Column(db.Integer, primary_key=True)
    product_id = db.Column(db.ForeignKey("sale_product.id", ondelete="CASCADE"),
                           nullable=False)
    also_id = db.Column(db.ForeignKey("sale_product.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    baskets = db.Column(db.Integer, nullable=False)
    support = db.Column(db.Float, nullable=False)
    confidence = db.Column(db.Float, nullable=False)
    lift = db.Column(db.Float, nullable=False)
