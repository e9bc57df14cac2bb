"""The command line (``python run.py --help``) and the WSGI application (``run:app``)."""
from core.app import Dispatcher
from core.cli import cli

# Built lazily on the first request, so importing this file needs no database.
app = Dispatcher()

if __name__ == "__main__":
    cli()
