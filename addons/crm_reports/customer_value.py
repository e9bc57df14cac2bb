"""Which customers are still buying, how much they will buy, and what they are worth.

Two probability models, fitted by maximum likelihood to each customer's purchase history
(a purchase is a day on which the customer bought; time in days or weeks):

- BG/NBD (Fader, Hardie and Lee, "Counting your customers the easy way: an alternative
  to the Pareto/NBD model", Marketing Science 24(2), 2005): while alive, a customer buys
  at a Poisson rate (gamma-distributed over customers, r and alpha); after each purchase
  they may drop out for good (beta-distributed probability, a and b). From a customer's
  repeat purchases x, the time of the last one t_x and their time as a customer T it
  gives P(alive) and the expected number of purchases in a coming period.
- Gamma-Gamma (Fader, Hardie and Lee, "RFM and CLV: using iso-value curves for customer
  base analysis", Journal of Marketing Research 42(4), 2005): the average value of a
  customer's repeat purchases, fitted on customers who bought again (p, q, gamma).

A customer's expected value over a horizon is their expected purchases times their
expected average purchase value (not discounted). Each fit says when it did not
converge (FitError): the screens then say so rather than show numbers."""
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import optimize, special


class FitError(ValueError):
    """The model could not be fitted to this data (too little of it, or the optimiser
    did not converge): a message for the user, never figures."""


# -- a customer's history as the models read it ------------------------------------------

@dataclass(frozen=True)
class History:
    """Per customer (in the order of ``keys``): repeat purchases x, the time from the
    first purchase to the last t_x, the time from the first purchase to ``until`` T, and
    the mean value of the repeat purchases (0 without any)."""
    keys: list
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    mean_value: np.ndarray


def history(purchases, until, unit_days=1):
    """History of ``purchases``, (customer key, date, amount) in any order, up to and
    including ``until``; purchases on one day are one purchase of their summed amount.
    Times are in units of ``unit_days`` (1: days, 7: weeks). Customers whose first
    purchase is after ``until`` are left out."""
    days = {}
    for key, when, amount in purchases:
        if when <= until:
            by_day = days.setdefault(key, {})
            by_day[when] = by_day.get(when, 0.0) + float(amount)
    summaries = []
    for key in sorted(days, key=str):
        dates = sorted(days[key])
        summaries.append((key, dates[0], dates[-1], len(dates), sum(days[key].values()),
                          days[key][dates[0]]))
    return summarised(summaries, until, unit_days)


def summarised(summaries, until, unit_days=1):
    """History of per-customer summaries (key, first purchase day, last purchase day,
    days with a purchase, total amount, amount of the first day), in that order: what a
    database gives by one GROUP BY, without sending every purchase."""
    keys, x, t_x, T, mean_value = [], [], [], [], []
    for key, first, last, days, total, first_amount in summaries:
        repeats = days - 1
        keys.append(key)
        x.append(repeats)
        t_x.append((last - first).days / unit_days)
        T.append((until - first).days / unit_days)
        mean_value.append((float(total) - float(first_amount)) / repeats if repeats else 0.0)
    return History(keys, np.array(x, dtype=float), np.array(t_x, dtype=float),
                   np.array(T, dtype=float), np.array(mean_value, dtype=float))


LOG_BOUND = 25   # parameters between e^-25 and e^25: far beyond any real customer base


def minimise(cost, parameters):
    """The logarithms of the parameters minimising ``cost``, from all parameters 1:
    L-BFGS-B (about a hundred evaluations of the likelihood, whatever the number of
    customers), on from where it stopped with looser tolerances if its line search gave
    up; failing that, Nelder-Mead from the start, polished by L-BFGS-B. Where the likelihood is flat (customers too alike for a parameter to
    matter: it runs off towards infinity), the methods stop at different places of the
    same height; two of them agreeing on that height is the optimum, and the best place
    found is taken."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * parameters
    options = {"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000}
    first = optimize.minimize(cost, np.zeros(parameters), method="L-BFGS-B", bounds=bounds,
                              options=options)
    if first.success:
        return first
    # Its line search can fail just short of a tight tolerance: on from there, looser.
    looser = optimize.minimize(cost, first.x, method="L-BFGS-B", bounds=bounds)
    if looser.success:
        return looser
    rough = optimize.minimize(cost, np.zeros(parameters), method="Nelder-Mead",
                              options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000,
                                       "maxfev": 40000})
    polished = optimize.minimize(cost, np.clip(rough.x, -LOG_BOUND, LOG_BOUND),
                                 method="L-BFGS-B", bounds=bounds, options=options)
    found = [result for result in (first, looser, rough, polished)
             if np.isfinite(result.fun)]
    if not found:
        return first
    best = min(found, key=lambda result: result.fun)
    agreeing = sum(abs(result.fun - best.fun) <= 1e-6 * max(1.0, abs(best.fun))
                   for result in found)
    best.success = bool(best.success or agreeing >= 2)
    return best


# -- BG/NBD ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def _dropout_odds(self, x, t_x, T):
        """The second term of the likelihood over the first: 0 for customers who never
        bought again (they cannot have dropped out after a repeat purchase)."""
        x, t_x, T = np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (np.log(self.a) - np.log(np.maximum(self.b + x - 1, 1e-300))
                        + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        return np.where(x > 0, np.exp(np.minimum(log_odds, 700)), 0.0)

    def p_alive(self, x, t_x, T):
        """P(the customer is still active | x, t_x, T)."""
        return 1.0 / (1.0 + self._dropout_odds(x, t_x, T))

    def expected_purchases(self, t, x, t_x, T):
        """E[purchases in (T, T + t] | x, t_x, T] (equation 10 of the paper)."""
        x, T = np.asarray(x, float), np.asarray(T, float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        # ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; z) by
        # Euler's transformation, 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B;
        # C; z): its second parameter, a - 1, is small, so the series stays finite where
        # the paper's form overflows (a large b: customers who hardly ever drop out).
        staying = (alpha + T) / (alpha + T + t)
        hyper = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, 1 - staying)
        first = (a + b + x - 1) / (a - 1) * (1 - staying ** (a - 1) * hyper)
        return first / (1.0 + self._dropout_odds(x, t_x, T))


def bgnbd_log_likelihood(params, x, t_x, T):
    """The log-likelihood of each customer's (x, t_x, T) under (r, alpha, a, b)."""
    r, alpha, a, b = params
    head = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
            + special.betaln(a, b + x) - special.betaln(a, b))
    alive = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                   - (r + x) * np.log(alpha + t_x))
    return head + np.where(x > 0, np.logaddexp(alive, dropped), alive)


def fit_bgnbd(data):
    """BG/NBD fitted to a History by maximum likelihood (over the logarithms of the
    parameters, which keeps them positive). Raises FitError."""
    if len(data.keys) < 2 or not (data.x > 0).any():
        raise FitError("too few customers, or none who bought again")
    scale = float(np.max(data.T)) or 1.0   # times in [0, 1]: a better-shaped problem

    def cost(logs):
        value = -bgnbd_log_likelihood(np.exp(logs), data.x, data.t_x / scale,
                                      data.T / scale).sum()
        return value if np.isfinite(value) else 1e300

    found = minimise(cost, 4)
    r, alpha, a, b = np.exp(found.x)
    if not found.success or not np.isfinite([r, alpha, a, b]).all():
        raise FitError(f"the purchase model did not converge ({found.message})")
    return BGNBD(float(r), float(alpha * scale), float(a), float(b))


# -- Gamma-Gamma ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def expected_value(self, x, mean_value):
        """E[a purchase's value | x repeat purchases of mean ``mean_value``]; for a
        customer who never bought again, the mean of all customers."""
        x, mean_value = np.asarray(x, float), np.asarray(mean_value, float)
        own = self.p * (self.gamma + x * mean_value) / (self.p * x + self.q - 1)
        return np.where(x > 0, own, self.population_mean())

    def population_mean(self):
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")


def gamma_gamma_log_likelihood(params, x, mean_value):
    p, q, gamma = params
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
            + q * np.log(gamma) + (p * x - 1) * np.log(mean_value) + p * x * np.log(x)
            - (p * x + q) * np.log(gamma + x * mean_value))


def fit_gamma_gamma(data):
    """Gamma-Gamma fitted on the customers of a History who bought again, with a
    positive mean value. Raises FitError."""
    keep = (data.x > 0) & (data.mean_value > 0)
    if keep.sum() < 2:
        raise FitError("too few customers who bought again to model purchase values")
    x, values = data.x[keep], data.mean_value[keep]
    scale = float(np.mean(values))

    def cost(logs):
        value = -gamma_gamma_log_likelihood(np.exp(logs), x, values / scale).sum()
        return value if np.isfinite(value) else 1e300

    found = minimise(cost, 3)
    p, q, gamma = np.exp(found.x)
    if not found.success or not np.isfinite([p, q, gamma]).all():
        raise FitError(f"the purchase value model did not converge ({found.message})")
    if q <= 1:   # the mean purchase value would be infinite
        raise FitError("the customers' purchase values vary too widely for the purchase "
                       "value model (q ≤ 1)")
    return GammaGamma(float(p), float(q), float(gamma * scale))


# -- the two together -----------------------------------------------------------------------

@dataclass(frozen=True)
class Valuation:
    until: date
    unit_days: int
    horizon: float
    purchases: BGNBD
    values: GammaGamma
    data: History
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_value: np.ndarray


def value_customers(data, until, unit_days=1, horizon=365):
    """Both models fitted to a History up to ``until``, and per customer P(alive), the
    expected purchases over ``horizon`` units and their expected value. Raises
    FitError."""
    purchase_model = fit_bgnbd(data)
    value_model = fit_gamma_gamma(data)
    alive = purchase_model.p_alive(data.x, data.t_x, data.T)
    expected = purchase_model.expected_purchases(horizon, data.x, data.t_x, data.T)
    value = expected * value_model.expected_value(data.x, data.mean_value)
    if not (np.isfinite(alive).all() and np.isfinite(expected).all()
            and np.isfinite(value).all()):
        raise FitError("the fitted models give no usable figures for some customers")
    return Valuation(until, unit_days, horizon, purchase_model, value_model, data, alive,
                     expected, value)
