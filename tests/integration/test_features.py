"""Scenario features of issue 3 against the real binary: header and
user matches, reason and header overrides, bodies (literal, file),
run-time names, auto-100, sdp: false, delays and the hangup timer
(sipstub sends BYE)."""
import os
import shutil
import tempfile
import time
import unittest

from harness import (Sipstub, UdpClient, header, recv_until, request,
                     response_to, status, to_tag, SANITIZER_MARKS)

HERE = os.path.dirname(os.path.abspath(__file__))

SCENARIO = """
vars:
  realm: features.test
rules:
  - match: {method: OPTIONS, headers: {User-Agent: "^Linphone"}}
    reply: {code: 503, reason: "Linphone Not Welcome"}
  - match: {method: OPTIONS, user-regex: "^x[0-9]+$"}
    reply:
      - code: 200
        headers:
          X-Where: "${local} ${user} ${transport} ${realm}"
          Allow: ""
  - match: {method: MESSAGE, user: note}
    reply: {code: 200, body-file: %(note)s, content-type: text/x-note}
  - match: {method: MESSAGE, user: text}
    reply: {code: 200, body: "plain words"}
  - match: {method: INVITE, user: quiet, in-dialog: false}
    auto-100: false
    reply: [{code: 180, delay: 300ms}, {code: 486}]
  - match: {method: INVITE, user: nosdp, in-dialog: false}
    reply: {code: 200, sdp: false}
  - match: {method: INVITE, user: short, in-dialog: false}
    reply: {code: 200, hangup: 1s}
"""


class Features(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sipstub-features-")
        path = os.path.join(self.dir, "features.yaml")
        with open(path, "w") as f:
            f.write(SCENARIO % {"note": os.path.join(HERE, "data",
                                                     "note.txt")})
        self.stub = Sipstub(path)
        self.c = UdpClient()
        self.dest = ("127.0.0.1", self.stub.port)

    def tearDown(self):
        self.c.close()
        code, err = self.stub.stop()
        self.stub.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.assertEqual(code, 0, err)

    def uri(self, user):
        return "sip:%s@127.0.0.1:%d" % (user, self.stub.port)

    def ask(self, method, user, headers=(), final=True):
        req = request(method, self.uri(user), self.c.port, headers=headers)
        self.c.send(req, self.dest)
        msgs, last = recv_until(
            self.c, lambda m: (status(m) or 0) >= 200, timeout=4)
        self.assertIsNotNone(last, "no final response to %s" % method)
        return req, msgs

    def test_header_regex_and_reason(self):
        _, msgs = self.ask("OPTIONS", "a", ["User-Agent: Linphone/5.0"])
        self.assertEqual(msgs[-1].split("\r\n")[0],
                         "SIP/2.0 503 Linphone Not Welcome")
        _, msgs = self.ask("OPTIONS", "a", ["User-Agent: baresip"])
        self.assertEqual(status(msgs[-1]), 200)

    def test_runtime_names_and_header_removal(self):
        _, msgs = self.ask("OPTIONS", "x42")
        resp = msgs[-1]
        self.assertEqual(status(resp), 200)
        self.assertEqual(header(resp, "X-Where"),
                         ["127.0.0.1:%d x42 udp features.test" %
                          self.stub.port])
        self.assertEqual(header(resp, "Allow"), [],
                         'Allow: "" removes the default Allow')
        self.assertEqual(header(resp, "Accept"), ["application/sdp"])

    def test_body_file_and_literal(self):
        _, msgs = self.ask("MESSAGE", "note")
        resp = msgs[-1]
        self.assertEqual(header(resp, "Content-Type"), ["text/x-note"])
        self.assertEqual(resp.split("\r\n\r\n", 1)[1],
                         "hello from a file\n")
        self.assertEqual(header(resp, "Content-Length"), ["18"])
        _, msgs = self.ask("MESSAGE", "text")
        resp = msgs[-1]
        self.assertEqual(header(resp, "Content-Type"), ["text/plain"])
        self.assertEqual(resp.split("\r\n\r\n", 1)[1],
                         "plain words")

    def test_no_auto_100_and_delay(self):
        t0 = time.monotonic()
        _, msgs = self.ask("INVITE", "quiet")
        codes = [status(m) for m in msgs]
        self.assertEqual(codes, [180, 486], "auto-100: false sends no 100")
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)

    def test_sdp_false(self):
        req, msgs = self.ask("INVITE", "nosdp")
        resp = msgs[-1]
        self.assertEqual(status(resp), 200)
        self.assertEqual(header(resp, "Content-Length"), ["0"])
        self.assertEqual(header(resp, "Content-Type"), [])

    def test_hangup_sends_bye(self):
        req, msgs = self.ask("INVITE", "short")
        resp = msgs[-1]
        tag = to_tag(resp)
        ack = "\r\n".join([
            "ACK %s SIP/2.0" % self.uri("short"),
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-a1;rport" %
            self.c.port,
            "Max-Forwards: 70",
            "From: %s" % header(req, "From")[0],
            "To: %s" % header(resp, "To")[0],
            "Call-ID: %s" % header(req, "Call-ID")[0],
            "CSeq: 1 ACK", "Content-Length: 0", "", ""])
        self.c.send(ack, self.dest)
        _, bye = recv_until(self.c, lambda m: m.startswith("BYE "),
                            timeout=5)
        self.assertIsNotNone(bye, "no BYE after hangup: 1s")
        self.assertEqual(header(bye, "Call-ID"), header(req, "Call-ID"))
        self.assertIn("tag=" + tag, header(bye, "From")[0])
        self.c.send(response_to(bye, 200, "OK"), self.dest)
        self.stub.wait_event(lambda e: e.get("event") == "hangup")
        self.stub.wait_event(lambda e: e.get("dir") == "in" and
                             e.get("code") == 200 and
                             e.get("method") == "BYE")


class MaxSize(unittest.TestCase):
    """--max-size: a larger UDP request gets 513 (RFC 3261 21.5.14)."""

    def test_513(self):
        stub = Sipstub(extra=("--max-size", "2000"))
        c = UdpClient()
        try:
            dest = ("127.0.0.1", stub.port)
            small = request("MESSAGE", "sip:a@127.0.0.1", c.port,
                            headers=["Content-Type: text/plain"])
            c.send(small, dest)
            self.assertEqual(status(c.recv(3)), 200)
            big = request("MESSAGE", "sip:a@127.0.0.1", c.port,
                          headers=["X-Pad: " + "x" * 2500])
            c.send(big, dest)
            resp = c.recv(3)
            self.assertEqual(resp.split("\r\n")[0],
                             "SIP/2.0 513 Message Too Large")
            self.assertEqual(header(resp, "Call-ID"),
                             header(big, "Call-ID"))
            stub.wait_event(lambda e: e.get("event") == "malformed" and
                            e.get("code") == 513)
        finally:
            c.close()
            code, err = stub.stop()
            stub.close()
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    unittest.main()
