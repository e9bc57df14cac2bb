"""ABC classes and RFM scores (addons/crm_reports/scoring.py) against tables worked by
hand, at their boundaries."""
from datetime import date, timedelta

import pytest

from addons.crm_reports.scoring import (SEGMENTS, abc_classes, check_breakpoints,
                                        quintile_scores, rfm_scores, rfm_segment)


def test_abc_by_the_share_of_revenue_before_each_customer():
    # Revenue 100: shares before each customer 0, 50, 80, 90, 95, 98 %.
    revenues = {"c1": 50, "c2": 30, "c3": 10, "c4": 5, "c5": 3, "c6": 2, "c7": 0}
    assert abc_classes(revenues) == {"c1": "A", "c2": "A", "c3": "B", "c4": "B",
                                     "c5": "C", "c6": "C", "c7": "C"}
    # One customer with 90 % is A, not B; the next starts at 90 % and is B.
    assert abc_classes({"big": 90, "small": 8, "tiny": 2}) == {
        "big": "A", "small": "B", "tiny": "C"}
    # Other breakpoints: 50/30/20.
    assert abc_classes(revenues, (50, 30, 20)) == {"c1": "A", "c2": "B", "c3": "C",
                                                   "c4": "C", "c5": "C", "c6": "C",
                                                   "c7": "C"}
    # Equal revenues: the key decides the order; nothing sold, everyone C.
    assert abc_classes({"b": 10, "a": 10, "c": 10}) == {"a": "A", "b": "A", "c": "A"}
    assert abc_classes({"a": 0, "b": -5}) == {"a": "C", "b": "C"}
    assert abc_classes({}) == {}


def test_breakpoints_are_three_positive_percentages_adding_up_to_100():
    assert check_breakpoints((80, 15, 5)) is None
    assert "add up to 100" in check_breakpoints((80, 15, 10))
    assert "above 0" in check_breakpoints((80, 20, 0))
    assert "three percentages" in check_breakpoints((80, 20))


def test_quintiles_split_ten_customers_two_a_score_and_ties_share_one():
    assert quintile_scores({n: n for n in range(10)}) == {
        0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4, 8: 5, 9: 5}
    assert quintile_scores({"a": 7, "b": 7, "c": 7}) == {"a": 1, "b": 1, "c": 1}
    assert quintile_scores({"a": 1, "b": 2, "c": 2, "d": 2, "e": 9}) == {
        "a": 1, "b": 2, "c": 2, "d": 2, "e": 5}


def test_rfm_scores_and_their_segments():
    today = date(2026, 12, 1)
    figures = {f"c{n}": (today - timedelta(days=10 * n), 10 - n, 100 * n)
               for n in range(10)}
    scores = rfm_scores(figures, today)
    # c0 bought today, most often, least money; c9 90 days ago, once, most money.
    assert scores["c0"] == (5, 5, 1) and scores["c9"] == (1, 1, 5)
    assert scores["c4"] == (3, 3, 3) and scores["c5"] == (3, 3, 3)
    assert [rfm_segment(*scores[key][:2]) for key in ("c0", "c4", "c9")] == [
        "Champions", "Loyal", "Hibernating"]


@pytest.mark.parametrize("recency, frequency, segment", [
    (5, 5, "Champions"), (4, 4, "Champions"), (3, 5, "Loyal"), (5, 3, "Loyal"),
    (4, 2, "Potential loyalists"), (5, 1, "New customers"), (4, 1, "Promising"),
    (3, 2, "Need attention"), (3, 1, "Need attention"), (2, 5, "Can't lose them"),
    (1, 4, "At risk"), (2, 3, "At risk"), (2, 2, "Hibernating"), (1, 1, "Hibernating")])
def test_every_pair_of_scores_has_one_segment(recency, frequency, segment):
    assert rfm_segment(recency, frequency) == segment
    matching = [name for name, r_low, r_high, f_low, f_high in SEGMENTS
                if r_low <= recency <= r_high and f_low <= frequency <= f_high]
    assert matching[0] == segment


def test_no_pair_of_scores_is_left_without_a_segment():
    for recency in range(1, 6):
        for frequency in range(1, 6):
            assert rfm_segment(recency, frequency)
