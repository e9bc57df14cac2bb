"""A per-visitor rate limit for public pages (a web-to-lead form, the self-service
page): so many posts per hour from one address, over a moving window.

    from core import ratelimit
    if not ratelimit.allows("web_lead", form.id, per_hour=5):
        ...   # refuse: too many from this address
    wait = ratelimit.counted(RateLimitItemPerMinute(600), "api", token.id)   # by a key


The counts live where [security] ratelimit_storage says: "memory://" counts per process
(one worker), a Redis URI ("redis://host:6379") is shared by every worker and host.
Logins are throttled differently, in the database (core.throttle)."""
import math
import time

from flask import current_app, request
from limits import RateLimitItemPerHour
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_limiters = {}   # one per storage URI per process: the memory storage lives in it


def allows(scope, *keys, per_hour):
    """Count one hit of this request's address for ``scope`` (and ``keys``, say a
    form's id); False when the address has already had ``per_hour`` hits within the
    last hour (this one is then not counted)."""
    return counted(RateLimitItemPerHour(max(1, int(per_hour))), scope, *keys,
                   request.remote_addr or "") is None


def counted(item, scope, *keys):
    """Count one hit for ``scope`` and ``keys`` against ``item`` (a limits rate: so many
    per minute, per hour); None when it is within the rate, else the seconds until the
    next hit would be (this one is then not counted)."""
    settings = current_app.extensions["crm"].settings
    uri = settings.get("security", "ratelimit_storage", "memory://")
    if uri not in _limiters:
        _limiters[uri] = MovingWindowRateLimiter(storage_from_string(uri))
    limiter = _limiters[uri]
    # The installation's folder keeps one installation's counts apart from another's
    # on a shared Redis.
    identifiers = (str(settings.instance_path), scope, *map(str, keys))
    if limiter.hit(item, *identifiers):
        return None
    reset_at = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_at - time.time()))
