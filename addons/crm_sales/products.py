"""Products and price lists."""
from addons.crm_sales.models import PriceListItem
from core.admin import ModelView


class ProductView(ModelView):
    pass


class PriceListView(ModelView):
    inline_models = [(PriceListItem, {"form_columns": ["id", "product", "price"]})]
