"""What came before approval policies, brought over by `upgrade` (data/defaults.py): the
setting of the discount that needed a manager's approval becomes the policy's condition,
and quotes and expenses left waiting get their approval requests, once."""
from tests.addons.crm_sales.quote_helpers import (
    act,
    add_user,
    create_customer,
    create_quote,
    quote_row,
    set_option,
    team,
    user_id,
)
from tests.addons.crm_sales.test_expenses import add_expense


def requests(suite):
    return suite.sql("SELECT model, state, submitted_by_id FROM core_approval_request "
                     "ORDER BY id")


def test_upgrade_brings_over_the_setting_and_the_records_left_waiting(sales_suite):
    suite = sales_suite
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    mia = add_user(suite, "mia", "sales_manager", "contacts_user")
    team(suite, "East", user_id(suite, "mia"), [user_id(suite, "ann")])
    customer = create_customer(ann, suite, "Old Friends")
    # 12 %: above the administrator's 10 % of before, below the policy's default 15 %.
    quote = create_quote(ann, suite, customer, [{"description": "Audit", "quantity": "1",
                                                 "unit_price": "100", "discount": "12"}])
    expense = add_expense(ann, suite)
    # As the release before left them: waiting, with no request.
    suite.sql("UPDATE sale_quote SET approval = 'pending' WHERE id = :q", q=quote)
    suite.sql("UPDATE sale_expense SET state = 'submitted' WHERE id = :e", e=expense)
    set_option(suite, "approval_discount", "10")

    result = suite.run("upgrade")
    assert result.exit_code == 0, result.output
    assert suite.sql("SELECT c.value FROM core_approval_condition c JOIN core_approval_policy "
                     "p ON p.id = c.policy_id WHERE p.key = 'quote_discount'") == [("10",)]
    assert suite.sql("SELECT count(*) FROM core_option WHERE key = 'approval_discount'") \
        == [(0,)]
    # The expense was submitted by its owner (the trail does not say who asked for the
    # quote's approval).
    assert requests(suite) == [("Expense", "pending", user_id(suite, "ann")),
                               ("Quote", "pending", None)]
    assert suite.sql("SELECT count(*) FROM core_notification WHERE user_id = :u",
                     u=user_id(suite, "mia")) == [(2,)]
    # Once only.
    assert suite.run("upgrade").exit_code == 0
    assert len(requests(suite)) == 2

    # The manager decides them as any other.
    act(mia, quote, "approve")
    assert quote_row(suite, quote).approval == "approved"
    mia.post_form(f"/admin/expense/approve/?id={expense}", {}, token_from="/admin/expense/")
    assert suite.sql("SELECT state, approved_by_id FROM sale_expense") == [
        ("approved", user_id(suite, "mia"))]
    act(ann, quote, "mark-sent")
    assert quote_row(suite, quote).state == "sent"
