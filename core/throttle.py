"""Login throttling: after N failed sign-ins within a window, a username (or an IP
address) is refused until the window has moved on.

Counts live in this process's memory by default; with ``[security] ratelimit_storage =
redis://host:6379/0`` they live in Redis, shared by every worker and host. The counting
is the ``limits`` library's (the engine of Flask-Limiter), with a moving window.
"""
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_limiters = {}  # one per storage URI per process, so counts survive app rebuilds


class LoginThrottle:
    def __init__(self, storage_uri, attempts, minutes, namespace):
        if storage_uri not in _limiters:
            _limiters[storage_uri] = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.limiter = _limiters[storage_uri]
        self.item = RateLimitItemPerMinute(attempts, minutes)
        self.namespace = namespace  # one installation's counts apart from another's

    def _keys(self, username, ip):
        return [(self.namespace, "user", username.strip().lower()), (self.namespace, "ip", ip)]

    def wait_seconds(self, username, ip):
        """0 when a sign-in may be tried; else how long until the next try is allowed."""
        wait = 0
        for key in self._keys(username, ip):
            if not self.limiter.test(self.item, *key):
                reset = self.limiter.get_window_stats(self.item, *key).reset_time
                wait = max(wait, reset - time.time())
        return max(0, math.ceil(wait))

    def failed(self, username, ip):
        for key in self._keys(username, ip):
            self.limiter.hit(self.item, *key)

    def succeeded(self, username, ip):
        """A good password clears the username's count (not the address's)."""
        self.limiter.clear(self.item, *self._keys(username, ip)[0])
