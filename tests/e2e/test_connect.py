"""End-to-end tests of the Amazon Connect backend, against the closest real
things that run here: moto_server for S3 and Kinesis, and `powerdialer
connect-standin` for Connect (SigV4-verified REST+JSON, agent events and
contact trace records written to moto's Kinesis).

A campaign is loaded from S3, run with `--backend connect`, its results
written to S3, and checked against the stand-in's ledger of what it did:
every customer attempted as the rules say, no phone dialled twice for one
attempt, every outcome the one the stand-in produced. The same holds with
throttled calls, 5xx answers, duplicated and reordered events, and a dialer
killed mid-campaign."""

import csv
import http.client
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest
from collections import Counter
from datetime import datetime, timezone

import boto3
import botocore.config
import botocore.exceptions

from local_aws import BIN, MotoServer, Standin, aws_env
from test_failover import LEASE, Node
from test_serve import Server

INSTANCE = "11111111-2222-3333-4444-555555555555"
QUEUE = "aaaaaaaa-1111-2222-3333-444444444444"
FLOW = "22222222-3333-4444-5555-666666666666"
# Quick calls, so a campaign takes seconds. HEART_BEATs every 2 s.
FAST = ["--agents", "6", "--talk-mean", "2s", "--acw-mean", "1s", "--ring-timeout", "3s",
        "--heartbeat", "2"]


class ConnectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()
        cls.s3 = boto3.client("s3", endpoint_url=cls.moto.endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-connect-")
        self.db = os.path.join(self.dir, "c.db")
        self.env = aws_env(self.dir, self.moto.endpoint)
        self.bucket = f"pd-{self._testMethodName.replace('_', '-')[:40].strip('-')}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.standins = []
        self.procs = []
        # Each test its own streams, so no test reads another's events.
        self.streams = (f"agents-{self._testMethodName[:30]}", f"ctrs-{self._testMethodName[:30]}")

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
        for s in self.standins:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def standin(self, *args, flags=()):
        # Options given here (FLAG VALUE pairs) replace FAST's of the same
        # name; `flags` are options without a value.
        given = set(args[0::2])
        fast = [x for flag, value in zip(FAST[0::2], FAST[1::2]) if flag not in given
                for x in (flag, value)]
        s = Standin(self.dir, self.env, *fast, *args, *flags, streams=self.streams)
        self.standins.append(s)
        return s

    def pd(self, *args, ok=True, timeout=180):
        p = subprocess.run([BIN, "--db", self.db, *args], capture_output=True, text=True,
                           cwd=self.dir, env=self.env, timeout=timeout)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        return p

    def campaign(self, standin, customers, phones=1, max_attempts=1):
        rows = "".join(f"C{i:04d},+1202{4000000 + i * 10 + p:07d},Customer {i}\n"
                       for i in range(customers) for p in range(phones))
        self.s3.put_object(Bucket=self.bucket, Key="list.csv",
                           Body=("custID,phone,first_name\n" + rows).encode())
        self.pd("init")
        for key, value in [("connectid", INSTANCE), ("contactflow", FLOW), ("queue", QUEUE),
                           ("agent-stream", self.streams[0]), ("ctr-stream", self.streams[1]),
                           ("connect-endpoint", standin.endpoint),
                           ("max-attempts", str(max_attempts)), ("retry-delay", "0s"),
                           # Any hour: these tests are not about calling windows.
                           ("calling-hours", "00:00-24:00"),
                           # As in the reference sample: a file name in io-bucket.
                           ("io-bucket", self.bucket), ("inputfile", "list.csv")]:
            self.pd("config", "set", key, value)
        self.pd("load")  # the campaign's inputfile, from S3

    def results(self):
        self.pd("results", "-o", f"s3://{self.bucket}/out/results.csv")
        body = self.s3.get_object(Bucket=self.bucket, Key="out/results.csv")["Body"].read()
        return list(csv.DictReader(io.StringIO(body.decode())))

    def check_against_ledger(self, rows, standin, customers, allow_interrupted=False):
        ledger = standin.contacts()
        by_contact = {c["contact_id"]: c for c in ledger}
        # No duplicate dials: one contact per client token, each attempt's
        # contact placed once.
        tokens = Counter(c["client_token"] for c in ledger)
        self.assertEqual([t for t, n in tokens.items() if n > 1], [])
        contact_ids = [r["contact_id"] for r in rows if r["contact_id"]]
        self.assertEqual(len(contact_ids), len(set(contact_ids)))
        # Every call the stand-in placed is an attempt in the results (a call
        # placed by a killed dialer before it learnt the contact id is one of
        # the interrupted attempts).
        self.assertLessEqual(set(contact_ids), set(by_contact))
        unrecorded = len(set(by_contact) - set(contact_ids))
        interrupted = sum(1 for r in rows if r["outcome"] == "interrupted")
        self.assertLessEqual(unrecorded, interrupted if allow_interrupted else 0)
        # Every customer attempted: reached or out of attempts, nobody left.
        self.assertEqual(len({r["cust_id"] for r in rows}), customers)
        for r in rows:
            if r["outcome"] == "interrupted":
                self.assertTrue(allow_interrupted, r)
                continue
            self.assertIn(r["contact_id"], by_contact, r)
            # The outcome is the one the stand-in produced.
            self.assertEqual(r["outcome"], by_contact[r["contact_id"]]["outcome"], r)
            if r["outcome"] == "connected":
                self.assertEqual(r["agent_id"], by_contact[r["contact_id"]]["agent"])
                self.assertTrue(r["answered_at"])
        status = json.loads(self.pd("status", "--json").stdout)
        self.assertEqual(status["attempts_in_flight"], 0, status)
        self.assertEqual(status["customers_by_state"].get("pending", 0), 0, status)

    def test_standin_speaks_connects_protocol_to_boto3(self):
        standin = self.standin("--throttle", "0")
        connect = boto3.client("connect", endpoint_url=standin.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        first = connect.start_outbound_voice_contact(
            DestinationPhoneNumber="+12025550123", ContactFlowId=FLOW, InstanceId=INSTANCE,
            QueueId=QUEUE, ClientToken="tok-1", Attributes={"custID": "C1", "tier": "gold"})
        again = connect.start_outbound_voice_contact(
            DestinationPhoneNumber="+12025550123", ContactFlowId=FLOW, InstanceId=INSTANCE,
            QueueId=QUEUE, ClientToken="tok-1")
        self.assertEqual(first["ContactId"], again["ContactId"])  # idempotent by token
        metrics = connect.get_current_metric_data(
            InstanceId=INSTANCE, Filters={"Queues": [QUEUE], "Channels": ["VOICE"]},
            CurrentMetrics=[{"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"}])
        value = metrics["MetricResults"][0]["Collections"][0]["Value"]
        self.assertTrue(0 <= value <= 6, metrics)
        contact = connect.describe_contact(InstanceId=INSTANCE, ContactId=first["ContactId"])
        self.assertEqual(contact["Contact"]["Id"], first["ContactId"])
        self.assertEqual(contact["Contact"]["Channel"], "VOICE")
        connect.stop_contact(ContactId=first["ContactId"], InstanceId=INSTANCE)

        def code(call):
            with self.assertRaises(botocore.exceptions.ClientError) as e:
                call()
            return e.exception.response["Error"]["Code"]

        self.assertEqual(code(lambda: connect.describe_contact(InstanceId=INSTANCE,
                                                               ContactId="nope")),
                         "ResourceNotFoundException")
        self.assertEqual(code(lambda: connect.start_outbound_voice_contact(
            DestinationPhoneNumber="+12025550123", ContactFlowId=FLOW, InstanceId=INSTANCE,
            Attributes={"bad key": "x"})), "InvalidParameterException")
        wrong = boto3.client("connect", endpoint_url=standin.endpoint, region_name="us-east-1",
                             aws_access_key_id="test", aws_secret_access_key="wrong")
        self.assertEqual(code(lambda: wrong.describe_contact(InstanceId=INSTANCE,
                                                             ContactId=first["ContactId"])),
                         "InvalidSignatureException")
        throttling = self.standin("--throttle", "1")
        busy = boto3.client("connect", endpoint_url=throttling.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=botocore.config.Config(retries={"max_attempts": 1}))
        self.assertEqual(code(lambda: busy.start_outbound_voice_contact(
            DestinationPhoneNumber="+12025550123", ContactFlowId=FLOW, InstanceId=INSTANCE)),
            "TooManyRequestsException")

    def test_campaign_from_s3_through_connect_to_s3(self):
        standin = self.standin()
        self.campaign(standin, customers=24, phones=2, max_attempts=2)
        run = self.pd("run", "--backend", "connect")
        self.assertIn("campaign 'default' is done", run.stdout)
        rows = self.results()
        self.check_against_ledger(rows, standin, customers=24)
        # The rules: a second phone or a second try only after a miss.
        tries = Counter((r["cust_id"], r["phone"]) for r in rows)
        self.assertLessEqual(max(tries.values()), 2)
        reached = {r["cust_id"] for r in rows if r["outcome"] == "connected"}
        for r in rows:
            if r["cust_id"] in reached:
                later = [x for x in rows if x["cust_id"] == r["cust_id"]
                         and x["started_at"] > r["started_at"]]
                if r["outcome"] == "connected":
                    self.assertEqual(later, [], "a reached customer was called again")

    def test_agent_events_without_status_type_dial_the_whole_list(self):
        # Connect's documented agent event: AgentStatus with ARN, Name and
        # StartTimestamp only. An agent back in "Available" takes the next
        # call; were that missed, the run would stall after one call per
        # agent.
        standin = self.standin(flags=("--no-status-type",))
        self.campaign(standin, customers=24)
        run = self.pd("run", "--backend", "connect", timeout=120)
        self.assertIn("campaign 'default' is done", run.stdout)
        rows = self.results()
        self.assertEqual(len(rows), 24)
        self.check_against_ledger(rows, standin, customers=24)

    def test_throttling_errors_duplicates_and_reordering_change_nothing(self):
        standin = self.standin("--throttle", "0.2", "--errors", "0.05", "--duplicate", "0.3",
                               "--reorder", "0.3")
        self.campaign(standin, customers=30)
        run = self.pd("run", "--backend", "connect")
        self.assertIn("campaign 'default' is done", run.stdout)
        rows = self.results()
        self.assertEqual(len(rows), 30)
        self.check_against_ledger(rows, standin, customers=30)
        with open(os.path.join(self.dir, "standin.log")) as f:
            log = f.read()
        self.assertNotIn("PutRecords", log)  # every event reached the stream

    def test_a_dialer_killed_mid_campaign_loses_nobody_and_dials_nobody_twice(self):
        standin = self.standin("--talk-mean", "4s")
        self.campaign(standin, customers=30)
        p = subprocess.Popen([BIN, "--db", self.db, "run", "--backend", "connect"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=self.dir, env=self.env)
        self.procs.append(p)
        deadline = time.time() + 60
        while len(standin.contacts()) < 4 and time.time() < deadline:
            time.sleep(0.1)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        killed_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        run = self.pd("run", "--backend", "connect")
        self.assertIn("campaign 'default' is done", run.stdout)
        rows = self.results()
        # Calls in flight at the kill were taken over and ended as the
        # stand-in ended them; only a claim whose request had no answer yet
        # can end as interrupted, and it is never redialled.
        self.check_against_ledger(rows, standin, customers=30, allow_interrupted=True)
        interrupted = [r for r in rows if r["outcome"] == "interrupted"]
        self.assertLessEqual(len(interrupted), 6)
        taken_over = [r for r in rows if r["started_at"] < killed_at < r["ended_at"]
                      and r["outcome"] != "interrupted"]
        self.assertGreater(len(taken_over), 0, "no call in flight at the kill was taken over")
        self.assertEqual(len(rows), 30)

    def test_a_contact_id_lost_in_a_crash_is_recovered_through_the_client_token(self):
        standin = self.standin("--talk-mean", "4s")
        self.campaign(standin, customers=20)
        p = subprocess.Popen([BIN, "--db", self.db, "run", "--backend", "connect"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=self.dir, env=self.env)
        self.procs.append(p)
        deadline = time.time() + 60
        while len(standin.contacts()) < 3 and time.time() < deadline:
            time.sleep(0.1)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        # The dialer died before the contact ids of its calls in flight
        # reached the store.
        db = sqlite3.connect(self.db)
        lost = db.execute("UPDATE attempts SET contact_id = NULL WHERE state != 'ended'").rowcount
        db.commit()
        db.close()
        self.assertGreater(lost, 0)
        run = self.pd("run", "--backend", "connect")
        self.assertIn("campaign 'default' is done", run.stdout)
        rows = self.results()
        self.assertEqual(len(rows), 20)
        # Each was asked for again with its ClientToken: the stand-in answered
        # with the same contact and placed no second call (the ledger has one
        # contact per token), and the call was taken over to its real end.
        self.check_against_ledger(rows, standin, customers=20)
        self.assertEqual([r for r in rows if r["outcome"] == "interrupted"], [])

    def test_a_serve_node_killed_mid_campaign_is_taken_over_by_another(self):
        # Two `serve` nodes on one store; the one dialing is SIGKILLed with
        # calls in flight. The other takes the campaign over within the
        # lease, finds each call the dead node placed through
        # DescribeContact (or its ClientToken) and follows it to its end.
        standin = self.standin("--talk-mean", "4s")
        self.campaign(standin, customers=30)
        token = self.pd("token", "create", "--name", "nodes").stdout.strip()
        nodes = {}
        try:
            for node_id in ("n1", "n2"):
                nodes[node_id] = Node(self.dir, self.db, node_id, "--backend", "connect",
                                      env=self.env)

            def api(node, method, path):
                conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
                conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
                r = conn.getresponse()
                data = r.read()
                conn.close()
                return r.status, data

            status, body = api(nodes["n1"], "POST", "/api/campaigns/default/start")
            self.assertEqual(status, 202, body)
            deadline = time.time() + 60
            while len(standin.contacts()) < 4 and time.time() < deadline:
                time.sleep(0.1)
            owner = json.loads(api(nodes["n1"], "GET", "/api/campaigns/default")[1])["node"]
            self.assertIn(owner, nodes)
            victim = nodes[owner]
            other = next(n for n in nodes.values() if n is not victim)
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            killed = time.time()
            killed_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            took = None
            deadline = time.time() + 120
            campaign = {}
            while time.time() < deadline:
                campaign = json.loads(api(other, "GET", "/api/campaigns/default")[1])
                if took is None and campaign["node"] == other.id:
                    took = time.time() - killed
                if campaign["state"] == "done":
                    break
                time.sleep(0.2)
            self.assertEqual(campaign["state"], "done", campaign)
            self.assertIn(f"node {other.id} is taking campaign 'default' over", other.log())
            if took is not None:  # (a quick campaign may end before a poll sees the owner)
                print(f"\n    Connect takeover by {other.id} {took:.2f} s after the SIGKILL "
                      f"(lease {LEASE} s)", flush=True)
                self.assertLess(took, LEASE + 5)
            status, csv_body = api(other, "GET", "/api/campaigns/default/results")
            self.assertEqual(status, 200)
            rows = list(csv.DictReader(io.StringIO(csv_body.decode())))
            self.assertEqual(len(rows), 30)
            self.check_against_ledger(rows, standin, customers=30, allow_interrupted=True)
            self.assertLessEqual(len([r for r in rows if r["outcome"] == "interrupted"]), 6)
            taken_over = [r for r in rows if r["started_at"] < killed_at < r["ended_at"]
                          and r["outcome"] != "interrupted"]
            self.assertGreater(len(taken_over), 0, "no call in flight at the kill was taken over")
        except BaseException:
            for node in nodes.values():
                print(f"\n--- log of node {node.id} ---\n{node.log()}")
            raise
        finally:
            for node in nodes.values():
                node.stop()

    def test_serve_runs_a_connect_campaign_through_the_api(self):
        standin = self.standin()
        self.campaign(standin, customers=12)
        token = self.pd("token", "create", "--name", "connect").stdout.strip()
        server = Server(self.dir, self.db, "--backend", "connect", env=self.env)
        try:
            def api(method, path, body=None):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request(method, path, body=json.dumps(body) if body is not None else None,
                             headers={"Authorization": f"Bearer {token}"})
                r = conn.getresponse()
                data = r.read()
                conn.close()
                return r.status, data

            status, body = api("POST", "/api/campaigns/default/start")
            self.assertEqual(status, 202, body)
            deadline = time.time() + 120
            while time.time() < deadline:
                campaign = json.loads(api("GET", "/api/campaigns/default")[1])
                if campaign["state"] == "done":
                    break
                time.sleep(0.5)
            self.assertEqual(campaign["state"], "done", campaign)
            self.assertEqual(campaign["backend"], "connect")  # the dashboard shows it
            status, csv_body = api("GET", "/api/campaigns/default/results")
            self.assertEqual(status, 200)
            rows = list(csv.DictReader(io.StringIO(csv_body.decode())))
            self.check_against_ledger(rows, standin, customers=12)
        finally:
            server.stop()

    def test_serve_refuses_to_start_a_connect_campaign_missing_its_config(self):
        self.pd("init")
        self.pd("load", os.path.join(os.environ.get("POWERDIALER_FIXTURES", "../fixtures"),
                                     "good.csv"))
        token = self.pd("token", "create", "--name", "connect").stdout.strip()
        server = Server(self.dir, self.db, "--backend", "connect", env=self.env)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("POST", "/api/campaigns/default/start",
                         headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            body = json.loads(r.read())
            conn.close()
            self.assertEqual(r.status, 409, body)
            self.assertIn("needs config connectid, contactflow, queue, agent-stream, ctr-stream",
                          body["error"])
        finally:
            server.stop()

    def test_missing_configuration_is_named_before_any_call(self):
        standin = self.standin()
        self.campaign(standin, customers=2)
        self.pd("config", "unset", "ctr-stream")
        p = self.pd("run", "--backend", "connect", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("needs config ctr-stream", p.stderr)
        self.pd("config", "set", "ctr-stream", "no-such-stream")
        p = self.pd("run", "--backend", "connect", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no-such-stream", p.stderr)
        p = self.pd("run", "--backend", "connect", "--speed", "10", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Amazon Connect dials in real time", p.stderr)
        self.assertEqual(standin.contacts(), [])


if __name__ == "__main__":
    unittest.main()
