"""Reliable provisional responses (RFC 3262) and UPDATE in early dialogs
(RFC 3311), issue 8 items 1 and 2.

Raw SIP over UDP and TCP checks the exact headers (Require, RSeq, RAck,
Supported, Retry-After), the retransmissions of an unPRACKed reliable
provisional (count and order), 481 for an unknown RAck, the final held
until the PRACK, the 64*T1 give-up with its 500, and UPDATE 200/491/500
in an early dialog; SIPp runs a whole call with PRACKs. Every wait is
bounded and nothing is timed.
"""
import os
import re
import unittest

import harness
from harness import SipstubTestCase, Sipstub, run_sipp, sdp_offer
from scn_helpers import (Peer, call_id, cseq, header, scenario_path,
                         sip_request, status, to_tag)


TRANSPORTS = ("udp", "tcp")
RSEQ_MAX = 2 ** 31 - 1


def first_line(msg):
    return (msg or "").split("\r\n", 1)[0]


def body(msg):
    return (msg or "").split("\r\n\r\n", 1)[-1]


class PrackBase(SipstubTestCase):

    def setUp(self):
        super().setUp()
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.close()
        super().tearDown()

    def peer(self, transport):
        p = Peer(self.stub, transport)
        self.peers.append(p)
        return p

    def uri(self, user):
        return "sip:%s@127.0.0.1:%d" % (user, self.stub.port)

    def invite(self, p, user, headers=("Require: 100rel",), offer=True):
        inv = sip_request(p, "INVITE", self.uri(user), headers=list(headers),
                          body=sdp_offer() if offer else "")
        p.send(inv)
        return inv

    def wait_for(self, p, pred, timeout=5.0):
        """Messages until one satisfies pred (included); fails if none."""
        out = []
        while True:
            m = p.recv(timeout)
            self.assertIsNotNone(m, "timeout; got %r" %
                                 [first_line(x) for x in out])
            out.append(m)
            if pred(m):
                return out, m

    def in_dialog(self, p, inv, method, tag, num, headers=(), sdp=""):
        req = sip_request(p, method, self.uri("x"), callid=call_id(inv),
                          cseq=num, to_tag=tag, headers=list(headers),
                          body=sdp)
        p.send(req)
        return req

    def answer_to(self, p, req, timeout=5.0):
        """The final response to req (same CSeq), skipping others."""
        n, m = cseq(req)
        _, r = self.wait_for(p, lambda x: x.startswith("SIP/2.0 ") and
                             cseq(x) == (n, m) and status(x) >= 200,
                             timeout)
        return r

    def prack(self, p, inv, prov, num=2, rack=None):
        rack = rack or "%s 1 INVITE" % header(prov, "RSeq")[0]
        return self.in_dialog(p, inv, "PRACK", to_tag(prov), num,
                              ["RAck: " + rack])

    def reliable_prov(self, p, code):
        _, r = self.wait_for(p, lambda x: status(x) == code)
        self.assertEqual(header(r, "Require"), ["100rel"], r)
        self.assertEqual(len(header(r, "RSeq")), 1, r)
        self.assertTrue(1 <= int(header(r, "RSeq")[0]) <= RSEQ_MAX, r)
        self.assertIn("100rel", header(r, "Supported")[0], r)
        return r

    def events(self, name):
        return [e for e in self.stub.events() if e.get("event") == name]


class TestReliable(PrackBase):
    """The built-in dial-a-code scenario, no file."""

    def flow_require(self, transport):
        p = self.peer(transport)
        inv = self.invite(p, "183")
        r183 = self.reliable_prov(p, 183)
        rseq = int(header(r183, "RSeq")[0])
        self.assertIn("m=audio", body(r183))
        self.assertIsNotNone(to_tag(r183))

        pr = self.prack(p, inv, r183)
        ok = self.answer_to(p, pr)
        self.assertEqual(status(ok), 200, ok)
        self.assertEqual(to_tag(ok), to_tag(r183))
        self.assertEqual(header(ok, "RSeq"), [])

        # the same RAck again: nothing unacknowledged matches (481)
        again = self.prack(p, inv, r183, num=3)
        self.assertEqual(status(self.answer_to(p, again)), 481)

        branch = re.search(r"branch=([^;\r]+)", inv).group(1)
        p.send(sip_request(p, "CANCEL", self.uri("183"), branch=branch,
                           callid=call_id(inv)))
        _, r487 = self.wait_for(p, lambda x: status(x) == 487)
        self.assertEqual(to_tag(r487), to_tag(r183))

        ev = self.stub.wait_event(lambda e: e.get("event") == "prack" and
                                  e.get("code") == 481)
        ok_ev = [e for e in self.events("prack") if e["code"] == 200]
        self.assertEqual(len(ok_ev), 1)
        self.assertEqual(ok_ev[0]["rseq"], rseq)
        self.assertEqual(ok_ev[0]["rack"], "%d 1 INVITE" % rseq)
        self.assertEqual(ok_ev[0]["tag"], to_tag(r183))
        self.assertEqual(ev["rseq"], rseq)
        rel = self.events("reliable")
        self.assertEqual([(e["code"], e["rseq"], e["tag"]) for e in rel],
                         [(183, rseq, to_tag(r183))])

    def test_require_100rel_udp(self):
        self.flow_require("udp")

    def test_require_100rel_tcp(self):
        self.flow_require("tcp")

    def flow_retransmit(self, transport):
        """Copies at T1, 2*T1, 4*T1 ... until the PRACK, then none."""
        p = self.peer(transport)
        inv = self.invite(p, "180")
        first = self.reliable_prov(p, 180)
        copies = [first]
        while len(copies) < 4:
            m = p.recv(10)
            self.assertIsNotNone(m, "only %d copies" % len(copies))
            copies.append(m)
        self.assertEqual(copies, [first] * 4)

        pr = self.prack(p, inv, first)
        self.assertEqual(status(self.answer_to(p, pr)), 200)
        # the next copy was due 4 s after the 4th: none comes
        self.assertEqual([m for m in p.recv_all(5.0)
                          if status(m) == 180], [])

    def test_retransmit_udp(self):
        self.flow_retransmit("udp")

    def test_retransmit_tcp(self):
        self.flow_retransmit("tcp")

    def flow_final_queued(self, transport):
        """dial-a-code 'alice': 180, 200 after 1 s; the 200 waits."""
        p = self.peer(transport)
        inv = self.invite(p, "alice")
        r180 = self.reliable_prov(p, 180)
        got = []
        while sum(1 for m in got if status(m) == 180) < 3:
            m = p.recv(10)
            self.assertIsNotNone(m)
            got.append(m)
        # 3 copies more = 3.5 s, past the 200's 1 s: it is held
        self.assertEqual([status(m) for m in got], [180] * 3)

        pr = self.prack(p, inv, r180)
        out, ok = self.wait_for(p, lambda x: status(x) == 200 and
                                cseq(x) == (1, "INVITE"))
        firsts = [cseq(m) for m in out if status(m) == 200]
        self.assertEqual(firsts, [(2, "PRACK"), (1, "INVITE")])
        self.assertEqual(to_tag(ok), to_tag(r180))
        self.assertEqual(header(ok, "RSeq"), [])
        ack = self.in_dialog(p, inv, "ACK", to_tag(ok), 1)
        bye = self.in_dialog(p, inv, "BYE", to_tag(ok), 3)
        self.assertEqual(status(self.answer_to(p, bye)), 200)
        self.assertTrue(ack)

    def test_final_queued_udp(self):
        self.flow_final_queued("udp")

    def test_final_queued_tcp(self):
        self.flow_final_queued("tcp")

    def test_unknown_rack_481(self):
        p = self.peer("udp")
        inv = self.invite(p, "183")
        r183 = self.reliable_prov(p, 183)
        rseq = int(header(r183, "RSeq")[0])
        for n, rack in ((2, "%d 1 INVITE" % (rseq + 1)),
                        (3, "%d 2 INVITE" % rseq),
                        (4, "%d 1 UPDATE" % rseq)):
            r = self.answer_to(p, self.prack(p, inv, r183, n, rack))
            self.assertEqual(status(r), 481, rack)
        # no RAck, a bad one: 400
        r = self.answer_to(p, self.in_dialog(p, inv, "PRACK",
                                             to_tag(r183), 5))
        self.assertEqual(first_line(r), "SIP/2.0 400 Missing RAck Header")
        r = self.answer_to(p, self.prack(p, inv, r183, 6, "x y"))
        self.assertEqual(first_line(r), "SIP/2.0 400 Bad RAck Header")
        # an early dialog we never made: 481
        r = self.answer_to(p, self.in_dialog(
            p, inv, "PRACK", "0123456789abcdef", 7,
            ["RAck: %d 1 INVITE" % rseq]))
        self.assertEqual(status(r), 481)
        # still unacknowledged: the right RAck gets 200
        r = self.answer_to(p, self.prack(p, inv, r183, 8))
        self.assertEqual(status(r), 200)
        codes = [e["code"] for e in self.events("prack")]
        self.assertEqual(codes, [481, 481, 481, 200])

    def test_supported_only_unreliable(self):
        """'Supported: 100rel' alone: reliable only if a step asks."""
        p = self.peer("udp")
        self.invite(p, "183", headers=("Supported: 100rel",))
        _, r = self.wait_for(p, lambda x: status(x) == 183)
        self.assertEqual(header(r, "RSeq"), [])
        self.assertEqual(header(r, "Require"), [])
        self.assertEqual(header(r, "Supported"), ["100rel, timer, norefersub"])
        self.assertEqual([m for m in p.recv_all(1.5) if status(m) == 183],
                         [])

    def test_require_other_tag_420(self):
        p = self.peer("udp")
        self.invite(p, "200", headers=("Require: 100rel, foo",))
        _, r = self.wait_for(p, lambda x: status(x) >= 200)
        self.assertEqual(status(r), 420)
        self.assertEqual(header(r, "Unsupported"), ["foo"])

    def test_options_supported(self):
        p = self.peer("tcp")
        p.send(sip_request(p, "OPTIONS", self.uri("x")))
        _, r = self.wait_for(p, lambda x: status(x) >= 200)
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Supported"), ["100rel, timer, norefersub"])


class TestGiveUp(PrackBase):

    def test_64t1_giveup(self):
        """7 copies (0, T1, 3*T1 ... 63*T1), then 500 at 64*T1; UDP and
        TCP at once, so that the 32 s are waited once."""
        peers = [self.peer(t) for t in TRANSPORTS]
        invs = [self.invite(p, "183") for p in peers]
        for p, inv in zip(peers, invs):
            out, final = self.wait_for(p, lambda x: status(x) >= 200, 60)
            provs = [m for m in out if status(m) == 183]
            self.assertEqual(len(provs), 7, p.transport)
            self.assertEqual(provs, [provs[0]] * 7)
            self.assertEqual(out[-1], final)
            self.assertEqual(first_line(final),
                             "SIP/2.0 500 Server Internal Error")
            self.assertEqual(to_tag(final), to_tag(provs[0]))
            ev = self.stub.wait_event(
                lambda e: e.get("event") == "prack-timeout" and
                e.get("call_id") == call_id(inv))
            self.assertEqual(ev["rseq"], int(header(provs[0], "RSeq")[0]))
            self.assertEqual(ev["code"], 500)
            self.assertEqual(ev["tag"], to_tag(provs[0]))


class TestEarlyUpdate(PrackBase):

    def flow_update(self, transport):
        """INVITE without offer: our reliable 183 offers; an UPDATE offer
        before the PRACK's answer gets 491; after it, 200 with SDP."""
        p = self.peer(transport)
        inv = self.invite(p, "183", offer=False)
        r183 = self.reliable_prov(p, 183)
        self.assertIn("m=audio", body(r183))
        tag = to_tag(r183)

        up = self.in_dialog(p, inv, "UPDATE", tag, 2, sdp=sdp_offer())
        r = self.answer_to(p, up)
        self.assertEqual(first_line(r), "SIP/2.0 491 Request Pending")

        pr = self.in_dialog(p, inv, "PRACK", tag, 3,
                            ["RAck: %s 1 INVITE" % header(r183, "RSeq")[0]],
                            sdp=sdp_offer(port=40002))
        r = self.answer_to(p, pr)
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Content-Type"), [])

        up = self.in_dialog(p, inv, "UPDATE", tag, 4, sdp=sdp_offer())
        r = self.answer_to(p, up)
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Content-Type"), ["application/sdp"])
        self.assertIn("m=audio", body(r))
        self.assertEqual(len(header(r, "Contact")), 1)

        up = self.in_dialog(p, inv, "UPDATE", tag, 5)
        r = self.answer_to(p, up)
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Content-Type"), [])

        ev = [(e["offer"], e["code"]) for e in self.events("early-update")]
        self.assertEqual(ev, [(True, 491), (True, 200), (False, 200)])

    def test_update_udp(self):
        self.flow_update("udp")

    def test_update_tcp(self):
        self.flow_update("tcp")

    def test_update_offer_unanswered_500(self):
        """No 100rel, Allow: UPDATE: the INVITE's offer is answered only
        in an unreliable 183, so an UPDATE offer gets 500 with
        Retry-After 0..10 (RFC 3311 5.2)."""
        p = self.peer("udp")
        inv = self.invite(p, "183", headers=("Allow: INVITE, UPDATE",))
        _, r183 = self.wait_for(p, lambda x: status(x) == 183)
        self.assertEqual(header(r183, "RSeq"), [])
        up = self.in_dialog(p, inv, "UPDATE", to_tag(r183), 2,
                            sdp=sdp_offer())
        r = self.answer_to(p, up)
        self.assertEqual(status(r), 500)
        ra = header(r, "Retry-After")
        self.assertEqual(len(ra), 1)
        self.assertTrue(0 <= int(ra[0]) <= 10, ra)

    def test_update_unknown_tag_481(self):
        p = self.peer("udp")
        inv = self.invite(p, "183")
        self.reliable_prov(p, 183)
        up = self.in_dialog(p, inv, "UPDATE", "fedcba9876543210", 2,
                            sdp=sdp_offer())
        self.assertEqual(status(self.answer_to(p, up)), 481)


class TestScenario(PrackBase):
    """scenarios/prack.yaml"""

    scenario = scenario_path("prack.yaml")

    def test_fork_per_tag(self):
        """Each early dialog has its own RSeq; the second reliable 183
        waits for the first PRACK; a RAck of dialog 1 in dialog 2 is
        481; the 200 goes in dialog 2."""
        p = self.peer("udp")
        inv = self.invite(p, "fork", headers=("Supported: 100rel",))
        a = self.reliable_prov(p, 183)
        # dialog 2's 183 is held: only copies of dialog 1's come
        more = [m for m in p.recv_all(1.0) if status(m) == 183]
        self.assertTrue(all(to_tag(m) == to_tag(a) for m in more))

        pr = self.prack(p, inv, a)
        out, b = self.wait_for(p, lambda x: status(x) == 183 and
                               to_tag(x) != to_tag(a))
        ok = [m for m in out if cseq(m) == (2, "PRACK")]
        self.assertEqual(status(ok[0]), 200)
        self.assertEqual(header(ok[0], "X-Prack"), ["accepted"])
        self.assertEqual(header(b, "Require"), ["100rel"])

        wrong = self.in_dialog(p, inv, "PRACK", to_tag(b), 3,
                               ["RAck: %s 1 INVITE" %
                                header(a, "RSeq")[0]])
        if header(a, "RSeq") != header(b, "RSeq"):
            self.assertEqual(status(self.answer_to(p, wrong)), 481)

        pr = self.prack(p, inv, b, num=4)
        out, final = self.wait_for(p, lambda x: cseq(x) == (1, "INVITE")
                                   and status(x) >= 200)
        self.assertEqual(status(final), 200)
        self.assertEqual(to_tag(final), to_tag(b))
        self.in_dialog(p, inv, "ACK", to_tag(b), 1)
        rel = self.events("reliable")
        self.assertEqual([e["tag"] for e in rel], [to_tag(a), to_tag(b)])

    def test_reliable_true_without_support(self):
        """A step asks 'reliable: true' of a client that supports
        neither: sent unreliably, with a warning."""
        p = self.peer("udp")
        self.invite(p, "prack", headers=())
        _, r = self.wait_for(p, lambda x: status(x) == 180)
        self.assertEqual(header(r, "RSeq"), [])
        _, r = self.wait_for(p, lambda x: status(x) >= 200)
        self.assertEqual(status(r), 200)
        w = self.stub.wait_event(lambda e: e.get("event") == "warning" and
                                 "unreliably" in e.get("message", ""))
        self.assertIn("180", w["message"])

    def test_sipp_prack(self):
        for tp in ("u1", "t1"):
            rc, out = run_sipp("uac_prack.xml", self.stub.addr,
                               transport=tp, service="prack", timeout=20)
            self.assertEqual(rc, 0, out)
        codes = [e["code"] for e in self.events("prack")]
        self.assertEqual(codes, [200] * 4)


if __name__ == "__main__":
    harness.main()
