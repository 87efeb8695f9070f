"""Subscriptions with state (RFC 6665) against the built-in dial-a-code
scenario and scenarios/subscribe-mwi.yaml, over UDP and TCP: the 200 and
the NOTIFYs are checked header by header, with their bodies; a SIPp
subscriber runs the subscribe, notify, unsubscribe flow.
"""
import os
import re
import unittest

from harness import SIPP_DIR, response_to, run_sipp
from scn_helpers import (PeerCase, call_id, cseq, first_line, header,
                         is_request, scenario_path, sip_request, status,
                         to_tag)

MWI_BODY = "Messages-Waiting: yes\r\nVoice-Message: 2/8\r\n"


def body(msg):
    return msg.split("\r\n\r\n", 1)[1]


class Inbox:
    """Messages of one peer, taken out by predicate, bounded waits."""

    def __init__(self, peer):
        self.peer = peer
        self.msgs = []

    def take(self, pred, timeout=5.0):
        for i, m in enumerate(self.msgs):
            if pred(m):
                return self.msgs.pop(i)
        while True:
            m = self.peer.recv(timeout)
            if m is None:
                return None
            if pred(m):
                return m
            self.msgs.append(m)

    def response(self, req, timeout=5.0):
        key = (call_id(req), cseq(req))
        return self.take(lambda m: not is_request(m) and
                         (call_id(m), cseq(m)) == key and
                         status(m) >= 200, timeout)

    def notify(self, timeout=5.0):
        return self.take(lambda m: first_line(m).startswith("NOTIFY "),
                         timeout)


def tcp_contact(peer, req):
    """A TCP peer asks for requests over its connection (RFC 3261
    19.1.1: a Contact without transport means UDP)."""
    if peer.transport != "TCP":
        return req
    c = "Contact: <sip:test@127.0.0.1:%d>" % peer.port
    return req.replace(c, c[:-1] + ";transport=tcp>", 1)


class SubsBase(PeerCase):

    def subscribe(self, tp, event, expires=60, user="alice", **kw):
        p = self.peer(tp)
        box = Inbox(p)
        req = sip_request(p, "SUBSCRIBE", "sip:%s@%s" % (user,
                                                          self.stub.addr),
                          headers=["Event: %s" % event,
                                   "Expires: %d" % expires], **kw)
        req = tcp_contact(p, req)
        p.send(req)
        return p, box, req, box.response(req)

    def refresh(self, p, box, first, resp, expires, n):
        req = sip_request(p, "SUBSCRIBE", "sip:alice@%s" % self.stub.addr,
                          callid=call_id(first), cseq=n,
                          to_tag=to_tag(resp),
                          headers=[header(first, "Event")[0].join(
                              ("Event: ", "")),
                                   "Expires: %d" % expires])
        p.send(tcp_contact(p, req))
        return req, box.response(req)

    def check_notify(self, n, req, resp, event, state, ctype, p):
        self.assertIsNotNone(n, "no NOTIFY")
        # RFC 6665 4.1.4, 8.2.1: in the subscription's dialog
        tcp = ";transport=tcp" if p.transport == "TCP" else ""
        self.assertEqual(first_line(n), "NOTIFY sip:test@127.0.0.1:%d%s "
                         "SIP/2.0" % (p.port, tcp))
        self.assertEqual(call_id(n), call_id(req))
        self.assertEqual(header(n, "From")[0],
                         "%s;tag=%s" % (header(req, "To")[0],
                                        to_tag(resp)))
        self.assertEqual(header(n, "To"), header(req, "From"))
        self.assertEqual(header(n, "Event"), [event])
        if hasattr(state, "fullmatch"):
            self.assertRegex(header(n, "Subscription-State")[0], state)
        else:
            self.assertEqual(header(n, "Subscription-State"), [state])
        user = re.match(r"\S+ sip:([^@]+)@", req).group(1)
        self.assertEqual(header(n, "Contact"),
                         ["<sip:%s@%s%s>" % (user, self.stub.addr, tcp)])
        self.assertEqual(header(n, "Content-Type"),
                         [ctype] if ctype else [])
        self.assertEqual(int(header(n, "Content-Length")[0]),
                         len(body(n).encode()))
        p.send(response_to(n, 200, "OK"))

    def sub_events(self, state=None):
        return [e for e in self.stub.events()
                if e.get("event") == "subscription" and
                (state is None or e.get("state") == state)]


class SubsCase(SubsBase):
    """The dial-a-code scenario: the built-in packages."""

    # --- message-summary: create, refresh, unsubscribe ---

    def check_mwi_lifecycle(self, tp):
        p, box, req, r = self.subscribe(tp, "message-summary")
        self.assertEqual(status(r), 200, r)
        self.assertEqual(header(r, "Expires"), ["60"])
        self.assertEqual(len(header(r, "Contact")), 1)
        n = box.notify()
        self.check_notify(n, req, r, "message-summary",
                          "active;expires=60",
                          "application/simple-message-summary", p)
        self.assertEqual(body(n), MWI_BODY)
        first_cseq = cseq(n)[0]

        # RFC 6665 4.2.1: a refresh gets 200 and a NOTIFY
        req2, r2 = self.refresh(p, box, req, r, 120, 2)
        self.assertEqual(status(r2), 200, r2)
        self.assertEqual(header(r2, "Expires"), ["120"])
        self.assertEqual(to_tag(r2), to_tag(r))
        n2 = box.notify()
        self.check_notify(n2, req, r, "message-summary",
                          "active;expires=120",
                          "application/simple-message-summary", p)
        self.assertEqual(body(n2), MWI_BODY)
        self.assertGreater(cseq(n2)[0], first_cseq)

        # Expires: 0 ends it with a terminated NOTIFY
        req3, r3 = self.refresh(p, box, req, r, 0, 3)
        self.assertEqual(status(r3), 200, r3)
        self.assertEqual(header(r3, "Expires"), ["0"])
        n3 = box.notify()
        self.check_notify(n3, req, r, "message-summary",
                          "terminated;reason=timeout",
                          "application/simple-message-summary", p)

        # gone: a further refresh is for no subscription
        req4, r4 = self.refresh(p, box, req, r, 60, 4)
        self.assertEqual(status(r4), 481, r4)

        self.stub.wait_event(lambda e: e.get("event") == "uac" and
                             e.get("method") == "NOTIFY" and
                             e.get("code") == 200 and
                             e.get("call_id") == call_id(req))
        ev = self.sub_events()
        self.assertEqual([(e["state"], e["expires"], e.get("reason"))
                          for e in ev],
                         [("created", 60, None), ("refreshed", 120, None),
                          ("terminated", 0, "timeout")])
        self.assertEqual({e["package"] for e in ev}, {"message-summary"})
        self.assertEqual({e["call_id"] for e in ev}, {call_id(req)})
        notes = [e for e in self.stub.events() if e.get("event") ==
                 "notify"]
        self.assertEqual([e["state"] for e in notes],
                         ["active;expires=60", "active;expires=120",
                          "terminated;reason=timeout"])
        self.assertEqual(notes[0]["body_len"], len(MWI_BODY))

    def test_mwi_lifecycle_udp(self):
        self.check_mwi_lifecycle("udp")

    def test_mwi_lifecycle_tcp(self):
        self.check_mwi_lifecycle("tcp")

    # --- presence and dialog bodies ---

    def check_presence(self, tp):
        p, box, req, r = self.subscribe(tp, "presence")
        self.assertEqual(status(r), 200, r)
        n = box.notify()
        self.check_notify(n, req, r, "presence", "active;expires=60",
                          "application/pidf+xml", p)
        entity = re.sub(r"^<|>.*$", "", header(req, "To")[0])
        self.assertEqual(
            body(n),
            '<?xml version="1.0" encoding="UTF-8"?>\r\n'
            '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
            'entity="%s">\r\n<tuple id="sipstub"><status><basic>open'
            '</basic></status></tuple>\r\n</presence>\r\n' % entity)

    def test_presence_udp(self):
        self.check_presence("udp")

    def test_presence_tcp(self):
        self.check_presence("tcp")

    def check_dialog_versions(self, tp):
        p, box, req, r = self.subscribe(tp, "dialog;id=7")
        self.assertEqual(status(r), 200, r)
        entity = re.sub(r"^<|>.*$", "", header(req, "To")[0])
        want = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
                '<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
                'version="%d" state="full" entity="' + entity + '"/>\r\n')
        n = box.notify()
        # RFC 6665 8.2.1: the Event of the NOTIFY carries the id
        self.check_notify(n, req, r, "dialog;id=7", "active;expires=60",
                          "application/dialog-info+xml", p)
        self.assertEqual(body(n), want % 0)
        _, r2 = self.refresh(p, box, req, r, 60, 2)
        self.assertEqual(status(r2), 200)
        n2 = box.notify()
        self.check_notify(n2, req, r, "dialog;id=7", "active;expires=60",
                          "application/dialog-info+xml", p)
        self.assertEqual(body(n2), want % 1)

    def test_dialog_versions_udp(self):
        self.check_dialog_versions("udp")

    def test_dialog_versions_tcp(self):
        self.check_dialog_versions("tcp")

    # --- unknown package, expiry, fetch ---

    def check_unknown_package(self, tp):
        p, box, req, r = self.subscribe(tp, "conference")
        self.assertEqual(status(r), 489, r)
        self.assertTrue(r.startswith("SIP/2.0 489 Bad Event\r\n"))
        self.assertEqual(header(r, "Allow-Events"),
                         ["message-summary, presence, dialog, refer"])
        self.assertIsNone(box.notify(timeout=1.0))
        self.assertEqual(self.sub_events(), [])

    def test_unknown_package_udp(self):
        self.check_unknown_package("udp")

    def test_unknown_package_tcp(self):
        self.check_unknown_package("tcp")

    def check_expiry(self, tp):
        p, box, req, r = self.subscribe(tp, "message-summary", expires=1)
        self.assertEqual(header(r, "Expires"), ["1"])
        n = box.notify()
        self.check_notify(n, req, r, "message-summary", "active;expires=1",
                          "application/simple-message-summary", p)
        # RFC 6665 4.2.2: not refreshed, it ends with reason=timeout
        n2 = box.notify(timeout=10.0)
        self.check_notify(n2, req, r, "message-summary",
                          "terminated;reason=timeout",
                          "application/simple-message-summary", p)
        e = self.stub.wait_event(lambda e: e.get("event") ==
                                 "subscription" and
                                 e.get("state") == "terminated")
        self.assertEqual(e["reason"], "timeout")

    def test_expiry_udp(self):
        self.check_expiry("udp")

    def test_expiry_tcp(self):
        self.check_expiry("tcp")

    def test_fetch(self):
        # RFC 6665 4.2.1: Expires 0 at once (a fetch): one terminated NOTIFY
        p, box, req, r = self.subscribe("udp", "presence", expires=0)
        self.assertEqual(status(r), 200)
        self.assertEqual(header(r, "Expires"), ["0"])
        n = box.notify()
        self.check_notify(n, req, r, "presence",
                          "terminated;reason=timeout",
                          "application/pidf+xml", p)
        self.assertIsNone(box.notify(timeout=1.0))

    def test_bad_input(self):
        # no Contact (RFC 6665 4.1.2), an Expires that is no number
        p = self.peer("udp")
        box = Inbox(p)
        for hdrs, drop in ((["Event: presence"], "Contact"),
                           (["Event: presence", "Expires: soon"], None),
                           (["Event: presence", "Expires: -1"], None)):
            req = sip_request(p, "SUBSCRIBE", "sip:alice@%s" %
                              self.stub.addr, headers=hdrs)
            if drop:
                req = re.sub(r"(?m)^%s: .*\r\n" % drop, "", req)
            p.send(req)
            r = box.response(req)
            self.assertEqual(status(r), 400, (hdrs, r))
        # a refresh with a bad Expires keeps the subscription
        p2, box2, req, r = self.subscribe("udp", "presence")
        n = box2.notify()
        self.assertIsNotNone(n)
        p2.send(response_to(n, 200, "OK"))
        bad = sip_request(p2, "SUBSCRIBE", "sip:alice@%s" % self.stub.addr,
                          callid=call_id(req), cseq=2, to_tag=to_tag(r),
                          headers=["Event: presence", "Expires: x"])
        p2.send(bad)
        self.assertEqual(status(box2.response(bad)), 400)
        _, r3 = self.refresh(p2, box2, req, r, 60, 3)
        self.assertEqual(status(r3), 200)
        self.assertEqual(self.sub_events("terminated"), [])

    def test_stop_with_notify_pending(self):
        # sipstub stops cleanly (tearDown) with a NOTIFY unanswered
        p, box, req, r = self.subscribe("tcp", "dialog")
        self.assertIsNotNone(box.notify())

    def test_notify_481_ends_subscription(self):
        p, box, req, r = self.subscribe("udp", "message-summary")
        n = box.notify()
        p.send(response_to(n, 481, "Call/Transaction Does Not Exist"))
        e = self.stub.wait_event(lambda e: e.get("event") ==
                                 "subscription" and
                                 e.get("state") == "terminated")
        self.assertEqual(e["reason"], "notify-failed")
        _, r2 = self.refresh(p, box, req, r, 60, 2)
        self.assertEqual(status(r2), 481)


class ScenarioNotifies(SubsBase):
    """scenarios/subscribe-mwi.yaml: NOTIFYs of the scenario, 204."""

    scenario = scenario_path("subscribe-mwi.yaml")

    def check_scenario_notifies(self, tp):
        p, box, req, r = self.subscribe(tp, "message-summary", user="mwi")
        self.assertEqual(status(r), 200, r)
        n = box.notify()
        self.check_notify(n, req, r, "message-summary", "active;expires=60",
                          "application/simple-message-summary", p)
        self.assertEqual(body(n), MWI_BODY)
        n2 = box.notify()
        # the time left (RFC 6665 4.2.2), counted down
        self.check_notify(n2, req, r, "message-summary",
                          re.compile(r"^active;expires=(60|[1-5][0-9]|[1-9])$"),
                          "application/simple-message-summary", p)
        self.assertEqual(body(n2), "Messages-Waiting: no\r\n"
                         "Voice-Message: 0/10\r\n")
        n3 = box.notify()
        self.check_notify(n3, req, r, "message-summary",
                          "terminated;reason=noresource",
                          "application/simple-message-summary", p)
        self.assertEqual(body(n3), "Messages-Waiting: no\r\n")
        e = self.stub.wait_event(lambda e: e.get("event") ==
                                 "subscription" and
                                 e.get("state") == "terminated")
        self.assertEqual(e["reason"], "noresource")

    def test_scenario_notifies_udp(self):
        self.check_scenario_notifies("udp")

    def test_scenario_notifies_tcp(self):
        self.check_scenario_notifies("tcp")

    def check_204(self, tp):
        # RFC 5839 4.2: 204, the subscription stands, no NOTIFY now
        p, box, req, r = self.subscribe(tp, "presence", user="quiet")
        self.assertEqual(status(r), 204, r)
        self.assertEqual(header(r, "Expires"), ["60"])
        self.assertIsNotNone(to_tag(r))
        self.assertIsNone(box.notify(timeout=1.0))
        _, r2 = self.refresh(p, box, req, r, 60, 2)
        self.assertEqual(status(r2), 200, r2)
        self.assertIsNotNone(box.notify())
        self.assertEqual([e["state"] for e in self.sub_events()],
                         ["created", "refreshed"])

    def test_204_udp(self):
        self.check_204("udp")

    def test_204_tcp(self):
        self.check_204("tcp")


class Sipp(SubsBase):
    """A SIPp subscriber: SUBSCRIBE, NOTIFY, unsubscribe, NOTIFY."""

    def check_sipp(self, transport):
        xml = os.path.join(SIPP_DIR, "uac_subscribe.xml")
        rc, out = run_sipp(xml, self.stub.addr, transport=transport)
        self.assertEqual(rc, 0, out)
        self.stub.wait_event(lambda e: e.get("event") == "subscription" and
                             e.get("state") == "terminated")
        self.assertEqual([e["state"] for e in self.sub_events()],
                         ["created", "terminated"])

    def test_sipp_udp(self):
        self.check_sipp("u1")

    def test_sipp_tcp(self):
        self.check_sipp("t1")


if __name__ == "__main__":
    unittest.main()
