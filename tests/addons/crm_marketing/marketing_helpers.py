"""Small helpers the marketing tests share."""

from tests.addons.crm_contacts import helpers as contacts_helpers

app_of, user = contacts_helpers.app_of, contacts_helpers.user   # for the tests importing here


def customers_with_contacts(suite, count, grade="A", city="上海", start=0):
    """``count`` customers, each with one primary contact at person{n}@example.com;
    returns the customer ids."""
    ids = []
    for number in range(start, start + count):
        customer_id = suite.sql(
            "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
            "email_key, is_supplier, city, created_at, updated_at) VALUES ('company', :n, :n, "
            ":g, false, 'active', '', '', false, :c, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
            "RETURNING id", n=f"Customer {number}", g=grade, c=city)[0][0]
        suite.sql("INSERT INTO crm_contact (customer_id, name, email, is_primary, created_at, "
                  "updated_at) VALUES (:c, :n, :e, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                  c=customer_id, n=f"Person {number}", e=f"person{number}@example.com")
        ids.append(customer_id)
    return ids
