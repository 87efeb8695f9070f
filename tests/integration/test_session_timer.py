#!/usr/bin/env python3
"""Session timers (RFC 4028, src/timer.c) over UDP and TCP: 422 with
Min-SE, the 2xx's Session-Expires with refresher and Require: timer, a
request's Min-SE raising ours, sipstub refreshing by UPDATE and by
re-INVITE at half the interval, the client's refresh restarting the
timer, BYE when the client does not refresh, and nothing at all without
Session-Expires. Short intervals use the scenario's min-se testing knob
(RFC 4028 5 wants at least 90 s on the wire)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SipstubTestCase, SDP_OFFER, SCENARIOS, header, status,
                     to_tag, run_sipp)
from peer import Peer, reply, cseq, sdp_dir

SCENARIO = """
rules:
  - match: {method: INVITE, user: uas, in-dialog: false}
    session-timer: {min-se: 2, expires: 4, refresher: uas}
    auto-100: false
    reply: 200
  - match: {method: INVITE, user: uac, in-dialog: false}
    session-timer: {min-se: 2, expires: 3, refresher: uac}
    auto-100: false
    reply: 200
"""


class TimerPeer(SipstubTestCase):
    """A raw peer (UDP or TCP) that calls sipstub"""
    tcp = False

    def setUp(self):
        super().setUp()
        self.p = Peer(("127.0.0.1", self.stub.port), tcp=self.tcp)
        self.addCleanup(self.p.close)
        self.n = 0

    def invite(self, user, headers, cseq_num=1):
        """Send an INVITE; return its final response."""
        p = self.p
        self.n += 1
        self.contact = "sip:bob@127.0.0.1:%d%s" % (p.port, p.param)
        self.ruri = "sip:%s@127.0.0.1:%d" % (user, self.stub.port)
        self.callid = "st-%s-%d-%d@test" % (user, p.port, self.n)
        lines = ["INVITE %s SIP/2.0" % self.ruri,
                 "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-s%d;rport"
                 % (p.tp, p.port, self.n),
                 "Max-Forwards: 70",
                 "From: <sip:bob@test>;tag=bobtag",
                 "To: <%s>" % self.ruri,
                 "Call-ID: %s" % self.callid,
                 "CSeq: %d INVITE" % cseq_num,
                 "Contact: <%s>" % self.contact] + list(headers) + [
                 "Content-Type: application/sdp",
                 "Content-Length: %d" % len(SDP_OFFER)]
        p.send("\r\n".join(lines) + "\r\n\r\n" + SDP_OFFER)
        _, final = p.recv_until(lambda m: (status(m) or 0) >= 200 and
                                header(m, "Call-ID") == [self.callid])
        self.assertIsNotNone(final, "no final response")
        self.tag = to_tag(final)
        return final

    def ack(self, num, body=""):
        p = self.p
        lines = ["ACK %s SIP/2.0" % self.ruri,
                 "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-a%d-%d;rport"
                 % (p.tp, p.port, self.n, num),
                 "Max-Forwards: 70",
                 "From: <sip:bob@test>;tag=bobtag",
                 "To: <%s>;tag=%s" % (self.ruri, self.tag),
                 "Call-ID: %s" % self.callid,
                 "CSeq: %d ACK" % num, "Content-Length: 0", "", ""]
        p.send("\r\n".join(lines))

    def in_dialog(self, met, num, headers=(), body=""):
        """The peer's request in the dialog; returns its final."""
        p = self.p
        lines = ["%s sip:x@127.0.0.1:%d SIP/2.0" % (met, self.stub.port),
                 "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-d%d-%d;rport"
                 % (p.tp, p.port, self.n, num),
                 "Max-Forwards: 70",
                 "From: <sip:bob@test>;tag=bobtag",
                 "To: <%s>;tag=%s" % (self.ruri, self.tag),
                 "Call-ID: %s" % self.callid,
                 "CSeq: %d %s" % (num, met),
                 "Contact: <%s>" % self.contact] + list(headers)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        p.send("\r\n".join(lines) + "\r\n\r\n" + body)
        _, final = p.recv_until(lambda m: (status(m) or 0) >= 200 and
                                cseq(m) == (num, met))
        self.assertIsNotNone(final, "no final response to " + met)
        return final

    def expect(self, met, timeout=8):
        _, req = self.p.recv_until(lambda m: m.startswith(met + " "),
                                   timeout=timeout)
        self.assertIsNotNone(req, "no %s from sipstub" % met)
        return req

    def events(self, name):
        return [e for e in self.stub.events() if e["event"] == name]


class SessionTimer(TimerPeer):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="stimer-")
        cls.scenario = os.path.join(cls.tmp, "stimer.yaml")
        with open(cls.scenario, "w") as f:
            f.write(SCENARIO)

    def test_422_then_accepted(self):
        # the dial-a-code default: minimum 90 s
        r = self.invite("alice", ["Supported: timer",
                                  "Session-Expires: 30"])
        self.assertEqual(status(r), 422)
        self.assertEqual(header(r, "Min-SE"), ["90"])
        self.assertEqual(header(r, "Supported"), ["100rel, timer, norefersub"])
        self.ack(1)
        r = self.invite("alice", ["Supported: timer", "Min-SE: 90",
                                  "Session-Expires: 90"], cseq_num=2)
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Session-Expires"), ["90;refresher=uas"])
        self.assertEqual(header(r, "Require"), ["timer"])
        self.assertEqual(header(r, "Supported"), ["100rel, timer, norefersub"])
        self.ack(2)
        ev = self.stub.wait_event(lambda e: e.get("event") ==
                                  "session-timer")
        self.assertEqual((ev["action"], ev["expires"], ev["refresher"],
                          ev["min_se"], ev["call_id"]),
                         ("start", 90, "uas", 90, self.callid))

    def test_client_refresher_kept(self):
        r = self.invite("alice", ["Supported: timer",
                                  "Session-Expires: 1800;refresher=uac"])
        self.assertEqual(header(r, "Session-Expires"),
                         ["1800;refresher=uac"])
        self.assertEqual(header(r, "Require"), ["timer"])
        self.ack(1)

    def test_no_support_uas_refreshes_raised(self):
        # RFC 4028 9 (errata 1687): no 422 without Supported: timer
        r = self.invite("alice", ["Session-Expires: 30;refresher=uac"])
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Session-Expires"), ["90;refresher=uas"])
        self.assertEqual(header(r, "Require"), [])
        self.ack(1)

    def test_min_se_raises_ours(self):
        r = self.invite("uas", ["Supported: timer", "Min-SE: 600",
                                "Session-Expires: 1800"])
        self.assertEqual(header(r, "Session-Expires"), ["600;refresher=uas"])
        self.ack(1)

    def test_malformed_400(self):
        r = self.invite("alice", ["Session-Expires: soon"])
        self.assertEqual(r.split("\r\n", 1)[0], "SIP/2.0 400 Bad Request "
                         "(malformed Session-Expires or Min-SE)")
        self.ack(1)
        r = self.invite("alice", ["Session-Expires: 100;refresher=me"])
        self.assertEqual(status(r), 400)
        self.ack(1)

    def test_no_timer_without_ask(self):
        r = self.invite("alice", [])
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Session-Expires"), [])
        self.assertEqual(header(r, "Require"), [])
        self.ack(1)
        self.assertEqual(self.events("session-timer"), [])

    def check_refresh(self, req, met, num):
        self.assertEqual(req.split("\r\n", 1)[0],
                         "%s %s SIP/2.0" % (met, self.contact))
        self.assertEqual(cseq(req), (num, met))
        self.assertEqual(header(req, "Session-Expires"), ["4;refresher=uas"])
        self.assertEqual(header(req, "Min-SE"), ["2"])
        self.assertEqual(header(req, "Supported"), ["timer"])
        self.assertEqual(header(req, "Contact"),
                         ["<%s%s>" % (self.ruri, self.p.param)])

    def test_uas_refreshes_with_update(self):
        r = self.invite("uas", ["Supported: timer",
                                "Allow: INVITE, ACK, BYE, UPDATE",
                                "Session-Expires: 4"])
        self.assertEqual(header(r, "Session-Expires"), ["4;refresher=uas"])
        self.assertEqual(header(r, "Require"), ["timer"])
        self.ack(1)
        upd = self.expect("UPDATE")
        n = cseq(upd)[0]
        self.check_refresh(upd, "UPDATE", n)
        self.assertEqual(header(upd, "Content-Length"), ["0"])
        self.p.send(reply(upd, 200, "OK",
                          headers=["Session-Expires: 4;refresher=uas",
                                   "Require: timer"]))
        upd2 = self.expect("UPDATE")
        self.check_refresh(upd2, "UPDATE", n + 1)
        self.p.send(reply(upd2, 200, "OK"))
        acts = [e["action"] for e in self.events("session-timer")]
        self.assertEqual(acts[:3], ["start", "refresh", "refresh"])
        uac = [(e["method"], e["code"]) for e in self.events("uac")]
        self.assertEqual(uac[0], ("UPDATE", 200))

    def test_uas_refreshes_with_reinvite(self):
        # no UPDATE in Allow: a re-INVITE with an offer, ACKed
        r = self.invite("uas", ["Supported: timer", "Session-Expires: 4"])
        self.ack(1)
        inv = self.expect("INVITE")
        n = cseq(inv)[0]
        self.check_refresh(inv, "INVITE", n)
        self.assertEqual(sdp_dir(inv), "sendrecv")
        self.p.send(reply(inv, 200, "OK", body=SDP_OFFER))
        ack = self.expect("ACK")
        self.assertEqual(cseq(ack), (n, "ACK"))

    def test_uac_no_refresh_bye(self):
        r = self.invite("uac", ["Supported: timer", "Session-Expires: 3"])
        self.assertEqual(header(r, "Session-Expires"), ["3;refresher=uac"])
        self.assertEqual(header(r, "Require"), ["timer"])
        self.ack(1)
        bye = self.expect("BYE")
        self.assertEqual(header(bye, "Call-ID"), [self.callid])
        self.p.send(reply(bye, 200, "OK"))
        ev = self.stub.wait_event(lambda e: e.get("event") == "hangup")
        self.assertIn("session timer expired", ev["message"])
        acts = [e["action"] for e in self.events("session-timer")]
        self.assertEqual(acts, ["start", "expired"])

    def test_uac_refresh_restarts(self):
        r = self.invite("uac", ["Supported: timer", "Session-Expires: 3"])
        self.ack(1)
        # the client refreshes by UPDATE, then by re-INVITE
        u = self.in_dialog("UPDATE", 2, ["Supported: timer",
                                         "Session-Expires: 3;refresher=uac"])
        self.assertEqual(status(u), 200)
        self.assertEqual(header(u, "Session-Expires"), ["3;refresher=uac"])
        self.assertEqual(header(u, "Require"), ["timer"])
        i = self.in_dialog("INVITE", 3, ["Supported: timer",
                                         "Session-Expires: 3;refresher=uac"],
                           body=SDP_OFFER)
        self.assertEqual(header(i, "Session-Expires"), ["3;refresher=uac"])
        self.ack(3)
        bye = self.expect("BYE")
        self.p.send(reply(bye, 200, "OK"))
        self.stub.wait_event(lambda e: e.get("event") == "hangup")
        acts = [e["action"] for e in self.events("session-timer")]
        self.assertEqual(acts, ["start", "refreshed", "refreshed",
                                "expired"])
        # the BYE came after both refreshes
        names = [(e["event"], e.get("method"), e.get("dir"))
                 for e in self.stub.events()]
        last_inv = max(i for i, x in enumerate(names)
                       if x == ("sip", "INVITE", "in"))
        self.assertLess(last_inv, names.index(("sip", "BYE", "out")))

class SessionTimerTcp(SessionTimer):
    tcp = True


class SessionTimerSipp(SipstubTestCase):
    """SIPp asks for a timer with refresher=uas and answers sipstub's
    UPDATE refreshes (the test knob: a 2 s minimum)"""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="stimer-sipp-")
        cls.scenario = os.path.join(cls.tmp, "stimer.yaml")
        with open(cls.scenario, "w") as f:
            f.write(SCENARIO)

    def run_it(self, transport):
        code, out = run_sipp("uac_session_timer.xml", self.stub.addr,
                             transport=transport, service="uas",
                             timeout=30)
        self.assertEqual(code, 0, out)
        sent = [e for e in self.stub.events() if e["event"] == "request"]
        self.assertEqual([e["method"] for e in sent], ["UPDATE", "UPDATE"])
        self.assertEqual(sent[1]["cseq"], sent[0]["cseq"] + 1)

    def test_udp(self):
        self.run_it("u1")

    def test_tcp(self):
        self.run_it("t1")


class SessionTimerNoFile(TimerPeer):
    """the built-in dial-a-code alone: a timer whenever the client asks,
    the client refreshing when it says so"""

    def test_dial_a_code(self):
        r = self.invite("200", ["Supported: timer",
                                "Session-Expires: 90;refresher=uac"])
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Session-Expires"), ["90;refresher=uac"])
        self.assertEqual(header(r, "Require"), ["timer"])
        self.ack(1)
        u = self.in_dialog("UPDATE", 2, ["Supported: timer",
                                         "Session-Expires: 120;refresher=uac"])
        self.assertEqual(header(u, "Session-Expires"), ["120;refresher=uac"])
        acts = [(e["action"], e["expires"])
                for e in self.events("session-timer")]
        self.assertEqual(acts, [("start", 90), ("refreshed", 120)])


class SessionTimerNoFileTcp(SessionTimerNoFile):
    tcp = True


class SessionTimerShipped(TimerPeer):
    """scenarios/session-timer.yaml: the 2xx of each user"""
    scenario = os.path.join(SCENARIOS, "session-timer.yaml")

    def test_users(self):
        r = self.invite("refresh", ["Supported: timer",
                                    "Session-Expires: 1800"])
        self.assertEqual(header(r, "Session-Expires"), ["90;refresher=uas"])
        self.ack(1)
        r = self.invite("expire", ["Supported: timer"])
        self.assertEqual(header(r, "Session-Expires"), ["90;refresher=uac"])
        self.assertEqual(header(r, "Require"), ["timer"])
        self.ack(1)
        r = self.invite("expire", ["Supported: timer",
                                   "Session-Expires: 60"])
        self.assertEqual(status(r), 422)
        self.assertEqual(header(r, "Min-SE"), ["90"])
        self.ack(1)


if __name__ == "__main__":
    unittest.main()
