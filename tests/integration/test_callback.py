"""sipstub calls the caller back (step key 'callback', dial-a-code user
callme): a raw-socket client registers, calls, and answers sipstub's
INVITE (Request-URI = its registered Contact, From/To, SDP offer), ACK
and BYE checked; unregistered (the call's Contact); 486; a 401 answered
with credentials; SIPp as the called UAS over UDP and TCP; baresip."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from test_baresip import BARESIP, CONFIG as BARESIP_CONFIG
from harness import (SipstubTestCase, UdpClient, free_port, header,
                     recv_until, response_to, status, to_tag, SDP_OFFER,
                     SIPP_DIR)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CALLBACK = os.path.join(ROOT, "scenarios", "callback.yaml")


def req(method, ruri, port, callid, cseq=1, contact=None, body="",
        extra=(), to=None, tag=None):
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d%s;rport" %
        (port, method, cseq, callid[:8]),
        "Max-Forwards: 70",
        "From: <sip:bob@127.0.0.1>;tag=bob%d" % port,
        "To: <%s>%s" % (to or ruri, ";tag=%s" % tag if tag else ""),
        "Call-ID: %s" % callid,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <%s>" % (contact or "sip:bob@127.0.0.1:%d" % port),
    ] + list(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return "\r\n".join(lines) + "\r\n\r\n" + body


def first_line(m):
    return (m or "").split("\r\n", 1)[0]


def is_req(method):
    return lambda m: first_line(m).startswith(method + " ")


ANSWER = ("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
          "t=0 0\r\nm=audio 40010 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class CallbackRaw(SipstubTestCase):
    scenario = CALLBACK

    def setUp(self):
        super().setUp()
        self.c = UdpClient()
        self.dst = ("127.0.0.1", self.stub.port)
        self.n = 0

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def cid(self):
        self.n += 1
        return "cb%d-%d@127.0.0.1" % (self.n, self.c.port)

    def register(self, contact):
        self.c.send(req("REGISTER", "sip:bob@127.0.0.1", self.c.port,
                        self.cid(), contact=contact,
                        extra=["Expires: 600"]), self.dst)
        _, ok = recv_until(self.c, lambda m: status(m) == 200)
        self.assertIsNotNone(ok)

    def call_back_trigger(self, method="INVITE", user="back"):
        """Call (or MESSAGE) user; answer sipstub's BYE of that call."""
        callid = self.cid()
        ruri = "sip:%s@127.0.0.1:%d" % (user, self.stub.port)
        if method == "MESSAGE":
            self.c.send(req("MESSAGE", ruri, self.c.port, callid,
                            extra=["Content-Type: text/plain"]), self.dst)
            _, ok = recv_until(self.c, lambda m: status(m) == 200)
            self.assertIsNotNone(ok)
            return callid
        self.c.send(req("INVITE", ruri, self.c.port, callid,
                        body=SDP_OFFER), self.dst)
        _, ok = recv_until(self.c, lambda m: status(m) == 200)
        self.assertIsNotNone(ok)
        self.c.send(req("ACK", ruri, self.c.port, callid,
                        tag=to_tag(ok)), self.dst)
        _, bye = recv_until(self.c, lambda m: is_req("BYE")(m) and
                            callid in m)
        self.assertIsNotNone(bye, "no BYE of the first call")
        self.c.send(response_to(bye, 200, "OK"), self.dst)
        return callid

    def recv_invite(self, timeout=10.0):
        _, inv = recv_until(self.c, is_req("INVITE"), timeout)
        self.assertIsNotNone(inv, "no call-back INVITE")
        return inv

    def check_invite(self, inv, ruri):
        self.assertEqual(first_line(inv), "INVITE %s SIP/2.0" % ruri)
        frm = header(inv, "From")[0]
        self.assertRegex(frm, r"^<sip:callme@127\.0\.0\.1:%d>;tag=\S+$" %
                         self.stub.port)
        self.assertEqual(header(inv, "To"), ["<sip:bob@127.0.0.1>"])
        self.assertEqual(header(inv, "Content-Type"), ["application/sdp"])
        self.assertEqual(header(inv, "Contact"),
                         ["<sip:callme@127.0.0.1:%d>" % self.stub.port])
        self.assertRegex(header(inv, "CSeq")[0], r"^\d+ INVITE$")
        body = inv.split("\r\n\r\n", 1)[1]
        self.assertIn("m=audio ", body)
        self.assertIn("a=rtpmap:0 PCMU/8000", body)

    def answer(self, inv, tag="cb1"):
        """200 with SDP; returns (ACK, BYE) sipstub sends."""
        ok = response_to(inv, 200, "OK", to_tag=tag, headers=[
            "Contact: <sip:bob@127.0.0.1:%d>" % self.c.port,
            "Content-Type: application/sdp"])
        ok = ok.replace("Content-Length: 0\r\n\r\n",
                        "Content-Length: %d\r\n\r\n%s" %
                        (len(ANSWER), ANSWER))
        self.c.send(ok, self.dst)
        callid = header(inv, "Call-ID")[0]
        _, ack = recv_until(self.c, lambda m: is_req("ACK")(m) and
                            callid in m)
        self.assertIsNotNone(ack, "no ACK of the 2xx")
        _, bye = recv_until(self.c, lambda m: is_req("BYE")(m) and
                            callid in m, 10.0)
        self.assertIsNotNone(bye, "no BYE of the call-back")
        self.c.send(response_to(bye, 200, "OK"), self.dst)
        return ack, bye

    def outcomes(self, callid):
        self.stub.wait_event(lambda e: e.get("event") == "callback" and
                             e.get("call_id") == callid and
                             e.get("outcome") in ("ended", "failed"))
        return [(e["outcome"], e["code"]) for e in self.stub.events()
                if e.get("event") == "callback" and
                e.get("call_id") == callid]

    def test_registered_contact(self):
        contact = "sip:bob-reg@127.0.0.1:%d" % self.c.port
        self.register(contact)
        trig = self.call_back_trigger()
        inv = self.recv_invite()
        self.check_invite(inv, contact)
        callid = header(inv, "Call-ID")[0]
        self.assertNotEqual(callid, trig)
        self.c.send(response_to(inv, 180, "Ringing", to_tag="cb1"),
                    self.dst)
        ack, bye = self.answer(inv)
        cseq = header(inv, "CSeq")[0].split()[0]
        self.assertEqual(first_line(ack), "ACK sip:bob@127.0.0.1:%d "
                         "SIP/2.0" % self.c.port)
        self.assertEqual(header(ack, "CSeq"), ["%s ACK" % cseq])
        self.assertIn(";tag=cb1", header(ack, "To")[0])
        self.assertEqual(first_line(bye), "BYE sip:bob@127.0.0.1:%d "
                         "SIP/2.0" % self.c.port)
        self.assertEqual(header(bye, "CSeq"),
                         ["%d BYE" % (int(cseq) + 1)])
        self.assertEqual(self.outcomes(callid),
                         [("calling", 0), ("progress", 180),
                          ("answered", 200), ("bye", 0), ("ended", 200)])
        sched = [e for e in self.stub.events()
                 if e.get("event") == "callback" and
                 e.get("outcome") == "scheduled"]
        self.assertEqual([e["call_id"] for e in sched], [trig])
        self.assertEqual(sched[0]["target"], "sip:bob@127.0.0.1")

    def test_unregistered_uses_contact(self):
        self.call_back_trigger()
        inv = self.recv_invite()
        self.check_invite(inv, "sip:bob@127.0.0.1:%d" % self.c.port)
        self.answer(inv)

    def test_message_triggers(self):
        contact = "sip:bob-msg@127.0.0.1:%d" % self.c.port
        self.register(contact)
        self.call_back_trigger("MESSAGE")
        inv = self.recv_invite()
        self.check_invite(inv, contact)
        self.answer(inv)

    def test_to_caller_ignores_binding(self):
        self.register("sip:bob-reg@127.0.0.1:%d" % self.c.port)
        self.call_back_trigger("MESSAGE", "back-caller")
        inv = self.recv_invite()
        self.check_invite(inv, "sip:bob@127.0.0.1:%d" % self.c.port)
        self.answer(inv)

    def test_busy(self):
        self.call_back_trigger()
        inv = self.recv_invite()
        callid = header(inv, "Call-ID")[0]
        self.c.send(response_to(inv, 486, "Busy Here", to_tag="b1"),
                    self.dst)
        _, ack = recv_until(self.c, lambda m: is_req("ACK")(m) and
                            callid in m)
        self.assertIsNotNone(ack)
        # RFC 3261 17.1.1.3: the ACK of a non-2xx is in the transaction
        self.assertEqual(header(ack, "Via")[0].split(";branch=")[1],
                         header(inv, "Via")[0].split(";branch=")[1])
        self.assertEqual(self.outcomes(callid),
                         [("calling", 0), ("failed", 486)])
        self.assertEqual([m for m in self.c.recv_all(1.0)
                          if is_req("INVITE")(m)], [])

    def test_401_answered_with_credentials(self):
        self.call_back_trigger()
        inv = self.recv_invite()
        callid = header(inv, "Call-ID")[0]
        self.c.send(response_to(inv, 401, "Unauthorized", to_tag="a1",
                                headers=['WWW-Authenticate: Digest '
                                         'realm="bobland", nonce="n0nce",'
                                         ' qop="auth", algorithm=MD5']),
                    self.dst)
        inv2 = self.recv_invite()
        self.assertEqual(header(inv2, "Call-ID"), [callid])
        c1 = int(header(inv, "CSeq")[0].split()[0])
        self.assertEqual(header(inv2, "CSeq"), ["%d INVITE" % (c1 + 1)])
        auth = header(inv2, "Authorization")
        self.assertEqual(len(auth), 1, inv2)
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', auth[0]))
        self.assertEqual(f["username"], "alice")
        self.assertEqual(f["realm"], "bobland")
        self.assertEqual(f["uri"], "sip:bob@127.0.0.1:%d" % self.c.port)
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
        ha1 = md5("alice:bobland:secret")
        ha2 = md5("INVITE:" + f["uri"])
        want = md5(":".join([ha1, "n0nce", f["nc"], f["cnonce"], "auth",
                             ha2]))
        self.assertEqual(f["response"], want)
        self.answer(inv2)
        self.assertEqual(self.outcomes(callid),
                         [("calling", 0), ("challenged", 401),
                          ("answered", 200), ("bye", 0), ("ended", 200)])

    def test_client_hangs_up(self):
        self.call_back_trigger()
        inv = self.recv_invite()
        callid = header(inv, "Call-ID")[0]
        ok = response_to(inv, 200, "OK", to_tag="h1", headers=[
            "Contact: <sip:bob@127.0.0.1:%d>" % self.c.port,
            "Content-Type: application/sdp"]).replace(
                "Content-Length: 0\r\n\r\n", "Content-Length: %d\r\n\r\n%s"
                % (len(ANSWER), ANSWER))
        self.c.send(ok, self.dst)
        _, ack = recv_until(self.c, is_req("ACK"))
        self.assertIsNotNone(ack)
        frm = header(inv, "From")[0]
        bye = "\r\n".join([
            "BYE sip:callme@127.0.0.1:%d SIP/2.0" % self.stub.port,
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbye1;rport" %
            self.c.port,
            "Max-Forwards: 70",
            "From: %s;tag=h1" % header(inv, "To")[0],
            "To: %s" % frm,
            "Call-ID: %s" % callid,
            "CSeq: 1 BYE",
            "Content-Length: 0", "", ""])
        self.c.send(bye, self.dst)
        _, r = recv_until(self.c, lambda m: status(m) is not None and
                          "BYE" in header(m, "CSeq")[0])
        self.assertEqual(status(r), 200)
        self.stub.wait_event(lambda e: e.get("event") == "callback" and
                             e.get("outcome") == "remote bye")
        self.assertEqual([m for m in self.c.recv_all(3.0)
                          if is_req("BYE")(m)], [])


class CallbackSipp(SipstubTestCase):
    """SIPp as the called UAS: a MESSAGE to back-caller with SIPp's
    address as Contact makes sipstub call SIPp (UDP, TCP)."""
    scenario = CALLBACK

    def run_uas(self, transport):
        port = free_port()
        work = tempfile.mkdtemp(prefix="sipp-uas-")
        args = ["sipp", "-sf", os.path.join(SIPP_DIR, "uas_callback.xml"),
                "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                "-t", transport, "-timeout", "30s", "-timeout_error",
                "-trace_err", "-nostdin"]
        p = subprocess.Popen(args, cwd=work, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        try:
            tp = ";transport=tcp" if transport == "t1" else ""
            contact = "sip:sipp@127.0.0.1:%d%s" % (port, tp)
            msg = req("MESSAGE", "sip:back-caller@127.0.0.1:%d" %
                      self.stub.port, 5999, "sipp-%s@x" % transport,
                      contact=contact, extra=["Content-Type: text/plain"])
            if transport == "t1":
                msg = msg.replace("SIP/2.0/UDP", "SIP/2.0/TCP")
                s = socket.create_connection(("127.0.0.1",
                                              self.stub.port))
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.connect(("127.0.0.1", self.stub.port))
            with s:
                # SIPp listens before the call-back's delay is over
                s.send(msg.encode())
                s.settimeout(5)
                self.assertIn(b"SIP/2.0 200", s.recv(65535))
            out, _ = p.communicate(timeout=60)
            out = out.decode(errors="replace")
            for name in os.listdir(work):
                if name.endswith("_errors.log"):
                    with open(os.path.join(work, name)) as f:
                        out += f.read()
            self.assertEqual(p.returncode, 0, out)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            shutil.rmtree(work, ignore_errors=True)
        e = self.stub.wait_event(lambda e: e.get("event") == "callback" and
                                 e.get("outcome") == "ended")
        self.assertEqual(e["target"], contact)
        self.assertEqual(e["code"], 200)
        return e

    def test_udp(self):
        self.run_uas("u1")

    def test_tcp(self):
        self.run_uas("t1")
        out = [(e["transport"], e["method"])
               for e in self.stub.sip(dir="out", kind="request")]
        self.assertEqual(out, [("TCP", "INVITE"), ("TCP", "ACK"),
                               ("TCP", "BYE")])



# scenarios/registrar.yaml with MD5 only (baresip 1.0 on libre 1.1 gives
# up on SHA-256) and callme as in dial-a-code, with shorter times
REGISTRAR_CALLME = """rules:
  - name: register
    match: {method: REGISTER, in-dialog: false}
    auth: &www {realm: sipstub, accounts: {alice: secret},
                algorithms: [MD5]}
    registrar: {min-expires: 60}
  - name: callme
    match: {method: INVITE, user: callme, in-dialog: false}
    auth: {realm: sipstub, type: proxy, accounts: {alice: secret},
           algorithms: [MD5]}
    reply:
      - {code: 200, hangup: 1s, callback: {delay: 1s, hangup: 2s}}
"""


@unittest.skipIf(BARESIP is None, "baresip is not installed")
class CallbackBaresip(SipstubTestCase):
    """baresip registers with a password, dials callme, and auto-answers
    sipstub's call-back to its registered contact."""

    def setUp(self):
        import wave
        self.dir = tempfile.mkdtemp(prefix="baresip-cb-")
        self.scenario = os.path.join(self.dir, "registrar.yaml")
        with open(self.scenario, "w") as f:
            f.write(REGISTRAR_CALLME)
        super().setUp()
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(BARESIP_CONFIG % {"dir": self.dir})
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("<sip:alice@%s>;auth_pass=secret;answermode=auto;"
                    "regint=600\n" % self.stub.addr)
        for name, sec in (("in.wav", 10), ("alert.wav", 1)):
            with wave.open(os.path.join(self.dir, name), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(b"\0\0" * 8000 * sec)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        super().tearDown()

    def test_register_call_and_call_back(self):
        p = subprocess.Popen(
            [BARESIP, "-f", self.dir, "-t", "30", "-e",
             "/dial sip:callme@%s" % self.stub.addr],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        try:
            ended = self.stub.wait_event(
                lambda e: e.get("event") == "callback" and
                e.get("outcome") in ("ended", "failed", "timeout"),
                timeout=40)
        finally:
            p.kill()
            out = p.communicate()[0].decode(errors="replace")
        reg = [e for e in self.stub.events() if e.get("event") ==
               "register" and e.get("action") == "added"]
        self.assertEqual(len(reg), 1, out)
        self.assertEqual(ended["outcome"], "ended", out)
        self.assertEqual(ended["target"], reg[0]["contact"])
        outcomes = [e["outcome"] for e in self.stub.events()
                    if e.get("event") == "callback" and
                    e.get("call_id") == ended["call_id"]]
        self.assertEqual(outcomes[0], "calling")
        self.assertIn("answered", outcomes)
        self.assertEqual(outcomes[-2:], ["bye", "ended"])
        auth = [e for e in self.stub.events() if e.get("event") == "auth"]
        self.assertIn("ok", [e.get("reason") for e in auth])
        inv = [e for e in self.stub.sip(dir="out", kind="request",
                                        method="INVITE")]
        self.assertEqual(len(inv), 1)
        self.assertEqual(inv[0]["uri"], reg[0]["contact"])


class CallbackTcp(SipstubTestCase):
    """Over TCP: the Contact of a MESSAGE names the client's own end of
    its connection (;transport=tcp); sipstub's INVITE comes back on it
    with a TCP Via and a Contact with ;transport=tcp."""
    scenario = CALLBACK

    def read_msg(self, sock, buf):
        while b"\r\n\r\n" not in buf[0]:
            data = sock.recv(65535)
            if not data:
                return None
            buf[0] += data
        head, _, rest = buf[0].partition(b"\r\n\r\n")
        n = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
        while len(rest) < n:
            rest += sock.recv(65535)
        buf[0] = rest[n:]
        return (head + b"\r\n\r\n" + rest[:n]).decode()

    def test_tcp_contact(self):
        s = socket.create_connection(("127.0.0.1", self.stub.port))
        s.settimeout(10)
        buf = [b""]
        with s:
            port = s.getsockname()[1]
            contact = "sip:bob@127.0.0.1:%d;transport=tcp" % port
            msg = req("MESSAGE", "sip:back-caller@127.0.0.1:%d" %
                      self.stub.port, port, "tcp1@x", contact=contact,
                      extra=["Content-Type: text/plain"])
            s.sendall(msg.replace("SIP/2.0/UDP", "SIP/2.0/TCP").encode())
            self.assertEqual(status(self.read_msg(s, buf)), 200)
            inv = self.read_msg(s, buf)
            self.assertEqual(first_line(inv), "INVITE %s SIP/2.0" % contact)
            self.assertTrue(header(inv, "Via")[0].startswith(
                "SIP/2.0/TCP 127.0.0.1:%d;" % self.stub.port))
            self.assertEqual(header(inv, "Contact"), [
                "<sip:callme@127.0.0.1:%d;transport=tcp>" % self.stub.port])
            s.sendall(response_to(inv, 486, "Busy Here",
                                  to_tag="t").encode())
            ack = self.read_msg(s, buf)
            self.assertTrue(first_line(ack).startswith("ACK "), ack)
        e = self.stub.wait_event(lambda e: e.get("event") == "callback"
                                 and e.get("outcome") == "failed")
        self.assertEqual((e["target"], e["code"]), (contact, 486))


class CallmeDialACode(SipstubTestCase):
    """The built-in user callme (no scenario file); MESSAGE variant."""

    def test_message_to_callme(self):
        c = UdpClient()
        try:
            dst = ("127.0.0.1", self.stub.port)
            c.send(req("MESSAGE", "sip:callme@127.0.0.1:%d" %
                       self.stub.port, c.port, "m1@x",
                       extra=["Content-Type: text/plain"]), dst)
            _, ok = recv_until(c, lambda m: status(m) == 200)
            self.assertIsNotNone(ok)
            _, inv = recv_until(c, is_req("INVITE"), 10.0)
            self.assertIsNotNone(inv)
            self.assertEqual(first_line(inv), "INVITE sip:bob@127.0.0.1:%d"
                             " SIP/2.0" % c.port)
            c.send(response_to(inv, 603, "Decline", to_tag="d"), dst)
            self.stub.wait_event(lambda e: e.get("event") == "callback"
                                 and e.get("outcome") == "failed" and
                                 e.get("code") == 603)
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
