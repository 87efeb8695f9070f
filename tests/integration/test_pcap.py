"""--pcap: a SIPp call over UDP, TCP and IPv6, read back by tshark.

tshark's SIP filter must show the dialog's messages in order, with the
real addresses and ports, the UDP or TCP framing, and the TCP sequence
numbers advancing per direction.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Sipstub, free_port, ipv6_usable, SANITIZER_MARKS

LADDER = ["INVITE", "100", "180", "200", "ACK", "BYE", "200"]
FIELDS = ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "udp.srcport",
          "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
          "tcp.ack_raw", "tcp.flags.str", "tcp.len", "sip.Method",
          "sip.Status-Code", "sip.CSeq.method", "sip.Call-ID"]


def sipp_call(host, port, transport):
    """SIPp's built-in UAC, one call; returns its local port."""
    lport = free_port(host)
    hp = "[%s]" % host if ":" in host else host
    work = tempfile.mkdtemp(prefix="sipp-")
    try:
        p = subprocess.run(
            ["sipp", "%s:%d" % (hp, port), "-sn", "uac", "-s", "alice",
             "-m", "1", "-t", transport, "-i", host, "-p", str(lport),
             "-timeout", "30s", "-timeout_error", "-nostdin"],
            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=60)
        assert p.returncode == 0, p.stdout.decode(errors="replace")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return lport


def tshark(path):
    """The SIP packets of a capture as dicts of FIELDS."""
    args = ["tshark", "-r", path, "-Y", "sip", "-T", "fields",
            "-E", "separator=\t", "-E", "occurrence=f"]
    for f in FIELDS:
        args += ["-e", f]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if p.returncode:
        raise AssertionError("tshark: " + p.stderr.decode(errors="replace"))
    rows = []
    for line in p.stdout.decode().splitlines():
        vals = line.split("\t")
        rows.append(dict(zip(FIELDS, vals + [""] * len(FIELDS))))
    return rows


def label(row):
    return row["sip.Method"] or row["sip.Status-Code"]


class Pcap(unittest.TestCase):

    def run_call(self, host, transport):
        d = tempfile.mkdtemp(prefix="sipstub-pcap-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sip.pcap")
        stub = Sipstub(host=host, extra=["--pcap", path])
        try:
            lport = sipp_call(host, stub.port, transport)
            stub.wait_event(lambda e: e.get("dir") == "out" and
                            e.get("code") == 200 and
                            e.get("method") == "BYE")
        finally:
            code, err = stub.stop()
            stub.close()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.assertEqual(code, 0, err)
        return tshark(path), lport, stub.port

    def check(self, rows, host, lport, sport, tcp):
        self.assertEqual([label(r) for r in rows], LADDER)
        self.assertEqual(len({r["sip.Call-ID"] for r in rows}), 1)
        proto = "tcp" if tcp else "udp"
        src = "ipv6.src" if ":" in host else "ip.src"
        dst = "ipv6.dst" if ":" in host else "ip.dst"
        for r in rows:
            self.assertEqual(r[src], host)
            self.assertEqual(r[dst], host)
            inbound = bool(r["sip.Method"])
            ports = (lport, sport) if inbound else (sport, lport)
            self.assertEqual((int(r[proto + ".srcport"]),
                              int(r[proto + ".dstport"])), ports, r)
            other = "udp" if tcp else "tcp"
            self.assertEqual(r[other + ".srcport"], "")
        self.assertEqual([r["sip.CSeq.method"] for r in rows],
                         ["INVITE"] * 4 + ["ACK"] + ["BYE"] * 2)

    def check_tcp_seq(self, rows):
        """Each direction's sequence numbers advance by the segment
        lengths; each segment acknowledges what the other side sent."""
        nxt = {}
        for r in rows:
            self.assertIn("A", r["tcp.flags.str"])
            self.assertIn("P", r["tcp.flags.str"])
            inbound = bool(r["sip.Method"])
            seq, ack = int(r["tcp.seq_raw"]), int(r["tcp.ack_raw"])
            if inbound in nxt:
                self.assertEqual(seq, nxt[inbound], r)
            if (not inbound) in nxt:
                self.assertEqual(ack, nxt[not inbound], r)
            nxt[inbound] = seq + int(r["tcp.len"])

    def test_udp(self):
        rows, lport, sport = self.run_call("127.0.0.1", "u1")
        self.check(rows, "127.0.0.1", lport, sport, False)

    def test_tcp(self):
        rows, lport, sport = self.run_call("127.0.0.1", "t1")
        self.check(rows, "127.0.0.1", lport, sport, True)
        self.check_tcp_seq(rows)

    @unittest.skipUnless(ipv6_usable(), "no IPv6 loopback")
    def test_udp_ipv6(self):
        rows, lport, sport = self.run_call("::1", "u1")
        self.check(rows, "::1", lport, sport, False)

    @unittest.skipUnless(ipv6_usable(), "no IPv6 loopback")
    def test_tcp_ipv6(self):
        rows, lport, sport = self.run_call("::1", "t1")
        self.check(rows, "::1", lport, sport, True)
        self.check_tcp_seq(rows)


if __name__ == "__main__":
    unittest.main()
