"""The customer-value analysis on the database: sales history imported like any model,
the suite's orders counted with it, `python run.py analyse customer-value` and its JSON,
a fit that fails reported as such, and the screens within the record rules."""
import json
import random
import re
from datetime import date, timedelta

import pytest

from tests.addons.crm_contacts.helpers import user, write_csv
from tests.addons.crm_sales.order_helpers import text

UNTIL = date(2026, 6, 30)


def customer(suite, name, owner=None):
    return suite.sql(
        "INSERT INTO crm_customer (kind, name, name_key, code, grade, is_key, stage, "
        "phone_key, email_key, is_supplier, owner_id, created_at, updated_at) VALUES "
        "('company', :n, :n, :n, 'B', false, 'active', '', '', false, :o, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP) RETURNING id", n=name, o=owner)[0][0]


def history(suite, customer_id, day, amount):
    suite.sql("INSERT INTO rep_sales_history (customer_id, date, amount) VALUES (:c, :d, :a)",
              c=customer_id, d=day, a=amount)


def order(suite, customer_id, day, total, state="open"):
    admin = suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    suite.sql("INSERT INTO sale_order (number, customer_id, order_date, state, currency, "
              "subtotal, tax, total, owner_id, created_at, updated_at) VALUES (:n, :c, :d, "
              ":s, 'CNY', :t, 0, :t, :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
              n=f"SO-{customer_id}-{day}", c=customer_id, d=day, s=state, t=total, o=admin)


@pytest.fixture
def buyers(reports_suite):
    """Forty customers C00..C39 with two years of purchases drawn at random (fixed
    seed): some buy every few weeks, some stopped; C00 to C04 are Ann's."""
    suite = reports_suite
    ann, ann_id = user(suite, "ann", "contacts_user", "reports_user")
    rng = random.Random(7)
    ids = {}
    for number in range(40):
        name = f"C{number:02d}"
        ids[name] = customer(suite, name, ann_id if number < 5 else None)
        day = UNTIL - timedelta(days=730 - rng.randrange(0, 300))
        stop = UNTIL if number % 3 else day + timedelta(days=rng.randrange(60, 400))
        every = rng.choice((15, 40, 90))
        while day < min(stop, UNTIL):
            history(suite, ids[name], day, round(rng.uniform(100, 900), 2))
            day += timedelta(days=max(1, round(rng.expovariate(1 / every))))
    return {"suite": suite, "ids": ids, "ann": ann}


def test_history_imported_and_orders_counted_then_analysed(buyers, tmp_path):
    suite = buyers["suite"]
    newcomer = customer(suite, "Newcomer Ltd")
    path = write_csv(tmp_path / "history.csv", ("customer", "date", "amount"),
                     [("Newcomer Ltd", "2026-06-01", "500.00")])
    result = suite.run("import", "sales_history", path)
    assert result.exit_code == 0, result.output
    assert suite.sql("SELECT customer_id, amount FROM rep_sales_history WHERE customer_id = "
                     ":c", c=newcomer)[0][1] == pytest.approx(500)
    # Two orders of the suite on other days count; a cancelled one does not; nor a
    # purchase after --until.
    order(suite, newcomer, "2026-06-10", "300.00")
    order(suite, newcomer, "2026-06-20", "999.00", state="cancelled")
    order(suite, newcomer, "2026-07-05", "999.00")
    out = tmp_path / "value.json"
    result = suite.run("analyse", "customer-value", "--until", UNTIL.isoformat(), "--unit",
                       "week", "--horizon", "26", "--json", str(out))
    assert result.exit_code == 0, result.output
    found = json.loads(out.read_text(encoding="utf-8"))
    assert set(found["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert set(found["gamma_gamma"]) == {"p", "q", "gamma"}
    assert len(found["customers"]) == 41
    new = next(c for c in found["customers"] if c["name"] == "Newcomer Ltd")
    assert new["frequency"] == 1                                # 1 June, then 10 June
    assert new["recency"] == pytest.approx(9 / 7) and new["T"] == pytest.approx(29 / 7)
    assert 0 < new["p_alive"] <= 1 and new["expected_value"] > 0
    # Every customer: P(alive) a probability; customers who stopped long ago lower.
    assert all(0 <= c["p_alive"] <= 1 for c in found["customers"])
    kept = suite.sql("SELECT count(*) FROM rep_customer_value")[0][0]
    assert kept == 41


def test_a_customer_with_one_purchase_is_valued_at_the_average(buyers, tmp_path):
    suite = buyers["suite"]
    once = customer(suite, "Once Only")
    history(suite, once, "2026-06-01", "250")
    out = tmp_path / "value.json"
    assert suite.run("analyse", "customer-value", "--until", UNTIL.isoformat(), "--json",
                     str(out)).exit_code == 0
    found = json.loads(out.read_text(encoding="utf-8"))
    single = next(c for c in found["customers"] if c["name"] == "Once Only")
    assert single["frequency"] == 0 and single["recency"] == 0
    assert single["p_alive"] == pytest.approx(1.0)   # BG/NBD: no repeat, no drop-out yet
    assert single["expected_value"] > 0


def test_a_fit_that_fails_is_reported_not_shown(reports_suite):
    suite = reports_suite
    only = customer(suite, "Lonely")
    history(suite, only, "2026-01-01", "10")
    result = suite.run("analyse", "customer-value", "--until", "2026-06-30")
    assert result.exit_code == 1
    assert "could not be fitted" in result.output
    assert suite.sql("SELECT state FROM rep_value_run")[0][0] == "failed"
    page = text(suite.admin_client().get("/admin/customer-value/"))
    assert "could not be fitted" in page and "No analysis yet" not in page
    # Before any purchase: said, not a traceback.
    suite.sql("DELETE FROM rep_sales_history")
    result = suite.run("analyse", "customer-value")
    assert result.exit_code == 1 and "no purchases" in result.output


def test_the_screens_show_each_user_their_own_customers(buyers):
    suite = buyers["suite"]
    assert suite.run("analyse", "customer-value", "--until", UNTIL.isoformat()).exit_code == 0
    admin_page = text(suite.admin_client().get("/admin/customer-value/?page_size=100"))
    assert "List (40)" in admin_page and UNTIL.isoformat() in admin_page
    ann_page = text(buyers["ann"].get("/admin/customer-value/?page_size=100"))
    assert "List (5)" in ann_page
    assert "C00" in ann_page and "C39" not in ann_page
    # The churn-risk list: customers who bought again and again and are probably gone.
    rows = suite.sql("SELECT c.name FROM rep_customer_value v JOIN crm_customer c ON "
                     "c.id = v.customer_id WHERE v.frequency >= 2 AND v.p_alive < 0.5")
    risk = text(suite.admin_client().get("/admin/churn-risk/?page_size=100"))
    assert f"List ({len(rows)})" in risk
    assert rows and all(name in risk for (name,) in rows)


def test_the_customer_page_shows_the_latest_figures(buyers):
    suite, ids = buyers["suite"], buyers["ids"]
    page = f"/admin/customer/details/?id={ids['C00']}"
    assert "Probability still a customer" not in text(suite.admin_client().get(page))
    assert suite.run("analyse", "customer-value", "--until", UNTIL.isoformat()).exit_code == 0
    shown = text(buyers["ann"].get(page))
    assert "Probability still a customer" in shown
    assert f"From the analysis of {UNTIL.isoformat()}" in shown and "365 days" in shown
    # Without the Reports group the panel is left out.
    plain, _id = user(suite, "plain", "contacts_manager")
    assert "Probability still a customer" not in text(plain.get(page))


def test_the_customer_list_filters_by_churn_risk_and_segment(buyers):
    """The filters Reports adds to the customer list (and so to crm_marketing's
    segments, which are saved filters of that list)."""
    suite = buyers["suite"]
    assert suite.run("analyse", "customer-value", "--until", UNTIL.isoformat()).exit_code == 0
    admin = suite.admin_client()
    at_risk = {name for (name,) in suite.sql(
        "SELECT c.name FROM rep_customer_value v JOIN crm_customer c ON c.id = v.customer_id "
        "WHERE v.frequency >= 2 AND v.p_alive < 0.5")}
    page = text(admin.get("/admin/customer/?flt0_churn_risk_is=1&page_size=100"))
    assert at_risk and set(re.findall(r"col-name\">\s*(C\d\d)\s*<", page)) == at_risk
    segment, members = suite.sql(
        "SELECT rfm_segment, count(*) FROM rep_customer_value WHERE rfm_segment IS NOT NULL "
        "GROUP BY rfm_segment ORDER BY count(*) DESC")[0]
    page = text(admin.get(f"/admin/customer/?flt0_rfm_segment_is={segment}&page_size=100"))
    assert len(set(re.findall(r"col-name\">\s*(C\d\d)\s*<", page))) == members
    # In Chinese the link is the same, the filter's name translated.
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    page = text(admin.get("/admin/customer/?flt0_churn_risk_is=1&page_size=100"))
    assert set(re.findall(r"col-name\">\s*(C\d\d)\s*<", page)) == at_risk and "流失风险" in page
