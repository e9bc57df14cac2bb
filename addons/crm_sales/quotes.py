"""Quotes: lines, totals, versions, approval, PDF, sending, the order they become."""
from core.admin import ModelView


class QuoteView(ModelView):
    pass
