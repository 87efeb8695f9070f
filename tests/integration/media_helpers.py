"""Helpers for the media tests: SDP offers (plain and SDES), a call
driven over a raw SIP socket, and rtpprobe (tests/tools/rtpprobe.c), the
RTP/SRTP peer with known keys."""
import base64
import json
import os
import re
import subprocess

from harness import (UdpClient, free_port, header, recv_until, request,
                     status, to_tag)

HERE = os.path.dirname(os.path.abspath(__file__))
RTPPROBE = os.environ.get("RTPPROBE",
                          os.path.join(HERE, "../../build/tests/rtpprobe"))

KEYLEN = {"AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30,
          "AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44}


def rtp_port_pair():
    """A free even UDP port whose odd neighbour is free too (below
    sipstub's default RTP range)."""
    import random
    import socket
    for _ in range(200):
        p = random.randrange(2000, 9998, 2)
        socks = []
        try:
            for q in (p, p + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", q))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no even port")


def test_key(suite, seed=1):
    """A fixed key and salt of the suite's size, base64."""
    return base64.b64encode(bytes((seed * 7 + i) % 256
                                  for i in range(KEYLEN[suite]))).decode()


def offer(port, formats=(0, 8, 101), proto="RTP/AVP", cryptos=(),
          extra=(), direction=None, ptime=None):
    """An SDP offer from 127.0.0.1; cryptos: (tag, suite, key) lines."""
    names = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000",
             96: "opus/48000/2", 101: "telephone-event/8000"}
    lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio %d %s %s" % (port, proto,
                                   " ".join(map(str, formats)))]
    lines += ["a=rtpmap:%d %s" % (f, names[f]) for f in formats]
    if 101 in formats:
        lines.append("a=fmtp:101 0-16")
    lines += ["a=crypto:%d %s inline:%s" % c for c in cryptos]
    if ptime:
        lines.append("a=ptime:%d" % ptime)
    if direction:
        lines.append("a=%s" % direction)
    lines += list(extra)
    return "\r\n".join(lines) + "\r\n"


def body(msg):
    return msg.split("\r\n\r\n", 1)[1]


def m_line(sdp):
    m = re.search(r"^m=audio (\d+) (\S+)((?: \d+)*)\r?$", sdp, re.M)
    if not m:
        return None
    return int(m.group(1)), m.group(2), [int(x) for x in m.group(3).split()]


def crypto(sdp):
    """The answer's a=crypto lines: [(tag, suite, key)]."""
    return re.findall(r"^a=crypto:(\d+) (\S+) inline:([^|\s]+)", sdp, re.M)


class Call:
    """One call to sipstub over a raw UDP SIP socket."""

    def __init__(self, stub, user="200"):
        self.stub = stub
        self.c = UdpClient()
        self.dest = ("127.0.0.1", stub.port)
        self.uri = "sip:%s@127.0.0.1:%d" % (user, stub.port)
        self.callid = "media-%d@127.0.0.1" % free_port()
        self.cseq = 1
        self.tag = None
        self.resp = None

    def invite(self, sdp, code=200, timeout=None):
        """INVITE with sdp; returns the response with the code (a bound
        wait: longer under valgrind, where a busy machine is slow)."""
        if timeout is None:
            timeout = 20 if self.stub.wrapped else 5
        self.req = request("INVITE", self.uri, self.c.port,
                           callid=self.callid, cseq=self.cseq, body=sdp,
                           to_tag=self.tag)
        self.c.send(self.req, self.dest)
        msgs, r = recv_until(self.c, lambda m: status(m) is not None and
                             status(m) >= (code if code < 200 else 200),
                             timeout)
        if r is not None and status(r) >= 200:
            self.ack(r)
        self.resp = r
        if r is not None and self.tag is None and status(r) < 300:
            self.tag = to_tag(r)
        return r

    def ack(self, resp, sdp=""):
        self.c.send(request("ACK", self.uri, self.c.port,
                            callid=self.callid, cseq=self.cseq, body=sdp,
                            to_tag=to_tag(resp)), self.dest)

    def reinvite(self, sdp, method="INVITE"):
        self.cseq += 1
        req = request(method, self.uri, self.c.port, callid=self.callid,
                      cseq=self.cseq, body=sdp, to_tag=self.tag)
        self.c.send(req, self.dest)
        _, r = recv_until(self.c, lambda m: status(m) is not None and
                          status(m) >= 200 and
                          ("%d %s" % (self.cseq, method)) in
                          header(m, "CSeq")[0])
        if r is not None and method == "INVITE":
            self.ack(r)
        return r

    def bye(self):
        self.cseq += 1
        self.c.send(request("BYE", self.uri, self.c.port, callid=self.callid,
                            cseq=self.cseq, to_tag=self.tag), self.dest)
        _, r = recv_until(self.c, lambda m: status(m) == 200 and
                          "BYE" in header(m, "CSeq")[0])
        return r

    def close(self):
        self.c.close()


def probe(local, remote_port, **kw):
    """Run rtpprobe; its JSON summary."""
    args = [RTPPROBE, "--local", str(local),
            "--remote", "127.0.0.1:%d" % remote_port]
    for k, v in kw.items():
        args += ["--" + k.replace("_", "-")]
        if v is not True:
            args.append(str(v))
    out = subprocess.run(args, stdout=subprocess.PIPE, timeout=120,
                         check=True).stdout.decode()
    return json.loads(out)
