"""The registrar (src/registrar.c, RFC 3261 10.3) on the wire: bindings
added, listed, refreshed, removed and expired per address of record,
423 with Min-Expires, the Call-ID/CSeq order, RFC 5626 instances and
RFC 3327 Path; the `register` events; registrar.yaml with digest
authentication; SIPp, sipsak and baresip registering with a password."""
import email.utils
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from digest_client import credentials, parse_challenge
from harness import run_sipp
from scn_helpers import (PeerCase, contacts, header, scenario_path,
                         sip_request, status, transact)

SIPSAK = shutil.which("sipsak")
BARESIP = shutil.which("baresip")

PLAIN = """
rules:
  - match: {method: REGISTER}
    registrar: {min-expires: 2, max-expires: 3600, default-expires: 1800}
"""

SHORT = """
rules:
  - match: {method: REGISTER}
    registrar: {min-expires: 1, max-expires: 3600}
"""

MD5_AUTH = """
rules:
  - match: {method: REGISTER}
    auth: {realm: sipstub.test, accounts: {alice: secret},
           algorithms: [MD5]}
    registrar: {min-expires: 60}
"""


class RegCase(PeerCase):
    yaml = None
    shipped = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="reg-test-")
        if self.yaml:
            self.scenario = os.path.join(self.tmp, "scn.yaml")
            with open(self.scenario, "w") as f:
                f.write(self.yaml)
        elif self.shipped:
            self.scenario = scenario_path(self.shipped)
        self.cseq = {}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def register(self, p, user, contact_hdrs=(), callid=None, cseq=None,
                 extra=(), expect=None):
        """REGISTER To sip:user@host; returns the final response."""
        ruri = "sip:%s" % self.stub.addr
        callid = callid or "reg-%s-%s@test" % (user, p.port)
        if cseq is None:
            cseq = self.cseq.get(callid, 0) + 1
        self.cseq[callid] = cseq
        req = sip_request(p, "REGISTER", ruri, callid=callid, cseq=cseq,
                          headers=list(extra))
        # our own To and Contact(s) instead of the helper's
        lines = [ln for ln in req.split("\r\n")
                 if not ln.startswith(("To:", "Contact:"))]
        at = lines.index("Max-Forwards: 70")
        lines[at:at] = (["To: <sip:%s@%s>" % (user, self.stub.addr)] +
                        ["Contact: %s" % c for c in contact_hdrs])
        r = transact(p, "\r\n".join(lines))
        self.assertTrue(r, "no response")
        if expect is not None:
            self.assertEqual(status(r[-1]), expect, r[-1])
        return r[-1]

    def bindings(self, resp):
        """{uri: (expires, rest)} of a 200's Contacts."""
        out = {}
        for c in contacts(resp):
            m = re.match(r"<([^>]+)>;expires=(\d+)(.*)$", c)
            self.assertIsNotNone(m, c)
            out[m.group(1)] = (int(m.group(2)), m.group(3))
        return out

    def reg_events(self, n):
        self.stub.wait_event(lambda e: len(
            [x for x in self.stub.events()
             if x.get("event") == "register"]) >= n)
        return [(e["action"], e["contact"] if "contact" in e else
                 e.get("code"))
                for e in self.stub.events() if e.get("event") == "register"]


class Bindings(RegCase):
    yaml = PLAIN

    def test_add_list_refresh_remove(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            user = "alice-" + tp
            a = "sip:a@10.0.0.1:5060"
            b = "sip:b@10.0.0.2:5062;transport=tcp"
            r = self.register(p, user, ["<%s>;expires=600" % a], expect=200)
            self.assertEqual(self.bindings(r), {a: (600, "")})
            date = header(r, "Date")
            self.assertEqual(len(date), 1)
            self.assertIsNotNone(email.utils.parsedate_to_datetime(date[0]))
            self.assertTrue(date[0].endswith(" GMT"), date)
            # a second phone, its own Call-ID; the default expires
            r = self.register(p, user, ["<%s>" % b], callid="other-" + tp,
                              expect=200)
            got = self.bindings(r)
            self.assertEqual(set(got), {a, b})
            self.assertEqual(got[b][0], 1800)
            self.assertLessEqual(got[a][0], 600)
            # a query: no Contact
            r = self.register(p, user, expect=200)
            self.assertEqual(set(self.bindings(r)), {a, b})
            # refresh a with the Expires header, q kept
            r = self.register(p, user, ["<%s>;q=0.7" % a],
                              extra=["Expires: 900"], expect=200)
            got = self.bindings(r)
            self.assertEqual(got[a], (900, ";q=0.7"))
            # remove a
            r = self.register(p, user, ["<%s>;expires=0" % a], expect=200)
            self.assertEqual(set(self.bindings(r)), {b})
            # remove all
            r = self.register(p, user, ["*"], extra=["Expires: 0"],
                              expect=200)
            self.assertEqual(contacts(r), [])
        ev = self.reg_events(10)
        self.assertEqual([x[0] for x in ev], ["added", "added", "refreshed",
                                              "removed", "removed"] * 2)

    def test_several_contacts_one_request(self):
        p = self.peer()
        r = self.register(p, "bob", ["<sip:b1@h1>;expires=100, "
                                     "<sip:b2@h2>;expires=200",
                                     "<sip:b3@h3>"],
                          extra=["Expires: 300"], expect=200)
        self.assertEqual({u: e for u, (e, _) in self.bindings(r).items()},
                         {"sip:b1@h1": 100, "sip:b2@h2": 200,
                          "sip:b3@h3": 300})
        # other AoRs are apart
        r = self.register(p, "carol", expect=200)
        self.assertEqual(contacts(r), [])

    def test_423(self):
        p = self.peer()
        for c, extra in (("<sip:x@h>;expires=1", ()),
                         ("<sip:x@h>", ("Expires: 1",))):
            r = self.register(p, "dave", [c], extra=extra, expect=423)
            self.assertEqual(header(r, "Min-Expires"), ["2"])
        # all or nothing: a good contact next to a too brief one
        r = self.register(p, "dave", ["<sip:ok@h>;expires=60",
                                      "<sip:x@h>;expires=1"], expect=423)
        r = self.register(p, "dave", expect=200)
        self.assertEqual(contacts(r), [])
        # above the maximum: lowered
        r = self.register(p, "dave", ["<sip:x@h>;expires=99999"],
                          expect=200)
        self.assertEqual(self.bindings(r)["sip:x@h"][0], 3600)
        self.assertEqual(self.reg_events(4)[:3],
                         [("rejected", 423)] * 3)
        self.assertIn(("added", "sip:x@h"), self.reg_events(4))

    def test_cseq_order(self):
        p = self.peer()
        cid = "order@test"
        self.register(p, "erin", ["<sip:e@h>;expires=100"], callid=cid,
                      cseq=10, expect=200)
        # (the same CSeq is a merged request: 482, RFC 3261 8.2.2.2)
        r = self.register(p, "erin", ["<sip:e@h>;expires=0"], callid=cid,
                          cseq=9, expect=500)
        self.assertTrue(r.startswith("SIP/2.0 500 CSeq Out of Order"))
        r = self.register(p, "erin", ["*"], callid=cid, cseq=8,
                          extra=["Expires: 0"], expect=500)
        # still there; a higher CSeq, or another Call-ID, may change it
        r = self.register(p, "erin", expect=200)
        self.assertEqual(set(self.bindings(r)), {"sip:e@h"})
        r = self.register(p, "erin", ["<sip:e@h>;expires=50"],
                          callid="new@test", cseq=1, expect=200)
        self.assertEqual(self.bindings(r)["sip:e@h"][0], 50)
        self.register(p, "erin", ["<sip:e@h>;expires=0"], callid=cid,
                      cseq=11, expect=200)

    def test_bad_requests(self):
        p = self.peer()
        for cts, extra in ((["*"], ()), (["*"], ("Expires: 5",)),
                           (["*", "<sip:a@h>"], ("Expires: 0",)),
                           (["<sip:a@h>;expires=soon"], ()),
                           (["<sip:a@h>"], ("Expires: never",)),
                           (["<<<"], ())):
            self.register(p, "frank", cts, extra=extra, expect=400)
        r = self.register(p, "frank", expect=200)
        self.assertEqual(contacts(r), [])

    def test_outbound_instance_and_path(self):
        p = self.peer()
        inst = '"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"'
        c1 = "<sip:g@10.0.0.1>;+sip.instance=%s;reg-id=1" % inst
        r = self.register(p, "gina", [c1], expect=200)
        self.assertEqual(header(r, "Require"), ["outbound"])
        self.assertEqual(contacts(r), [
            "<sip:g@10.0.0.1>;expires=1800;+sip.instance=%s;reg-id=1" %
            inst])
        # the same instance and reg-id from another address: replaced
        c2 = "<sip:g@10.0.0.9>;+sip.instance=%s;reg-id=1" % inst
        r = self.register(p, "gina", [c2], expect=200)
        self.assertEqual(set(self.bindings(r)), {"sip:g@10.0.0.9"})
        # not the first hop, no Path with ;ob: 439
        via2 = "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK-hop2"
        r = self.register(p, "gina", [c2], extra=[via2], expect=439)
        path = "Path: <sip:edge@10.0.0.5;lr;ob>"
        r = self.register(p, "gina", [c2], extra=[via2, path,
                                                  "Supported: path"],
                          expect=200)
        self.assertEqual(header(r, "Path"), ["<sip:edge@10.0.0.5;lr;ob>"])
        # RFC 3327 5.3: Path only to a UA that supports it
        r = self.register(p, "gina", ["<sip:h@h>"], extra=[path],
                          expect=200)
        self.assertEqual(header(r, "Path"), [])
        self.assertEqual(header(r, "Require"), [])


class Expiry(RegCase):
    yaml = SHORT

    def test_expire(self):
        p = self.peer("tcp")
        self.register(p, "hal", ["<sip:h1@h>;expires=1",
                                 "<sip:h2@h>;expires=3600"], expect=200)
        e = self.stub.wait_event(lambda e: e.get("event") == "register" and
                                 e.get("action") == "expired")
        self.assertEqual((e["aor"], e["contact"], e["expires"]),
                         ("sip:hal@127.0.0.1", "sip:h1@h", 0))
        self.assertNotIn("call_id", e)
        r = self.register(p, "hal", expect=200)
        self.assertEqual(set(self.bindings(r)), {"sip:h2@h"})


class ShippedRegistrar(RegCase):
    """registrar.yaml: alice/secret, 401 on REGISTER, Min-Expires 60."""
    shipped = "registrar.yaml"

    def auth_register(self, p, contact, expires, password="secret"):
        r = self.register(p, "alice", [contact],
                          extra=["Expires: %d" % expires], expect=401)
        ch = [parse_challenge(v) for v in header(r, "WWW-Authenticate")]
        self.assertEqual([c["algorithm"] for c in ch], ["MD5", "SHA-256"])
        cred = credentials(ch[1], "REGISTER", "sip:%s" % self.stub.addr,
                           "alice", password)
        return self.register(p, "alice", [contact],
                             extra=["Expires: %d" % expires, cred])

    def test_register_with_password(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            r = self.auth_register(p, "<sip:alice@10.1.1.1>", 30)
            self.assertEqual(status(r), 423)
            self.assertEqual(header(r, "Min-Expires"), ["60"])
            r = self.auth_register(p, "<sip:alice@10.1.1.1>", 120)
            self.assertEqual(status(r), 200, r)
            self.assertEqual(self.bindings(r),
                             {"sip:alice@10.1.1.1": (120, "")})
            r = self.auth_register(p, "<sip:alice@10.1.1.1>", 0)
            self.assertEqual(status(r), 200, r)
            r = self.auth_register(p, "<sip:alice@10.1.1.2>", 120,
                                   password="guess")
            self.assertEqual(status(r), 403, r)

    def test_invite_challenged(self):
        p = self.peer()
        req = sip_request(p, "INVITE", "sip:486@%s" % self.stub.addr)
        r = transact(p, req)
        self.assertEqual([status(m) for m in r], [100, 407], r)
        self.assertEqual(len(header(r[-1], "Proxy-Authenticate")), 2)


class Clients(RegCase):
    """Real clients register with a password (MD5: SIPp and sipsak
    answer only the first challenge and know only MD5)."""
    yaml = MD5_AUTH

    def test_sipp(self):
        for tp in ("u1", "t1"):
            rc, out = run_sipp("scn_register_auth.xml", self.stub.addr, tp,
                               service="alice")
            self.assertEqual(rc, 0, out)
        ev = self.reg_events(2)
        self.assertEqual([x[0] for x in ev], ["added", "added"])

    @unittest.skipIf(SIPSAK is None, "sipsak is not installed")
    def test_sipsak(self):
        def sipsak(pw):
            return subprocess.run(
                [SIPSAK, "-U", "-s", "sip:alice@%s" % self.stub.addr,
                 "-a", pw, "-u", "alice", "-x", "120", "-i", "-vv"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=30)
        p = sipsak("secret")
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        p = sipsak("guess")
        self.assertNotEqual(p.returncode, 0)
        ev = [e for e in self.stub.events()
              if e.get("event") == "register"]
        self.assertEqual([(e["action"], e["expires"]) for e in ev],
                         [("added", 120)])
        self.assertRegex(ev[0]["contact"], r"^sip:alice@127\.0\.0\.1:\d+")
        auth = [e["reason"] for e in self.stub.events()
                if e.get("event") == "auth"]
        self.assertIn("ok", auth)
        self.assertEqual(auth[-1], "wrong password")


@unittest.skipIf(BARESIP is None, "baresip is not installed")
class Baresip(RegCase):
    """baresip registers with a password, and unregisters when it quits
    (MD5 only: libre 1.1.0 gives up on a SHA-256 challenge)."""
    yaml = MD5_AUTH.replace("sipstub.test", "sipstub")

    def run_baresip(self, password):
        from test_baresip import CONFIG, tone
        d = os.path.join(self.tmp, "baresip-" + password)
        os.mkdir(d)
        with open(os.path.join(d, "config"), "w") as f:
            f.write(CONFIG % {"dir": d})
        with open(os.path.join(d, "accounts"), "w") as f:
            f.write("<sip:alice@%s>;auth_pass=%s;regint=120\n" %
                    (self.stub.addr, password))
        tone(os.path.join(d, "in.wav"), seconds=1)
        tone(os.path.join(d, "alert.wav"), seconds=1)
        p = subprocess.run([BARESIP, "-f", d, "-t", "3"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=40)
        return p.stdout.decode(errors="replace")

    def test_register_and_unregister(self):
        out = self.run_baresip("secret")
        ev = self.reg_events(2)
        self.assertEqual([x[0] for x in ev], ["added", "removed"], out)
        self.assertRegex(ev[0][1], r"^sip:alice-[^@]+@127\.0\.0\.1:\d+$")
        out = self.run_baresip("guess")
        self.assertIn("403 Forbidden", out)
        auth = [e["reason"] for e in self.stub.events()
                if e.get("event") == "auth"]
        self.assertEqual(auth[-1], "wrong password")
        self.assertEqual(len(self.reg_events(2)), 2)


if __name__ == "__main__":
    unittest.main()
