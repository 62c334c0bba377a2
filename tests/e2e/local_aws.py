"""The local stand-ins for AWS the end-to-end tests run against: moto_server
(S3, Kinesis) and `powerdialer connect-standin` (Amazon Connect), each on a
free loopback port, and an environment for the dialer that reaches them and
nothing of the developer's own AWS setup."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")
MOTO = shutil.which("moto_server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """moto_server on a free loopback port, until stop()."""

    def __init__(self):
        if MOTO is None:
            raise RuntimeError("moto_server is not on PATH (pip's moto[server])")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # moto_server has no readiness signal: wait until it answers.
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/data.json", timeout=1)
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def aws_env(workdir, moto_endpoint):
    """The dialer's environment: test credentials, us-east-1, S3 and Kinesis
    at moto, no instance metadata, no ~/.aws files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_ENDPOINT_URL_KINESIS": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.path.join(workdir, "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(workdir, "no-aws-credentials"),
    })
    return env


class Standin:
    """`powerdialer connect-standin` on a free port, writing to moto's
    Kinesis, with a ledger of every contact it ended."""

    def __init__(self, workdir, env, *args, streams=("agents", "ctrs")):
        self.ledger = os.path.join(workdir, f"ledger-{time.monotonic_ns()}.jsonl")
        self.agent_stream, self.ctr_stream = streams
        self.log = open(os.path.join(workdir, "standin.log"), "a")
        self.proc = subprocess.Popen(
            [BIN, "connect-standin", "--listen", "127.0.0.1:0", "--ledger", self.ledger,
             "--agent-stream", self.agent_stream, "--ctr-stream", self.ctr_stream, *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"connect-standin did not start: {line!r}")
        self.endpoint = line.split()[-1]

    def contacts(self):
        import json
        if not os.path.exists(self.ledger):
            return []
        with open(self.ledger) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
