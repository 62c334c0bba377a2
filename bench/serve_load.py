#!/usr/bin/env python3
"""Load benchmark for `powerdialer serve` on loopback: many live-feed (SSE)
clients plus clients hammering GET /api/campaigns/{name}, against a server
dialing a campaign on the simulator. Stdlib only.

Prints one JSON object per scenario: API requests/s and latency (p50, p99,
max), live-feed clients connected, events received and their delivery delay
(client receive time minus the event's "t", p50/p99/max), and the server's
CPU use. Figures and the exact command are in bench/README.md.

    python3 bench/serve_load.py --bin build/powerdialer --sse 100 --api 8 --seconds 20
"""

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def start_server(binary, workdir, max_clients, customers, dial=True, db=None):
    db = db or os.path.join(workdir, "bench.db")
    run = lambda *a: subprocess.run([binary, "--db", db, *a], check=True, capture_output=True,
                                    text=True, cwd=workdir)
    run("--campaign", "bench", "init")
    token = run("token", "create", "--name", "bench").stdout.strip()
    with open(os.path.join(workdir, "list.csv"), "w") as f:
        f.write("custID,phone\n")
        for i in range(customers):
            f.write(f"C{i:06d},+1202{2000000 + i:07d}\n")
    run("--campaign", "bench", "load", "list.csv")
    proc = subprocess.Popen(
        # Every client is on loopback: one address, so it may hold them all.
        [binary, "--db", db, "serve", "--listen", "127.0.0.1:0", "--max-clients", str(max_clients),
         "--max-clients-per-address", str(max_clients),
         "--speed", "5", "--agents", "100", "--talk-mean", "60s", "--acw-mean", "10s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir)
    port = None
    deadline = time.time() + 30
    while port is None and time.time() < deadline:
        if select.select([proc.stderr], [], [], 0.5)[0]:
            line = proc.stderr.readline().decode()
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
    if port is None:
        proc.kill()
        sys.exit("serve did not start")
    if dial:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/campaigns/bench/start",
                     headers={"Authorization": f"Bearer {token}"})
        assert conn.getresponse().status == 202
        conn.close()
    return proc, port, token


def sse_worker(port, token, clients, seconds, start_at, out):
    """`clients` SSE connections in threads; puts (connected, delays_ms) on `out`."""
    delays, connected, lock = [], [0], threading.Lock()

    def client():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds + 30)
            conn.request("GET", "/api/events?campaign=bench",
                         headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            if resp.status != 200:
                return
            with lock:
                connected[0] += 1
            first = True
            end = start_at + seconds
            while time.time() < end:
                line = resp.readline()
                if not line:
                    break
                if line.startswith(b"data: "):
                    t = json.loads(line[6:])["t"]
                    if first:  # the snapshot sent on connect is up to 1 s old by design
                        first = False
                        continue
                    if time.time() >= start_at:
                        with lock:
                            delays.append(time.time() * 1000 - t)
            conn.close()
        except OSError:
            pass

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
        time.sleep(0.002)
    for t in threads:
        t.join(seconds + 40)
    out.put(("sse", connected[0], delays))


def api_worker(port, token, clients, seconds, start_at, out, path):
    """`clients` keep-alive connections, each issuing GETs back to back."""
    latencies, errors, lock = [], [0], threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.time() < start_at:
            time.sleep(0.01)
        end = start_at + seconds
        while time.time() < end:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path,
                             headers={"Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append((time.perf_counter() - t0) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(("api", errors[0], latencies))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/powerdialer")
    ap.add_argument("--sse", type=int, default=100, help="live-feed clients")
    ap.add_argument("--api", type=int, default=8, help="clients hammering the API")
    ap.add_argument("--api-procs", type=int, default=2, help="processes the API clients run in")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--path", default="/api/campaigns/bench",
                    help="what the API clients GET (the status reads the store's kept counts)")
    ap.add_argument("--customers", type=int, default=20000, help="size of the dialing list")
    ap.add_argument("--max-clients", type=int, default=0, help="serve --max-clients (0: auto)")
    ap.add_argument("--postgres", action="store_true",
                    help="the store on a throw-away PostgreSQL 15 server on loopback "
                         "(tests/e2e/pgserver.py; fsync on) instead of an SQLite file")
    ap.add_argument("--no-dial", action="store_true",
                    help="leave the campaign idle (the default dials it on the simulator)")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    max_clients = args.max_clients or max(256, args.sse + args.api + 64)

    workdir = tempfile.mkdtemp(prefix="pd-bench-serve-")
    pg, db = None, None
    if args.postgres:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "tests", "e2e"))
        from pgserver import PgServer
        pg = PgServer(durable=True)
        db = pg.create_database()
    proc, port, token = start_server(args.bin, workdir, max_clients, args.customers,
                                     dial=not args.no_dial, db=db)
    try:
        time.sleep(2)
        out = mp.Queue()
        start_at = time.time() + 3 + args.sse * 0.003  # every SSE client connected first
        workers = []
        sse_procs = max(1, (args.sse + 249) // 250)
        for i in range(sse_procs if args.sse else 0):
            n = args.sse // sse_procs + (1 if i < args.sse % sse_procs else 0)
            workers.append(mp.Process(target=sse_worker,
                                      args=(port, token, n, args.seconds, start_at, out)))
        for i in range(args.api_procs if args.api else 0):
            n = args.api // args.api_procs + (1 if i < args.api % args.api_procs else 0)
            if n:
                workers.append(mp.Process(target=api_worker,
                                          args=(port, token, n, args.seconds, start_at, out,
                                                args.path)))
        for w in workers:
            w.start()
        while time.time() < start_at:
            time.sleep(0.01)
        cpu0 = cpu_seconds(proc.pid)
        time.sleep(args.seconds)
        cpu1 = cpu_seconds(proc.pid)
        rss = rss_mb(proc.pid)
        connected, delays, errors, latencies = 0, [], 0, []
        for _ in workers:
            kind, n, values = out.get(timeout=args.seconds + 120)
            if kind == "sse":
                connected += n
                delays += values
            else:
                errors += n
                latencies += values
        for w in workers:
            w.join()
        r = lambda v: None if v is None else round(v, 2)
        print(json.dumps({
            "store": "postgresql" if args.postgres else "sqlite",
            "path": args.path, "customers": args.customers, "dialing": not args.no_dial, "sse_clients": args.sse, "sse_connected": connected, "api_clients": args.api,
            "seconds": args.seconds, "max_clients": max_clients,
            "api_requests_per_s": round(len(latencies) / args.seconds, 1),
            "api_errors": errors,
            "api_latency_ms": {"p50": r(percentile(latencies, 0.5)),
                               "p99": r(percentile(latencies, 0.99)),
                               "max": r(max(latencies) if latencies else None)},
            "sse_events": len(delays),
            "sse_events_per_client_per_s": round(len(delays) / max(1, connected) / args.seconds, 2),
            "sse_delay_ms": {"p50": r(percentile(delays, 0.5)), "p99": r(percentile(delays, 0.99)),
                             "max": r(max(delays) if delays else None)},
            "server_cpu_cores": round((cpu1 - cpu0) / args.seconds, 2),
            "server_rss_mb": rss,
        }))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # second signal: quit now
            proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        if pg is not None:
            pg.close()


if __name__ == "__main__":
    main()
