"""The throughput run: the suite under gunicorn (2 workers, loopback) and a bounded load
from wrk (50 connections, each a signed-in salesperson, each asking again as soon as it
is answered) on the customer list and on the 360° page. bench/run.py calls ``run`` on
its site; wrk comes from Debian's package (``make install`` installs it as root).

Every connection is one of the generator's 50 salespeople, signed in through the login
form; each opens their own list and their own first customer (record rules apply).
"""
import http.cookiejar
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 50
WORKERS = 2

# wrk's Lua: each request takes the next (header, its value, path); at the end, one line
# of figures (latencies are in microseconds).
SCRIPT = """
local pairs = {%s}
local next_pair = 0
request = function()
  next_pair = next_pair %% #pairs + 1
  local pair = pairs[next_pair]
  return wrk.format("GET", pair[3], {[pair[1]] = pair[2]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run(env, facts, seconds, connections=CONNECTIONS, pdf_checks=(), pdf_runs=10):
    """[{"name", "median_ms", "p95_ms", "queries", "rps", "peak_mb"}] for the list and
    the 360° page (peak_mb: the peak resident memory of a worker), then the PDFs of
    ``pdf_checks`` ((name, path, rows) of bench.run.page_checks) asked for one at a time,
    ``pdf_runs`` timed requests each; [] (and a line saying why) when wrk is not
    installed."""
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk): throughput run skipped")
        return []
    with served(env) as (base, server, folder):
        cookies = {user_id: sign_in(base, name) for user_id, name in facts["users"]}
        checks = [
            ("customer list, first page",
             [("Cookie", cookie, "/admin/customer/") for cookie in cookies.values()]),
            ("360° customer page",
             [("Cookie", cookie, f"/admin/customer/details/?id={facts['customer_of'][user_id]}")
              for user_id, cookie in cookies.items()]),
        ]
        results = [loaded(base, server, folder, name, requests, seconds, connections)
                   for name, requests in checks]
        # A PDF as a user gets it from a worker: its time there differs from the
        # same rendering in the harness's process (BENCHMARKS.md).
        for name, path, rows in pdf_checks:
            figures = one_at_a_time(base + path, cookies[facts["user_id"]], pdf_runs)
            results.append({"name": f"{name}, from a gunicorn worker", "rows": rows,
                            **figures})
    return results


@contextmanager
def served(env):
    """The site under gunicorn (WORKERS workers, loopback): (its address, the gunicorn
    process, a scratch folder); its log is printed when the block fails."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="crm-wrk-") as folder, \
            open(Path(folder) / "gunicorn.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
             f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning", "run:app"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(base + "/healthz", server)
            yield base, server, folder
        except Exception:
            log.flush()
            print((Path(folder) / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)


def loaded(base, server, folder, name, requests, seconds, connections=CONNECTIONS):
    """wrk's figures for ``requests`` ([(header, value, path)], asked in turns by
    ``connections`` connections for ``seconds``), each checked to answer 200 first."""
    for header, value, path in requests:
        check_page(base + path, header, value)
    script = Path(folder) / "load.lua"
    script.write_text(SCRIPT % ", ".join(
        f"{{[==[{header}]==], [==[{value}]==], [==[{path}]==]}}"
        for header, value, path in requests))
    wrk(base, script, 5, connections)   # both workers build the app first
    figures = wrk(base, script, seconds, connections)
    figures["peak_mb"] = worker_peak_mb(server.pid)
    return {"name": f"throughput, {name}: gunicorn {WORKERS} workers, wrk {connections} "
                    f"connections, {seconds} s", **figures}


def wrk(base, script, seconds, connections):
    out = subprocess.run(["wrk", "--threads", "2", "--connections", str(connections),
                          "--duration", f"{seconds}s", "--timeout", "10s", "--script",
                          str(script), base + "/"],
                         capture_output=True, text=True, check=True).stdout
    requests, duration, median, p95, errors = map(int, re.search(
        r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M).groups())
    if errors or not requests:
        raise RuntimeError(f"wrk: {requests} requests answered, {errors} failed:\n{out}")
    return {"median_ms": round(median / 1000, 1), "p95_ms": round(p95 / 1000, 1),
            "queries": None, "rps": round(requests / (duration / 1e6), 1)}


def one_at_a_time(url, cookie, runs, warm_ups=3):
    """Median and p95 of ``runs`` GETs of ``url``, each sent when the last is answered."""
    from bench.run import summary
    times = []
    for attempt in range(warm_ups + runs):
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            response.read()
        if attempt >= warm_ups:
            times.append((time.perf_counter() - started) * 1000)
    return {**summary(times), "queries": None}


def worker_peak_mb(master_pid):
    """The highest peak resident memory (VmHWM) of gunicorn's workers so far, in MB."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:   # a process that ended meanwhile
            continue
        if re.search(rf"^PPid:\s+{master_pid}$", text, re.M):
            peaks.append(int(re.search(r"^VmHWM:\s+(\d+) kB", text, re.M).group(1)) / 1024)
    return round(max(peaks), 1) if peaks else None


def sign_in(base, username):
    """The Cookie header of a session signed in through the login form."""
    from bench.run import PASSWORD, csrf_token
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = csrf_token(opener.open(base + "/login").read().decode())
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                   "csrf_token": token}).encode()
    opener.open(base + "/login", data=form)
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def check_page(url, header, value):
    request = urllib.request.Request(url, headers={header: value})
    with urllib.request.urlopen(request) as response:
        if response.status != 200 or response.url != url:
            raise RuntimeError(f"{url} answered {response.status} at {response.url}")


def wait_for(url, server, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn stopped; see its log")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} in {seconds} s")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
