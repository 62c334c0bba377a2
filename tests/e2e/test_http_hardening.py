"""End-to-end tests of `serve`'s HTTP front under hostile and careless
clients: multipart uploads, broken framing, wrong methods, foreign Host
headers, slow clients holding connections, and HTTPS. Loopback only; every
loop is bounded and every server stops with its test. Stdlib only (plus
the `openssl` command for a self-signed certificate)."""

import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")


class Serve:
    """A `powerdialer serve` process; `port` and `scheme` from its banner."""

    def __init__(self, workdir, db, *flags, listen="127.0.0.1:0"):
        self.proc = subprocess.Popen([BIN, "--db", db, "serve", "--listen", listen, *flags],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     cwd=workdir)
        self.log = b""
        self.port = None
        deadline = time.time() + 30
        while self.port is None and time.time() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if ready:
                line = self.proc.stderr.readline()
                if not line:
                    break
                self.log += line
                m = re.search(rb"(https?)://[^ ]*:(\d+)/", line)
                if m:
                    self.scheme, self.port = m.group(1).decode(), int(m.group(2))
        if self.port is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("serve did not start: " + self.log.decode(errors="replace"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log += self.proc.stderr.read()
        self.proc.stderr.close()
        return self.log.decode(errors="replace")


def raw(port, data, timeout=5, half_close=False):
    """Sends `data` on a fresh connection; returns (response bytes, closed):
    what came back, and whether the server closed the connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
            if b"\r\n\r\n" in out and not half_close:
                head, _, body = out.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    # Whole answer in; does the server close?
                    s.settimeout(1.5)
                    try:
                        return out, s.recv(1) == b""
                    except socket.timeout:
                        return out, False
                    except ConnectionResetError:
                        return out, True
        return out, False
    finally:
        s.close()


def status_of(response):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    return int(m.group(1)) if m else None


def multipart(fields, boundary="----pdtest7MA4YWxkTrZu0gW"):
    """(body, content type) as curl -F / a browser form sends them."""
    out = b""
    for name, filename, content in fields:
        out += f"--{boundary}\r\n".encode()
        disp = f'form-data; name="{name}"'
        if filename:
            disp += f'; filename="{filename}"'
        out += f"Content-Disposition: {disp}\r\n".encode()
        if filename:
            out += b"Content-Type: text/csv\r\n"
        out += b"\r\n" + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


class HardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pd-e2e-hard-")
        cls.db = os.path.join(cls.dir, "h.db")
        subprocess.run([BIN, "--db", cls.db, "init"], check=True, capture_output=True,
                       cwd=cls.dir, timeout=60)
        cls.token = subprocess.run([BIN, "--db", cls.db, "token", "create", "--name", "t"],
                                   check=True, capture_output=True, text=True, cwd=cls.dir,
                                   timeout=60).stdout.strip()
        cls.server = Serve(cls.dir, cls.db, "--allowed-host", "dialer.example",
                           "--header-timeout", "3", "--max-list-bytes", "1048576")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, token=True, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, resp, resp.read()
        finally:
            conn.close()

    def assert_alive(self):
        status, _, data = self.request("GET", "/healthz", token=False)
        self.assertEqual((status, data), (200, b"ok\n"))

    # --- bodies and media types ------------------------------------------

    def test_a_multipart_list_upload_is_imported(self):
        self.request("POST", "/api/campaigns", json.dumps({"name": "multi"}),
                     {"Content-Type": "application/json"})
        csv = b"custID,phone\nM1,+12025550101\nM2,+12025550102\n"
        body, ctype = multipart([("note", None, b"ignored"), ("file", "list.csv", csv)])
        status, _, data = self.request("PUT", "/api/campaigns/multi/list", body,
                                       {"Content-Type": ctype})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["loaded"], 2)
        # No field named "file": the first part with a filename.
        body, ctype = multipart([("upload", "l.csv", csv + b"M3,+12025550103\n")])
        status, _, data = self.request("PUT", "/api/campaigns/multi/list", body,
                                       {"Content-Type": ctype})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["loaded"], 3)
        # No file part at all: 400 saying how to send it; nothing changes.
        body, ctype = multipart([("note", None, b"no file here")])
        status, _, data = self.request("PUT", "/api/campaigns/multi/list", body,
                                       {"Content-Type": ctype})
        self.assertEqual(status, 400, data)
        self.assertIn("file", json.loads(data)["error"])
        status, _, data = self.request("GET", "/api/campaigns/multi")
        self.assertEqual(json.loads(data)["customers"], 3)
        self.assert_alive()

    def test_wrong_media_types_get_415_naming_what_works(self):
        body, ctype = multipart([("name", None, b"x")])
        status, _, data = self.request("POST", "/api/campaigns", body, {"Content-Type": ctype})
        self.assertEqual(status, 415, data)
        self.assertIn("application/json", json.loads(data)["error"])
        status, _, data = self.request("PUT", "/api/campaigns/default/list", b'{"a":1}',
                                       {"Content-Type": "application/json"})
        self.assertEqual(status, 415, data)
        for works in ("text/csv", "multipart/form-data", "application/octet-stream"):
            self.assertIn(works, json.loads(data)["error"])
        for i, ctype in enumerate(("text/csv", "application/octet-stream", "text/plain", None)):
            h = {"Content-Type": ctype} if ctype else {}
            status, _, data = self.request("PUT", "/api/campaigns/default/list?append=1",
                                           f"custID,phone\nO{i},+1202555019{i}\n".encode(), h)
            self.assertEqual(status, 200, (ctype, data))
        self.assert_alive()

    # --- framing -----------------------------------------------------------

    def test_bad_content_lengths_and_smuggling_get_400_and_close(self):
        head = (f"POST /api/campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {self.token}\r\n").encode()
        for bad in (b"Content-Length: -1\r\n",
                    b"Content-Length: 12345678901234567890\r\n",
                    b"Content-Length: 18446744073709551615\r\n",
                    b"Content-Length: 2\r\nContent-Length: 3\r\n",
                    b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                    b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"):
            started = time.time()
            response, closed = raw(self.server.port, head + bad + b"\r\n{}\r\n")
            self.assertEqual(status_of(response), 400, (bad, response))
            self.assertTrue(closed, bad)
            self.assertLess(time.time() - started, 3, bad)

    def test_oversized_headers_get_431_and_close(self):
        request = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + b"a" * 40000 +
                   b"\r\n\r\n")
        response, closed = raw(self.server.port, request)
        self.assertEqual(status_of(response), 431, response[:200])
        self.assertTrue(closed)

    def test_a_half_closed_client_still_gets_its_answer(self):
        response, _ = raw(self.server.port,
                          b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", half_close=True)
        self.assertEqual(status_of(response), 200, response)
        self.assertTrue(response.endswith(b"ok\n"))

    def test_a_slow_request_head_is_cut_off(self):
        started = time.time()
        response, closed = raw(self.server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0", timeout=10)
        # Closed once --header-timeout (3 s) has passed, whatever else.
        self.assertTrue(closed)
        self.assertEqual(response, b"")
        self.assertLess(time.time() - started, 8)

    # --- methods, paths, hosts, headers ---------------------------------------

    def test_wrong_methods_get_405_with_allow(self):
        for method, path, allow in (("DELETE", "/api/campaigns/default", "GET"),
                                    ("OPTIONS", "/api/campaigns", "GET, POST"),
                                    ("DELETE", "/api/campaigns/default/config", "GET, PATCH"),
                                    ("GET", "/api/campaigns/default/start", "POST"),
                                    ("POST", "/healthz", "GET")):
            status, resp, _ = self.request(method, path)
            self.assertEqual(status, 405, (method, path))
            self.assertEqual(resp.getheader("Allow"), allow)
        status, _, _ = self.request("GET", "/api/campaigns/default/nothing")
        self.assertEqual(status, 404)
        status, _, _ = self.request("DELETE", "/nothing-here", token=False)
        self.assertEqual(status, 404)
        # The token comes first: no route map for strangers.
        status, _, _ = self.request("DELETE", "/api/campaigns/default", token=False)
        self.assertEqual(status, 401)

    def test_host_must_be_this_server(self):
        for host, want in (("127.0.0.1", 200), (f"127.0.0.1:{self.server.port}", 200),
                           ("localhost", 200), ("[::1]:80", 200), ("dialer.example", 200),
                           ("DIALER.example:8443", 200), ("rebind.attacker.example", 421),
                           ("127.0.0.1.attacker.example", 421)):
            response, _ = raw(self.server.port,
                              f"GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            self.assertEqual(status_of(response), want, (host, response[:300]))
        response, _ = raw(self.server.port, b"GET /metrics HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        self.assertIn(b"--allowed-host", response)

    def test_dashboard_security_headers(self):
        status, resp, _ = self.request("GET", "/", token=False)
        self.assertEqual(status, 200)
        csp = resp.getheader("Content-Security-Policy")
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(resp.getheader("X-Frame-Options"), "DENY")
        self.assertEqual(resp.getheader("X-Content-Type-Options"), "nosniff")

    # --- slow clients --------------------------------------------------------------

    def test_slow_clients_do_not_lock_anyone_out(self):
        """300 connections that each send one header line every few seconds
        (reconnecting when dropped) while /healthz and an authenticated GET
        must keep answering within 1 s."""
        stop = threading.Event()
        opened = [0]

        def attacker(n):
            conns = []
            while not stop.is_set():
                while len(conns) < n and not stop.is_set():
                    try:
                        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=2)
                        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        conns.append(s)
                        opened[0] += 1
                    except OSError:
                        break
                for s in list(conns):
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        conns.remove(s)
                        s.close()
                stop.wait(2)
            for s in conns:
                s.close()

        threads = [threading.Thread(target=attacker, args=(100,)) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            deadline = time.time() + 20
            while opened[0] < 300 and time.time() < deadline:
                time.sleep(0.1)
            self.assertGreaterEqual(opened[0], 300)
            worst = 0.0
            end = time.time() + 12
            while time.time() < end:
                for method, path, token in (("GET", "/healthz", False),
                                            ("GET", "/api/campaigns", True)):
                    started = time.time()
                    status, _, _ = self.request(method, path, token=token, timeout=5)
                    took = time.time() - started
                    worst = max(worst, took)
                    self.assertEqual(status, 200, path)
                    self.assertLess(took, 1.0, f"{path} took {took:.2f} s")
                time.sleep(0.25)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)


def make_certificate(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class TlsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-tls-")
        self.db = os.path.join(self.dir, "t.db")
        subprocess.run([BIN, "--db", self.db, "init"], check=True, capture_output=True,
                       cwd=self.dir, timeout=60)
        self.token = subprocess.run([BIN, "--db", self.db, "token", "create", "--name", "t"],
                                    check=True, capture_output=True, text=True, cwd=self.dir,
                                    timeout=60).stdout.strip()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, *flags, listen="127.0.0.1:0"):
        s = Serve(self.dir, self.db, *flags, listen=listen)
        self.servers.append(s)
        return s

    def test_https_end_to_end(self):
        cert, key = make_certificate(self.dir)
        server = self.serve("--tls-cert", cert, "--tls-key", key)
        self.assertEqual(server.scheme, "https")
        context = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)
        conn.request("GET", "/api/campaigns", headers={"Authorization": f"Bearer {self.token}"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertIn("default", [c["name"] for c in json.loads(resp.read())["campaigns"]])
        # Keep-alive over TLS: a second request on the same connection.
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().read(), b"ok\n")
        conn.close()
        # Plain HTTP on the TLS port gets nothing useful.
        response, _ = raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertNotIn(b"ok\n", response)

    def test_bad_certificate_files_are_named(self):
        p = subprocess.run([BIN, "--db", self.db, "serve", "--listen", "127.0.0.1:0",
                            "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/k"],
                           capture_output=True, text=True, cwd=self.dir, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent/cert.pem", p.stderr)
        p = subprocess.run([BIN, "--db", self.db, "serve", "--listen", "127.0.0.1:0",
                            "--tls-cert", "c.pem"],
                           capture_output=True, text=True, cwd=self.dir, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--tls-key", p.stderr)

    def test_plain_http_off_loopback_needs_insecure_http(self):
        p = subprocess.run([BIN, "--db", self.db, "serve", "--listen", "0.0.0.0:0"],
                           capture_output=True, text=True, cwd=self.dir, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--tls-cert", p.stderr)
        self.assertIn("--insecure-http", p.stderr)
        # Behind a TLS-terminating proxy, the operator says so.
        server = self.serve("--insecure-http", listen="0.0.0.0:0")
        self.assertEqual(server.scheme, "http")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/api/campaigns", headers={"Authorization": f"Bearer {self.token}"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_a_tls_terminating_proxy_in_front(self):
        """The README's set-up in small: TLS ends at a proxy, which speaks
        plain HTTP to serve on loopback and names the public host."""
        cert, key = make_certificate(self.dir)
        server = self.serve("--allowed-host", "dialer.example")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(10)
        proxy_port = listener.getsockname()[1]

        def proxy_once():
            client, _ = listener.accept()
            with context.wrap_socket(client, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                with socket.create_connection(("127.0.0.1", server.port), timeout=10) as up:
                    up.sendall(request.replace(b"Connection: keep-alive", b"Connection: close"))
                    while True:
                        chunk = up.recv(65536)
                        if not chunk:
                            break
                        tls.sendall(chunk)

        t = threading.Thread(target=proxy_once)
        t.start()
        try:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", proxy_port, context=ssl.create_default_context(cafile=cert),
                timeout=10)
            conn.request("GET", "/api/campaigns", headers={
                "Authorization": f"Bearer {self.token}", "Host": "dialer.example",
                "Connection": "close"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertIn("campaigns", json.loads(resp.read()))
            conn.close()
        finally:
            t.join(timeout=20)
            listener.close()


if __name__ == "__main__":
    unittest.main()
