#!/usr/bin/env python3
"""Idle cost of `powerdialer serve` with a large list: no client connected,
no campaign running. Measures the server's CPU over a window (from
/proc/PID/stat) and the latency of GET /api/campaigns/NAME (curl). Stdlib
and curl only. Figures and the exact command are in bench/README.md.

    python3 bench/idle_serve.py --bin build/powerdialer --rows 3000000 --db /tmp/idle/big.db [--watch]

--watch keeps one live-feed client (GET /api/events) connected during the
window, as an open dashboard would. --start starts the campaign (on the
simulator: 10 agents, real time) before the settle time, to see what the
feed costs while a campaign of that size dials; use a copy of the store.

The store is made (init, token, list of --rows rows) only when --db does not
exist yet, so two binaries can be measured against the same store.
"""

import argparse
import http.client
import os
import re
import select
import subprocess
import sys
import threading
import time


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--settle", type=float, default=20, help="seconds before measuring")
    ap.add_argument("--window", type=float, default=30, help="seconds of idle CPU measured")
    ap.add_argument("--gets", type=int, default=5)
    ap.add_argument("--watch", action="store_true", help="one live-feed client during the window")
    ap.add_argument("--start", action="store_true", help="dial the campaign during the window")
    a = ap.parse_args()
    token_file = a.db + ".token"
    if not os.path.exists(a.db):
        os.makedirs(os.path.dirname(os.path.abspath(a.db)), exist_ok=True)
        run = lambda *x: subprocess.run([a.bin, "--db", a.db, *x], check=True,
                                        capture_output=True, text=True)
        run("--campaign", "big", "init")
        with open(token_file, "w") as f:
            f.write(run("token", "create", "--name", "bench").stdout.strip())
        csv = a.db + ".csv"
        with open(csv, "w") as f:
            f.write("custID,phone\n")
            for i in range(a.rows):
                f.write(f"C{i:07d},+1202{2000000 + i % 8000000:07d}\n")
        t = time.time()
        run("--campaign", "big", "load", csv)
        print(f"# loaded {a.rows} rows in {time.time() - t:.1f} s", file=sys.stderr)
        os.remove(csv)
    token = open(token_file).read().strip()

    sim = ["--agents", "10", "--talk-mean", "30s", "--acw-mean", "5s"] if a.start else []
    proc = subprocess.Popen([a.bin, "--db", a.db, "serve", "--listen", "127.0.0.1:0", *sim],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = None
    deadline = time.time() + 60
    while port is None and time.time() < deadline:
        if select.select([proc.stderr], [], [], 0.5)[0]:
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", proc.stderr.readline().decode())
            if m:
                port = int(m.group(1))
    if port is None:
        proc.kill()
        sys.exit("serve did not start")
    events = [0]

    def watch():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=a.settle + a.window + 600)
        conn.request("GET", "/api/events", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        for line in resp:
            if line.startswith(b"event: campaign"):
                events[0] += 1

    try:
        if a.start:
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                  "-H", f"Authorization: Bearer {token}",
                                  f"http://127.0.0.1:{port}/api/campaigns/big/start"],
                                 check=True, capture_output=True, text=True).stdout
            assert out == "202", out
        if a.watch:
            threading.Thread(target=watch, daemon=True).start()
        time.sleep(a.settle)
        e0 = events[0]
        c0, t0 = cpu_seconds(proc.pid), time.time()
        time.sleep(a.window)
        idle = (cpu_seconds(proc.pid) - c0) / (time.time() - t0)
        url = f"http://127.0.0.1:{port}/api/campaigns/big"
        gets = []
        for _ in range(a.gets):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                                  "-H", f"Authorization: Bearer {token}", url],
                                 check=True, capture_output=True, text=True).stdout.split()
            assert out[0] == "200", out
            gets.append(float(out[1]))
        seen = f"; {events[0] - e0} feed events in the window" if a.watch else ""
        print(("dialing" if a.start else "idle") + f" CPU over {a.window:.0f} s: {idle * 100:.1f}% of a core{seen}; "
              f"GET /api/campaigns/big: " + ", ".join(f"{g:.3f} s" for g in gets))
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
