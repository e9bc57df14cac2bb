"""The pipeline: opportunities, their stages, the kanban board."""
from core.admin import ModelView


class OpportunityView(ModelView):
    pass


class KanbanView(ModelView):
    pass


class StageView(ModelView):
    pass
