"""Failover of `serve` dialer nodes sharing one store (issue 12).

Three `serve` nodes on one store dial two simulated campaigns. At seeded
random moments (the seed is printed; FAILOVER_SEED=N repeats a run) the test
(a) SIGKILLs the node running a campaign and (b) SIGSTOPs one for longer than
the lease, then SIGCONTs it. After each, and when the campaigns are done:

- no (customer, phone, attempt) appears twice in the results;
- no customer is lost: every one is reached, exhausted or suppressed;
- no write from a node that had lost its lease was accepted: the resumed
  node's engine stops with the lost-lease error, and no attempt row it owned
  changed, and none was added for it, after the takeover;
- every takeover happened within the lease time plus one heartbeat of the
  kill or stop (measured from the signal to the new owner's lease).

A second test drains a node (POST /api/node/drain, then SIGTERM): its
campaign is handed over at once, never stopped, and any node's API controls
every campaign.

The store is named by one URL (STORE_URL below). Everything but the attempt
snapshots goes through the API; the snapshots read the `attempts` table,
whose name and columns every store shares, through sqlite3 for a file and
psql for a postgresql:// URL, so a PostgreSQL variant only has to give a URL.
Stdlib only."""

import csv
import http.client
import io
import json
import os
import random
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")
PSQL = os.environ.get("PSQL", "/usr/lib/postgresql/15/bin/psql")

LEASE = 3.0                 # serve --lease: seconds
HEARTBEAT = LEASE / 3       # a node's heartbeat (NodeOptions: a third of the lease)
# Scheduling slack on a 2-core machine shared with builds: the poll interval,
# process start-up of the engine, and a loaded machine.
SLACK = 1.0
TAKEOVER_BOUND = LEASE + HEARTBEAT + SLACK

# The simulator: ~40 s of real time per campaign of CUSTOMERS customers.
CUSTOMERS = 90
SIM = ["--speed", "10", "--agents", "6", "--talk-mean", "20s", "--acw-mean", "3s",
       "--ring-timeout", "15s", "--answer-rate", "0.6"]


def list_csv(prefix, customers):
    rows = ["custID,phone,name"]
    for i in range(customers):
        rows.append(f"{prefix}{i:04d},+1202555{i:04d},Customer {i}")
    return ("\n".join(rows) + "\n").encode()


def query(store_url, sql):
    """Rows of `sql` on the store (a SQLite file path or a postgresql:// URL)."""
    if store_url.startswith("postgresql://") or store_url.startswith("postgres://"):
        p = subprocess.run([PSQL, store_url, "-X", "-A", "-t", "-F", "\t", "-c", sql],
                           capture_output=True, text=True, timeout=30, check=True)
        return [tuple(line.split("\t")) for line in p.stdout.splitlines() if line]
    con = sqlite3.connect(f"file:{store_url}?mode=ro", uri=True, timeout=30)
    try:
        return [tuple("" if v is None else str(v) for v in row) for row in con.execute(sql)]
    finally:
        con.close()


def store_write_locked(store_url):
    """Whether another process holds the store's write lock right now (an
    SQLite file only). A process frozen inside a write transaction keeps every
    other writer of an SQLite file out until it resumes: no lease can help
    with that, so the test freezes a node only between its transactions."""
    if "://" in store_url:
        return False
    con = sqlite3.connect(store_url, timeout=0.3, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            return True
        raise
    finally:
        con.close()


class Node:
    """A `powerdialer serve` node on a free loopback port; its log is read
    continuously (with the time each line arrived) so the pipe never fills."""

    def __init__(self, workdir, store_url, node_id, *flags, env=None):
        self.id = node_id
        self.proc = subprocess.Popen(
            [BIN, "--db", store_url, "serve", "--listen", "127.0.0.1:0", "--node-id", node_id,
             "--lease", str(LEASE), *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir, env=env)
        self.lines = []  # (time.time(), line)
        self.port = None
        deadline = time.time() + 30
        while self.port is None and time.time() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if ready:
                line = self.proc.stderr.readline()
                if not line:
                    break
                self.lines.append((time.time(), line.decode(errors="replace")))
                m = re.search(r"http://127\.0\.0\.1:(\d+)/", self.lines[-1][1])
                if m:
                    self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()
            raise RuntimeError(f"node {node_id} did not start: {self.log()}")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in iter(self.proc.stderr.readline, b""):
            self.lines.append((time.time(), line.decode(errors="replace")))

    def log(self):
        return "".join(line for _, line in self.lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "reader"):
            self.reader.join(timeout=5)
        self.proc.stderr.close()


class FailoverTestBase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-failover-")
        self.store = os.environ.get("FAILOVER_STORE_URL") or os.path.join(self.dir, "nodes.db")
        self.pd("init")
        self.token = self.pd("token", "create", "--name", "failover").stdout.strip()
        self.nodes = {}

    def tearDown(self):
        for node in self.nodes.values():
            node.stop()
        if self.failed_logs():
            for node in self.nodes.values():
                print(f"\n--- log of node {node.id} ---\n{node.log()}")
        shutil.rmtree(self.dir, ignore_errors=True)

    def failed_logs(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return True
        return any(test is self for test, _ in result.failures + result.errors)

    def pd(self, *args):
        p = subprocess.run([BIN, "--db", self.store, *args], capture_output=True, text=True,
                           cwd=self.dir, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"{args}: {p.stderr}")
        return p

    def start_node(self, node_id, seed):
        self.nodes[node_id] = Node(self.dir, self.store, node_id, *SIM, "--seed", str(seed))
        return self.nodes[node_id]

    def request(self, node, method, path, body=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}"}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif body is not None:
            headers["Content-Type"] = "text/csv"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def api(self, node, method, path, body=None, expect=200):
        status, data = self.request(node, method, path, body)
        self.assertEqual(status, expect, f"{method} {path} on {node.id}: {data[:500]!r}")
        return json.loads(data) if data[:1] in (b"{", b"[") else data

    def live_nodes(self):
        return [n for n in self.nodes.values() if n.alive() and not getattr(n, "frozen", False)]

    def campaign(self, name, via=None):
        return self.api(via or self.live_nodes()[0], "GET", f"/api/campaigns/{name}")

    def create(self, name, via, customers, prefix):
        self.api(via, "POST", "/api/campaigns", {"name": name}, expect=201)
        self.api(via, "PATCH", f"/api/campaigns/{name}/config",
                 {"calling-hours": "00:00-24:00", "max-attempts": "2", "retry-delay": "20s"})
        loaded = self.api(via, "PUT", f"/api/campaigns/{name}/list", list_csv(prefix, customers))
        self.assertEqual(loaded["loaded"], customers)

    def wait_for(self, predicate, timeout, what, every=0.05):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(every)
        self.fail(f"timed out after {timeout:.0f} s waiting for {what}")

    def owner(self, name, via=None):
        """The node whose live lease holds campaign `name` (None: none)."""
        return self.campaign(name, via)["node"]

    def attempts(self, name):
        """Every attempt row of campaign `name`, by id: (owner, state, outcome,
        answered_at, ended_at, contact_id)."""
        rows = query(self.store,
                     "SELECT a.id, a.owner, a.state, a.outcome, a.answered_at, a.ended_at, "
                     "a.contact_id FROM attempts a JOIN campaigns c ON c.id = a.campaign_id "
                     f"WHERE c.name = '{name}' ORDER BY a.id")
        return {int(r[0]): r[1:] for r in rows}

    def check_results(self, name):
        """Done, nothing twice, nobody lost."""
        st = self.campaign(name)
        self.assertEqual(st["state"], "done", st)
        self.assertEqual(st["attempts_in_flight"], 0)
        by_state = st["customers_by_state"]
        settled = by_state.get("reached", 0) + by_state.get("exhausted", 0) + \
            by_state.get("suppressed", 0)
        self.assertEqual(settled, CUSTOMERS, f"{name}: customers lost: {by_state}")
        data = self.api(self.live_nodes()[0], "GET", f"/api/campaigns/{name}/results")
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        self.assertEqual(len(rows), st["attempts"])
        keys = [(r["cust_id"], r["phone"], r["attempt"]) for r in rows]
        twice = {k for k in keys if keys.count(k) > 1}
        self.assertFalse(twice, f"{name}: dialled twice: {sorted(twice)[:10]}")
        self.assertEqual({r["cust_id"] for r in rows}, {f"{name[-1]}{i:04d}" for i in range(CUSTOMERS)})
        return rows


class FailoverTest(FailoverTestBase):
    def test_kill_and_freeze_nodes_while_two_campaigns_dial(self):
        seed = int(os.environ.get("FAILOVER_SEED", random.randrange(1 << 30)))
        print(f"\nfailover seed {seed} (FAILOVER_SEED={seed} repeats it)", flush=True)
        rnd = random.Random(seed)
        for i, node_id in enumerate(["n1", "n2", "n3"]):
            self.start_node(node_id, seed + i)
        n1 = self.nodes["n1"]
        self.create("camp-A", n1, CUSTOMERS, "A")
        self.create("camp-B", self.nodes["n2"], CUSTOMERS, "B")
        # Both started through n1: the nodes spread them, one each.
        started_at = time.time()
        self.assertEqual(self.api(n1, "POST", "/api/campaigns/camp-A/start", expect=202),
                         {"state": "running"})
        self.assertEqual(self.api(n1, "POST", "/api/campaigns/camp-B/start", expect=202),
                         {"state": "running"})
        spread = self.wait_for(
            lambda: (lambda a, b: (a, b) if a and b and a != b else None)(
                self.owner("camp-A"), self.owner("camp-B")),
            timeout=30, what="the two campaigns to run on two nodes")
        print(f"spread after {time.time() - started_at:.1f} s: camp-A on {spread[0]}, "
              f"camp-B on {spread[1]}", flush=True)
        nodes = self.api(self.nodes["n3"], "GET", "/api/nodes")
        self.assertEqual(nodes["this_node"], "n3")
        self.assertEqual(sorted(n["id"] for n in nodes["nodes"]), ["n1", "n2", "n3"])
        listed = {n["id"]: n["campaigns"] for n in nodes["nodes"]}
        self.assertIn("camp-A", listed[spread[0]])
        self.assertIn("camp-B", listed[spread[1]])
        # Every node's API shows every campaign, and the node that runs it.
        for node in self.nodes.values():
            names = {c["name"]: c for c in self.api(node, "GET", "/api/campaigns")["campaigns"]}
            self.assertLessEqual({"camp-A", "camp-B"}, set(names))
            self.assertIn(names["camp-A"]["node"], (spread[0], None))

        # (a) SIGKILL the node running a campaign.
        time.sleep(rnd.uniform(4, 10))
        victim_campaign = rnd.choice(["camp-A", "camp-B"])
        victim = self.nodes[self.owner(victim_campaign)]
        before = self.attempts(victim_campaign)
        killed_at = time.time()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        print(f"(a) {time.time() - started_at:.1f} s: SIGKILL node {victim.id} running "
              f"{victim_campaign} ({len(before)} attempts)", flush=True)
        new = self.wait_for(lambda: (lambda o: o if o not in (None, victim.id) else None)(
            self.owner(victim_campaign)), timeout=30, what=f"{victim_campaign} to be taken over")
        took = time.time() - killed_at
        print(f"    taken over by {new} after {took:.2f} s (bound {TAKEOVER_BOUND:.2f} s)",
              flush=True)
        self.assertLessEqual(took, TAKEOVER_BOUND)
        self.assertIn(f"node {new} is taking campaign '{victim_campaign}' over",
                      self.wait_for(lambda: (lambda l: l if victim_campaign in l else None)(
                          self.nodes[new].log()), timeout=5, what="the takeover's log line"))

        # (b) SIGSTOP a node running a campaign, past its lease; then SIGCONT.
        time.sleep(rnd.uniform(3, 8))
        running = {c: self.owner(c) for c in ("camp-A", "camp-B")}
        candidates = sorted(c for c, o in running.items() if o is not None)
        self.assertTrue(candidates, f"nothing runs: {running}")
        frozen_campaign = rnd.choice(candidates)
        frozen = self.nodes[running[frozen_campaign]]
        for _ in range(20):
            stopped_at = time.time()
            frozen.proc.send_signal(signal.SIGSTOP)
            if not store_write_locked(self.store):
                break
            frozen.proc.send_signal(signal.SIGCONT)  # frozen mid-transaction: again
            print(f"    {frozen.id} froze inside a write transaction; freezing it again",
                  flush=True)
            time.sleep(rnd.uniform(0.05, 0.3))
        else:
            self.fail(f"{frozen.id} always froze inside a write transaction")
        frozen.frozen = True
        print(f"(b) {time.time() - started_at:.1f} s: SIGSTOP node {frozen.id} running "
              f"{frozen_campaign}", flush=True)
        taker = self.wait_for(lambda: (lambda o: o if o not in (None, frozen.id) else None)(
            self.owner(frozen_campaign)), timeout=30, what=f"{frozen_campaign} to be taken over")
        took = time.time() - stopped_at
        print(f"    taken over by {taker} after {took:.2f} s (bound {TAKEOVER_BOUND:.2f} s)",
              flush=True)
        self.assertLessEqual(took, TAKEOVER_BOUND)
        # Frozen well past its lease, while the taker dials on.
        time.sleep(max(0.0, stopped_at + 2 * LEASE - time.time()))
        theirs = {i: r for i, r in self.attempts(frozen_campaign).items() if r[0] == frozen.id}
        # The taker resolved every call the frozen node had in flight.
        self.assertTrue(all(r[1] == "ended" for r in theirs.values()),
                        f"open attempts of {frozen.id} after the takeover: "
                        f"{[i for i, r in theirs.items() if r[1] != 'ended']}")
        resumed_at = time.time()
        log_from = len(frozen.lines)
        frozen.proc.send_signal(signal.SIGCONT)
        frozen.frozen = False
        lost = self.wait_for(
            lambda: next((line for t, line in frozen.lines[log_from:]
                          if f"campaign '{frozen_campaign}' left this node" in line
                          and "lost campaign" in line), None),
            timeout=15, what=f"{frozen.id}'s engine to stop with the lost-lease error")
        print(f"    SIGCONT {frozen.id}; its engine: {lost.strip()}", flush=True)
        self.assertIn(f"dialer {frozen.id} lost campaign", lost)
        # No write of the resumed node landed: its rows are as the taker left
        # them and it added none, at least until it legitimately takes a
        # campaign over again (the nodes re-spread).
        after = self.attempts(frozen_campaign)
        retook = [t for t, line in frozen.lines[log_from:]
                  if f"taking campaign '{frozen_campaign}' over" in line]
        self.assertFalse(retook and retook[0] < resumed_at)
        for i, r in theirs.items():
            self.assertEqual(after[i], r, f"attempt {i} changed after the takeover")
        if not retook:
            added = [i for i, r in after.items() if r[0] == frozen.id and i not in theirs]
            self.assertEqual(added, [], f"attempts {frozen.id} added after losing its lease")

        # Both finish, on whichever nodes.
        for name in ("camp-A", "camp-B"):
            self.wait_for(lambda: self.campaign(name)["state"] == "done", timeout=150,
                          what=f"{name} to finish", every=0.5)
        print(f"done after {time.time() - started_at:.1f} s", flush=True)
        for name in ("camp-A", "camp-B"):
            rows = self.check_results(name)
            print(f"{name}: {len(rows)} attempts, "
                  f"{sum(r['outcome'] == 'interrupted' for r in rows)} interrupted by the "
                  "failovers", flush=True)


class DrainTest(FailoverTestBase):
    def test_a_drained_node_hands_its_campaign_over_at_once(self):
        n1 = self.start_node("n1", 1)
        self.create("camp-D", n1, CUSTOMERS, "D")
        self.api(n1, "POST", "/api/campaigns/camp-D/start", expect=202)
        self.wait_for(lambda: self.owner("camp-D", n1) == "n1", timeout=10, what="n1 to run it")
        n2 = self.start_node("n2", 2)
        self.wait_for(lambda: any(n["id"] == "n2" for n in
                                  self.api(n1, "GET", "/api/nodes")["nodes"]),
                      timeout=10, what="n2 to join")
        # One campaign, two nodes: it stays where it is.
        time.sleep(2 * HEARTBEAT)
        self.assertEqual(self.owner("camp-D", n2), "n1")
        # Token-protected like every write.
        unauthorised = http.client.HTTPConnection("127.0.0.1", n1.port, timeout=10)
        unauthorised.request("POST", "/api/node/drain")
        self.assertEqual(unauthorised.getresponse().status, 401)
        unauthorised.close()
        drained_at = time.time()
        drained = self.api(n1, "POST", "/api/node/drain", expect=202)
        self.assertEqual(drained["node"], "n1")
        self.assertTrue(drained["draining"])
        self.assertTrue(drained["other_nodes_serving"])
        # Handed over after its calls in flight end (a few seconds of talk),
        # not after a lease; never stopped on the way.
        states = set()
        self.wait_for(lambda: states.add(self.campaign("camp-D", n2)["state"]) or
                      self.owner("camp-D", n2) == "n2", timeout=20, what="n2 to take it over")
        print(f"\ndrain: handed over after {time.time() - drained_at:.2f} s", flush=True)
        self.assertEqual(states, {"running"})
        self.assertIn("camp-D' handed over", n1.log())
        nodes = {n["id"]: n for n in self.api(n2, "GET", "/api/nodes")["nodes"]}
        self.assertTrue(nodes["n1"]["draining"])
        self.assertEqual(nodes["n1"]["campaigns"], [])
        self.assertEqual(nodes["n2"]["campaigns"], ["camp-D"])
        # A draining node refuses starts, and still controls every campaign
        # through the store: stop it through n1, start it again through n2.
        self.api(n1, "POST", "/api/campaigns/camp-D/start", expect=409)
        self.assertEqual(self.api(n1, "POST", "/api/campaigns/camp-D/stop", expect=202),
                         {"state": "stopping"})
        self.wait_for(lambda: self.campaign("camp-D", n1)["state"] == "stopped", timeout=30,
                      what="camp-D to stop")
        self.api(n2, "POST", "/api/campaigns/camp-D/start", expect=202)
        self.wait_for(lambda: self.owner("camp-D", n1) == "n2", timeout=10, what="n2 to run it")
        # SIGTERM with another node serving: hand over, not stop. n3 joins,
        # n2 leaves; n1 (draining) takes nothing.
        n3 = self.start_node("n3", 3)
        self.wait_for(lambda: any(n["id"] == "n3" for n in
                                  self.api(n1, "GET", "/api/nodes")["nodes"]),
                      timeout=10, what="n3 to join")
        time.sleep(HEARTBEAT)
        n2.proc.send_signal(signal.SIGTERM)
        self.wait_for(lambda: self.owner("camp-D", n1) == "n3", timeout=20, what="n3 to take it")
        self.assertEqual(n2.proc.wait(timeout=30), 0)
        self.assertIn("handed over to the other nodes", n2.log())
        self.assertNotIn("n2", [n["id"] for n in self.api(n1, "GET", "/api/nodes")["nodes"]])
        self.wait_for(lambda: self.campaign("camp-D", n3)["state"] == "done", timeout=150,
                      what="camp-D to finish", every=0.5)
        self.check_results("camp-D")


if __name__ == "__main__":
    unittest.main()
