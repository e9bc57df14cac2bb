"""Small helpers shared by the core's modules."""


def int_ids(values):
    """Record ids from a form or a URL, as integers; anything else is dropped.

    Ids arrive as text, and PostgreSQL will not compare an integer column with text."""
    return [int(value) for value in values if str(value).strip().isdigit()]
