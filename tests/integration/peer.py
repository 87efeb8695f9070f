"""A raw SIP peer for the in-dialog tests: one UDP socket or one TCP
connection to sipstub, which it both sends on and receives sipstub's
requests on (its Contact names that address, with ;transport=tcp over
TCP, so libre reuses the connection)."""
import re
import socket
import time

from harness import header


class Peer:
    def __init__(self, dest, tcp=False):
        self.dest = dest
        self.tcp = tcp
        typ = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
        self.sock = socket.socket(socket.AF_INET, typ)
        self.sock.bind(("127.0.0.1", 0))
        if tcp:
            self.sock.connect(dest)
        self.port = self.sock.getsockname()[1]
        self.buf = b""
        self.tp = "TCP" if tcp else "UDP"
        self.param = ";transport=tcp" if tcp else ""

    def send(self, text):
        data = text.encode()
        if self.tcp:
            self.sock.sendall(data)
        else:
            self.sock.sendto(data, self.dest)

    def _frame(self):
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return None
        m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        n = int(m.group(1)) if m else 0
        if len(rest) < n:
            return None
        self.buf = rest[n:]
        return (head + sep + rest[:n]).decode(errors="replace")

    def recv(self, timeout=3.0):
        """One message as text, or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.tcp:
                msg = self._frame()
                if msg:
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                if self.tcp:
                    data = self.sock.recv(65535)
                    if not data:
                        return None
                    self.buf += data
                else:
                    data, _ = self.sock.recvfrom(65535)
                    return data.decode(errors="replace")
            except socket.timeout:
                return None

    def recv_until(self, pred, timeout=5.0):
        """(messages, the one matching pred or None)"""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.0, deadline - time.monotonic()))
            if m is None:
                return out, None
            out.append(m)
            if pred(m):
                return out, m

    def close(self):
        self.sock.close()


def reply(req, code, reason, headers=(), body="", ctype=None):
    """A response text to one of sipstub's requests."""
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for v in header(req, name):
            lines.append("%s: %s" % (name, v))
    lines += list(headers)
    if body:
        lines.append("Content-Type: %s" % (ctype or "application/sdp"))
    lines.append("Content-Length: %d" % len(body.encode()))
    return "\r\n".join(lines) + "\r\n\r\n" + body


def cseq(msg):
    num, _, met = header(msg, "CSeq")[0].partition(" ")
    return int(num), met.strip()


def sdp_origin(msg):
    """(session id, version) of a message's SDP o= line"""
    m = re.search(r"(?m)^o=\S+ (\d+) (\d+) ", msg.split("\r\n\r\n", 1)[1])
    return int(m.group(1)), int(m.group(2))


def sdp_dir(msg):
    body = msg.split("\r\n\r\n", 1)[1]
    for d in ("sendonly", "recvonly", "inactive", "sendrecv"):
        if re.search(r"(?m)^a=%s\r?$" % d, body):
            return d
    return None
