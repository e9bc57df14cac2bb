"""Scheduled jobs of Sales."""


def expire_quotes():
    return ""


def remind_expiring_contracts():
    return ""
