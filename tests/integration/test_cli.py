"""The command line: --help, --version, --check, --listen, --trace,
--events (file and '-'), signals and the exit summary, and the fields of
the event log.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import Sipstub, free_port, ipv6_usable
from scn_helpers import (Peer, SCENARIOS, SIPSTUB, first_line, read_jsonl,
                         run_cli, sanitizer_report, sip_request, status,
                         transact)

TS_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"

BAD_YAML = """\
# bad scenario for sipstub --check: one error per marked line
vars:
  realm: example.test
rules:
  - match: {method: INVITE, colour: red}
    reply: [100, 486]
  - match: {method: OPTIONS}
    reply: 700
  - match: {method: INVITE, user-regex: "(["}
    reply:
      - {code: 200, delay: 5 parsecs}
  - match: {method: INVITE}
    reply: [486, 180]
  - match: {method: MESSAGE}
    reply:
      - code: 200
        body-file: no-such-body.txt
  - match: {method: REGISTER}
    reply: 99
    flavour: vanilla
"""

# line -> (token the column points at, or None; words of the message)
BAD_ERRORS = {
    5: ("colour", ("colour",)),
    8: ("700", ("700",)),
    9: ('"(["', ("regex",)),
    11: ("5 parsecs", ("delay", "5 parsecs")),
    13: (None, ("1xx",)),
    17: ("no-such-body.txt", ("no-such-body.txt",)),
    19: ("99", ("99",)),
    20: ("flavour", ("flavour",)),
}


def shipped():
    return sorted(os.path.join(SCENARIOS, f) for f in os.listdir(SCENARIOS)
                  if f.endswith(".yaml"))


class CliCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="scn-cli-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_clean(self, text):
        mark = sanitizer_report(text)
        self.assertIsNone(mark, "sanitizer report:\n" + text)

    def start(self, args, stdout=subprocess.DEVNULL):
        """sipstub with args; stderr to a file. Returns (proc, errpath)."""
        err = os.path.join(self.tmp, "stderr-%d.txt" % len(self.procs))
        wrapper = os.environ.get("SIPSTUB_WRAPPER", "").split()
        with open(err, "w") as ef:
            p = subprocess.Popen(wrapper + [SIPSTUB] + list(args),
                                 stdin=subprocess.DEVNULL, stdout=stdout,
                                 stderr=ef)
        self.procs.append(p)
        return p, err

    def end(self, p, sig=signal.SIGTERM, timeout=15):
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
            self.fail("sipstub did not end on %s" % sig.name)
        return p.returncode


class HelpVersion(CliCase):

    def test_help(self):
        rc, out, err = run_cli(["--help"])
        self.assertEqual(rc, 0)
        text = out + err
        for opt in ("--listen", "--events", "--check", "--trace", "--help",
                    "--version"):
            self.assertIn(opt, text)
        rc2, out2, err2 = run_cli(["-h"])
        self.assertEqual((rc2, out2 + err2), (0, text))

    def test_version(self):
        rc, out, err = run_cli(["--version"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^sipstub \d+\.\d+\.\d+")
        rc2, out2, _ = run_cli(["-V"])
        self.assertEqual((rc2, out2), (0, out))

    def test_unknown_option(self):
        rc, out, err = run_cli(["--no-such-option"])
        self.assertNotEqual(rc, 0)
        self.assertIn("--listen", out + err)    # usage follows


class Check(CliCase):

    def test_every_shipped_scenario(self):
        files = shipped()
        self.assertGreaterEqual(len(files), 10)
        rc, out, err = run_cli(["--check"] + files)
        self.assertEqual(rc, 0, err)
        self.assertNotRegex(err, r":\d+:\d+: ")
        for f in files:
            rc, out, err = run_cli(["--check", f])
            self.assertEqual(rc, 0, "%s: %s" % (f, err))

    def test_bad_file_reports_every_error(self):
        path = self.write("bad.yaml", BAD_YAML)
        rc, out, err = run_cli(["--check", path])
        self.assertEqual(rc, 2, err)
        self.assert_clean(err)
        lines = BAD_YAML.split("\n")
        errs = {}
        for line in err.splitlines():
            m = re.match(r"^(.*):(\d+):(\d+): (.+)$", line)
            self.assertTrue(m, "not file:line:col: message: %r" % line)
            self.assertEqual(m.group(1), path)
            errs.setdefault(int(m.group(2)), []).append(
                (int(m.group(3)), m.group(4)))
        self.assertEqual(sorted(errs), sorted(BAD_ERRORS), err)
        for ln, (token, words) in BAD_ERRORS.items():
            self.assertEqual(len(errs[ln]), 1, errs[ln])
            col, msg = errs[ln][0]
            for w in words:
                self.assertIn(w, msg, "line %d" % ln)
            if token:
                self.assertEqual(col, lines[ln - 1].index(token) + 1,
                                 "column of line %d: %s" % (ln, msg))

    def test_errors_of_several_files(self):
        bad1 = self.write("one.yaml", "INVITE: [100, 486]\nbogus: 1\n")
        bad2 = self.write("two.yaml", "OPTIONS: 200\nINVITE: [200, 180]\n")
        good = os.path.join(SCENARIOS, "busy.yaml")
        rc, out, err = run_cli(["--check", bad1, good, bad2])
        self.assertEqual(rc, 2, err)
        self.assertRegex(err, r"(?m)^%s:2:1: .*bogus" % re.escape(bad1))
        self.assertRegex(err, r"(?m)^%s:2:\d+: .*1xx" % re.escape(bad2))
        self.assertNotRegex(err, r"(?m)^%s:\d+:\d+:" % re.escape(good))

    def test_yaml_syntax_error(self):
        path = self.write("syntax.yaml", "OPTIONS: 200\nINVITE: [100\n")
        rc, out, err = run_cli(["--check", path])
        self.assertEqual(rc, 2)
        self.assertRegex(err, r"(?m)^%s:\d+:\d+: \S" % re.escape(path))

    def test_missing_file(self):
        path = os.path.join(self.tmp, "no-such-scenario.yaml")
        rc, out, err = run_cli(["--check", path])
        self.assertEqual(rc, 2, err)
        self.assertIn(path, err)
        self.assert_clean(err)


class Startup(CliCase):

    def test_bad_scenario_fails_to_start(self):
        path = self.write("bad.yaml", BAD_YAML)
        events = os.path.join(self.tmp, "ev.jsonl")
        port = free_port()
        rc, out, err = run_cli(["-l", "udp:127.0.0.1:%d" % port,
                                "-e", events, path])
        self.assertEqual(rc, 2, err)
        self.assert_clean(err)
        self.assertRegex(err, r"(?m)^%s:8:12: .*700" % re.escape(path))
        self.assertRegex(err, r"(?m)^%s:11:\d+: .*delay" % re.escape(path))
        started = os.path.exists(events) and any(
            e.get("event") == "start" for e in read_jsonl(events))
        self.assertFalse(started)

    def test_missing_scenario_fails_to_start(self):
        path = os.path.join(self.tmp, "nope.yaml")
        rc, out, err = run_cli(["-l", "udp:127.0.0.1:%d" % free_port(),
                                path])
        self.assertEqual(rc, 2, err)
        self.assertIn(path, err)

    def test_bad_listen(self):
        for spec in ("foo", "udp:1.2.3", "sctp:127.0.0.1:5060",
                     "udp:127.0.0.1", "udp:256.1.1.1:5060", "tcp:[::1",
                     "udp:127.0.0.1:99999", "udp:127.0.0.1:port"):
            try:
                rc, out, err = run_cli(["-l", spec, "-e",
                                        os.path.join(self.tmp, "e.jsonl")],
                                       timeout=5)
            except subprocess.TimeoutExpired:
                self.fail("--listen %r accepted: sipstub started" % spec)
            self.assertNotEqual(rc, 0, spec)
            self.assertIn("--listen", err, spec)
            self.assertIn(spec, err)

    def test_listen_port_zero_and_ipv6(self):
        specs = ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
        v6 = ipv6_usable()
        if v6:
            specs += ["udp:[::1]:0"]
        events = os.path.join(self.tmp, "ev.jsonl")
        args = []
        for s in specs:
            args += ["-l", s]
        p, errpath = self.start(args + ["-e", events])
        ev = wait_events(events, lambda e: e.get("event") == "start", p)
        listen = [e for e in ev if e.get("event") == "listen"]
        self.assertEqual(len(listen), len(specs), ev)
        ports = {}
        for e in listen:
            m = re.match(r"^(\[::1\]|127\.0\.0\.1):(\d+)$", e["addr"])
            self.assertTrue(m, e)
            self.assertNotEqual(int(m.group(2)), 0)
            ports[(e["transport"], m.group(1))] = int(m.group(2))
        self.assertEqual(set(ports), {("UDP", "127.0.0.1"),
                                      ("TCP", "127.0.0.1")} |
                         ({("UDP", "[::1]")} if v6 else set()))
        # each really answers
        for (tp, host), port in ports.items():
            fam = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
            h = host.strip("[]")
            self.assertEqual(options_status(fam, tp, h, port), 200,
                             (tp, host))
        self.assertEqual(self.end(p), 0)


class Trace(CliCase):

    def test_trace(self):
        stub = Sipstub(extra=("--trace",))
        p = Peer(stub)
        try:
            req = sip_request(p, "OPTIONS", "sip:alice@%s" % stub.addr)
            r = transact(p, req)
            self.assertEqual([status(m) for m in r], [200])
            cid = re.search(r"Call-ID: (\S+)", req).group(1)
            stub.wait_event(lambda e: e.get("dir") == "out")
        finally:
            p.close()
            code, err = stub.stop()
            stub.close()
        self.assertEqual(code, 0, err)
        self.assert_clean(err)
        # the request and the response, readable, both directions
        self.assertIn(first_line(req), err)
        self.assertIn("SIP/2.0 200 OK", err)
        self.assertGreaterEqual(err.count("Call-ID: %s" % cid), 2, err)
        self.assertRegex(err, r"(?m)^Via: SIP/2\.0/UDP 127\.0\.0\.1:%d"
                         % p.port)

    def test_no_trace_by_default(self):
        stub = Sipstub()
        p = Peer(stub)
        try:
            req = sip_request(p, "OPTIONS", "sip:alice@%s" % stub.addr)
            self.assertEqual([status(m) for m in transact(p, req)], [200])
        finally:
            p.close()
            code, err = stub.stop()
            stub.close()
        self.assertEqual(code, 0, err)
        self.assertNotIn(first_line(req), err)


class Signals(CliCase):

    def run_and_stop(self, sig):
        port = free_port()
        events = os.path.join(self.tmp, "ev.jsonl")
        p, errpath = self.start(["-l", "udp:127.0.0.1:%d" % port,
                                 "-l", "tcp:127.0.0.1:%d" % port,
                                 "-e", events])
        wait_events(events, lambda e: e.get("event") == "start", p)

        class S:
            pass
        s = S()
        s.port = port
        s.addr = "127.0.0.1:%d" % port
        peer = Peer(s)
        for m, user, want in (("OPTIONS", "alice", 200),
                              ("OPTIONS", "alice", 200),
                              ("FOO", "alice", 501),
                              ("MESSAGE", "404", 404)):
            r = transact(peer, sip_request(peer, m, "sip:%s@%s" %
                                           (user, s.addr)))
            self.assertEqual([status(x) for x in r], [want], r)
        peer.close()
        rc = self.end(p, sig)
        with open(errpath) as f:
            err = f.read()
        self.assert_clean(err)
        self.assertEqual(rc, 0, err)
        summary = [l for l in err.splitlines() if "OPTIONS 2" in l]
        self.assertEqual(len(summary), 1, err)
        line = summary[0]
        for part in ("FOO 1", "MESSAGE 1", "200 2", "501 1", "404 1"):
            self.assertRegex(line, r"\b%s\b" % part, line)
        ev = read_jsonl(events)
        self.assertEqual(ev[-1].get("event"), "stop", ev[-1])
        return err

    def test_sigterm(self):
        self.run_and_stop(signal.SIGTERM)

    def test_sigint(self):
        self.run_and_stop(signal.SIGINT)

    def test_idle_stop(self):
        p, errpath = self.start(["-l", "udp:127.0.0.1:%d" % free_port(),
                                 "-e", os.path.join(self.tmp, "e.jsonl")])
        wait_events(os.path.join(self.tmp, "e.jsonl"),
                    lambda e: e.get("event") == "start", p)
        self.assertEqual(self.end(p, signal.SIGINT), 0)


class EventLog(CliCase):

    def test_fields(self):
        stub = Sipstub()
        try:
            for tp in ("udp", "tcp"):
                p = Peer(stub, tp)
                req = sip_request(p, "OPTIONS", "sip:alice@%s" % stub.addr,
                                  cseq=7)
                r = transact(p, req)
                self.assertEqual([status(m) for m in r], [200])
                cid = re.search(r"Call-ID: (\S+)", req).group(1)
                # written as it happens: present while sipstub runs
                stub.wait_event(lambda e: e.get("call_id") == cid and
                                e.get("dir") == "out")
                p.close()
                self.check_pair(stub, p, tp.upper(), req, cid)
        finally:
            code, err = stub.stop()
            path = stub.events_path
            ev = read_jsonl(path)
            stub.close()
        self.assertEqual(code, 0, err)
        names = [e.get("event") for e in ev]
        for e in ev:
            self.assertRegex(e.get("ts", ""), TS_RE, e)
        # listen events (one per socket) and start come first, stop last
        start = names.index("start")
        self.assertEqual(set(names[:start]), {"listen"})
        listen = ev[:start]
        self.assertEqual(sorted((e["transport"], e["addr"]) for e in listen),
                         [("TCP", stub.addr), ("UDP", stub.addr)])
        self.assertRegex(ev[start].get("version", ""), r"^\d+\.\d+\.\d+")
        self.assertIsInstance(ev[start].get("rules"), int)
        self.assertEqual(names[-1], "stop")
        self.assertEqual(names.count("stop"), 1)

    def check_pair(self, stub, p, tp, req, cid):
        ins = stub.sip(dir="in", call_id=cid)
        outs = stub.sip(dir="out", call_id=cid)
        self.assertEqual(len(ins), 1, ins)
        self.assertEqual(len(outs), 1, outs)
        i, o = ins[0], outs[0]
        me = "127.0.0.1:%d" % p.port
        self.assertEqual(
            {k: i.get(k) for k in ("event", "dir", "kind", "method", "uri",
                                   "call_id", "cseq", "from", "to",
                                   "transport", "src", "dst")},
            {"event": "sip", "dir": "in", "kind": "request",
             "method": "OPTIONS", "uri": "sip:alice@%s" % stub.addr,
             "call_id": cid, "cseq": 7,
             "from": "<sip:test@127.0.0.1>;tag=t%d" % p.port,
             "to": "<sip:alice@%s>" % stub.addr,
             "transport": tp, "src": me, "dst": stub.addr})
        self.assertRegex(i["ts"], TS_RE)
        self.assertNotIn("code", i)
        self.assertEqual(
            {k: o.get(k) for k in ("event", "dir", "kind", "code", "reason",
                                   "method", "call_id", "cseq", "from",
                                   "transport", "src", "dst")},
            {"event": "sip", "dir": "out", "kind": "response", "code": 200,
             "reason": "OK", "method": "OPTIONS", "call_id": cid, "cseq": 7,
             "from": "<sip:test@127.0.0.1>;tag=t%d" % p.port,
             "transport": tp, "src": stub.addr, "dst": me})
        self.assertRegex(o["to"], r"^<sip:alice@%s>;tag=\S+$" %
                         re.escape(stub.addr))
        self.assertRegex(o["ts"], TS_RE)
        self.assertLessEqual(i["ts"], o["ts"])

    def test_events_to_stdout(self):
        port = free_port()
        p, errpath = self.start(["-l", "udp:127.0.0.1:%d" % port, "-e", "-"],
                                stdout=subprocess.PIPE)
        # the start line arrives while sipstub runs (flushed)
        line = read_line(p.stdout, 10)
        self.assertIsNotNone(line)
        self.assertIn(read_jsonl(line, True)[0]["event"], ("listen", "start"))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))

        class P:
            transport = "UDP"
        P.port = u.getsockname()[1]
        req = sip_request(P, "OPTIONS", "sip:alice@127.0.0.1:%d" % port)
        u.sendto(req.encode(), ("127.0.0.1", port))
        u.settimeout(5)
        self.assertEqual(status(u.recv(65535).decode()), 200)
        u.close()
        rc = self.end(p)
        rest = p.stdout.read().decode()
        p.stdout.close()
        with open(errpath) as f:
            err = f.read()
        self.assertEqual(rc, 0, err)
        self.assert_clean(err)
        ev = read_jsonl(line + rest, True)    # every line JSON
        names = [e.get("event") for e in ev]
        self.assertIn("start", names)
        self.assertEqual(names[-1], "stop")
        sip = [e for e in ev if e.get("event") == "sip"]
        self.assertEqual([(e["dir"], e.get("method"), e.get("code"))
                          for e in sip],
                         [("in", "OPTIONS", None), ("out", "OPTIONS", 200)])
        # the event log owns stdout: no log text mixed into it
        self.assertNotIn("sipstub:", line + rest)


def read_line(stream, timeout):
    """One line from a pipe within timeout (select), or None."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not r:
            break
        ch = os.read(fd, 1)
        if not ch:
            break
        buf += ch
        if ch == b"\n":
            return buf.decode()
    return None


def wait_events(path, pred, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            ev = read_jsonl(path)
            if any(pred(e) for e in ev):
                return ev
        if proc.poll() is not None:
            raise AssertionError("sipstub exited with %s" % proc.returncode)
        time.sleep(0.05)
    raise AssertionError("timeout waiting for event in %s" % path)


def options_status(fam, tp, host, port):
    """Status code of the answer to one OPTIONS over UDP or TCP."""
    hp = "[%s]" % host if fam == socket.AF_INET6 else host
    if tp == "UDP":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((host, 0))
    else:
        s = socket.create_connection((host, port), timeout=5)
    try:
        lport = s.getsockname()[1]
        req = ("OPTIONS sip:alice@%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK-cli-%d;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:cli@%s>;tag=cli\r\n"
               "To: <sip:alice@%s:%d>\r\n"
               "Call-ID: cli-%d@test\r\n"
               "CSeq: 1 OPTIONS\r\n"
               "Content-Length: 0\r\n\r\n" %
               (hp, port, tp, hp, lport, lport, hp, hp, port, lport))
        s.settimeout(5)
        if tp == "UDP":
            s.sendto(req.encode(), (host, port))
            data = s.recv(65535)
        else:
            s.sendall(req.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65535)
                if not chunk:
                    break
                data += chunk
        return status(data.decode(errors="replace"))
    finally:
        s.close()


if __name__ == "__main__":
    unittest.main()
