"""A 500 MB upload and download through one gunicorn worker, with the worker's memory.

    python bench/docs_transfer.py [--size-mb 500] [--storage folder|database|both]
                                  [--database sqlite|URL ...] [--work DIR] [--keep]

For each --database (``sqlite``, the default, or a PostgreSQL URL, whose database is
dropped and made again) and storage: a temporary site with crm_docs enabled, [core] max_upload_mb = size + 100 and
[files] storage as asked, served by gunicorn with one sync worker (--timeout 900: a
sync worker that spends longer than the timeout on one request is killed, so a site
taking big files needs a long one). The benchmark signs in as the administrator and
sends the file to the library's upload form (POST /admin/document/new/, multipart, the
CSRF token read from the form), then downloads it (GET /admin/document/download/?id=N)
and checks its SHA-256. The file is made as it is sent (os.urandom, behind an MP4
header, so the library takes it for a video): the client holds a mebibyte at a time.

The worker's resident memory is read from /proc/<pid>/status: VmRSS before (after a
warm-up upload and download of 1 MB, so that code imported on first use counts as
before), the peak of each phase (VmHWM, reset through /proc/<pid>/clear_refs before
it, so it is the true peak, not a sample) and VmRSS after. The growth, the highest
peak less the memory before, must stay under 50 MB.

Prints the figures and writes them, with the machine and the method, to
/tmp/bench_docs_transfer.md (--report) and bench/results/docs-transfer-latest.json.
"""
import argparse
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.throughput import free_port  # noqa: E402

MB = 2 ** 20
BLOCK = MB
LIMIT_MB = 50
PASSWORD = "bench transfer password"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


# -- the site ---------------------------------------------------------------------------

def make_site(folder, size_mb, storage, database_url):
    config = folder / "config.ini"
    config.write_text(
        f"[core]\ninstance_path = instance\nmax_upload_mb = {size_mb + 100}\n"
        f"[addons]\npaths = {ROOT / 'addons'}\nenabled = crm_docs\n"
        f"[files]\nstorage = {storage}\n"
        "[scheduler]\nrun_in_web = false\n", encoding="utf-8")
    env = {**os.environ, "CRM_CONFIG": str(config)}
    if database_url:
        from bench.startup import fresh_database
        fresh_database(database_url)
        env["CRM_DATABASE_URL"] = database_url
    cli(env, "init")
    cli(env, "create-admin", "--username", "admin", "--password", PASSWORD)
    # A folder of the library to upload into.
    subprocess.run([sys.executable, "-c", (
        "from core.app import create_app\nfrom core.config import load_settings\n"
        "from core.db import db\n"
        "app = create_app(load_settings())\n"
        "with app.app_context():\n"
        "    from addons.crm_docs.models import Folder\n"
        "    db.session.add(Folder(name='Videos')); db.session.commit()\n")],
        env=env, cwd=ROOT, check=True)
    return env


def cli(env, *args):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"run.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


# -- the worker's memory ---------------------------------------------------------------------

def status_kb(pid, key):
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))


def reset_peak(pid):
    """Make VmHWM start again from the present RSS (Linux 4.0+)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def worker_of(master):
    deadline = time.time() + 30
    while time.time() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


# -- a client that streams -----------------------------------------------------------------

class Browser:
    """Just enough of a browser: a cookie, CSRF tokens from pages, a streamed body."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1800)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return connection, response

    def page(self, path):
        connection, response = self.request("GET", path)
        text = response.read().decode()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
        return text

    def token(self, path):
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.page(path)).group(1)

    def login(self, username, password):
        body = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrf_token": self.token("/login")})
        connection, response = self.request(
            "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        response.read()
        connection.close()
        assert response.status == 302, f"login: {response.status}"

    def upload(self, folder_id, name, size):
        """Send ``size`` bytes made on the fly to the library's upload form; returns
        (document id, SHA-256 sent, seconds)."""
        token = self.token("/admin/document/new/")
        boundary = "----crm-bench-" + os.urandom(8).hex()
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in (("csrf_token", token), ("folder", folder_id))).encode()
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                 f'filename="{name}"\r\nContent-Type: video/mp4\r\n\r\n').encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        digest = hashlib.sha256()

        def body():
            yield head
            sent = 0
            while sent < size:
                block = (MP4_HEAD + os.urandom(BLOCK - len(MP4_HEAD))) if sent == 0 \
                    else os.urandom(min(BLOCK, size - sent))
                block = block[:size - sent]
                digest.update(block)
                sent += len(block)
                yield block
            yield tail

        started = time.perf_counter()
        connection, response = self.request(
            "POST", "/admin/document/new/", body(),
            {"Content-Type": f"multipart/form-data; boundary={boundary}",
             "Content-Length": str(len(head) + size + len(tail))})
        page = response.read().decode(errors="replace")
        seconds = time.perf_counter() - started
        connection.close()
        location = response.getheader("Location") or ""
        found = re.search(r"[?&]id=(\d+)", location)
        if response.status != 302 or not found:
            raise RuntimeError(f"upload: {response.status} {location}\n{page[-2000:]}")
        return int(found.group(1)), digest.hexdigest(), seconds

    def download(self, document_id):
        """(SHA-256, bytes, seconds, headers) of the document's file, read a block at a time."""
        started = time.perf_counter()
        connection, response = self.request("GET", f"/admin/document/download/?id={document_id}")
        if response.status != 200:
            raise RuntimeError(f"download: {response.status}")
        digest, size = hashlib.sha256(), 0
        while block := response.read(BLOCK):
            digest.update(block)
            size += len(block)
        seconds = time.perf_counter() - started
        connection.close()
        return digest.hexdigest(), size, seconds, dict(response.getheaders())


# -- the run ----------------------------------------------------------------------------------

def measure(size_mb, storage, database_url, work):
    env = make_site(work, size_mb, storage, database_url)
    port = free_port()
    log = open(work / "gunicorn.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
         "--timeout", "900", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
         "--log-level", "warning", "run:app"], env=env, stdout=log, stderr=log)
    try:
        browser = Browser(port)
        deadline = time.time() + 60
        while True:
            try:
                browser.page("/healthz")
                break
            except (OSError, RuntimeError):
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start; see " + str(work / "gunicorn.log"))
                time.sleep(0.2)
        worker = worker_of(server.pid)
        browser.login("admin", PASSWORD)
        folder_id = re.search(r'<option value="(\d+)"[^>]*>\s*Videos',
                              browser.page("/admin/document/new/")).group(1)
        # Warm-up: every code path of the upload and download runs once.
        warm, sent, _ = browser.upload(folder_id, "warm-up.mp4", MB)
        assert browser.download(warm)[0] == sent
        time.sleep(0.5)
        before = status_kb(worker, "VmRSS")
        size = size_mb * MB

        reset_peak(worker)
        document, sent, up_seconds = browser.upload(folder_id, "产品视频 product video.mp4", size)
        up_peak = status_kb(worker, "VmHWM")
        between = status_kb(worker, "VmRSS")

        reset_peak(worker)
        received, got, down_seconds, headers = browser.download(document)
        down_peak = status_kb(worker, "VmHWM")
        after = status_kb(worker, "VmRSS")
        if received != sent or got != size:
            raise RuntimeError(f"the download differs: {got} bytes, {received} against {sent}")
        try:
            check = cli(env, "files", "check").strip().splitlines()[-1]
        except RuntimeError as exc:   # the figures stand; the report says what failed
            check = f"failed: {str(exc).strip().splitlines()[-1]}"
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    return {
        "size_mb": size_mb, "bytes": size, "storage": storage,
        "database": "postgresql" if database_url else "sqlite",
        "upload_seconds": round(up_seconds, 2), "upload_mb_s": round(size_mb / up_seconds, 1),
        "download_seconds": round(down_seconds, 2),
        "download_mb_s": round(size_mb / down_seconds, 1),
        "rss_before_mb": mb(before), "rss_upload_peak_mb": mb(up_peak),
        "rss_after_upload_mb": mb(between), "rss_download_peak_mb": mb(down_peak),
        "rss_after_mb": mb(after),
        "growth_mb": mb(max(up_peak, down_peak) - before),
        "sha256": sent, "content_disposition": headers.get("Content-Disposition"),
        "files_check": check,
    }


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    import gunicorn
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory / 1024 ** 2, 1),
            "python": platform.python_version(), "system": platform.platform(),
            "gunicorn": gunicorn.__version__}


def report(results, facts):
    lines = [
        "## Files: a 500 MB upload and download through one gunicorn worker (issue 17)",
        "",
        f"`python bench/docs_transfer.py` ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC): "
        "a temporary site with crm_docs, served by gunicorn "
        f"{facts['gunicorn']} with one sync worker; the client signs in as the administrator, "
        "sends the file to the library's upload form (`POST /admin/document/new/`, multipart, "
        "made on the fly from os.urandom behind an MP4 header, a mebibyte at a time), then "
        "downloads it (`GET /admin/document/download/?id=N`) and compares its SHA-256. The "
        "worker's resident memory from `/proc/<pid>/status`: VmRSS before (after a 1 MB "
        "warm-up upload and download), the true peak of each phase (VmHWM, reset through "
        "`/proc/<pid>/clear_refs` before it), VmRSS after. Then `python run.py files check`.",
        "",
        f"Machine: {facts['cpu']}, {facts['cores']} cores, {facts['memory_gb']} GB, "
        f"Python {facts['python']}, {facts['system']}; load average "
        f"{facts['load_before']} before the run and {facts['load_after']} after (other work "
        "shares the machine: the times vary with it, the memory figures do not).",
        "",
        "| storage | database | size | upload | download | RSS before | peak (upload) "
        "| peak (download) | after | growth (limit 50 MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['storage']} | {r['database']} | {r['size_mb']} MiB | {r['upload_seconds']} s "
            f"({r['upload_mb_s']} MB/s) | {r['download_seconds']} s ({r['download_mb_s']} MB/s) "
            f"| {r['rss_before_mb']} MB | {r['rss_upload_peak_mb']} MB "
            f"| {r['rss_download_peak_mb']} MB | {r['rss_after_mb']} MB | **{r['growth_mb']} MB** |")
    if all(r["files_check"].endswith("every one intact") for r in results):
        lines += ["", "`python run.py files check` after each run: every stored file intact "
                  "(two: the warm-up's and the big one)."]
    else:
        lines += ["", "`python run.py files check` after each run: " + "; ".join(
            f"{r['storage']}/{r['database']}: {r['files_check']}" for r in results) + "."]
    lines += [
        "",
        "Why memory stays flat: werkzeug's form parser spools the upload's part to a "
        "temporary file as it arrives; `core.files.save` copies that a mebibyte at a time "
        "into the store's `.incoming` folder, hashing as it goes, and renames it into place "
        "(`ab/cd/<sha256>`); a download from the folder is a `send_file`, which gunicorn "
        "serves with `sendfile()`; from the database (`storage = database`) it is a "
        "generator of one-mebibyte chunks, each a query. A site taking files this big needs "
        "gunicorn's `--timeout` above the longest upload (a sync worker busy longer is "
        "killed) and `max_upload_mb` in config.ini above the file.",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--storage", choices=["folder", "database", "both"], default="folder")
    parser.add_argument("--database", action="append", metavar="sqlite|URL",
                        help="sqlite (default), or a PostgreSQL database URL, dropped and made "
                             "again; may be given twice")
    parser.add_argument("--work", help="a folder for the sites (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the sites afterwards")
    parser.add_argument("--report", default="/tmp/bench_docs_transfer.md")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="crm-docs-transfer-"))
    load_before = round(os.getloadavg()[0], 1)
    results = []
    storages = ["folder", "database"] if args.storage == "both" else [args.storage]
    try:
        for database in args.database or ["sqlite"]:
            for storage in storages:
                folder = work / storage
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                result = measure(args.size_mb, storage,
                                 None if database == "sqlite" else database, folder)
                results.append(result)
                print(json.dumps(result, indent=1, ensure_ascii=False))
                if not args.keep:
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    facts = dict(machine(), load_before=load_before, load_after=round(os.getloadavg()[0], 1))
    text = report(results, facts)
    Path(args.report).write_text(text, encoding="utf-8")
    out = ROOT / "bench" / "results" / "docs-transfer-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": facts, "results": results}, indent=1,
                              ensure_ascii=False), encoding="utf-8")
    print(text)
    failed = [r for r in results if r["growth_mb"] >= LIMIT_MB]
    if failed:
        sys.exit(f"the worker grew by {failed[0]['growth_mb']} MB (limit {LIMIT_MB} MB)")


if __name__ == "__main__":
    main()
