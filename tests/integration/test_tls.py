"""SIP over TLS (--listen tls:ADDR:PORT, --tls-cert): Python's ssl
module, openssl s_client and baresip as clients, hand-made requests with
the exact response headers checked, TLS 1.2 and 1.3, the certificate
and its fingerprint, handshake failures, and the listening lines."""
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import (SANITIZER_MARKS, SIPSTUB, Sipstub, SipstubTestCase,
                     UdpClient, free_port, header, request, status, to_tag)

from test_baresip import BARESIP, CONFIG as BARESIP_CONFIG
OPENSSL = shutil.which("openssl")

TLS = ("-l", "tls:127.0.0.1:0")


def fingerprint(der):
    """AB:CD:... SHA-256 of a DER certificate, as sipstub prints it."""
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def check_exit(test, code, err):
    for mark in SANITIZER_MARKS:
        test.assertNotIn(mark, err, "sanitizer/leak report:\n" + err)
    test.assertEqual(code, 0, err)


def tls_port(stub):
    e = stub.wait_event(lambda e: e.get("event") == "listen" and
                        e.get("transport") == "TLS")
    return int(e["addr"].rsplit(":", 1)[1]), e


def client_ctx(version=None, cafile=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


class TlsClient:
    """A SIP client over TLS: hand-made requests, responses framed by
    Content-Length."""

    def __init__(self, port, version=None, cafile=None,
                 server_hostname=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = client_ctx(version, cafile).wrap_socket(
            raw, server_hostname=server_hostname)
        self.port = self.sock.getsockname()[1]
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.encode())

    def recv(self, timeout=5.0):
        """One message as text, or None after timeout (or at EOF)."""
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)",
                              head)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return (head + sep + rest[:n]).decode()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except (socket.timeout, ssl.SSLError, OSError):
                return None
            if not data:
                return None
            self.buf += data

    def recv_until(self, code, timeout=5.0):
        out = []
        while True:
            m = self.recv(timeout)
            if m is None:
                return out, None
            out.append(m)
            if status(m) == code:
                return out, m

    def closed_by_peer(self, timeout=10.0):
        """True once the server closes the connection (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(deadline - time.monotonic())
            try:
                if not self.sock.recv(65535):
                    return True
            except socket.timeout:
                return False
            except (ssl.SSLError, OSError):
                return True
        return False

    def close(self):
        self.sock.close()


def tls_request(method, ruri, cl, **kw):
    """request() with a TLS Via and a Contact on the client's port."""
    text = request(method, ruri, cl.port, **kw)
    text = text.replace("Via: SIP/2.0/UDP", "Via: SIP/2.0/TLS", 1)
    if ruri.startswith("sips:"):
        contact = "<sips:test@127.0.0.1:%d>" % cl.port
    else:
        contact = "<sip:test@127.0.0.1:%d;transport=tls>" % cl.port
    return text.replace("Contact: <sip:test@127.0.0.1:%d>" % cl.port,
                        "Contact: " + contact, 1)


class TlsBase(SipstubTestCase):
    """sipstub with UDP, TCP and a TLS listener on a port it picks."""

    extra = TLS

    def setUp(self):
        super().setUp()
        self.tport, self.listen = tls_port(self.stub)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        super().tearDown()

    def client(self, **kw):
        c = TlsClient(self.tport, **kw)
        self.clients.append(c)
        return c

    def options(self, cl):
        cl.send(tls_request("OPTIONS", "sip:200@127.0.0.1:%d" % self.tport,
                            cl))
        return cl.recv()


class TlsServer(TlsBase):
    """Hand-made requests over Python's ssl module."""

    def check_options(self, version, name):
        cl = self.client(version=version)
        self.assertEqual(cl.sock.version(), name)
        resp = self.options(cl)
        self.assertEqual(status(resp), 200, resp)
        self.assertEqual(header(resp, "Via"), [
            "SIP/2.0/TLS 127.0.0.1:%d;branch=%s;rport=%d;"
            "received=127.0.0.1" % (cl.port, re.search(
                r"branch=([^;]+)", header(resp, "Via")[0]).group(1),
                cl.port)])
        self.assertEqual(header(resp, "Accept"), ["application/sdp"])
        e = self.stub.wait_event(lambda e: e.get("event") == "tls" and
                                 e.get("src") == "127.0.0.1:%d" % cl.port)
        self.assertEqual(e["result"], "ok")
        self.assertEqual(e["version"], name)
        self.assertEqual(e["dst"], "127.0.0.1:%d" % self.tport)
        sip = self.stub.sip(dir="in", method="OPTIONS")
        self.assertEqual([x["transport"] for x in sip], ["TLS"])
        self.assertEqual(sip[0]["src"], "127.0.0.1:%d" % cl.port)

    def test_options_tls12(self):
        self.check_options(ssl.TLSVersion.TLSv1_2, "TLSv1.2")

    def test_options_tls13(self):
        self.check_options(ssl.TLSVersion.TLSv1_3, "TLSv1.3")

    def test_fingerprint_and_listening_lines(self):
        cl = self.client()
        fp = fingerprint(cl.sock.getpeercert(binary_form=True))
        self.assertEqual(self.listen["fingerprint"], fp)
        self.assertIs(self.listen["self_signed"], True)
        err = self.stub.stderr_text()
        lines = [l for l in err.splitlines() if "listening on" in l]
        self.assertEqual(lines, [
            "sipstub: listening on udp:127.0.0.1:%d" % self.stub.port,
            "sipstub: listening on tcp:127.0.0.1:%d" % self.stub.port,
            "sipstub: listening on tls:127.0.0.1:%d (self-signed "
            "certificate, sha-256 %s)" % (self.tport, fp)])

    def test_selfsigned_names_the_listen_address(self):
        """The self-signed certificate: CN sipstub, the listen address
        as subjectAltName (a client that checks the name accepts it
        once it trusts the certificate), EC P-256, short validity."""
        pem = ssl.get_server_certificate(("127.0.0.1", self.tport))
        d = tempfile.mkdtemp(prefix="sipstub-tls-")
        try:
            ca = os.path.join(d, "server.pem")
            with open(ca, "w") as f:
                f.write(pem)
            cl = self.client(cafile=ca, server_hostname="127.0.0.1")
            cert = cl.sock.getpeercert()
            self.assertEqual(cert["subject"], ((("commonName", "sipstub"),),))
            self.assertEqual(cert["subjectAltName"],
                             (("DNS", "sipstub"), ("IP Address", "127.0.0.1")))
            days = (ssl.cert_time_to_seconds(cert["notAfter"]) -
                    ssl.cert_time_to_seconds(cert["notBefore"])) / 86400
            self.assertLessEqual(days, 31)
            if OPENSSL:
                txt = subprocess.run([OPENSSL, "x509", "-noout", "-text",
                                      "-in", ca], stdout=subprocess.PIPE,
                                     check=True).stdout.decode()
                self.assertIn("prime256v1", txt)
            self.assertEqual(status(self.options(cl)), 200)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def call(self, ruri, contact, headers=()):
        """INVITE, 100/180/200, ACK, BYE/200 on one TLS connection;
        returns the 200."""
        cl = self.client()
        inv = tls_request("INVITE", ruri, cl, callid="tls-call-%d" % cl.port,
                          headers=headers)
        cl.send(inv)
        got, ok = cl.recv_until(200)
        self.assertEqual([status(m) for m in got], [100, 180, 200], got)
        for m in got[1:]:
            self.assertEqual(header(m, "Contact"), [contact], m)
        tag = to_tag(ok)
        ack = tls_request("ACK", ruri, cl, callid="tls-call-%d" % cl.port,
                          to_tag=tag)
        cl.send(ack)
        bye = tls_request("BYE", ruri, cl, callid="tls-call-%d" % cl.port,
                          to_tag=tag, cseq=2)
        cl.send(bye)
        resp = cl.recv()
        self.assertEqual(status(resp), 200, resp)
        self.assertEqual(header(resp, "CSeq"), ["2 BYE"])
        flow = [(e["dir"], e.get("method"), e.get("code"), e["transport"])
                for e in self.stub.events() if e.get("event") == "sip"]
        self.assertEqual(flow, [
            ("in", "INVITE", None, "TLS"), ("out", "INVITE", 100, "TLS"),
            ("out", "INVITE", 180, "TLS"), ("out", "INVITE", 200, "TLS"),
            ("in", "ACK", None, "TLS"), ("in", "BYE", None, "TLS"),
            ("out", "BYE", 200, "TLS")])
        return ok

    def test_call_sips_uri(self):
        """RFC 3261 12.1.1: a SIPS Request-URI gets a SIPS Contact, with
        no transport=tls (RFC 5630 3.1.3)."""
        rr = "<sips:proxy.example.com;lr>"
        ok = self.call("sips:alice@127.0.0.1:%d" % self.tport,
                       "<sips:alice@127.0.0.1:%d>" % self.tport,
                       headers=("Record-Route: %s" % rr,))
        self.assertEqual(header(ok, "Record-Route"), [rr])

    def test_call_sip_uri(self):
        """A SIP Request-URI over TLS: a SIP Contact with transport=tls,
        which brings the client back over TLS."""
        self.call("sip:alice@127.0.0.1:%d" % self.tport,
                  "<sip:alice@127.0.0.1:%d;transport=tls>" % self.tport)

    def test_sip_uri_sips_record_route(self):
        """RFC 3261 12.1.1: a SIPS top Record-Route also asks for a SIPS
        Contact."""
        cl = self.client()
        cl.send(tls_request("INVITE", "sip:200@127.0.0.1:%d" % self.tport,
                            cl, headers=("Record-Route: <sips:p.example;lr>",
                                         "Record-Route: <sip:q.example;lr>")))
        _, ok = cl.recv_until(200)
        self.assertEqual(header(ok, "Contact"),
                         ["<sips:200@127.0.0.1:%d>" % self.tport])

    def test_redirect_over_tls(self):
        cl = self.client()
        cl.send(tls_request("INVITE", "sips:302@127.0.0.1:%d" % self.tport,
                            cl))
        _, resp = cl.recv_until(302)
        self.assertEqual(header(resp, "Contact"),
                         ["<sips:200@127.0.0.1:%d>" % self.tport])

    def test_garbage_and_aborted_handshake(self):
        """Bytes that are no TLS, and a client that closes after half a
        ClientHello: each logged and closed; UDP, TCP and TLS go on."""
        g = socket.create_connection(("127.0.0.1", self.tport), timeout=5)
        g.sendall(b"OPTIONS sip:x@y SIP/2.0\r\n\r\n")
        got = b""
        try:
            while True:     # until sipstub closes (at most an alert)
                data = g.recv(100)
                if not data:
                    break
                got += data
        except ConnectionResetError:
            pass
        self.assertNotIn(b"SIP/2.0", got)
        e = self.stub.wait_event(lambda e: e.get("event") == "tls" and
                                 e.get("src") == "127.0.0.1:%d" %
                                 g.getsockname()[1])
        self.assertEqual(e["result"], "failed")
        self.assertIn(e["reason"], ("http request", "wrong version number"))
        g.close()

        h = socket.create_connection(("127.0.0.1", self.tport), timeout=5)
        h.sendall(bytes.fromhex("16030100c8010000c40303") + b"\x00" * 20)
        hport = h.getsockname()[1]
        h.close()
        e = self.stub.wait_event(lambda e: e.get("event") == "tls" and
                                 e.get("src") == "127.0.0.1:%d" % hport)
        self.assertEqual(e["result"], "closed")
        self.assertEqual(e["reason"], "connection closed during handshake")

        u = UdpClient()
        try:
            u.send(request("OPTIONS", "sip:200@" + self.stub.addr, u.port),
                   ("127.0.0.1", self.stub.port))
            self.assertEqual(status(u.recv()), 200)
        finally:
            u.close()
        t = socket.create_connection(("127.0.0.1", self.stub.port),
                                     timeout=5)
        try:
            tp = t.getsockname()[1]
            t.sendall(request("OPTIONS", "sip:200@" + self.stub.addr, tp)
                      .replace("SIP/2.0/UDP", "SIP/2.0/TCP").encode())
            self.assertTrue(t.recv(65535).startswith(b"SIP/2.0 200 OK"))
        finally:
            t.close()
        self.assertEqual(status(self.options(self.client())), 200)

    def test_transport_variable(self):
        """${transport} is tls for a request over TLS."""
        self.stub.close()
        d = tempfile.mkdtemp(prefix="sipstub-tls-")
        try:
            scn = os.path.join(d, "t.yaml")
            with open(scn, "w") as f:
                f.write("rules:\n  - match: {method: OPTIONS}\n"
                        "    reply:\n      - code: 200\n"
                        "        headers: {X-Transport: '${transport}'}\n")
            self.stub = Sipstub(scn, extra=TLS)
            self.tport, _ = tls_port(self.stub)
            resp = self.options(self.client())
            self.assertEqual(header(resp, "X-Transport"), ["tls"])
        finally:
            shutil.rmtree(d, ignore_errors=True)


class TlsLimits(SipstubTestCase):
    """The tcp and tcp-idle limits count TLS connections too."""

    extra = TLS + ("-L", "tcp=1", "-L", "tcp-idle=1")

    def test_tls_connection_limit_and_idle(self):
        port, _ = tls_port(self.stub)
        a = TlsClient(port)
        b = TlsClient(port)
        try:
            a.send(tls_request("OPTIONS", "sip:200@127.0.0.1:%d" % port, a))
            self.assertEqual(status(a.recv()), 200)
            b.send(tls_request("OPTIONS", "sip:200@127.0.0.1:%d" % port, b))
            resp = b.recv()
            self.assertEqual(status(resp), 503, resp)
            self.assertEqual(header(resp, "Retry-After"), ["5"])
            self.assertTrue(b.closed_by_peer())
            # idle for tcp-idle (1 s): closed by the sweep
            self.assertTrue(a.closed_by_peer(timeout=15))
        finally:
            a.close()
            b.close()
        e = self.stub.wait_event(lambda e: e.get("event") == "overload")
        self.assertEqual(e["limit"], "tcp")


class TlsWorkers(unittest.TestCase):
    """--workers: one certificate, made before the fork, for all of
    them; the listening lines once."""

    def test_one_certificate(self):
        port = free_port()
        stub = Sipstub(extra=("-w", "2", "-l", "tls:127.0.0.1:%d" % port))
        try:
            for w in (0, 1):
                stub.wait_event(lambda e: e.get("event") == "start" and
                                e.get("worker") == w)
            fps = {e["worker"]: e["fingerprint"] for e in stub.events()
                   if e.get("event") == "listen" and
                   e.get("transport") == "TLS"}
            self.assertEqual(sorted(fps), [0, 1])
            self.assertEqual(fps[0], fps[1])
            fp = set()
            for _ in range(6):
                cl = TlsClient(port)
                fp.add(fingerprint(cl.sock.getpeercert(binary_form=True)))
                cl.close()
            self.assertEqual(fp, {fps[0]})
            lines = [l for l in stub.stderr_text().splitlines()
                     if "listening on tls:" in l]
            self.assertEqual(len(lines), 1, lines)
        finally:
            code, err = stub.stop()
            stub.close()
        check_exit(self, code, err)


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class TlsOldVersion(unittest.TestCase):
    """RFC 8996: no TLS below 1.2, whatever the system's OpenSSL
    configuration allows (here none: OPENSSL_CONF is an empty file for
    sipstub and for openssl s_client)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sipstub-tls-")
        self.conf = os.path.join(self.dir, "openssl.cnf")
        open(self.conf, "w").close()
        old = os.environ.get("OPENSSL_CONF")
        os.environ["OPENSSL_CONF"] = self.conf
        try:
            self.stub = Sipstub(extra=TLS)
        finally:
            if old is None:
                del os.environ["OPENSSL_CONF"]
            else:
                os.environ["OPENSSL_CONF"] = old
        self.port, _ = tls_port(self.stub)

    def tearDown(self):
        code, err = self.stub.stop()
        self.stub.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        check_exit(self, code, err)

    def s_client(self, *args):
        p = subprocess.run([OPENSSL, "s_client", "-connect",
                            "127.0.0.1:%d" % self.port] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30,
                           env=dict(os.environ, OPENSSL_CONF=self.conf))
        return p.stdout.decode(errors="replace")

    def test_tls11_refused_tls12_accepted(self):
        out = self.s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertIn("alert protocol version", out)
        e = self.stub.wait_event(lambda e: e.get("event") == "tls")
        self.assertEqual((e["result"], e["reason"]),
                         ("failed", "unsupported protocol"))
        out = self.s_client("-tls1_2")
        self.assertIn("Protocol  : TLSv1.2", out)


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class TlsCertFile(unittest.TestCase):
    """--tls-cert with a certificate and key the test makes with
    openssl req (test-only, in a temporary directory)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sipstub-tls-")
        self.pem = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        crt = os.path.join(self.dir, "crt.pem")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "1",
                        "-subj", "/CN=sipstub-test",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(self.pem, "w") as out:
            for p in (crt, key):
                with open(p) as f:
                    out.write(f.read())
        self.crt = crt
        self.stub = None

    def tearDown(self):
        if self.stub:
            code, err = self.stub.stop()
            self.stub.close()
            check_exit(self, code, err)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_certificate_served(self):
        self.stub = Sipstub(extra=TLS + ("--tls-cert", self.pem))
        port, listen = tls_port(self.stub)
        with open(self.crt) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertEqual(listen["fingerprint"], fingerprint(der))
        self.assertIs(listen["self_signed"], False)
        cl = TlsClient(port, cafile=self.crt, server_hostname="127.0.0.1")
        try:
            self.assertEqual(cl.sock.getpeercert(binary_form=True), der)
            cl.send(tls_request("OPTIONS", "sip:200@127.0.0.1:%d" % port,
                                cl))
            self.assertEqual(status(cl.recv()), 200)
        finally:
            cl.close()
        self.assertIn("listening on tls:127.0.0.1:%d (--tls-cert "
                      "certificate, sha-256 %s)" % (port, fingerprint(der)),
                      self.stub.stderr_text())

    def run_bad(self, *args):
        p = subprocess.run([SIPSTUB] +
                           list(args), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=30,
                           stdin=subprocess.DEVNULL, start_new_session=True)
        return p.returncode, p.stderr.decode()

    def test_bad_certificate_file(self):
        with open(os.path.join(self.dir, "bad.pem"), "w") as f:
            f.write("not a certificate\n")
        code, err = self.run_bad("-l", "tls:127.0.0.1:0", "--tls-cert",
                                 os.path.join(self.dir, "bad.pem"))
        self.assertEqual(code, 2)
        self.assertIn("sipstub: TLS certificate %s" %
                      os.path.join(self.dir, "bad.pem"), err)

    def test_encrypted_key_refused(self):
        """A key with a passphrase: an error at start, no prompt."""
        enc = os.path.join(self.dir, "enc.pem")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048",
                        "-passout", "pass:secret", "-keyout", enc,
                        "-out", self.crt, "-days", "1", "-subj", "/CN=x"],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(enc, "a") as out, open(self.crt) as f:
            out.write(f.read())
        code, err = self.run_bad("-l", "tls:127.0.0.1:0", "--tls-cert", enc)
        self.assertEqual(code, 2)
        self.assertIn("sipstub: TLS certificate %s: Invalid argument" % enc,
                      err)

    def test_cert_without_tls_listener(self):
        code, err = self.run_bad("-l", "udp:127.0.0.1:0", "--tls-cert",
                                 self.pem)
        self.assertEqual(code, 2)
        self.assertIn("--tls-cert needs --listen tls:ADDR:PORT", err)


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class OpensslClient(TlsBase):
    """openssl s_client as the TLS client of a hand-made OPTIONS."""

    def test_s_client_options(self):
        req = request("OPTIONS", "sip:200@127.0.0.1:%d" % self.tport,
                      5555).replace("SIP/2.0/UDP", "SIP/2.0/TLS")
        p = subprocess.Popen([OPENSSL, "s_client", "-quiet", "-connect",
                              "127.0.0.1:%d" % self.tport, "-tls1_3"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        try:
            p.stdin.write(req.encode())
            p.stdin.flush()
            out = b""
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in out and time.monotonic() < deadline:
                chunk = p.stdout.read1(65535)
                if not chunk:
                    break
                out += chunk
        finally:
            p.stdin.close()
            p.kill()
            p.wait()
        resp = out.decode(errors="replace")
        self.assertEqual(status(resp), 200, resp)
        src = self.stub.sip(dir="in", method="OPTIONS")[0]["src"]
        self.assertEqual(header(resp, "Via")[0].split(";")[2:],
                         ["rport=%s" % src.rsplit(":", 1)[1],
                          "received=127.0.0.1"])




@unittest.skipIf(BARESIP is None, "baresip is not installed")
class BaresipTls(TlsBase):
    """baresip calls sipstub with ;transport=tls."""

    def test_call_over_tls(self):
        from test_baresip import tone
        d = tempfile.mkdtemp(prefix="baresip-tls-")
        try:
            with open(os.path.join(d, "config"), "w") as f:
                f.write(BARESIP_CONFIG % {"dir": d})
            with open(os.path.join(d, "accounts"), "w") as f:
                f.write("<sip:tester@127.0.0.1;transport=tls>;regint=0\n")
            tone(os.path.join(d, "in.wav"), seconds=3)
            tone(os.path.join(d, "alert.wav"), seconds=1)
            p = subprocess.run(
                [BARESIP, "-f", d, "-t", "4", "-e",
                 "/dial sip:alice@127.0.0.1:%d;transport=tls" % self.tport],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=30)
            out = p.stdout.decode(errors="replace")
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertIn("Call established", out, out)
        self.stub.wait_event(lambda e: e.get("method") == "BYE" and
                             e.get("code") == 200)
        sip = [e for e in self.stub.events() if e.get("event") == "sip"]
        self.assertEqual({e["transport"] for e in sip}, {"TLS"})
        flow = [(e["dir"], e.get("method"), e.get("code")) for e in sip]
        self.assertEqual(flow, [
            ("in", "INVITE", None), ("out", "INVITE", 100),
            ("out", "INVITE", 180), ("out", "INVITE", 200),
            ("in", "ACK", None), ("in", "BYE", None), ("out", "BYE", 200)])
        tls = [e for e in self.stub.events() if e.get("event") == "tls"]
        self.assertEqual([e["result"] for e in tls], ["ok"])


if __name__ == "__main__":
    unittest.main()
