"""PUBLISH entity tags (RFC 3903) and MESSAGE bodies in the event log
(RFC 3428) against dial-a-code and scenarios/publish.yaml, over UDP and
TCP, and with sipsak.
"""
import os
import subprocess
import tempfile
import unittest

from scn_helpers import (PeerCase, header, scenario_path, sip_request,
                         status, transact)

PIDF = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'entity="sip:alice@127.0.0.1"><tuple id="a"><status><basic>open'
        '</basic></status></tuple></presence>\r\n')


class Publish(PeerCase):

    def publish(self, p, etag=None, expires=60, body=PIDF, event="presence"):
        hdrs = ["Event: %s" % event, "Expires: %d" % expires]
        if etag:
            hdrs.append("SIP-If-Match: %s" % etag)
        if body:
            hdrs.append("Content-Type: application/pidf+xml")
        r = transact(p, sip_request(p, "PUBLISH",
                                    "sip:alice@%s" % self.stub.addr,
                                    headers=hdrs, body=body))
        self.assertEqual(len(r), 1, r)
        return r[0]

    def etag(self, r):
        v = header(r, "SIP-ETag")
        self.assertEqual(len(v), 1, r)
        self.assertRegex(v[0], r"^[0-9a-f]{16}$")
        return v[0]

    def check_lifecycle(self, tp):
        p = self.peer(tp)
        r = self.publish(p)
        self.assertTrue(r.startswith("SIP/2.0 200 OK\r\n"), r)
        self.assertEqual(header(r, "Expires"), ["60"])
        t1 = self.etag(r)

        # RFC 3903 4.3: a refresh, no body, gets a new tag
        r = self.publish(p, t1, expires=120, body="")
        self.assertEqual(status(r), 200, r)
        self.assertEqual(header(r, "Expires"), ["120"])
        t2 = self.etag(r)
        self.assertNotEqual(t2, t1)

        # the old tag is gone: 412
        r = self.publish(p, t1, body="")
        self.assertTrue(r.startswith(
            "SIP/2.0 412 Conditional Request Failed\r\n"), r)
        self.assertEqual(header(r, "SIP-ETag"), [])

        # RFC 3903 4.4: a modification
        r = self.publish(p, t2)
        self.assertEqual(status(r), 200, r)
        t3 = self.etag(r)
        self.assertNotIn(t3, (t1, t2))

        # a tag of another package does not match (RFC 3903 6 step 3)
        r = self.publish(p, t3, body="", event="dialog")
        self.assertEqual(status(r), 412, r)

        # RFC 3903 4.5: Expires 0 removes it
        r = self.publish(p, t3, expires=0, body="")
        self.assertEqual(status(r), 200, r)
        self.assertEqual(header(r, "Expires"), ["0"])
        self.assertEqual(self.etag(r), t3)
        r = self.publish(p, t3, body="")
        self.assertEqual(status(r), 412, r)

        self.stub.wait_event(lambda e: e.get("event") == "publish" and
                             e.get("state") == "removed")
        ev = [e for e in self.stub.events() if e.get("event") == "publish"]
        self.assertEqual([(e["state"], e.get("etag"), e.get("expires"))
                          for e in ev],
                         [("created", t1, 60), ("refreshed", t2, 120),
                          ("unknown", t1, None), ("modified", t3, 60),
                          ("unknown", t3, None), ("removed", t3, 0),
                          ("unknown", t3, None)])
        self.assertEqual(ev[0]["package"], "presence")
        self.assertEqual(ev[0]["aor"], "sip:alice@%s" % self.stub.addr)

    def test_lifecycle_udp(self):
        self.check_lifecycle("udp")

    def test_lifecycle_tcp(self):
        self.check_lifecycle("tcp")

    def test_sipsak(self):
        rc, out = sipsak_file(self.stub, sak_request(
            self.stub, "PUBLISH", "open", "Event: presence\nExpires: 30\n"))
        self.assertEqual(rc, 0, out)
        self.assertIn("SIP/2.0 200 OK", out)
        self.assertRegex(out, r"(?m)^SIP-ETag: [0-9a-f]{16}\r?$")
        self.assertRegex(out, r"(?m)^Expires: 30\r?$")

    def test_initial_without_body(self):
        # RFC 3903 6 step 4
        r = self.publish(self.peer(), body="")
        self.assertEqual(status(r), 400, r)

    def test_bad_expires(self):
        p = self.peer()
        r = transact(p, sip_request(p, "PUBLISH",
                                    "sip:alice@%s" % self.stub.addr,
                                    headers=["Event: presence",
                                             "Expires: 1h",
                                             "Content-Type: text/plain"],
                                    body="open"))
        self.assertEqual(status(r[0]), 400, r)

    def test_bad_if_match(self):
        p = self.peer()
        for tag in ("nonsense", "0123456789abcdef", "\"quoted\""):
            r = self.publish(p, tag, body="")
            self.assertEqual(status(r), 412, r)

    def check_expiry(self, tp):
        p = self.peer(tp)
        t = self.etag(self.publish(p, expires=1))
        e = self.stub.wait_event(lambda e: e.get("event") == "publish" and
                                 e.get("state") == "expired")
        self.assertEqual(e["etag"], t)
        r = self.publish(p, t, body="")
        self.assertEqual(status(r), 412, r)

    def test_expiry_udp(self):
        self.check_expiry("udp")

    def test_expiry_tcp(self):
        self.check_expiry("tcp")


def sipsak_file(stub, text):
    """sipsak sends a request from a file (-f); (exit code, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sip",
                                     delete=False) as f:
        f.write(text.replace("\n", "\r\n"))
    try:
        out = subprocess.run(["sipsak", "-vv", "-f", f.name, "-s",
                              "sip:alice@%s" % stub.addr],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30)
    finally:
        os.unlink(f.name)
    return out.returncode, out.stdout.decode(errors="replace")


SAK = """%s sip:alice@%s SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-sak-%s
From: <sip:sak@127.0.0.1>;tag=sak
To: <sip:alice@%s>
Call-ID: sak-%s@127.0.0.1
CSeq: 1 %s
Max-Forwards: 70
%sContent-Type: text/plain
Content-Length: %d

%s"""


def sak_request(stub, method, body, hdrs=""):
    tag = "%s-%d" % (method, id(body))
    return SAK % (method, stub.addr, tag, stub.addr, tag, method, hdrs,
                  len(body), body)


class MessageBase(PeerCase):

    def message(self, p, body, user="alice", ctype="text/plain"):
        r = transact(p, sip_request(p, "MESSAGE",
                                    "sip:%s@%s" % (user, self.stub.addr),
                                    headers=["Content-Type: %s" % ctype],
                                    body=body))
        self.assertEqual(len(r), 1, r)
        return r[0]

    def message_events(self, n):
        self.stub.wait_event(lambda e: len([x for x in self.stub.events()
                                            if x.get("event") ==
                                            "message"]) >= n)
        return [e for e in self.stub.events() if e.get("event") ==
                "message"]


class Message(MessageBase):

    def check_body(self, tp):
        p = self.peer(tp)
        text = 'He said "hi"\r\n\tand left: caf\u00e9 \u2615\\'
        r = self.message(p, text)
        self.assertEqual(status(r), 200, r)
        e = self.message_events(1)[0]
        self.assertEqual(e["body"], text)
        self.assertEqual(e["body_len"], len(text.encode()))
        self.assertEqual(e["content_type"], "text/plain")
        self.assertEqual(e["code"], 200)
        self.assertIs(e["truncated"], False)
        self.assertEqual(e["method"], "MESSAGE")

    def test_body_udp(self):
        self.check_body("udp")

    def test_body_tcp(self):
        self.check_body("tcp")

    def test_truncated(self):
        p = self.peer("tcp")
        text = "x" * 1023 + "\u00e9" + "y" * 2000
        self.assertEqual(status(self.message(p, text)), 200)
        e = self.message_events(1)[0]
        self.assertEqual(e["body"], "x" * 1023)
        self.assertEqual(e["body_len"], len(text.encode()))
        self.assertIs(e["truncated"], True)

    def test_sipsak(self):
        rc, out = sipsak_file(self.stub, sak_request(self.stub, "MESSAGE",
                                                     "hello from sipsak"))
        self.assertEqual(rc, 0, out)
        self.assertIn("SIP/2.0 200 OK", out)
        e = self.message_events(1)[0]
        self.assertEqual(e["body"], "hello from sipsak")
        self.assertEqual(e["code"], 200)


class Scenario(MessageBase):
    """scenarios/publish.yaml: 202 and 480 for MESSAGE, logged."""

    scenario = scenario_path("publish.yaml")

    def test_codes(self):
        p = self.peer()
        self.assertTrue(self.message(p, "one").startswith(
            "SIP/2.0 202 Accepted\r\n"))
        self.assertEqual(status(self.message(p, "two", user="full")), 480)
        ev = self.message_events(2)
        self.assertEqual([(e["code"], e["body"]) for e in ev],
                         [(202, "one"), (480, "two")])

    def test_publish(self):
        p = self.peer("tcp")
        r = transact(p, sip_request(p, "PUBLISH",
                                    "sip:bob@%s" % self.stub.addr,
                                    headers=["Event: presence",
                                             "Content-Type: text/plain"],
                                    body="open"))
        self.assertEqual(status(r[0]), 200)
        self.assertEqual(header(r[0], "Expires"), ["3600"])
        self.assertRegex(header(r[0], "SIP-ETag")[0], r"^[0-9a-f]{16}$")


if __name__ == "__main__":
    unittest.main()
