"""What moves a customer's lifecycle stage on, declared to crm_contacts.lifecycle: a deal
won, or money received from the customer (a paid order), makes a prospect (or a dormant
or lost customer) active, in the same save as the deal or the payment."""
from addons.crm_contacts import lifecycle
from addons.crm_sales.models import Opportunity, Payment
from addons.crm_sales.pipeline import stage_move


def deal_won_now(session, deal):
    """This save moves the deal into a won stage (or creates it there)."""
    move = stage_move(session, deal)
    return move is not None and move[1].kind == "won"


def payment_received_now(session, payment):
    """A new payment of some money, against an order or on account."""
    return payment in session.new and (payment.amount or 0) > 0


lifecycle.rule(Opportunity, "active", when=deal_won_now)
lifecycle.rule(Payment, "active", when=payment_received_now)
