"""The customer-value models (addons/crm_reports/customer_value.py) against their papers:
on the CDNOW sample (2,357 customers of a CD shop from their first purchase in the first
quarter of 1997; tests/data/cdnow_sample.txt, from the Lifetimes package 0.11.3, test data
only), calibration to 1997-09-30 in weeks, BG/NBD gives the r, alpha, a, b of Fader,
Hardie and Lee (2005) and Gamma-Gamma the p, q, gamma of their spend paper (2005); the
conditional expectations against a simulation of the model; what the models refuse."""
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from addons.crm_reports import customer_value as cv

CDNOW = Path(__file__).resolve().parents[2] / "data" / "cdnow_sample.txt"


def cdnow_purchases():
    for line in CDNOW.read_text().splitlines():
        _master_id, customer, day, _quantity, amount = line.split()
        yield customer, date(int(day[:4]), int(day[4:6]), int(day[6:])), float(amount)


@pytest.fixture(scope="module")
def cdnow():
    return cv.history(cdnow_purchases(), date(1997, 9, 30), unit_days=7)


def significant(value, digits=3):
    return float(f"{value:.{digits}g}")


def test_bgnbd_on_cdnow_gives_the_papers_parameters(cdnow):
    assert len(cdnow.keys) == 2357
    # Customer 0001 bought on 1 and 18 January, 2 August (and 12 December, after the
    # calibration period): two repeat purchases, the last 213 days after the first.
    first = cdnow.keys.index("0001")
    assert (cdnow.x[first], round(cdnow.t_x[first], 2), round(cdnow.T[first], 2)) == \
        (2, 30.43, 38.86)
    model = cv.fit_bgnbd(cdnow)
    assert [significant(v) for v in (model.r, model.alpha, model.a, model.b)] == \
        [0.243, 4.41, 0.793, 2.43]
    assert round(model.alpha, 3) == 4.414 and round(model.b, 3) == 2.426


def test_gamma_gamma_on_cdnow_gives_the_spend_papers_parameters(cdnow):
    model = cv.fit_gamma_gamma(cdnow)
    assert [significant(v) for v in (model.p, model.q, model.gamma)] == [6.25, 3.74, 15.4]
    # A customer's expected purchase value lies between their own mean and everyone's.
    repeat = int(np.argmax(cdnow.x >= 5))
    own, expected = cdnow.mean_value[repeat], model.expected_value(
        cdnow.x[repeat], cdnow.mean_value[repeat])
    everyone = model.population_mean()
    assert min(own, everyone) < expected < max(own, everyone)
    assert model.expected_value(0, 0) == pytest.approx(everyone)


def simulated_purchases(model, t, customers=400_000, seed=20261205):
    """Repeat purchases in (0, t] of new customers drawn from the BG/NBD model: a
    Poisson rate from gamma(r, alpha), a dropout chance from beta(a, b) after each
    repeat purchase."""
    generator = np.random.default_rng(seed)
    rate = generator.gamma(model.r, 1 / model.alpha, customers)
    dropout = generator.beta(model.a, model.b, customers)
    clock, counted = np.zeros(customers), np.zeros(customers)
    active = np.ones(customers, dtype=bool)
    while active.any():
        clock[active] += generator.exponential(1 / np.maximum(rate[active], 1e-300))
        active &= clock <= t
        counted[active] += 1
        active &= generator.random(customers) >= dropout
    return counted


def test_expected_purchases_match_a_simulation_of_the_model(cdnow):
    model = cv.fit_bgnbd(cdnow)
    weeks = 39
    simulated = simulated_purchases(model, weeks).mean()
    # A new customer (nothing known yet: x = t_x = T = 0).
    assert model.expected_purchases(weeks, 0, 0, 0) == pytest.approx(simulated, rel=0.02)
    # Nobody who never bought again can have dropped out; a long silence after frequent
    # buying makes a customer probably gone.
    assert model.p_alive(0, 0, 38) == 1.0
    assert model.p_alive(10, 37, 38) > 0.9 > 0.1 > model.p_alive(10, 5, 38)
    assert model.expected_purchases(weeks, 10, 35, 38) > model.expected_purchases(
        weeks, 10, 5, 38)


def test_history_counts_a_day_once_and_stops_at_the_date():
    day = date(2026, 1, 5)
    purchases = [("A", day, 10), ("A", day, 5), ("A", day + timedelta(days=14), 30),
                 ("A", day + timedelta(days=60), 99), ("B", day + timedelta(days=61), 1)]
    data = cv.history(purchases, day + timedelta(days=28), unit_days=7)
    assert data.keys == ["A"]
    assert (data.x[0], data.t_x[0], data.T[0], data.mean_value[0]) == (1, 2, 4, 30)


def test_too_little_data_is_refused_with_a_reason():
    day = date(2026, 1, 5)
    one_purchase_each = cv.history([("A", day, 10), ("B", day, 20)], day + timedelta(30))
    with pytest.raises(cv.FitError, match="none who bought again"):
        cv.fit_bgnbd(one_purchase_each)
    with pytest.raises(cv.FitError, match="too few customers"):
        cv.fit_gamma_gamma(one_purchase_each)
    with pytest.raises(cv.FitError):
        cv.value_customers(cv.history([], day), day)
