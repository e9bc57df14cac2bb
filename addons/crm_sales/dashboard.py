"""The Sales dashboard: forecast and won revenue per month, owner and team."""
from core.admin import ModelView


class DashboardView(ModelView):
    pass
