"""Shared helpers for sipstub integration tests.

Starts the real sipstub binary on free loopback ports, drives it with
SIPp, sipsak or raw sockets, and reads its JSON event log. Every wait is
bounded; only processes started here are killed, by PID.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SIPP_DIR = os.path.join(HERE, "sipp")
SIPSTUB = os.environ.get("SIPSTUB", os.path.join(HERE, "../../build/sipstub"))
SCENARIOS = os.environ.get("SIPSTUB_SCENARIOS",
                           os.path.join(HERE, "../../scenarios"))

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "Memory leaks", "mem: leak")


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on host, picked by the kernel."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.bind((host, 0))
        port = t.getsockname()[1]
        u = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


def ipv6_usable():
    """True if ::1 can be bound on this host."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


class Sipstub:
    """One sipstub process on 127.0.0.1 (UDP and TCP on one port)."""

    def __init__(self, scenario=None, host="127.0.0.1", extra=(),
                 stdout=False):
        self.host = host
        self.port = free_port(host)
        self.dir = tempfile.mkdtemp(prefix="sipstub-test-")
        self.events_path = os.path.join(self.dir, "events.jsonl")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        hp = "[%s]" % host if ":" in host else host
        wrapper = os.environ.get("SIPSTUB_WRAPPER", "").split()
        self.wrapped = bool(wrapper)
        args = wrapper + [SIPSTUB,
                "-l", "udp:%s:%d" % (hp, self.port),
                "-l", "tcp:%s:%d" % (hp, self.port),
                "-e", self.events_path] + list(extra)
        if isinstance(scenario, (list, tuple)):
            args += list(scenario)
        elif scenario:
            args.append(scenario)
        self.stderr = open(self.stderr_path, "w")
        out = open(self.stdout_path, "w") if stdout else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdout=out, stderr=self.stderr)
        if stdout:
            out.close()
        self.returncode = None
        self.wait_event(lambda e: e.get("event") == "start",
                        timeout=30 if wrapper else 10)

    @property
    def addr(self):
        hp = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (hp, self.port)

    def events(self):
        """Every event so far. sipstub writes its log every 10 ms, so
        first wait (bounded) until the file stops growing for two quiet
        intervals. A test that needs a given line should wait_event() it."""
        quiet = 0.2 if self.wrapped else 0.03
        deadline = time.monotonic() + 2.0
        last, still = -1, 0
        while time.monotonic() < deadline and still < 2:
            try:
                size = os.path.getsize(self.events_path)
            except OSError:
                size = 0
            still = still + 1 if size == last else 0
            last = size
            time.sleep(quiet)
        try:
            with open(self.events_path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def wait_event(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events():
                if pred(e):
                    return e
            if self.proc.poll() is not None:
                raise AssertionError("sipstub exited (%s): %s" %
                                     (self.proc.returncode, self.stderr_text()))
            time.sleep(0.05)
        raise AssertionError("timeout waiting for event")

    def sip(self, **kw):
        """SIP events (messages) whose fields equal kw."""
        out = []
        for e in self.events():
            if e.get("event") != "sip":
                continue
            if all(e.get(k) == v for k, v in kw.items()):
                out.append(e)
        return out

    def stderr_text(self):
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self, timeout=10.0):
        """SIGTERM, wait, and return (exit code, stderr)."""
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
                raise AssertionError("sipstub did not stop on SIGTERM")
            self.returncode = self.proc.returncode
            self.stderr.close()
        return self.returncode, self.stderr_text()

    def wait_exit(self, timeout=30.0):
        """Wait (bounded) for sipstub to end by itself (--duration,
        --calls, --idle); return (exit code, stdout, stderr). stdout is
        only kept with Sipstub(stdout=True)."""
        if self.returncode is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("sipstub did not end by itself")
            self.returncode = self.proc.returncode
            self.stderr.close()
        try:
            with open(self.stdout_path) as f:
                out = f.read()
        except FileNotFoundError:
            out = ""
        return self.returncode, out, self.stderr_text()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SipstubTestCase(unittest.TestCase):
    """Starts sipstub per test; checks it exits cleanly (no sanitizer
    report, exit code 0) when the test ends."""

    scenario = None
    extra = ()

    def setUp(self):
        self.stub = Sipstub(self.scenario, extra=self.extra)

    def tearDown(self):
        code, err = self.stub.stop()
        try:
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, err, "sanitizer/leak report:\n" + err)
            self.assertEqual(code, 0, "sipstub exit code %d:\n%s" % (code, err))
        finally:
            self.stub.close()


def run_sipp(scenario_xml, target, transport="u1", calls=1, timeout=30,
             extra=(), service=None):
    """Run SIPp as client with an XML scenario (a file name under
    tests/integration/sipp/ or a path), or a built-in one (-sn) when
    scenario_xml starts with 'sn:'. Returns (exit code, output)."""
    work = tempfile.mkdtemp(prefix="sipp-")
    args = ["sipp", target, "-m", str(calls), "-t", transport,
            "-i", "127.0.0.1", "-p", str(free_port()),
            "-timeout", "%ds" % timeout, "-timeout_error",
            "-trace_err", "-nostdin"]
    if scenario_xml.startswith("sn:"):
        args += ["-sn", scenario_xml[3:]]
    else:
        path = scenario_xml
        if not os.path.isabs(path):
            path = os.path.join(SIPP_DIR, path)
        args += ["-sf", path]
    if service:
        args += ["-s", service]
    args += list(extra)
    try:
        p = subprocess.run(args, cwd=work, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout + 30,
                           stdin=subprocess.DEVNULL)
        out = p.stdout.decode(errors="replace")
        for name in os.listdir(work):
            if name.endswith("_errors.log"):
                with open(os.path.join(work, name),
                          errors="replace") as f:
                    out += "\n--- %s\n%s" % (name, f.read())
        return p.returncode, out
    finally:
        shutil.rmtree(work, ignore_errors=True)


class UdpClient:
    """A raw SIP client socket on 127.0.0.1 for hand-made messages."""

    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host = host
        self.port = self.sock.getsockname()[1]

    def send(self, data, dest):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendto(data, dest)

    def recv(self, timeout=3.0):
        """One datagram as text, or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        return data.decode(errors="replace")

    def recv_all(self, timeout=1.0):
        """Every datagram until timeout passes with none."""
        out = []
        while True:
            m = self.recv(timeout)
            if m is None:
                return out
            out.append(m)

    def close(self):
        self.sock.close()


def request(method, ruri, port, branch=None, callid=None, cseq=1,
            headers=(), body="", to_tag=None, via_port=None):
    """A well-formed request text from 127.0.0.1:port."""
    branch = branch or "z9hG4bK-%d" % int(time.monotonic() * 1e6)
    callid = callid or "%d@127.0.0.1" % int(time.monotonic() * 1e6)
    to = "<%s>" % ruri + (";tag=%s" % to_tag if to_tag else "")
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" %
        (via_port or port, branch),
        "Max-Forwards: 70",
        "From: <sip:test@127.0.0.1>;tag=t%d" % port,
        "To: %s" % to,
        "Call-ID: %s" % callid,
        "CSeq: %d %s" % (cseq, method if method != "ACK" else "ACK"),
        "Contact: <sip:test@127.0.0.1:%d>" % port,
    ] + list(headers)
    # one Content-Type (RFC 3261 7.3.1): the caller's, else SDP
    if body and not any(re.match(r"(?i)(content-type|c)\s*:", h)
                        for h in headers):
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body.encode()))
    return "\r\n".join(lines) + "\r\n\r\n" + body


def status(resp):
    """Status code of a response text."""
    m = re.match(r"SIP/2\.0 (\d{3}) ", resp or "")
    return int(m.group(1)) if m else None


def header(resp, name):
    """All values of a header in a message text (case-insensitive)."""
    vals = []
    head = (resp or "").split("\r\n\r\n", 1)[0]
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            vals.append(v.strip())
    return vals


def to_tag(resp):
    to = header(resp, "To")
    m = re.search(r";\s*tag=([^;>\s]+)", to[0]) if to else None
    return m.group(1) if m else None


# --- helpers for the dial-a-code and INVITE flow tests ---

def sipp_inf(values, directory):
    """Write a SEQUENTIAL SIPp injection file (-inf) with one value a
    line (field0) into directory; returns its path."""
    path = os.path.join(directory, "inf-%d.csv" % int(time.monotonic() * 1e6))
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for v in values:
            f.write("%s;\n" % v)
    return path


def event_time(e):
    """An event's "ts" (ISO 8601 UTC, ms) as seconds since the epoch."""
    import datetime
    t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def recv_until(client, pred, timeout=5.0):
    """Messages a UdpClient receives until one satisfies pred (that one
    included) or timeout passes; returns (messages, matched or None)."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, None
        m = client.recv(left)
        if m is None:
            return out, None
        out.append(m)
        if pred(m):
            return out, m


def response_to(req, code, reason, to_tag=None, headers=()):
    """A response text to a request text (e.g. 200 to a BYE sipstub
    sends), with its Via, From, To, Call-ID and CSeq."""
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for v in header(req, name):
            if name == "To" and to_tag and ";tag=" not in v:
                v += ";tag=%s" % to_tag
            lines.append("%s: %s" % (name, v))
    lines += list(headers)
    lines.append("Content-Length: 0")
    return "\r\n".join(lines) + "\r\n\r\n"


def sdp_offer(formats=(0, 8, 101), port=40000):
    """An SDP offer from 127.0.0.1 with these static/known payload
    types."""
    names = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000",
             101: "telephone-event/8000"}
    lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio %d RTP/AVP %s" % (port, " ".join(map(str, formats)))]
    lines += ["a=rtpmap:%d %s" % (f, names[f]) for f in formats]
    return "\r\n".join(lines) + "\r\n"


SDP_OFFER = sdp_offer()


def _tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _tests(t)
        else:
            yield t


def main():
    """unittest.main(); with SIPSTUB_SHARD=I/N only every N-th test from
    the I-th (in the loader's order), so that ctest can run a long file as
    N shards side by side (tests/CMakeLists.txt). The shards of a file
    cover each of its tests once."""
    shard = os.environ.get("SIPSTUB_SHARD")
    if not shard:
        unittest.main()
        return
    i, n = (int(x) for x in shard.split("/"))
    suite = unittest.TestLoader().loadTestsFromModule(sys.modules["__main__"])
    picked = unittest.TestSuite(t for k, t in enumerate(_tests(suite))
                                if k % n == i)
    result = unittest.TextTestRunner(verbosity=1).run(picked)
    sys.exit(0 if result.wasSuccessful() else 1)
