"""Digest authentication (src/auth.c, src/digest.c) on the wire: the
challenges sipstub sends, the credentials it accepts and refuses (digests
computed here with hashlib), the event log's `auth` lines, the shipped
auth-*.yaml scenarios, dial-a-code's 401/407, and real clients (SIPp
[authentication], sipsak -a)."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from digest_client import credentials, parse_challenge
from harness import run_sipp
from scn_helpers import (PeerCase, header, run_cli, scenario_path,
                         sip_request, status, transact)

SIPSAK = shutil.which("sipsak")

WWW = """
rules:
  - match: {method: [OPTIONS, MESSAGE], in-dialog: false}
    auth:
      realm: test.realm
      accounts: {alice: secret, bob: "pa:ss"}
      qop: [auth, auth-int]
    reply: 200
  - match: {method: INVITE, in-dialog: false}
    auth: {realm: test.realm, type: proxy, accounts: {alice: secret}}
    reply: 486
  - match: {method: SUBSCRIBE}
    auth: {realm: test.realm, type: proxy, accounts: {alice: secret},
           failure: 401}
    reply: 489
"""

STALE = """
rules:
  - match: {method: OPTIONS}
    auth: {realm: test.realm, accounts: {alice: secret}, nonce-ttl: 1}
    reply: 200
"""


class AuthCase(PeerCase):
    """sipstub on a scenario text (yaml) or a shipped file (shipped)."""
    yaml = None
    shipped = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="auth-test-")
        if self.yaml:
            self.scenario = os.path.join(self.tmp, "scn.yaml")
            with open(self.scenario, "w") as f:
                f.write(self.yaml)
        elif self.shipped:
            self.scenario = scenario_path(self.shipped)
        super().setUp()

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def uri(self, user=None):
        return "sip:%s%s" % (user + "@" if user else "", self.stub.addr)

    def send(self, p, method, ruri, headers=(), body="", **kw):
        """Send a request; returns (request text, responses)."""
        req = sip_request(p, method, ruri, headers=list(headers),
                          body=body, **kw)
        return req, transact(p, req)

    def challenged(self, p, method, ruri, code=401,
                   name="WWW-Authenticate", **kw):
        """The challenges (parsed) of a request without credentials."""
        _, r = self.send(p, method, ruri, **kw)
        self.assertEqual(status(r[-1]), code, r)
        vals = header(r[-1], name)
        self.assertTrue(vals, r[-1])
        return [parse_challenge(v) for v in vals], r[-1]

    def auth_events(self, n):
        """The first n `auth` events, waiting for the nth."""
        self.stub.wait_event(lambda e: e.get("event") == "auth" and
                             sum(1 for x in self.stub.events()
                                 if x.get("event") == "auth") >= n)
        return [e for e in self.stub.events()
                if e.get("event") == "auth"][:n]

    def last_auth(self, n):
        return self.auth_events(n)[-1]


class Www(AuthCase):
    """401/WWW-Authenticate: SHA-256 and MD5, qop auth and auth-int."""
    yaml = WWW

    def test_challenge(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            ch, resp = self.challenged(p, "OPTIONS", self.uri("alice"))
            # RFC 8760 2.4: one challenge per algorithm, SHA-256 first
            self.assertEqual([c["algorithm"] for c in ch],
                             ["SHA-256", "MD5"])
            for c in ch:
                self.assertEqual(c["realm"], "test.realm")
                self.assertRegex(c["nonce"], r"^[0-9a-f]{56}$")
                self.assertRegex(c["opaque"], r"^[0-9a-f]{16}$")
                self.assertEqual(c["qop"], "auth,auth-int")
                self.assertNotIn("stale", c)
            self.assertEqual(ch[0]["nonce"], ch[1]["nonce"])
            self.assertRegex(header(resp, "WWW-Authenticate")[0],
                             r'^Digest realm="test\.realm", nonce="')
        ev = self.auth_events(2)
        self.assertEqual([(e["reason"], e["code"], e["realm"])
                          for e in ev], [("no credentials", 401,
                                          "test.realm")] * 2)

    def test_right_password(self):
        n = 0
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            for alg in ("SHA-256", "MD5"):
                ch, _ = self.challenged(p, "OPTIONS", self.uri("alice"))
                uri = self.uri("alice")
                cred = credentials(ch[0], "OPTIONS", uri, "alice",
                                   "secret", alg=alg)
                _, r = self.send(p, "OPTIONS", uri, [cred])
                self.assertEqual([status(m) for m in r], [200], r)
                n += 2
                e = self.last_auth(n)
                self.assertEqual((e["reason"], e["user"], e["algorithm"]),
                                 ("ok", "alice", alg))
                self.assertNotIn("code", e)
                resp = re.search(r'response="([0-9a-f]+)"', cred).group(1)
                for ev in self.stub.events():
                    if ev.get("event") == "auth":
                        self.assertNotIn("secret", str(ev))
                        self.assertNotIn(resp, str(ev))

    def test_password_with_colon(self):
        p = self.peer()
        ch, _ = self.challenged(p, "OPTIONS", self.uri())
        cred = credentials(ch[1], "OPTIONS", self.uri(), "bob", "pa:ss")
        _, r = self.send(p, "OPTIONS", self.uri(), [cred])
        self.assertEqual([status(m) for m in r], [200], r)

    def test_wrong_password_and_unknown_user(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            for user, pw, why in (("alice", "guess", "wrong password"),
                                  ("mallory", "secret", "unknown user")):
                ch, _ = self.challenged(p, "OPTIONS", self.uri())
                cred = credentials(ch[0], "OPTIONS", self.uri(), user, pw)
                _, r = self.send(p, "OPTIONS", self.uri(), [cred])
                self.assertEqual([status(m) for m in r], [403], r)
                self.assertEqual(header(r[0], "WWW-Authenticate"), [])
        ev = self.auth_events(8)
        self.assertEqual([(e["reason"], e.get("code")) for e in ev[1::2]],
                         [("wrong password", 403), ("unknown user", 403)]
                         * 2)
        self.assertEqual(ev[1]["user"], "alice")

    def test_forged_nonce(self):
        p = self.peer()
        ch, _ = self.challenged(p, "OPTIONS", self.uri())
        nonce = ch[0]["nonce"]
        # another MAC; a later time with the old MAC; not hex
        flip = "0" if nonce[-1] != "0" else "1"
        later = "%016x" % (int(nonce[:16], 16) + 3600000)
        for forged in (nonce[:-1] + flip, later + nonce[16:],
                       "x" * 56, nonce + "00"):
            cred = credentials(ch[0], "OPTIONS", self.uri(), "alice",
                               "secret", nonce=forged)
            _, r = self.send(p, "OPTIONS", self.uri(), [cred])
            self.assertEqual([status(m) for m in r], [401], r)
            fresh = [parse_challenge(v)
                     for v in header(r[0], "WWW-Authenticate")]
            self.assertNotIn("stale", fresh[0])
            self.assertNotEqual(fresh[0]["nonce"], forged)
        ev = self.auth_events(5)
        self.assertEqual({e["reason"] for e in ev[1:]}, {"bad nonce"})

    def test_nc_replay(self):
        p = self.peer()
        ch, _ = self.challenged(p, "OPTIONS", self.uri())
        want = []
        for nc, code in ((1, 200), (1, 401), (2, 200), (2, 401), (5, 200),
                         (3, 401)):
            cred = credentials(ch[0], "OPTIONS", self.uri(), "alice",
                               "secret", nc=nc, cnonce="c%d" % len(want))
            _, r = self.send(p, "OPTIONS", self.uri(), [cred])
            self.assertEqual([status(m) for m in r], [code], (nc, r))
            if code == 401:
                # RFC 7616 3.4: a new nonce, the password was right
                st = parse_challenge(header(r[0], "WWW-Authenticate")[0])
                self.assertEqual(st.get("stale"), "true")
            want.append("ok" if code == 200 else "nc replay")
        ev = self.auth_events(7)
        self.assertEqual([e["reason"] for e in ev[1:]], want)

    def test_auth_int(self):
        p = self.peer()
        body = "hello, auth-int"
        ch, _ = self.challenged(p, "MESSAGE", self.uri("alice"))
        cred = credentials(ch[0], "MESSAGE", self.uri("alice"), "alice",
                           "secret", qop="auth-int", body=body)
        hdr = ["Content-Type: text/plain"]
        _, r = self.send(p, "MESSAGE", self.uri("alice"), [cred] + hdr,
                         body=body)
        self.assertEqual([status(m) for m in r], [200], r)
        # the same credentials over another body
        cred = credentials(ch[0], "MESSAGE", self.uri("alice"), "alice",
                           "secret", qop="auth-int", body=body, nc=2)
        _, r = self.send(p, "MESSAGE", self.uri("alice"), [cred] + hdr,
                         body=body + "!")
        self.assertEqual([status(m) for m in r], [403], r)
        ev = self.auth_events(3)
        self.assertEqual([e["reason"] for e in ev[1:]],
                         ["ok", "wrong password"])

    def test_bad_requests(self):
        p = self.peer()
        ch, _ = self.challenged(p, "OPTIONS", self.uri("alice"))
        c = ch[0]
        uri = self.uri("alice")
        good = credentials(c, "OPTIONS", uri, "alice", "secret")
        cases = [
            ("bad uri", 400,
             credentials(c, "OPTIONS", self.uri("bob"), "alice", "secret")),
            ("missing fields", 400, good.replace(', cnonce="c0ffee"', "")),
            ("missing fields", 400, good.replace(", qop=auth", "")),
            ("bad algorithm", 400, good.replace("algorithm=SHA-256",
                                                "algorithm=SHA-512")),
            ("bad qop", 400, good.replace("qop=auth", "qop=auth-conf")),
            ("bad opaque", 400, good.replace(c["opaque"], "0" * 16)),
            ("wrong realm", 403, credentials(c, "OPTIONS", uri, "alice",
                                             "secret", realm="other")),
            ("malformed credentials", 400,
             'Authorization: Digest username="alice, realm="test.realm"'),
            ("malformed credentials", 400,
             'Authorization: Digest realm="test.realm" username'),
        ]
        for why, code, cred in cases:
            _, r = self.send(p, "OPTIONS", uri, [cred])
            self.assertEqual([status(m) for m in r], [code], (why, r))
        ev = self.auth_events(len(cases) + 1)
        self.assertEqual([e["reason"] for e in ev[1:]],
                         [w for w, _, _ in cases])
        # never 200, and sipstub is still there
        _, r = self.send(p, "OPTIONS", uri, [good])
        self.assertEqual([status(m) for m in r], [200], r)

    def test_proxy(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            uri = self.uri("carol")
            ch, resp = self.challenged(p, "INVITE", uri, code=407,
                                       name="Proxy-Authenticate")
            self.assertEqual(header(resp, "WWW-Authenticate"), [])
            # credentials in Authorization are not for a proxy
            www = credentials(ch[0], "INVITE", uri, "alice", "secret")
            _, r = self.send(p, "INVITE", uri, [www])
            self.assertEqual([status(m) for m in r], [100, 407], r)
            prx = credentials(ch[0], "INVITE", uri, "alice", "secret",
                              nc=2, header="Proxy-Authorization")
            _, r = self.send(p, "INVITE", uri, [prx])
            # through to the rule's steps: 486
            self.assertEqual([status(m) for m in r], [100, 486], r)


    def test_proxy_failure_401(self):
        p = self.peer()
        uri = self.uri("dan")
        hdrs = ["Event: presence"]
        ch, _ = self.challenged(p, "SUBSCRIBE", uri, code=407,
                                name="Proxy-Authenticate", headers=hdrs)
        cred = credentials(ch[0], "SUBSCRIBE", uri, "alice", "guess",
                           header="Proxy-Authorization")
        _, r = self.send(p, "SUBSCRIBE", uri, [cred] + hdrs)
        self.assertEqual([status(m) for m in r], [407], r)
        self.assertEqual(len(header(r[0], "Proxy-Authenticate")), 2)
        cred = credentials(ch[0], "SUBSCRIBE", uri, "alice", "secret",
                           nc=2, header="Proxy-Authorization")
        _, r = self.send(p, "SUBSCRIBE", uri, [cred] + hdrs)
        self.assertEqual([status(m) for m in r], [489], r)


class Stale(AuthCase):
    """A nonce older than nonce-ttl: stale=true only for a right answer
    (RFC 7616 3.3)."""
    yaml = STALE

    def test_stale(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            ch, _ = self.challenged(p, "OPTIONS", self.uri())
            time.sleep(2.2)   # the nonce is 1 s fresh
            right = credentials(ch[0], "OPTIONS", self.uri(), "alice",
                                "secret")
            _, r = self.send(p, "OPTIONS", self.uri(), [right])
            self.assertEqual([status(m) for m in r], [401], r)
            new = [parse_challenge(v)
                   for v in header(r[0], "WWW-Authenticate")]
            self.assertEqual([c.get("stale") for c in new], ["true"] * 2)
            self.assertNotEqual(new[0]["nonce"], ch[0]["nonce"])
            wrong = credentials(ch[0], "OPTIONS", self.uri(), "alice",
                                "guess", nc=2)
            _, r = self.send(p, "OPTIONS", self.uri(), [wrong])
            self.assertEqual([status(m) for m in r], [403], r)
            again = credentials(new[0], "OPTIONS", self.uri(), "alice",
                                "secret")
            _, r = self.send(p, "OPTIONS", self.uri(), [again])
            self.assertEqual([status(m) for m in r], [200], r)
        ev = self.auth_events(8)
        self.assertEqual([e["reason"] for e in ev[:4]],
                         ["no credentials", "stale nonce", "wrong password",
                          "ok"])


class ShippedForever(AuthCase):
    """auth-forever.yaml: challenges that never end or are broken."""
    shipped = "auth-forever.yaml"

    def test_forever(self):
        p = self.peer()
        ch, _ = self.challenged(p, "OPTIONS", self.uri("alice"))
        for nc in (1, 2):
            cred = credentials(ch[0], "OPTIONS", self.uri("alice"),
                               "alice", "secret", nc=nc)
            _, r = self.send(p, "OPTIONS", self.uri("alice"), [cred])
            self.assertEqual([status(m) for m in r], [401], r)
            self.assertEqual(len(header(r[0], "WWW-Authenticate")), 2)
        ev = self.auth_events(3)
        self.assertEqual({e["reason"] for e in ev}, {"challenge forever"})

    def test_broken_challenges(self):
        p = self.peer()
        _, r = self.send(p, "OPTIONS", self.uri("bad-algorithm"))
        www = header(r[-1], "WWW-Authenticate")
        self.assertEqual(len(www), 1, www)
        self.assertIn("algorithm=X-UNKNOWN-1,", www[0])
        _, r = self.send(p, "OPTIONS", self.uri("malformed"))
        www = header(r[-1], "WWW-Authenticate")
        self.assertEqual(len(www), 1, www)
        self.assertRegex(www[0], r'^Digest realm="sipstub, nonce=[0-9a-f]+,'
                         r' algorithm=, qop="$')
        _, r = self.send(p, "OPTIONS", self.uri("no-challenge"))
        self.assertEqual(status(r[-1]), 401)
        self.assertEqual(header(r[-1], "WWW-Authenticate"), [])
        self.assertEqual(header(r[-1], "Proxy-Authenticate"), [])

    def test_wrong_is_401(self):
        p = self.peer()
        uri = self.uri("wrong-is-401")
        ch, _ = self.challenged(p, "OPTIONS", uri)
        cred = credentials(ch[0], "OPTIONS", uri, "alice", "guess")
        _, r = self.send(p, "OPTIONS", uri, [cred])
        self.assertEqual([status(m) for m in r], [401], r)
        new = parse_challenge(header(r[0], "WWW-Authenticate")[0])
        self.assertNotIn("stale", new)
        cred = credentials(new, "OPTIONS", uri, "alice", "secret")
        _, r = self.send(p, "OPTIONS", uri, [cred])
        self.assertEqual([status(m) for m in r], [200], r)


class ShippedMd5First(AuthCase):
    """auth-md5-first.yaml: MD5 before SHA-256; SIPp (MD5 only, first
    challenge) and sipsak get in."""
    shipped = "auth-md5-first.yaml"

    def test_order(self):
        p = self.peer()
        ch, _ = self.challenged(p, "MESSAGE", self.uri("alice"))
        self.assertEqual([c["algorithm"] for c in ch], ["MD5", "SHA-256"])
        self.assertEqual(ch[0]["qop"], "auth,auth-int")

    def test_sipp(self):
        for tp in ("u1", "t1"):
            rc, out = run_sipp("scn_options_auth.xml", self.stub.addr, tp,
                               extra=["-au", "alice", "-ap", "secret"])
            self.assertEqual(rc, 0, out)
        rc, out = run_sipp("scn_options_auth.xml", self.stub.addr, "u1",
                           extra=["-au", "alice", "-ap", "guess"])
        self.assertNotEqual(rc, 0, out)
        ev = self.auth_events(6)
        self.assertEqual([e["reason"] for e in ev],
                         ["no credentials", "ok"] * 2 +
                         ["no credentials", "wrong password"])
        self.assertEqual(ev[1]["algorithm"], "MD5")

    @unittest.skipIf(SIPSAK is None, "sipsak is not installed")
    def test_sipsak(self):
        def sipsak(pw):
            return subprocess.run(
                [SIPSAK, "-s", "sip:alice@%s" % self.stub.addr, "-a", pw,
                 "-u", "alice", "-v"], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=30)
        p = sipsak("secret")
        self.assertEqual(p.returncode, 0, p.stdout)
        p = sipsak("guess")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        ev = self.auth_events(4)
        self.assertEqual([e["reason"] for e in ev],
                         ["no credentials", "ok", "no credentials",
                          "wrong password"])


class ShippedStale(AuthCase):
    """auth-stale.yaml: the right answer to an INVITE is always stale."""
    shipped = "auth-stale.yaml"

    def test_always_stale(self):
        p = self.peer()
        uri = self.uri("alice")
        ch, _ = self.challenged(p, "INVITE", uri)
        for _ in range(2):
            cred = credentials(ch[0], "INVITE", uri, "alice", "secret")
            _, r = self.send(p, "INVITE", uri, [cred])
            self.assertEqual([status(m) for m in r], [100, 401], r)
            ch = [parse_challenge(v)
                  for v in header(r[-1], "WWW-Authenticate")]
            self.assertEqual(ch[0].get("stale"), "true")
        ev = self.auth_events(3)
        self.assertEqual([e["reason"] for e in ev],
                         ["no credentials", "stale nonce", "stale nonce"])


class DialACode(AuthCase):
    """The built-in scenario: 401 and 407 challenge, any user with the
    password sipstub gets through, a wrong password 403."""

    def test_401_407(self):
        for tp in ("udp", "tcp"):
            p = self.peer(tp)
            for code, name, hdr in (
                    (401, "WWW-Authenticate", "Authorization"),
                    (407, "Proxy-Authenticate", "Proxy-Authorization")):
                uri = self.uri(str(code))
                ch, _ = self.challenged(p, "OPTIONS", uri, code=code,
                                        name=name)
                self.assertEqual([c["algorithm"] for c in ch],
                                 ["SHA-256", "MD5"])
                self.assertEqual(ch[0]["realm"], "sipstub")
                bad = credentials(ch[1], "OPTIONS", uri, "zoe", "guess",
                                  header=hdr)
                _, r = self.send(p, "OPTIONS", uri, [bad])
                self.assertEqual([status(m) for m in r], [403], r)
                good = credentials(ch[1], "OPTIONS", uri, "zoe", "sipstub",
                                   header=hdr, nc=2)
                _, r = self.send(p, "OPTIONS", uri, [good])
                self.assertEqual([status(m) for m in r], [200], r)

    def test_invite_401_call(self):
        p = self.peer()
        uri = self.uri("401")
        ch, _ = self.challenged(p, "INVITE", uri)
        cred = credentials(ch[0], "INVITE", uri, "anyone", "sipstub")
        req, r = self.send(p, "INVITE", uri, [cred])
        self.assertEqual([status(m) for m in r], [100, 180, 200], r)
        ev = self.auth_events(2)
        self.assertEqual((ev[1]["reason"], ev[1]["user"]), ("ok", "anyone"))


class Check(unittest.TestCase):
    """sipstub --check reports bad auth and registrar keys."""

    def test_bad_keys(self):
        bad = {
            "auth: {realm: r}": "auth needs accounts",
            "auth: {accounts: {a: b}}": "auth needs a realm",
            "auth: {realm: r, accounts: {a: b}, algorithms: [SHA-1]}":
                "algorithms are MD5 and SHA-256",
            "auth: {realm: r, accounts: {a: b}, type: both}":
                "type is www (401) or proxy (407)",
            "auth: {realm: r, accounts: {a: b}, nonce-ttl: 0}":
                "nonce-ttl is 1..86400 seconds",
            "auth: {realm: r, accounts: {a: b}, misbehave: lie}":
                "misbehave is one of",
            "auth: {realm: r, accounts: {a: b}, colour: red}":
                "unknown auth key",
            "auth: {realm: 'a\"b', accounts: {a: b}}":
                "realm must be text without quotes",
            "registrar: {min-expires: 100, max-expires: 10}":
                "min-expires is above max-expires",
            "registrar: {min-expires: soon}": "expected seconds",
        }
        tmp = tempfile.mkdtemp(prefix="auth-check-")
        try:
            for i, (key, msg) in enumerate(bad.items()):
                path = os.path.join(tmp, "s%d.yaml" % i)
                with open(path, "w") as f:
                    f.write("rules:\n  - match: {method: REGISTER}\n"
                            "    %s\n    reply: 200\n" % key)
                code, out, err = run_cli(["--check", path])
                self.assertEqual(code, 2, (key, out, err))
                self.assertIn(msg, out + err, key)
            # a registrar rule needs no reply, if it matches REGISTER only
            path = os.path.join(tmp, "ok.yaml")
            with open(path, "w") as f:
                f.write("rules:\n  - match: {method: [REGISTER, OPTIONS]}"
                        "\n    registrar: true\n")
            code, out, err = run_cli(["--check", path])
            self.assertEqual(code, 2, out + err)
            self.assertIn("must match method REGISTER only", out + err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
