"""Inputs that once crashed sipstub (tests/fuzz/regressions/, found by
the libFuzzer targets): each is sent over UDP and TCP, and sipstub must
stay up and answer an OPTIONS afterwards."""
import os
import socket
import unittest

from harness import SipstubTestCase, UdpClient, request, status

REGRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "fuzz", "regressions")


def inputs():
    for name in sorted(os.listdir(REGRESSIONS)):
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


if __name__ == "__main__":
    unittest.main()
