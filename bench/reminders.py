"""A reminder job over many due items: the fixture addon's "remind the owner of each
open task" job (written with core.notifications.notify_from_select) over N open tasks.

    python bench/reminders.py [--items 100000] [--database-url URL]
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import RESULTS, run_cli, site_environment  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = site_environment(folder, [ROOT / "tests" / "fixtures" / "addons"],
                               ["fixture_notes", "fixture_tasks"], args.database_url)
        run_cli(env, "init")
        os.environ.update(env)
        from core.app import create_app
        from core.db import db
        from core.models import User
        app = create_app()   # loads the addons: addons.fixture_tasks exists from here on
        from addons.fixture_tasks.models import Task
        with app.app_context():
            users = [User(username=f"bench{n}", full_name=f"Bench {n}", password_hash="x")
                     for n in range(args.users)]
            db.session.add_all(users)
            db.session.flush()
            stamp = datetime(2026, 1, 1)
            db.session.execute(Task.__table__.insert(), [
                {"title": f"task {n}", "done": False, "owner_id": users[n % args.users].id,
                 "created_at": stamp, "updated_at": stamp}
                for n in range(args.items)])
            db.session.commit()
            db.engine.dispose()
        started = time.perf_counter()
        result = run_cli(env, "run-job", "tasks.remind_open").strip()
        elapsed = time.perf_counter() - started
    db_name = "postgresql" if args.database_url else "sqlite"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"reminders-{db_name}.json").write_text(json.dumps([{
        "name": "reminder job", "db": db_name, "rows": args.items,
        "median_ms": round(elapsed * 1000), "p95_ms": round(elapsed * 1000), "queries": None}]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {result}")
    print(f"| reminder job over {args.items} due items | {db_name} | {elapsed:.1f} s "
          "(whole command, start-up included) | < 30 s |")


if __name__ == "__main__":
    main()
