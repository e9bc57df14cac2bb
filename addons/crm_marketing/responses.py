"""One call for every place that records a campaign response (a click, a reply, a
registration, a survey answer, one entered by hand), so that other addons may act on it:
with Sales enabled, the bridge crm_marketing_sales makes the response a lead."""
from flask import current_app


def responded(response):
    """Call after adding ``response`` to the session, before the commit (what handlers
    add is committed with it); not from inside a flush (a before_flush listener)."""
    current_app.extensions["crm"].hooks.call("marketing.response", response)
