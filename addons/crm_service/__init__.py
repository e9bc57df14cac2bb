from core.i18n import mark

# Text of the manifest, which is shown translated (menus, groups, jobs, settings): marked
# here so that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Tickets opened and resolved"), mark("Resolution SLA by priority"),
    mark("Satisfaction ratings"),
    mark("Tickets, SLAs on business hours, escalation, satisfaction, complaints, knowledge base"),
    mark("Service"), mark("Tickets"), mark("Complaints"), mark("Service records"),
    mark("Satisfaction"), mark("Knowledge base"), mark("Configuration"), mark("SLA policies"),
    mark("Business calendars"), mark("Service teams"), mark("Ticket routing"),
    mark("Serviced products"), mark("Complaint root causes"), mark("Knowledge base folders"),
    mark("Service: agent"), mark("Service: manager"),
    mark("Warn and escalate tickets about to miss or past their SLA"),
    mark("Remind owners of corrective actions due"),
    mark("Close tickets resolved some days ago"),
    mark("Work out the resolution SLA of tickets written by other means"),
    mark("Days after which a resolved ticket is closed"),
    mark("Days a satisfaction rating link works"),
    mark("Tickets one visitor address may submit per hour on the self-service page"),
    mark("Acknowledge new e-mailed tickets by e-mail"),
    mark("Start work"), mark("Wait for the customer"), mark("Wait for a third party"),
    mark("Resume"), mark("Resolve"), mark("Close"), mark("Reopen"),
)
