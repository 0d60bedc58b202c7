"""Fetch benchmark (issue 3): our build against the network/parse floor and rss2email.

Run by hand, prints a table; never a timed test:

    python benchmarks/bench_fetch.py                  # 200 feeds x 50 entries, 50 hosts
    python benchmarks/bench_fetch.py --feeds 40 --no-rss2email   # quick look

What it does, in one run of ``--repeat`` rounds (default 3), each round measuring every
figure below once (the floors too, since this machine's speed drifts from one minute to
the next); each figure is the median of its rounds:

- serves F synthetic feeds x E entries (mixed RSS 2.0 / Atom, English and German)
  from a separate server process listening on H loopback addresses (127.0.0.2 and
  up; Linux routes all of 127/8 to lo without setup), 100 ms added latency per
  response (304s included), ETag and Last-Modified on every feed;
- (a) floors: the *network floor* (every feed downloaded by 16 threads, no parsing)
  and the *parse floor* (``feedparser.parse`` of all the bytes, one process);
- (b) ``newsletter build`` cold (empty state), as a real process;
- (c) the same build again, warm: every feed answers 304;
- (d) rss2email 3.14, installed by this script into its own venv under
  ``benchmarks/.work/`` (git-ignored), ``r2e run --no-send`` on the same feeds, cold;
- (e) the fetch stage alone in this process (``HttpFetcher.fetch_all``), parsing in
  2 processes vs in the fetch threads: the measurement behind the default;
- the peak memory (RSS of the build's whole process tree, sampled every 20 ms) and
  ``newsletter --help`` start-up time. Memory comes from runs of its own: reading
  ``/proc`` for every thread of the tree 50 times a second took a core's share that
  the build needs (0.4 to 0.6 s of a cold build), so timed runs are never sampled.

Targets from the issue: cold <= 1.2 x (network floor + parse floor); warm <= 1.5 x
network floor; rss2email >= 5 x our cold build; peak < 250 MB; --help < 0.3 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)

EN = ["regulator", "fined", "the company", "over", "children's data", "TikTok", "transfers",
      "to China", "data protection", "authority", "employees", "accessed", "user data",
      "police", "requests", "surveillance", "law", "tracking", "cookies", "consent", "breach",
      "leaked", "records", "court", "ruled", "ban", "government devices", "data centre"]
DE = ["Datenschutzbehörde", "verhängt", "Bußgeld", "gegen", "das Unternehmen", "Kinder",
      "Daten", "Übermittlung", "nach China", "Mitarbeiter", "Zugriff", "Nutzerdaten",
      "Polizei", "Überwachung", "Gesetz", "Tracking", "Einwilligung", "Datenleck",
      "veröffentlicht", "Gericht", "Verbot", "Behörden", "Rechenzentrum"]


# --- synthetic feeds --------------------------------------------------------------------------


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


_VOCAB: list[str] = []


def _vocab() -> list[str]:
    """3,000 made-up words: most of a real feed is not privacy news, and is varied."""
    if not _VOCAB:
        rng = random.Random(12345)
        letters = "aeioubcdfghklmnprstvwz"
        _VOCAB.extend("".join(rng.choice(letters) for _ in range(rng.randint(3, 10)))
                      for _ in range(3000))
    return _VOCAB


def make_feed(i: int, entries: int) -> tuple[bytes, str]:
    """Feed ``i``: RSS for even, Atom for odd; German for every third. Returns (body, type).

    A quarter of the entries are privacy news (topic words plus made-up names), the
    rest general news in made-up words, so tagging and merging see a realistic mix
    rather than 10,000 near-identical privacy stories.
    """
    rng = random.Random(i)
    topical = DE if i % 3 == 0 else EN
    vocab = _vocab()
    lang = "de" if i % 3 == 0 else "en"
    items = []
    for e in range(entries):
        privacy = (e + i) % 4 == 0
        names = [rng.choice(vocab).capitalize() for _ in range(3)]
        pool = (topical + names) if privacy else vocab
        title = escape(_sentence(rng, pool, 8)[:-1] + f" {names[0]} {i}-{e}")
        text = escape(" ".join(_sentence(rng, pool if k < 2 else vocab, rng.randint(8, 20))
                               for k in range(6)))
        when = NOW - timedelta(hours=2 + (e * 3 + i) % 150)
        link = f"https://news{i % 37}.example/{lang}/{i}/{e}?utm_source=rss"
        items.append((title, text, when, link, f"bench-{i}-{e}"))
    if i % 2 == 0:
        parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                 f"<title>Bench feed {i}</title><link>https://news{i}.example/</link>"
                 f"<language>{lang}</language><description>Synthetic</description>"]
        for title, text, when, link, guid in items:
            parts.append(f"<item><title>{title}</title><link>{escape(link)}</link>"
                         f'<guid isPermaLink="false">{guid}</guid>'
                         f"<pubDate>{format_datetime(when)}</pubDate>"
                         f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode(), "application/rss+xml"
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
             f' xml:lang="{lang}"><title>Bench feed {i}</title><id>urn:bench:{i}</id>'
             f"<updated>{NOW.isoformat()}</updated>"]
    for title, text, when, link, guid in items:
        parts.append(f"<entry><title>{title}</title><link href=\"{escape(link)}\"/>"
                     f"<id>urn:{guid}</id><updated>{when.isoformat()}</updated>"
                     f"<author><name>A</name></author>"
                     f"<content type=\"html\">&lt;p&gt;{text}&lt;/p&gt;</content></entry>")
    parts.append("</feed>")
    return "".join(parts).encode(), "application/atom+xml"


# --- the server process ------------------------------------------------------------------------


def serve(feeds: int, entries: int, hosts: int, port: int, latency: float) -> None:
    """Runs in its own process: one ThreadingHTTPServer per loopback address."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    docs: dict[str, tuple[bytes, str, str]] = {}
    lm = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    for i in range(feeds):
        body, ctype = make_feed(i, entries)
        docs[f"/feed/{i}.xml"] = (body, ctype, '"' + hashlib.sha1(body).hexdigest()[:16] + '"')

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(latency)
            doc = docs.get(self.path)
            if doc is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, ctype, etag = doc
            if self.headers.get("If-None-Match") == etag or \
                    self.headers.get("If-Modified-Since") == lm:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lm)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    servers = []
    for h in range(hosts):
        srv = ThreadingHTTPServer((f"127.0.0.{2 + h}", port), H)
        srv.daemon_threads = True
        srv.request_queue_size = 64
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        time.sleep(3600)


def feed_urls(feeds: int, hosts: int, port: int) -> list[str]:
    return [f"http://127.0.0.{2 + i % hosts}:{port}/feed/{i}.xml" for i in range(feeds)]


# --- measuring ---------------------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and all its descendants (Linux /proc)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
                 *, sample: bool = False) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak tree RSS (bytes; 0 unless ``sample``), and the finished process.
    Time a run that is not sampled: the sampling competes with it for the cores."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = 0
    done = threading.Event()

    def sample_tree() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    t = threading.Thread(target=sample_tree, daemon=True)
    if sample:
        t.start()
    try:
        out, err = proc.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\nbenchmark: killed after 900 s"
    elapsed = time.perf_counter() - t0
    done.set()
    if sample:
        t.join()
    return elapsed, peak, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def network_floor(urls: list[str]) -> tuple[float, list[bytes]]:
    """All feeds downloaded by 16 plain threads (urllib, one connection each): no parsing."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def get(u: str) -> bytes:
        with urllib.request.urlopen(u, timeout=30) as r:
            return r.read()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(get, urls))
    return time.perf_counter() - t0, bodies


def parse_floor(bodies: list[bytes]) -> float:
    import feedparser

    t0 = time.perf_counter()
    for b in bodies:
        feedparser.parse(b)
    return time.perf_counter() - t0


def fetch_stage(urls: list[str], parse_workers: int) -> float:
    """Our fetcher alone, cold, in this process."""
    sys.path.insert(0, str(REPO))
    from newsletter.ingest.feeds import FeedSource
    from newsletter.ingest.fetch import HttpFetcher

    sources = [FeedSource(name=f"f{i}", url=u) for i, u in enumerate(urls)]
    t0 = time.perf_counter()
    rs = HttpFetcher(parse_workers=parse_workers).fetch_all(sources)
    took = time.perf_counter() - t0
    bad = [r.error for r in rs if r.error]
    if bad:
        print(f"  fetch stage: {len(bad)} errors, e.g. {bad[0]}", file=sys.stderr)
    return took


def write_config(folder: Path, urls: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["newsletter:", "  title: Bench", "  timezone: UTC", "  output_dir: digests",
             "  state: state.sqlite3", "seeds: null", "watchlist: [TikTok, ByteDance]", "feeds:"]
    for i, u in enumerate(urls):
        lines += [f"  - name: Bench feed {i}", f"    url: {u}"]
    p = folder / "feeds.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def newsletter_build(cfg: Path, out: Path, sample: bool = False
                     ) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    return run_measured([sys.executable, "-m", "newsletter", "build", "--config", str(cfg),
                         "--now", NOW.isoformat(), "--out", str(out)], cwd=cfg.parent,
                        sample=sample)


def newsletter_fetch_only(cfg: Path, sample: bool = False
                          ) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """`newsletter feeds check -q`: fetch, parse, store, no tagging/merging/rendering."""
    return run_measured([sys.executable, "-m", "newsletter", "feeds", "check", "-q", "--config",
                         str(cfg), "--now", NOW.isoformat()], cwd=cfg.parent, sample=sample)


def fresh_config(name: str, urls: list[str]) -> Path:
    """A config in an empty folder under ``WORK``: a cold run."""
    folder = WORK / name
    if folder.exists():
        shutil.rmtree(folder)
    return write_config(folder, urls)


# --- rss2email ------------------------------------------------------------------------------------


def r2e_venv() -> Path:
    venv = WORK / "r2e-venv"
    r2e = venv / "bin" / "r2e"
    if not r2e.exists():
        print("installing rss2email 3.14 into", venv, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "rss2email==3.14"], check=True)
    return r2e


def r2e_run(r2e: Path, urls: list[str], folder: Path) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """A cold ``r2e run --no-send`` over the same feeds (fresh config and data file)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cfg, data = folder / "r2e.cfg", folder / "r2e.json"
    subprocess.run([str(r2e), "-c", str(cfg), "-d", str(data), "new", "bench@example.org"],
                   check=True, capture_output=True)
    with cfg.open("a", encoding="utf-8") as f:  # `r2e add` per feed is one process each
        for i, u in enumerate(urls):
            f.write(f"\n[feed.bench{i}]\nurl = {u}\n")
    return run_measured([str(r2e), "-c", str(cfg), "-d", str(data), "run", "--no-send"])


# --- main ---------------------------------------------------------------------------------------------


ROWS = ("network floor (16 threads)", "parse floor (feedparser, 1 process)",
        "fetch stage: parse in 2 processes", "fetch stage: parse in fetch threads",
        "newsletter feeds check, cold (fetch+parse+store)", "peak RSS of feeds check, cold (MB)",
        "newsletter feeds check, warm (all 304)", "newsletter build, cold",
        "peak RSS of the cold build (MB)", "newsletter build, warm (all 304)",
        "rss2email 3.14 run --no-send, cold")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--no-rss2email", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="Only floors and the fetch stage.")
    ap.add_argument("--only-build", action="store_true",
                    help="Floors and the builds only (no fetch-stage, feeds-check, rss2email rows).")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.feeds, a.entries, a.hosts, a.port, a.latency)
        return

    WORK.mkdir(parents=True, exist_ok=True)
    # The package's modules compiled once, as a regular install has them (pip compiles at
    # install time); an editable install run with PYTHONDONTWRITEBYTECODE=1 would compile
    # them again in every build (0.1 s each here), which is not the build's own cost.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "newsletter")],
                   check=True)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--feeds", str(a.feeds), "--entries", str(a.entries),
         "--hosts", str(a.hosts), "--port", str(a.port), "--latency", str(a.latency)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        urls = feed_urls(a.feeds, a.hosts, a.port)
        notes: dict[str, str] = {}

        # Round after round, each measuring everything once: this machine's speed drifts
        # by a fifth within minutes, so floors measured first and builds minutes later
        # made ratios of whichever way it drifted. Each figure is the median of its rounds.
        if a.only_build:
            a.no_rss2email = True
        r2e = None if a.no_rss2email else r2e_venv()
        runs: dict[str, list[float]] = defaultdict(list)
        peaks: dict[str, list[float]] = defaultdict(list)
        size = 0
        for n in range(a.repeat):
            t, bodies = network_floor(urls)
            runs["network floor (16 threads)"].append(t)
            runs["parse floor (feedparser, 1 process)"].append(parse_floor(bodies))
            size = sum(len(b) for b in bodies)
            if not a.only_build:
                runs["fetch stage: parse in 2 processes"].append(fetch_stage(urls, 2))
                runs["fetch stage: parse in fetch threads"].append(fetch_stage(urls, 0))
                cfg = fresh_config("check", urls)
                runs["newsletter feeds check, cold (fetch+parse+store)"].append(
                    newsletter_fetch_only(cfg)[0])
                runs["newsletter feeds check, warm (all 304)"].append(newsletter_fetch_only(cfg)[0])
                peaks["peak RSS of feeds check, cold (MB)"].append(
                    newsletter_fetch_only(fresh_config("check", urls), sample=True)[1] / 1e6)
            if not a.no_build and "build" not in notes:
                cfg = fresh_config("build", urls)
                t, _, p = newsletter_build(cfg, cfg.parent / f"out-cold{n}")
                if p.returncode != 0:
                    notes["build"] = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "?"
                    print(p.stderr[-2000:], file=sys.stderr)
                else:
                    runs["newsletter build, cold"].append(t)
                    t, _, p = newsletter_build(cfg, cfg.parent / f"out-warm{n}")
                    if p.returncode != 0:
                        notes["warm"] = p.stderr.strip().splitlines()[-1]
                    else:
                        runs["newsletter build, warm (all 304)"].append(t)
                    cfg = fresh_config("build", urls)  # a cold run of its own for the memory
                    peaks["peak RSS of the cold build (MB)"].append(
                        newsletter_build(cfg, cfg.parent / "out-memory", sample=True)[1] / 1e6)
            if r2e is not None:
                t, _, p = r2e_run(r2e, urls, WORK / "r2e")
                if p.returncode != 0:
                    notes["rss2email"] = (p.stderr.strip().splitlines() or ["?"])[-1]
                runs["rss2email 3.14 run --no-send, cold"].append(t)
        print(f"{a.feeds} feeds x {a.entries} entries, {a.hosts} hosts, {size / 1e6:.1f} MB, "
              f"{a.latency * 1000:.0f} ms latency; median of {a.repeat} rounds", file=sys.stderr)
        measured = {**{k: statistics.median(v) for k, v in runs.items()},
                    **{k: max(v) for k, v in peaks.items()}}
        rows: dict[str, float] = {k: measured[k] for k in ROWS if k in measured}
        floor = rows["network floor (16 threads)"] + rows["parse floor (feedparser, 1 process)"]

        helps = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "newsletter", "--help"], capture_output=True,
                           check=True)
            helps.append(time.perf_counter() - t0)
        rows["newsletter --help"] = statistics.median(helps)
    finally:
        server.terminate()
        server.wait(10)

    net = rows["network floor (16 threads)"]
    print("\n| measurement | seconds | x network floor | x (network + parse floor) |")
    print("|---|---:|---:|---:|")
    for k, v in rows.items():
        if k.startswith("peak"):
            print(f"| {k} | {v:.0f} MB | | |")
            continue
        print(f"| {k} | {v:.2f} | {v / net:.2f} | {v / floor:.2f} |")
    cold = rows.get("newsletter build, cold")
    r2e_t = rows.get("rss2email 3.14 run --no-send, cold")
    if cold and r2e_t:
        print(f"\nrss2email / our cold build: {r2e_t / cold:.1f}x")
    # the same ratios round by round (each round's own floors), to show the drift
    floors = [n + p for n, p in zip(runs["network floor (16 threads)"],
                                    runs["parse floor (feedparser, 1 process)"])]
    for label, num, den in (
            ("cold build / (network + parse floor)", runs.get("newsletter build, cold"), floors),
            ("warm build / network floor", runs.get("newsletter build, warm (all 304)"),
             runs["network floor (16 threads)"]),
            ("rss2email / cold build", runs.get("rss2email 3.14 run --no-send, cold"),
             runs.get("newsletter build, cold"))):
        if num and den and len(num) == len(den):
            print(f"{label}, by round: " + ", ".join(f"{x / y:.2f}" for x, y in zip(num, den)))
    for k, why in notes.items():
        print(f"note ({k}): {why}")
    print(json.dumps({k: round(v, 3) for k, v in rows.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
