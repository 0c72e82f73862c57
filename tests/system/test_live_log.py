"""The live log (GET /api/v1/logs and its Server-Sent Events stream /api/v1/logs/stream), against the
real binary with http.client over TLS: search with filters, a stream that shows an SMTP delivery's
lines as they happen, stream filters, Last-Event-ID resume, the console's session cookie, a client
that leaves, a client that does not read (dropped lines, the server unaffected), keep-alive comments
and the end of streams at shutdown. Loopback only."""

import http.client
import json
import smtplib
import socket
import time

from harness import HOST, PASSWORD, WAIT, main, make_message, tls_context, unique
from test_http import ADMIN, HttpCase, basic


class Stream:
    """An open event stream; events() parses text/event-stream (HTML 9.2.6) as a browser does."""

    def __init__(self, case, query="", headers=None, rcvbuf=None):
        h = {"Authorization": basic(ADMIN), "Accept": "text/event-stream"}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        self.conn = http.client.HTTPSConnection(HOST, case.t.ports["https"], context=tls_context(), timeout=WAIT)
        if rcvbuf:
            self.conn.sock = None
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            raw.settimeout(WAIT)
            raw.connect((HOST, case.t.ports["https"]))
            self.conn.sock = tls_context().wrap_socket(raw, server_hostname=HOST)
        self.conn.request("GET", "/api/v1/logs/stream" + query, headers=h)
        self.sock = self.conn.sock  # http.client hands a close-delimited response's socket over
        self.resp = self.conn.getresponse()

    def event(self, timeout=WAIT):
        """The next event as (type, id, data), comments as ("comment", None, text); None at the end."""
        self.sock.settimeout(timeout)
        kind, ident, data = "message", None, []
        while True:
            line = self.resp.fp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if data or kind != "message":
                    return kind, ident, "\n".join(data)
                continue
            if line.startswith(":"):
                return "comment", None, line[1:].strip()
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "id":
                ident = int(value)
            elif field == "data":
                data.append(value)

    def logs_until(self, pred, timeout=WAIT):
        """Log lines (dicts) read until one satisfies pred; fails on the end of the stream."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            e = self.event(timeout=max(0.1, deadline - time.monotonic()))
            if e is None:
                raise AssertionError(f"the stream ended; seen {seen}")
            if e[0] == "log":
                line = json.loads(e[2])
                self.assert_id(e[1], line)
                seen.append(line)
                if pred(line):
                    return seen
        raise AssertionError(f"no such line; seen {seen}")

    @staticmethod
    def assert_id(ident, line):
        assert ident == line["id"], (ident, line)

    def close(self):
        self.resp.close()
        self.conn.close()
        self.sock.close()


class LiveLogTest(HttpCase):
    def send(self, rcpt="bob@tern.test"):
        subject = unique("live")
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.sendmail("alice@example.test", [rcpt], make_message("alice@example.test", rcpt, subject))
        return subject

    def stream(self, *a, **kw):
        s = Stream(self, *a, **kw)
        self.addCleanup(s.close)
        return s

    def search(self, query):
        a = self.call("GET", "/api/v1/logs" + query)
        self.assertEqual(a.status, 200, a)
        return a.json["lines"]

    def test_search_with_filters(self):
        self.send()
        self.t.wait_for_messages("bob@tern.test", 1)
        lines = self.search("?q=bob%40tern.test&limit=1000")
        delivered = [l for l in lines if "delivered to bob@tern.test" in l["text"]]
        self.assertEqual(len(delivered), 1, lines)
        d = delivered[0]
        self.assertEqual(d["protocol"], "queue")
        self.assertEqual(d["level"], "info")
        self.assertTrue(abs(d["time"] - time.time()) < 600)
        self.assertEqual(set(d), {"id", "time", "level", "protocol", "text"})
        # Oldest first, every line holding q.
        ids = [l["id"] for l in lines]
        self.assertEqual(ids, sorted(ids))
        self.assertTrue(all("bob@tern.test" in l["text"] for l in lines))
        # The queue id finds the message's other lines (at least "all recipients done").
        qid = d["text"].split()[1].rstrip(":")
        by_id = self.search(f"?q={qid}")
        self.assertTrue(any("removed" in l["text"] for l in by_id), by_id)
        smtp = self.search("?protocol=smtp&limit=1000")
        self.assertTrue(smtp and all(l["protocol"] == "smtp" for l in smtp), smtp)
        self.assertEqual(len(self.search("?limit=2")), 2)
        self.assertEqual(self.search("?level=error"), [])
        self.assertEqual(self.search(f"?since={int(time.time()) + 3600}"), [])
        everything = self.search("?until=0")
        self.assertEqual(everything, [])
        for bad, name in (("?level=loud", "level"), ("?limit=0", "limit"), ("?limit=100000", "limit"),
                          ("?since=yesterday", "since"), ("?q=" + "x" * 300, "q")):
            a = self.call("GET", "/api/v1/logs" + bad)
            self.assertEqual(a.status, 400, bad)
            self.assertEqual(a.json["error"]["code"], "invalid")
            self.assertIn(name, a.json["error"]["message"])
        self.assertEqual(self.call("GET", "/api/v1/logs", auth="").status, 401)

    def test_stream_shows_a_delivery_as_it_happens(self):
        s = self.stream()
        self.assertEqual(s.resp.status, 200)
        self.assertTrue(s.resp.getheader("Content-Type").startswith("text/event-stream"))
        self.assertIsNone(s.resp.getheader("Content-Length"))
        self.assertEqual(s.resp.getheader("Cache-Control"), "no-store")
        self.send()
        seen = s.logs_until(lambda l: "delivered to bob@tern.test" in l["text"])
        self.assertTrue(any(l["protocol"] == "smtp" for l in seen), seen)
        ids = [l["id"] for l in seen]
        self.assertEqual(ids, sorted(set(ids)))  # in order, none twice

    def test_stream_filters(self):
        s = self.stream("?protocol=queue&q=bob%40tern.test")
        warn = self.stream("?level=warn")
        self.send()
        seen = s.logs_until(lambda l: "delivered to bob@tern.test" in l["text"])
        self.assertTrue(all(l["protocol"] == "queue" and "bob@tern.test" in l["text"] for l in seen), seen)
        # A broken file in pending/ makes a warning; the delivery's info lines never reached `warn`.
        import os
        with open(os.path.join(self.t.data, "mail", "pending", "broken.eml"), "wb") as f:
            f.write(b"\x00 no envelope\r\n")
        seen = warn.logs_until(lambda l: "broken.eml" in l["text"])
        self.assertTrue(all(l["level"] in ("warn", "error") for l in seen), seen)
        a = self.call("GET", "/api/v1/logs/stream?level=chatty")
        self.assertEqual(a.status, 400)
        self.assertIn("level", a.json["error"]["message"])

    def test_last_event_id_resumes_from_the_ring(self):
        self.send()
        self.t.wait_for_messages("bob@tern.test", 1)
        lines = self.search("?limit=1000")
        start = lines[len(lines) // 2]["id"]
        s = self.stream(headers={"Last-Event-ID": str(start)})
        e = s.event()
        self.assertEqual(e[0], "log")
        self.assertEqual(e[1], start + 1)
        after = s.logs_until(lambda l: l["id"] == lines[-1]["id"])
        self.assertEqual([start + 1] + [l["id"] for l in after], [l["id"] for l in lines if l["id"] > start])
        a = self.call("GET", "/api/v1/logs/stream", headers={"Last-Event-ID": "abc"})
        self.assertEqual(a.status, 400)

    def test_last_event_id_of_an_earlier_run(self):
        # A console that reconnects after a restart sends the last id it saw of the earlier run: it
        # gets this run's lines from the first (ids count from the start time, so they are greater).
        self.send()
        self.t.wait_for_messages("bob@tern.test", 1)
        old = self.search("?limit=1")[-1]["id"]
        self.assertEqual(self.t.stop(), 0)
        self.t.start()
        first = self.search("?limit=10000")[0]
        self.assertGreater(first["id"], old)
        s = self.stream(headers={"Last-Event-ID": str(old)})
        e = s.event()
        self.assertEqual((e[0], e[1]), ("log", first["id"]), e)

    def test_console_session_cookie_and_no_login(self):
        c = self.conn()
        c.request("POST", "/api/v1/session", body=json.dumps({"address": ADMIN, "password": PASSWORD}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 201)
        cookie = r.getheader("Set-Cookie").split(";")[0]
        c.close()
        s = self.stream(headers={"Authorization": None, "Cookie": cookie})
        self.assertEqual(s.resp.status, 200)
        self.send()
        s.logs_until(lambda l: "delivered to bob@tern.test" in l["text"])
        nobody = self.call("GET", "/api/v1/logs/stream", auth="")
        self.assertEqual(nobody.status, 401)
        self.assertEqual(self.call("GET", "/api/v1/logs/stream", headers={"Cookie": "tern_session=forged"}, auth="").status, 401)

    def https_open(self):
        return self.call("GET", "/api/v1/stats").json["connections"]["http"]  # https counts as http

    def test_client_that_leaves_frees_its_connection(self):
        base = self.https_open()
        streams = [Stream(self) for _ in range(3)]
        for s in streams:
            self.assertEqual(s.resp.status, 200)
        self.assertEqual(self.https_open(), base + 3)
        for s in streams:
            s.close()
        deadline = time.monotonic() + WAIT
        while self.https_open() != base and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.https_open(), base)

    def test_a_client_that_does_not_read_gets_dropped_lines(self):
        s = self.stream(rcvbuf=4096)
        self.assertEqual(s.resp.status, 200)
        # Many log lines while the stream's client reads nothing: the server answers all the same.
        # 20,000 lines of ~300 octets are more than the socket buffers hold (the server's send buffer
        # grows to 4 MiB on Linux), so the subscriber's queue fills up.
        c = self.conn()
        path = "/api/v1/healthcheck-" + "x" * 150
        started = time.monotonic()
        for i in range(20000):
            c.request("GET", f"/healthz?{i}-{path}")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()
        self.assertLess(time.monotonic() - started, WAIT * 4)  # a bound on a hang only
        dropped = 0
        while dropped == 0:
            e = s.event()
            self.assertIsNotNone(e, "the stream ended before a dropped event")
            if e[0] == "dropped":
                dropped = json.loads(e[2])["count"]
        self.assertGreater(dropped, 0)

    def test_shutdown_ends_streams(self):
        s = self.stream()
        self.assertEqual(s.resp.status, 200)
        started = time.monotonic()
        code = self.t.stop()
        self.assertEqual(code, 0)
        # The stream ends (EOF) rather than hanging; lines logged during the stop may come first.
        while True:
            e = s.event()
            if e is None:
                break
        self.assertLess(time.monotonic() - started, WAIT)


class KeepaliveTest(HttpCase):
    """Keep-alive comments come every 15 s when nothing is logged."""

    def test_keepalive_comment(self):
        s = Stream(self, "?q=never%20matches")  # the request line logs it encoded
        self.addCleanup(s.close)
        e = s.event(timeout=40)
        self.assertEqual(e, ("comment", None, "keepalive"))


if __name__ == "__main__":
    main()
