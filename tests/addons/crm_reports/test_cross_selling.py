"""Products bought together (addons/crm_reports/cross_selling.py): support, confidence
and lift against a table worked by hand, and the suggestions they make."""
import pytest

from addons.crm_reports.cross_selling import rules, suggestions

# Six orders. A is in 4, B in 4, C in 3, D in 1; A+B together in 3, A+C in 2, B+C in 2.
BASKETS = [["A", "B"], ["A", "B", "C"], ["A", "C"], ["B", "C"], ["A", "B", "B"], ["D"]]


def test_support_confidence_and_lift_by_hand():
    found = {(rule.bought, rule.also): rule for rule in rules(BASKETS)}
    a_b = found[("A", "B")]
    # support 3/6; confidence 3/4; lift 0.75 / (4/6) = 1.125
    assert (a_b.baskets, a_b.support, a_b.confidence) == (3, 0.5, 0.75)
    assert a_b.lift == pytest.approx(1.125)
    c_a = found[("C", "A")]
    assert (c_a.baskets, c_a.confidence) == (2, pytest.approx(2 / 3))
    assert c_a.lift == pytest.approx(1.0)
    # D was bought alone; a pair in one basket only is left out.
    assert not any("D" in pair for pair in found)
    assert len(rules(BASKETS, min_baskets=3)) == 2


def test_strongest_rules_first_and_the_lift_threshold():
    assert [(rule.bought, rule.also) for rule in rules(BASKETS)] == [
        ("A", "B"), ("B", "A"), ("C", "A"), ("C", "B"), ("A", "C"), ("B", "C")]
    assert [(rule.bought, rule.also) for rule in rules(BASKETS, min_lift=1.01)] == [
        ("A", "B"), ("B", "A")]
    assert rules([]) == [] and rules([["A"], ["B"]]) == []


def test_suggestions_are_what_the_rules_lead_to_and_the_customer_lacks():
    found = rules(BASKETS)
    assert [rule.also for rule in suggestions({"A"}, found)] == ["B", "C"]
    assert [(rule.bought, rule.also) for rule in suggestions({"A", "B"}, found)] == [
        ("A", "C")]
    assert suggestions({"D"}, found) == [] and suggestions({"A", "B", "C"}, found) == []
    assert len(suggestions({"A"}, found, limit=1)) == 1
