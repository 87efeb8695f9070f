"""INVITE flows of issue 3 ("Protocol correctness"): the 2xx/ACK/BYE call,
CANCEL, retransmitted INVITEs, a 2xx (or a re-INVITE's 2xx) whose ACK
never comes, 199 with two early dialogs, in-dialog requests (tags, CSeq
order) and requests for no dialog, and a call over IPv6.

SIPp drives the flows over UDP and TCP; raw UDP messages do the checks
that need exact control (retransmissions, timing, unknown dialogs).
"""
import re
import shutil
import tempfile
import time
import unittest

import harness
from harness import (SDP_OFFER, Sipstub, SipstubTestCase, UdpClient, event_time,
                     ipv6_usable,
                     free_port, header, recv_until, request, response_to,
                     run_sipp, sipp_inf, status, to_tag, SANITIZER_MARKS)


T1 = 0.5


def tp_name(transport):
    return "UDP" if transport.startswith("u") else "TCP"


def first_line(msg):
    return (msg or "").split("\r\n", 1)[0]


def method_of(msg):
    """Method of a request text, None for a response."""
    m = re.match(r"([A-Z]+) \S+ SIP/2\.0$", first_line(msg))
    return m.group(1) if m else None


class FlowTestCase(SipstubTestCase):

    def setUp(self):
        super().setUp()
        self.c = UdpClient()
        self.dest = ("127.0.0.1", self.stub.port)
        self.tmp = tempfile.mkdtemp(prefix="sipstub-flows-")

    def tearDown(self):
        self.c.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def uri(self, user):
        return "sip:%s@127.0.0.1:%d" % (user, self.stub.port)

    def send(self, text):
        self.c.send(text, self.dest)

    def sipp(self, xml, transport, service=None, inf=None, timeout=30):
        extra = []
        if inf is not None:
            extra += ["-inf", sipp_inf(inf, self.tmp)]
        rc, out = run_sipp(xml, self.stub.addr, transport, timeout=timeout,
                           service=service, extra=extra)
        self.assertEqual(rc, 0, "SIPp %s %s:\n%s" % (xml, transport, out))

    def out_responses(self, method, **kw):
        return [e for e in self.stub.sip(dir="out", kind="response",
                                         method=method, **kw)]

    def answered_call(self, callid, headers=()):
        """INVITE sip:200@ with an offer, its 200 ACKed; the To-tag."""
        self.send(request("INVITE", self.uri("200"), self.c.port,
                          callid=callid, body=SDP_OFFER, headers=headers))
        msgs, r200 = recv_until(self.c, lambda m: status(m) == 200)
        self.assertIsNotNone(r200, msgs)
        tag = to_tag(r200)
        self.send(request("ACK", self.uri("200"), self.c.port, callid=callid,
                          to_tag=tag))
        return tag

    def in_requests(self, method, **kw):
        return self.stub.sip(dir="in", kind="request", method=method, **kw)


class CallFlows(FlowTestCase):
    """INVITE sip:alice@: 100, 180, 200 with SDP after the ring, ACK,
    BYE, 200."""

    def call(self, transport):
        tp = tp_name(transport)
        self.sipp("uac_call.xml", transport, service="alice")
        invites = self.in_requests("INVITE")
        self.assertEqual(len(invites), 1, "INVITE handled once")
        self.assertEqual(invites[0]["transport"], tp)
        resps = self.out_responses("INVITE")
        codes = [r["code"] for r in resps]
        self.assertEqual(codes[:3], [100, 180, 200])
        # over UDP the 200 may be retransmitted before the ACK arrives
        self.assertEqual(set(codes[3:]) - {200}, set())
        r100, r180, r200 = resps[:3]
        self.assertEqual(r180["reason"], "Ringing")
        self.assertEqual(r200["reason"], "OK")
        self.assertIsNone(r100.get("to_tag"))
        self.assertTrue(r180.get("to_tag"))
        self.assertEqual(r200["to_tag"], r180["to_tag"],
                         "the 200 must confirm the 180's early dialog")
        # "200 OK with an SDP answer after a short ring" (~1 s)
        self.assertGreaterEqual(event_time(r200) - event_time(r180), 0.5)
        self.assertEqual(len(self.in_requests("ACK")), 1)
        self.assertEqual(self.out_responses("ACK"), [])
        byes = self.out_responses("BYE")
        self.assertEqual([(r["code"], r["reason"]) for r in byes],
                         [(200, "OK")])
        self.assertEqual(byes[0]["to_tag"], r200["to_tag"])

    def test_call_udp(self):
        self.call("u1")

    def test_call_tcp(self):
        self.call("t1")

    def in_dialog(self, transport):
        self.sipp("uac_indialog.xml", transport, service="alice")
        invites = self.in_requests("INVITE")
        self.assertEqual(len(invites), 2)
        self.assertIsNone(invites[0].get("to_tag"))
        self.assertTrue(invites[1].get("to_tag"))
        final = [r for r in self.out_responses("INVITE") if r["code"] >= 200]
        self.assertEqual({(r["cseq"], r["code"]) for r in final},
                         {(1, 200), (2, 200)})
        self.assertEqual({r["to_tag"] for r in final}, {invites[1]["to_tag"]})
        for method in ("INFO", "UPDATE", "BYE"):
            with self.subTest(method=method):
                resps = self.out_responses(method)
                self.assertEqual([(r["code"], r["reason"]) for r in resps],
                                 [(200, "OK")])
                self.assertEqual(resps[0]["to_tag"], invites[1]["to_tag"])

    def test_in_dialog_udp(self):
        self.in_dialog("u1")

    def test_in_dialog_tcp(self):
        self.in_dialog("t1")


class CancelFlows(FlowTestCase):

    def cancel(self, transport):
        self.sipp("invite_ringing.xml", transport, inf=["180"])
        self.assertEqual(
            [(r["code"], r["reason"]) for r in self.out_responses("CANCEL")],
            [(200, "OK")])
        acks = self.in_requests("ACK")
        self.assertEqual(len(acks), 1)
        # the ACK of the 487 is absorbed by the INVITE transaction: no
        # response to it, and the 487 is not retransmitted after it
        time.sleep(2 * T1 + 0.2)
        self.assertEqual(self.out_responses("ACK"), [])
        r487 = self.out_responses("INVITE", code=487)
        self.assertEqual(len(r487), 1, r487)
        self.assertEqual(r487[0]["reason"], "Request Terminated")
        self.assertLessEqual(event_time(r487[0]), event_time(acks[0]))
        self.assertEqual([r["code"] for r in self.out_responses("INVITE")],
                         [100, 180, 487])

    def test_cancel_udp(self):
        self.cancel("u1")

    def test_cancel_tcp(self):
        self.cancel("t1")

    def test_cancel_without_transaction(self):
        self.send(request("CANCEL", self.uri("180"), self.c.port,
                          branch="z9hG4bK-no-such-invite"))
        resp = self.c.recv(3.0)
        self.assertEqual(first_line(resp),
                         "SIP/2.0 481 Call/Transaction Does Not Exist")
        self.assertEqual(header(resp, "CSeq"), ["1 CANCEL"])
        self.assertEqual(self.c.recv_all(0.5), [])

    def test_cancel_raw_ack_absorbed(self):
        branch, callid = "z9hG4bK-cancel-raw", "cancel-raw@127.0.0.1"
        self.send(request("INVITE", self.uri("180"), self.c.port,
                          branch=branch, callid=callid, body=SDP_OFFER))
        msgs, r180 = recv_until(self.c, lambda m: status(m) == 180)
        self.assertEqual([status(m) for m in msgs], [100, 180])
        self.send(request("CANCEL", self.uri("180"), self.c.port,
                          branch=branch, callid=callid))
        msgs, r487 = recv_until(self.c, lambda m: status(m) == 487)
        self.assertEqual([status(m) for m in msgs], [200, 487])
        self.assertEqual(header(msgs[0], "CSeq"), ["1 CANCEL"])
        self.assertEqual(header(r487, "CSeq"), ["1 INVITE"])
        self.assertEqual(to_tag(r487), to_tag(r180))
        self.send(request("ACK", self.uri("180"), self.c.port,
                          branch=branch, callid=callid,
                          to_tag=to_tag(r487)))
        # nothing answers the ACK; no 487 retransmission follows it
        self.assertEqual(self.c.recv_all(2 * T1 + 0.5), [])


class Retransmissions(FlowTestCase):

    def test_retransmitted_invite_while_pending(self):
        """A copy of a ringing INVITE gets the last response (the 180)
        again; the INVITE is handled once (one 180, one 200, one
        dialog)."""
        branch, callid = "z9hG4bK-rtx-pending", "rtx-pending@127.0.0.1"
        invite = request("INVITE", self.uri("alice"), self.c.port,
                         branch=branch, callid=callid, body=SDP_OFFER)
        self.send(invite)
        msgs, r180 = recv_until(self.c, lambda m: status(m) == 180)
        self.assertEqual([status(m) for m in msgs], [100, 180])
        self.send(invite)
        again = self.c.recv(0.8)
        self.assertEqual(first_line(again), "SIP/2.0 180 Ringing")
        self.assertEqual(to_tag(again), to_tag(r180))
        self.assertEqual(header(again, "Via"), header(r180, "Via"))
        msgs, r200 = recv_until(self.c, lambda m: status(m) == 200)
        self.assertEqual([status(m) for m in msgs], [200])
        self.assertEqual(to_tag(r200), to_tag(r180))
        tag = to_tag(r200)
        self.send(request("ACK", self.uri("alice"), self.c.port,
                          callid=callid, to_tag=tag))
        # nothing more: no second 100/180/200 from a second handling
        self.assertEqual(self.c.recv_all(1.5), [])
        self.assertEqual(len(self.in_requests("INVITE")), 2)
        self.assertEqual([r["code"] for r in self.out_responses("INVITE")],
                         [100, 180, 180, 200])
        self.assertEqual({r["to_tag"] for r in self.out_responses("INVITE")
                          if r["code"] > 100}, {tag})
        # one dialog: BYE ends it, a second BYE finds none
        self.send(request("BYE", self.uri("alice"), self.c.port,
                          callid=callid, cseq=2, to_tag=tag))
        self.assertEqual(first_line(self.c.recv(3.0)), "SIP/2.0 200 OK")
        self.send(request("BYE", self.uri("alice"), self.c.port,
                          callid=callid, cseq=3, to_tag=tag))
        self.assertEqual(status(self.c.recv(3.0)), 481)

    def test_retransmitted_invite_gets_100_again(self):
        """INVITE sip:100@ (a hung server): each copy gets the 100
        again, and one CANCEL ends the one transaction."""
        branch, callid = "z9hG4bK-rtx-100", "rtx-100@127.0.0.1"
        invite = request("INVITE", self.uri("100"), self.c.port,
                         branch=branch, callid=callid, body=SDP_OFFER)
        self.send(invite)
        self.assertEqual(first_line(self.c.recv(3.0)), "SIP/2.0 100 Trying")
        for _ in range(2):
            self.send(invite)
            self.assertEqual(first_line(self.c.recv(3.0)),
                             "SIP/2.0 100 Trying")
        self.assertEqual(self.c.recv_all(0.5), [])
        self.send(request("CANCEL", self.uri("100"), self.c.port,
                          branch=branch, callid=callid))
        msgs, r487 = recv_until(self.c, lambda m: status(m) == 487)
        self.assertEqual([status(m) for m in msgs], [200, 487])
        self.send(request("ACK", self.uri("100"), self.c.port, branch=branch,
                          callid=callid, to_tag=to_tag(r487)))
        self.assertEqual(self.c.recv_all(2 * T1 + 0.3), [])
        self.assertEqual(len(self.in_requests("INVITE")), 3)
        self.assertEqual([r["code"] for r in self.out_responses("INVITE")],
                         [100, 100, 100, 487])

    def test_retransmitted_invite_after_2xx(self):
        """RFC 3261 17.2.1 with RFC 6026: a copy of the INVITE that
        arrives after the 2xx is not handled again."""
        branch, callid = "z9hG4bK-rtx-2xx", "rtx-2xx@127.0.0.1"
        invite = request("INVITE", self.uri("200"), self.c.port,
                         branch=branch, callid=callid, body=SDP_OFFER)
        self.send(invite)
        msgs, r200 = recv_until(self.c, lambda m: status(m) == 200)
        self.assertIsNotNone(r200, msgs)
        tag = to_tag(r200)
        self.send(invite)
        # nothing answers the copy (the 2xx retransmission is at T1)
        self.assertEqual(self.c.recv_all(0.25), [])
        self.send(request("ACK", self.uri("200"), self.c.port,
                          callid=callid, to_tag=tag))
        self.assertEqual(self.c.recv_all(2 * T1 + 0.5), [],
                         "2xx retransmitted after the ACK")
        self.assertEqual(len(self.in_requests("INVITE")), 2)
        self.assertEqual([r["code"] for r in self.out_responses("INVITE")],
                         [100, 200])
        self.send(request("BYE", self.uri("200"), self.c.port,
                          callid=callid, cseq=2, to_tag=tag))
        self.assertEqual(first_line(self.c.recv(3.0)), "SIP/2.0 200 OK")

    def test_retransmitted_invite_after_final(self):
        """A copy of the INVITE after a non-2xx final gets that final
        again (RFC 3261 17.2.1, Completed state)."""
        branch, callid = "z9hG4bK-rtx-486", "rtx-486@127.0.0.1"
        invite = request("INVITE", self.uri("486"), self.c.port,
                         branch=branch, callid=callid)
        self.send(invite)
        msgs, r486 = recv_until(self.c, lambda m: status(m) == 486)
        self.assertEqual([status(m) for m in msgs], [100, 486])
        self.send(invite)
        again = self.c.recv(2.0)
        self.assertEqual(first_line(again), "SIP/2.0 486 Busy Here")
        self.assertEqual(to_tag(again), to_tag(r486))
        self.send(request("ACK", self.uri("486"), self.c.port,
                          branch=branch, callid=callid,
                          to_tag=to_tag(r486)))
        self.assertEqual(self.c.recv_all(2 * T1 + 0.3), [])
        self.assertEqual([r["code"] for r in self.out_responses("INVITE")],
                         [100, 486, 486])

    def test_non_2xx_final_retransmitted_until_ack(self):
        """RFC 3261 17.2.1 over UDP: without an ACK the 486 is sent again
        after T1, 2*T1, 4*T1 (timer G); the ACK stops it."""
        branch, callid = "z9hG4bK-timer-g", "timer-g@127.0.0.1"
        self.send(request("INVITE", self.uri("486"), self.c.port,
                          branch=branch, callid=callid))
        msgs, r486 = recv_until(self.c, lambda m: status(m) == 486)
        self.assertEqual([status(m) for m in msgs], [100, 486])
        times = [time.monotonic()]
        deadline = times[0] + 7 * T1 + (2.0 if self.stub.wrapped else 0.5)
        while len(times) < 4 and time.monotonic() < deadline:
            again = self.c.recv(max(0.05, deadline - time.monotonic()))
            if again is None:
                break
            self.assertEqual(again, r486)
            times.append(time.monotonic())
        self.assertEqual(len(times), 4, "486 sent %d times" % len(times))
        gaps = [b - a for a, b in zip(times, times[1:])]
        # T1, 2*T1, 4*T1 give or take a loaded machine: each wait longer
        self.assertGreater(gaps[0], 0.6 * T1, gaps)
        self.assertGreater(gaps[1], 1.3 * gaps[0], gaps)
        self.assertGreater(gaps[2], 1.3 * gaps[1], gaps)
        self.send(request("ACK", self.uri("486"), self.c.port,
                          branch=branch, callid=callid,
                          to_tag=to_tag(r486)))
        self.assertEqual(self.c.recv_all(8 * T1 + 0.5), [],
                         "486 retransmitted after the ACK")

    def test_merged_request_gets_482(self):
        """RFC 3261 8.2.2.2: the same INVITE (Call-ID, From-tag, CSeq)
        arriving with another branch is a merged request: 482, and the
        first goes on."""
        callid = "merged@127.0.0.1"
        first = request("INVITE", self.uri("180"), self.c.port,
                        branch="z9hG4bK-merged-1", callid=callid,
                        body=SDP_OFFER)
        self.send(first)
        msgs, r180 = recv_until(self.c, lambda m: status(m) == 180)
        self.assertEqual([status(m) for m in msgs], [100, 180])
        self.send(request("INVITE", self.uri("180"), self.c.port,
                          branch="z9hG4bK-merged-2", callid=callid,
                          body=SDP_OFFER))
        r482 = self.c.recv(3.0)
        self.assertEqual(status(r482), 482, r482)
        self.assertIn("branch=z9hG4bK-merged-2", header(r482, "Via")[0])
        self.send(request("CANCEL", self.uri("180"), self.c.port,
                          branch="z9hG4bK-merged-1", callid=callid))
        msgs, r487 = recv_until(self.c, lambda m: status(m) == 487)
        self.assertEqual([status(m) for m in msgs], [200, 487])
        self.send(request("ACK", self.uri("180"), self.c.port,
                          branch="z9hG4bK-merged-1", callid=callid,
                          to_tag=to_tag(r487)))

    def test_cseq_method_mismatch_not_matched_to_invite(self):
        """RFC 3261 17.2.3, RFC 4475 3.1.2.17 (mismatch01): an OPTIONS
        whose CSeq says INVITE, with the branch and sent-by of a running
        INVITE transaction, is no retransmission of it (the Request-Line
        method differs): it gets its own 400, not the INVITE's 180."""
        branch, callid = "z9hG4bKkdjuw-mm", "mismatch01@127.0.0.1"
        self.send(request("INVITE", self.uri("180"), self.c.port,
                          branch=branch, callid=callid, body=SDP_OFFER))
        msgs, r180 = recv_until(self.c, lambda m: status(m) == 180)
        self.assertEqual([status(m) for m in msgs], [100, 180])
        opt = request("OPTIONS", self.uri("180"), self.c.port,
                      branch=branch, callid=callid)
        self.send(opt.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"))
        r400 = self.c.recv(3.0)
        self.assertEqual(r400.split("\r\n")[0],
                         "SIP/2.0 400 CSeq Method Mismatch", r400)
        self.send(request("CANCEL", self.uri("180"), self.c.port,
                          branch=branch, callid=callid))
        msgs, r487 = recv_until(self.c, lambda m: status(m) == 487)
        self.assertEqual([status(m) for m in msgs], [200, 487])
        self.send(request("ACK", self.uri("180"), self.c.port,
                          branch=branch, callid=callid,
                          to_tag=to_tag(r487)))

    def test_2xx_without_ack_then_bye(self):
        """The 2xx is retransmitted at T1, 2*T1, ... up to T2 until the
        ACK; without one, after 64*T1 the dialog ends with a BYE."""
        callid = "no-ack@127.0.0.1"
        self.send(request("INVITE", self.uri("200"), self.c.port,
                          callid=callid, body=SDP_OFFER))
        times, tags, bye = [], set(), None
        deadline = time.monotonic() + 64 * T1 + 12
        while time.monotonic() < deadline:
            m = self.c.recv(deadline - time.monotonic())
            if m is None:
                break
            if status(m) == 200:
                times.append(time.monotonic())
                tags.add(to_tag(m))
            elif method_of(m) == "BYE":
                bye = m
                bye_at = time.monotonic()
                break
        self.assertIsNotNone(bye, "no BYE after 64*T1 without ACK "
                             "(%d 200s seen)" % len(times))
        self.assertEqual(len(tags), 1)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(len(gaps), 5, gaps)
        # T1, 2*T1, 4*T1, then capped at T2 = 4 s; generous bounds
        self.assertTrue(0.2 <= gaps[0] <= 1.5, gaps)
        for a, b in zip(gaps[:3], gaps[1:3]):
            self.assertTrue(1.4 <= b / a <= 2.8, gaps)
        for g in gaps[3:]:
            self.assertTrue(2.5 <= g <= 6.0, gaps)
        self.assertTrue(64 * T1 - 2 <= bye_at - times[0] <= 64 * T1 + 8,
                        bye_at - times[0])
        # the BYE goes to our Contact, inside the dialog of the 200
        self.assertEqual(first_line(bye),
                         "BYE sip:test@127.0.0.1:%d SIP/2.0" % self.c.port)
        self.assertEqual(header(bye, "Call-ID"), [callid])
        self.assertIn("tag=t%d" % self.c.port, header(bye, "To")[0])
        self.assertIn("tag=%s" % tags.pop(), header(bye, "From")[0])
        self.send(response_to(bye, 200, "OK"))
        self.stub.wait_event(lambda e: e.get("event") == "sip" and
                             e["dir"] == "in" and e.get("code") == 200 and
                             e.get("method") == "BYE", timeout=5)
        self.assertTrue(self.stub.wait_event(
            lambda e: e.get("event") == "hangup", timeout=1))
        # and nothing after the answered BYE
        self.assertEqual(self.c.recv_all(1.5), [])

    def test_reinvite_2xx_without_ack_then_bye(self):
        """A re-INVITE's 2xx that gets no ACK ends the dialog too. The
        BYE belongs to the dialog the first INVITE made (RFC 3261
        12.1.1): its Contact is the Request-URI and its Record-Route the
        route set, though the re-INVITE has another Contact and none."""
        callid = "reinvite-no-ack@127.0.0.1"
        proxy = UdpClient()
        self.addCleanup(proxy.close)
        rr = "<sip:127.0.0.1:%d;lr>, <sip:p2.example.com;lr>" % proxy.port
        tag = self.answered_call(callid, ["Record-Route: " + rr])
        reinvite = request("INVITE", self.uri("200"), self.c.port,
                           callid=callid, cseq=2, to_tag=tag,
                           body=SDP_OFFER)
        reinvite = reinvite.replace(
            "Contact: <sip:test@127.0.0.1:%d>" % self.c.port,
            "Contact: <sip:moved@127.0.0.1:%d>" % free_port())
        self.send(reinvite)
        msgs, r200 = recv_until(self.c, lambda m: status(m) == 200)
        self.assertIsNotNone(r200, msgs)
        _, bye = recv_until(proxy, lambda m: method_of(m) == "BYE",
                            timeout=64 * T1 + 12)
        self.assertIsNotNone(bye, "no BYE after 64*T1 without the "
                             "re-INVITE's ACK")
        self.assertEqual(first_line(bye),
                         "BYE sip:test@127.0.0.1:%d SIP/2.0" % self.c.port)
        self.assertEqual(header(bye, "Route"),
                         ["<sip:127.0.0.1:%d;lr>" % proxy.port,
                          "<sip:p2.example.com;lr>"])
        self.assertEqual(header(bye, "Call-ID"), [callid])
        self.assertIn("tag=t%d" % self.c.port, header(bye, "To")[0])
        self.assertIn("tag=%s" % tag, header(bye, "From")[0])
        proxy.send(response_to(bye, 200, "OK"), self.dest)
        ev = self.stub.wait_event(lambda e: e.get("event") == "hangup",
                                  timeout=5)
        self.assertEqual(ev.get("call_id"), callid)
        self.assertEqual(ev.get("message"), "no ACK for the 2xx within 64*T1")


class EarlyDialogs199(FlowTestCase):
    """RFC 6228: two early dialogs, 199 ends the first."""

    def sipp_199(self, transport):
        self.sipp("uac_199.xml", transport)
        resps = self.out_responses("INVITE")
        self.assertEqual([r["code"] for r in resps],
                         [100, 180, 180, 199, 487])
        r180a, r180b, r199, r487 = resps[1:]
        self.assertTrue(r180a.get("to_tag") and r180b.get("to_tag"))
        self.assertNotEqual(r180a["to_tag"], r180b["to_tag"])
        self.assertEqual(r199["to_tag"], r180a["to_tag"])
        self.assertEqual(r199["reason"], "Early Dialog Terminated")
        self.assertEqual([r["code"] for r in self.out_responses("CANCEL")],
                         [200])
        # the call rang on B when it was cancelled; A had ended
        self.assertEqual(r487["to_tag"], r180b["to_tag"],
                         "the 487 must end early dialog B; A was already "
                         "ended by the 199")

    def test_199_udp(self):
        self.sipp_199("u1")

    def test_199_tcp(self):
        self.sipp_199("t1")

    def raw_199(self, supported):
        branch = "z9hG4bK-199-%s" % supported
        callid = "199-%s@127.0.0.1" % supported
        hdrs = ["Supported: 199"] if supported else []
        self.send(request("INVITE", self.uri("199"), self.c.port,
                          branch=branch, callid=callid, headers=hdrs,
                          body=SDP_OFFER))
        msgs = self.c.recv_all(1.0)
        return branch, callid, msgs

    def cancel(self, branch, callid):
        self.send(request("CANCEL", self.uri("199"), self.c.port,
                          branch=branch, callid=callid))
        msgs, r487 = recv_until(self.c, lambda m: status(m) == 487)
        self.assertEqual([status(m) for m in msgs], [200, 487])
        self.send(request("ACK", self.uri("199"), self.c.port,
                          branch=branch, callid=callid,
                          to_tag=to_tag(r487)))
        return r487

    def test_199_supported_headers(self):
        branch, callid, msgs = self.raw_199(True)
        self.assertEqual([status(m) for m in msgs], [100, 180, 180, 199])
        a, b = to_tag(msgs[1]), to_tag(msgs[2])
        self.assertTrue(a and b)
        self.assertNotEqual(a, b)
        r199 = msgs[3]
        self.assertEqual(first_line(r199),
                         "SIP/2.0 199 Early Dialog Terminated")
        self.assertEqual(to_tag(r199), a)
        reason = header(r199, "Reason")
        self.assertEqual(len(reason), 1, reason)
        self.assertRegex(reason[0], r"^(SIP|Q\.850)\s*;\s*cause=\d+")
        # each early dialog has its own Contact
        self.assertTrue(header(msgs[1], "Contact"))
        self.assertTrue(header(msgs[2], "Contact"))
        r487 = self.cancel(branch, callid)
        self.assertEqual(to_tag(r487), b, "the 487 must end early dialog "
                         "B; A was already ended by the 199")

    def test_199_unsupported_not_sent_and_logged(self):
        branch, callid, msgs = self.raw_199(False)
        self.assertEqual([status(m) for m in msgs], [100, 180, 180])
        self.assertNotEqual(to_tag(msgs[1]), to_tag(msgs[2]))
        ev = self.stub.wait_event(
            lambda e: e.get("event") == "warning" and
            "199" in e.get("message", ""), timeout=3)
        self.assertEqual(ev.get("call_id"), callid)
        self.assertEqual(self.out_responses("INVITE", code=199), [])
        self.cancel(branch, callid)


class NoDialog(FlowTestCase):
    """Requests for dialogs that do not exist get 481."""

    def expect_481(self, text):
        self.send(text)
        resp = self.c.recv(3.0)
        self.assertEqual(first_line(resp),
                         "SIP/2.0 481 Call/Transaction Does Not Exist")
        return resp

    def test_bye_outside_dialog(self):
        self.expect_481(request("BYE", self.uri("alice"), self.c.port,
                                cseq=2))
        self.expect_481(request("BYE", self.uri("alice"), self.c.port,
                                cseq=2, to_tag="no-such-dialog"))

    def test_info_update_unknown_dialog(self):
        for method in ("INFO", "UPDATE"):
            with self.subTest(method=method):
                resp = self.expect_481(request(
                    method, self.uri("alice"), self.c.port, cseq=2,
                    to_tag="no-such-dialog"))
                self.assertEqual(header(resp, "CSeq"), ["2 %s" % method])

    def test_wrong_to_tag_on_existing_call(self):
        callid = "wrong-tag@127.0.0.1"
        tag = self.answered_call(callid)
        cseq = 2
        for method in ("INFO", "UPDATE", "BYE"):
            with self.subTest(method=method):
                self.expect_481(request(method, self.uri("200"),
                                        self.c.port, callid=callid,
                                        cseq=cseq, to_tag=tag + "x"))
            cseq += 1
        # the real dialog still works
        self.send(request("INFO", self.uri("200"), self.c.port,
                          callid=callid, cseq=cseq, to_tag=tag))
        self.assertEqual(first_line(self.c.recv(3.0)), "SIP/2.0 200 OK")
        self.send(request("BYE", self.uri("200"), self.c.port,
                          callid=callid, cseq=cseq + 1, to_tag=tag))
        self.assertEqual(first_line(self.c.recv(3.0)), "SIP/2.0 200 OK")


class InDialog(FlowTestCase):
    """Requests inside a call: matched by Call-ID and both tags, and
    in CSeq order (RFC 3261 12.2.2)."""

    def ask(self, method, cseq, callid, tag, **kw):
        text = request(method, self.uri("200"), self.c.port,
                       callid=callid, cseq=cseq, to_tag=tag, **kw)
        self.send(text)
        return first_line(self.c.recv(3.0))

    def test_tags_and_cseq_order(self):
        callid = "in-dialog@127.0.0.1"
        tag = self.answered_call(callid)
        self.assertRegex(tag, "^[0-9a-f]{16}$")
        no = "SIP/2.0 481 Call/Transaction Does Not Exist"
        # the To-tag exactly as sent (lowercase hex; a tag of digits
        # only has no uppercase twin), the From-tag and the Call-ID
        if tag.upper() != tag:
            self.assertEqual(self.ask("INFO", 5, callid, tag.upper()), no)
        self.assertEqual(self.ask("INFO", 5, callid, tag[:15]), no)
        self.assertEqual(self.ask("INFO", 5, callid.upper(), tag), no)
        self.send(request("INFO", self.uri("200"), self.c.port,
                          callid=callid, cseq=5, to_tag=tag).replace(
                              ";tag=t%d" % self.c.port, ";tag=other"))
        self.assertEqual(first_line(self.c.recv(3.0)), no)
        self.assertEqual(self.ask("INFO", 5, callid, tag), "SIP/2.0 200 OK")
        self.assertEqual(self.ask("INFO", 5, callid, tag), "SIP/2.0 200 OK")
        self.assertEqual(self.ask("INFO", 4, callid, tag),
                         "SIP/2.0 500 CSeq Out of Order")
        self.assertEqual(self.ask("BYE", 6, callid, tag), "SIP/2.0 200 OK")
        self.assertEqual(self.ask("BYE", 7, callid, tag), no)


@unittest.skipUnless(ipv6_usable(), "::1 is not usable here")
class Ipv6Call(unittest.TestCase):

    def setUp(self):
        self.stub = Sipstub(host="::1")

    def tearDown(self):
        code, err = self.stub.stop()
        try:
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, err, "sanitizer/leak report:\n" + err)
            self.assertEqual(code, 0, "sipstub exit code %d:\n%s" %
                             (code, err))
        finally:
            self.stub.close()

    def call(self, transport):
        # the later -i/-p override run_sipp's IPv4 defaults
        rc, out = run_sipp("uac_call.xml", self.stub.addr, transport,
                           service="alice",
                           extra=["-i", "::1", "-p", str(free_port("::1"))])
        self.assertEqual(rc, 0, out)
        tp = tp_name(transport)
        # the BYE's 200 is the last line; the log is written in order
        self.stub.wait_event(lambda e: e.get("event") == "sip" and
                             e.get("dir") == "out" and
                             e.get("method") == "BYE" and
                             e.get("transport") == tp)
        codes = [e["code"] for e in self.stub.sip(dir="out", method="INVITE",
                                                  transport=tp)]
        self.assertEqual(codes[:3], [100, 180, 200])
        byes = self.stub.sip(dir="out", method="BYE", transport=tp)
        self.assertEqual([e["code"] for e in byes], [200])
        self.assertTrue(byes[0]["src"].startswith("[::1]:"), byes[0])

    def test_call_udp6(self):
        self.call("u1")

    def test_call_tcp6(self):
        self.call("t1")


if __name__ == "__main__":
    harness.main()
