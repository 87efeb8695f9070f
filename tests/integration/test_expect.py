"""expect: in scenario files, checked on the wire; the PASS/FAIL lines and
exit code; --duration, --calls, --idle; --junit and --report.

Each expectation kind runs once with a client that meets it (exit 0, a
PASS line) and once with one that does not (exit 1, its FAIL line),
with SIPp or sipsak as the client. Runs end by SIGTERM once the event
log is quiet, or by the stop options themselves.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import harness
from harness import (SANITIZER_MARKS, SCENARIOS, Sipstub, UdpClient,
                     free_port, request, run_sipp, status)
from scn_helpers import run_cli

WRAPPED = bool(os.environ.get("SIPSTUB_WRAPPER"))


def scn(name):
    return os.path.join(SCENARIOS, name)


class ExpectCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="expect-")
        self.stubs = []

    def tearDown(self):
        for s in self.stubs:
            s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, scenario, extra=()):
        stub = Sipstub(scenario, extra=list(extra), stdout=True)
        self.stubs.append(stub)
        return stub

    def finish(self, stub):
        """SIGTERM once the event log is quiet: (code, stdout, stderr)."""
        stub.events()
        code, err = stub.stop()
        return self.result(stub, code, err)

    def result(self, stub, code, err):
        with open(stub.stdout_path) as f:
            out = f.read()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err, err)
        return code, out, err

    def sipp(self, stub, xml, service="alice", calls=1, extra=()):
        rc, out = run_sipp(xml, stub.addr, service=service, calls=calls,
                           extra=extra)
        self.assertEqual(rc, 0, out)

    def sipsak(self, stub, *args):
        p = subprocess.run(["sipsak"] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        return p.returncode, p.stdout.decode(errors="replace")

    def assert_pass(self, code, out, name):
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"(?m)^PASS %s: " % re.escape(name))
        self.assertNotRegex(out, r"(?m)^FAIL ")

    def assert_fail(self, code, out, name, *words):
        self.assertEqual(code, 1, out)
        m = re.search(r"(?m)^FAIL %s: expected (.*), saw (.*)$" %
                      re.escape(name), out)
        self.assertTrue(m, out)
        for w in words:
            self.assertIn(w, m.group(0), out)
        return m


class Kinds(ExpectCase):
    """Each kind, met and not met."""

    COUNT = """\
OPTIONS: 200
expect:
  - name: two-options
    request: OPTIONS
    match:
      headers: {User-Agent: "^sipsak"}
    count: 2
"""

    def test_count_sipsak(self):
        path = self.write("count.yaml", self.COUNT)
        for runs, ok in ((2, True), (1, False)):
            stub = self.start(path)
            for _ in range(runs):
                rc, o = self.sipsak(stub, "-s", "sip:x@%s" % stub.addr)
                self.assertEqual(rc, 0, o)
            # an OPTIONS without sipsak's User-Agent does not count
            c = UdpClient()
            c.send(request("OPTIONS", "sip:x@%s" % stub.addr, c.port),
                   ("127.0.0.1", stub.port))
            self.assertEqual(status(c.recv(5)), 200)
            c.close()
            code, out, err = self.finish(stub)
            if ok:
                self.assert_pass(code, out, "two-options")
                self.assertIn("saw 2", out)
            else:
                self.assert_fail(code, out, "two-options",
                                 "OPTIONS (with User-Agent) exactly 2 "
                                 "times, saw 1")

    AUTH_OPTIONS = """\
rules:
  - match: {method: OPTIONS, nth: 1, per: call}
    reply: 401
  - match: {method: OPTIONS}
    reply: 200
expect:
  - name: auth-options
    request: OPTIONS
    match: {headers: {Authorization: "^Digest "}}
    after: 401
    within: 5s
"""

    def test_auth_sipsak(self):
        path = self.write("auth.yaml", self.AUTH_OPTIONS)
        stub = self.start(path)
        rc, o = self.sipsak(stub, "-s", "sip:alice@%s" % stub.addr,
                            "-a", "secret")
        self.assertEqual(rc, 0, o)
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "auth-options")

        # a client that takes the 401 for an answer
        stub = self.start(path)
        c = UdpClient()
        c.send(request("OPTIONS", "sip:alice@%s" % stub.addr, c.port),
               ("127.0.0.1", stub.port))
        self.assertEqual(status(c.recv(5)), 401)
        c.close()
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "auth-options",
                         "OPTIONS (with Authorization) within 5s after 401",
                         "saw no OPTIONS")

    def test_cancel_within(self):
        stub = self.start(scn("expect-cancel.yaml"))
        self.sipp(stub, "expect_cancel.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "cancel-within-10s")
        self.assertIn("(1 of 1)", out)

        stub = self.start(scn("expect-cancel.yaml"))
        self.sipp(stub, "expect_ring_only.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "cancel-within-10s",
                         "expected CANCEL within 10s after 180",
                         "saw no CANCEL", "to the end of the run")

    def test_auth_retry(self):
        stub = self.start(scn("expect-auth-retry.yaml"))
        self.sipp(stub, "expect_auth.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "retry-with-credentials")
        self.assert_pass(code, out, "ack-the-407")

        stub = self.start(scn("expect-auth-retry.yaml"))
        self.sipp(stub, "expect_auth_none.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "retry-with-credentials",
                         "INVITE (with Proxy-Authorization) within 5s "
                         "after 407", "INVITE (CSeq 2) not matching")
        # the ACKs came: that one held
        self.assertRegex(out, r"(?m)^PASS ack-the-407: .*\(2 of 2\)")

    def test_prack(self):
        stub = self.start(scn("expect-prack.yaml"))
        self.sipp(stub, "expect_prack.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "prack-within-2s")

        stub = self.start(scn("expect-prack.yaml"))
        self.sipp(stub, "expect_no_prack.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "prack-within-2s",
                         "expected PRACK within 2s after 183", "no PRACK")

    def test_redirect(self):
        stub = self.start(scn("expect-redirect.yaml"))
        self.sipp(stub, "expect_redirect.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "follow-the-302")

        stub = self.start(scn("expect-redirect.yaml"))
        self.sipp(stub, "expect_redirect_wrong.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "follow-the-302",
                         "INVITE to its Contact within 5s after 302",
                         "to another URI")

    NEVER = """\
INVITE: 603
expect:
  - name: no-retry-after-603
    request: INVITE
    after: 603
    never: true
"""

    def test_never(self):
        path = self.write("never.yaml", self.NEVER)
        stub = self.start(path)
        self.sipp(stub, "expect_final_ack.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "no-retry-after-603")

        stub = self.start(path)
        self.sipp(stub, "expect_retry_603.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "no-retry-after-603",
                         "expected no INVITE after 603",
                         "saw INVITE (CSeq 2)")

    RETRY_AFTER = """\
INVITE: 503
expect:
  - name: wait-out-retry-after
    request: INVITE
    after: 503
    not-before: retry-after
    same: address
"""

    def test_retry_after(self):
        path = self.write("ra.yaml", self.RETRY_AFTER)
        stub = self.start(path)
        self.sipp(stub, "expect_final_ack.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "wait-out-retry-after")

        # a second call from the same socket at once: 30 s too early
        stub = self.start(path)
        self.sipp(stub, "expect_final_ack.xml", calls=2)
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "wait-out-retry-after",
                         "no INVITE sooner than retry-after after 503",
                         "saw INVITE (CSeq 1)", "after the 503")

    REREGISTER = """\
REGISTER: 200
expect:
  - name: no-early-refresh
    request: REGISTER
    after: 2xx
    not-before: expires*0.5
"""

    def test_reregister(self):
        path = self.write("reg.yaml", self.REREGISTER)
        stub = self.start(path)
        self.sipp(stub, "expect_register.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "no-early-refresh")

        stub = self.start(path)
        self.sipp(stub, "expect_register_twice.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "no-early-refresh",
                         "saw REGISTER (CSeq 2)")

    TARGET = """\
INVITE: [180, 200]
expect:
  - name: bye-to-contact
    request: BYE
    to: contact
"""

    def test_target(self):
        path = self.write("target.yaml", self.TARGET)
        stub = self.start(path)
        self.sipp(stub, "uac_call.xml")
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "bye-to-contact")
        self.assertIn("(1 request)", out)

        stub = self.start(path)
        self.sipp(stub, "expect_bye_elsewhere.xml")
        code, out, _ = self.finish(stub)
        self.assert_fail(code, out, "bye-to-contact",
                         "BYE to sip:nobody@", "a URI sipstub did not give")

    def test_tcp(self):
        stub = self.start(scn("expect-cancel.yaml"))
        rc, o = run_sipp("expect_cancel.xml", stub.addr, transport="t1",
                         service="alice")
        self.assertEqual(rc, 0, o)
        code, out, _ = self.finish(stub)
        self.assert_pass(code, out, "cancel-within-10s")

    def test_without_expect_exit_stays(self):
        stub = self.start(scn("busy.yaml"))
        self.sipp(stub, "expect_final_ack.xml")
        code, out, _ = self.finish(stub)
        self.assertEqual(code, 0)
        self.assertEqual(out, "")


class Ending(ExpectCase):
    """--duration, --calls and --idle end the run by themselves."""

    def stop_reason(self, stub):
        stops = [e for e in stub.events() if e.get("event") == "stop"]
        self.assertEqual(len(stops), 1, stops)
        return stops[0].get("reason")

    def test_duration(self):
        stub = self.start(scn("expect-cancel.yaml"),
                          ["--duration", "1s"])
        code, out, err = self.result(stub, *stub.wait_exit()[::2])
        self.assertEqual(self.stop_reason(stub), "duration")
        # nothing rang: nothing was tested
        self.assert_fail(code, out, "cancel-within-10s", "saw no 180 sent")

    def test_idle(self):
        stub = self.start(None, ["--idle", "1s"])
        code, out, err = self.result(stub, *stub.wait_exit()[::2])
        self.assertEqual(code, 0, err)
        self.assertEqual(self.stop_reason(stub), "idle")
        self.assertIn("sipstub: idle, stopping", err)

    def test_idle_waits_for_quiet(self):
        stub = self.start(scn("expect-cancel.yaml"),
                          ["--idle", "3s" if WRAPPED else "1500ms"])
        self.sipp(stub, "expect_cancel.xml")
        code, out, err = self.result(stub, *stub.wait_exit()[::2])
        self.assertEqual(self.stop_reason(stub), "idle")
        self.assert_pass(code, out, "cancel-within-10s")

    def test_calls(self):
        report = os.path.join(self.tmp, "r.json")
        stub = self.start(None, ["--calls", "2", "--report", report])
        self.sipp(stub, "uac_call.xml", calls=2)
        code, out, err = self.result(stub, *stub.wait_exit()[::2])
        self.assertEqual(code, 0, err)
        self.assertEqual(self.stop_reason(stub), "calls")
        with open(report) as f:
            r = json.load(f)
        self.assertEqual(r["stop"], "calls")
        self.assertIsNone(r["expectations"])
        self.assertEqual(len(r["calls"]), 2, r)
        for c in r["calls"]:
            self.assertEqual(c["ended"], "bye")
            self.assertEqual(c["bye_by"], "client")
            self.assertEqual(c["codes"], [100, 180, 200])

    def test_bad_values(self):
        for args in (["--duration", "x"], ["--idle", "0s"],
                     ["--calls", "0"], ["--calls", "-1"],
                     ["-w", "2", "-l", "udp:127.0.0.1:5099", "--idle",
                      "1s"]):
            rc, out, err = run_cli(args)
            self.assertEqual(rc, 2, (args, err))


class Reports(ExpectCase):

    def run_auth(self, xml):
        junit = os.path.join(self.tmp, "junit.xml")
        report = os.path.join(self.tmp, "report.json")
        stub = self.start(scn("expect-auth-retry.yaml"),
                          ["--junit", junit, "--report", report])
        self.sipp(stub, xml)
        code, out, err = self.finish(stub)
        return code, out, junit, report

    def test_junit(self):
        code, out, junit, _ = self.run_auth("expect_auth_none.xml")
        self.assertEqual(code, 1, out)
        root = ET.parse(junit).getroot()
        self.assertEqual(root.tag, "testsuites")
        self.assertEqual(root.get("tests"), "2")
        self.assertEqual(root.get("failures"), "1")
        float(root.get("time"))
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 1)
        s = suites[0]
        self.assertEqual(s.get("name"), "expect-auth-retry.yaml")
        self.assertEqual((s.get("tests"), s.get("failures"), s.get("errors")),
                         ("2", "1", "0"))
        cases = {c.get("name"): c for c in s.findall("testcase")}
        self.assertEqual(sorted(cases), ["ack-the-407",
                                         "retry-with-credentials"])
        for c in cases.values():
            self.assertEqual(c.get("classname"), "expect-auth-retry.yaml")
        self.assertIsNone(cases["ack-the-407"].find("failure"))
        f = cases["retry-with-credentials"].find("failure")
        self.assertIsNotNone(f)
        self.assertRegex(f.get("message"), r"^expected INVITE .* saw ")
        self.assertEqual(f.text, f.get("message"))

        code, out, junit, _ = self.run_auth("expect_auth.xml")
        self.assertEqual(code, 0, out)
        root = ET.parse(junit).getroot()
        self.assertEqual((root.get("tests"), root.get("failures")),
                         ("2", "0"))
        self.assertEqual(root.findall(".//failure"), [])

    def test_report(self):
        code, out, _, report = self.run_auth("expect_auth_none.xml")
        with open(report) as f:
            r = json.load(f)
        self.assertEqual(r["result"], "fail")
        ex = r["expectations"]
        self.assertEqual((ex["result"], ex["passed"], ex["failed"]),
                         ("fail", 1, 1))
        items = {i["name"]: i for i in ex["items"]}
        it = items["retry-with-credentials"]
        self.assertEqual((it["kind"], it["result"], it["due"], it["met"],
                          it["failed"]), ("within", "fail", 2, 0, 2))
        self.assertEqual(it["file"], "expect-auth-retry.yaml")
        self.assertIn("saw", it["message"])
        self.assertEqual(items["ack-the-407"]["result"], "pass")
        calls = r["calls"]
        self.assertEqual(len(calls), 2, calls)
        self.assertEqual(calls[0]["call_id"], calls[1]["call_id"])
        for c in calls:
            self.assertEqual((c["state"], c["ended"], c["code"],
                              c["codes"]),
                             ("ended", "rejected", 407, [100, 407]))
            self.assertIn("sipp", c["from"])
            self.assertIn("alice", c["to"])
            self.assertRegex(c["start"], r"^\d{4}-\d\d-\d\dT")
        # the event log has each verdict
        evs = [e for e in self.stubs[-1].events()
               if e.get("event") == "expect"]
        self.assertEqual(sorted((e["name"], e["result"]) for e in evs),
                         [("ack-the-407", "pass"),
                          ("retry-with-credentials", "fail")])


BAD_EXPECT = """\
OPTIONS: 200
expect:
  - request: OPTIONS
    colour: red
  - request: INVITE
    after: 486
  - request: INVITE
    within: 2s
  - request: BYE
    count: 2
    min: 1
  - request: INVITE
    after: 999
    within: 1s
  - request: PRACK
    after: 183
    within: soon
  - request: REGISTER
    after: 200
    not-before: expires*2
  - after: 180
    within: 1s
  - request: ACK
    match: {nth: 2}
  - request: INVITE
    after: 302
    never: true
    to: contact
  - request: INVITE
    min: 3
    max: 1
expect-more: 1
"""

# line: (token the column points at, words of the message)
BAD_ERRORS = {
    4: ("colour", ["unknown expect key 'colour'"]),
    6: ("486", ["needs 'within', 'not-before' or 'never'"]),
    8: ("2s", ["'within' needs 'after'"]),
    10: ("2", ["'count' excludes"]),
    13: ("999", ["'after' takes status codes"]),
    17: ("soon", ["bad within 'soon'"]),
    20: ("expires*2", ["'not-before' takes"]),
    21: ("after", ["no 'request'"]),
    24: ("nth", ["'nth' does not go"]),
    28: ("contact", ["'to' goes with 'within'"]),
    30: ("3", ["'min' is more than 'max'"]),
    32: ("expect-more", ["unknown key 'expect-more'"]),
}


class Check(ExpectCase):

    def test_check_bad_expect(self):
        path = self.write("bad.yaml", BAD_EXPECT)
        rc, out, err = run_cli(["--check", path])
        self.assertEqual(rc, 2, err)
        lines = BAD_EXPECT.split("\n")
        got = {}
        for line in err.splitlines():
            m = re.match(r"^(.*):(\d+):(\d+): (.+)$", line)
            self.assertTrue(m, "not file:line:col: message: %r" % line)
            self.assertEqual(m.group(1), path)
            got.setdefault(int(m.group(2)), []).append(
                (int(m.group(3)), m.group(4)))
        self.assertEqual(sorted(got), sorted(BAD_ERRORS), err)
        for ln, (token, words) in BAD_ERRORS.items():
            self.assertEqual(len(got[ln]), 1, got[ln])
            col, msg = got[ln][0]
            for w in words:
                self.assertIn(w, msg, "line %d" % ln)
            self.assertEqual(col, lines[ln - 1].index(token) + 1,
                             "column of line %d: %s" % (ln, msg))

    def test_shipped_expect_files(self):
        files = [scn(f) for f in ("expect-cancel.yaml",
                                  "expect-auth-retry.yaml",
                                  "expect-prack.yaml",
                                  "expect-redirect.yaml")]
        rc, out, err = run_cli(["--check"] + files)
        self.assertEqual(rc, 0, err)

    def test_bad_scenario_exit_2(self):
        path = self.write("bad.yaml", BAD_EXPECT)
        rc, out, err = run_cli(["-l", "udp:127.0.0.1:%d" % free_port(),
                                path])
        self.assertEqual(rc, 2, err)
        self.assertIn("unknown expect key", err)


if __name__ == "__main__":
    harness.main()
