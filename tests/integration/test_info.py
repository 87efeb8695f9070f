"""INFO packages (RFC 6086) and legacy DTMF relay INFO against the
built-in dial-a-code scenario and scenarios/info-dtmf.yaml, over UDP and
TCP, and a SIPp caller that sends DTMF by INFO in its call.
"""
import os
import unittest

from harness import SIPP_DIR, run_sipp, sdp_offer
from scn_helpers import (PeerCase, call_id, header, scenario_path,
                         sip_request, status, to_tag)
from test_subs import Inbox, tcp_contact


class InfoBase(PeerCase):

    def call(self, tp, user="200"):
        """An answered call: (peer, inbox, INVITE, responses)."""
        p = self.peer(tp)
        box = Inbox(p)
        inv = tcp_contact(p, sip_request(p, "INVITE", "sip:%s@%s" %
                                         (user, self.stub.addr),
                                         body=sdp_offer()))
        p.send(inv)
        resps = []
        while True:
            r = box.take(lambda m: m.startswith("SIP/2.0 ") and
                         call_id(m) == call_id(inv))
            self.assertIsNotNone(r, resps)
            resps.append(r)
            if status(r) >= 200:
                break
        self.assertEqual(status(r), 200, r)
        p.send(sip_request(p, "ACK", "sip:%s@%s" % (user, self.stub.addr),
                           callid=call_id(inv), to_tag=to_tag(r)))
        return p, box, inv, resps

    def info(self, p, box, inv, r, n, headers=(), body="", user="200"):
        req = sip_request(p, "INFO", "sip:%s@%s" % (user, self.stub.addr),
                          callid=call_id(inv), cseq=n, to_tag=to_tag(r),
                          headers=list(headers), body=body)
        p.send(req)
        return box.response(req)

    def events(self, name, n):
        self.stub.wait_event(lambda e: len([x for x in self.stub.events()
                                            if x.get("event") == name])
                             >= n)
        return [e for e in self.stub.events() if e.get("event") == name]


class Info(InfoBase):
    """dial-a-code: Recv-Info: dtmf."""

    def check_recv_info(self, tp):
        p, box, inv, resps = self.call(tp, "alice")
        self.assertEqual([status(r) for r in resps], [100, 180, 200])
        self.assertEqual(header(resps[0], "Recv-Info"), [])
        # RFC 6086 5.2.2: in the 18x and the 2xx to INVITE
        for r in resps[1:]:
            self.assertEqual(header(r, "Recv-Info"), ["dtmf"], r)

    def test_recv_info_udp(self):
        self.check_recv_info("udp")

    def test_recv_info_tcp(self):
        self.check_recv_info("tcp")

    def check_packages(self, tp):
        p, box, inv, resps = self.call(tp)
        r200 = resps[-1]
        # RFC 6086 4.2.2: a package not announced: 469 with Recv-Info
        a = self.info(p, box, inv, r200, 2,
                      ["Info-Package: foo", "Content-Type: text/plain"],
                      "x")
        self.assertTrue(a.startswith("SIP/2.0 469 Bad Info Package\r\n"),
                        a)
        self.assertEqual(header(a, "Recv-Info"), ["dtmf"])
        # the dtmf package
        a = self.info(p, box, inv, r200, 3,
                      ["Info-Package: dtmf",
                       "Content-Type: application/dtmf-relay"],
                      "Signal=7\r\nDuration=100\r\n")
        self.assertEqual(status(a), 200, a)
        self.assertEqual(header(a, "Recv-Info"), [])
        ev = self.events("info", 2)
        self.assertEqual([(e["package"], e["accepted"]) for e in ev],
                         [("foo", False), ("dtmf", True)])
        d = self.events("dtmf", 1)
        self.assertEqual([(e["digit"], e["duration"]) for e in d],
                         [("7", 100)])

    def test_packages_udp(self):
        self.check_packages("udp")

    def test_packages_tcp(self):
        self.check_packages("tcp")

    def check_legacy_dtmf(self, tp):
        p, box, inv, resps = self.call(tp)
        r200 = resps[-1]
        for n, (ctype, body) in enumerate((
                ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
                ("application/dtmf-relay", "Signal= 11\r\nDuration= 250"),
                ("application/dtmf-relay", "Signal=*\r\n"),
                ("application/dtmf", "9"),
                ("text/plain", "not dtmf")), 2):
            a = self.info(p, box, inv, r200, n,
                          ["Content-Type: %s" % ctype], body)
            self.assertTrue(a.startswith("SIP/2.0 200 OK\r\n"), a)
        d = self.events("dtmf", 4)
        self.assertEqual([(e["digit"], e["duration"], e["source"])
                          for e in d],
                         [("5", 160, "info"), ("#", 250, "info"),
                          ("*", None, "info"), ("9", None, "info")])
        self.assertEqual({e["call_id"] for e in d}, {call_id(inv)})
        self.assertEqual({e["method"] for e in d}, {"INFO"})

    def test_legacy_dtmf_udp(self):
        self.check_legacy_dtmf("udp")

    def test_legacy_dtmf_tcp(self):
        self.check_legacy_dtmf("tcp")

    def test_bad_dtmf(self):
        p, box, inv, resps = self.call("udp")
        for n, body in enumerate(("Signal=xyz\r\n", "Duration=100\r\n",
                                  "Signal=99\r\n", ""), 2):
            a = self.info(p, box, inv, resps[-1], n,
                          ["Content-Type: application/dtmf-relay"], body)
            self.assertEqual(status(a), 400, (body, a))
        self.assertEqual([e for e in self.stub.events()
                          if e.get("event") == "dtmf"], [])


class Scenario(InfoBase):
    """scenarios/info-dtmf.yaml: Recv-Info: dtmf, foo."""

    scenario = scenario_path("info-dtmf.yaml")

    def check_scenario(self, tp):
        p, box, inv, resps = self.call(tp)
        self.assertEqual([status(r) for r in resps], [100, 180, 200])
        for r in resps[1:]:
            self.assertEqual(header(r, "Recv-Info"), ["dtmf, foo"], r)
        r200 = resps[-1]
        a = self.info(p, box, inv, r200, 2,
                      ["Info-Package: foo", "Content-Type: text/plain"],
                      "x")
        self.assertEqual(status(a), 200, a)
        a = self.info(p, box, inv, r200, 3,
                      ["Info-Package: bar", "Content-Type: text/plain"],
                      "x")
        self.assertEqual(status(a), 469, a)
        self.assertEqual(header(a, "Recv-Info"), ["dtmf, foo"])
        ev = self.events("info", 2)
        self.assertEqual([(e["package"], e["accepted"]) for e in ev],
                         [("foo", True), ("bar", False)])
        self.assertEqual(ev[0]["body_len"], 1)

    def test_scenario_udp(self):
        self.check_scenario("udp")

    def test_scenario_tcp(self):
        self.check_scenario("tcp")


class Sipp(PeerCase):
    """A SIPp caller sends DTMF 1 and # by INFO (dtmf-relay)."""

    def check_sipp(self, transport):
        xml = os.path.join(SIPP_DIR, "uac_info_dtmf.xml")
        rc, out = run_sipp(xml, self.stub.addr, transport=transport,
                           service="200")
        self.assertEqual(rc, 0, out)
        self.stub.wait_event(lambda e: e.get("event") == "dtmf" and
                             e.get("digit") == "#")
        d = [e for e in self.stub.events() if e.get("event") == "dtmf"]
        self.assertEqual([(e["digit"], e["duration"]) for e in d],
                         [("1", 160), ("#", 160)])

    def test_sipp_udp(self):
        self.check_sipp("u1")

    def test_sipp_tcp(self):
        self.check_sipp("t1")


if __name__ == "__main__":
    unittest.main()
