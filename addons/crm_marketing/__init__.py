from core.i18n import mark

# Text of the manifest, which is shown translated (menus, groups, jobs, settings): marked
# here so that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Campaigns: cost, revenue and ROI"), mark("Responses by kind"),
    mark("Campaigns, budgets and ROI, segments, mass e-mail with unsubscribe and bounces"),
    mark("Marketing"), mark("Campaigns"), mark("Mailings"), mark("Segments"),
    mark("Responses"), mark("Recipients"), mark("Configuration"), mark("Suppression list"),
    mark("Delivery reports"), mark("List members"),
    mark("Surveys"), mark("Survey responses"),
    mark("Marketing: user"), mark("Marketing: manager"),
    mark("Submit for approval"), mark("Approve"), mark("Refuse"), mark("Start"),
    mark("Finish"), mark("Cancel"), mark("Cancel this campaign?"), mark("Send"),
    mark("Pause"), mark("Resume"),
    mark("Cancel this mailing? Recipients not reached yet will not be."), mark("Mark sent"),
    mark("Campaign budget"), mark("Send the mailings under way"),
    mark("Marketing e-mails per second, at most"),
    mark("Marketing e-mails per hour, at most (0: no cap)"),
    mark("Marketing e-mails per day, at most (0: no cap)"),
    mark("Marketing e-mails per connection to the mail server"),
    mark("Soft bounces after which an address is suppressed (0: never)"),
    mark("Event registrations"), mark("Market tasks"), mark("Promotions"),
    mark("Mark done"), mark("Reopen"), mark("Remind assignees of market tasks due"),
)
