"""End-to-end tests of the do-not-call list: `powerdialer dnc ...` on the real
binary, then a simulated campaign that must never dial a listed number."""

import csv
import json
import os
import unittest

import test_serve

from binary_case import BIN, BinaryCase


class DncTest(BinaryCase):
    PREFIX = "pd-e2e-dnc-"

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def check(self, number):
        return json.loads(self.pd("dnc", "check", number, "--json").stdout)

    def listed(self, *args):
        return json.loads(self.pd("dnc", "list", "--json", *args).stdout)

    def test_load_reports_bad_rows_by_line_and_keeps_the_good_ones(self):
        self.pd("init")
        self.write("fcc.csv",
                   "Phone,Expires,Source\n"
                   "(202) 555-0101,,\n"
                   "12,,\n"                          # line 3: too short
                   "+1 202 555 0102,2099-12-31,\n"
                   "202-555-0103,31/12/2099,\n"      # line 5: bad expiry
                   "2025550104,,state:dc\n"
                   "2025550105\n")                   # line 7: wrong field count
        p = self.pd("dnc", "load", "fcc.csv")
        err = p.stderr
        self.assertIn("fcc.csv: line 3: invalid phone \"12\"", err)
        self.assertIn("fcc.csv: line 5: invalid expiry \"31/12/2099\"", err)
        self.assertIn("fcc.csv: line 7: expected 3 fields, found 1", err)
        self.assertIn("loaded 3 number(s)", p.stdout)
        self.assertIn("3 row(s) rejected", p.stdout)
        entries = {e["number"]: e for e in self.listed()}
        self.assertEqual(sorted(entries), ["+12025550101", "+12025550102", "+12025550104"])
        # The source defaults to the file's name; a row's own wins.
        self.assertEqual(entries["+12025550101"]["source"], "fcc")
        self.assertEqual(entries["+12025550104"]["source"], "state:dc")
        self.assertEqual(entries["+12025550102"]["expires_at"], "2100-01-01T00:00:00.000Z")
        self.assertIsNone(entries["+12025550101"]["expires_at"])

        # One number per line, no header; --replace-source drops what the
        # source's earlier copy had.
        self.write("fcc2.txt", "2025550101\n2025550106\n")
        p = self.pd("dnc", "load", "fcc2.txt", "--source", "fcc", "--replace-source")
        self.assertIn("2 earlier entries of 'fcc' replaced", p.stdout)
        self.assertEqual(sorted(e["number"] for e in self.listed("--source", "fcc")),
                         ["+12025550101", "+12025550106"])
        self.assertFalse(self.check("2025550102")["listed"])
        self.assertTrue(self.check("+12025550104")["listed"])

        # A file with no good row changes nothing and says so.
        self.write("bad.csv", "phone\n12\nabc\n")
        p = self.pd("dnc", "load", "bad.csv", ok=False)
        self.assertIn("no valid numbers", p.stderr)
        self.assertIn("bad.csv: line 2", p.stderr)
        self.write("nocol.csv", "name,email\na,b\n")
        p = self.pd("dnc", "load", "nocol.csv", ok=False)
        self.assertIn("no number column", p.stderr)
        self.assertEqual(len(self.listed()), 3)

    def test_add_remove_check_and_list(self):
        self.pd("init")
        p = self.pd("dnc", "add", "(202) 555-0111", "+442079460958", "--source", "complaints",
                    "--expires", "2099-01-01")
        self.assertIn("added +12025550111 (source 'complaints')", p.stdout)
        c = self.check("202.555.0111")
        self.assertEqual(c["number"], "+12025550111")
        self.assertTrue(c["listed"])
        self.assertEqual(c["source"], "complaints")
        self.assertEqual(c["expires_at"], "2099-01-02T00:00:00.000Z")
        text = self.pd("dnc", "check", "2025550111").stdout
        self.assertIn("is on the do-not-call list (source 'complaints'", text)
        # Expired entries stay visible but no longer forbid calls.
        self.pd("dnc", "add", "2025550112", "--expires", "2020-01-01T00:00:00Z")
        c = self.check("2025550112")
        self.assertFalse(c["listed"])
        self.assertTrue(c["expired"])
        self.assertEqual(c["source"], "manual")
        self.assertFalse(self.check("2025550199")["listed"])
        # CSV out reads back in.
        out = self.pd("dnc", "list").stdout
        rows = list(csv.DictReader(out.splitlines()))
        self.assertEqual([r["number"] for r in rows],
                         ["+12025550111", "+12025550112", "+442079460958"])
        p = self.pd("dnc", "remove", "2025550111", "2025550199")
        self.assertIn("removed 1 of 2", p.stdout)
        self.assertFalse(self.check("2025550111")["listed"])
        self.write("back.csv", out)
        self.pd("dnc", "load", "back.csv")
        self.assertEqual(self.check("2025550111")["source"], "complaints")
        # Bad input is refused, naming what is wrong.
        self.assertIn("invalid phone \"12\"", self.pd("dnc", "add", "12", ok=False).stderr)
        self.assertIn("--expires", self.pd("dnc", "add", "2025550113", "--expires", "soon",
                                           ok=False).stderr)
        self.assertIn("--source", self.pd("dnc", "add", "2025550113", "--source", "a b",
                                          ok=False).stderr)
        # Store-wide: no campaign is needed or named.
        self.assertIn("+12025550111", self.pd("--campaign", "nope", "dnc", "list").stdout)

    def test_a_campaign_never_dials_a_listed_number(self):
        self.pd("init")
        config = json.loads(self.pd("config", "list", "--json").stdout)
        if "calling-hours" in config:
            self.pd("config", "set", "calling-hours", "00:00-24:00")
        customers = 40
        with open(os.path.join(self.dir, "list.csv"), "w") as f:
            f.write("custID,phone\n")
            for i in range(customers):
                f.write(f"C{i:03d},+1202555{1000 + i * 2:04d}\n")
                f.write(f"C{i:03d},+1202555{1001 + i * 2:04d}\n")
        # Listed: the first phone of every 4th customer (the second is then
        # dialled), both phones of every 10th (the customer ends suppressed),
        # and one number on an expired entry (dialled as usual).
        listed = set()
        for i in range(customers):
            if i % 4 == 0:
                listed.add(f"+1202555{1000 + i * 2:04d}")
            if i % 10 == 0:
                listed.add(f"+1202555{1000 + i * 2:04d}")
                listed.add(f"+1202555{1001 + i * 2:04d}")
        self.write("dnc.txt", "\n".join(sorted(listed)) + "\n")
        self.pd("dnc", "load", "dnc.txt", "--source", "fcc")
        expired = "+12025551003"  # C001's second phone
        self.pd("dnc", "add", expired, "--expires", "2020-01-01")
        self.pd("load", "list.csv")
        self.pd("run", "--speed", "500", "--agents", "5", "--seed", "7", "--answer-rate", "0",
                "--talk-mean", "2s", "--acw-mean", "1s", "--ring-timeout", "3s")
        rows = list(csv.DictReader(self.pd("results").stdout.splitlines()))
        suppressed = [r for r in rows if r["outcome"] == "suppressed"]
        for r in rows:
            if r["phone"] in listed:
                self.assertEqual(r["outcome"], "suppressed", r)
                self.assertEqual(r["contact_id"], "", r)  # never placed
                if "rule" in r:
                    self.assertEqual(r["rule"], "dnc (source: fcc)", r)
            else:
                self.assertNotEqual(r["outcome"], "suppressed", r)
                self.assertNotEqual(r["contact_id"], "", r)
        self.assertEqual(sorted({r["phone"] for r in suppressed}), sorted(listed))
        self.assertTrue(any(r["phone"] == expired and r["outcome"] != "suppressed" for r in rows))
        # Every 4th customer's second phone was dialled instead (unless it
        # is listed too).
        dialled = {r["phone"] for r in rows if r["contact_id"]}
        for i in range(0, customers, 4):
            if i % 10 != 0:
                self.assertIn(f"+1202555{1001 + i * 2:04d}", dialled)
        st = json.loads(self.pd("status", "--json").stdout)
        self.assertEqual(st["attempts_by_outcome"]["suppressed"], len(listed))
        self.assertEqual(st["customers_by_state"]["suppressed"], customers // 10)
        self.assertIn(f"{len(listed)} suppressed", self.pd("status").stdout)


class DncApiTest(test_serve.ServeTestBase):
    """The same list through `serve`'s API: same auth, same error style."""

    @classmethod
    def setUpClass(cls):
        cls.start_server(*test_serve.FAST)
        # The default files folder: NAME-files beside the --db file.
        cls.folder = os.path.join(cls.dir, "serve-files")

    def test_add_check_list_remove_and_load(self):
        added = self.api("POST", "/api/dnc", {"numbers": ["(202) 555-0201", "+442079460958"],
                                               "source": "web", "expires": "2099-01-01"})
        self.assertEqual(added["added"], ["+12025550201", "+442079460958"])
        c = self.api("GET", "/api/dnc/2025550201")
        self.assertTrue(c["listed"])
        self.assertEqual(c["source"], "web")
        self.assertEqual(self.api("GET", "/api/dnc/%2B12025550201")["number"], "+12025550201")
        self.assertFalse(self.api("GET", "/api/dnc/2025550299")["listed"])
        # Bad input: 400 naming what is wrong; nothing added.
        bad = self.api("POST", "/api/dnc", {"numbers": ["2025550202", "12"]}, expect=400)
        self.assertIn("'numbers'[1]: invalid phone \"12\"", bad["error"])
        self.assertFalse(self.api("GET", "/api/dnc/2025550202")["listed"])
        self.assertIn("expires", self.api("POST", "/api/dnc", {"numbers": ["2025550202"],
                                                               "expires": "soon"},
                                          expect=400)["error"])
        # Needs the token like every /api route.
        self.assertEqual(self.request("GET", "/api/dnc", token=False)[0], 401)

        # Upload: CSV body with options in the query string; bad rows by line.
        loaded = self.api("POST", "/api/dnc/load?source=upload-1",
                          b"phone\n2025550203\n12\n2025550204\n",
                          headers={"Content-Type": "text/csv"})
        self.assertEqual(loaded["loaded"], 2)
        self.assertEqual(loaded["rejects"], [{"line": 3, "reason": "invalid phone \"12\": too short"}])
        # A file in the files folder, named in JSON.
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, "state.txt"), "w") as f:
            f.write("2025550205\n2025550203\n")
        loaded = self.api("POST", "/api/dnc/load", {"file": "state.txt", "replace_source": True})
        self.assertEqual(loaded["source"], "state")
        self.assertEqual(self.api("GET", "/api/dnc/2025550203")["source"], "state")
        outside = self.api("POST", "/api/dnc/load", {"file": "/etc/passwd"}, expect=400)
        self.assertIn("file", outside["error"])

        entries = self.api("GET", "/api/dnc")
        self.assertEqual([e["number"] for e in entries],
                         ["+12025550201", "+12025550203", "+12025550204", "+12025550205",
                          "+442079460958"])
        page = self.api("GET", "/api/dnc?after=%2B12025550203&limit=2")
        self.assertEqual([e["number"] for e in page], ["+12025550204", "+12025550205"])
        self.assertEqual(len(self.api("GET", "/api/dnc?source=web")), 2)

        self.assertEqual(self.api("DELETE", "/api/dnc/2025550201")["removed"], 1)
        self.assertEqual(self.api("DELETE", "/api/dnc/2025550201")["removed"], 0)
        self.assertFalse(self.api("GET", "/api/dnc/2025550201")["listed"])
        self.assertEqual(self.request("PUT", "/api/dnc/2025550201")[0], 405)


if __name__ == "__main__":
    unittest.main()
