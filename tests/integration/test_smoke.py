"""Smoke test: a plain call with SIPp's built-in UAC over UDP and TCP."""
import unittest

from harness import SipstubTestCase, run_sipp


class CallSmoke(SipstubTestCase):

    def test_call_udp(self):
        rc, out = run_sipp("sn:uac", self.stub.addr, "u1", service="alice")
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(self.stub.sip(dir="out", code=200,
                                           method="BYE")), 1)

    def test_call_tcp(self):
        rc, out = run_sipp("sn:uac", self.stub.addr, "t1", service="alice")
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(self.stub.sip(dir="out", code=200,
                                           method="INVITE",
                                           transport="TCP")), 1)


if __name__ == "__main__":
    unittest.main()
