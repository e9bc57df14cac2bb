"""Named extension points through which addons add to each other's pages.

An addon connects a handler when its code is imported; since every installable addon is
imported at start-up, a handler runs only while its addon is enabled.

    from core import hooks

    @hooks.connect("dashboard.panels")
    def open_tickets_panel():
        return {"title": ..., "html": ...}

Some hooks are called inside the caller's transaction, after it has flushed its record
and before it commits: a handler writes in the same transaction, or raises Refused to
undo the whole action (the caller rolls back and shows the message). Sales calls
``sales.delivery_posted`` and ``sales.return_posted`` with a new delivery or customer
return, ``sales.delivery_deleted`` and ``sales.return_deleted`` with one being deleted
(Purchase moves stock on them); the README lists every hook.
"""
from collections import defaultdict

_handlers = defaultdict(list)


class Refused(Exception):
    """A handler's refusal of what it is asked to do (bill a fee on an order the user
    may not create, say); str() says why, in the user's words. The caller rolls back."""


def connect(name):
    def register(func):
        if func not in _handlers[name]:
            _handlers[name].append(func)
        return func
    return register


def owner(func):
    """The addon a handler belongs to, or None for the core."""
    parts = func.__module__.split(".")
    return parts[1] if parts[0] == "addons" and len(parts) > 1 else None


class Hooks:
    """The handlers of one set of enabled addons."""

    def __init__(self, enabled):
        self.enabled = set(enabled)

    def handlers(self, name):
        return [f for f in _handlers[name] if owner(f) is None or owner(f) in self.enabled]

    def call(self, name, *args, **kwargs):
        """Call every live handler; return their results, leaving out None."""
        results = (handler(*args, **kwargs) for handler in self.handlers(name))
        return [result for result in results if result is not None]

    def first(self, name, *args, **kwargs):
        """Call the live handlers in order until one returns something; return that,
        or None when none does (the first taker of an incoming email, say)."""
        for handler in self.handlers(name):
            result = handler(*args, **kwargs)
            if result is not None:
                return result
        return None
