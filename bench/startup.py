"""Cold start and memory of one web process with every addon enabled.

Each run is a fresh Python process: import, build the app for every installable addon
on the paths, and answer /healthz. Measures wall time from process start to the first
answered request, and the peak resident memory (RSS) of the process. bench/run.py
records these with the rest; this script prints them alone.

    python bench/startup.py [--runs 5] [--database-url URL]
"""
import argparse
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


def generated_site(folder, database_url, addons, default_name, fill, kept=None):
    """The environment of a benchmark's site (``addons`` enabled, on ``database_url`` or
    a SQLite file ``default_name`` in ``folder``) and its data: ``kept(database_url)``
    says what an earlier run left that may be measured again (upgraded), or None; otherwise the
    database starts empty and ``fill(database_url)`` generates it ({table: rows}).
    Returns (env, None when kept, else {"seconds", "counts"})."""
    env = site_environment(folder, [ROOT / "addons"], addons)
    if database_url is None:
        database_url = f"sqlite:///{folder}/{default_name}"
    env["CRM_DATABASE_URL"] = database_url
    os.environ.update(env)
    held = kept(database_url) if kept else None
    if held:
        print(f"kept: {held} in {database_url}", flush=True)
        run_cli(env, "upgrade")     # the tables as this version has them
        return env, None
    if database_url.startswith("postgres"):
        fresh_database(database_url)
    elif os.path.exists(database_url.split("///", 1)[1]):
        os.remove(database_url.split("///", 1)[1])
    run_cli(env, "init")
    started = time.perf_counter()
    counts = fill(database_url)
    generated = time.perf_counter() - started
    print(f"generated in {generated:.0f} s: " + ", ".join(
        f"{table} {count:,}" for table, count in counts.items() if count > 100), flush=True)
    return env, {"seconds": round(generated), "counts": counts}


def high_water(session, tables):
    """The last id of each of ``tables`` (those this version has), to delete what a
    measured run adds (delete_since) so that a kept database can be measured again."""
    from sqlalchemy import text
    found = {}
    for table in tables:
        try:
            with session.begin_nested():
                found[table] = session.execute(text(f"SELECT max(id) FROM {table}")).scalar() or 0
        except Exception:  # noqa: BLE001 - a table this version has not
            pass
    session.commit()
    return found


def delete_since(session, marks):
    """Delete the rows added since high_water (in the order of its tables: children
    first), and commit."""
    from sqlalchemy import text
    for table, last in marks.items():
        session.execute(text(f"DELETE FROM {table} WHERE id > :last"), {"last": last})
    session.commit()


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


def results(database_url=None, runs=5):
    """The cold start and memory figures, as bench/run.py records them."""
    with tempfile.TemporaryDirectory() as folder:
        env, _names = prepare(Path(folder), database_url)
        median_ms, worst_ms, rss_mb = measure(env, runs)
    return [{"name": "cold start to first request, every addon enabled",
             "db": "postgresql" if database_url else "sqlite", "rows": 0,
             "median_ms": round(median_ms, 1), "p95_ms": round(worst_ms, 1), "queries": None,
             "peak_mb": round(rss_mb, 1)}]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database to drop and create for the run "
                             "(default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    [result] = results(args.database_url, args.runs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"| cold start to first request | {result['db']} | {result['median_ms']:.0f} ms | "
          f"{result['p95_ms']:.0f} ms (worst of {args.runs}) | < 1500 ms |")
    print(f"| peak RSS of one web process | {result['db']} | {result['peak_mb']:.0f} MB | | < 120 MB |")


if __name__ == "__main__":
    main()


def measured_site(env, row_line):
    """The application of a benchmark's site (``env`` from generated_site), and where
    its results go: (dispatcher, engine, db name, results, record), where
    ``record(name, rows, figures)`` adds a result, with the load average, and prints its
    row (``row_line``)."""
    from core.app import Dispatcher
    database_url = env["CRM_DATABASE_URL"]
    db_name = "postgresql" if database_url.startswith("postgres") else "sqlite"
    dispatcher = Dispatcher()
    dispatcher.app   # built now, with its engine
    results = []

    def record(name, rows, figures):
        results.append({"name": name, "db": db_name, "rows": rows, **figures,
                        "load": round(os.getloadavg()[0], 1)})
        print(row_line(results[-1]), flush=True)
    return dispatcher, dispatcher._engine, db_name, results, record


def analyse_tables(engine):
    """Fresh planner statistics after a load: VACUUM ANALYZE on PostgreSQL (outside a
    transaction), ANALYZE on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
