"""The core of the CRM suite: the addon registry, the base screens, security, the
scheduler, migrations and backups. Addons build on it; it names none of them."""

# The suite's version, written into every backup's manifest.
__version__ = "0.15.0"
