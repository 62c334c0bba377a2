"""Runs the README's serve/API quick start as it is written, with the real
binary and real curl, so the README cannot drift into commands that fail.

The README marks each block this test runs with a comment line
`<!-- readme-test: NAME -->` just before it; the block is the indented code
that follows. What the test changes, and nothing else:

- `powerdialer` is the binary under test (a `powerdialer` link on PATH), run
  in a fresh temporary folder, so the default `powerdialer.db` is new;
- in the "server" block every line runs in turn, except the one that starts
  `powerdialer serve`, which is left running in the background, on a free
  port: its `127.0.0.1:8080` becomes `127.0.0.1:0`, and the port it reports
  replaces 8080 in the "client" block;
- the "client" block runs in bash with `set -e`, and curl fails on an HTTP
  error (--fail-with-body), as a person would notice a 401 on screen;
- `customers.csv` is the bundled examples/demo-list.csv."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.path.abspath(os.environ.get("POWERDIALER_BIN", "build/powerdialer"))
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
README = os.path.join(ROOT, "README.md")
DEMO_LIST = os.path.join(ROOT, "examples", "demo-list.csv")

MARK = re.compile(r"<!--\s*readme-test:\s*([\w-]+)")
PRELUDE = """set -e
curl() { command curl --fail-with-body --silent --show-error --max-time 30 "$@"; }
"""


def readme_blocks(text):
    """{name: [command lines]} for each marked, indented code block."""
    blocks = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = MARK.search(lines[i])
        i += 1
        if not m:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        block = []
        while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
            if lines[i].strip():
                block.append(lines[i][4:])
            i += 1
        blocks[m.group(1)] = block
    return blocks


class ReadmeQuickStartTest(unittest.TestCase):
    def setUp(self):
        with open(README, encoding="utf-8") as f:
            self.blocks = readme_blocks(f.read())
        self.assertIn("server", self.blocks, "README.md lost its 'readme-test: server' block")
        self.assertIn("client", self.blocks, "README.md lost its 'readme-test: client' block")
        self.dir = tempfile.mkdtemp(prefix="pd-readme-")
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        os.symlink(BIN, os.path.join(bindir, "powerdialer"))
        self.work = os.path.join(self.dir, "work")
        os.mkdir(self.work)
        shutil.copy(DEMO_LIST, os.path.join(self.work, "customers.csv"))
        self.env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
        for var in ("POWERDIALER_DB", "POWERDIALER_CAMPAIGN"):
            self.env.pop(var, None)
        self.server = None
        self.port = self.start_server()

    def tearDown(self):
        if self.server and self.server.poll() is None:
            # A graceful stop waits for calls in flight; the second signal
            # quits at once (as documented).
            self.server.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            if self.server.poll() is None:
                self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def bash(self, script, timeout=120):
        return subprocess.run(["bash", "-c", script], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def server_log(self):
        with open(os.path.join(self.dir, "serve.log"), encoding="utf-8", errors="replace") as f:
            return f.read()

    def start_server(self):
        serve_lines = [l for l in self.blocks["server"] if l.startswith("powerdialer serve")]
        self.assertEqual(len(serve_lines), 1, self.blocks["server"])
        for line in self.blocks["server"]:
            if line in serve_lines:
                continue
            done = self.bash(PRELUDE + line)
            self.assertEqual(done.returncode, 0, f"README: {line}\n{done.stdout}{done.stderr}")
        line = serve_lines[0].replace("127.0.0.1:8080", "127.0.0.1:0")
        self.assertIn("127.0.0.1:0", line, "the README's serve line no longer names 127.0.0.1:8080")
        log = open(os.path.join(self.dir, "serve.log"), "wb")
        # exec: the server is this process, so the signals in tearDown reach it.
        self.server = subprocess.Popen(["bash", "-c", "exec " + line], cwd=self.work,
                                       env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r"https?://127\.0\.0\.1:(\d+)/", self.server_log())
            if m:
                return int(m.group(1))
            if self.server.poll() is not None:
                break
            time.sleep(0.1)
        self.fail("README's serve did not start: " + self.server_log())

    def client_script(self, lines):
        body = "\n".join(lines).replace("127.0.0.1:8080", f"127.0.0.1:{self.port}")
        return PRELUDE + body + "\n"

    def test_the_readme_api_quick_start_works_as_written(self):
        done = self.bash(self.client_script(self.blocks["client"]))
        self.assertEqual(done.returncode, 0,
                         f"the README's client block failed:\n{done.stdout}\n{done.stderr}\n"
                         f"server:\n{self.server_log()}")
        out = done.stdout
        self.assertIn('"name":"spring"', out)            # created
        self.assertIn('"max-attempts":"3"', out)         # configured
        self.assertIn('"customers":200', out)             # the list
        self.assertIn('"state":"running"', out)          # started
        self.assertIn("event: campaign", out)             # the live feed
        self.assertIn("powerdialer_campaign_state", out)  # metrics
        with open(os.path.join(self.work, "spring-results.csv"), encoding="utf-8") as f:
            self.assertTrue(f.readline().startswith("campaign,cust_id,phone"))

    def test_the_check_catches_a_token_line_that_does_not_set_the_header(self):
        # The old quick start: $TOKEN is expanded before export sets it, so
        # every call gets 401. This test must fail on such a README.
        client = list(self.blocks["client"])
        first_curl = next(i for i, l in enumerate(client) if l.startswith("curl"))
        broken = ["export TOKEN=$(powerdialer token create --name old) "
                  'H="Authorization: Bearer $TOKEN" API=http://127.0.0.1:8080/api',
                  'J="Content-Type: application/json"'] + client[first_curl:]
        done = self.bash(self.client_script(broken))
        self.assertNotEqual(done.returncode, 0, done.stdout)
        self.assertIn("401", done.stderr)


if __name__ == "__main__":
    unittest.main()
