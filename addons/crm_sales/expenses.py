"""Expenses and other income, approved by a manager."""
from core.admin import ModelView


class ExpenseView(ModelView):
    pass
