"""The call-ladder page (GET / with --control) in headless Chromium.

The page is loaded first; SIPp then places a call over UDP and over TCP;
each call's arrows must appear, live, in order (INVITE, 100, 180, 200,
ACK, BYE, 200), in the right direction, and a click on an arrow must
show that message's text. SCREENSHOT=file.png saves a picture.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

from harness import (SipstubTestCase, UdpClient, free_port, recv_until,
                     request, response_to, run_sipp, sdp_offer, status,
                     to_tag)

try:
    from selenium import webdriver
except ImportError:
    # Debian's python3-selenium (scripts/setup) under another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
LADDER = ["INVITE", "100", "180", "200", "ACK", "BYE", "200"]
DIRS = ["in", "out", "out", "out", "in", "in", "out"]


def chromium(profile):
    opts = webdriver.ChromeOptions()
    for a in ("--headless", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--no-first-run", "--disable-dev-shm-usage",
              "--window-size=1400,900", "--user-data-dir=" + profile):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


class Ladder(SipstubTestCase):

    def setUp(self):
        self.cport = free_port()
        self.extra = ["--control", str(self.cport)]
        super().setUp()
        self.profile = tempfile.mkdtemp(prefix="sipstub-chromium-")
        self.driver = chromium(self.profile)
        self.addCleanup(shutil.rmtree, self.profile, True)
        self.addCleanup(self.driver.quit)

    def arrows(self, callid):
        """(label, dir, rtx) of each arrow of a call, in page order."""
        return self.driver.execute_script(
            "const c = [...document.querySelectorAll('.call')]"
            ".find(n => n.dataset.callid === arguments[0]);"
            "return c ? [...c.querySelectorAll('g.arrow')].map(g => "
            "[g.dataset.label, g.classList.contains('in') ? 'in' : 'out',"
            " g.dataset.rtx]) : [];", callid)

    def wait_arrows(self, callid, n, timeout=20):
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            got = self.arrows(callid)
            if len(got) >= n:
                return got
            time.sleep(0.1)
        raise AssertionError("arrows of %s: %r" % (callid, got))

    def call(self, transport, tpname):
        rc, out = run_sipp("sn:uac", self.stub.addr, transport,
                           service="alice")
        self.assertEqual(rc, 0, out)
        inv = self.stub.wait_event(lambda e: e.get("method") == "INVITE"
                                   and e.get("dir") == "in" and
                                   e.get("transport") == tpname)
        return inv["call_id"]

    def test_live_ladder(self):
        d = self.driver
        d.get("http://127.0.0.1:%d/" % self.cport)
        self.assertIn("sipstub", d.title)
        # live: the page is open before the calls
        deadline = time.monotonic() + 15
        while d.find_element(By.ID, "conn").text != "live":
            self.assertLess(time.monotonic(), deadline, "no EventSource")
            time.sleep(0.1)

        for transport, tpname in (("u1", "UDP"), ("t1", "TCP")):
            callid = self.call(transport, tpname)
            got = self.wait_arrows(callid, len(LADDER))
            fresh = [a for a in got if a[2] == "0"]
            self.assertEqual([a[0] for a in fresh], LADDER, got)
            self.assertEqual([a[1] for a in fresh], DIRS, got)

        # a click on the BYE arrow shows the whole BYE
        card = [c for c in d.find_elements(By.CSS_SELECTOR, ".call")
                if c.get_attribute("data-callid") == callid][0]
        bye = [g for g in card.find_elements(By.CSS_SELECTOR, "g.arrow")
               if g.get_attribute("data-label") == "BYE"][0]
        bye.find_element(By.CSS_SELECTOR, "text.lbl").click()
        text = d.find_element(By.ID, "msg").text
        self.assertTrue(text.startswith("BYE sip:"), text)
        self.assertIn("Call-ID: %s" % callid, text)
        self.assertIn("CSeq: 2 BYE", text)
        self.assertIn("received TCP",
                      d.find_element(By.ID, "msgtitle").text)

        self.retransmission(d)

        shot = os.environ.get("SCREENSHOT")
        if shot:
            d.save_screenshot(shot)

    def retransmission(self, d):
        """A 2xx left without ACK is sent again: that arrow is marked."""
        c = UdpClient()
        try:
            inv = request("INVITE", "sip:alice@127.0.0.1", c.port,
                          callid="rtx-ladder@127.0.0.1", body=sdp_offer())
            c.send(inv, ("127.0.0.1", self.stub.port))
            msgs, ok = recv_until(c, lambda m: status(m) == 200, 10)
            self.assertIsNotNone(ok, msgs)
            again, _ = recv_until(c, lambda m: status(m) == 200, 10)
            self.assertEqual(status(again[-1]), 200)
            got = self.wait_arrows("rtx-ladder@127.0.0.1", 5)
            self.assertEqual([a[0] for a in got[:5]],
                             ["INVITE", "100", "180", "200", "200"])
            self.assertEqual([a[2] for a in got[:5]],
                             ["0", "0", "0", "0", "1"])
            ack = request("ACK", "sip:alice@127.0.0.1", c.port,
                          callid="rtx-ladder@127.0.0.1",
                          to_tag=to_tag(ok))
            c.send(ack, ("127.0.0.1", self.stub.port))
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
