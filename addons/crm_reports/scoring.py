"""Customers ranked by what they bring: ABC classes by share of revenue, and RFM scores
(recency, frequency, monetary value, 1 to 5 by quintile) with the segments they name.

Both work on plain figures per customer (the reports read them from the database) and
give the same answer for the same figures: ties are broken by the customer's key."""
from core.i18n import mark

DEFAULT_BREAKPOINTS = (80, 15, 5)   # % of revenue in classes A, B and C


def abc_classes(revenues, breakpoints=DEFAULT_BREAKPOINTS):
    """{customer key: "A", "B" or "C"} for {customer key: revenue in the period}.

    Customers are taken from the largest revenue down; a customer is A while the share
    of the revenue before them is under the first breakpoint (so the customer who
    crosses 80 % is still A: the top customer is A even if they alone bring 90 %), B
    while it is under the first two, C after, and always C without revenue."""
    a_share, b_share, _c_share = breakpoints
    total = sum(value for value in revenues.values() if value > 0)
    classes, before = {}, 0
    for key, value in sorted(revenues.items(), key=lambda item: (-item[1], str(item[0]))):
        if value <= 0 or total <= 0:
            classes[key] = "C"
            continue
        share = 100 * before / total
        classes[key] = "A" if share < a_share else "B" if share < a_share + b_share else "C"
        before += value
    return classes


def check_breakpoints(breakpoints):
    """None, or why three breakpoints (A, B, C in %) are not usable."""
    if len(breakpoints) != 3 or any(value <= 0 for value in breakpoints):
        return mark("Give three percentages above 0, for classes A, B and C.")
    if sum(breakpoints) != 100:
        return mark("The three percentages must add up to 100.")
    return None


def quintile_scores(values):
    """{key: 1..5} for {key: number}: 1 + the fifth of customers whose value is lower
    (so ties share a score, and with five or more distinct values each score is used)."""
    ordered = sorted(values.values())
    count = len(ordered)
    scores, lower = {}, {}
    for index, value in enumerate(ordered):
        lower.setdefault(value, index)          # how many are strictly lower
    for key, value in values.items():
        scores[key] = 1 + min(4, (5 * lower[value]) // count)
    return scores


def rfm_scores(figures, as_of):
    """{key: (R, F, M)} for {key: (date of the last purchase, purchases, amount)} over
    the window ending ``as_of``: R is higher the more recent the last purchase."""
    recency = quintile_scores({key: -(as_of - last).days for key, (last, _f, _m)
                               in figures.items()})
    frequency = quintile_scores({key: count for key, (_l, count, _m) in figures.items()})
    monetary = quintile_scores({key: amount for key, (_l, _f, amount) in figures.items()})
    return {key: (recency[key], frequency[key], monetary[key]) for key in figures}


# The segments by recency and frequency, the first that matches: each (name, lowest R,
# highest R, lowest F, highest F). Every pair of scores falls in one.
SEGMENTS = (
    (mark("Champions"), 4, 5, 4, 5),
    (mark("Loyal"), 3, 5, 3, 5),
    (mark("Potential loyalists"), 4, 5, 2, 2),
    (mark("New customers"), 5, 5, 1, 1),
    (mark("Promising"), 4, 4, 1, 1),
    (mark("Need attention"), 3, 3, 1, 2),
    (mark("Can't lose them"), 1, 2, 5, 5),
    (mark("At risk"), 1, 2, 3, 4),
    (mark("Hibernating"), 1, 2, 1, 2),
)


def rfm_segment(recency, frequency):
    return next(name for name, r_low, r_high, f_low, f_high in SEGMENTS
                if r_low <= recency <= r_high and f_low <= frequency <= f_high)
