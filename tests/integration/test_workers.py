"""--workers N: N processes sharing the UDP and TCP ports (SO_REUSEPORT).

Requests come from many client sockets, so the kernel spreads them over
both workers; every call's ACK and BYE must still reach the worker that
owns the dialog (a BYE elsewhere would get 481). The shared event log
must hold whole JSON lines only, each with its worker, and SIGTERM must
stop every worker.
"""
import json
import os
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import (SIPSTUB, SANITIZER_MARKS, Sipstub, UdpClient, free_port,
                     recv_until, request, sdp_offer, status, to_tag)

CLIENTS = 24


class Workers(unittest.TestCase):

    def setUp(self):
        self.stub = Sipstub(extra=["--workers", "2"])
        # Sipstub() waits for the first "start"; wait for both workers
        self.stub.wait_event(lambda e: e.get("event") == "start" and
                             e.get("worker") == 1)
        self.stub.wait_event(lambda e: e.get("event") == "start" and
                             e.get("worker") == 0)
        self.dest = ("127.0.0.1", self.stub.port)

    def tearDown(self):
        code, err = self.stub.stop()
        self.stub.close()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err, err)
        self.assertEqual(code, 0, err)
        self.assertEqual(err.count("stopping"), 2, err)

    def call(self, c):
        """INVITE, ACK, BYE from one client socket; returns the final
        response to the BYE."""
        inv = request("INVITE", "sip:alice@%s" % self.stub.addr, c.port,
                      body=sdp_offer())
        c.send(inv, self.dest)
        _, ok = recv_until(c, lambda m: (status(m) or 0) >= 200, 10)
        self.assertEqual(status(ok), 200, ok)
        tag = to_tag(ok)
        callid = [ln for ln in inv.split("\r\n")
                  if ln.startswith("Call-ID:")][0][9:]
        c.send(request("ACK", "sip:alice@%s" % self.stub.addr, c.port,
                       callid=callid, to_tag=tag), self.dest)
        c.send(request("BYE", "sip:alice@%s" % self.stub.addr, c.port,
                       callid=callid, cseq=2, to_tag=tag), self.dest)
        _, bye = recv_until(c, lambda m: "BYE" in m.split("CSeq:")[1][:20]
                            if "CSeq:" in m else False, 10)
        return bye

    def test_requests_spread_and_dialogs_stay(self):
        clients = [UdpClient() for _ in range(CLIENTS)]
        try:
            for c in clients:
                c.send(request("OPTIONS", "sip:ping@%s" % self.stub.addr,
                               c.port), self.dest)
            for c in clients:
                self.assertEqual(status(c.recv(5)), 200)
            # a few calls: ACK and BYE find their dialog
            for c in clients[:6]:
                self.assertEqual(status(self.call(c)), 200)
        finally:
            for c in clients:
                c.close()

        ev = self.stub.events()
        ins = [e for e in ev if e.get("event") == "sip" and
               e.get("dir") == "in" and e.get("method") == "OPTIONS"]
        self.assertEqual(len(ins), CLIENTS)
        # 24 client ports on one worker: 2**-23 by chance
        self.assertEqual({e["worker"] for e in ins}, {0, 1})
        # each answer comes from the worker that got the request
        for e in ins:
            out = [o for o in ev if o.get("event") == "sip" and
                   o.get("dir") == "out" and
                   o.get("call_id") == e["call_id"]]
            self.assertEqual([o["worker"] for o in out], [e["worker"]])
        byes = [e for e in ev if e.get("dir") == "out" and
                e.get("method") == "BYE" and e.get("code") == 200]
        self.assertEqual(len(byes), 6)
        # no probe of one worker shows up in the other's log
        self.assertFalse([e for e in ev if "probe" in e.get("uri", "")])

    def test_tcp(self):
        for _ in range(8):
            s = socket.create_connection(self.dest, timeout=5)
            try:
                port = s.getsockname()[1]
                msg = request("OPTIONS", "sip:ping@%s" % self.stub.addr,
                              port).replace("SIP/2.0/UDP", "SIP/2.0/TCP")
                s.sendall(msg.encode())
                self.assertEqual(status(s.recv(65535).decode()), 200)
            finally:
                s.close()


class WorkersCli(unittest.TestCase):

    def run_stub(self, args, timeout=30):
        return subprocess.run([SIPSTUB] + args, capture_output=True,
                              text=True, timeout=timeout)

    def test_bad_values(self):
        for v in ("0", "65", "x", "-1", "2x"):
            r = self.run_stub(["--workers", v])
            self.assertEqual(r.returncode, 2, v)
            self.assertIn("bad --workers", r.stderr)

    def test_port_zero_refused(self):
        r = self.run_stub(["-w", "2", "-l", "udp:127.0.0.1:0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("fixed ports", r.stderr)

    def test_port_taken(self):
        # a socket without SO_REUSEPORT on the port: no worker can bind
        port = free_port()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        try:
            r = self.run_stub(["-w", "2", "-l", "udp:127.0.0.1:%d" % port])
        finally:
            s.close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot listen", r.stderr)

    def test_event_log_on_a_pipe(self):
        """-e - with two workers: whole lines on the shared pipe."""
        port = free_port()
        d = tempfile.mkdtemp(prefix="sipstub-test-")
        out = open(os.path.join(d, "out"), "w+")
        p = subprocess.Popen([SIPSTUB, "-w", "2", "-e", "-",
                              "-l", "udp:127.0.0.1:%d" % port],
                             stdout=subprocess.PIPE, stderr=out, text=True)
        try:
            lines = []
            starts = 0
            while starts < 2:
                line = p.stdout.readline()
                self.assertTrue(line, "sipstub ended early")
                lines.append(line)
                starts += '"event":"start"' in line
            # drain the pipe meanwhile: a full pipe blocks the workers
            reader = threading.Thread(
                target=lambda: lines.extend(p.stdout.readlines()))
            reader.start()
            clients = [UdpClient() for _ in range(CLIENTS)]
            for c in clients:
                for i in range(5):
                    c.send(request("OPTIONS", "sip:x@127.0.0.1:%d" % port,
                                   c.port, callid="c%d-%d" % (c.port, i),
                                   branch="z9hG4bK-%d-%d" % (c.port, i)),
                           ("127.0.0.1", port))
            for c in clients:
                self.assertEqual(len([m for m in c.recv_all(1.0)
                                      if status(m) == 200]), 5)
                c.close()
            p.terminate()
            p.wait(timeout=20)
            reader.join(20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            out.close()
        self.assertEqual(p.returncode, 0)
        ev = [json.loads(line) for line in lines]   # whole lines only
        sip = [e for e in ev if e.get("event") == "sip"]
        self.assertEqual(len(sip), 2 * 5 * CLIENTS)
        self.assertEqual(len([e for e in ev if e["event"] == "stop"]), 2)


if __name__ == "__main__":
    unittest.main()
