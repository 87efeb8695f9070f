"""A real softphone against sipstub: baresip (Debian's baresip-core)
dials dial-a-code numbers over UDP, as a user would. With media: a
440 Hz tone from a file (aufile) goes out over plain RTP or SDES-SRTP
(baresip's srtp module) and baresip's sndfile module records what comes
back; sipstub's echo must carry the same energy. No sound card."""
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


MEDIA_CONFIG = CONFIG + """module			srtp.so
module			sndfile.so
snd_path		%(dir)s/dump
"""


def sine(path, seconds=10, rate=8000):
    import math
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i /
                                                  rate)))
            for i in range(seconds * rate)))


def loud(path):
    """(samples louder than silence, their RMS) of a WAV file."""
    with wave.open(path) as w:
        n = w.getnframes()
        s = struct.unpack("<%dh" % n, w.readframes(n))
    nz = [x for x in s if abs(x) > 200]
    return len(nz), (sum(x * x for x in nz) / max(1, len(nz))) ** 0.5


@unittest.skipIf(BARESIP is None, "baresip is not installed")
class SoftphoneMedia(SipstubTestCase):
    """baresip hears its own audio back, plain and SRTP."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="baresip-")
        os.mkdir(os.path.join(self.dir, "dump"))
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(MEDIA_CONFIG % {"dir": self.dir})
        sine(os.path.join(self.dir, "in.wav"))
        sine(os.path.join(self.dir, "alert.wav"), seconds=1)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        super().tearDown()

    def echo_call(self, params):
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("<sip:tester@127.0.0.1>;regint=0%s\n" % params)
        p = subprocess.run(
            [BARESIP, "-f", self.dir, "-t", "6", "-e",
             "/dial sip:alice@%s" % self.stub.addr],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=40)
        out = p.stdout.decode(errors="replace")
        self.assertIn("Call established", out, out)
        ev = self.stub.wait_event(lambda e: e.get("event") == "media")
        dump = os.path.join(self.dir, "dump")
        files = os.listdir(dump)
        dec = [f for f in files if f.endswith("-dec.wav")]
        enc = [f for f in files if f.endswith("-enc.wav")]
        self.assertEqual((len(dec), len(enc)), (1, 1), files)
        n_in, rms_in = loud(os.path.join(dump, enc[0]))
        n_out, rms_out = loud(os.path.join(dump, dec[0]))
        # what came back is the tone sent, at the same level (a slow
        # sipstub, e.g. under valgrind, echoes less of the call)
        self.assertGreater(n_out, 4000, "at least 0.5 s of echo")
        self.assertGreater(n_out, n_in // 4, (n_in, n_out))
        self.assertAlmostEqual(rms_out / rms_in, 1.0, delta=0.1)
        # 1 s of 20 ms packets; 0.5 s under valgrind, as n_out above
        self.assertGreater(ev["packets_out"], 25 if self.stub.wrapped
                           else 50, ev)
        return out, ev

    def test_echo_plain_rtp(self):
        _, ev = self.echo_call("")
        self.assertFalse(ev["srtp"])

    def test_echo_sdes_srtp(self):
        out, ev = self.echo_call(";mediaenc=srtp-mand")
        self.assertIn("SRTP is Enabled", out)
        self.assertTrue(ev["srtp"])


if __name__ == "__main__":
    unittest.main()
