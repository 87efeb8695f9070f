"""Every shipped scenario, started as `sipstub FILE`, driven by SIPp (and
raw UDP where a header needs a close look).

Each SIPp scenario (tests/integration/sipp/scn_*.xml) expects exactly
the responses the scenario file promises: any other response is an
"unexpected message" and fails the call. The event log then confirms the
sequence sipstub sent, To-tags included.
"""
import datetime
import os
import re
import shutil
import tempfile
import unittest

from digest_client import credentials, parse_challenge
import harness
from harness import run_sipp
from scn_helpers import (PeerCase, Peer, SCENARIOS, collect, contacts, cseq, header,
                         response_seq, out_responses, scenario_path,
                         sip_request, status, to_tag, transact,
                         wait_until)

# auth-*.yaml (but auth-401) and registrar.yaml are tested in
# test_auth.py and test_registrar.py
SHIPPED = {
    "auth-401.yaml", "busy.yaml", "dial-a-code.yaml", "early-media.yaml",
    "every-code-sweep.yaml", "forking-199.yaml", "no-answer.yaml",
    "redirect.yaml", "retry-503.yaml", "timeout.yaml",
    "prack.yaml",  # tests in test_prack.py (TestScenario)
    "auth-forever.yaml", "auth-md5-first.yaml", "auth-stale.yaml",
    "registrar.yaml",
    "callback.yaml",  # tests in test_callback.py
    # tested in test_requests_sent.py and test_session_timer.py
    "hold-resume.yaml", "session-timer.yaml",
    # tested in test_expect.py
    "expect-auth-retry.yaml", "expect-cancel.yaml", "expect-prack.yaml",
    "expect-redirect.yaml",
    # tested in test_subs.py, test_refer.py, test_publish.py, test_info.py
    "subscribe-mwi.yaml", "refer.yaml", "publish.yaml", "info-dtmf.yaml",
    # media: tested in test_media.py
    "echo.yaml", "srtp-required.yaml", "announcement.yaml",
    "rtp-timeout.yaml",
}

SDP = ("v=0\r\n"
       "o=test 1 1 IN IP4 127.0.0.1\r\n"
       "s=-\r\n"
       "c=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\n"
       "m=audio 40000 RTP/AVP 0 8 101\r\n"
       "a=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:8 PCMA/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\n")


def ts(e):
    return datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")


def codes(seq):
    return [c for c, _ in seq]


class ScenarioCase(PeerCase):
    """sipstub started with one shipped scenario file."""

    scenario_file = None

    def setUp(self):
        if self.scenario_file:
            self.scenario = scenario_path(self.scenario_file)
        super().setUp()

    def sipp(self, xml, service="alice", transport="u1", **kw):
        rc, out = run_sipp(xml, self.stub.addr, transport, service=service,
                           **kw)
        self.assertEqual(rc, 0, "SIPp %s failed:\n%s" % (xml, out))

    def wait_sip(self, timeout=10.0, **kw):
        """Wait until the event log has a SIP event with these fields."""
        return self.stub.wait_event(
            lambda e: e.get("event") == "sip" and
            all(e.get(k) == v for k, v in kw.items()), timeout=timeout)

    def invite_calls(self):
        """Call-IDs of the INVITEs sipstub received, in order."""
        out = []
        for e in self.stub.sip(dir="in", kind="request", method="INVITE"):
            if e["call_id"] not in out:
                out.append(e["call_id"])
        return out

    def invite_raw(self, p, user, headers=(), body=SDP, timeout=5.0):
        """A raw INVITE; returns (request text, responses to it)."""
        inv = sip_request(p, "INVITE", "sip:%s@%s" % (user, self.stub.addr),
                          headers=headers, body=body)
        return inv, transact(p, inv, timeout=timeout)

    def ack_raw(self, p, inv, final):
        """ACK of a non-2xx final response (same branch, RFC 3261 17.1.1.3)"""
        via = header(inv, "Via")[0]
        frm = header(inv, "From")[0]
        lines = ["ACK %s SIP/2.0" % inv.split(" ")[1],
                 "Via: %s" % via,
                 "Max-Forwards: 70",
                 "From: %s" % frm,
                 "To: %s" % header(final, "To")[0],
                 "Call-ID: %s" % header(inv, "Call-ID")[0],
                 "CSeq: %d ACK" % cseq(inv)[0],
                 "Content-Length: 0"]
        p.send("\r\n".join(lines) + "\r\n\r\n")


class Coverage(unittest.TestCase):

    def test_every_shipped_scenario_has_tests(self):
        files = {f for f in os.listdir(SCENARIOS) if f.endswith(".yaml")}
        self.assertEqual(files, SHIPPED,
                         "scenarios/ changed: add tests for new files")


class Busy(ScenarioCase):
    """busy.yaml: INVITE -> 100, 486."""
    scenario_file = "busy.yaml"

    def check(self, transport):
        self.wait_sip(dir="in", method="ACK")
        self.assertEqual(codes(response_seq(self.stub, "INVITE")),
                         [100, 486])
        busy = out_responses(self.stub, "INVITE")[-1]
        self.assertEqual((busy["code"], busy["reason"], busy["transport"]),
                         (486, "Busy Here", transport))

    def test_udp(self):
        self.sipp("scn_invite_busy.xml")
        self.check("UDP")

    def test_tcp(self):
        self.sipp("scn_invite_busy.xml", transport="t1")
        self.check("TCP")


class NoAnswer(ScenarioCase):
    """no-answer.yaml: 100, 180, rings (SIPp waits 1.5 s and fails on
    anything that arrives); CANCEL -> 200, INVITE -> 487."""
    scenario_file = "no-answer.yaml"

    def check(self):
        self.wait_sip(dir="in", method="ACK")
        inv = response_seq(self.stub, "INVITE")
        self.assertEqual(codes(inv), [100, 180, 487])
        # RFC 3261 8.2.6.2: one To-tag for all responses but the 100
        self.assertIsNotNone(inv[1][1])
        self.assertEqual(inv[1][1], inv[2][1])
        self.assertEqual(codes(response_seq(self.stub, "CANCEL")), [200])

    def test_cancel_udp(self):
        self.sipp("scn_invite_noanswer.xml")
        self.check()

    def test_cancel_tcp(self):
        self.sipp("scn_invite_noanswer.xml", transport="t1")
        self.check()

    def test_stop_while_ringing(self):
        # SIGTERM with a call ringing: tearDown checks exit 0, no leak
        p = self.peer()
        inv = sip_request(p, "INVITE", "sip:alice@%s" % self.stub.addr,
                          body=SDP)
        p.send(inv)
        got = [p.recv(5.0), p.recv(5.0)]
        self.assertEqual([status(m) for m in got], [100, 180], got)


class Timeout(ScenarioCase):
    """timeout.yaml: INVITE gets only 100; OPTIONS and REGISTER get 100
    and never a final response."""
    scenario_file = "timeout.yaml"

    def test_invite_only_100_until_cancel(self):
        self.sipp("scn_invite_timeout.xml")
        self.wait_sip(dir="in", method="ACK")
        self.assertEqual(codes(response_seq(self.stub, "INVITE")),
                         [100, 487])

    def test_options_and_register_get_no_final(self):
        p = self.peer()
        opt = sip_request(p, "OPTIONS", "sip:alice@%s" % self.stub.addr)
        reg = sip_request(p, "REGISTER", "sip:%s" % self.stub.addr)
        p.send(opt)
        p.send(reg)
        got = collect(p, timeout=3.0)   # until 3 s pass without any
        self.assertEqual(sorted(cseq(m)[1] for m in got),
                         ["OPTIONS", "REGISTER"], got)
        self.assertEqual([status(m) for m in got], [100, 100], got)
        for m in ("OPTIONS", "REGISTER"):
            self.assertEqual(codes(response_seq(self.stub, m)), [100])


class Redirect(ScenarioCase):
    """redirect.yaml: 302 with three Contacts, the first sip:200@sipstub
    with q=0.9."""
    scenario_file = "redirect.yaml"

    def test_sipp_follows_redirect(self):
        self.sipp("scn_invite_redirect.xml")
        self.wait_sip(dir="out", method="BYE", code=200)
        calls = self.invite_calls()
        self.assertEqual(len(calls), 1)
        first = [e for e in out_responses(self.stub, "INVITE")
                 if e["cseq"] == 1]
        second = [e for e in out_responses(self.stub, "INVITE")
                  if e["cseq"] == 2]
        self.assertEqual(sorted({e["code"] for e in first}), [100, 302])
        self.assertEqual(sorted({e["code"] for e in second}), [100, 200])
        req2 = [e for e in self.stub.sip(dir="in", method="INVITE")
                if e["cseq"] == 2]
        self.assertTrue(req2[0]["uri"].startswith("sip:200@"), req2)

    def test_contacts(self):
        p = self.peer()
        inv, resp = self.invite_raw(p, "alice")
        self.assertEqual([status(r) for r in resp], [100, 302], resp)
        self.ack_raw(p, inv, resp[-1])
        c = contacts(resp[-1])
        self.assertEqual(len(c), 3, c)
        here = re.escape(self.stub.addr)
        self.assertRegex(c[0], r"^<sip:200@%s>\s*;\s*q=0\.9$" % here)
        self.assertRegex(c[1], r"^<sip:486@%s>\s*;\s*q=0\.5$" % here)
        self.assertRegex(c[2], r"^<sip:603@%s>\s*;\s*q=0\.1$" % here)
        self.assertTrue(resp[-1].startswith("SIP/2.0 302 Moved Temporarily"))


class EarlyMedia(ScenarioCase):
    """early-media.yaml: 183 with SDP, 200 about 3 s later."""
    scenario_file = "early-media.yaml"

    def test_udp(self):
        self.sipp("scn_invite_early_media.xml")
        self.wait_sip(dir="out", method="BYE", code=200)
        seq = response_seq(self.stub, "INVITE")
        self.assertEqual(codes(seq), [100, 183, 200])
        self.assertIsNotNone(seq[1][1])
        self.assertEqual(seq[1][1], seq[2][1])    # one dialog
        out = out_responses(self.stub, "INVITE")
        t183 = ts([e for e in out if e["code"] == 183][0])
        t200 = ts([e for e in out if e["code"] == 200][0])
        # the 3 s delay of the scenario (a lower bound only)
        self.assertGreaterEqual((t200 - t183).total_seconds(), 2.5)


class Forking199(ScenarioCase):
    """forking-199.yaml: 180 tag A, 180 tag B, 199 tag A, 200 tag B."""
    scenario_file = "forking-199.yaml"

    def check_forked(self, with_199):
        bye = self.wait_sip(dir="out", method="BYE", code=200)
        seq = response_seq(self.stub, "INVITE")
        self.assertEqual(len(seq), 5 if with_199 else 4, seq)
        a, b = seq[1][1], seq[2][1]
        self.assertIsNotNone(a)
        self.assertIsNotNone(b)
        self.assertNotEqual(a, b)
        want = [(100, None), (180, a), (180, b)]
        if with_199:
            want.append((199, a))
        want.append((200, b))
        self.assertEqual(seq, want)
        # the ACK and the BYE go on dialog B
        acks = self.stub.sip(dir="in", method="ACK")
        self.assertTrue(acks)
        self.assertEqual({e.get("to_tag") for e in acks}, {b})
        byes = self.stub.sip(dir="in", method="BYE")
        self.assertEqual({e.get("to_tag") for e in byes}, {b})
        self.assertEqual(bye["to_tag"], b)

    def test_supported_199_udp(self):
        self.sipp("scn_invite_forking_199.xml")
        self.check_forked(True)
        self.assertEqual(
            [e for e in self.stub.events() if e.get("event") == "warning"],
            [])

    def test_supported_199_tcp(self):
        self.sipp("scn_invite_forking_199.xml", transport="t1")
        self.check_forked(True)

    def test_without_supported_199(self):
        # check-199: true -> no 199 to a client without Supported: 199,
        # and the event log says why
        self.sipp("scn_invite_forking_no199.xml")
        self.check_forked(False)
        warn = [e for e in self.stub.events() if e.get("event") == "warning"]
        self.assertEqual(len(warn), 1, warn)
        self.assertIn("199", warn[0].get("message", ""))


class Retry503(ScenarioCase):
    """retry-503.yaml: first INVITE 503 with Retry-After: 5, then calls."""
    scenario_file = "retry-503.yaml"

    def test_503_then_call(self):
        self.sipp("scn_invite_503.xml")
        self.sipp("sn:uac")
        self.wait_sip(dir="out", method="BYE", code=200)
        calls = self.invite_calls()
        self.assertEqual(len(calls), 2)
        self.assertEqual(codes(response_seq(self.stub, "INVITE", calls[0])),
                         [100, 503])
        self.assertEqual(codes(response_seq(self.stub, "INVITE", calls[1])),
                         [100, 180, 200])

    def test_retry_after_header(self):
        p = self.peer()
        inv, resp = self.invite_raw(p, "alice")
        self.assertEqual([status(r) for r in resp], [100, 503], resp)
        self.ack_raw(p, inv, resp[-1])
        self.assertEqual(header(resp[-1], "Retry-After"), ["5"])
        self.assertTrue(resp[-1].startswith("SIP/2.0 503 Service "
                                            "Unavailable\r\n"))


class Auth401(ScenarioCase):
    """auth-401.yaml: REGISTER 401 then 200, INVITE 407 then 200, per
    Call-ID, realm sipstub.test."""
    scenario_file = "auth-401.yaml"

    def test_register_sipp_udp(self):
        self.sipp("scn_register_auth.xml")
        self.check_register()

    def test_register_sipp_tcp(self):
        self.sipp("scn_register_auth.xml", transport="t1")
        self.check_register()

    def check_register(self):
        self.wait_sip(dir="out", method="REGISTER", code=200)
        out = out_responses(self.stub, "REGISTER")
        self.assertEqual({(e["cseq"], e["code"]) for e in out},
                         {(1, 401), (2, 200)})
        self.assertEqual(len({e["call_id"] for e in out}), 1)

    def test_invite_sipp(self):
        self.sipp("scn_invite_auth.xml")
        self.wait_sip(dir="out", method="BYE", code=200)
        self.assertEqual(len(self.invite_calls()), 1)
        out = out_responses(self.stub, "INVITE")
        self.assertEqual(sorted({e["code"] for e in out if e["cseq"] == 1}),
                         [100, 407])
        self.assertEqual(sorted({e["code"] for e in out if e["cseq"] == 2}),
                         [100, 180, 200])

    def test_challenges(self):
        p = self.peer()
        ruri = "sip:%s" % self.stub.addr
        reg = sip_request(p, "REGISTER", ruri)
        r = transact(p, reg)
        self.assertEqual([status(m) for m in r], [401], r)
        www = header(r[0], "WWW-Authenticate")
        self.assertEqual(len(www), 2, www)
        self.assertRegex(www[0], r'^Digest .*realm="sipstub\.test"')
        self.assertRegex(www[0], r'algorithm=MD5')
        self.assertRegex(www[1], r'algorithm=SHA-256')
        chall = parse_challenge(www[0])
        cid = header(reg, "Call-ID")[0]
        # a wrong password gets 403, the right one 200
        bad = credentials(chall, "REGISTER", ruri, "alice", "guess")
        r = transact(p, sip_request(p, "REGISTER", ruri, callid=cid,
                                    cseq=2, headers=[bad]))
        self.assertEqual([status(m) for m in r], [403], r)
        good = credentials(chall, "REGISTER", ruri, "alice", "secret",
                           nc=2)
        r = transact(p, sip_request(p, "REGISTER", ruri, callid=cid,
                                    cseq=3, headers=[good]))
        self.assertEqual([status(m) for m in r], [200], r)

        inv, r = self.invite_raw(p, "alice")
        self.assertEqual([status(m) for m in r], [100, 407], r)
        self.ack_raw(p, inv, r[-1])
        pa = header(r[-1], "Proxy-Authenticate")
        self.assertEqual(len(pa), 2, pa)
        self.assertRegex(pa[0], r'^Digest .*realm="sipstub\.test"')


class EveryCodeSweep(ScenarioCase):
    """every-code-sweep.yaml: the Nth OPTIONS gets the Nth code."""
    scenario_file = "every-code-sweep.yaml"

    # registered phrases the issue names (all codes in the sweep)
    PHRASES = {
        204: "No Notification", 380: "Alternative Service",
        409: "Conflict", 411: "Length Required",
        417: "Unknown Resource-Priority", 425: "Bad Alert Message",
        439: "First Hop Lacks Outbound Support",
        440: "Max-Breadth Exceeded", 469: "Bad Info Package",
        470: "Consent Needed", 494: "Security Agreement Required",
        555: "Push Notification Service Not Supported",
        580: "Precondition Failure", 607: "Unwanted", 608: "Rejected",
    }

    def sweep_codes(self):
        with open(self.scenario) as f:
            text = f.read()
        pairs = re.findall(r"nth:\s*(\d+)\s*}\s*,\s*reply:\s*(\d{3})", text)
        self.assertGreater(len(pairs), 60)
        self.assertEqual([int(n) for n, _ in pairs],
                         list(range(1, len(pairs) + 1)))
        return [int(c) for _, c in pairs]

    def test_retransmission_not_counted(self):
        # RFC 3261 17.2.2: a retransmitted OPTIONS gets the same response
        # again and is not the next OPTIONS of the sweep
        want = self.sweep_codes()[:3]
        p = self.peer()
        req = sip_request(p, "OPTIONS", "sip:alice@%s" % self.stub.addr)
        first = transact(p, req)
        again = transact(p, req)
        self.assertEqual([status(m) for m in first + again],
                         [want[0], want[0]])
        self.assertEqual(to_tag(first[0]), to_tag(again[0]))
        r = transact(p, sip_request(p, "OPTIONS",
                                    "sip:alice@%s" % self.stub.addr))
        self.assertEqual([status(m) for m in r], [want[1]])

    def test_sweep(self):
        want = self.sweep_codes() + [200]   # then dial-a-code: 200
        p = self.peer()
        got = []
        for _ in want:
            r = transact(p, sip_request(p, "OPTIONS",
                                        "sip:alice@%s" % self.stub.addr))
            got.append(status(r[-1]) if r else None)
        self.assertEqual(got, want)
        # the event log is written once per event-loop turn
        wait_until(lambda: len(out_responses(self.stub, "OPTIONS")) >=
                   len(want))
        out = out_responses(self.stub, "OPTIONS")
        self.assertEqual([e["code"] for e in out], want)
        generic = {"Provisional", "Success", "Redirection", "Client Error",
                   "Server Error", "Global Failure", "Unknown"}
        for e in out:
            self.assertNotIn(e["reason"], generic, e)
            if e["code"] in self.PHRASES:
                self.assertEqual(e["reason"], self.PHRASES[e["code"]])
        self.assertTrue(set(self.PHRASES) <= set(want))


class DialACodeExplicit(ScenarioCase):
    """dial-a-code.yaml given on the command line behaves like the
    built-in default."""
    scenario_file = "dial-a-code.yaml"

    def test_486(self):
        self.sipp("scn_invite_busy.xml", service="486")
        self.wait_sip(dir="in", method="ACK")
        self.assertEqual(codes(response_seq(self.stub, "INVITE")),
                         [100, 486])

    def test_call(self):
        self.sipp("sn:uac", service="alice")
        self.wait_sip(dir="out", method="BYE", code=200)
        self.assertEqual(codes(response_seq(self.stub, "INVITE")),
                         [100, 180, 200])

    def test_options_code(self):
        p = self.peer()
        r = transact(p, sip_request(p, "OPTIONS",
                                    "sip:503@%s" % self.stub.addr))
        self.assertEqual([status(m) for m in r], [503], r)


class UserScenarioFallback(ScenarioCase):
    """A user scenario `INVITE: [100, 180, 486]`: INVITE follows it, the
    requests no rule matches get the built-in dial-a-code answer."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scn-user-")
        cls.scenario = os.path.join(cls.tmp, "user.yaml")
        with open(cls.scenario, "w") as f:
            f.write("INVITE: [100, 180, 486]\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_invite(self):
        self.sipp("scn_invite_180_486.xml")
        self.wait_sip(dir="in", method="ACK")
        self.assertEqual(codes(response_seq(self.stub, "INVITE")),
                         [100, 180, 486])

    def test_other_methods_fall_back(self):
        p = self.peer()
        for method, ruri, want in (
                ("OPTIONS", "sip:alice@%s", 200),
                ("REGISTER", "sip:alice@%s", 200),
                ("MESSAGE", "sip:alice@%s", 200),
                ("OPTIONS", "sip:404@%s", 404),
                ("FOO", "sip:alice@%s", 501)):
            r = transact(p, sip_request(p, method, ruri % self.stub.addr))
            self.assertEqual([status(m) for m in r], [want],
                             "%s %s: %r" % (method, ruri, r))


if __name__ == "__main__":
    harness.main()
