from . import activities, hooks  # noqa: F401  (their hook handlers connect on import)
