"""Dial-a-code: every status code of the users' overview (plus the other
IANA-registered 425 and 608) through the built-in default scenario.

INVITE sip:N@ and OPTIONS sip:N@ are driven by SIPp over UDP and TCP, one
SIPp run per class of codes with the code of each call injected from a
CSV file (-inf); sipstub's event log then shows that each call got
exactly its code, with the registered reason phrase. Raw UDP requests
check the headers each code needs (issue 3, "Dial-a-code").
"""
import os
import re
import shutil
import tempfile
import unittest

from harness import (SDP_OFFER, SIPP_DIR, SipstubTestCase, UdpClient, header, request,
                     run_sipp, sipp_inf, status, to_tag, recv_until)

# The IANA "Response Codes" registry of the SIP Parameters, and the
# RFC 2543 codes 409 and 411 that the overview still lists.
REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    424: "Bad Location Information",
    425: "Bad Alert Message",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    430: "Flow Failed",
    433: "Anonymity Disallowed",
    436: "Bad Identity Info",
    437: "Unsupported Credential",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

# ../shared/reference/sip-responses-overview.de.txt, code by code
OVERVIEW = [
    100, 180, 181, 182, 183, 199,
    200, 202, 204,
    300, 301, 302, 305, 380,
    400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413,
    414, 415, 416, 417, 420, 421, 422, 423, 424, 428, 429, 430, 433, 436,
    437, 438, 439, 440, 469, 470, 480, 481, 482, 483, 484, 485, 486, 487,
    488, 489, 491, 493, 494,
    500, 501, 502, 503, 504, 505, 513, 555, 580,
    600, 603, 604, 606, 607,
]

CODES = sorted(set(OVERVIEW) | {425, 608})
RINGING = [180, 181, 182, 183]
SUCCESS = [200, 202, 204]
FINAL = [c for c in CODES if c >= 300]




def dedup(codes):
    """Codes without consecutive repeats (UDP retransmissions)."""
    out = []
    for c in codes:
        if not out or out[-1] != c:
            out.append(c)
    return out


def body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


def sdp_audio(msg):
    """(port, payload types) of the first m=audio line of a body."""
    for line in body(msg).splitlines():
        m = re.match(r"m=audio (\d+) RTP/AVP((?: \d+)+)\s*$", line)
        if m:
            return int(m.group(1)), m.group(2).split()
    return None


class SippCodes(SipstubTestCase):
    """Each class of codes through SIPp, over UDP and over TCP."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="sipstub-codes-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def sipp(self, xml, codes, transport, timeout=60):
        inf = sipp_inf(codes, self.tmp)
        rc, out = run_sipp(xml, self.stub.addr, transport, calls=len(codes),
                           timeout=timeout,
                           extra=["-inf", inf, "-r", "100", "-l", "100"])
        self.assertEqual(rc, 0, "SIPp %s %s:\n%s" % (xml, transport, out))

    def calls(self, method, transport):
        """{code dialled: [events of that Call-ID]} for the requests of
        method that sipstub received over transport."""
        evs = self.stub.sip()
        by_callid = {}
        for e in evs:
            by_callid.setdefault(e.get("call_id"), []).append(e)
        out = {}
        for e in evs:
            if (e["dir"] == "in" and e.get("kind") == "request" and
                    e.get("method") == method and e.get("cseq") == 1 and
                    e["transport"] == transport):
                m = re.match(r"sips?:(\d{3})@", e["uri"])
                self.assertIsNotNone(m, e)
                code = int(m.group(1))
                # a retransmission (a slow run) is the same Call-ID
                self.assertIn(out.get(code, by_callid[e["call_id"]]),
                              [by_callid[e["call_id"]]],
                              "code %d dialled twice" % code)
                out[code] = by_callid[e["call_id"]]
        return out

    @staticmethod
    def responses(evs, method):
        return [e for e in evs if e["dir"] == "out" and
                e.get("kind") == "response" and e.get("method") == method]

    def check_reasons(self, resps):
        for r in resps:
            self.assertEqual(r.get("reason"), REASONS[r["code"]],
                             "reason phrase of %d" % r["code"])

    def check_invite_calls(self, codes, transport, expect):
        """expect(code) -> the sequence of distinct response codes sipstub
        must send to the INVITE of that call."""
        calls = self.calls("INVITE", transport)
        self.assertEqual(sorted(calls), sorted(codes))
        for code in codes:
            evs = calls[code]
            with self.subTest(code=code, transport=transport):
                invs = [e for e in evs if e["dir"] == "in" and
                        e.get("method") == "INVITE" and
                        e.get("kind") == "request"]
                # retransmissions (a slow run) share the branch
                self.assertEqual(len({e["branch"] for e in invs}), 1,
                                 "INVITEs received")
                resps = self.responses(evs, "INVITE")
                self.assertEqual(dedup([r["code"] for r in resps]),
                                 expect(code))
                self.check_reasons(resps)
                # the ACK came in and nothing answered it
                acks = [e for e in evs if e["dir"] == "in" and
                        e.get("method") == "ACK"]
                self.assertEqual(len(acks), 1, "ACKs received")
                self.assertEqual(self.responses(evs, "ACK"), [])
                finals = [r for r in resps if r["code"] >= 200]
                self.assertTrue(finals[-1].get("to_tag"),
                                "final response without To-tag")

    def check_cancelled(self, codes, transport):
        calls = self.calls("INVITE", transport)
        for code in codes:
            evs = calls[code]
            with self.subTest(code=code, transport=transport):
                resps = self.responses(evs, "CANCEL")
                self.assertEqual([(r["code"], r["reason"]) for r in resps],
                                 [(200, "OK")])

    # --- 3xx to 6xx: 100, then N as the final response, ACK ---

    def final(self, transport):
        self.sipp("invite_final.xml", FINAL, transport)
        tp = "UDP" if transport == "u1" else "TCP"
        self.check_invite_calls(FINAL, tp, lambda c: [100, c])

    def test_final_udp(self):
        self.final("u1")

    def test_final_tcp(self):
        self.final("t1")

    # --- 2xx: N with an SDP answer, ACK, BYE, 200 ---

    def success(self, transport):
        tp = "UDP" if transport == "u1" else "TCP"
        self.sipp("invite_2xx.xml", SUCCESS, transport)
        self.check_invite_calls(SUCCESS, tp, lambda c: [100, c])
        calls = self.calls("INVITE", tp)
        for code in SUCCESS:
            with self.subTest(code=code):
                byes = self.responses(calls[code], "BYE")
                self.assertEqual([(r["code"], r["reason"]) for r in byes],
                                 [(200, "OK")])
                final = [r for r in self.responses(calls[code], "INVITE")
                         if r["code"] == code][0]
                self.assertEqual(byes[0]["to_tag"], final["to_tag"])

    def test_success_udp(self):
        self.success("u1")

    def test_success_tcp(self):
        self.success("t1")

    # --- 180 to 183: 100, N, ringing until CANCEL: 200, 487, ACK ---

    def ringing(self, transport):
        tp = "UDP" if transport == "u1" else "TCP"
        self.sipp("invite_ringing.xml", RINGING, transport)
        self.check_invite_calls(RINGING, tp, lambda c: [100, c, 487])
        self.check_cancelled(RINGING, tp)

    def test_ringing_udp(self):
        self.ringing("u1")

    def test_ringing_tcp(self):
        self.ringing("t1")

    # --- 100: a hung server until CANCEL ---

    def hung(self, transport):
        tp = "UDP" if transport == "u1" else "TCP"
        self.sipp("invite_hung.xml", [100], transport)
        self.check_invite_calls([100], tp, lambda c: [100, 487])
        self.check_cancelled([100], tp)

    def test_hung_udp(self):
        self.hung("u1")

    def test_hung_tcp(self):
        self.hung("t1")

    # --- non-INVITE: OPTIONS sip:N@ gets N directly ---

    def options(self, transport):
        tp = "UDP" if transport == "u1" else "TCP"
        codes = SUCCESS + FINAL
        self.sipp("options_code.xml", codes, transport)
        calls = self.calls("OPTIONS", tp)
        self.assertEqual(sorted(calls), sorted(codes))
        for code in codes:
            with self.subTest(code=code, transport=tp):
                resps = self.responses(calls[code], "OPTIONS")
                self.assertEqual([r["code"] for r in resps], [code])
                self.check_reasons(resps)

    def test_options_udp(self):
        self.options("u1")

    def test_options_tcp(self):
        self.options("t1")


def has_token(values):
    """At least one non-empty comma-separated element."""
    return any(t.strip() for v in values for t in v.split(","))


def check_contact(tc, resp):
    vals = header(resp, "Contact")
    tc.assertTrue(vals, "no Contact")
    tc.assertTrue(all(re.search(r"<sips?:[^>]+>", v) for v in vals), vals)


def check_challenge(tc, resp, name):
    # dial-a-code's 401/407 rules: SHA-256, then MD5 (RFC 8760)
    vals = header(resp, name)
    tc.assertEqual(len(vals), 2, "%s: %r" % (name, vals))
    for v, alg in zip(vals, ("SHA-256", "MD5")):
        tc.assertRegex(v, r"^Digest\s")
        tc.assertRegex(v, r'realm="sipstub"')
        tc.assertRegex(v, r'nonce="[0-9a-f]{56}"')
        tc.assertRegex(v, r"algorithm=%s," % alg)


def check_uint(tc, resp, name):
    vals = header(resp, name)
    tc.assertEqual(len(vals), 1, "%s: %r" % (name, vals))
    tc.assertRegex(vals[0], r"^\d+(\s*;.*)?$")


def check_380(tc, resp):
    check_contact(tc, resp)
    text = body(resp)
    tc.assertTrue(text.strip(), "380 without a body describing the "
                  "alternative service")
    tc.assertTrue(header(resp, "Content-Type"), "380 body without type")
    tc.assertEqual(int(header(resp, "Content-Length")[0]),
                   len(text.encode()))


# The headers the issue lists per code (INVITE responses)
HEADER_CHECKS = {
    300: check_contact,
    301: check_contact,
    302: check_contact,
    305: check_contact,
    380: check_380,
    485: check_contact,
    401: lambda tc, r: check_challenge(tc, r, "WWW-Authenticate"),
    407: lambda tc, r: check_challenge(tc, r, "Proxy-Authenticate"),
    405: lambda tc, r: tc.assertIn("INVITE", ",".join(header(r, "Allow"))),
    415: lambda tc, r: tc.assertTrue(has_token(header(r, "Accept")),
                                     header(r, "Accept")),
    420: lambda tc, r: tc.assertTrue(has_token(header(r, "Unsupported")),
                                     "Unsupported needs an option-tag "
                                     "(RFC 3261 20.40): %r" %
                                     header(r, "Unsupported")),
    421: lambda tc, r: tc.assertTrue(has_token(header(r, "Require")),
                                     header(r, "Require")),
    422: lambda tc, r: check_uint(tc, r, "Min-SE"),
    423: lambda tc, r: check_uint(tc, r, "Min-Expires"),
    # RFC 6086 7.2.2: Recv-Info may be empty, but it must be there
    469: lambda tc, r: tc.assertEqual(len(header(r, "Recv-Info")), 1),
    489: lambda tc, r: tc.assertTrue(has_token(header(r, "Allow-Events")),
                                     header(r, "Allow-Events")),
    494: lambda tc, r: tc.assertTrue(has_token(header(r, "Security-Server")),
                                     header(r, "Security-Server")),
    480: lambda tc, r: check_uint(tc, r, "Retry-After"),
    503: lambda tc, r: check_uint(tc, r, "Retry-After"),
}


class RawCodes(SipstubTestCase):
    """Hand-made UDP requests: exact status lines and per-code headers."""

    def setUp(self):
        super().setUp()
        self.c = UdpClient()
        self.dest = ("127.0.0.1", self.stub.port)

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def uri(self, user):
        return "sip:%s@127.0.0.1:%d" % (user, self.stub.port)

    def invite_final(self, code):
        """INVITE sip:code@, every response up to the final one, ACKed
        in the INVITE transaction. Returns (responses, final)."""
        branch = "z9hG4bK-raw-%d" % code
        callid = "raw-%d-%d@127.0.0.1" % (code, self.c.port)
        self.c.send(request("INVITE", self.uri(code), self.c.port,
                            branch=branch, callid=callid, body=SDP_OFFER),
                    self.dest)
        msgs, final = recv_until(
            self.c, lambda m: (status(m) or 0) >= 200, timeout=5)
        if final:
            self.c.send(request("ACK", self.uri(code), self.c.port,
                                branch=branch, callid=callid,
                                to_tag=to_tag(final)), self.dest)
        return msgs, final

    def test_final_status_lines_and_headers(self):
        for code in FINAL:
            with self.subTest(code=code):
                msgs, final = self.invite_final(code)
                self.assertIsNotNone(final, "no final response to %d" % code)
                self.assertEqual([status(m) for m in msgs], [100, code])
                self.assertEqual(msgs[0].split("\r\n")[0],
                                 "SIP/2.0 100 Trying")
                self.assertEqual(final.split("\r\n")[0],
                                 "SIP/2.0 %d %s" % (code, REASONS[code]))
                self.assertTrue(to_tag(final))
                self.assertEqual(header(final, "Call-ID"),
                                 ["raw-%d-%d@127.0.0.1" % (code,
                                                           self.c.port)])
                self.assertEqual(header(final, "CSeq"), ["1 INVITE"])
                check = HEADER_CHECKS.get(code)
                if check:
                    check(self, final)
                elif code != 380:
                    self.assertEqual(body(final), "")

    def test_unregistered_codes_get_a_class_reason(self):
        for code in (399, 499, 599, 699):
            with self.subTest(code=code):
                msgs, final = self.invite_final(code)
                self.assertIsNotNone(final, "no final response to %d" % code)
                self.assertEqual(status(final), code)
                line = final.split("\r\n")[0]
                self.assertRegex(line, r"^SIP/2\.0 %d \S" % code)

    def test_183_carries_sdp_answer(self):
        branch, callid = "z9hG4bK-raw-183", "raw-183@127.0.0.1"
        self.c.send(request("INVITE", self.uri(183), self.c.port,
                            branch=branch, callid=callid, body=SDP_OFFER),
                    self.dest)
        msgs, r183 = recv_until(self.c, lambda m: status(m) == 183)
        self.assertIsNotNone(r183, msgs)
        self.assertEqual(r183.split("\r\n")[0], "SIP/2.0 183 Session Progress")
        self.assertEqual(header(r183, "Content-Type"), ["application/sdp"])
        audio = sdp_audio(r183)
        self.assertIsNotNone(audio, body(r183))
        self.assertNotEqual(audio[0], 0)
        self.assertTrue(set(audio[1]) & {"0", "8"}, audio)
        self.assertTrue(to_tag(r183))
        # still ringing: nothing more until the CANCEL
        self.assertEqual(self.c.recv_all(1.0), [])
        self.c.send(request("CANCEL", self.uri(183), self.c.port,
                            branch=branch, callid=callid), self.dest)
        msgs, r487 = recv_until(self.c, lambda m: status(m) == 487)
        self.assertEqual([status(m) for m in msgs], [200, 487])
        self.c.send(request("ACK", self.uri(183), self.c.port, branch=branch,
                            callid=callid, to_tag=to_tag(r487)), self.dest)

    def test_2xx_carry_sdp_answer_and_contact(self):
        for code in SUCCESS:
            with self.subTest(code=code):
                callid = "raw-2xx-%d@127.0.0.1" % code
                self.c.send(request("INVITE", self.uri(code), self.c.port,
                                    callid=callid, body=SDP_OFFER),
                            self.dest)
                msgs, final = recv_until(
                    self.c, lambda m: (status(m) or 0) >= 200)
                self.assertIsNotNone(final, msgs)
                self.assertEqual(final.split("\r\n")[0],
                                 "SIP/2.0 %d %s" % (code, REASONS[code]))
                check_contact(self, final)
                self.assertEqual(header(final, "Content-Type"),
                                 ["application/sdp"])
                audio = sdp_audio(final)
                self.assertIsNotNone(audio, body(final))
                self.assertNotEqual(audio[0], 0)
                tag = to_tag(final)
                self.c.send(request("ACK", self.uri(code), self.c.port,
                                    callid=callid, to_tag=tag), self.dest)
                self.c.send(request("BYE", self.uri(code), self.c.port,
                                    callid=callid, cseq=2, to_tag=tag),
                            self.dest)
                msgs, bye200 = recv_until(
                    self.c, lambda m: header(m, "CSeq") == ["2 BYE"])
                self.assertIsNotNone(bye200, msgs)
                self.assertEqual(status(bye200), 200)

    def test_options_answered_directly(self):
        for code in SUCCESS + FINAL:
            with self.subTest(code=code):
                self.c.send(request("OPTIONS", self.uri(code), self.c.port),
                            self.dest)
                resp = self.c.recv(3.0)
                self.assertIsNotNone(resp)
                self.assertEqual(resp.split("\r\n")[0],
                                 "SIP/2.0 %d %s" % (code, REASONS[code]))



class SippLists(unittest.TestCase):
    """The SIPp scenarios accept the codes this file dials."""

    def recv_codes(self, name):
        with open(os.path.join(SIPP_DIR, name)) as f:
            return [int(c) for c in
                    re.findall(r'<recv response="(\d+)"', f.read())]

    def test_lists(self):
        self.assertEqual(len(OVERVIEW), len(set(OVERVIEW)))
        self.assertEqual(sorted(REASONS), CODES)
        self.assertEqual(self.recv_codes("invite_final.xml"), [100] + FINAL)
        self.assertEqual(self.recv_codes("options_code.xml"),
                         SUCCESS + FINAL)
        self.assertEqual(self.recv_codes("invite_2xx.xml")[:4],
                         [100] + SUCCESS)
        self.assertEqual(self.recv_codes("invite_ringing.xml")[:5],
                         [100] + RINGING)


if __name__ == "__main__":
    unittest.main()
