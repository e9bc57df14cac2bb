"""Demo of Reports and Sales: a year of repeat orders from the demo customers, made of
products that go together (a scanner with its label printer, a server with its cables),
so that the products bought together and the customer page's suggestions have something
to say; then the nightly rules, found once."""
import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from addons.crm_contacts.models import Customer
from addons.crm_reports_sales import cross_sell
from addons.crm_sales.models import OrderLine, Product, SalesOrder

ORDERS = 60


def load(session):
    products = session.scalars(select(Product).where(Product.active.is_(True))
                               .order_by(Product.id)).all()
    customers = session.scalars(select(Customer).where(Customer.is_supplier.is_(False))
                                .order_by(Customer.id)).all()
    if len(products) < 4 or not customers:
        return
    rng = random.Random(42)
    # Bundles: pairs of products bought together far more often than by chance.
    bundles = [products[i:i + 2] for i in range(0, min(len(products), 8) - 1, 2)]
    today = date.today()
    for number in range(ORDERS):
        customer = rng.choice(customers)
        chosen = list(rng.choice(bundles)) if rng.random() < 0.7 else [rng.choice(products)]
        if rng.random() < 0.3:
            chosen.append(rng.choice(products))
        order = SalesOrder(customer=customer, owner_id=customer.owner_id,
                           order_date=today - timedelta(days=rng.randrange(1, 365)))
        for position, product in enumerate(dict.fromkeys(chosen), start=1):
            order.lines.append(OrderLine(
                sequence=position * 10, product=product, description=product.name,
                quantity=Decimal(rng.randrange(1, 4)), unit_price=product.price,
                tax_rate=product.tax_rate))
        session.add(order)
    session.flush()
    session.commit()
    cross_sell.refresh_pairs()
