"""The torture messages of RFC 4475 (section 3) and RFC 5118 (section 4),
from tests/torture/, sent to sipstub over UDP and over TCP.

Each test starts its own sipstub (RFC 4475 on 127.0.0.1, RFC 5118 on
::1) with the built-in dial-a-code scenario, sends one message, and
checks the answer the RFC asks of a UAS (tests/torture/README.md has the
table); then, in tearDown, an OPTIONS must still get 200 and
SipstubTestCase checks that sipstub exits 0 without a sanitizer report. The RFCs'
messages are never all answered alike: valid ones get what dial-a-code
gives any request (an INVITE to an unknown user 100, 180, 200), invalid
ones 400 or the code the RFC names, responses silence.

Where sipstub does not do what the RFC says, mark the test
@unittest.expectedFailure with a "# sipstub gap:" comment saying what it
does instead, and keep the RFC's assertion (no test is so marked now).
Over TCP, libre 1.1.0 closes the connection on a message it cannot
parse (src/sip/transp.c, tcp_recv_handler), or waits for more data,
before sipstub sees it; for those messages EXPECT has Unparsed, which
asserts what does happen: no response, the connection closed (or left
open), and sipstub still answering afterwards.

What is changed in a message before it is sent (nothing else is):

- UDP only: the top Via's sent-by gets the port of the test's socket,
  unless that Via has rport. RFC 3261 18.2.2: without rport a UDP
  response goes to the sent-by port (5060 when there is none), at the
  packet's source address (18.2.1 adds received=), so the RFC's host
  names can stay. Over TCP the response comes back on the connection and
  the message goes out exactly as the file has it. No Request-URI is
  changed: sipstub answers any host.
- Archive defects: a header not ended by an empty line (RFC 4475's
  baddn, RFC 5118's two 4.10 files) gets the missing CRLF, and the RFC
  5118 4.6, 4.8 and 4.9 messages, whose archived Content-Length (268,
  181, 236) does not count their body (251, 189, 245 bytes with CRLF
  line ends), get the body's length.

A 2xx to INVITE is ACKed; a request sipstub sends (none is expected) is
answered 200. Every wait is bounded; under SIPSTUB_WRAPPER (valgrind)
the waits are longer.
"""
import os
import re
import time
import unittest

import harness
from harness import (Sipstub, SipstubTestCase, UdpClient, ipv6_usable,
                     status)
from scn_helpers import TcpClient

HERE = os.path.dirname(os.path.abspath(__file__))
TORTURE = os.path.join(HERE, "..", "torture")

SLOW = 4.0 if os.environ.get("SIPSTUB_WRAPPER") else 1.0
FIRST = 1.0 * SLOW      # sipstub answers at once (100 Trying to INVITE)
FINAL = 3.0 * SLOW      # dial-a-code's 200 to INVITE comes after 1 s
QUIET = 0.5 * SLOW      # silence: nothing comes back in this time
CLOSE = 2.0 * SLOW      # TCP: the connection is closed within this time


# --- the messages -------------------------------------------------------

def corpus():
    """{name: path relative to tests/torture} for every message file."""
    out = {}
    for rfc in ("rfc4475", "rfc5118"):
        for f in os.listdir(os.path.join(TORTURE, rfc)):
            if f.endswith(".sip"):
                out[f.split("-", 1)[1][:-4]] = "%s/%s" % (rfc, f)
    return out


CORPUS = corpus()

# RFC 5118 messages whose archived Content-Length is not their body's
CLEN_FIX = {"ipv6-in-sdp", "mult-ip-in-sdp", "ipv4-mapped-ipv6"}

# The top Via (first "Via"/"v" header) up to its sent-by host[:port],
# with LWS anywhere RFC 3261 allows it (3.1.1.1 folds it over 3 lines)
_VIA = re.compile(
    rb"(?im)^(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*[^ \t\r\n/]+"
    rb"[ \t\r\n]*/[ \t\r\n]*[^ \t\r\n]+[ \t\r\n]+"
    rb"(\[[^\]\r\n]*\]|[^ \t\r\n;:,\[]+)(:[0-9]+)?")


def load(name):
    with open(os.path.join(TORTURE, CORPUS[name]), "rb") as f:
        return f.read()


def via_port(data, port):
    """UDP: the top Via's sent-by gets port, unless the Via has rport."""
    end = data.find(b"\r\n\r\n")
    m = _VIA.search(data, 0, end if end >= 0 else len(data))
    if not m:
        return data
    nxt = re.compile(rb"\r\n(?![ \t])").search(data, m.end())
    rest = data[m.end():nxt.start() if nxt else len(data)]
    if re.search(rb";[ \t\r\n]*rport(?![A-Za-z0-9-])", rest):
        return data
    return data[:m.start(1)] + m.group(1) + b":%d" % port + data[m.end():]


def repair(name, data):
    """Mend the two archive defects described at the top."""
    if b"\r\n\r\n" not in data:
        data += b"\r\n"
    if name in CLEN_FIX:
        head, sep, body = data.partition(b"\r\n\r\n")
        head = re.sub(rb"(?im)^(Content-Length[ \t]*:[ \t]*)\d+",
                      lambda m: m.group(1) + b"%d" % len(body), head)
        data = head + sep + body
    return data


def prepare(name, transport, port):
    data = repair(name, load(name))
    return via_port(data, port) if transport == "udp" else data


# --- reading responses --------------------------------------------------

def first_line(msg):
    return (msg or "").split("\r\n", 1)[0]


def is_request(msg):
    return bool(msg) and not msg.startswith("SIP/")


def fields(msg, *names):
    """Whole header fields (continuation lines included) called names."""
    head = (msg or "").split("\r\n\r\n", 1)[0]
    want = {n.lower() for n in names}
    out, cur = [], None
    for line in head.split("\r\n")[1:]:
        if line[:1] in (" ", "\t") and cur is not None:
            cur.append(line)
            continue
        cur = None
        if line.split(":", 1)[0].strip().lower() in want:
            cur = [line]
            out.append(cur)
    return ["\r\n".join(f) for f in out]


def values(msg, *names):
    """Values (unfolded) of the header fields called names."""
    return [re.sub(r"\r\n[ \t]+", " ", f.split(":", 1)[1]).strip()
            for f in fields(msg, *names)]


def cseq(msg):
    v = values(msg, "CSeq")
    m = re.match(r"(\d+)\s+(\S+)", v[0]) if v else None
    return (int(m.group(1)), m.group(2)) if m else None


def contact_uris(msg):
    """The URI inside <> of every Contact of msg."""
    return [u for v in values(msg, "Contact", "m")
            for u in re.findall(r"<([^>]*)>", v)]


class Client:
    """A UDP socket on host, or one TCP connection, to one sipstub."""

    def __init__(self, stub, transport):
        self.transport = transport
        self.host = stub.host
        self.dest = (stub.host, stub.port)
        if transport == "tcp":
            self.c = TcpClient(stub.port, host=stub.host)
        else:
            self.c = UdpClient(stub.host)
        self.port = self.c.port

    @property
    def closed(self):
        return self.transport == "tcp" and self.c.closed

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.c.send(data, self.dest)

    def recv(self, timeout):
        try:
            return self.c.recv(max(timeout, 0.01))
        except OSError:      # ICMP port unreachable, reset
            if self.transport == "tcp":
                self.c.closed = True
            return None

    def sent_by(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (h, self.port)

    def close(self):
        self.c.close()


def answer(client, req):
    """200 to a request from sipstub (not expected here), not to ACK."""
    if first_line(req).startswith("ACK "):
        return
    lines = ["SIP/2.0 200 OK"]
    for f in fields(req, "Via", "v", "From", "f", "To", "t", "Call-ID", "i",
                    "CSeq"):
        if f.lower().startswith(("to", "t:", "t ")) and ";tag=" not in f:
            f += ";tag=torture"
        lines.append(f)
    client.send("\r\n".join(lines + ["Content-Length: 0"]) + "\r\n\r\n")


def ack(client, resp):
    """ACK a 2xx to INVITE (RFC 3261 13.2.2.4), straight to sipstub."""
    n = cseq(resp)
    uris = contact_uris(resp)
    lines = ["ACK %s SIP/2.0" % (uris[0] if uris else "sip:%s:%d" %
                                 client.dest),
             "Via: SIP/2.0/%s %s;branch=z9hG4bK-torture-ack-%d;rport" %
             (client.transport.upper(), client.sent_by(), time.monotonic_ns()),
             "Max-Forwards: 70"]
    lines += fields(resp, "From", "f", "To", "t", "Call-ID", "i")
    lines += ["CSeq: %d ACK" % (n[0] if n else 1), "Content-Length: 0"]
    client.send("\r\n".join(lines) + "\r\n\r\n")


def exchange(client, data, method=None, silent=False):
    """Send data; return (responses, final response or None).

    Stops at the first final response (to a request of CSeq method
    `method`, when given). Nothing at all within FIRST seconds, or no
    final within FINAL, ends it too; with silent, QUIET seconds without a
    message do. A 2xx to INVITE is ACKed; requests are answered."""
    client.send(data)
    out = []
    start = time.monotonic()
    while not client.closed:
        now = time.monotonic()
        if silent:
            left = QUIET if not out else 0
        else:
            left = (FINAL if out else FIRST) - (now - start)
        if left <= 0:
            break
        m = client.recv(left)
        if m is None:
            if silent or client.closed:
                break
            continue
        if is_request(m):
            answer(client, m)
            continue
        out.append(m)
        code, cs = status(m) or 0, cseq(m)
        if 200 <= code < 300 and cs and cs[1] == "INVITE":
            ack(client, m)
        if code >= 200 and not silent and (method is None or
                                           (cs and cs[1] == method)):
            return out, m
    return out, None


# --- what the RFCs ask --------------------------------------------------

class Final:
    """The first final response has one of codes (and passes check)."""

    def __init__(self, *codes, method=None, check=None):
        self.codes, self.method, self.check = set(codes), method, check

    def __repr__(self):
        return "final %s" % sorted(self.codes)


class Silent:
    """Nothing comes back (a response, or a request with no usable Via)."""

    def __repr__(self):
        return "silence"


class Closed:
    """TCP: sipstub closes the connection (RFC 4475 3.1.2.3, 3.3.9: an
    unrecoverable framing error); a response first, if any, is an error."""

    def __repr__(self):
        return "connection closed"


class Waits:
    """TCP with a Content-Length beyond the data (RFC 4475 3.1.2.2): no
    response; sipstub waits for the rest."""

    def __repr__(self):
        return "no response (waits for more data)"


class Unparsed:
    """TCP, libre limit: libre 1.1.0 cannot parse the message and closes
    the connection (closes=True) or waits for more data (closes=False);
    sipstub never sees it, so nothing is answered."""

    def __init__(self, closes=True):
        self.closes = closes

    def __repr__(self):
        return "no response, connection %s" % (
            "closed" if self.closes else "left open")


class Spec:
    def __init__(self, udp, tcp=None):
        self.udp, self.tcp = udp, tcp or udp


def allow_listed(t, resp, stub):
    t.assertTrue(values(resp, "Allow"), "no Allow header:\n" + resp)


def unsupported_require(t, resp, stub):
    # RFC 4475 3.3.5: a UAS lists the Require tags, not Proxy-Require's
    tags = {x.strip() for v in values(resp, "Unsupported")
            for x in v.split(",")}
    t.assertEqual(tags, {"nothingSupportsThis", "nothingSupportsThisEither"},
                  resp)


def two_null_contacts(t, resp, stub):
    # RFC 4475 3.1.1.4: two distinct contacts, the user not cut short
    t.assertEqual(sorted(contact_uris(resp)),
                  ["sip:%00%00@host5.example.com",
                   "sip:%00@host5.example.com"], resp)


def contact_param(t, resp, stub):
    # RFC 4475 3.3.12: unknownparam is a contact-param, not a url-param
    uris = contact_uris(resp)
    t.assertTrue(uris, resp)
    t.assertFalse([u for u in uris if "unknownparam" in u], resp)


def url_param(t, resp, stub):
    # RFC 4475 3.3.13: unknownparam stays a url-parameter
    t.assertIn("sip:+19725552222@gw1.example.net;unknownparam",
               contact_uris(resp), resp)


def escaped_header(t, resp, stub):
    # RFC 4475 3.3.14: the escaped Route header stays in the contact URI
    t.assertIn("sip:user@example.com?Route=%3Csip:sip.example.com%3E",
               contact_uris(resp), resp)


def second_request_ignored(t, resp, stub):
    # RFC 4475 3.1.1.8: the INVITE after the REGISTER in the datagram is
    # noise (RFC 3261 18.3)
    t.assertEqual(stub.sip(dir="in", call_id=
                           "dblreq.0ha0isnda977644900765@192.0.2.15"), [])


def via_as_sent(t, resp, stub):
    # RFC 3261 8.2.6.2: the Vias come back as sent; rawrx's branch for an
    # RFC 2543 request (no branch) stays inside sipstub
    vias = values(resp, "Via", "v")
    t.assertTrue(vias, resp)
    t.assertNotIn("branch", vias[0], resp)


VALID_INVITE = Final(200)   # dial-a-code: any other user gets 100, 180, 200


def no_common_codec(t, resp, stub):
    """RFC 3261 13.3.1.3: an offer with no stream sipstub takes (G726,
    H263 only) gets 488 with a Warning"""
    t.assertEqual(values(resp, "Warning"),
                  ['305 sipstub "Incompatible media format"'], resp)


MEDIA_REFUSED = Final(488, check=no_common_codec)

EXPECT = {
    # RFC 4475 3.1.1: valid
    "wsinv": Spec(Final(481)),          # To-tag of no dialog: 481
    "intmeth": Spec(Final(501, check=allow_listed)),
    "esc01": Spec(VALID_INVITE),
    "escnull": Spec(Final(200, check=two_null_contacts)),
    "esc02": Spec(Final(501, check=allow_listed)),
    "lwsdisp": Spec(Final(200)),
    # Unparsed: over TCP libre takes no Via without branch (README (2))
    "longreq": Spec(Final(200, check=via_as_sent), Unparsed()),
    "dblreq": Spec(Final(200, method="REGISTER",
                         check=second_request_ignored),
                   # over TCP the INVITE is a second message, not noise
                   Final(200, method="REGISTER")),
    "semiuri": Spec(Final(200)),
    "transports": Spec(Final(200)),
    "mpart01": Spec(Final(200)),
    "unreason": Spec(Silent()),
    "noreason": Spec(Silent()),
    # RFC 4475 3.1.2: invalid (where the RFC allows a liberal element to
    # accept the message, its dial-a-code answer is allowed too)
    "badinv01": Spec(Final(400), Unparsed()),
    "clerr": Spec(Final(400), Waits()),
    "ncl": Spec(Final(400), Closed()),
    "scalar02": Spec(Final(400)),
    "scalarlg": Spec(Silent()),
    "quotbal": Spec(Final(400)),
    "ltgtruri": Spec(Final(400, 200), Unparsed()),
    "lwsruri": Spec(Final(400, 481),    # liberal: To-tag of no dialog
                    Unparsed()),
    "lwsstart": Spec(Final(400, 200), Unparsed(closes=False)),
    "trws": Spec(Final(400, 200), Unparsed()),
    "escruri": Spec(Final(400, 200)),
    "baddate": Spec(Final(400, 200)),
    "regbadct": Spec(Final(400, 200)),
    "badaspec": Spec(Final(400, 200)),
    "baddn": Spec(Final(400, 200)),
    "badvers": Spec(Final(505), Unparsed()),
    "mismatch01": Spec(Final(400)),
    "mismatch02": Spec(Final(501, 400)),
    "bigcode": Spec(Silent()),
    # RFC 4475 3.2, 3.3: transaction and application layer
    "badbranch": Spec(Final(400, 200)),
    "insuf": Spec(Final(400)),
    "unkscm": Spec(Final(416)),
    "novelsc": Spec(Final(416)),
    "unksm2": Spec(Final(400),          # a registrar: To is no SIP URI
                   Unparsed()),
    "bext01": Spec(Final(420, check=unsupported_require)),
    "invut": Spec(Final(415)),
    "regaut01": Spec(Final(200, 401, 405)),
    "multi01": Spec(Final(400)),
    "mcl01": Spec(Final(400), Closed()),
    "bcast": Spec(Silent()),
    "zeromf": Spec(Final(200)),         # an endpoint: not 483
    "cparam01": Spec(Final(200, check=contact_param)),
    "cparam02": Spec(Final(200, check=url_param)),
    "regescrt": Spec(Final(200, check=escaped_header)),
    "sdp01": Spec(Final(406, 400)),
    # RFC 4475 3.4: backward compatibility
    "inv2543": Spec(Final(200, check=via_as_sent), Unparsed()),
    # RFC 5118 4
    "ipv6-good": Spec(Final(200)),
    "ipv6-bad": Spec(Final(400)),
    "port-ambiguous": Spec(Final(200)),
    "port-unambiguous": Spec(Final(200)),
    "via-received-param-with-delim": Spec(Final(481)),  # BYE, no dialog
    "via-received-param-no-delim": Spec(Final(200)),
    "ipv6-in-sdp": Spec(MEDIA_REFUSED),
    "mult-ip-in-header": Spec(Final(481)),              # BYE, no dialog
    "mult-ip-in-sdp": Spec(VALID_INVITE),
    "ipv4-mapped-ipv6": Spec(MEDIA_REFUSED),
    "ipv6-bug-abnf-3-colons": Spec(Final(200)),
    "ipv6-correct-abnf-2-colons": Spec(Final(200)),
}


class TortureCase(SipstubTestCase):
    host = "127.0.0.1"
    transport = "udp"

    def setUp(self):
        self.stub = Sipstub(self.scenario, host=self.host, extra=self.extra)

    def check(self, name):
        spec = EXPECT[name]
        want = spec.tcp if self.transport == "tcp" else spec.udp
        c = Client(self.stub, self.transport)
        try:
            data = prepare(name, self.transport, c.port)
            if isinstance(want, Final):
                resps, final = exchange(c, data, method=want.method)
                got = [first_line(r) for r in resps]
                if c.closed:
                    got.append("(connection closed)")
                self.assertIsNotNone(final, "%s: want %r, got %r" %
                                     (name, want, got))
                self.assertIn(status(final), want.codes, "%s: want %r, got "
                              "%r\n%s" % (name, want, got, final))
                if want.check:
                    want.check(self, final, self.stub)
            elif isinstance(want, (Silent, Waits)):
                resps, _ = exchange(c, data, silent=True)
                self.assertEqual([first_line(r) for r in resps], [],
                                 "%s: want %r" % (name, want))
            elif isinstance(want, Unparsed):
                c.send(data)
                got = [first_line(r) for r in c.c.recv_all(QUIET)]
                self.assertEqual(got, [], "%s: want %r" % (name, want))
                if want.closes:
                    self.assertTrue(c.c.wait_closed(CLOSE), "%s: connection "
                                    "still open" % name)
                else:
                    self.assertFalse(c.closed, "%s: connection closed" %
                                     name)
            elif isinstance(want, Closed):
                c.send(data)
                got = c.c.recv_all(0.2) if not c.closed else []
                closed = c.c.wait_closed(CLOSE)
                got = [first_line(r) for r in got]
                self.assertTrue(closed, "%s: connection still open, got %r"
                                % (name, got))
                self.assertFalse([g for g in got if (status(g) or 0) < 400],
                                 "%s: not an error: %r" % (name, got))
        finally:
            c.close()

    def tearDown(self):
        # here, not in check(): a test marked expectedFailure must still
        # fail (as an error) when sipstub stops answering
        try:
            self.assert_alive()
        finally:
            super().tearDown()

    def assert_alive(self):
        """A plain OPTIONS, over the same transport, still gets 200."""
        c = Client(self.stub, self.transport)
        try:
            h = "[%s]" % self.host if ":" in self.host else self.host
            uniq = time.monotonic_ns()
            msg = ("OPTIONS sip:ping@%s SIP/2.0\r\n"
                   "Via: SIP/2.0/%s %s;branch=z9hG4bK-ping-%d;rport\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:torture@%s>;tag=p%d\r\n"
                   "To: <sip:ping@%s>\r\n"
                   "Call-ID: ping-%d@torture\r\n"
                   "CSeq: 1 OPTIONS\r\n"
                   "Content-Length: 0\r\n\r\n" %
                   (self.stub.addr, self.transport.upper(), c.sent_by(),
                    uniq, h, uniq, h, uniq))
            _, final = exchange(c, msg)
            self.assertEqual(status(final), 200,
                             "OPTIONS after the torture message: %r" % final)
        finally:
            c.close()


def rfc2543(port, method="INVITE", user="UserB", to_tag=None):
    """inv2543 (RFC 4475 3.4.1), from the UDP port, as another request of
    an RFC 2543 client: no branch, the same top Via, From and Call-ID."""
    head, sep, body = prepare("inv2543", "udp", port).partition(b"\r\n\r\n")
    head = head.replace(b"INVITE sip:UserB@", b"%s sip:%s@" % (
        method.encode(), user.encode()), 1)
    head = head.replace(b"CSeq: 56 INVITE", b"CSeq: 56 " + method.encode())
    if to_tag:
        head = head.replace(b";user=phone\r\nCall-ID",
                            b";user=phone;tag=%s\r\nCall-ID" %
                            to_tag.encode())
    if method != "INVITE":
        head = head.replace(b"\r\nContent-Type: application/sdp", b"")
        body = b""
    return head + sep + body


def to_tag(msg):
    m = re.search(r";\s*tag\s*=\s*([^;\s,]+)", (values(msg, "To", "t") or
                                               [""])[0])
    return m.group(1) if m else None


class Rfc2543Transactions(TortureCase):
    """RFC 3261 17.2.3: requests of an RFC 2543 client (top Via without
    branch) are matched to transactions by Request-URI, From tag,
    Call-ID, CSeq and top Via. rawrx gives them a branch made of these,
    so libre's transaction layer matches them (UDP only: over TCP libre
    closes the connection, see Unparsed)."""

    def collect(self, c, until, quiet=QUIET):
        """Responses until one passes until(), then quiet seconds more."""
        out, deadline = [], time.monotonic() + FINAL
        while time.monotonic() < deadline:
            m = c.recv(deadline - time.monotonic())
            if m is None:
                break
            if is_request(m):
                answer(c, m)
                continue
            out.append(m)
            if until(m):
                deadline = time.monotonic() + quiet
                until = lambda m: False    # noqa: E731
        return out

    def test_retransmission(self):
        # RFC 3261 17.2.1: a retransmitted INVITE is absorbed by its
        # transaction, not answered by a second one
        c = Client(self.stub, "udp")
        try:
            inv = rfc2543(c.port)
            c.send(inv)
            self.assertEqual(status(c.recv(FIRST)), 100)
            c.send(inv)
            got = self.collect(c, lambda m: status(m) == 200,
                               quiet=1.5 * SLOW)
            finals = [m for m in got if status(m) == 200]
            self.assertTrue(finals, [first_line(m) for m in got])
            ack(c, finals[0])
            tags = {to_tag(m) for m in got if status(m) > 100}
            self.assertEqual(len(tags), 1, [first_line(m) for m in got])
        finally:
            c.close()

    def test_cancel(self):
        # RFC 3261 9.2: a CANCEL without branch finds the INVITE
        c = Client(self.stub, "udp")
        try:
            c.send(rfc2543(c.port))
            self.collect(c, lambda m: status(m) == 180, quiet=0)
            c.send(rfc2543(c.port, "CANCEL"))
            got = self.collect(c, lambda m: status(m) == 487)
            codes = {(status(m), cseq(m)[1]) for m in got}
            self.assertIn((200, "CANCEL"), codes, got)
            self.assertIn((487, "INVITE"), codes, got)
        finally:
            c.close()

    def test_ack_of_non_2xx(self):
        # RFC 3261 17.2.1: the ACK of a 486 (same Via, the 486's To tag)
        # ends its retransmissions
        c = Client(self.stub, "udp")
        try:
            c.send(rfc2543(c.port, user="486"))
            got = self.collect(c, lambda m: status(m) == 486, quiet=0)
            self.assertEqual(status(got[-1]), 486, got)
            c.send(rfc2543(c.port, "ACK", user="486",
                           to_tag=to_tag(got[-1])))
            more = self.collect(c, lambda m: False, quiet=0)
            self.assertEqual([first_line(m) for m in more], [])
        finally:
            c.close()


class Corpus(unittest.TestCase):

    def test_every_message_has_an_expectation(self):
        self.assertEqual(len(CORPUS), 49 + 12)
        self.assertEqual(set(CORPUS), set(EXPECT))

    def test_files_are_crlf(self):
        for name, rel in CORPUS.items():
            data = load(name)
            head = data.split(b"\r\n\r\n", 1)[0]
            self.assertNotIn(b"\n", head.replace(b"\r\n", b""), rel)

    def test_via_port(self):
        self.assertIn(b"192.0.2.2:5099;branch=390skdjuw",
                      prepare("wsinv", "udp", 5099))
        self.assertIn(b"[::ffff:192.0.2.10]:5099;branch",
                      prepare("ipv4-mapped-ipv6", "udp", 5099))
        self.assertEqual(prepare("mpart01", "udp", 5099), load("mpart01"))
        self.assertEqual(prepare("wsinv", "tcp", 5099), load("wsinv"))


# One test per message and transport. The names give the RFC section.

class Rfc4475Udp(TortureCase):
    transport = "udp"

    def test_3_1_1_1_wsinv(self):
        self.check("wsinv")

    def test_3_1_1_2_intmeth(self):
        self.check("intmeth")

    def test_3_1_1_3_esc01(self):
        self.check("esc01")

    def test_3_1_1_4_escnull(self):
        self.check("escnull")

    def test_3_1_1_5_esc02(self):
        self.check("esc02")

    def test_3_1_1_6_lwsdisp(self):
        self.check("lwsdisp")

    def test_3_1_1_7_longreq(self):
        self.check("longreq")

    def test_3_1_1_8_dblreq(self):
        self.check("dblreq")

    def test_3_1_1_9_semiuri(self):
        self.check("semiuri")

    def test_3_1_1_10_transports(self):
        self.check("transports")

    def test_3_1_1_11_mpart01(self):
        self.check("mpart01")

    def test_3_1_1_12_unreason(self):
        self.check("unreason")

    def test_3_1_1_13_noreason(self):
        self.check("noreason")

    def test_3_1_2_1_badinv01(self):
        self.check("badinv01")

    def test_3_1_2_2_clerr(self):
        self.check("clerr")

    def test_3_1_2_3_ncl(self):
        self.check("ncl")

    def test_3_1_2_4_scalar02(self):
        self.check("scalar02")

    def test_3_1_2_5_scalarlg(self):
        self.check("scalarlg")

    def test_3_1_2_6_quotbal(self):
        self.check("quotbal")

    def test_3_1_2_7_ltgtruri(self):
        self.check("ltgtruri")

    def test_3_1_2_8_lwsruri(self):
        self.check("lwsruri")

    def test_3_1_2_9_lwsstart(self):
        self.check("lwsstart")

    def test_3_1_2_10_trws(self):
        self.check("trws")

    def test_3_1_2_11_escruri(self):
        self.check("escruri")

    def test_3_1_2_12_baddate(self):
        self.check("baddate")

    def test_3_1_2_13_regbadct(self):
        self.check("regbadct")

    def test_3_1_2_14_badaspec(self):
        self.check("badaspec")

    def test_3_1_2_15_baddn(self):
        self.check("baddn")

    def test_3_1_2_16_badvers(self):
        self.check("badvers")

    def test_3_1_2_17_mismatch01(self):
        self.check("mismatch01")

    def test_3_1_2_18_mismatch02(self):
        self.check("mismatch02")

    def test_3_1_2_19_bigcode(self):
        self.check("bigcode")

    def test_3_2_1_badbranch(self):
        self.check("badbranch")

    def test_3_3_1_insuf(self):
        self.check("insuf")

    def test_3_3_2_unkscm(self):
        self.check("unkscm")

    def test_3_3_3_novelsc(self):
        self.check("novelsc")

    def test_3_3_4_unksm2(self):
        self.check("unksm2")

    def test_3_3_5_bext01(self):
        self.check("bext01")

    def test_3_3_6_invut(self):
        self.check("invut")

    def test_3_3_7_regaut01(self):
        self.check("regaut01")

    def test_3_3_8_multi01(self):
        self.check("multi01")

    def test_3_3_9_mcl01(self):
        self.check("mcl01")

    def test_3_3_10_bcast(self):
        self.check("bcast")

    def test_3_3_11_zeromf(self):
        self.check("zeromf")

    def test_3_3_12_cparam01(self):
        self.check("cparam01")

    def test_3_3_13_cparam02(self):
        self.check("cparam02")

    def test_3_3_14_regescrt(self):
        self.check("regescrt")

    def test_3_3_15_sdp01(self):
        self.check("sdp01")

    def test_3_4_1_inv2543(self):
        self.check("inv2543")


class Rfc4475Tcp(Rfc4475Udp):
    """Each test of Rfc4475Udp over TCP (EXPECT has the TCP answers)."""
    transport = "tcp"


@unittest.skipUnless(ipv6_usable(), "::1 is not usable here")
class Rfc5118Udp(TortureCase):
    host = "::1"
    transport = "udp"

    def test_4_1_ipv6_good(self):
        self.check("ipv6-good")

    def test_4_2_ipv6_bad(self):
        self.check("ipv6-bad")

    def test_4_3_port_ambiguous(self):
        self.check("port-ambiguous")

    def test_4_4_port_unambiguous(self):
        self.check("port-unambiguous")

    def test_4_5_via_received_param_with_delim(self):
        self.check("via-received-param-with-delim")

    def test_4_5_via_received_param_no_delim(self):
        self.check("via-received-param-no-delim")

    def test_4_6_ipv6_in_sdp(self):
        self.check("ipv6-in-sdp")

    def test_4_7_mult_ip_in_header(self):
        self.check("mult-ip-in-header")

    def test_4_8_mult_ip_in_sdp(self):
        self.check("mult-ip-in-sdp")

    def test_4_9_ipv4_mapped_ipv6(self):
        self.check("ipv4-mapped-ipv6")

    def test_4_10_ipv6_bug_abnf_3_colons(self):
        self.check("ipv6-bug-abnf-3-colons")

    def test_4_10_ipv6_correct_abnf_2_colons(self):
        self.check("ipv6-correct-abnf-2-colons")


class Rfc5118Tcp(Rfc5118Udp):
    """Each test of Rfc5118Udp over TCP."""
    transport = "tcp"


if __name__ == "__main__":
    harness.main()
