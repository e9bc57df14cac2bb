"""Contracts: PDF, renewal."""
from core.admin import ModelView


class ContractView(ModelView):
    pass
