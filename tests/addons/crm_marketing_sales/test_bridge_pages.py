"""What the bridge shows: the campaign on a lead's page and the leads on a campaign's
page, each only to users with the rights on both sides; and a price list made from a
promotion."""
import re

from tests.addons.crm_marketing.marketing_helpers import user


def text(response):
    return response.get_data(as_text=True)


def campaign_with_leads(suite, owners):
    """A campaign "Spring secret" with one lead per owner (user ids); the lead ids."""
    campaign = suite.sql(
        "INSERT INTO mkt_campaign (name, kind, state, budget, expected_revenue, created_at, "
        "updated_at) VALUES ('Spring secret', 'event or trade show', 'running', 0, 0, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id")[0][0]
    leads = []
    for number, owner in enumerate(owners):
        lead = suite.sql(
            "INSERT INTO sale_lead (name, status, owner_id, created_at, updated_at) VALUES "
            "(:n, 'new', :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
            n=f"Visitor {number}", o=owner)[0][0]
        suite.sql("INSERT INTO mkt_lead_campaign (lead_id, campaign_id) VALUES (:l, :c)",
                  l=lead, c=campaign)
        leads.append(lead)
    return campaign, leads


def test_the_lead_page_names_the_campaign_to_who_may_read_campaigns(bridge_suite):
    seller, seller_id = user(bridge_suite, "seller", "sales_user")
    both, both_id = user(bridge_suite, "both", "sales_user", "marketing_user")
    campaign, (sellers_lead, boths_lead) = campaign_with_leads(bridge_suite, [seller_id, both_id])

    page = text(bridge_suite.admin_client().get(f"/admin/lead/details/?id={sellers_lead}"))
    assert "Spring secret" in page and "Event or trade show" in page
    assert f'href="/admin/campaign/details/?id={campaign}"' in page

    page = seller.get(f"/admin/lead/details/?id={sellers_lead}")
    assert page.status_code == 200
    assert "Visitor 0" in text(page) and "Spring secret" not in text(page)

    page = text(both.get(f"/admin/lead/details/?id={boths_lead}"))
    assert "Spring secret" in page


def test_the_campaign_page_lists_only_the_leads_the_user_may_read(bridge_suite):
    marketer, _ = user(bridge_suite, "marketer", "marketing_user")
    both, both_id = user(bridge_suite, "both", "sales_user", "marketing_user")
    _other, other_id = user(bridge_suite, "other", "sales_user")
    campaign, _leads = campaign_with_leads(bridge_suite, [both_id, other_id])
    bridge_suite.sql("UPDATE sale_lead SET status = 'converted' WHERE name = 'Visitor 1'")

    page = text(bridge_suite.admin_client().get(f"/admin/campaign/details/?id={campaign}"))
    assert "Visitor 0" in page and "Visitor 1" in page
    assert "2 leads · 1 converted" in page

    page = text(both.get(f"/admin/campaign/details/?id={campaign}"))
    assert "Visitor 0" in page and "Visitor 1" not in page and "1 lead · 0 converted" in page

    page = marketer.get(f"/admin/campaign/details/?id={campaign}")
    assert page.status_code == 200 and "Visitor 0" not in text(page)


def promotion(suite, codes):
    """A promotion of 10 % from 2026-05-01 to 2026-05-31 on ``codes`` ({code: own
    percent or None}); its id."""
    found = suite.sql(
        "INSERT INTO mkt_promotion (name, starts_on, ends_on, discount_percent) VALUES "
        "('May days', '2026-05-01', '2026-05-31', 10) RETURNING id")[0][0]
    for code, percent in codes.items():
        suite.sql("INSERT INTO mkt_promotion_item (promotion_id, product_code, product_name, "
                  "discount_percent) VALUES (:p, :c, :n, :d)", p=found, c=code, n=f"Item {code}",
                  d=percent)
    return found


def product(suite, code, price):
    suite.sql("INSERT INTO sale_product (code, name, unit, price, cost, tax_rate, active) "
              "VALUES (:c, :n, 'pcs', :p, 0, 13, true)", c=code, n=f"Product {code}", p=price)


def test_a_price_list_from_a_promotion(bridge_suite):
    product(bridge_suite, "P-1", 100)
    product(bridge_suite, "P-2", 250)
    promo = promotion(bridge_suite, {"P-1": None, "p-2 ": 20, "X-9": None})
    admin = bridge_suite.admin_client()
    make = f"/admin/promotion-price-list/make/?promotion={promo}"
    assert f'href="{make}"'.replace("&", "&amp;") in text(
        admin.get(f"/admin/promotion/details/?id={promo}"))

    form = text(admin.get(make))
    assert "not in the catalogue" in form and "90.00" in form and "200.00" in form
    response = admin.post_form(make, {"name": "May days A", "grade": "A"}, token_from=make)
    assert response.status_code == 302
    price_list = bridge_suite.sql("SELECT id, name, grade, valid_from, valid_to, active, "
                                  "customer_id FROM sale_price_list")
    assert [(name, grade, str(start), str(end), bool(active), customer)
            for _id, name, grade, start, end, active, customer in price_list] == [
        ("May days A", "A", "2026-05-01", "2026-05-31", True, None)]
    assert response.headers["Location"].endswith(f"/admin/price-list/details/?id={price_list[0][0]}")
    prices = bridge_suite.sql("SELECT p.code, i.price FROM sale_price_list_item i "
                              "JOIN sale_product p ON p.id = i.product_id ORDER BY p.code")
    assert [(code, f"{float(price):.2f}") for code, price in prices] == [
        ("P-1", "90.00"), ("P-2", "200.00")]
    page = text(admin.get(response.headers["Location"]))
    assert "Price list made with 2 products." in page
    assert re.search(r"Not in the catalogue, left out: X-9\.", page)


def test_no_price_list_without_products_or_rights(bridge_suite):
    promo = promotion(bridge_suite, {"X-9": None})
    make = f"/admin/promotion-price-list/make/?promotion={promo}"
    admin = bridge_suite.admin_client()
    response = admin.post_form(make, {"name": "Nothing", "grade": "B"}, token_from=make)
    assert response.status_code == 200
    assert "None of the promotion&#39;s products is in the catalogue" in text(response)
    assert bridge_suite.sql("SELECT count(*) FROM sale_price_list")[0][0] == 0

    marketer, _ = user(bridge_suite, "marketer", "marketing_manager")
    assert "promotion-price-list" not in text(marketer.get(f"/admin/promotion/details/?id={promo}"))
    assert marketer.get(make).status_code == 403
    seller, _ = user(bridge_suite, "seller", "sales_manager")   # may not read promotions
    assert seller.get(make).status_code == 404
    assert seller.get("/admin/promotion-price-list/make/?promotion=x").status_code == 404
