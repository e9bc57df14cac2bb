"""Products bought together, and what to offer a customer next.

A basket is the set of products of one order. For two products X and Y over all baskets:
support(X, Y) is the share of baskets holding both; confidence(X -> Y) the share of the
baskets holding X that hold Y too; lift(X -> Y) the confidence over Y's own share (above
1: buying X makes Y likelier than it is anyway)."""
from collections import Counter
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Rule:
    bought: object          # X
    also: object            # Y
    baskets: int            # baskets holding both
    support: float
    confidence: float
    lift: float


def rules(baskets, min_baskets=2, min_lift=1.0):
    """The rules X -> Y of ``baskets`` (iterables of product keys) that hold in at least
    ``min_baskets`` baskets with a lift of at least ``min_lift``: strongest first (by
    lift, then confidence, then the number of baskets)."""
    singles, pairs, total = Counter(), Counter(), 0
    for basket in baskets:
        products = sorted(set(basket), key=str)
        total += 1
        singles.update(products)
        pairs.update(combinations(products, 2))
    found = []
    for (first, second), together in pairs.items():
        if together < min_baskets:
            continue
        for bought, also in ((first, second), (second, first)):
            confidence = together / singles[bought]
            lift = confidence / (singles[also] / total)
            if lift >= min_lift:
                found.append(Rule(bought, also, together, together / total, confidence,
                                  lift))
    return sorted(found, key=lambda rule: (-rule.lift, -rule.confidence, -rule.baskets,
                                           str(rule.bought), str(rule.also)))


def suggestions(owned, found_rules, limit=5):
    """What to offer a customer who has bought ``owned``: the products the rules lead to
    from what they own and they do not have yet, each with its strongest rule."""
    owned = set(owned)
    best = {}
    for rule in found_rules:      # strongest first: the first rule for a product is kept
        if rule.bought in owned and rule.also not in owned and rule.also not in best:
            best[rule.also] = rule
    return list(best.values())[:limit]
