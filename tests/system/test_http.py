"""The HTTP service and the JSON API (issue 15), against the real binary with Python's http.client and
ssl: health on both listeners, the redirect to HTTPS, the security headers, /metrics, every /api/v1
endpoint with its errors as JSON, paging, authentication (Basic through the shared Authenticator,
API tokens, their revocation), the administrator role, the limits on headers, bodies and slow
clients, and a message sent by SMTP that stays queued (its route leads to a closed loopback port)
held and released through the API.

Every address is on 127.0.0.0/8."""

import base64
import http.client
import json
import os
import signal
import smtplib
import socket
import time

from harness import (HOST, PASSWORD, WAIT, RawSMTP, TernTestCase, free_port, main, make_message, tls_context, unique)

ADMIN = "admin@tern.test"
CSP = ("default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")


def basic(user, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Answer:
    def __init__(self, resp):
        self.status = resp.status
        self.headers = resp.headers
        self.raw = resp.read()
        ctype = resp.headers.get("Content-Type", "")
        self.json = json.loads(self.raw) if ctype.startswith("application/json") and self.raw else None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class HttpCase(TernTestCase):
    """A server with smtp, http and https, an administrator, and remote mail routed to a dead port."""
    EXTRA = ""
    SERVICES = ("smtp", "http", "https")

    def setUp(self):
        self.dead = free_port()  # nothing listens there: remote mail stays queued
        route = f'[[route]]\nmatch = "*"\nrelay = "127.0.0.1:{self.dead}"\ntls = "none"\nretry = ["1h"]\n'
        self.t = self.make_server(users=("bob@tern.test",), services=self.SERVICES,
                                  allow_plaintext=True, extra_toml=route + self.EXTRA)
        self.t.cli_ok("user", "add", ADMIN, "--admin", input=PASSWORD + "\n")

    # -- helpers -----------------------------------------------------------------------------------

    def conn(self, listener="https"):
        port = self.t.ports[listener]
        if listener == "https":
            return http.client.HTTPSConnection(HOST, port, context=tls_context(), timeout=WAIT)
        return http.client.HTTPConnection(HOST, port, timeout=WAIT)

    def call(self, method, path, body=None, auth=None, headers=None, listener="https", conn=None):
        """One request; `auth`: an Authorization value (default: the administrator's Basic), "" for none."""
        h = dict(headers or {})
        auth = basic(ADMIN) if auth is None else auth
        if auth:
            h["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, (bytes, str)) else body
            h.setdefault("Content-Type", "application/json")
        elif method == "POST":
            h.setdefault("Content-Type", "application/json")
        c = conn or self.conn(listener)
        try:
            c.request(method, path, body=data, headers=h)
            return Answer(c.getresponse())
        finally:
            if conn is None:
                c.close()

    def assertError(self, answer, status, code):
        self.assertEqual(answer.status, status, answer)
        self.assertEqual(answer.headers.get("Content-Type"), "application/json", answer)
        self.assertEqual(set(answer.json), {"error"}, answer)
        self.assertEqual(answer.json["error"]["code"], code, answer)
        self.assertIsInstance(answer.json["error"]["message"], str)
        self.assertTrue(answer.json["error"]["message"])

    def send_remote(self, subject, rcpt="carol@far.test"):
        msg = make_message("bob@tern.test", rcpt, subject)
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.login("bob@tern.test", PASSWORD)
            self.assertEqual(s.sendmail("bob@tern.test", [rcpt], msg), {})

    def wait_queued(self, n):
        """Waits until the API lists `n` messages whose recipient was tried once (deferred)."""
        deadline = time.monotonic() + WAIT
        while True:
            a = self.call("GET", "/api/v1/queue")
            self.assertEqual(a.status, 200, a)
            if len(a.json) >= n and all(r["attempts"] >= 1 for q in a.json for r in q["recipients"]):
                return a.json
            if time.monotonic() > deadline:
                self.fail(f"the queue never held {n} deferred message(s): {a.json}")
            time.sleep(0.05)

    def audit(self):
        with open(os.path.join(self.t.data, "audit.log"), encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    # -- the service -------------------------------------------------------------------------------


class HttpTest(HttpCase):
    def test_healthz_on_both_listeners(self):
        for listener in ("http", "https"):
            a = self.call("GET", "/healthz", auth="", listener=listener)
            self.assertEqual((a.status, a.raw), (200, b"ok\n"), listener)
            self.assertTrue(a.headers["Content-Type"].startswith("text/plain"))

    def test_http_redirects_to_https_except_health_and_well_known(self):
        a = self.call("GET", "/api/v1/users?x=1", auth="", listener="http")
        self.assertEqual(a.status, 308, a)
        self.assertEqual(a.headers["Location"], f"https://{HOST}:{self.t.ports['https']}/api/v1/users?x=1")
        a = self.call("POST", "/api/v1/queue/retry", auth="", listener="http", headers={"Host": "mail.example.test"})
        self.assertEqual((a.status, a.headers["Location"]),
                         (308, f"https://mail.example.test:{self.t.ports['https']}/api/v1/queue/retry"))
        # a Host that is not a plain name: the configured hostname instead
        a = self.call("GET", "/", auth="", listener="http", headers={"Host": "evil.test/x@y"})
        self.assertEqual(a.headers["Location"], f"https://mx.tern.test:{self.t.ports['https']}/")
        # /.well-known/ is answered on http itself (nothing is published there yet)
        self.assertError(self.call("GET", "/.well-known/mta-sts.txt", auth="", listener="http"), 404, "not_found")

    def test_security_headers_on_every_response(self):
        answers = {
            "https ok": self.call("GET", "/api/v1/users"),
            "https error": self.call("GET", "/nowhere", auth=""),
            "https 401": self.call("GET", "/api/v1/users", auth=""),
            "http health": self.call("GET", "/healthz", auth="", listener="http"),
            "http redirect": self.call("GET", "/x", auth="", listener="http"),
        }
        for name, a in answers.items():
            self.assertEqual(a.headers["Content-Security-Policy"], CSP, name)
            self.assertEqual(a.headers["X-Frame-Options"], "DENY", name)
            self.assertEqual(a.headers["Referrer-Policy"], "no-referrer", name)
            self.assertEqual(a.headers["X-Content-Type-Options"], "nosniff", name)
            self.assertEqual(a.headers["Cache-Control"], "no-store", name)
            if name.startswith("https"):
                self.assertEqual(a.headers["Strict-Transport-Security"], "max-age=31536000", name)
            else:
                self.assertIsNone(a.headers["Strict-Transport-Security"], name)

    def test_keep_alive_and_pipelining(self):
        c = self.conn()
        for _ in range(3):
            self.assertEqual(self.call("GET", "/api/v1/domains", conn=c).status, 200)
        c.close()
        self.t.wait_for_log("GET /api/v1/domains 200")
        # two requests in one write: two answers, in order
        with tls_context().wrap_socket(socket.create_connection((HOST, self.t.ports["https"]), timeout=WAIT),
                                       server_hostname="mx.tern.test") as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 "), 2, data)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data)
        self.assertIn(b"HTTP/1.1 404 Not Found\r\n", data)

    def test_metrics(self):
        self.send_remote(unique("metrics"))
        self.wait_queued(1)
        # Refusals: an unknown recipient (RCPT) and a whole message (a bare LF, refused at its end).
        c = RawSMTP(self.t.ports["smtp"])
        c.greeting()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<x@shop.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<nobody@tern.test>")[0], 550)
        self.assertEqual(c.cmd("RCPT TO:<bob@tern.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: x\r\n\r\nbare\nline\r\n.\r\n")
        self.assertEqual(c.reply()[0], 554)
        c.sock.close()
        a = self.call("GET", "/metrics", auth="")
        self.assertEqual(a.status, 200, a)
        self.assertTrue(a.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        text = a.raw.decode()
        values = {}
        for line in text.splitlines():
            if line.startswith("#"):
                self.assertRegex(line, r"^# (HELP|TYPE) tern_\w+ ")
                continue
            name, value = line.rsplit(" ", 1)
            self.assertTrue(name.startswith("tern_"), line)
            values[name] = float(value)
        self.assertEqual(values["tern_messages_received_total"], 1)
        self.assertEqual(values["tern_messages_deferred_total"], 1)
        self.assertEqual(values["tern_messages_delivered_total"], 0)
        self.assertEqual(values["tern_queue_messages"], 1)
        self.assertGreaterEqual(values['tern_connections_total{listener="smtp"}'], 1)
        self.assertEqual(values['tern_smtp_rejects_total{command="RCPT"}'], 1)
        self.assertEqual(values['tern_smtp_rejects_total{command="DATA"}'], 1)
        self.assertEqual(values["tern_messages_rejected_total"], 1)
        self.assertEqual(values["tern_messages_junk_total"], 0)
        self.assertEqual(values["tern_messages_quarantined_total"], 0)
        self.assertGreaterEqual(values['tern_connections_total{listener="https"}'], 1)
        # /metrics is an https page: http redirects it
        self.assertEqual(self.call("GET", "/metrics", auth="", listener="http").status, 308)

    # -- authentication and errors -----------------------------------------------------------------

    def test_authentication_required(self):
        a = self.call("GET", "/api/v1/users", auth="")
        self.assertError(a, 401, "unauthorized")
        self.assertIn("Basic", a.headers["WWW-Authenticate"])
        self.assertIn("Bearer", a.headers["WWW-Authenticate"])
        self.assertError(self.call("GET", "/api/v1/nothing", auth=""), 401, "unauthorized")  # before routing
        self.assertError(self.call("GET", "/api/v1/users", auth="Digest x"), 401, "unauthorized")
        self.assertError(self.call("GET", "/api/v1/users", auth="Basic !!!"), 401, "unauthorized")
        self.assertError(self.call("GET", "/api/v1/users", auth=basic(ADMIN, "wrong")), 401, "unauthorized")
        # through the Authenticator shared with IMAP, POP3 and SMTP AUTH (its throttle, its log line)
        self.assertRegex(self.t.log(), r"http \S+: BASIC login failed for 'admin@tern\.test' from 127\.0\.0\.1")

    def test_non_admin_refused(self):
        self.assertError(self.call("GET", "/api/v1/users", auth=basic("bob@tern.test")), 403, "forbidden")
        self.assertError(self.call("POST", "/api/v1/domains", {"name": "x.test"}, auth=basic("bob@tern.test")),
                         403, "forbidden")
        self.t.cli_ok("user", "admin", "bob@tern.test")
        self.assertEqual(self.call("GET", "/api/v1/users", auth=basic("bob@tern.test")).status, 200)
        self.t.cli_ok("user", "admin", "bob@tern.test", "--off")
        self.assertError(self.call("GET", "/api/v1/users", auth=basic("bob@tern.test")), 403, "forbidden")

    def test_api_tokens_and_revocation(self):
        r = self.t.cli_ok("token", "add", ADMIN, "--name", "backup script")
        token = r.stdout.strip()
        self.assertRegex(token, r"^tern_[0-9a-f]{64}$")
        a = self.call("GET", "/api/v1/domains", auth="Bearer " + token)
        self.assertEqual((a.status, a.json), (200, [{"name": "tern.test"}]))
        # only the hash is stored
        with open(os.path.join(self.t.data, "tern.db"), "rb") as f:
            self.assertNotIn(token.encode(), f.read())
        listed = json.loads(self.t.cli_ok("token", "list", "--json").stdout)
        self.assertEqual([(t["address"], t["name"], t["scope"], t["revoked"]) for t in listed],
                         [(ADMIN, "backup script", "admin", 0)])
        # a change made with the token is audited under its id
        self.assertEqual(self.call("POST", "/api/v1/domains", {"name": "tok.test"}, auth="Bearer " + token).status, 201)
        self.assertEqual(self.audit()[-1]["who"], f"{ADMIN} (token {listed[0]['id']})")
        self.t.cli_ok("token", "revoke", str(listed[0]["id"]))
        self.assertError(self.call("GET", "/api/v1/domains", auth="Bearer " + token), 401, "unauthorized")
        self.assertNotEqual(json.loads(self.t.cli_ok("token", "list", "--json").stdout)[0]["revoked"], 0)
        self.assertError(self.call("GET", "/api/v1/domains", auth="Bearer tern_" + "0" * 64), 401, "unauthorized")
        # a token for someone who is not an administrator is refused at creation
        r = self.t.cli("token", "add", "bob@tern.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not an administrator", r.stderr)

    def test_errors_are_json(self):
        self.assertError(self.call("GET", "/api/v1/nothing"), 404, "not_found")
        self.assertError(self.call("GET", "/elsewhere"), 404, "not_found")
        a = self.call("PUT", "/api/v1/users", {})
        self.assertError(a, 405, "method_not_allowed")
        self.assertEqual(a.headers["Allow"], "GET, HEAD, POST")
        self.assertError(self.call("POST", "/api/v1/domains", "name=x", headers={"Content-Type": "text/plain"}),
                         415, "unsupported_media_type")
        self.assertError(self.call("POST", "/api/v1/domains", b"{not json"), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/domains", b"[1]"), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/domains", {"name": 7}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/domains", {"name": "a.test", "extra": 1}), 400, "invalid")

    def test_oversized_header_and_body(self):
        def raw(data):
            with tls_context().wrap_socket(socket.create_connection((HOST, self.t.ports["https"]), timeout=WAIT),
                                           server_hostname="mx.tern.test") as s:
                s.sendall(data)
                out = b""
                while chunk := s.recv(65536):
                    out += chunk
            return out
        big = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n")
        self.assertTrue(big.startswith(b"HTTP/1.1 431 "), big[:200])
        self.assertIn(b'"code":"header_too_large"', big)
        auth = basic(ADMIN).encode()
        body = raw(b"POST /api/v1/domains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: " +
                   auth + b"\r\nContent-Length: 2000000\r\n\r\n{")
        self.assertTrue(body.startswith(b"HTTP/1.1 413 "), body[:200])
        self.assertIn(b'"code":"too_large"', body)
        # the whole body sent: answered all the same (the server reads and drops the rest)
        a = self.call("POST", "/api/v1/domains", b'{"name": "' + b"x" * (1 << 21) + b'"}')
        self.assertError(a, 413, "too_large")
        # just under the limit is parsed (and refused for what it says)
        a = self.call("POST", "/api/v1/domains", {"name": "y" * 1000000})
        self.assertError(a, 400, "invalid")
        self.assertEqual(self.call("GET", "/api/v1/domains").json, [{"name": "tern.test"}])

    # -- directory endpoints -------------------------------------------------------------------------

    def test_users(self):
        a = self.call("GET", "/api/v1/users")
        self.assertEqual(a.status, 200, a)
        extra = {"enabled": True, "own_quota": None}  # docs/api.md "A user"
        self.assertEqual(a.json, [{"address": ADMIN, "admin": True, "quota": 0, **extra},
                                  {"address": "bob@tern.test", "admin": False, "quota": 0, **extra}])
        a = self.call("POST", "/api/v1/users", {"address": "Carol@tern.test", "password": "pw-carol"})
        self.assertEqual((a.status, a.json), (201, {"address": "carol@tern.test", "admin": False, "quota": 0, **extra}))
        # the same directory as the command line; the new user logs in (SMTP AUTH), is no administrator
        self.assertIn("carol@tern.test", self.t.cli_ok("user", "list").stdout.split())
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.login("carol@tern.test", "pw-carol")
        self.assertError(self.call("GET", "/api/v1/users", auth=basic("carol@tern.test", "pw-carol")), 403, "forbidden")
        a = self.call("POST", "/api/v1/users", {"address": "dave@tern.test", "password": "pw-dave", "admin": True})
        self.assertEqual(a.json["admin"], True)
        self.assertEqual(self.call("GET", "/api/v1/users", auth=basic("dave@tern.test", "pw-dave")).status, 200)
        self.assertError(self.call("POST", "/api/v1/users", {"address": "carol@tern.test", "password": "x"}), 409, "exists")
        self.assertError(self.call("POST", "/api/v1/users", {"address": "no-at-sign", "password": "x"}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/users", {"address": "e@nowhere.test", "password": "x"}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/users", {"address": "e@tern.test"}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/users", {"address": "e@tern.test", "password": ""}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/users", {"address": "e@tern.test", "password": "x", "admin": "yes"}),
                         400, "invalid")
        a = self.call("DELETE", "/api/v1/users/carol@tern.test")
        self.assertEqual(a.status, 200, a)
        self.assertIn("deleted mailbox carol@tern.test", a.json["result"])
        self.assertError(self.call("DELETE", "/api/v1/users/carol@tern.test"), 404, "not_found")
        self.assertError(self.call("DELETE", "/api/v1/users/bob@tern.test?purge=maybe"), 400, "invalid")
        self.assertNotIn("carol@tern.test", self.t.cli_ok("user", "list").stdout.split())
        audit = [(e["who"], e["ip"], e["action"], e["target"], e["result"]) for e in self.audit()]
        self.assertEqual(audit[:3], [(ADMIN, HOST, "user.add", "Carol@tern.test", "ok"),
                                     (ADMIN, HOST, "user.add", "dave@tern.test", "ok"),
                                     (ADMIN, HOST, "user.add", "carol@tern.test", "exists")])
        self.assertIn((ADMIN, HOST, "user.delete", "carol@tern.test", "ok"), audit)
        self.assertIn((ADMIN, HOST, "user.delete", "carol@tern.test", "not_found"), audit)
        for e in self.audit():
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_domains_aliases_archives(self):
        self.assertEqual(self.call("POST", "/api/v1/domains", {"name": "Example.TEST"}).json, {"name": "example.test"})
        self.assertError(self.call("POST", "/api/v1/domains", {"name": "example.test"}), 409, "exists")
        self.assertError(self.call("POST", "/api/v1/domains", {"name": "bad domain"}), 400, "invalid")
        self.assertEqual(self.call("GET", "/api/v1/domains").json, [{"name": "example.test"}, {"name": "tern.test"}])
        self.assertIn("example.test", self.t.cli_ok("domain", "list").stdout.split())
        a = self.call("POST", "/api/v1/aliases", {"address": "info@example.test", "targets": ["bob@tern.test", "x@far.test"]})
        self.assertEqual((a.status, a.json), (201, {"address": "info@example.test", "targets": ["bob@tern.test", "x@far.test"]}))
        self.assertError(self.call("POST", "/api/v1/aliases", {"address": "i@example.test", "targets": "bob@tern.test"}),
                         400, "invalid")
        self.assertError(self.call("POST", "/api/v1/aliases", {"address": "i@example.test", "targets": []}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/aliases", {"address": "bob@tern.test", "targets": ["x@far.test"]}),
                         409, "exists")
        self.assertEqual(self.call("GET", "/api/v1/aliases").json,
                         json.loads(self.t.cli_ok("alias", "list", "--json").stdout))
        self.assertEqual(self.call("POST", "/api/v1/archives", {"address": "log@example.test"}).status, 201)
        self.assertEqual(self.call("GET", "/api/v1/archives").json, [{"address": "log@example.test"}])
        self.assertError(self.call("DELETE", "/api/v1/domains/example.test"), 409, "conflict")  # it has an archive
        self.assertEqual(self.call("DELETE", "/api/v1/archives/log@example.test").status, 200)
        self.assertEqual(self.call("DELETE", "/api/v1/aliases/info@example.test").status, 200)
        self.assertError(self.call("DELETE", "/api/v1/aliases/info@example.test"), 404, "not_found")
        self.assertEqual(self.call("DELETE", "/api/v1/domains/example.test").status, 200)
        self.assertError(self.call("DELETE", "/api/v1/domains/example.test"), 404, "not_found")
        actions = [e["action"] for e in self.audit() if e["result"] == "ok"]
        self.assertEqual(actions, ["domain.add", "alias.add", "archive.add", "archive.delete", "alias.delete",
                                   "domain.delete"])

    # -- the queue -----------------------------------------------------------------------------------

    def test_queue_list_paging_hold_release(self):
        subjects = [unique("q1"), unique("q2"), unique("q3")]
        for s in subjects:
            self.send_remote(s)
        listed = self.wait_queued(3)
        self.assertEqual(listed, json.loads(self.t.cli_ok("queue", "list", "--json").stdout))
        q = listed[0]
        self.assertEqual(set(q), {"id", "from", "arrived", "size", "held", "recipients"})
        self.assertEqual(q["from"], "bob@tern.test")
        self.assertEqual([(r["address"], r["state"]) for r in q["recipients"]], [("carol@far.test", "queued")])
        self.assertIn("Connection refused", q["recipients"][0]["last_error"])
        ids = [m["id"] for m in listed]
        # paging: total in X-Total-Count, pages in order
        pages = []
        for offset in (0, 2, 4):
            a = self.call("GET", f"/api/v1/queue?limit=2&offset={offset}")
            self.assertEqual(a.headers["X-Total-Count"], "3")
            pages.append([m["id"] for m in a.json])
        self.assertEqual(pages, [ids[:2], ids[2:], []])
        for bad in ("limit=0", "limit=1001", "limit=x", "offset=-1", "state=lost"):
            self.assertError(self.call("GET", f"/api/v1/queue?{bad}"), 400, "invalid")
        # one message
        a = self.call("GET", f"/api/v1/queue/{ids[0]}")
        self.assertEqual((a.status, a.json), (200, listed[0]))
        self.assertError(self.call("GET", "/api/v1/queue/nosuchid"), 404, "not_found")
        self.assertError(self.call("GET", "/api/v1/queue/..%2Ftern.db"), 404, "not_found")
        # hold and release
        a = self.call("POST", f"/api/v1/queue/{ids[1]}/hold")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json, {"result": f"{ids[1]} held"})
        self.assertError(self.call("POST", f"/api/v1/queue/{ids[1]}/hold"), 409, "conflict")
        a = self.call("GET", "/api/v1/queue?state=held")
        self.assertEqual(([m["id"] for m in a.json], a.json[0]["held"], a.headers["X-Total-Count"]), ([ids[1]], True, "1"))
        self.assertEqual(self.call("GET", "/api/v1/queue?state=queued").headers["X-Total-Count"], "2")
        cli = {m["id"]: m for m in json.loads(self.t.cli_ok("queue", "list", "--json").stdout)}
        self.assertEqual(cli[ids[1]]["recipients"][0]["state"], "held")
        self.assertError(self.call("POST", f"/api/v1/queue/{ids[1]}/retry"), 409, "conflict")  # held
        self.assertEqual(self.call("POST", f"/api/v1/queue/{ids[1]}/release").status, 200)
        self.assertEqual(self.call("GET", f"/api/v1/queue/{ids[1]}").json["recipients"][0]["state"], "queued")
        self.assertError(self.call("POST", f"/api/v1/queue/{ids[1]}/release"), 409, "conflict")
        # retry one, Clear Host Assignments, delete, unknown actions and ids
        self.assertEqual(self.call("POST", f"/api/v1/queue/{ids[0]}/retry").status, 200)
        a = self.call("POST", "/api/v1/queue/retry")
        self.assertEqual((a.status, a.json), (200, {"result": "3 message(s) rerouted and due now"}))
        self.t.wait_for_log("attempt=2")  # the retry did attempt again
        self.assertEqual(self.call("POST", f"/api/v1/queue/{ids[2]}/delete").status, 200)
        self.assertError(self.call("GET", f"/api/v1/queue/{ids[2]}"), 404, "not_found")
        self.assertError(self.call("POST", f"/api/v1/queue/{ids[2]}/hold"), 404, "not_found")
        self.assertError(self.call("POST", f"/api/v1/queue/{ids[0]}/explode"), 404, "not_found")
        self.assertError(self.call("GET", f"/api/v1/queue/{ids[0]}/hold"), 405, "method_not_allowed")
        self.assertEqual(self.call("GET", "/api/v1/queue").headers["X-Total-Count"], "2")
        actions = [(e["action"], e["target"], e["result"]) for e in self.audit()]
        self.assertEqual(actions, [("queue.hold", ids[1], "ok"), ("queue.hold", ids[1], "conflict"),
                                   ("queue.retry", ids[1], "conflict"), ("queue.release", ids[1], "ok"),
                                   ("queue.release", ids[1], "conflict"), ("queue.retry", ids[0], "ok"),
                                   ("queue.retry", "*", "ok"), ("queue.delete", ids[2], "ok"),
                                   ("queue.hold", ids[2], "not_found")])

    def test_bounce_through_api(self):
        self.send_remote(unique("bounce"))
        qid = self.wait_queued(1)[0]["id"]
        a = self.call("POST", f"/api/v1/queue/{qid}/bounce")
        self.assertEqual(a.status, 200, a)
        # the DSN goes back to bob (local), and the message leaves the queue
        self.t.wait_for_messages("bob@tern.test", 1)
        self.assertError(self.call("GET", f"/api/v1/queue/{qid}"), 404, "not_found")


class QuarantineApiTest(HttpCase):
    EXTRA = '[attachments]\naction = "quarantine"\n'

    def test_list_show_release_delete(self):
        def held_message(subject):
            head = make_message("news@shop.test", "bob@tern.test", subject, b"",
                                b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n")
            return head + (b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
                           b'Content-Disposition: attachment; filename="run.exe"\r\n\r\nMZ\r\n--b--\r\n')
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            for subject in ("first", "second"):
                self.assertEqual(s.sendmail("news@shop.test", ["bob@tern.test"], held_message(subject)), {})
        a = self.call("GET", "/api/v1/quarantine")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json, json.loads(self.t.cli_ok("quarantine", "list", "--json").stdout))
        self.assertEqual([h["why"] for h in a.json], ["attachments: run.exe (executable)"] * 2)
        first, second = (h["id"] for h in a.json)
        one = self.call("GET", f"/api/v1/quarantine/{first}")
        self.assertEqual((one.status, one.json["from"]), (200, "news@shop.test"))
        src = self.call("GET", f"/api/v1/quarantine/{first}?source=1")
        self.assertEqual(src.status, 200, src)
        self.assertTrue(src.headers["Content-Type"].startswith("text/plain"))
        self.assertIn(b"QUARANTINE: ", src.raw)
        self.assertEqual(self.call("POST", f"/api/v1/quarantine/{first}/release").status, 200)
        self.t.wait_for_messages("bob@tern.test", 1)
        self.assertEqual(self.call("POST", f"/api/v1/quarantine/{second}/delete").status, 200)
        self.assertEqual(self.call("GET", "/api/v1/quarantine").json, [])
        self.assertError(self.call("POST", f"/api/v1/quarantine/{second}/release"), 404, "not_found")
        self.assertError(self.call("POST", f"/api/v1/quarantine/{second}/keep"), 404, "not_found")
        self.assertError(self.call("GET", "/api/v1/quarantine/..%2Ftern"), 400, "invalid")
        self.assertError(self.call("GET", "/api/v1/quarantine", auth=""), 401, "unauthorized")
        audit = self.audit()
        self.assertIn("quarantine.release", [e.get("action") for e in audit])


class WellKnownTest(HttpCase):
    EXTRA = '[mta_sts]\nmode = "enforce"\nmax_age = "1d"\n'
    SERVICES = ("smtp", "http", "https", "imaps", "pop3", "submission")

    def test_mta_sts_and_autoconfig(self):
        for listener in ("http", "https"):  # both: RFC 8461 fetches over HTTPS, the http one is not redirected
            a = self.call("GET", "/.well-known/mta-sts.txt", auth="", listener=listener)
            self.assertEqual(a.status, 200, a)
            self.assertEqual(a.raw, b"version: STSv1\r\nmode: enforce\r\nmx: mx.tern.test\r\nmax_age: 86400\r\n")
            self.assertEqual(a.headers["Cache-Control"], "max-age=3600")
        a = self.call("GET", "/mail/config-v1.1.xml?emailaddress=bob%40tern.test", auth="")
        self.assertEqual(a.status, 200, a)
        self.assertTrue(a.headers["Content-Type"].startswith("application/xml"))
        import xml.etree.ElementTree as ET
        provider = ET.fromstring(a.raw).find("emailProvider")
        self.assertEqual(provider.get("id"), "tern.test")
        servers = {(s.tag, s.find("port").text, s.find("socketType").text) for s in provider
                   if s.tag in ("incomingServer", "outgoingServer")}
        self.assertEqual(servers, {("incomingServer", str(self.t.ports["imaps"]), "SSL"),
                                   ("incomingServer", str(self.t.ports["pop3"]), "STARTTLS"),
                                   ("outgoingServer", str(self.t.ports["submission"]), "STARTTLS")})
        for s in provider.iter("username"):
            self.assertEqual(s.text, "%EMAILADDRESS%")
        self.assertEqual(self.call("GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40tern.test",
                                   auth="", listener="http").status, 200)
        self.assertError(self.call("GET", "/mail/config-v1.1.xml?emailaddress=x%40elsewhere.test", auth=""), 404,
                         "not_found")


class HttpTimeoutTest(TernTestCase):
    def test_slow_and_idle_clients_are_cut(self):
        t = self.make_server(services=("smtp", "https"), limits={"command_timeout": "2s"})

        def connect():
            return tls_context().wrap_socket(socket.create_connection((HOST, t.ports["https"]), timeout=WAIT),
                                             server_hostname="mx.tern.test")

        # a request begun and never finished: 408, then the close
        with connect() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        # an idle keep-alive connection: closed without a word
        with connect() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            first = s.recv(65536)
            self.assertTrue(first.startswith(b"HTTP/1.1 200 "), first)
            rest = b""
            while chunk := s.recv(65536):
                rest += chunk
        self.assertEqual(rest, b"")
        # and the server still serves
        with connect() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))

    def test_stop_closes_idle_keep_alive_connections_at_once(self):
        t = self.make_server(services=("smtp", "https"))
        with tls_context().wrap_socket(socket.create_connection((HOST, t.ports["https"]), timeout=WAIT),
                                       server_hostname="mx.tern.test") as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))
            t.signal(signal.SIGTERM)
            self.assertEqual(s.recv(65536), b"")  # closed by the server, not at the end of the grace period
        self.assertEqual(t.stop(), 0)
        self.assertIn("tern stopped", t.saved_log or t.log())
        self.assertNotIn("session(s) still open", t.log())


if __name__ == "__main__":
    main()
