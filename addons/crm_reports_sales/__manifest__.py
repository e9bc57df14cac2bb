# Reports and Sales together (a bridge, enabled by the core whenever both are): which
# products are bought together, and what to offer each customer next, on their page.
{
    "name": "Reports and Sales",
    "version": "1.0.0",
    "summary": "Products bought together, and what to offer each customer next",
    "category": "Reports",
    "license": "AGPL-3",
    "depends": ["crm_reports", "crm_sales"],
    "auto_install": True,
    "models": ["models", "hooks"],
    "access": {
        # Read through the customer page's panel, for those who may read orders.
        "sales_user": {"ProductPair": "r"},
        "sales_manager": {"ProductPair": "r"},
        "reports_user": {"ProductPair": "r"},
        "reports_manager": {"ProductPair": "r"},
    },
    "jobs": [
        {"id": "crm_reports_sales.product_pairs",
         "label": "Find the products bought together", "func": "cross_sell.refresh_pairs",
         "trigger": "cron", "hour": 3, "minute": 0},
    ],
    "reports": {
        "sales_bought_together": {"label": "Products bought together", "area": "Customer analysis",
                                  "model": "SalesOrder", "query": "cross_sell.bought_together"},
    },
    "demo": ["data/demo.py"],
}
