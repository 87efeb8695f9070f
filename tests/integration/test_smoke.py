"""Smoke test: a plain call with SIPp's built-in UAC over UDP and TCP."""
import unittest

from harness import SipstubTestCase, run_sipp


class CallSmoke(SipstubTestCase):

    def call(self, transport, tpname):
        rc, out = run_sipp("sn:uac", self.stub.addr, transport,
                           service="alice")
        self.assertEqual(rc, 0, out)
        # the event log is flushed once per loop turn: wait for the line
        self.stub.wait_event(lambda e: e.get("dir") == "out" and
                             e.get("code") == 200 and
                             e.get("method") == "BYE")
        self.assertEqual(len(self.stub.sip(dir="out", code=200,
                                           method="BYE")), 1)
        self.assertEqual(len(self.stub.sip(dir="in", method="INVITE",
                                           transport=tpname)), 1)

    def test_call_udp(self):
        self.call("u1", "UDP")

    def test_call_tcp(self):
        self.call("t1", "TCP")


if __name__ == "__main__":
    unittest.main()
