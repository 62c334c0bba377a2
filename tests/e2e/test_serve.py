"""End-to-end tests of `powerdialer serve`: the real binary, spoken to over
real HTTP on loopback, as the dashboard and curl users do. Stdlib only.

One server (fast simulated calls) is shared by most tests, each on its own
campaigns; tests that need their own server flags start another one."""

import csv
import http.client
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")
FIXTURES = os.environ.get("POWERDIALER_FIXTURES", "tests/fixtures")
FAST = ["--speed", "20", "--agents", "5", "--talk-mean", "2s", "--acw-mean", "1s",
        "--ring-timeout", "3s"]


def list_csv(prefix, customers, area="202"):
    rows = ["custID,phone,name"]
    for i in range(customers):
        rows.append(f"{prefix}{i:04d},+1{area}555{i:04d},Customer {i}")
    return ("\n".join(rows) + "\n").encode()


class Server:
    """A `powerdialer serve` process on a free loopback port."""

    def __init__(self, workdir, db, *flags, env=None):
        self.proc = subprocess.Popen(
            [BIN, "--db", db, "serve", "--listen", "127.0.0.1:0", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir, env=env)
        self.port = None
        self.log = b""
        deadline = time.time() + 30
        while self.port is None and time.time() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if ready:
                line = self.proc.stderr.readline()
                if not line:
                    break
                self.log += line
                m = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("serve did not start: " + self.log.decode(errors="replace"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rest = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.log + rest


class ServeTestBase(unittest.TestCase):
    @classmethod
    def pd(cls, *args, ok=True):
        p = subprocess.run([BIN, "--db", cls.db, *args], capture_output=True, text=True,
                           cwd=cls.dir, timeout=60)
        if ok and p.returncode != 0:
            raise AssertionError(f"{args}: {p.stderr}")
        return p

    @classmethod
    def start_server(cls, *flags):
        cls.dir = tempfile.mkdtemp(prefix="pd-e2e-serve-")
        cls.db = os.path.join(cls.dir, "serve.db")
        cls.pd("init")
        cls.token = cls.pd("token", "create", "--name", "tests").stdout.strip()
        cls.server = Server(cls.dir, cls.db, *flags)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def request(self, method, path, body=None, token=True, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = f"Bearer {self.token}"
        elif token:
            h["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h,
                         encode_chunked=h.get("Transfer-Encoding") == "chunked")
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp, data
        finally:
            conn.close()

    def api(self, method, path, body=None, expect=200, **kw):
        status, resp, data = self.request(method, path, body, **kw)
        self.assertEqual(status, expect, f"{method} {path}: {data[:500]!r}")
        if resp.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(data)
        return data

    def wait_for(self, predicate, timeout=60, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")

    def create(self, name, customers=0, prefix="C", area="202"):
        self.api("POST", "/api/campaigns", {"name": name}, expect=201)
        # Not calling-window tests: they dial in real time, at any hour.
        self.api("PATCH", f"/api/campaigns/{name}/config", {"calling-hours": "00:00-24:00"})
        if customers:
            loaded = self.api("PUT", f"/api/campaigns/{name}/list",
                              list_csv(prefix, customers, area),
                              headers={"Content-Type": "text/csv"})
            self.assertEqual(loaded["loaded"], customers)

    def campaign(self, name):
        return self.api("GET", f"/api/campaigns/{name}")

    def events(self, path, count, timeout=30, until=None):
        """Reads `count` SSE events from `path` (or until `until(events)` holds);
        returns (event, data) pairs."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/event-stream"))
        out, event = [], None
        try:
            while len(out) < count and not (until and until(out)):
                line = resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: "):
                    out.append((event, json.loads(line[len("data: "):])))
        finally:
            conn.close()
        return out


class ServeApiTest(ServeTestBase):
    @classmethod
    def setUpClass(cls):
        cls.start_server(*FAST, "--max-body-bytes", "4096", "--max-list-bytes", "262144")

    # --- authentication -----------------------------------------------------

    def test_every_api_route_needs_the_token(self):
        for method, path in [("GET", "/api/campaigns"), ("POST", "/api/campaigns"),
                             ("GET", "/api/campaigns/default"),
                             ("PATCH", "/api/campaigns/default/config"),
                             ("PUT", "/api/campaigns/default/list"),
                             ("POST", "/api/campaigns/default/start"),
                             ("GET", "/api/campaigns/default/results"),
                             ("GET", "/api/events"), ("GET", "/api/nothing-here")]:
            for token in (None, "pd_wrong", self.token + "x"):
                status, resp, data = self.request(method, path, token=token)
                self.assertEqual(status, 401, f"{method} {path} with {token}")
                self.assertEqual(resp.getheader("WWW-Authenticate")[:6], "Bearer")
                self.assertIn("error", json.loads(data))
        # A different scheme is not a bearer token.
        status, _, _ = self.request("GET", "/api/campaigns", token=None,
                                    headers={"Authorization": f"Basic {self.token}"})
        self.assertEqual(status, 401)
        # Health, metrics (on loopback) and the dashboard need none.
        status, _, data = self.request("GET", "/healthz", token=None)
        self.assertEqual((status, data.strip()), (200, b"ok"))
        status, _, _ = self.request("GET", "/metrics", token=None)
        self.assertEqual(status, 200)

    def test_a_revoked_token_is_refused_and_a_new_one_accepted(self):
        new = self.pd("token", "create", "--name", "short-lived").stdout.strip()
        self.assertTrue(new.startswith("pd_"))
        self.wait_for(lambda: self.request("GET", "/api/campaigns", token=new)[0] == 200,
                      timeout=10, what="the new token to work")
        listed = self.pd("token", "list", "--json").stdout
        self.assertIn("short-lived", listed)
        self.assertNotIn(new, listed)                # only a hint is kept, not the token
        self.pd("token", "revoke", "short-lived")
        self.wait_for(lambda: self.request("GET", "/api/campaigns", token=new)[0] == 401,
                      timeout=10, what="the revoked token to be refused")
        self.assertNotEqual(self.pd("token", "revoke", "short-lived", ok=False).returncode, 0)

    # --- campaigns and configuration ------------------------------------------

    def test_create_campaign_and_name_rules(self):
        created = self.api("POST", "/api/campaigns", {"name": "create-1"}, expect=201)
        self.assertEqual(created["name"], "create-1")
        self.assertEqual(created["state"], "idle")
        self.assertEqual(created["customers"], 0)
        self.api("POST", "/api/campaigns", {"name": "create-1"}, expect=409)
        err = self.api("POST", "/api/campaigns", {"name": "no spaces"}, expect=400)
        self.assertIn("invalid campaign name", err["error"])
        self.api("POST", "/api/campaigns", {"name": 7}, expect=400)
        self.api("POST", "/api/campaigns", b"{not json", expect=400)
        self.api("POST", "/api/campaigns", body=None, expect=400)
        names = [c["name"] for c in self.api("GET", "/api/campaigns")["campaigns"]]
        self.assertIn("create-1", names)
        for c in self.api("GET", "/api/campaigns")["campaigns"]:
            self.assertEqual(set(c), {"name", "state", "backend", "customers", "attempts",
                                      "reached", "exhausted", "suppressed", "pending",
                                      "in_flight", "node"})
            self.assertEqual(c["backend"], "sim")
        self.api("GET", "/api/campaigns/nosuch", expect=404)
        self.api("GET", "/api/campaigns/nosuch/config", expect=404)
        self.api("POST", "/api/campaigns/nosuch/start", expect=404)

    def test_config_is_validated_like_the_cli_and_all_or_nothing(self):
        self.create("config-1")
        got = self.api("GET", "/api/campaigns/config-1/config")
        self.assertEqual(got["config"]["max-attempts"], "1")
        self.assertIsNone(got["config"]["queue"])
        keys = {k["name"]: k for k in got["keys"]}
        self.assertIn("retry-delay", keys)
        self.assertEqual(keys["default-region"]["default"], "US")
        self.assertTrue(keys["max-attempts"]["description"])

        err = self.api("PATCH", "/api/campaigns/config-1/config", {"max-attempts": "lots"},
                       expect=400)
        self.assertEqual(err["key"], "max-attempts")
        self.assertIn("1 to 20", err["error"])
        err = self.api("PATCH", "/api/campaigns/config-1/config", {"colour": "blue"},
                       expect=400)
        self.assertEqual(err["key"], "colour")
        # One bad key: nothing changes.
        err = self.api("PATCH", "/api/campaigns/config-1/config",
                       {"max-attempts": "3", "retry-delay": "forever"}, expect=400)
        self.assertEqual(err["key"], "retry-delay")
        self.assertEqual(
            self.api("GET", "/api/campaigns/config-1/config")["config"]["max-attempts"], "1")

        new = self.api("PATCH", "/api/campaigns/config-1/config",
                       {"max-attempts": "3", "retry-delay": "600", "default-region": "gb"})
        self.assertEqual(new["config"]["max-attempts"], "3")
        self.assertEqual(new["config"]["retry-delay"], "10m")   # canonical, as the CLI stores
        self.assertEqual(new["config"]["default-region"], "GB")
        cli = json.loads(self.pd("--campaign", "config-1", "config", "list", "--json").stdout)
        self.assertEqual(cli, new["config"])
        new = self.api("PATCH", "/api/campaigns/config-1/config", {"retry-delay": None})
        self.assertEqual(new["config"]["retry-delay"], "5m")

    # --- lists ------------------------------------------------------------------

    def test_upload_reports_bad_rows_by_line(self):
        self.create("upload-1")
        with open(os.path.join(FIXTURES, "bad.csv"), "rb") as f:
            body = f.read()
        got = self.api("PUT", "/api/campaigns/upload-1/list", body,
                       headers={"Content-Type": "text/csv"})
        self.assertEqual(got["loaded"], 1)
        self.assertEqual(got["rejected"], 4)
        lines = [r["line"] for r in got["rejects"]]
        self.assertEqual(lines, [3, 5, 6, 7])  # line 4 is blank: skipped
        self.assertIn("missing custID", got["rejects"][1]["reason"])
        kept = self.api("GET", "/api/campaigns/upload-1/rejects")
        self.assertEqual(kept["rejects"], got["rejects"])
        self.assertEqual(kept["rejected_rows"], 4)
        self.assertEqual(kept["rejects_not_listed"], 0)
        self.assertEqual(kept["rejects_by_reason"]["missing_phone"], 1)
        # Append mode adds; the status is `status --json`'s, plus "live".
        with open(os.path.join(FIXTURES, "good.csv"), "rb") as f:
            self.api("PUT", "/api/campaigns/upload-1/list?append=1", f.read())
        st = self.campaign("upload-1")
        self.assertIsNone(st.pop("live"))
        self.assertEqual(st.pop("backend"), "sim")
        self.assertIsNone(st.pop("node"))  # the node that dials it: none while idle
        cli = json.loads(self.pd("--campaign", "upload-1", "status", "--json").stdout)
        self.assertEqual(st, cli)
        self.assertGreater(st["customers"], 1)
        # A file with no valid row changes nothing and says why.
        err = self.api("PUT", "/api/campaigns/upload-1/list", b"custID,phone\nX1,12\n",
                       expect=400)
        self.assertIn("no valid rows", err["error"])
        self.assertEqual(err["rejects"][0]["line"], 2)
        err = self.api("PUT", "/api/campaigns/upload-1/list", b"name,phone\nA,+12025550100\n",
                       expect=400)
        self.assertIn("custID", err["error"])
        self.assertEqual(self.campaign("upload-1")["customers"], st["customers"])

    def test_oversized_bodies_are_refused_with_413(self):
        self.create("big-1", customers=3)
        err = self.api("PATCH", "/api/campaigns/big-1/config",
                       {"outputfile": "x" * 10000}, expect=413)
        self.assertIn("error", err)
        big = list_csv("B", 12000)                    # ~330 KB > --max-list-bytes 256 KiB
        self.assertGreater(len(big), 262144)
        err = self.api("PUT", "/api/campaigns/big-1/list", big, expect=413)
        self.assertIn("nothing was loaded", err["error"])
        self.assertEqual(self.campaign("big-1")["customers"], 3)
        # Chunked, with no length given up front: counted as it streams in.
        chunks = (big[i:i + 16384] for i in range(0, len(big), 16384))
        status, _, data = self.request("PUT", "/api/campaigns/big-1/list", chunks,
                                       headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(status, 413, data)
        self.assertEqual(self.campaign("big-1")["customers"], 3)
        # A chunked upload within the limit streams in as usual.
        small = list_csv("K", 50)
        status, _, data = self.request("PUT", "/api/campaigns/big-1/list",
                                       (small[i:i + 100] for i in range(0, len(small), 100)),
                                       headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["loaded"], 50)

    # --- dialing ------------------------------------------------------------------

    def test_start_watch_stop_and_results(self):
        self.api("POST", "/api/campaigns/run-1/start", expect=404)
        self.create("run-1")
        err = self.api("POST", "/api/campaigns/run-1/start", expect=409)
        self.assertIn("no dialing list", err["error"])
        # Injection-looking cells come back neutralised in the export.
        with open(os.path.join(FIXTURES, "injection.csv"), "rb") as f:
            self.api("PUT", "/api/campaigns/run-1/list", f.read())
        self.api("PUT", "/api/campaigns/run-1/list?append=1", list_csv("R", 400))
        started = self.api("POST", "/api/campaigns/run-1/start", {"ignored": True}, expect=202)
        self.assertEqual(started, {"state": "running"})
        self.api("POST", "/api/campaigns/run-1/start", expect=409)
        self.api("PUT", "/api/campaigns/run-1/list", list_csv("Z", 3), expect=409)

        events = self.events("/api/events?campaign=run-1", 4)
        self.assertEqual({e for e, _ in events}, {"campaign"})
        self.assertEqual({d["name"] for _, d in events}, {"run-1"})
        for _, d in events:
            for key in ("state", "t", "customers", "pending", "reached", "exhausted",
                        "attempts", "in_flight", "attempts_by_outcome", "live"):
                self.assertIn(key, d)
        attempts = [d["attempts"] for _, d in events]
        self.assertEqual(attempts, sorted(attempts))
        self.assertGreater(attempts[-1], attempts[0])    # the numbers move
        live = [d["live"] for _, d in events if d["live"]]
        self.assertTrue(live)
        self.assertEqual(set(live[-1]), {"dials", "connects", "abandons", "throttled",
                                         "agents_available", "agents_busy",
                                         "agents_after_call_work", "dialing", "talking"})
        self.assertIsNotNone(self.campaign("run-1")["live"])

        stopped = self.api("POST", "/api/campaigns/run-1/stop", expect=202)
        self.assertEqual(stopped, {"state": "stopping"})
        st = self.wait_for(lambda: (lambda s: s if s["state"] == "stopped" else None)(
            self.campaign("run-1")), what="the campaign to stop")
        self.assertEqual(st["attempts_in_flight"], 0)
        self.assertIsNone(st["live"])
        self.assertGreater(st["customers_by_state"]["pending"], 0)   # stopped before the end
        self.api("POST", "/api/campaigns/run-1/stop", expect=409)

        status, resp, data = self.request("GET", "/api/campaigns/run-1/results")
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/csv"))
        self.assertEqual(resp.getheader("Content-Disposition"),
                         'attachment; filename="run-1-results.csv"')
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        self.assertEqual(len(rows), st["attempts"])
        self.assertEqual({r["campaign"] for r in rows}, {"run-1"})
        cli = subprocess.run([BIN, "--db", self.db, "--campaign", "run-1", "results"],
                             capture_output=True, check=True, timeout=60).stdout
        self.assertEqual(data, cli)     # the same export, byte for byte
        if any(r["cust_id"].startswith("'=") for r in rows):
            self.assertNotIn("\n=cmd", data.decode())

        # Started again, it resumes and finishes the list.
        self.api("POST", "/api/campaigns/run-1/start", expect=202)
        self.wait_for(lambda: self.campaign("run-1")["state"] == "done", timeout=120,
                      what="the campaign to finish")
        rows = list(csv.DictReader(io.StringIO(
            self.api("GET", "/api/campaigns/run-1/results").decode())))
        injected = [r for r in rows if r["phone"] == "+12025550301"]
        self.assertEqual(injected[0]["cust_id"], "'=cmd|calc")

    def test_two_campaigns_run_at_once_on_their_own_lists(self):
        self.create("north", customers=120, prefix="N", area="202")
        self.create("south", customers=80, prefix="S", area="303")
        self.api("PATCH", "/api/campaigns/south/config", {"max-attempts": "2",
                                                          "retry-delay": "1"})
        self.api("POST", "/api/campaigns/north/start", expect=202)
        self.api("POST", "/api/campaigns/south/start", expect=202)
        # One feed carries every campaign.
        seen = self.events("/api/events", 1000, until=lambda ev: {"north", "south"} <= {
            d["name"] for _, d in ev if d["live"]})
        self.assertLessEqual({"north", "south"}, {d["name"] for _, d in seen if d["live"]})
        running = self.wait_for(
            lambda: all(self.campaign(n)["live"] for n in ("north", "south")) or
            all(self.campaign(n)["state"] == "done" for n in ("north", "south")),
            what="both campaigns live")
        self.assertTrue(running)
        for name in ("north", "south"):
            self.wait_for(lambda: self.campaign(name)["state"] == "done", timeout=180,
                          what=f"{name} to finish")
        north = list(csv.DictReader(io.StringIO(
            self.api("GET", "/api/campaigns/north/results").decode())))
        south = list(csv.DictReader(io.StringIO(
            self.api("GET", "/api/campaigns/south/results").decode())))
        self.assertTrue(all(r["cust_id"].startswith("N") and r["phone"].startswith("+1202")
                            for r in north))
        self.assertTrue(all(r["cust_id"].startswith("S") and r["phone"].startswith("+1303")
                            for r in south))
        self.assertEqual(len({r["cust_id"] for r in north}), 120)
        self.assertEqual(len({r["cust_id"] for r in south}), 80)
        # Each ran with its own rules: only south retries.
        self.assertEqual(max(int(r["attempt"]) for r in north), 1)

    def test_metrics_are_prometheus_text(self):
        self.create("metrics-1", customers=30)
        self.api("POST", "/api/campaigns/metrics-1/start", expect=202)
        self.wait_for(lambda: self.campaign("metrics-1")["live"], what="live stats")
        text = self.wait_for(
            lambda: (lambda t: t if 'powerdialer_dials_total{campaign="metrics-1"}' in t
                     else None)(self.api("GET", "/metrics", token=None).decode()),
            what="metrics for the running campaign")
        sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})?'
                            r' -?[0-9.e+]+$')
        families = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                families.add(line.split()[2])
                self.assertIn(line.split()[3], {"counter", "gauge", "summary"})
            elif line and not line.startswith("#"):
                self.assertRegex(line, sample)
        for f in ("powerdialer_dials_total", "powerdialer_connects_total",
                  "powerdialer_abandons_total", "powerdialer_attempts_total",
                  "powerdialer_agents", "powerdialer_api_throttles_total",
                  "powerdialer_event_lag_seconds", "powerdialer_http_requests_total"):
            self.assertIn(f, families)
        self.assertRegex(text, r'powerdialer_agents\{campaign="metrics-1",state="available"\} \d')
        self.assertRegex(text, r'powerdialer_attempts_total\{campaign="metrics-1",'
                               r'outcome="connected"\} \d')

    def test_dashboard_is_served_without_a_token(self):
        status, resp, data = self.request("GET", "/", token=None)
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/html"))
        status, _, _ = self.request("GET", "/no-such-file.js", token=None)
        self.assertEqual(status, 404)


class ServeProcessTest(unittest.TestCase):
    """Start-up refusals and shutdown, each with its own server."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-serve-")
        self.db = os.path.join(self.dir, "p.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd(self, *args, ok=True):
        p = subprocess.run([BIN, "--db", self.db, *args], capture_output=True, text=True,
                           cwd=self.dir, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        return p

    def test_init_prints_a_first_token_once(self):
        first = self.pd("init").stdout
        self.assertRegex(first, r"pd_[A-Za-z0-9_-]{43}")
        self.assertNotIn("pd_", self.pd("init").stdout)
        listed = json.loads(self.pd("token", "list", "--json").stdout)
        self.assertEqual([t["name"] for t in listed], ["default"])

    def test_non_loopback_listen_is_refused_without_a_token(self):
        self.pd("init")
        self.pd("token", "revoke", "default")
        p = subprocess.run([BIN, "--db", self.db, "serve", "--listen", "0.0.0.0:0"],
                           capture_output=True, text=True, cwd=self.dir, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("refusing to listen on 0.0.0.0:0", p.stderr)
        self.assertIn("token create", p.stderr)
        p = subprocess.run([BIN, "--db", self.db, "serve", "--listen", "nonsense"],
                           capture_output=True, text=True, cwd=self.dir, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--listen", p.stderr)

    def test_sigterm_lets_calls_in_flight_finish(self):
        self.pd("init")
        self.pd("config", "set", "calling-hours", "00:00-24:00")  # any hour: not about windows
        token = self.pd("token", "create", "--name", "t").stdout.strip()
        with open(os.path.join(self.dir, "l.csv"), "wb") as f:
            f.write(list_csv("T", 200))
        self.pd("load", "l.csv")
        server = Server(self.dir, self.db, "--speed", "10", "--agents", "4", "--talk-mean",
                        "20s", "--ring-timeout", "10s")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("POST", "/api/campaigns/default/start",
                         headers={"Authorization": f"Bearer {token}"})
            self.assertEqual(conn.getresponse().status, 202)
            conn.close()
            deadline = time.time() + 30
            while time.time() < deadline:
                st = json.loads(self.pd("status", "--json").stdout)
                if st["attempts_in_flight"] > 0:
                    break
                time.sleep(0.1)
            self.assertGreater(st["attempts_in_flight"], 0)
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=60), 0)
        finally:
            log = server.stop().decode()
        self.assertIn("stopped", log)
        st = json.loads(self.pd("status", "--json").stdout)
        self.assertEqual(st["state"], "stopped")
        self.assertEqual(st["attempts_in_flight"], 0)
        self.assertEqual(st["attempts_by_outcome"]["interrupted"], 0)


if __name__ == "__main__":
    unittest.main()
