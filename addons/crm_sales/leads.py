"""Leads: the list, qualification, assignment by rule or in turn, conversion."""
from core.admin import ModelView


class LeadView(ModelView):
    pass


class WebFormView(ModelView):
    pass


class AssignmentRuleView(ModelView):
    pass
