"""Products and price lists."""
from core.admin import ModelView


class ProductView(ModelView):
    pass


class PriceListView(ModelView):
    pass
