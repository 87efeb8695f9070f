"""SDP offer/answer of issue 3: the answer in 183/2xx keeps only the
codecs both sides have, on a port where sipstub listens for RTP; an offer
with no common codec gets 488 with a Warning (RFC 3261 13.3.1.3); an
INVITE without SDP gets an offer in the 2xx and the answer is read from
the ACK."""
import re
import socket
import unittest

from harness import (SipstubTestCase, UdpClient, header, recv_until,
                     request, sdp_offer as offer, status, to_tag)


def body(msg):
    return msg.split("\r\n\r\n", 1)[1]


def m_line(sdp):
    m = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)\r?$", sdp, re.M)
    return (int(m.group(1)), [int(x) for x in m.group(2).split()]) if m \
        else None


class OfferAnswer(SipstubTestCase):

    def setUp(self):
        super().setUp()
        self.c = UdpClient()
        self.dest = ("127.0.0.1", self.stub.port)

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def invite(self, user, sdp=""):
        req = request("INVITE", "sip:%s@127.0.0.1:%d" % (user,
                                                        self.stub.port),
                      self.c.port, body=sdp)
        self.c.send(req, self.dest)
        return req

    def final(self, code, timeout=3):
        _, m = recv_until(self.c, lambda m: status(m) == code, timeout)
        self.assertIsNotNone(m, "no %d" % code)
        return m

    def ack(self, req, resp, sdp=""):
        lines = ["ACK %s SIP/2.0" % req.split(" ")[1],
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ack%d;rport"
                 % (self.c.port, self.c.port),
                 "Max-Forwards: 70",
                 "From: %s" % header(req, "From")[0],
                 "To: %s" % header(resp, "To")[0],
                 "Call-ID: %s" % header(req, "Call-ID")[0],
                 "CSeq: 1 ACK"]
        if sdp:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(sdp))
        self.c.send("\r\n".join(lines) + "\r\n\r\n" + sdp, self.dest)

    def test_answer_keeps_common_codecs(self):
        req = self.invite("200", offer([8, 18, 101]))
        resp = self.final(200)
        self.assertEqual(header(resp, "Content-Type"), ["application/sdp"])
        port, fmts = m_line(body(resp))
        self.assertEqual(fmts, [8, 101], body(resp))
        self.assertNotEqual(port, 0)
        self.assertEqual(port % 2, 0, "RTP on an even port")
        # sipstub really listens there: the port is taken
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with self.assertRaises(OSError):
            s.bind(("127.0.0.1", port))
        s.close()
        self.ack(req, resp)

    def test_183_answer(self):
        self.invite("183", offer([0]))
        resp = self.final(183)
        port, fmts = m_line(body(resp))
        self.assertEqual(fmts, [0])
        self.assertNotEqual(port, 0)

    def test_no_common_codec_gets_488(self):
        # RFC 3261 13.3.1.3: no acceptable stream, 488 with a Warning
        self.invite("200", offer([18]))
        resp = self.final(488)
        self.assertEqual(header(resp, "Warning"),
                         ['305 sipstub "Incompatible media format"'])
        self.assertEqual(header(resp, "Content-Length"), ["0"])

    def test_no_sdp_gets_offer_answer_in_ack(self):
        req = self.invite("200")
        resp = self.final(200)
        port, fmts = m_line(body(resp))
        self.assertNotEqual(port, 0)
        self.assertEqual(fmts, [0, 8, 101], "our offer: all our codecs")
        self.ack(req, resp, offer([0]).replace("40000", "40002"))
        # the ACK stops the 2xx retransmissions
        later = self.c.recv_all(1.5)
        self.assertEqual([m for m in later if status(m) == 200], [])
        self.assertEqual(
            [e for e in self.stub.events() if e.get("event") == "warning"],
            [])

    def test_bad_sdp_gets_488(self):
        self.invite("200", "this is not sdp\r\n")
        resp = self.final(488)
        self.assertEqual(to_tag(resp) is not None, True)


if __name__ == "__main__":
    unittest.main()
