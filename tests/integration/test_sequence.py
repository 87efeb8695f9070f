"""Dial-a-sequence (issue 8 item 9): the Request-URI user C1*C2*...*Cn
of an INVITE makes the built-in scenario send those codes in order, one
second apart, the last one final; a 1xx last rings until CANCEL. SIPp
places a 183*200 call over UDP and TCP; raw sockets check the exact
responses (per-code headers, To-tags, the escaped '*')."""
import unittest

from harness import (SDP_OFFER, SipstubTestCase, UdpClient, event_time,
                     header, recv_until, request, run_sipp, status, to_tag)
from scn_helpers import TcpClient


def first_line(msg):
    return (msg or "").split("\r\n", 1)[0]


class Sequence(SipstubTestCase):

    def setUp(self):
        super().setUp()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        super().tearDown()

    def client(self, tcp=False):
        c = TcpClient(self.stub.port) if tcp else UdpClient()
        self.clients.append(c)
        return c

    def uri(self, user):
        return "sip:%s@127.0.0.1:%d" % (user, self.stub.port)

    def invite(self, c, user, callid, body=SDP_OFFER):
        req = request("INVITE", self.uri(user), c.port, callid=callid,
                      body=body)
        if isinstance(c, TcpClient):
            req = req.replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        c.send(req, ("127.0.0.1", self.stub.port))
        return req

    def final(self, c, timeout=5.0):
        msgs, last = recv_until(c, lambda m: (status(m) or 0) >= 200,
                                timeout=timeout)
        self.assertIsNotNone(last, [first_line(m) for m in msgs])
        return msgs

    def ack(self, c, user, callid, resp):
        req = request("ACK", self.uri(user), c.port, callid=callid,
                      to_tag=to_tag(resp))
        if isinstance(c, TcpClient):
            req = req.replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        c.send(req, ("127.0.0.1", self.stub.port))

    def ring_then_busy(self, tcp):
        c = self.client(tcp)
        callid = "seq-486-%s@127.0.0.1" % ("tcp" if tcp else "udp")
        self.invite(c, "180*486", callid)
        msgs = self.final(c)
        self.assertEqual([first_line(m) for m in msgs],
                         ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing",
                          "SIP/2.0 486 Busy Here"])
        self.assertEqual(to_tag(msgs[1]), to_tag(msgs[2]))
        self.ack(c, "180*486", callid, msgs[2])
        out = self.stub.sip(dir="out", kind="response", call_id=callid)
        r180 = [e for e in out if e["code"] == 180][0]
        r486 = [e for e in out if e["code"] == 486][0]
        # one second apart (a lower bound only: the machine may be slow)
        self.assertGreaterEqual(event_time(r486) - event_time(r180), 0.9)

    def test_ring_then_busy_udp(self):
        self.ring_then_busy(False)

    def test_ring_then_busy_tcp(self):
        self.ring_then_busy(True)

    def test_per_code_headers_and_escaped_star(self):
        """180%2A302: the '*' as a phone may escape it; the 302 carries
        the Contact a single 302 has."""
        c = self.client()
        callid = "seq-302@127.0.0.1"
        self.invite(c, "180%2A302", callid)
        msgs = self.final(c)
        self.assertEqual([status(m) for m in msgs], [100, 180, 302])
        self.assertEqual(header(msgs[2], "Contact"),
                         ["<sip:200@127.0.0.1:%d>" % self.stub.port])
        self.ack(c, "180%2A302", callid, msgs[2])
        # 486*180: a final code must come last; the user is no code, so
        # the `user` step answers 404 as for any other non-code
        self.invite(c, "486*180", "seq-bad@127.0.0.1")
        msgs = self.final(c)
        self.assertEqual([status(m) for m in msgs], [100, 404])
        self.ack(c, "486*180", "seq-bad@127.0.0.1", msgs[-1])

    def test_three_codes_early_media(self):
        c = self.client()
        callid = "seq-603@127.0.0.1"
        self.invite(c, "183*183*603", callid)
        msgs = self.final(c, timeout=6)
        self.assertEqual([status(m) for m in msgs], [100, 183, 183, 603])
        for m in msgs[1:3]:
            self.assertEqual(header(m, "Content-Type"), ["application/sdp"])
        self.assertEqual(first_line(msgs[3]), "SIP/2.0 603 Decline")
        self.ack(c, "183*183*603", callid, msgs[3])

    def test_provisional_last_rings_until_cancel(self):
        c = self.client()
        callid = "seq-ring@127.0.0.1"
        inv = self.invite(c, "180*183", callid)
        msgs, r183 = recv_until(c, lambda m: status(m) == 183, timeout=4)
        self.assertEqual([status(m) for m in msgs], [100, 180, 183])
        # nothing more: it rings
        self.assertEqual(c.recv_all(1.5), [])
        cancel = request("CANCEL", self.uri("180*183"), c.port,
                         callid=callid,
                         branch=header(inv, "Via")[0].split("branch=")[1]
                         .split(";")[0])
        c.send(cancel, ("127.0.0.1", self.stub.port))
        msgs = self.final(c)
        self.assertIn(200, [status(m) for m in msgs])
        r487 = c.recv(3) if status(msgs[-1]) == 200 else msgs[-1]
        self.assertEqual(status(r487), 487)
        self.ack(c, "180*183", callid, r487)

    def sipp_183_200(self, transport):
        rc, out = run_sipp("uac_seq_183_200.xml", self.stub.addr, transport,
                           service="183*200")
        self.assertEqual(rc, 0, out)
        out = self.stub.sip(dir="out", kind="response", method="INVITE")
        codes = [e["code"] for e in out]
        self.assertEqual(codes[:3], [100, 183, 200])
        self.assertEqual(out[1]["to_tag"], out[2]["to_tag"])

    def test_sipp_183_200_udp(self):
        self.sipp_183_200("u1")

    def test_sipp_183_200_tcp(self):
        self.sipp_183_200("t1")


if __name__ == "__main__":
    unittest.main()
