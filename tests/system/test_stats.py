"""GET /api/v1/stats (the console's dashboard): the shape agreed for the console, messages received
by SMTP counted at once in the current bucket, the counts kept in data_dir/stats.db across a restart,
open connections per listener, disk, lost+found, the newest warnings; and the open-connections
gauge of /metrics. Real binary, Python's http.client and smtplib, loopback only."""

import json
import os
import re
import smtplib
import socket
import sqlite3
import time

from harness import HOST, WAIT, RawSMTP, main, make_message, unique
from test_http import ADMIN, HttpCase

SERIES = ("received", "delivered", "deferred", "bounced", "rejected", "junk", "quarantined")


class StatsTest(HttpCase):
    def send(self, n=1, rcpt="bob@tern.test"):
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            for _ in range(n):
                s.sendmail("alice@example.test", [rcpt], make_message("alice@example.test", rcpt, unique("stats")))

    def stats(self, query=""):
        a = self.call("GET", "/api/v1/stats" + query)
        self.assertEqual(a.status, 200, a)
        return a.json

    def wait_stats(self, cond, query=""):
        deadline = time.monotonic() + WAIT
        while True:
            s = self.stats(query)
            if cond(s) or time.monotonic() > deadline:
                return s
            time.sleep(0.05)

    def test_shape_of_each_range(self):
        for name, step, n in (("hour", 60, 60), ("day", 900, 96), ("month", 86400, 30)):
            s = self.stats(f"?range={name}")
            self.assertEqual(s["range"], name)
            self.assertEqual(s["step"], step)
            now = time.time()
            self.assertEqual(s["end"] % step, 0)
            self.assertTrue(s["end"] - step <= now + 1 < s["end"] + step, (s["end"], now))
            self.assertEqual(sorted(s["series"]), sorted(SERIES))
            for k in SERIES:
                self.assertEqual(len(s["series"][k]), n, k)
            self.assertIsInstance(s["queue"]["messages"], int)
            self.assertEqual(set(s["connections"]), {"smtp", "http"})  # kinds: https counts as http
            self.assertGreater(s["disk"]["total"], 0)
            self.assertGreaterEqual(s["disk"]["total"], s["disk"]["free"])
            self.assertEqual(s["lost_found"], 0)
            self.assertIsInstance(s["last_errors"], list)
        self.assertEqual(self.stats()["range"], "hour")  # the default

    def test_bad_range_is_invalid(self):
        a = self.call("GET", "/api/v1/stats?range=week")
        self.assertEqual(a.status, 400)
        self.assertEqual(a.json["error"]["code"], "invalid")
        self.assertIn("range", a.json["error"]["message"])
        self.assertEqual(self.call("GET", "/api/v1/stats", auth="").status, 401)

    def test_received_and_delivered_count_now_and_survive_a_restart(self):
        self.send(3)
        self.t.wait_for_messages("bob@tern.test", 3)
        s = self.wait_stats(lambda s: s["series"]["delivered"][-1] + s["series"]["delivered"][-2] >= 3)
        hour = s["series"]
        self.assertEqual(hour["received"][-1] + hour["received"][-2], 3)
        self.assertEqual(hour["delivered"][-1] + hour["delivered"][-2], 3)
        self.assertEqual(sum(hour["bounced"]), 0)
        day = self.stats("?range=day")["series"]
        self.assertEqual(sum(day["received"]), 3)
        # A clean stop writes the last counts; the new process shows them in its graphs.
        self.t.stop()
        db = sqlite3.connect(os.path.join(self.t.data, "stats.db"))
        rows = db.execute("SELECT step, SUM(received) FROM buckets GROUP BY step ORDER BY step").fetchall()
        db.close()
        self.assertEqual(rows, [(60, 3), (900, 3), (86400, 3)])
        self.t.start()
        self.send(1)
        s = self.wait_stats(lambda s: sum(s["series"]["received"]) >= 4, "?range=month")
        self.assertEqual(sum(s["series"]["received"]), 4)

    def test_written_every_minute_while_running(self):
        """The sample just after each minute's end lands in stats.db while the server runs (this test
        waits for the next minute's end, or the one after when the two sends straddle one)."""
        self.send(2)
        path = os.path.join(self.t.data, "stats.db")
        deadline = time.monotonic() + 135
        sums = []
        while time.monotonic() < deadline:
            db = sqlite3.connect(path)
            try:
                sums = db.execute("SELECT step, SUM(received), MIN(start) FROM buckets GROUP BY step ORDER BY step").fetchall()
            finally:
                db.close()
            if sums and sums[0][1] == 2:
                break
            time.sleep(0.5)
        self.assertTrue(self.t.running())
        self.assertEqual([(step, received) for step, received, _ in sums], [(60, 2), (900, 2), (86400, 2)])
        for step, _, start in sums:
            self.assertEqual(start % step, 0)
        self.assertLess(time.time() - sums[0][2], 240)
        # Written, not counted twice: the API shows the two messages once.
        self.assertEqual(sum(self.stats()["series"]["received"]), 2)

    def test_open_connections_lost_found_and_warnings(self):
        held = [socket.create_connection((HOST, self.t.ports["smtp"]), timeout=WAIT) for _ in range(2)]
        try:
            for c in held:
                self.assertTrue(c.recv(512).startswith(b"220"))
            s = self.stats()
            self.assertEqual(s["connections"]["smtp"], 2)
            self.assertGreaterEqual(s["connections"]["http"], 1)  # this very request, on https
            metrics = self.call("GET", "/metrics").raw.decode()
            self.assertIn('tern_connections_open{listener="smtp"} 2\n', metrics)
            self.assertIn("# TYPE tern_connections_open gauge\n", metrics)
        finally:
            for c in held:
                c.close()
        self.wait_stats(lambda s: s["connections"]["smtp"] == 0)
        self.assertEqual(self.stats()["connections"]["smtp"], 0)
        # A broken file in pending/ goes to lost+found, with a warning in the log.
        lf = os.path.join(self.t.data, "mail", "lost+found")
        with open(os.path.join(self.t.data, "mail", "pending", "broken.eml"), "wb") as f:
            f.write(b"\x00\x01 this is no envelope\r\n")
        # (the warning is logged just after the move)
        s = self.wait_stats(lambda s: s["lost_found"] == 1 and any("broken.eml" in e["text"] for e in s["last_errors"]))
        self.assertEqual(s["lost_found"], 1, os.listdir(lf) if os.path.isdir(lf) else None)
        self.assertTrue(s["last_errors"], s)
        newest = s["last_errors"][0]
        self.assertIn(newest["level"], ("warn", "error"))
        self.assertTrue(abs(newest["time"] - time.time()) < 600)
        self.assertTrue(any("broken.eml" in e["text"] for e in s["last_errors"]), s["last_errors"])
        times = [e["time"] for e in s["last_errors"]]
        self.assertEqual(times, sorted(times, reverse=True))


class RejectedTest(HttpCase):
    EXTRA = "[limits]\nmax_message_size = 2048\n"

    def test_message_refused_at_the_end_of_data_is_counted(self):
        smtp = RawSMTP(self.t.ports["smtp"])
        smtp.greeting()
        smtp.ehlo()
        self.assertEqual(smtp.cmd("MAIL FROM:<alice@example.test>")[0], 250)
        self.assertEqual(smtp.cmd("RCPT TO:<bob@tern.test>")[0], 250)
        self.assertEqual(smtp.cmd("DATA")[0], 354)
        smtp.send(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" + (b"y" * 70 + b"\r\n") * 100 + b".\r\n")
        code, _ = smtp.reply()
        self.assertEqual(code, 552)
        smtp.close()
        s = self.stats()
        self.assertEqual(s["series"]["rejected"][-1] + s["series"]["rejected"][-2], 1)
        self.assertEqual(sum(s["series"]["received"]), 0)
        self.assertEqual(sum(self.stats("?range=month")["series"]["rejected"]), 1)

    stats = StatsTest.stats


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_exposition(text):
    """Prometheus text format 0.0.4: {name: type} and [(name, labels, value)]; fails on a bad line."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((name, labels, float(m.group(4))))
    return types, samples


class HistogramTest(HttpCase):
    def test_latency_histograms_in_metrics(self):
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.sendmail("alice@example.test", ["bob@tern.test"],
                       make_message("alice@example.test", "bob@tern.test", unique("hist")))
        self.t.wait_for_messages("bob@tern.test", 1)
        self.assertEqual(self.call("GET", "/api/v1/stats").status, 200)
        a = self.call("GET", "/metrics")
        self.assertEqual(a.status, 200)
        types, samples = parse_exposition(a.raw.decode())
        self.assertTrue(all(name.startswith("tern_") for name, _, _ in samples))
        for h in ("tern_smtp_transaction_seconds", "tern_delivery_attempt_seconds", "tern_http_request_seconds"):
            self.assertEqual(types.get(h), "histogram", h)
            buckets = [(l["le"], v) for n, l, v in samples if n == h + "_bucket"]
            les = [le for le, _ in buckets]
            self.assertEqual(les[-1], "+Inf")
            self.assertEqual([float(x) for x in les[:-1]], sorted(float(x) for x in les[:-1]))
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts), f"{h}: buckets must be cumulative")
            count = [v for n, _, v in samples if n == h + "_count"]
            total = [v for n, _, v in samples if n == h + "_sum"]
            self.assertEqual(count, [counts[-1]])
            self.assertGreaterEqual(count[0], 1, h)
            self.assertEqual(len(total), 1)
            self.assertGreater(total[0], 0, h)
            self.assertLess(total[0], 3600, h)


if __name__ == "__main__":
    main()
