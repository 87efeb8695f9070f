"""A real softphone against sipstub: baresip (Debian's baresip-core)
dials dial-a-code numbers over UDP, as a user would."""
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import wave

from harness import SipstubTestCase

BARESIP = shutil.which("baresip")

CONFIG = """poll_method		epoll
sip_listen		127.0.0.1:0
audio_player		aufile,%(dir)s/out.wav
audio_source		aufile,%(dir)s/in.wav
audio_alert		aufile,%(dir)s/alert.wav
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module_app		account.so
module_app		menu.so
rtp_ports		20000-29999
"""


def tone(path, seconds=10, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", (i % 40) * 400 - 8000)
                               for i in range(seconds * rate)))


@unittest.skipIf(BARESIP is None, "baresip is not installed")
class Softphone(SipstubTestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="baresip-")
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(CONFIG % {"dir": self.dir})
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("<sip:tester@127.0.0.1>;regint=0\n")
        tone(os.path.join(self.dir, "in.wav"))
        tone(os.path.join(self.dir, "alert.wav"), seconds=1)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        super().tearDown()

    def dial(self, user, seconds):
        """baresip dials user@sipstub and quits after seconds."""
        p = subprocess.run(
            [BARESIP, "-f", self.dir, "-t", str(seconds), "-e",
             "/dial sip:%s@%s" % (user, self.stub.addr)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=seconds + 20)
        return p.stdout.decode(errors="replace")

    def flow(self):
        return [(e["dir"], e.get("method"), e.get("code"))
                for e in self.stub.events() if e.get("event") == "sip"]

    def test_call_answered_then_hung_up(self):
        out = self.dial("alice", 4)
        self.assertIn("Call established", out, out)
        self.stub.wait_event(lambda e: e.get("method") == "BYE" and
                             e.get("code") == 200)
        flow = self.flow()
        self.assertEqual(flow[:3], [("in", "INVITE", None),
                                    ("out", "INVITE", 100),
                                    ("out", "INVITE", 180)], flow)
        self.assertIn(("out", "INVITE", 200), flow)
        self.assertIn(("in", "ACK", None), flow)
        self.assertEqual(flow[-2:], [("in", "BYE", None),
                                     ("out", "BYE", 200)], flow)

    def test_busy(self):
        out = self.dial("486", 3)
        self.assertIn("486 Busy Here", out, out)
        self.stub.wait_event(lambda e: e.get("method") == "ACK")
        self.assertEqual(self.flow(), [("in", "INVITE", None),
                                       ("out", "INVITE", 100),
                                       ("out", "INVITE", 486),
                                       ("in", "ACK", None)])

    def test_ringing_then_cancel(self):
        out = self.dial("180", 3)
        self.assertIn("180 Ringing", out, out)
        self.stub.wait_event(lambda e: e.get("code") == 487)
        flow = self.flow()
        self.assertIn(("in", "CANCEL", None), flow)
        self.assertIn(("out", "CANCEL", 200), flow)
        self.assertIn(("out", "INVITE", 487), flow)


if __name__ == "__main__":
    unittest.main()
