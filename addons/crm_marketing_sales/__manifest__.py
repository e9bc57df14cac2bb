# Marketing and Sales together (a bridge, enabled by the core whenever both are): the
# leads campaigns bring, the revenue their won deals and paid orders bring back, and
# price lists made from promotions.
{
    "name": "Marketing and Sales",
    "version": "1.0.0",
    "summary": "Leads from campaign responses, campaign revenue from won deals and paid orders, price lists from promotions",
    "category": "Marketing",
    "license": "AGPL-3",
    "depends": ["crm_marketing", "crm_sales"],
    "auto_install": True,
    "models": ["models", "hooks", "leads", "revenue"],
    "views": [
        # No menu entry (the view hides itself): the page behind the promotion's
        # "Make a price list" button.
        {"model": "PriceList", "menu": "Sales/Catalogue/Price lists from promotions",
         "class": "views.PromotionPriceListView", "endpoint": "promotion_price_list"},
    ],
    "access": {
        # Which lead a campaign brought: read by both sides. What a page shows of it is
        # narrowed further by the rights on campaigns and on leads (hooks.py).
        "marketing_user": {"CampaignLead": "r"},
        "marketing_manager": {"CampaignLead": "r"},
        "sales_user": {"CampaignLead": "r"},
        "sales_manager": {"CampaignLead": "r"},
    },
    "data": ["data/defaults.py"],
    "demo": ["data/demo.py"],
}
