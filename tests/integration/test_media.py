"""Media of answered calls (issue 9): RTP echo, SRTP (SDES, each suite,
forged tags and replays dropped and counted), DTMF events, hold and
resume, re-INVITE/UPDATE following the peer, tone/file/silence/none,
payload types and ptime of the offer, late offer, 488 with Warning, and
the --rtp-ports range reused call after call. The peer is rtpprobe
(tests/tools/rtpprobe.c, libsrtp2 with known keys); SIP over a raw UDP
socket (SIPp's TCP flows in test_invite_flows also carry this SDP)."""
import os
import tempfile
import unittest

import harness
from harness import SCENARIOS, Sipstub, SipstubTestCase, header, status
from media_helpers import (KEYLEN, Call, body, crypto, m_line, offer, probe,
                           rtp_port_pair, test_key)


def scn(text):
    """A scenario file with this text (kept until the process ends)."""
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    return f.name


def media_events(stub, callid):
    stub.wait_event(lambda e: e.get("event") == "media" and
                    e.get("call_id") == callid)
    return [e for e in stub.events()
            if e.get("event") == "media" and e.get("call_id") == callid]


class MediaCase(SipstubTestCase):

    def setUp(self):
        super().setUp()
        self.calls = []
        # a call's RTP port is bound again, with RTCP, at its first
        # packet; a packet in that gap is lost. Microseconds in a
        # release build, long enough under valgrind to lose one.
        self.slack = 1 if self.stub.wrapped else 0

    def assertCount(self, expected, got, msg=None):
        self.assertLessEqual(got, expected, msg)
        self.assertGreaterEqual(got, expected - self.slack, msg)

    def tearDown(self):
        for c in self.calls:
            c.close()
        super().tearDown()

    def call(self, sdp, user="200", code=200):
        c = Call(self.stub, user)
        self.calls.append(c)
        r = c.invite(sdp, code)
        self.assertIsNotNone(r, "no response to INVITE")
        self.assertEqual(status(r), code, r)
        return c, r


class Echo(MediaCase):

    def test_echo_plain(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp))
        port, proto, fmts = m_line(body(r))
        self.assertEqual((proto, fmts), ("RTP/AVP", [0, 8, 101]))
        res = probe(lp, port, count=50)
        # every packet back, same payload, our own SSRC and sequence
        self.assertCount(50, res["recv_match"], res)
        if not self.slack:
            self.assertEqual(res["energy_rx"], res["energy_tx"])
        self.assertEqual(res["pts"], [0])
        self.assertTrue(res["seq_ok"], res)
        self.assertNotEqual(res["ssrcs"], [0x12345678])
        c.bye()
        ev = media_events(self.stub, c.callid)[0]
        self.assertCount(50, ev["packets_in"], ev)
        self.assertEqual(ev["packets_out"], ev["packets_in"])
        self.assertEqual((ev["bytes_in"], ev["bytes_out"]),
                         (160 * ev["packets_in"], 160 * ev["packets_out"]))
        self.assertEqual((ev["mode"], ev["srtp"], ev["lost"]),
                         ("echo", False, 0))

    def test_offer_order_and_payload_types_kept(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp, formats=(8, 0, 101)))
        port, _, fmts = m_line(body(r))
        self.assertEqual(fmts, [8, 0, 101])
        res = probe(lp, port, count=10, pt=8)
        self.assertEqual(res["pts"], [8], "echo keeps the payload type")
        c.bye()

    def test_ptime_honoured_in_answer(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp, ptime=30))
        self.assertIn("a=ptime:30\r\n", body(r))
        c.bye()

    def test_rtcp_mux_accepted(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp, extra=["a=rtcp-mux"]))
        self.assertIn("a=rtcp-mux\r\n", body(r))
        c.bye()

    def test_dtmf_events(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp))
        port = m_line(body(r))[0]
        res = probe(lp, port, count=5, dtmf="19#*")
        self.assertEqual(res["pts"], [0], "digits are not echoed")
        self.stub.wait_event(lambda e: e.get("event") == "dtmf" and
                             e.get("digit") == "*")
        got = [(e["call_id"], e["digit"], e["duration"])
               for e in self.stub.events() if e.get("event") == "dtmf"]
        self.assertEqual(got, [(c.callid, d, 100) for d in "19#*"])
        c.bye()
        self.assertEqual(media_events(self.stub, c.callid)[0]["dtmf"],
                         "19#*")

    def test_late_offer_answer_in_ack(self):
        lp = rtp_port_pair()
        c = Call(self.stub)
        self.calls.append(c)
        c.req = None
        from harness import recv_until, request, to_tag
        c.c.send(request("INVITE", c.uri, c.c.port, callid=c.callid),
                 c.dest)
        _, r = recv_until(c.c, lambda m: status(m) == 200)
        port, proto, fmts = m_line(body(r))
        self.assertEqual(fmts, [0, 8, 101])
        c.tag = to_tag(r)
        c.ack(r, offer(lp, formats=(8,)))
        # RTP before the ACK's answer is read would find no peer yet
        self.stub.wait_event(lambda e: e.get("event") == "sip" and
                             e.get("method") == "ACK" and
                             e.get("dir") == "in")
        res = probe(lp, port, count=20, pt=8)
        self.assertCount(20, res["recv_match"], res)
        c.bye()

    def test_hold_stops_echo_resume_restarts(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp))
        port = m_line(body(r))[0]
        self.assertCount(10, probe(lp, port, count=10)["recv_match"])
        r = c.reinvite(offer(lp, direction="sendonly"))
        self.assertIn("a=recvonly\r\n", body(r))
        self.assertEqual(probe(lp, port, count=20)["recv"], 0,
                         "on hold: no echo")
        r = c.reinvite(offer(lp, direction="inactive"))
        self.assertIn("a=inactive\r\n", body(r))
        self.assertEqual(probe(lp, port, count=10)["recv"], 0)
        r = c.reinvite(offer(lp))
        self.assertIn("a=sendrecv\r\n", body(r))
        self.assertEqual(probe(lp, port, count=10)["recv_match"], 10)
        c.bye()


class Srtp(MediaCase):

    def srtp_call(self, suite):
        lp = rtp_port_pair()
        key = test_key(suite)
        # an unknown suite first: the answer takes the first we support
        c, r = self.call(offer(lp, proto="RTP/SAVP",
                               cryptos=[(1, "F8_128_HMAC_SHA1_80", key),
                                        (2, suite, key)]))
        port, proto, _ = m_line(body(r))
        self.assertEqual(proto, "RTP/SAVP")
        cr = crypto(body(r))
        self.assertEqual([(t, s) for t, s, _ in cr], [("2", suite)])
        self.assertNotEqual(cr[0][2], key, "a key of sipstub's own")
        return c, lp, port, key, cr[0][2]

    def test_each_suite_echo_forged_and_replayed_dropped(self):
        for suite in KEYLEN:
            with self.subTest(suite=suite):
                c, lp, port, key, skey = self.srtp_call(suite)
                res = probe(lp, port, count=30, suite=suite, tx_key=key,
                            rx_key=skey, forge=5, replay=3)
                self.assertEqual(res["recv_fail"], 0, res)
                self.assertCount(24, res["recv_match"],
                                 "6 forged never echoed: %s" % res)
                c.bye()
                ev = media_events(self.stub, c.callid)[0]
                self.assertCount(9, ev["srtp_failures"], ev)
                self.assertTrue(ev["srtp"])
                self.assertCount(24, ev["packets_out"], ev)

    def test_savpf_with_rtcp_mux(self):
        suite = "AES_CM_128_HMAC_SHA1_80"
        lp = rtp_port_pair()
        key = test_key(suite)
        c, r = self.call(offer(lp, proto="RTP/SAVPF",
                               cryptos=[(1, suite, key)],
                               extra=["a=rtcp-mux"]))
        port, proto, _ = m_line(body(r))
        self.assertEqual(proto, "RTP/SAVPF")
        self.assertIn("a=rtcp-mux\r\n", body(r))
        res = probe(lp, port, count=10, suite=suite, tx_key=key,
                    rx_key=crypto(body(r))[0][2])
        self.assertCount(10, res["recv_match"], res)
        c.bye()

    def test_hold_stops_srtp_echo(self):
        suite = "AEAD_AES_128_GCM"
        c, lp, port, key, skey = self.srtp_call(suite)
        kw = dict(suite=suite, tx_key=key, rx_key=skey)
        r = c.reinvite(offer(lp, proto="RTP/SAVP", direction="sendonly",
                             cryptos=[(2, suite, key)]))
        self.assertIn("a=recvonly\r\n", body(r))
        self.assertEqual(crypto(body(r))[0][2], skey)
        self.assertEqual(probe(lp, port, count=10, **kw)["recv"], 0)
        c.reinvite(offer(lp, proto="RTP/SAVP", cryptos=[(2, suite, key)]))
        # new sequence numbers: the first run's are replays now
        res = probe(lp, port, count=10, seq=2000, **kw)
        self.assertEqual(res["recv_match"], 10, res)
        self.assertEqual(res["recv_fail"], 0, res)
        c.bye()


class NotAcceptable(MediaCase):

    def check_488(self, sdp, warning, user="200"):
        c = Call(self.stub, user)
        self.calls.append(c)
        r = c.invite(sdp, 488)
        self.assertEqual(status(r), 488, r)
        self.assertIn("488 Not Acceptable Here", r.split("\r\n")[0])
        self.assertEqual(len(header(r, "Warning")), 1, r)
        self.assertIn(warning, header(r, "Warning")[0])
        self.assertEqual(header(r, "Content-Length"), ["0"])

    def test_no_common_codec(self):
        self.check_488(offer(rtp_port_pair(), formats=(18,)),
                       '305 sipstub "Incompatible media format"')

    def test_stream_port_zero(self):
        self.check_488(offer(0), "305 ")

    def test_unknown_suites_only(self):
        self.check_488(offer(rtp_port_pair(), proto="RTP/SAVP",
                             cryptos=[(1, "F8_128_HMAC_SHA1_80", "QUJD")]),
                       "306 ")

    def test_bad_key_and_malformed_crypto(self):
        # a key of the wrong size: 488 (RFC 3264 6: the offer is not
        # acceptable); lines with an MKI or no key are skipped
        suite = "AES_CM_128_HMAC_SHA1_80"
        c = Call(self.stub)
        self.calls.append(c)
        r = c.invite(offer(rtp_port_pair(), proto="RTP/SAVP",
                           cryptos=[(1, suite, "QUJDRA==")]), 488)
        self.assertEqual(status(r), 488, r)
        self.check_488(offer(rtp_port_pair(), proto="RTP/SAVP",
                             extra=["a=crypto:1 %s inline:%s|2^20|1:4" %
                                    (suite, test_key(suite)),
                                    "a=crypto:2 %s" % suite,
                                    "a=crypto:x"]), "306 ")

    def test_srtp_required_dial_a_code(self):
        self.check_488(offer(rtp_port_pair()), '399 sipstub "SRTP required"',
                       user="srtp")


class Required(MediaCase):
    scenario = os.path.join(SCENARIOS, "srtp-required.yaml")

    def test_plain_offer_488(self):
        c = Call(self.stub)
        self.calls.append(c)
        r = c.invite(offer(rtp_port_pair()), 488)
        self.assertEqual(header(r, "Warning"),
                         ['399 sipstub "SRTP required"'])

    def test_sdes_offer_answered(self):
        suite = "AES_CM_128_HMAC_SHA1_32"
        lp = rtp_port_pair()
        key = test_key(suite, 3)
        c, r = self.call(offer(lp, proto="RTP/SAVP",
                               cryptos=[(7, suite, key)]))
        self.assertEqual(crypto(body(r))[0][:2], ("7", suite))
        res = probe(lp, m_line(body(r))[0], count=10, suite=suite,
                    tx_key=key, rx_key=crypto(body(r))[0][2])
        self.assertCount(10, res["recv_match"], res)
        c.bye()


class Refused(MediaCase):
    scenario = scn("rules:\n  - match: {method: INVITE}\n"
                   "    reply: [{code: 200, srtp: refused}]\n")

    def test_savp_offer_488(self):
        suite = "AES_CM_128_HMAC_SHA1_80"
        c = Call(self.stub)
        self.calls.append(c)
        r = c.invite(offer(rtp_port_pair(), proto="RTP/SAVP",
                           cryptos=[(1, suite, test_key(suite))]), 488)
        self.assertIn("302 sipstub", header(r, "Warning")[0])


TONE = scn("""rules:
  - match: {method: INVITE, in-dialog: false}
    reply:
      - {code: 200, media: {mode: tone, tone: {freq: 1000}}}
  - match: {method: INVITE, in-dialog: true}
    reply: 200
  - match: {method: UPDATE}
    reply: 200
""")


class Modes(MediaCase):
    scenario = TONE

    def test_tone_sent_to_sdp_address_and_followed(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp, formats=(0, 101)))
        port = m_line(body(r))[0]
        res = probe(lp, port, silent=True, linger=1000)
        # paced: about 50 a second; bounds, not timing
        self.assertGreater(res["recv"], 10, res)
        self.assertLess(res["recv"], 120, res)
        self.assertEqual(res["pts"], [0])
        self.assertGreater(res["energy_rx"], 0)
        self.assertEqual(res["samples_rx"], 160 * res["recv"])
        self.assertTrue(res["seq_ok"])
        # re-INVITE: new port and codec (PCMA only) followed
        lp2 = rtp_port_pair()
        r = c.reinvite(offer(lp2, formats=(8,)))
        self.assertEqual(m_line(body(r))[2], [8])
        res = probe(lp2, port, silent=True, linger=600)
        self.assertGreater(res["recv"], 5, res)
        self.assertEqual(res["pts"], [8])
        # UPDATE with ptime 40: 320-byte packets
        lp3 = rtp_port_pair()
        r = c.reinvite(offer(lp3, formats=(0,), ptime=40), "UPDATE")
        self.assertIn("a=ptime:40\r\n", body(r))
        res = probe(lp3, port, silent=True, linger=600)
        self.assertGreater(res["recv"], 3, res)
        c.bye()
        ev = media_events(self.stub, c.callid)[0]
        self.assertEqual(ev["mode"], "tone")
        self.assertGreater(ev["packets_out"], 20)


class FileMode(MediaCase):
    scenario = scn("""rules:
  - match: {method: INVITE}
    reply:
      - code: 200
        media: {file: %s/announcement.wav, hangup-at-end: true}
""" % os.path.abspath(SCENARIOS))

    def test_file_once_then_bye(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp, formats=(8, 0)))
        port = m_line(body(r))[0]
        res = probe(lp, port, silent=True, linger=2000)
        # 2800 samples at 8 kHz: 18 packets of 160, the last padded
        self.assertEqual(res["recv"], 18, res)
        self.assertEqual(res["pts"], [8])
        from harness import recv_until
        _, bye = recv_until(c.c, lambda m: m.startswith("BYE "), 5)
        self.assertIsNotNone(bye, "BYE at the end of the file")
        self.stub.wait_event(lambda e: e.get("event") == "hangup" and
                             "media file" in e.get("message", ""))


class SilenceNone(MediaCase):
    scenario = scn("""rules:
  - match: {method: INVITE, user: silence}
    reply: [{code: 200, media: silence}]
  - match: {method: INVITE}
    reply: [{code: 200, media: none}]
""")

    def test_silence(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp), user="silence")
        res = probe(lp, m_line(body(r))[0], silent=True, linger=600)
        self.assertGreater(res["recv"], 5)
        self.assertEqual(res["energy_rx"], 0)
        c.bye()

    def test_none_sends_nothing(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp))
        res = probe(lp, m_line(body(r))[0], count=20, linger=1000)
        self.assertEqual((res["recv"], res["rtcp"]), (0, 0), res)
        c.bye()
        ev = media_events(self.stub, c.callid)[0]
        self.assertCount(20, ev["packets_in"], ev)
        self.assertEqual(ev["packets_out"], 0)


class PortRange(MediaCase):

    def setUp(self):
        base = rtp_port_pair()
        while not all(self.pair_free(base + 2 * i) for i in range(2)):
            base = rtp_port_pair()
        self.base = base
        self.extra = ("--rtp-ports", "%d-%d" % (base, base + 3))
        super().setUp()

    @staticmethod
    def pair_free(p):
        import socket
        try:
            for q in (p, p + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", q))
                s.close()
            return True
        except OSError:
            return False

    def test_more_calls_than_the_range_holds(self):
        ports = []
        for _ in range(5):
            c, r = self.call(offer(rtp_port_pair()))
            ports.append(m_line(body(r))[0])
            self.assertIsNotNone(c.bye())
            media_events(self.stub, c.callid)
        self.assertEqual(set(ports), {self.base, self.base + 2}, ports)

    def test_range_exhausted_503(self):
        held = [self.call(offer(rtp_port_pair()))[0] for _ in range(2)]
        c = Call(self.stub)
        self.calls.append(c)
        r = c.invite(offer(rtp_port_pair()), 503)
        self.assertEqual(status(r), 503, r)
        self.assertTrue(header(r, "Retry-After"), r)
        self.stub.wait_event(lambda e: e.get("event") == "overload" and
                             e.get("limit") == "rtp-ports")
        for h in held:
            h.bye()


class ShippedEcho(MediaCase):
    scenario = os.path.join(SCENARIOS, "echo.yaml")

    def test_echo_and_sdes(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp), user="anyone")
        self.assertCount(20, probe(lp, m_line(body(r))[0],
                                   count=20)["recv_match"])
        c.bye()
        suite = "AEAD_AES_256_GCM"
        key = test_key(suite, 5)
        c, r = self.call(offer(lp, proto="RTP/SAVP",
                               cryptos=[(1, suite, key)]), user="anyone")
        res = probe(lp, m_line(body(r))[0], count=20, suite=suite,
                    tx_key=key, rx_key=crypto(body(r))[0][2])
        self.assertCount(20, res["recv_match"], res)
        c.bye()


class ShippedAnnouncement(MediaCase):
    scenario = os.path.join(SCENARIOS, "announcement.yaml")

    def test_ringback_then_file_then_bye(self):
        from harness import recv_until
        lp = rtp_port_pair()
        c, r = self.call(offer(lp), code=183)
        port = m_line(body(r))[0]
        res = probe(lp, port, silent=True, linger=800)
        self.assertGreater(res["recv"], 10, "ring-back tone: %s" % res)
        self.assertGreater(res["energy_rx"], 0)
        _, ok = recv_until(c.c, lambda m: status(m) == 200, 10)
        self.assertIsNotNone(ok)
        c.ack(ok)
        res = probe(lp, port, silent=True, linger=1500)
        # the file once: 18 packets at most (a few may go before the
        # probe listens)
        self.assertGreater(res["recv"], 5, res)
        self.assertLessEqual(res["recv"], 18, res)
        _, bye = recv_until(c.c, lambda m: m.startswith("BYE "), 5)
        self.assertIsNotNone(bye, "BYE at the end of the announcement")


class ShippedRtpTimeout(MediaCase):
    scenario = os.path.join(SCENARIOS, "rtp-timeout.yaml")

    def test_no_rtp_no_rtcp(self):
        lp = rtp_port_pair()
        c, r = self.call(offer(lp))
        res = probe(lp, m_line(body(r))[0], count=10, linger=1500)
        self.assertEqual((res["recv"], res["rtcp"]), (0, 0), res)
        c.bye()
        self.assertEqual(media_events(self.stub, c.callid)[0]["mode"],
                         "none")


class SippOverTcp(MediaCase):
    """A real client over TCP: SIPp (-t t1) plays 100 PCMU packets with
    rtp_stream after the ACK; all are echoed."""

    def test_sipp_rtp_stream_echoed(self):
        import shutil
        from harness import run_sipp
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "../../bench/sipp/uac_echo.xml")) as f:
            xml = f.read()
        work = tempfile.mkdtemp(prefix="sipp-echo-")
        self.addCleanup(shutil.rmtree, work, True)
        raw = os.path.join(work, "pcmu.raw")
        with open(raw, "wb") as f:
            f.write(bytes(0xff if (i // 40) % 2 else 0x80 + (i % 7)
                          for i in range(16000)))
        xml = xml.replace('rtp_stream="pcmu.raw,', 'rtp_stream="%s,' % raw)
        path = os.path.join(work, "uac_echo.xml")
        with open(path, "w") as f:
            f.write(xml)
        code, out = run_sipp(path, self.stub.addr, transport="t1",
                             service="200", timeout=30,
                             extra=("-mp", str(rtp_port_pair())))
        self.assertEqual(code, 0, out)
        ev = self.stub.wait_event(lambda e: e.get("event") == "media")
        self.assertCount(100, ev["packets_in"], ev)
        self.assertEqual(ev["bytes_in"], 160 * ev["packets_in"])
        # a stalled sipstub (sanitizers, a loaded machine) may overflow
        # its echo queue of 8: most come back, each whole
        self.assertGreaterEqual(ev["packets_out"], 90, ev)
        self.assertEqual(ev["bytes_out"], 160 * ev["packets_out"])
        invite = self.stub.sip(dir="in", method="INVITE")[0]
        self.assertEqual(invite["transport"], "TCP")


class BadRtpPorts(unittest.TestCase):

    def test_bad_range_exit_2(self):
        import subprocess
        from harness import SIPSTUB
        for spec in ("5000", "6000-5000", "100-200", "5000-5000"):
            p = subprocess.run([SIPSTUB, "--rtp-ports", spec],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 2, spec)
            self.assertIn(b"--rtp-ports", p.stderr)


if __name__ == "__main__":
    harness.main()
