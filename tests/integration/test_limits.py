"""Resource limits (--limit), idle TCP connections, and floods.

Over a limit a new request gets a stateless 503 with Retry-After and an
"overload" event; requests in dialogs go on; once the load is gone,
requests are served again. A flood slows sipstub down, never kills it.
"""
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import SipstubTestCase, free_port, header, run_sipp, status, to_tag
from scn_helpers import Peer, TcpClient, collect, sip_request, transact

SLOW = bool(os.environ.get("SIPSTUB_WRAPPER"))


def final(resps):
    return status(resps[-1]) if resps else None


class LimitCase(SipstubTestCase):

    def peer(self, transport="udp"):
        p = Peer(self.stub, transport)
        self.addCleanup(p.close)
        return p

    def uri(self, user):
        return "sip:%s@%s" % (user, self.stub.addr)

    def overloads(self):
        return [e for e in self.stub.events() if e["event"] == "overload"]


class TransactionLimit(LimitCase):
    extra = ["--limit", "transactions=2", "--limit", "retry-after=7"]

    def ring(self, p):
        """An INVITE to 180@ (rings until CANCEL); returns it."""
        inv = sip_request(p, "INVITE", self.uri("180"))
        p.send(inv)
        got = collect(p, 1.0)
        self.assertIn(180, [status(m) for m in got], got)
        return inv

    def test_503_then_served_again(self):
        p = self.peer()
        first = self.ring(p)
        self.ring(p)

        inv = sip_request(p, "INVITE", self.uri("alice"))
        r = transact(p, inv)
        self.assertEqual(final(r), 503, r)
        self.assertEqual(header(r[-1], "Retry-After"), ["7"])
        self.assertIsNotNone(to_tag(r[-1]))
        # stateless: a retransmission is answered again, no transaction
        self.assertEqual(final(transact(p, inv)), 503)
        r = transact(p, sip_request(p, "OPTIONS", self.uri("x")))
        self.assertEqual(final(r), 503)
        ov = self.overloads()
        self.assertEqual(len(ov), 3)
        self.assertEqual({e["limit"] for e in ov}, {"transactions"})

        # CANCEL one ringing call: its transaction ends, a slot is free
        cancel = first.replace("INVITE sip:", "CANCEL sip:", 1).replace(
            " INVITE\r\n", " CANCEL\r\n", 1)
        cancel = cancel.split("\r\n\r\n")[0].replace(
            "Content-Type: application/sdp\r\n", "")
        p.send(cancel + "\r\n\r\n")
        got = collect(p, 1.0)
        self.assertIn(487, [status(m) for m in got], got)
        r = transact(p, sip_request(p, "OPTIONS", self.uri("x")))
        self.assertEqual(final(r), 200, r)


class DialogLimit(LimitCase):
    extra = ["--limit", "dialogs=1"]

    def call(self, p):
        inv = sip_request(p, "INVITE", self.uri("alice"))
        r = transact(p, inv, timeout=10)
        return inv, r

    def test_second_call_refused_until_first_ends(self):
        p = self.peer()
        inv, r = self.call(p)
        self.assertEqual(final(r), 200, r)
        tag = to_tag(r[-1])
        callid = header(inv, "Call-ID")[0]
        p.send(sip_request(p, "ACK", self.uri("alice"), callid=callid,
                           to_tag=tag))

        _, r2 = self.call(p)
        self.assertEqual(final(r2), 503, r2)
        self.assertEqual(header(r2[-1], "Retry-After"), ["5"])
        self.assertEqual([e["limit"] for e in self.overloads()],
                         ["dialogs"])
        # other requests are not held back by the dialog limit
        r = transact(p, sip_request(p, "OPTIONS", self.uri("x")))
        self.assertEqual(final(r), 200)

        r = transact(p, sip_request(p, "BYE", self.uri("alice"),
                                    callid=callid, cseq=2, to_tag=tag))
        self.assertEqual(final(r), 200, r)
        _, r3 = self.call(p)
        self.assertEqual(final(r3), 200, r3)


class TcpLimits(LimitCase):
    extra = ["--limit", "tcp=1", "--limit", "tcp-idle=2"]

    def options(self, p):
        return transact(p, sip_request(p, "OPTIONS", self.uri("x")))

    def test_one_connection_then_idle_close(self):
        a = self.peer("tcp")
        self.assertEqual(final(self.options(a)), 200)

        b = self.peer("tcp")
        r = self.options(b)
        self.assertEqual(final(r), 503, r)
        self.assertTrue(b.c.wait_closed(5), "over-limit connection open")
        self.assertEqual([e["limit"] for e in self.overloads()], ["tcp"])

        # a, idle for tcp-idle seconds, is closed by sipstub
        self.assertTrue(a.c.wait_closed(15), "idle connection still open")

        c = self.peer("tcp")
        self.assertEqual(final(self.options(c)), 200)

    def test_slow_loris_after_a_message(self):
        """A partial message dripped byte by byte does not count as
        activity: closed tcp-idle seconds after the last whole one."""
        a = self.peer("tcp")
        self.assertEqual(final(self.options(a)), 200)
        part = sip_request(a, "OPTIONS", self.uri("x")).encode()[:-10]
        closed = False
        for i in range(len(part)):
            try:
                a.c.sock.send(part[i:i + 1])
            except OSError:
                closed = True
                break
            if a.c.wait_closed(0.3):
                closed = True
                break
        self.assertTrue(closed or a.c.wait_closed(10),
                        "slow-loris connection still open")

    def test_half_open(self):
        """Half a message, then the client's FIN: sipstub closes too."""
        a = self.peer("tcp")
        msg = sip_request(a, "OPTIONS", self.uri("x")).encode()
        a.c.sock.send(msg[:len(msg) // 2])
        a.c.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(a.c.wait_closed(10), "half-open connection open")
        b = self.peer("tcp")
        self.assertEqual(final(self.options(b)), 200)

    def test_silent_connection(self):
        """A connection that never sends a whole message is closed by
        libre after 32 s (TCP_ACCEPT_TIMEOUT)."""
        a = self.peer("tcp")
        a.c.sock.send(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n")
        self.assertTrue(a.c.wait_closed(45), "silent connection open")

    def test_active_connection_stays(self):
        a = self.peer("tcp")
        for _ in range(4):
            self.assertEqual(final(self.options(a)), 200)
            time.sleep(1)
        self.assertEqual(final(self.options(a)), 200)


class Flood(LimitCase):
    extra = ["--limit", "transactions=200"]

    def assert_serves(self):
        """Once the flood's backlog is worked off (bounded: under valgrind
        that takes a while), OPTIONS gets 200 again."""
        p = self.peer()
        deadline = time.monotonic() + (120 if SLOW else 30)
        while True:
            r = transact(p, sip_request(p, "OPTIONS", self.uri("x")))
            if final(r) == 200 or time.monotonic() > deadline:
                break
        self.assertEqual(final(r), 200, r)

    def test_sipsak_flood(self):
        n = 2000 if SLOW else 20000
        subprocess.run(["sipsak", "-F", "-e", str(n), "-s",
                        "sip:x@%s" % self.stub.addr],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=300)
        self.assertIsNone(self.stub.proc.poll())
        self.assertEqual(len(self.stub.sip(dir="in", method="OPTIONS")) > 0,
                         True)
        self.assert_serves()

    def test_sipp_invite_flood(self):
        # far above what one core sustains, against a small limit
        calls = 1000 if SLOW else 20000
        run_sipp("sn:uac", self.stub.addr, calls=calls, timeout=60,
                 extra=["-r", "20000", "-l", "100000", "-recv_timeout",
                        "5000"])
        self.assertIsNone(self.stub.proc.poll())
        self.assert_serves()
        ins = self.stub.sip(dir="in", method="INVITE")
        self.assertTrue(ins)


if __name__ == "__main__":
    unittest.main()
