"""Demo records of Reports for `python run.py init --demo`: three years of sales history
from an old system for the demo customers (some buying often and still buying, some who
stopped), so that the customer-value analysis and its churn-risk list have something to
say; the demo salespeople may read reports, 李雷 manages them; and a first analysis."""
import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from addons.crm_contacts.models import Customer
from addons.crm_reports.models import SalesHistory
from core.demo import demo_users

YEARS = 3


def load(session):
    demo_users(session, [("li.lei", "李雷", "reports_manager"),
                         ("han.meimei", "韩梅梅", "reports_user"),
                         ("tom.lee", "Tom Lee", "reports_user")])
    rng = random.Random(21)
    today = date.today()
    first = today - timedelta(days=365 * YEARS)
    for customer in session.scalars(select(Customer).order_by(Customer.id)):
        session.add_all(_history(rng, customer, first, today))
    session.flush()
    _first_analysis(session)


def _history(rng, customer, first, today):
    """A customer's purchases: a rate of buying, a typical amount, and a day they stop
    (for about a third of them, before today)."""
    every = rng.choice((20, 35, 60, 120, 240))       # days between purchases, on average
    typical = rng.gammavariate(3, 2500)              # their mean purchase, 7,500 on average
    start = first + timedelta(days=rng.randrange(0, 500))
    stop = today if rng.random() < 0.65 else start + timedelta(days=rng.randrange(200, 800))
    day, found = start, []
    while day < min(stop, today):
        amount = Decimal(round(rng.gammavariate(6, typical / 6), 2)).quantize(Decimal("0.01"))
        found.append(SalesHistory(customer=customer, date=day, amount=amount,
                                  reference=f"OLD-{customer.id}-{len(found) + 1}"))
        day += timedelta(days=max(1, round(rng.expovariate(1 / every))))
    return found


def _first_analysis(session):
    from addons.crm_reports import analysis
    session.commit()   # the analysis reads through the app's session: what is here
    analysis.analyse(date.today() - timedelta(days=1))
