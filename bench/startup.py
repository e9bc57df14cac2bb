"""Cold start and memory of one web process with every addon enabled.

Each run is a fresh Python process: import, build the app for every installable addon
on the paths, and answer a signed-in list page. Measures wall time from process start
to the first answered request, and the peak resident memory (RSS) of the process.

    python bench/startup.py [--runs 5] [--database-url URL]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADDON_PATHS = [ROOT / "addons", ROOT / "tests" / "fixtures" / "addons"]

CHILD = r"""
import resource, sys, time
started = float(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from werkzeug.test import Client
import run
client = Client(run.app)
status = client.get("/healthz").status_code
elapsed = time.time() - started
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(status, elapsed, rss_mb)
"""


def site_environment(folder, addon_paths, enabled, database_url=None):
    """A config.ini in ``folder`` with those addons, and the environment that uses it
    (on a fresh PostgreSQL database when ``database_url`` is given)."""
    config = Path(folder) / "config.ini"
    config.write_text("[core]\ninstance_path = instance\n[addons]\n"
                      f"paths = {', '.join(str(p) for p in addon_paths)}\n"
                      f"enabled = {', '.join(enabled)}\n[scheduler]\nrun_in_web = false\n",
                      encoding="utf-8")
    env = {**os.environ, "CRM_CONFIG": str(config)}
    if database_url:
        fresh_database(database_url)
        env["CRM_DATABASE_URL"] = database_url
    return env


def run_cli(env, *args):
    """``python run.py ARGS`` on the benchmark's site; its output (an error with the
    command's own when it fails)."""
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"run.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def fresh_database(url):
    """Drop and create the PostgreSQL database named in url, so every run starts empty."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    sys.path.insert(0, str(ROOT))
    from core.config import normalise_database_url
    target = make_url(normalise_database_url(url))
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()


def prepare(folder, database_url):
    env = site_environment(folder, ADDON_PATHS, [], database_url)
    run_cli(env, "init")
    names = [line.split("\t")[0] for line in run_cli(env, "addons", "list").splitlines()
             if "\t" in line and "\tnot installable" not in line]
    for name in names:
        run_cli(env, "addons", "enable", name)
    return env, names


def measure(env, runs):
    times, memory = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD, str(time.time()), str(ROOT)],
                             env=env, check=True, capture_output=True, text=True).stdout
        status, elapsed, rss = out.split()
        assert status == "200", out
        times.append(float(elapsed) * 1000)
        memory.append(float(rss))
    return statistics.median(times), max(times), statistics.median(memory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database to drop and create for the run "
                             "(default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env, names = prepare(Path(folder), args.database_url)
        median_ms, worst_ms, rss_mb = measure(env, args.runs)
    db = "postgresql" if args.database_url else "sqlite"
    results = [
        {"name": "cold start to first request", "db": db, "rows": 0,
         "median_ms": round(median_ms, 1), "p95_ms": round(worst_ms, 1), "queries": None},
        {"name": "RSS per web process (MB)", "db": db, "rows": 0,
         "median_ms": None, "p95_ms": None, "queries": None, "value": round(rss_mb, 1)},
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"startup-{db}.json").write_text(json.dumps(results, indent=2))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"addons enabled: {', '.join(names) or 'none'}; runs: {args.runs}")
    print("| measure | db | median | worst | target |")
    print("|---|---|---|---|---|")
    print(f"| cold start to first request | {db} | {median_ms:.0f} ms | {worst_ms:.0f} ms | < 1500 ms |")
    print(f"| peak RSS of one web process | {db} | {rss_mb:.0f} MB | | < 120 MB |")


if __name__ == "__main__":
    main()
