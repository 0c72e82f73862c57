"""The live log's event stream in a real browser: headless Chromium logs in to the console (its session
cookie, HttpOnly, which a page's script cannot read) and opens `new EventSource("/api/v1/logs/stream")`,
which sends the cookie by itself; an SMTP delivery's lines arrive as `log` events. Also: the console's
assets came gzipped (Chromium asks for gzip). Waits on conditions only."""

import json
import smtplib

import test_console
from harness import HOST, WAIT, main, make_message, unique


class LiveLogBrowserTest(test_console.ConsoleTest):
    test_console = None  # the console walk is test_console.py's

    def test_event_source_with_the_session_cookie(self):
        self.log_in()
        self.browser.execute_script("""
            window.__events = []; window.__errors = 0;
            const es = new EventSource('/api/v1/logs/stream?protocol=queue');
            es.addEventListener('log', e => window.__events.push(JSON.parse(e.data)));
            es.onerror = () => { window.__errors += 1; };
            window.__es = es;""")
        self.wait(lambda b: b.execute_script("return window.__es.readyState") == 1, "the stream never opened")
        subject = unique("browser")
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.sendmail("alice@example.test", ["bob@tern.test"],
                       make_message("alice@example.test", "bob@tern.test", subject))
        events = self.wait(
            lambda b: (lambda ev: ev if any("delivered to bob@tern.test" in e["text"] for e in ev) else None)(
                b.execute_script("return window.__events")),
            "the delivery's line never arrived in the browser")
        self.assertTrue(all(e["protocol"] == "queue" for e in events), json.dumps(events))
        self.assertEqual(self.browser.execute_script("return window.__errors"), 0)
        # The console's script and style came gzipped (Chromium sends Accept-Encoding: gzip).
        encodings = self.browser.execute_script(
            "return performance.getEntriesByType('resource').filter(r => r.name.includes('/admin/app-'))"
            ".map(r => [r.name, r.encodedBodySize, r.decodedBodySize])")
        self.assertEqual(len(encodings), 2, encodings)
        for name, encoded, decoded in encodings:
            self.assertLess(encoded, decoded, name)
        self.browser.execute_script("window.__es.close()")


if __name__ == "__main__":
    main()
