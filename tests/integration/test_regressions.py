"""Inputs that once crashed sipstub (tests/fuzz/regressions/, found by
the libFuzzer targets). request-*: each is sent over UDP and TCP, and
sipstub must stay up and answer an OPTIONS afterwards. scenario-*:
`sipstub --check` reads each, peaking under 256 MiB, and exits 0 or 1."""
import os
import resource
import socket
import subprocess
import unittest

from harness import (SANITIZER_MARKS, SIPSTUB, SipstubTestCase, UdpClient,
                     request, status)

REGRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "fuzz", "regressions")


def inputs(kind="request-"):
    for name in sorted(os.listdir(REGRESSIONS)):
        if not name.startswith(kind):
            continue
        with open(os.path.join(REGRESSIONS, name), "rb") as f:
            yield name, f.read()


class Regressions(SipstubTestCase):

    def alive(self):
        c = UdpClient()
        try:
            c.send(request("OPTIONS", "sip:ping@127.0.0.1", c.port),
                   ("127.0.0.1", self.stub.port))
            self.assertEqual(status(c.recv(5)), 200)
        finally:
            c.close()

    def test_udp(self):
        names = []
        for name, data in inputs():
            c = UdpClient()
            c.send(data, ("127.0.0.1", self.stub.port))
            c.recv_all(0.3)
            c.close()
            self.alive()
            names.append(name)
        self.assertTrue(names, "no regression inputs found")

    def test_tcp(self):
        for name, data in inputs():
            s = socket.create_connection(("127.0.0.1", self.stub.port),
                                         timeout=3)
            s.sendall(data)
            s.settimeout(0.5)
            try:
                s.recv(65535)
            except (socket.timeout, ConnectionResetError):
                pass
            s.close()
            self.alive()


class ScenarioRegressions(unittest.TestCase):

    def test_check(self):
        names = []
        for name, _ in inputs("scenario-"):
            path = os.path.join(REGRESSIONS, name)
            wrapper = os.environ.get("SIPSTUB_WRAPPER", "").split()
            p = subprocess.run(wrapper + [SIPSTUB, "--check", path],
                               capture_output=True, text=True, timeout=120)
            self.assertIn(p.returncode, (0, 2), name + p.stderr)
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, p.stderr)
            if not wrapper:
                # the largest child so far: these checks, small servers
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                self.assertLess(peak, 256 << 10, name)
            names.append(name)
        self.assertTrue(names, "no scenario regression inputs found")


if __name__ == "__main__":
    unittest.main()
