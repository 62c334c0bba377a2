"""Abandons on Amazon Connect are read from the contact records: a campaign
over-dialled hard on the Connect stand-in, whose abandons (hung up in the
queue, or put through more than 2 s after the answer) must be the stand-in's
call by call. (Apart from test_pacing_connect.py so ctest runs both at once.)"""
import csv
import io
import unittest

from test_pacing_connect import PacingOnConnectCase


class CtrAbandonsTest(PacingOnConnectCase):
    def test_abandons_read_from_ctrs_are_the_standins_call_by_call(self):
        # Over-dialled hard on purpose (this test is about reading abandons,
        # not about avoiding them), with customers who wait a few seconds:
        # some hang up in the queue, some are put through after more than
        # 2 s. Both are abandons in the CTRs, as Connect writes them. 100
        # customers and a 6 s mean patience give 6-8 of each a run (60 and
        # 4 s left a run with no late connect now and then: a flaky test).
        self.start_standin("--answer-rate", "0.6", "--talk-mean", "6s", "--acw-mean", "2s",
                           "--patience", "6s",
                           "--patience-dist", "exponential")
        self.configure("progressive", customers=100, lines="3")
        self.pd("config", "set", "max-abandon-rate", "100%")  # let it dial on
        self.pd("config", "set", "target-abandon-rate", "100%")
        out = self.pd("run", "--backend", "connect", timeout=400).stdout
        self.assertIn("campaign 'default' is done", out)
        ledger = self.standin.contacts()
        by_contact = {c["contact_id"]: c for c in ledger}
        rows = list(csv.DictReader(io.StringIO(self.pd("results").stdout)))
        self.assertEqual(len(rows), 100)
        for r in rows:
            self.assertEqual(r["outcome"], by_contact[r["contact_id"]]["outcome"], r)

        def late(c):
            return c["agent"] and c["outcome"] == "abandoned"
        abandoned = [c for c in ledger if c["outcome"] == "abandoned"]
        hung_up = [c for c in abandoned if not c["agent"]]
        put_through_late = [c for c in abandoned if late(c)]
        self.assertGreater(len(hung_up), 0, "no customer hung up in the queue: a weak test")
        self.assertGreater(len(put_through_late), 0, "no late connect: a weak test")
        st = self.status()["abandon_rate"]
        self.assertEqual(st["abandoned_today"], len(abandoned), st)
        answered = sum(1 for c in ledger if c["outcome"] in ("connected", "abandoned"))
        self.assertEqual(st["answered_today"], answered, st)


if __name__ == "__main__":
    unittest.main()
