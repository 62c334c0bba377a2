"""The failover tests of test_failover.py on one PostgreSQL server (3 serve
nodes, SIGKILL and SIGSTOP), plus (c): the PostgreSQL server restarts while
two campaigns dial, and they finish with nobody lost and nobody dialled
twice."""

import json
import os
import time
import unittest

import test_failover
from pgserver import PgServer
from test_failover import CUSTOMERS, FailoverTestBase

SERVER = None


def setUpModule():
    global SERVER
    SERVER = PgServer()  # started; one server for the module, a database per test


def tearDownModule():
    if SERVER is not None:
        SERVER.close()


class PgStoreMixin:
    def setUp(self):
        os.environ["FAILOVER_STORE_URL"] = SERVER.create_database()
        try:
            super().setUp()
        finally:
            os.environ.pop("FAILOVER_STORE_URL", None)


class PgFailoverTest(PgStoreMixin, test_failover.FailoverTest):
    pass


class PgDrainTest(PgStoreMixin, test_failover.DrainTest):
    pass


class PgRestartTest(PgStoreMixin, FailoverTestBase):
    def test_the_database_restarts_while_two_campaigns_dial(self):
        for i, node_id in enumerate(["n1", "n2", "n3"]):
            self.start_node(node_id, 100 + i)
        n1 = self.nodes["n1"]
        self.create("camp-A", n1, CUSTOMERS, "A")
        self.create("camp-B", n1, CUSTOMERS, "B")
        self.api(n1, "POST", "/api/campaigns/camp-A/start", expect=202)
        self.api(n1, "POST", "/api/campaigns/camp-B/start", expect=202)
        self.wait_for(lambda: self.owner("camp-A") and self.owner("camp-B"), timeout=30,
                      what="both campaigns to run")
        time.sleep(6)
        # (c) A fast restart of the server (immediate stop: no checkpoint,
        # crash recovery on start, every connection dropped).
        restarted_at = time.time()
        SERVER.stop(immediate=True)
        time.sleep(1.5)
        SERVER.restart()  # same port and data: crash recovery, then connections again
        print(f"(c) PostgreSQL restarted in {time.time() - restarted_at:.1f} s", flush=True)
        # A request that meets a connection the restart dropped gets 503
        # ("cannot be reached ... try again"), as documented; the next one
        # reconnects.
        unavailable = []

        def done(name):
            status, data = self.request(self.live_nodes()[0], "GET", f"/api/campaigns/{name}")
            if status == 503:
                unavailable.append(name)
                return False
            self.assertEqual(status, 200, data[:500])
            return json.loads(data)["state"] == "done"

        for name in ("camp-A", "camp-B"):
            self.wait_for(lambda: done(name), timeout=180,
                          what=f"{name} to finish after the restart", every=0.5)
        print(f"503 answers while reconnecting: {len(unavailable)}", flush=True)
        self.assertLess(len(unavailable), 20)
        for name in ("camp-A", "camp-B"):
            rows = self.check_results(name)
            print(f"{name}: {len(rows)} attempts", flush=True)


if __name__ == "__main__":
    unittest.main()
