"""End-to-end tests of what an API token holder can make `serve` do with
files, and of the words the API answers in: the real binary over real HTTP
on loopback. Local inputfile/outputfile values stay in the server's files
folder (--files-dir), results land there, and error messages name API
requests, not commands. Stdlib only."""

import csv
import http.client
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from test_serve import BIN, FAST, Server, ServeTestBase


class ServeFilesTest(ServeTestBase):
    @classmethod
    def setUpClass(cls):
        cls.start_server(*FAST)
        # The default: NAME-files beside the --db file (serve.db here).
        cls.folder = os.path.realpath(os.path.join(cls.dir, "serve-files"))

    def patch(self, name, values, expect):
        return self.api("PATCH", f"/api/campaigns/{name}/config", values, expect=expect)

    def test_the_default_folder_is_beside_the_store_and_owner_only(self):
        self.assertTrue(os.path.isdir(self.folder))
        self.assertEqual(stat.S_IMODE(os.stat(self.folder).st_mode), 0o700)

    def test_local_files_outside_the_folder_are_refused_with_400(self):
        self.create("files-out")
        os.symlink("/tmp", os.path.join(self.folder, "tmp-link"))
        self.addCleanup(os.unlink, os.path.join(self.folder, "tmp-link"))
        for key, value in [("outputfile", "/etc/cron.d/powerdialer"),
                           ("outputfile", "../serve.db"),
                           ("outputfile", os.path.join(self.dir, "beside.csv")),
                           ("outputfile", "a/../../escape.csv"),
                           ("outputfile", "results/"),
                           ("outputfile", self.folder),
                           ("outputfile", "tmp-link/x.csv"),
                           ("inputfile", "/etc/passwd"),
                           ("inputfile", "tmp-link/list.csv")]:
            err = self.patch("files-out", {key: value}, expect=400)
            self.assertEqual(err["key"], key, value)
            self.assertIn(key, err["error"])
            self.assertIn(self.folder, err["error"], value)
        for key, value in [("inputfile", "https://example.com/list.csv"),
                           ("outputfile", "ftp://example.com/results.csv")]:
            err = self.patch("files-out", {key: value}, expect=400)
            self.assertEqual(err["key"], key)
            self.assertIn("not supported", err["error"])
        config = self.api("GET", "/api/campaigns/files-out/config")["config"]
        self.assertIsNone(config["outputfile"])
        self.assertIsNone(config["inputfile"])
        # S3 stays allowed; a name inside is stored as its full path.
        got = self.patch("files-out", {"outputfile": "s3://results/files-out.csv"}, expect=200)
        self.assertEqual(got["config"]["outputfile"], "s3://results/files-out.csv")
        got = self.patch("files-out", {"inputfile": "lists/spring.csv"}, expect=200)
        self.assertEqual(got["config"]["inputfile"], os.path.join(self.folder, "lists/spring.csv"))

    def test_results_land_inside_the_folder_and_run_no_command(self):
        self.create("files-run")
        rows = ["custID,phone", "x;touch pwned;#,+12025550170", "y|touch pwned2,+12025550171",
                "z&touch pwned3,+12025550172"]
        rows += [f"F{i:03d},+1202555{i:04d}" for i in range(200, 230)]
        self.api("PUT", "/api/campaigns/files-run/list", ("\n".join(rows) + "\n").encode(),
                 headers={"Content-Type": "text/csv"})
        got = self.patch("files-run", {"outputfile": "files-run.csv"}, expect=200)
        target = os.path.join(self.folder, "files-run.csv")
        self.assertEqual(got["config"]["outputfile"], target)
        self.api("POST", "/api/campaigns/files-run/start", expect=202)
        self.wait_for(lambda: self.campaign("files-run")["state"] == "done", timeout=120,
                      what="the campaign to finish")
        self.wait_for(lambda: os.path.exists(target), timeout=10, what="the results file")
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode) & 0o111, 0)  # not executable
        with open(target, newline="", encoding="utf-8") as f:
            text = f.read()
        ids = {r["cust_id"] for r in csv.DictReader(text.splitlines())}
        self.assertIn("x;touch pwned;#", ids)
        self.assertIn('"x;touch pwned;#"', text)
        # Fed to a shell, the file runs none of the commands its ids spell.
        sandbox = tempfile.mkdtemp(prefix="pd-sh-")
        self.addCleanup(shutil.rmtree, sandbox, ignore_errors=True)
        shutil.copy(target, os.path.join(sandbox, "results.csv"))
        subprocess.run(["sh", "results.csv"], cwd=sandbox, capture_output=True, timeout=30)
        self.assertEqual(sorted(os.listdir(sandbox)), ["results.csv"])

    def test_the_cli_keeps_full_paths_but_serve_will_not_write_there(self):
        self.create("files-cli", customers=3)
        outside = os.path.join(self.dir, "cli-results.csv")
        self.pd("--campaign", "files-cli", "config", "set", "outputfile", outside)
        err = self.api("POST", "/api/campaigns/files-cli/start", expect=409)
        self.assertIn("outputfile", err["error"])
        self.assertIn(self.folder, err["error"])
        self.assertIn("PATCH /api/campaigns/files-cli/config", err["error"])
        self.assertEqual(self.campaign("files-cli")["state"], "idle")
        # Other schemes are refused for the CLI too, naming the key.
        p = self.pd("--campaign", "files-cli", "config", "set", "inputfile",
                    "https://example.com/list.csv", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("inputfile", p.stderr)
        self.assertIn("not supported", p.stderr)

    def test_errors_speak_of_the_api_and_echo_input_cut_short(self):
        self.create("files-words")
        err = self.api("POST", "/api/campaigns/files-words/start", expect=409)
        self.assertIn("upload one with PUT /api/campaigns/files-words/list", err["error"])
        for leak in ("powerdialer load", " load FILE", os.path.dirname(BIN), "config set"):
            self.assertNotIn(leak, err["error"])
        err = self.api("GET", "/api/campaigns/nosuch", expect=404)
        self.assertIn('POST /api/campaigns {"name": "nosuch"}', err["error"])
        self.assertNotIn("init", err["error"])
        # The CLI keeps its own advice.
        p = self.pd("--campaign", "files-words", "run", ok=False)
        self.assertIn("load FILE", p.stderr)
        # Names '.' and '..' are refused; a huge one is not echoed in full.
        for name in (".", ".."):
            self.api("POST", "/api/campaigns", {"name": name}, expect=400)
        status, _, data = self.request("POST", "/api/campaigns", {"name": "n" * 100000})
        self.assertEqual(status, 400)
        self.assertLess(len(data), 500)
        self.assertIn("(100000 characters)", json.loads(data)["error"])


class ServeFilesDirFlagTest(unittest.TestCase):
    def test_files_dir_sets_the_folder(self):
        work = tempfile.mkdtemp(prefix="pd-e2e-files-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        db = os.path.join(work, "f.db")
        chosen = os.path.join(work, "chosen", "files")

        def pd(*args):
            return subprocess.run([BIN, "--db", db, *args], capture_output=True, text=True,
                                  timeout=60, check=True).stdout

        pd("init")
        token = pd("token", "create", "--name", "t").strip()
        server = Server(work, db, "--files-dir", chosen)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("PATCH", "/api/campaigns/default/config",
                         body=json.dumps({"outputfile": "out.csv"}),
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            conn.close()
            self.assertEqual(resp.status, 200, body)
            self.assertEqual(body["config"]["outputfile"],
                             os.path.join(os.path.realpath(chosen), "out.csv"))
            self.assertFalse(os.path.exists(os.path.join(work, "f-files")))
        finally:
            server.stop()

    def test_a_files_folder_that_holds_the_store_is_refused(self):
        work = tempfile.mkdtemp(prefix="pd-e2e-files-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        db = os.path.join(work, "f.db")
        subprocess.run([BIN, "--db", db, "init"], capture_output=True, check=True, timeout=60)
        for folder in (work, "."):
            p = subprocess.run([BIN, "--db", db, "serve", "--listen", "127.0.0.1:0",
                                "--files-dir", folder], capture_output=True, text=True,
                               cwd=work, timeout=60)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("holds the store", p.stderr)


if __name__ == "__main__":
    unittest.main()
