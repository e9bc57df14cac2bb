"""Sales orders, deliveries, returns, payments and balances."""
from core.admin import ModelView


class OrderView(ModelView):
    pass


class DeliveryView(ModelView):
    pass


class ReturnView(ModelView):
    pass


class PaymentView(ModelView):
    pass


class BalanceView(ModelView):
    pass
