"""--control: the HTTP control API over real HTTP (http.client).

Counters after a SIPp call and after POST /reset; the event stream from a
sequence number and from Last-Event-ID; a scenario replaced at run time
(one with errors is refused and the old one stays; a transaction under
way finishes on the scenario it started with); BYE from outside in a call
SIPp holds; bad JSON, unknown paths, methods and Call-IDs, a body too
large, and garbage on the socket.
"""
import http.client
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import (SipstubTestCase, UdpClient, free_port, request,
                     run_sipp, status, SIPP_DIR)


def api(port, method, path, body=None, headers=None):
    """(status, headers dict, parsed JSON or text) of one request."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read().decode()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("content-type", "").startswith("application/json"):
            data = json.loads(data)
        return r.status, hdrs, data
    finally:
        c.close()


class SseReader:
    """GET /events on a raw socket; collects the parsed data objects."""

    def __init__(self, port, query="", headers=()):
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        req = "GET /events%s HTTP/1.1\r\nHost: x\r\n" % query
        req += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        self.sock.sendall(req.encode())
        self.buf = b""
        self.head = None
        self.events = []
        self.comments = []

    def poll(self, timeout=0.2):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        if not data:
            return False
        self.buf += data
        if self.head is None and b"\r\n\r\n" in self.buf:
            self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        while self.head is not None and b"\n\n" in self.buf:
            rec, self.buf = self.buf.split(b"\n\n", 1)
            ev = {}
            for line in rec.decode().split("\n"):
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("id: "):
                    ev["id"] = int(line[4:])
                elif line.startswith("data: "):
                    ev["data"] = json.loads(line[6:])
            if "data" in ev:
                self.assert_id(ev)
                self.events.append(ev["data"])
        return True

    @staticmethod
    def assert_id(ev):
        if ev["id"] != ev["data"]["seq"]:
            raise AssertionError("id %d, seq %d" % (ev["id"],
                                                    ev["data"]["seq"]))

    def wait(self, pred, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events:
                if pred(e):
                    return e
            if not self.poll():
                break
        raise AssertionError("no such event; got %r" %
                             [(e.get("event"), e.get("method"),
                               e.get("code")) for e in self.events])

    def close(self):
        self.sock.close()


class Ctrl(SipstubTestCase):

    def setUp(self):
        self.cport = free_port()
        self.extra = ["--control", str(self.cport)]
        super().setUp()

    def call(self, transport="u1"):
        rc, out = run_sipp("sn:uac", self.stub.addr, transport,
                           service="alice")
        self.assertEqual(rc, 0, out)
        self.stub.wait_event(lambda e: e.get("dir") == "out" and
                             e.get("code") == 200 and
                             e.get("method") == "BYE")

    def test_stats_and_reset(self):
        self.call("u1")
        self.call("t1")
        code, hdrs, st = api(self.cport, "GET", "/stats")
        self.assertEqual(code, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        self.assertEqual(st["requests"],
                         {"INVITE": 2, "ACK": 2, "BYE": 2})
        self.assertEqual(st["responses"], {"100": 2, "180": 2, "200": 4})
        self.assertEqual(st["requests_total"], 6)
        self.assertEqual(st["responses_total"], 8)

        code, _, body = api(self.cport, "POST", "/reset", "{bad")
        self.assertEqual((code, body["status"]), (400, 400))
        self.assertIn("JSON", body["error"])
        self.assertEqual(api(self.cport, "GET", "/stats")[2]
                         ["requests_total"], 6)

        code, _, body = api(self.cport, "POST", "/reset", "{}",
                             {"Content-Type": "application/json"})
        self.assertEqual(code, 200)
        self.assertEqual(body, {"reset": ["stats", "expectations"]})
        code, _, st = api(self.cport, "GET", "/stats")
        self.assertEqual(st, {"requests": {}, "responses": {},
                              "requests_total": 0, "responses_total": 0})
        self.stub.wait_event(lambda e: e.get("event") == "reset")

    def test_calls(self):
        """GET /calls: the ended call with its codes and how it ended;
        ?live=1 leaves ended calls out."""
        self.assertEqual(api(self.cport, "GET", "/calls")[2], {"calls": []})
        self.call("u1")
        code, hdrs, body = api(self.cport, "GET", "/calls")
        self.assertEqual(code, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        calls = body["calls"]
        self.assertEqual(len(calls), 1, calls)
        inv = self.stub.sip(dir="in", method="INVITE", kind="request")[0]
        self.assertEqual(calls[0]["call_id"], inv["call_id"])
        self.assertEqual(calls[0]["codes"], [100, 180, 200])
        self.assertEqual(calls[0]["state"], "ended")
        self.assertEqual(calls[0]["ended"], "bye")
        self.assertEqual(calls[0]["bye_by"], "client")
        self.assertEqual(api(self.cport, "GET", "/calls?live=1")[2],
                         {"calls": []})

    def test_errors(self):
        code, _, body = api(self.cport, "GET", "/nowhere")
        self.assertEqual(code, 404)
        self.assertEqual(body, {"error": "no such resource", "status": 404})

        code, hdrs, body = api(self.cport, "DELETE", "/stats")
        self.assertEqual(code, 405)
        self.assertEqual(hdrs["allow"], "GET")
        self.assertEqual(body["status"], 405)

        code, hdrs, body = api(self.cport, "GET", "/calls/x/bye")
        self.assertEqual((code, hdrs["allow"]), (405, "POST"))

        code, _, body = api(self.cport, "POST", "/calls/nosuch%40h/bye")
        self.assertEqual(code, 404)
        self.assertEqual(body["error"],
                         "no confirmed call with that Call-ID")

        for bad in ("%zz", "x%4", "%00"):
            code, _, body = api(self.cport, "POST", "/calls/%s/bye" % bad)
            self.assertEqual((code, body["error"]),
                             (400, "bad percent-encoding in the Call-ID"))

        code, _, body = api(self.cport, "POST", "/calls/x/bye", "[1,",
                             {"Content-Type": "application/json"})
        self.assertEqual((code, body["error"]), (400, "body is not JSON"))

        code, _, body = api(self.cport, "POST", "/scenario", "{\"yaml\":",
                             {"Content-Type": "application/json"})
        self.assertEqual((code, body["error"]), (400, "body is not JSON"))

        code, _, body = api(self.cport, "POST", "/scenario", "{\"x\":1}",
                             {"Content-Type": "application/json"})
        self.assertEqual(code, 400)

        code, _, body = api(self.cport, "POST", "/scenario",
                             "x" * (300 << 10))
        self.assertEqual((code, body["status"]), (413, 413))

        # garbage and a cut request on the socket, then still alive
        for junk in (b"\x00\xff garbage\r\n\r\n", b"GET /stats HTTP/1.1\r\n",
                     b"POST /reset HTTP/1.1\r\nContent-Length: 99999999"
                     b"\r\n\r\nxx"):
            s = socket.create_connection(("127.0.0.1", self.cport), 5)
            s.sendall(junk)
            s.close()
        self.assertEqual(api(self.cport, "GET", "/stats")[0], 200)

    def test_events_from_seq(self):
        self.call()
        ev = SseReader(self.cport, "?from=1")
        ev.wait(lambda e: e["event"] == "start")
        bye = ev.wait(lambda e: e.get("dir") == "out" and
                      e.get("method") == "BYE")
        seqs = [e["seq"] for e in ev.events]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        self.assertTrue(ev.head.startswith(b"HTTP/1.1 200 OK"))
        self.assertIn(b"Content-Type: text/event-stream", ev.head)
        # the SIP events carry the message text on the stream only
        invite = ev.wait(lambda e: e.get("method") == "INVITE" and
                         e.get("dir") == "in")
        self.assertTrue(invite["msg"].startswith("INVITE sip:alice@"))
        self.assertIn("\r\nCall-ID: %s\r\n" % invite["call_id"],
                      invite["msg"])
        self.assertNotIn("msg", self.stub.sip(method="INVITE")[0])
        self.assertNotIn("seq", self.stub.sip(method="INVITE")[0])
        ev.close()

        # from a number in the middle; then live, in order
        n = invite["seq"]
        ev2 = SseReader(self.cport, "?from=%d" % n)
        ev2.wait(lambda e: e["seq"] == bye["seq"])
        self.assertEqual(ev2.events[0]["seq"], n)
        self.assertEqual(ev2.events[0]["event"], "sip")
        ev3 = SseReader(self.cport, "", [("Last-Event-ID", str(n))])
        ev3.wait(lambda e: e["seq"] == bye["seq"])
        self.assertEqual(ev3.events[0]["seq"], n + 1)
        # from now: nothing old
        ev4 = SseReader(self.cport)
        ev4.poll(0.5)
        self.assertEqual(ev4.events, [])
        self.call("t1")
        for r in (ev2, ev3, ev4):
            r.wait(lambda e: e.get("dir") == "out" and
                   e.get("method") == "BYE" and e["seq"] > bye["seq"])
            seqs = [e["seq"] for e in r.events]
            self.assertEqual(seqs, list(range(seqs[0], seqs[-1] + 1)))
        self.assertGreater(ev4.events[0]["seq"], bye["seq"])
        for r in (ev2, ev3, ev4):
            r.close()

    def test_slow_reader_dropped(self):
        """A reader that stops reading is dropped with a final comment
        once its next event leaves the ring; a reader that keeps up
        meanwhile gets every event."""
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", self.cport))
        slow.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        fast = SseReader(self.cport)
        fast.poll(0.3)
        c = UdpClient()
        try:
            for i in range(6000):
                c.send(request("OPTIONS", "sip:alice@127.0.0.1", c.port,
                               callid="slow-%d" % i),
                       ("127.0.0.1", self.stub.port))
                c.recv()
                if i % 50 == 0:
                    fast.poll(0.001)
        finally:
            c.close()
        last = fast.wait(lambda e: e.get("call_id") == "slow-5999" and
                         e.get("dir") == "out")
        seqs = [e["seq"] for e in fast.events]
        self.assertEqual(seqs, list(range(seqs[0], last["seq"] + 1)))
        fast.close()

        data = b""
        slow.settimeout(10)
        while True:
            chunk = slow.recv(65536)
            if not chunk:
                break
            data += chunk
        slow.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"))
        tail = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        self.assertRegex(tail.decode(),
                         r"^: dropped: too slow, events from \d+ are gone$")
        self.assertLess(data.count(b"\nid: "), 6000 * 2)

    def test_scenario_replace(self):
        bad = "rules:\n  - match: {method: OPTIONS}\n    bogus: 1\n" \
              "    reply: 999\n"
        code, _, body = api(self.cport, "POST", "/scenario", bad)
        self.assertEqual(code, 400)
        self.assertEqual(body["status"], 400)
        self.assertGreaterEqual(len(body["errors"]), 1)
        e = body["errors"][0]
        self.assertEqual(sorted(e), ["col", "line", "message"])
        self.assertEqual((e["line"], e["col"]), (3, 5))
        self.assertIn("bogus", e["message"])

        c = UdpClient()
        try:
            # the old (built-in) one still answers: 486@ is busy
            c.send(request("OPTIONS", "sip:486@127.0.0.1", c.port),
                   ("127.0.0.1", self.stub.port))
            self.assertEqual(status(c.recv()), 486)

            good = ("rules:\n  - match: {method: OPTIONS}\n"
                    "    reply: [{code: 200, delay: 1s, reason: Old}]\n")
            code, _, body = api(self.cport, "POST", "/scenario",
                                 json.dumps({"yaml": good}),
                                 {"Content-Type": "application/json"})
            self.assertEqual((code, body["loaded"]), (200, True))

            # a transaction under way keeps its scenario when replaced
            c.send(request("OPTIONS", "sip:486@127.0.0.1", c.port),
                   ("127.0.0.1", self.stub.port))
            self.stub.wait_event(lambda e: e.get("method") == "OPTIONS"
                                 and e.get("dir") == "in" and
                                 len(self.stub.sip(method="OPTIONS",
                                                   dir="in")) == 2)
            code, _, body = api(self.cport, "POST", "/scenario",
                                 "OPTIONS: 603\n")
            self.assertEqual(code, 200)
            resp = c.recv(10)
            self.assertEqual(status(resp), 200)
            self.assertTrue(resp.startswith("SIP/2.0 200 Old\r\n"))

            c.send(request("OPTIONS", "sip:486@127.0.0.1", c.port),
                   ("127.0.0.1", self.stub.port))
            self.assertEqual(status(c.recv()), 603)
        finally:
            c.close()
        ev = self.stub.wait_event(lambda e: e.get("event") == "scenario"
                                  and e.get("loaded") is False)
        self.assertGreaterEqual(ev["errors"], 1)

    def test_bye_from_outside(self):
        work = tempfile.mkdtemp(prefix="sipp-")
        sipp = subprocess.Popen(
            ["sipp", self.stub.addr, "-sf",
             os.path.join(SIPP_DIR, "uac_wait_bye.xml"), "-s", "alice",
             "-m", "1", "-t", "u1", "-i", "127.0.0.1",
             "-p", str(free_port()), "-timeout", "30s", "-timeout_error",
             "-nostdin"], cwd=work, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            ack = self.stub.wait_event(lambda e: e.get("method") == "ACK"
                                       and e.get("dir") == "in", 20)
            cid = urllib.parse.quote(ack["call_id"], safe="")
            live = api(self.cport, "GET", "/calls?live=1")[2]["calls"]
            self.assertEqual([c["call_id"] for c in live], [ack["call_id"]])
            self.assertEqual(live[0]["state"], "answered")
            code, hdrs, body = api(self.cport, "POST",
                                    "/calls/%s/bye" % cid)
            self.assertEqual(code, 202, body)
            self.assertEqual(body, {"call_id": ack["call_id"],
                                    "bye": "sent"})
            out, _ = sipp.communicate(timeout=40)
            self.assertEqual(sipp.returncode, 0, out.decode())
        finally:
            if sipp.poll() is None:
                sipp.kill()
                sipp.wait()
        bye = self.stub.sip(dir="out", method="BYE", kind="request")
        self.assertEqual(len(bye), 1)
        self.assertEqual(bye[0]["call_id"], ack["call_id"])
        self.stub.wait_event(lambda e: e.get("dir") == "in" and
                             e.get("code") == 200 and
                             e.get("method") == "BYE")
        hang = self.stub.wait_event(lambda e: e.get("event") == "hangup")
        self.assertEqual(hang["message"], "control API")
        # the call is gone now (a raw '@' in the path is fine too)
        self.assertIn("@", ack["call_id"])
        code, _, _ = api(self.cport, "POST",
                         "/calls/%s/bye" % ack["call_id"])
        self.assertEqual(code, 404)


class CtrlExpect(SipstubTestCase):
    """GET /expectations: the verdict so far; POST /reset starts the
    expectations over."""

    def setUp(self):
        self.cport = free_port()
        self.dir = tempfile.mkdtemp(prefix="sipstub-ctrl-")
        self.scenario = os.path.join(self.dir, "expect.yaml")
        with open(self.scenario, "w") as f:
            f.write("expect:\n"
                    "  - {name: two-options, request: OPTIONS, count: 2}\n")
        self.extra = ["--control", str(self.cport)]
        super().setUp()

    def options(self, n):
        c = UdpClient()
        try:
            for i in range(n):
                c.send(request("OPTIONS", "sip:x@127.0.0.1:%d"
                               % self.stub.port, c.port,
                               callid="ctrl-exp-%d-%d" % (n, i)),
                       ("127.0.0.1", self.stub.port))
                self.assertEqual(status(c.recv()), 200)
        finally:
            c.close()

    def verdict(self):
        code, hdrs, body = api(self.cport, "GET", "/expectations")
        self.assertEqual(code, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        return body

    def test_expectations_and_reset(self):
        v = self.verdict()
        self.assertEqual((v["result"], v["passed"], v["failed"]),
                         ("fail", 0, 1))
        self.assertEqual(v["items"][0]["name"], "two-options")
        self.options(2)
        v = self.verdict()
        self.assertEqual((v["result"], v["passed"], v["failed"]),
                         ("pass", 1, 0))
        code, _, body = api(self.cport, "POST", "/reset")
        self.assertEqual(body, {"reset": ["stats", "expectations"]})
        self.options(1)
        v = self.verdict()
        self.assertEqual((v["result"], v["failed"]), ("fail", 1))
        self.options(1)
        self.assertEqual(self.verdict()["result"], "pass")

    def tearDown(self):
        super().tearDown()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


class CtrlOptions(unittest.TestCase):

    def test_bad_control_option(self):
        from harness import SIPSTUB
        for bad in ("x", "127.0.0.1:", "1:2:3:99999", "70000"):
            p = subprocess.run([SIPSTUB, "--control", bad],
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"bad --control", p.stderr)
        port = free_port()
        for opt in (["--control", str(port)], ["--pcap", "/dev/null"]):
            p = subprocess.run([SIPSTUB, "--workers", "2", "-l",
                                "udp:127.0.0.1:%d" % port] + opt,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 2)
            self.assertIn(b"need one worker", p.stderr)


if __name__ == "__main__":
    unittest.main()
