"""REFER in a call (RFC 3515, RFC 4488) against the built-in dial-a-code
scenario and scenarios/refer.yaml, over UDP and TCP: the 202 and the
NOTIFYs with their sipfrag bodies are checked header by header; a SIPp
caller sends a REFER in its call.
"""
import os
import unittest

from harness import SIPP_DIR, response_to, run_sipp, sdp_offer
from scn_helpers import (PeerCase, call_id, cseq, first_line, header,
                         scenario_path, sip_request, status, to_tag)
from test_subs import Inbox, body, tcp_contact


class ReferBase(PeerCase):

    def call(self, tp):
        """An answered call: (peer, inbox, INVITE, its 200)."""
        p = self.peer(tp)
        box = Inbox(p)
        inv = tcp_contact(p, sip_request(p, "INVITE",
                                         "sip:200@%s" % self.stub.addr,
                                         body=sdp_offer()))
        p.send(inv)
        r = box.response(inv)
        self.assertEqual(status(r), 200, r)
        p.send(sip_request(p, "ACK", "sip:200@%s" % self.stub.addr,
                           callid=call_id(inv), to_tag=to_tag(r)))
        return p, box, inv, r

    def refer(self, p, box, inv, r, n, headers):
        req = tcp_contact(p, sip_request(p, "REFER",
                                         "sip:200@%s" % self.stub.addr,
                                         callid=call_id(inv), cseq=n,
                                         to_tag=to_tag(r),
                                         headers=headers))
        p.send(req)
        return req, box.response(req)

    def notify(self, box, p, inv, r, event, state, frag):
        n = box.take(lambda m: first_line(m).startswith("NOTIFY "))
        self.assertIsNotNone(n, "no NOTIFY")
        tcp = ";transport=tcp" if p.transport == "TCP" else ""
        self.assertEqual(first_line(n), "NOTIFY sip:test@127.0.0.1:%d%s "
                         "SIP/2.0" % (p.port, tcp))
        self.assertEqual(call_id(n), call_id(inv))
        self.assertEqual(header(n, "From")[0],
                         "%s;tag=%s" % (header(inv, "To")[0], to_tag(r)))
        self.assertEqual(header(n, "To"), header(inv, "From"))
        self.assertEqual(header(n, "Event"), [event])
        self.assertEqual(header(n, "Subscription-State"), [state])
        self.assertEqual(header(n, "Content-Type"), ["message/sipfrag"])
        self.assertEqual(header(n, "Contact"),
                         ["<sip:200@%s%s>" % (self.stub.addr, tcp)])
        self.assertEqual(body(n), frag)
        self.assertEqual(int(header(n, "Content-Length")[0]), len(frag))
        p.send(response_to(n, 200, "OK"))
        return n


class Refer(ReferBase):
    """dial-a-code: 202, NOTIFY 100 Trying, NOTIFY with the final."""

    def check_refer(self, tp):
        p, box, inv, r = self.call(tp)
        req, a = self.refer(p, box, inv, r, 2,
                            ["Refer-To: <sip:bob@127.0.0.1>"])
        self.assertTrue(a.startswith("SIP/2.0 202 Accepted\r\n"), a)
        self.assertEqual(to_tag(a), to_tag(r))
        self.assertEqual(header(a, "Refer-Sub"), [])
        n1 = self.notify(box, p, inv, r, "refer", "active;expires=60",
                         "SIP/2.0 100 Trying\r\n")
        n2 = self.notify(box, p, inv, r, "refer",
                         "terminated;reason=noresource",
                         "SIP/2.0 200 OK\r\n")
        self.assertGreater(cseq(n2)[0], cseq(n1)[0])

        # RFC 3515 2.4.6: a second REFER: id= its CSeq; Refer-To
        # sip:486@ dials the final status
        req, a = self.refer(p, box, inv, r, 3,
                            ["Refer-To: <sip:486@127.0.0.1>"])
        self.assertEqual(status(a), 202)
        self.notify(box, p, inv, r, "refer;id=3", "active;expires=60",
                    "SIP/2.0 100 Trying\r\n")
        self.notify(box, p, inv, r, "refer;id=3",
                    "terminated;reason=noresource",
                    "SIP/2.0 486 Busy Here\r\n")

        ev = [e for e in self.stub.events() if e.get("event") == "refer"]
        self.assertEqual([(e["refer_to"], e["refer_sub"], e["nth"])
                          for e in ev],
                         [("<sip:bob@127.0.0.1>", True, 1),
                          ("<sip:486@127.0.0.1>", True, 2)])
        self.stub.wait_event(lambda e: e.get("event") == "uac" and
                             e.get("method") == "NOTIFY" and
                             e.get("code") == 200)
        notes = [e for e in self.stub.events() if e.get("event") ==
                 "notify"]
        self.assertEqual([(e["package"], e["sipfrag"]) for e in notes],
                         [("refer", "SIP/2.0 100 Trying"),
                          ("refer", "SIP/2.0 200 OK"),
                          ("refer;id=3", "SIP/2.0 100 Trying"),
                          ("refer;id=3", "SIP/2.0 486 Busy Here")])

    def test_refer_udp(self):
        self.check_refer("udp")

    def test_refer_tcp(self):
        self.check_refer("tcp")

    def check_norefersub(self, tp):
        # RFC 4488 4: no subscription, and the 2xx says so
        p, box, inv, r = self.call(tp)
        req, a = self.refer(p, box, inv, r, 2,
                            ["Refer-To: <sip:bob@127.0.0.1>",
                             "Refer-Sub: false",
                             "Supported: norefersub"])
        self.assertEqual(status(a), 202, a)
        self.assertEqual(header(a, "Refer-Sub"), ["false"])
        self.assertIsNone(box.take(lambda m: first_line(m).startswith(
            "NOTIFY "), timeout=1.0))
        e = self.stub.wait_event(lambda e: e.get("event") == "refer")
        self.assertIs(e["refer_sub"], False)

    def test_norefersub_udp(self):
        self.check_norefersub("udp")

    def test_norefersub_tcp(self):
        self.check_norefersub("tcp")

    def test_require_norefersub(self):
        p, box, inv, r = self.call("udp")
        req, a = self.refer(p, box, inv, r, 2,
                            ["Refer-To: <sip:bob@127.0.0.1>",
                             "Refer-Sub: false", "Require: norefersub"])
        self.assertEqual(status(a), 202, a)
        self.assertEqual(header(a, "Refer-Sub"), ["false"])

    def test_bad_refer(self):
        # RFC 3515 2.4.1: exactly one Refer-To; Refer-Sub true or false
        p, box, inv, r = self.call("udp")
        for n, hdrs in enumerate(([], ["Refer-To: <sip:a@x>",
                                       "Refer-To: <sip:b@x>"],
                                  ["Refer-To: <sip:a@x>",
                                   "Refer-Sub: maybe"]), 2):
            req, a = self.refer(p, box, inv, r, n, hdrs)
            self.assertEqual(status(a), 400, a)
        self.assertIsNone(box.take(lambda m: first_line(m).startswith(
            "NOTIFY "), timeout=0.5))

    def test_stop_with_notify_pending(self):
        # sipstub stops cleanly (tearDown) with a NOTIFY unanswered
        p, box, inv, r = self.call("udp")
        self.refer(p, box, inv, r, 2, ["Refer-To: <sip:bob@127.0.0.1>"])
        self.assertIsNotNone(box.take(lambda m: first_line(m).startswith(
            "NOTIFY ")))

    def test_refer_outside_dialog(self):
        p = self.peer("udp")
        box = Inbox(p)
        req = sip_request(p, "REFER", "sip:bob@%s" % self.stub.addr,
                          headers=["Refer-To: <sip:bob@127.0.0.1>"])
        p.send(req)
        self.assertEqual(status(box.response(req)), 405)


class ReferScenario(ReferBase):
    """scenarios/refer.yaml: 200, and the NOTIFYs of the scenario."""

    scenario = scenario_path("refer.yaml")

    def check_scenario(self, tp):
        p, box, inv, r = self.call(tp)
        req, a = self.refer(p, box, inv, r, 2,
                            ["Refer-To: <sip:carol@127.0.0.1>"])
        self.assertTrue(a.startswith("SIP/2.0 200 OK\r\n"), a)
        self.notify(box, p, inv, r, "refer", "active;expires=60",
                    "SIP/2.0 100 Trying\r\n")
        self.notify(box, p, inv, r, "refer", "active;expires=60",
                    "SIP/2.0 180 Ringing\r\n")
        self.notify(box, p, inv, r, "refer",
                    "terminated;reason=noresource",
                    "SIP/2.0 603 Decline\r\n")

    def test_scenario_udp(self):
        self.check_scenario("udp")

    def test_scenario_tcp(self):
        self.check_scenario("tcp")


class Sipp(PeerCase):
    """A SIPp caller transfers its call: REFER, 202, two NOTIFYs."""

    def check_sipp(self, transport):
        xml = os.path.join(SIPP_DIR, "uac_refer.xml")
        rc, out = run_sipp(xml, self.stub.addr, transport=transport,
                           service="200")
        self.assertEqual(rc, 0, out)
        e = self.stub.wait_event(lambda e: e.get("event") == "refer")
        self.assertEqual(e["refer_to"], "<sip:bob@127.0.0.1>")

    def test_sipp_udp(self):
        self.check_sipp("u1")

    def test_sipp_tcp(self):
        self.check_sipp("t1")


if __name__ == "__main__":
    unittest.main()
