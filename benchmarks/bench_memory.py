"""Peak memory of a full ``newsletter build`` over many feeds (issue 8, target: < 400 MB).

Serves F synthetic feeds (default 500) from a separate server process spread over
50 loopback addresses (so the fetcher's per-host bound is realistic), runs one
real cold build (``python -m newsletter build``) and samples, every 50 ms, the
resident memory of the build *and all its descendants* (the fetcher's parser
processes), reporting the peak of that sum, plus the largest single process
(``getrusage`` of the children).

The mix: most feeds are ordinary (E entries, default 60, with a paragraph or two
of HTML each); every tenth feed is large (2,000 entries) so the per-feed cap
(``max_items_per_feed``, default 200) matters; a few feeds are near the 10 MB
size cap. Run by hand:

    python benchmarks/bench_memory.py [--feeds 500] [--entries 60] [--near-cap 3] [--relevant 0.05]

Measured 2026-11-22 (2 cores): 500 feeds, 88 MB served, 37,280 items stored (at most
200 a feed), 1,890 tagged, build 38 s, peak RSS of build + parser processes 309 MB
(largest single process 302 MB). With --relevant 1.0 (every item privacy news) the
merging stage is superlinear: 100 feeds (7,400 relevant items) took 423 s and 444 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOSTS = 50

# Most of what 500 feeds carry is not privacy news; a share (--relevant, default 5%)
# is, and those items go through merging and ranking.
OTHER = ("market shares quarter results football match weather forecast election campaign "
         "concert festival recipe travel airline train delay museum exhibition science study "
         "climate energy prices housing rent Fußball Wetter Wahl Konzert Reise Bahn").split()
PRIVACY = ("data protection authority fined company breach personal data users privacy "
           "regulator surveillance police facial recognition tracking cookies consent "
           "children age verification app ban government phones transfer cloud storage "
           "Datenschutz Behörde Bußgeld Unternehmen Nutzer Daten Überwachung Polizei").split()

SERVER = r'''
import http.server, socketserver, sys, threading
root, hosts, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True; allow_reuse_address = True
servers = [S((f"127.0.0.{i}", port), H) for i in range(1, hosts + 1)]
for s in servers: threading.Thread(target=s.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
'''


def sentence(rng: random.Random, n: int, words: list[str]) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def make_feed(i: int, entries: int, now: datetime, rng: random.Random, para: int = 2,
              relevant: float = 0.05) -> bytes:
    items = []
    for j in range(entries):
        when = now - timedelta(minutes=7 * j + i)
        words = PRIVACY if rng.random() < relevant else OTHER
        body = "".join(f"<p>{sentence(rng, 25, words)} <a href='https://f{i}.example/x?"
                       f"utm_source=rss'>link</a></p>" for _ in range(para))
        items.append(
            f"<item><title>{sentence(rng, 9, words)} ({i}-{j})</title>"
            f"<link>https://f{i}.example/{j}?utm_medium=feed</link><guid>f{i}-{j}</guid>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description><![CDATA[{body}]]></description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {i}</title><link>https://f{i}.example/</link>"
            + "".join(items) + "</channel></rss>").encode()


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{e}/statm") as f:
                rss[int(e)] = int(f.read().split()[1]) * page
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(e))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--entries", type=int, default=60)
    ap.add_argument("--near-cap", type=int, default=3, help="feeds of about 8 MB")
    ap.add_argument("--relevant", type=float, default=0.05,
                    help="share of entries that are privacy news (1.0: a stress test)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args()

    rng = random.Random(8)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tmp = Path(tempfile.mkdtemp(prefix="bench_memory_"))
    www = tmp / "www"
    www.mkdir()
    total_bytes = 0
    for i in range(args.feeds):
        if i < args.near_cap:
            body = make_feed(i, 11000, now, rng, para=1, relevant=args.relevant)  # ~8 MB
        elif i % 10 == 0:
            body = make_feed(i, 2000, now, rng, para=1, relevant=args.relevant)
        else:
            body = make_feed(i, args.entries, now, rng, relevant=args.relevant)
        (www / f"f{i}.xml").write_bytes(body)
        total_bytes += len(body)
    with socket_port() as port:
        pass
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(www), str(HOSTS), str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    try:
        proj = tmp / "proj"
        proj.mkdir()
        feeds = "\n".join(f"  - name: Feed {i}\n    url: http://127.0.0.{i % HOSTS + 1}:{port}/f{i}.xml"
                          for i in range(args.feeds))
        (proj / "feeds.yaml").write_text(
            "newsletter:\n  timezone: Europe/Berlin\n  state: state.sqlite3\n"
            f"seeds: null\nwatchlist: [TikTok]\nfeeds:\n{feeds}\n", encoding="utf-8")
        peak = [0]
        t0 = time.monotonic()
        build = subprocess.Popen([sys.executable, "-m", "newsletter", "build", "--config",
                                  str(proj / "feeds.yaml"), "--out", str(proj / "out")],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(build.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = build.communicate()
        done.set()
        sampler.join()
        elapsed = time.monotonic() - t0
        single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        if build.returncode != 0:
            print(err[-3000:], file=sys.stderr)
            raise SystemExit(f"build failed with {build.returncode}")
        import sqlite3

        db = sqlite3.connect(proj / "state.sqlite3")
        items = db.execute("SELECT count(*) FROM items").fetchone()[0]
        per_feed_max = db.execute(
            "SELECT max(n) FROM (SELECT count(*) n FROM items GROUP BY feed_url)").fetchone()[0]
        db.close()
        doc = json.loads(Path(out.split()[3]).read_text(encoding="utf-8"))
        print(f"feeds {args.feeds}, served {total_bytes / 1e6:.1f} MB; "
              f"items stored {items} (max per feed {per_feed_max}); "
              f"stories {len(doc['stories'])}, feed errors {len(doc['feed_errors'])}")
        print(f"build {elapsed:.1f} s; peak RSS, build + parser processes: "
              f"{peak[0] / 2**20:.0f} MB; largest single process: {single / 2**20:.0f} MB")
        print(err.strip().splitlines()[-1])
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


class socket_port:
    """A free TCP port (the same on every loopback address we bind)."""

    def __enter__(self) -> int:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return int(self.s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.s.close()


if __name__ == "__main__":
    main()
