"""More helpers for test_scenarios.py, test_requests.py and test_cli.py.

Kept next to harness.py (and importing it) so that harness.py stays as
it is. Raw SIP over UDP or TCP with a client that collects the responses
of one transaction, event-log queries, and running the sipstub binary
for command-line tests. Every wait is bounded.
"""
import json
import os
import re
import socket
import subprocess
import time

from harness import (SipstubTestCase, SANITIZER_MARKS, SCENARIOS, SIPSTUB, UdpClient,
                     free_port, header, request, status, to_tag)

__all__ = ["Peer", "TcpClient", "sip_request", "transact", "collect",
           "call_id", "cseq", "is_request", "contacts", "out_responses",
           "response_seq", "run_cli", "sanitizer_report", "read_jsonl",
           "first_line", "wait_until", "scenario_path", "SCENARIOS",
           "SIPSTUB", "UdpClient", "free_port", "header", "request",
           "status", "to_tag"]


def wait_until(fn, timeout=10.0, interval=0.05):
    """Poll fn() until it returns something true, or timeout; returns the
    last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def scenario_path(name):
    return os.path.join(SCENARIOS, name)


class TcpClient:
    """A raw SIP client over one TCP connection to 127.0.0.1:port."""

    transport = "TCP"

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.port = self.sock.getsockname()[1]
        self.buf = b""
        self.closed = False

    def send(self, data, dest=None):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _frame(self):
        """One whole message off the front of the buffer, or None."""
        while self.buf.startswith(b"\r\n"):   # keep-alive CRLFs
            self.buf = self.buf[2:]
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode(errors="replace")
        m = re.search(r"^(?:Content-Length|l)\s*:\s*(\d+)\s*$", head,
                      re.I | re.M)
        clen = int(m.group(1)) if m else 0
        total = end + 4 + clen
        if len(self.buf) < total:
            return None
        msg, self.buf = self.buf[:total], self.buf[total:]
        return msg.decode(errors="replace")

    def recv(self, timeout=3.0):
        """One message as text, or None after timeout or on close."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self._frame()
            if msg is not None:
                return msg
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                self.closed = True
                return None
            if not data:
                self.closed = True
                continue
            self.buf += data

    def recv_all(self, timeout=1.0):
        out = []
        while True:
            m = self.recv(timeout)
            if m is None:
                return out
            out.append(m)

    def wait_closed(self, timeout=3.0):
        """True once the peer has closed the connection."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            if self.recv(max(0.05, deadline - time.monotonic())) is None \
                    and not self.closed:
                break
        return self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Peer:
    """A raw SIP client of one sipstub over 'udp' or 'tcp'."""

    def __init__(self, stub, transport="udp"):
        self.transport = transport.upper()
        self.dest = ("127.0.0.1", stub.port)
        if self.transport == "TCP":
            self.c = TcpClient(stub.port)
        else:
            self.c = UdpClient()
        self.port = self.c.port

    def send(self, data):
        self.c.send(data, self.dest)

    def recv(self, timeout=3.0):
        return self.c.recv(timeout)

    def recv_all(self, timeout=1.0):
        return self.c.recv_all(timeout)

    def close(self):
        self.c.close()


_seq = [0]


def sip_request(peer, method, ruri, **kw):
    """harness.request() from this peer, with a Via of its transport and
    a unique branch and Call-ID."""
    _seq[0] += 1
    uniq = "%d-%d-%d" % (os.getpid(), _seq[0], int(time.monotonic() * 1e6))
    kw.setdefault("branch", "z9hG4bK-scn-" + uniq)
    kw.setdefault("callid", "scn-%s@127.0.0.1" % uniq)
    msg = request(method, ruri, peer.port, **kw)
    if peer.transport != "UDP":
        msg = msg.replace("Via: SIP/2.0/UDP ",
                          "Via: SIP/2.0/%s " % peer.transport, 1)
    return msg


def first_line(msg):
    return (msg or "").split("\r\n", 1)[0]


def is_request(msg):
    return bool(msg) and not msg.startswith("SIP/2.0 ")


def call_id(msg):
    v = header(msg, "Call-ID") or header(msg, "i")
    return v[0] if v else None


def cseq(msg):
    """(number, method) of a message's CSeq, or None."""
    v = header(msg, "CSeq")
    m = re.match(r"(\d+)\s+(\S+)", v[0]) if v else None
    return (int(m.group(1)), m.group(2)) if m else None


def _answer_request(peer, req):
    """Answer a request sipstub sent us (NOTIFY after SUBSCRIBE, BYE)
    with 200 so that it stops retransmitting."""
    if first_line(req).startswith("ACK "):
        return
    lines = ["SIP/2.0 200 OK"]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for v in header(req, name):
            if name == "To" and ";tag=" not in v:
                v += ";tag=scnpeer"
            lines.append("%s: %s" % (name, v))
    lines.append("Content-Length: 0")
    peer.send("\r\n".join(lines) + "\r\n\r\n")


def transact(peer, msg, timeout=5.0, settle=0.0):
    """Send a request and return the responses to it (same Call-ID and
    CSeq), in order of arrival, up to and including the first final one.
    Requests sipstub sends meanwhile are answered with 200 and left out.
    With settle > 0, keep listening that long after the final response
    and add what else arrives for the transaction."""
    peer.send(msg)
    key = (call_id(msg), cseq(msg))
    out = []
    deadline = time.monotonic() + timeout
    final_at = None
    while True:
        now = time.monotonic()
        end = final_at + settle if final_at is not None else deadline
        if now >= end:
            return out
        m = peer.recv(end - now)
        if m is None:
            return out
        if is_request(m):
            _answer_request(peer, m)
            continue
        if (call_id(m), cseq(m)) != key:
            continue
        out.append(m)
        if (status(m) or 0) >= 200 and final_at is None:
            final_at = time.monotonic()
            if settle <= 0:
                return out


def collect(peer, timeout=1.0):
    """Every message until timeout passes with none (requests from
    sipstub are answered and included)."""
    out = []
    while True:
        m = peer.recv(timeout)
        if m is None:
            return out
        if is_request(m):
            _answer_request(peer, m)
        out.append(m)


def contacts(msg):
    """All Contact entries of a message, split at commas outside <>."""
    out = []
    for v in header(msg, "Contact") + header(msg, "m"):
        cur, depth, quote = "", 0, False
        for ch in v:
            if ch == '"':
                quote = not quote
            elif ch == "<" and not quote:
                depth += 1
            elif ch == ">" and not quote:
                depth -= 1
            if ch == "," and depth == 0 and not quote:
                out.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            out.append(cur.strip())
    return out


def out_responses(stub, method=None, call_id=None):
    """Responses sipstub sent (event log), in order."""
    out = []
    for e in stub.sip(dir="out", kind="response"):
        if method and e.get("method") != method:
            continue
        if call_id and e.get("call_id") != call_id:
            continue
        out.append(e)
    return out


def response_seq(stub, method=None, call_id=None):
    """Distinct responses sipstub sent, as (code, to_tag) in the order of
    first sending: retransmissions (same CSeq, code and To-tag) are
    counted once."""
    seen, out = set(), []
    for e in out_responses(stub, method, call_id):
        k = (e.get("call_id"), e.get("cseq"), e.get("code"),
             e.get("to_tag"))
        if k in seen:
            continue
        seen.add(k)
        out.append((e.get("code"), e.get("to_tag")))
    return out


def run_cli(args, timeout=15, stdin=subprocess.DEVNULL):
    """Run the sipstub binary to its end: (exit code, stdout, stderr)."""
    wrapper = os.environ.get("SIPSTUB_WRAPPER", "").split()
    p = subprocess.run(wrapper + [SIPSTUB] + list(args), stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def sanitizer_report(text):
    """The first sanitizer/leak mark found in text, or None."""
    for mark in SANITIZER_MARKS:
        if mark in text:
            return mark
    return None


def read_jsonl(path_or_text, is_text=False):
    """Parse JSON lines; raises ValueError naming the bad line."""
    if is_text:
        lines = path_or_text.splitlines()
    else:
        with open(path_or_text) as f:
            lines = f.read().splitlines()
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise ValueError("event log line %d is not JSON (%s): %r" %
                             (i, e, line))
    return out


class PeerCase(SipstubTestCase):
    """A sipstub per test, and raw peers closed when the test ends."""

    def setUp(self):
        super().setUp()
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.close()
        super().tearDown()

    def peer(self, transport="udp"):
        p = Peer(self.stub, transport)
        self.peers.append(p)
        return p
