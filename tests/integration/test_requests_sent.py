#!/usr/bin/env python3
"""Requests sipstub sends in a dialog (step key 'requests', src/indlg.c),
over UDP and TCP: re-INVITE and UPDATE holding (a=sendonly) and resuming
(a=sendrecv) with a new SDP version each, INFO with DTMF, MESSAGE,
NOTIFY, BYE; CSeq counting up, Route from Record-Route, Request-URI =
the remote Contact, the ACK of a re-INVITE's 2xx, a 491 retried, glare
answered 491, and the dial-a-code users *1 (SIPp answers the
re-INVITEs) and *3."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SipstubTestCase, SDP_OFFER, SCENARIOS, header, status,
                     to_tag, run_sipp)
from peer import Peer, reply, cseq, sdp_origin, sdp_dir

SCENARIO = """
rules:
  - match: {method: INVITE, user: seq, in-dialog: false}
    auto-100: false
    reply:
      - code: 200
        requests:
          - {method: INVITE, delay: 100ms, sdp: hold}
          - {method: UPDATE, sdp: resume}
          - {method: INFO, dtmf: "5"}
          - {method: MESSAGE, body: hello, headers: {X-Test: one}}
          - method: NOTIFY
            headers: {Event: dialog, Subscription-State: active}
          - {method: BYE}
  - match: {method: INVITE, user: hold, in-dialog: false}
    auto-100: false
    reply:
      - code: 200
        requests:
          - {method: INVITE, delay: 100ms, sdp: hold}
"""

SDP_ANSWER = SDP_OFFER


class DialogPeer(SipstubTestCase):
    """A raw peer (UDP or TCP) that calls sipstub and answers its
    requests"""
    tcp = False

    def setUp(self):
        super().setUp()
        self.p = Peer(("127.0.0.1", self.stub.port), tcp=self.tcp)
        self.addCleanup(self.p.close)

    def call(self, user, rr=True):
        """INVITE (with a Record-Route naming the peer as a proxy and a
        Contact elsewhere), 200, ACK. Returns (invite, 200)."""
        p = self.p
        self.contact = "sip:bob@127.0.0.1:%d%s" % (p.port, p.param)
        self.rr = "<sip:127.0.0.1:%d%s;lr;x=rr>" % (p.port, p.param)
        self.ruri = "sip:%s@127.0.0.1:%d" % (user, self.stub.port)
        self.callid = "indlg-%s-%d@test" % (user, p.port)
        lines = ["INVITE %s SIP/2.0" % self.ruri,
                 "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-i1;rport"
                 % (p.tp, p.port),
                 "Max-Forwards: 70",
                 "From: <sip:bob@test>;tag=bobtag",
                 "To: <%s>" % self.ruri,
                 "Call-ID: %s" % self.callid,
                 "CSeq: 10 INVITE",
                 "Contact: <%s>" % self.contact]
        if rr:
            lines.append("Record-Route: %s" % self.rr)
        lines += ["Content-Type: application/sdp",
                  "Content-Length: %d" % len(SDP_OFFER)]
        invite = "\r\n".join(lines) + "\r\n\r\n" + SDP_OFFER
        p.send(invite)
        _, ok = p.recv_until(lambda m: status(m) == 200)
        self.assertIsNotNone(ok, "no 200 to the INVITE")
        self.tag = to_tag(ok)
        self.ok = ok
        self.cseq = 10
        self.send_ack(10)
        return invite, ok

    def send_ack(self, num, branch="z9hG4bK-a1"):
        p = self.p
        ack = "\r\n".join([
            "ACK sip:sipstub@127.0.0.1:%d SIP/2.0" % self.stub.port,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=%s%d;rport"
            % (p.tp, p.port, branch, num),
            "Max-Forwards: 70",
            "From: <sip:bob@test>;tag=bobtag",
            "To: <%s>;tag=%s" % (self.ruri, self.tag),
            "Call-ID: %s" % self.callid,
            "CSeq: %d ACK" % num, "Content-Length: 0", "", ""])
        p.send(ack)

    def expect(self, met, timeout=5):
        _, req = self.p.recv_until(
            lambda m: m.startswith(met + " "), timeout=timeout)
        self.assertIsNotNone(req, "no %s from sipstub" % met)
        return req

    def check_in_dialog(self, req, met, num):
        """Request-URI, Route, tags, Call-ID, CSeq of sipstub's request"""
        self.assertEqual(req.split("\r\n", 1)[0],
                         "%s %s SIP/2.0" % (met, self.contact))
        self.assertEqual(header(req, "Route"), [self.rr])
        self.assertEqual(cseq(req), (num, met))
        self.assertEqual(header(req, "Call-ID"), [self.callid])
        self.assertIn("tag=" + self.tag, header(req, "From")[0])
        self.assertIn("tag=bobtag", header(req, "To")[0])
        self.assertIn("SIP/2.0/%s " % self.p.tp, header(req, "Via")[0])


class RequestsSent(DialogPeer):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="indlg-")
        cls.scenario = os.path.join(cls.tmp, "indlg.yaml")
        with open(cls.scenario, "w") as f:
            f.write(SCENARIO)

    def test_sequence(self):
        self.call("seq")
        _, v0 = sdp_origin(self.ok)

        reinv = self.expect("INVITE")
        n = cseq(reinv)[0]
        self.check_in_dialog(reinv, "INVITE", n)
        self.assertEqual(sdp_dir(reinv), "sendonly")
        sess, v1 = sdp_origin(reinv)
        self.assertEqual(v1, v0 + 1, "a new session version")
        self.assertEqual(header(reinv, "Contact"),
                         ["<%s%s>" % (self.ruri, self.p.param)])
        self.p.send(reply(reinv, 200, "OK",
                          headers=["Contact: <%s>" % self.contact],
                          body=SDP_ANSWER.replace("a=rtpmap:101",
                                                  "a=recvonly\r\n"
                                                  "a=rtpmap:101")))
        ack = self.expect("ACK")
        self.assertEqual(cseq(ack), (n, "ACK"))
        self.assertEqual(header(ack, "Route"), [self.rr])

        upd = self.expect("UPDATE")
        self.check_in_dialog(upd, "UPDATE", n + 1)
        self.assertEqual(sdp_dir(upd), "sendrecv")
        self.assertEqual(sdp_origin(upd), (sess, v1 + 1))
        self.p.send(reply(upd, 200, "OK", body=SDP_ANSWER))

        info = self.expect("INFO")
        self.check_in_dialog(info, "INFO", n + 2)
        self.assertEqual(header(info, "Content-Type"),
                         ["application/dtmf-relay"])
        self.assertEqual(info.split("\r\n\r\n", 1)[1],
                         "Signal=5\r\nDuration=160\r\n")
        self.p.send(reply(info, 200, "OK"))

        msg = self.expect("MESSAGE")
        self.check_in_dialog(msg, "MESSAGE", n + 3)
        self.assertEqual(header(msg, "X-Test"), ["one"])
        self.assertEqual(header(msg, "Content-Type"), ["text/plain"])
        self.assertEqual(msg.split("\r\n\r\n", 1)[1], "hello")
        self.p.send(reply(msg, 200, "OK"))

        ntf = self.expect("NOTIFY")
        self.check_in_dialog(ntf, "NOTIFY", n + 4)
        self.assertEqual(header(ntf, "Event"), ["dialog"])
        self.assertEqual(header(ntf, "Subscription-State"), ["active"])
        self.p.send(reply(ntf, 489, "Bad Event"))

        bye = self.expect("BYE")
        self.check_in_dialog(bye, "BYE", n + 5)
        self.p.send(reply(bye, 200, "OK"))

        self.stub.wait_event(lambda e: e.get("event") == "hangup" and
                             e.get("message") == "scenario request")
        reqs = [e for e in self.stub.events() if e["event"] == "request"]
        self.assertEqual([(e["method"], e["cseq"], e["sdp"]) for e in reqs],
                         [("INVITE", n, "hold"), ("UPDATE", n + 1, "resume"),
                          ("INFO", n + 2, "none"), ("MESSAGE", n + 3, "none"),
                          ("NOTIFY", n + 4, "none")])
        self.assertTrue(all(e["call_id"] == self.callid for e in reqs))
        uac = [(e["method"], e["cseq"], e["code"])
               for e in self.stub.events() if e["event"] == "uac"]
        self.assertEqual(uac, [("INVITE", n, 200), ("UPDATE", n + 1, 200),
                               ("INFO", n + 2, 200),
                               ("MESSAGE", n + 3, 200),
                               ("NOTIFY", n + 4, 489)])

    def test_491_retried(self):
        self.call("hold")
        reinv = self.expect("INVITE")
        n = cseq(reinv)[0]
        self.p.send(reply(reinv, 491, "Request Pending"))
        ack = self.expect("ACK")
        self.assertEqual(cseq(ack), (n, "ACK"))
        # RFC 3261 14.1: again after 0-2 s, with a new CSeq
        again = self.expect("INVITE", timeout=6)
        self.check_in_dialog(again, "INVITE", n + 1)
        self.assertEqual(sdp_dir(again), "sendonly")
        self.p.send(reply(again, 200, "OK", body=SDP_ANSWER))
        self.expect("ACK")
        ev = self.stub.wait_event(lambda e: e.get("event") == "request" and
                                  e.get("retry") == 1)
        self.assertEqual(ev["cseq"], n + 1)

    def test_glare_491(self):
        self.call("hold")
        reinv = self.expect("INVITE")
        # ours is pending: the peer's re-INVITE gets 491 (RFC 3261 14.2)
        p = self.p
        mine = "\r\n".join([
            "INVITE sip:sipstub@127.0.0.1:%d SIP/2.0" % self.stub.port,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-g1;rport"
            % (p.tp, p.port),
            "Max-Forwards: 70",
            "From: <sip:bob@test>;tag=bobtag",
            "To: <%s>;tag=%s" % (self.ruri, self.tag),
            "Call-ID: %s" % self.callid, "CSeq: 11 INVITE",
            "Contact: <%s>" % self.contact,
            "Content-Type: application/sdp",
            "Content-Length: %d" % len(SDP_OFFER), "", SDP_OFFER])
        p.send(mine)
        _, r491 = p.recv_until(lambda m: status(m) is not None and
                               status(m) >= 200 and
                               cseq(m) == (11, "INVITE"))
        self.assertEqual(status(r491), 491)
        self.send_ack(11, "z9hG4bK-g")
        self.stub.wait_event(lambda e: e.get("event") == "glare" and
                             e.get("method") == "INVITE")
        # RFC 3311 5.2: an UPDATE collides only if it has an offer
        upd = "\r\n".join([
            "UPDATE sip:sipstub@127.0.0.1:%d SIP/2.0" % self.stub.port,
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-u%%d;rport"
            % (p.tp, p.port),
            "Max-Forwards: 70",
            "From: <sip:bob@test>;tag=bobtag",
            "To: <%s>;tag=%s" % (self.ruri, self.tag),
            "Call-ID: %s" % self.callid, "CSeq: %d UPDATE",
            "Contact: <%s>" % self.contact, "%s"])
        p.send(upd % (1, 12, "Content-Length: 0\r\n\r\n"))
        _, r = p.recv_until(lambda m: cseq(m) == (12, "UPDATE"))
        self.assertEqual(status(r), 200)
        p.send(upd % (2, 13, "Content-Type: application/sdp\r\n"
                      "Content-Length: %d\r\n\r\n%s"
                      % (len(SDP_OFFER), SDP_OFFER)))
        _, r = p.recv_until(lambda m: cseq(m) == (13, "UPDATE"))
        self.assertEqual(status(r), 491)
        # ours completes; then the peer's offer is answered again
        p.send(reply(reinv, 200, "OK", body=SDP_ANSWER))
        self.expect("ACK")
        p.send(mine.replace("CSeq: 11", "CSeq: 14")
               .replace("z9hG4bK-g1", "z9hG4bK-g2"))
        _, ok = p.recv_until(lambda m: status(m) == 200 and
                             cseq(m) == (14, "INVITE"))
        self.assertIsNotNone(ok)
        self.send_ack(14, "z9hG4bK-g")


class RequestsSentTcp(RequestsSent):
    tcp = True

    def test_contact_without_transport(self):
        """RFC 3263 4.1: a Contact without ;transport= and a numeric
        host means UDP, also for a call that came over TCP"""
        import socket
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", self.p.port))
        self.addCleanup(udp.close)
        self.p.param = ""
        self.call("hold", rr=False)
        udp.settimeout(5)
        data, _ = udp.recvfrom(65535)
        reinv = data.decode()
        self.assertTrue(reinv.startswith("INVITE %s SIP/2.0" %
                                         self.contact), reinv)
        self.assertIn("SIP/2.0/UDP ", header(reinv, "Via")[0])
        udp.sendto(reply(reinv, 200, "OK", body=SDP_ANSWER).encode(),
                   ("127.0.0.1", self.stub.port))
        self.stub.wait_event(lambda e: e.get("event") == "uac" and
                             e.get("code") == 200)


class DialACodeSipp(SipstubTestCase):
    """*1 holds and resumes with re-INVITEs that SIPp answers"""

    def run_sipp_hold(self, transport):
        code, out = run_sipp("uac_hold_resume.xml", self.stub.addr,
                             transport=transport, service="*1",
                             timeout=30)
        self.assertEqual(code, 0, out)
        sent = [e for e in self.stub.events() if e["event"] == "request"]
        self.assertEqual([(e["method"], e["sdp"]) for e in sent],
                         [("INVITE", "hold"), ("INVITE", "resume")])
        self.assertEqual(sent[1]["cseq"], sent[0]["cseq"] + 1)
        outs = self.stub.sip(dir="out", kind="request", method="INVITE")
        self.assertEqual(len(outs), 2)
        want = "UDP" if transport == "u1" else "TCP"
        self.assertEqual([e["transport"] for e in outs], [want, want])

    def test_udp(self):
        self.run_sipp_hold("u1")

    def test_tcp(self):
        self.run_sipp_hold("t1")


class DialACodeInfo(DialogPeer):
    """*3 sends INFO with DTMF 1, then MESSAGE (no Record-Route: no
    Route, the Request-URI is the Contact)"""

    def test_info_message(self):
        self.call("*3", rr=False)
        info = self.expect("INFO")
        self.assertEqual(info.split("\r\n", 1)[0],
                         "INFO %s SIP/2.0" % self.contact)
        self.assertEqual(header(info, "Route"), [])
        self.assertEqual(info.split("\r\n\r\n", 1)[1],
                         "Signal=1\r\nDuration=160\r\n")
        self.p.send(reply(info, 200, "OK"))
        msg = self.expect("MESSAGE")
        self.assertEqual(cseq(msg)[0], cseq(info)[0] + 1)
        self.p.send(reply(msg, 200, "OK"))
        self.stub.wait_event(lambda e: e.get("event") == "uac" and
                             e.get("method") == "MESSAGE" and
                             e.get("code") == 200)


class HoldResumeShipped(DialogPeer):
    """scenarios/hold-resume.yaml, the whole sequence"""
    scenario = os.path.join(SCENARIOS, "hold-resume.yaml")

    def test_sequence(self):
        self.call("anyone")
        seen = []
        for met, sdp in (("INVITE", "sendonly"), ("INVITE", "sendrecv"),
                         ("UPDATE", "sendonly"), ("UPDATE", "sendrecv"),
                         ("INFO", None), ("MESSAGE", None), ("BYE", None)):
            req = self.expect(met, timeout=8)
            seen.append(cseq(req)[0])
            if sdp:
                self.assertEqual(sdp_dir(req), sdp)
                self.p.send(reply(req, 200, "OK", body=SDP_ANSWER))
                if met == "INVITE":
                    self.expect("ACK")
            else:
                self.p.send(reply(req, 200, "OK"))
        self.assertEqual(seen, list(range(seen[0], seen[0] + 7)))
        self.stub.wait_event(lambda e: e.get("event") == "hangup")

if __name__ == "__main__":
    unittest.main()
