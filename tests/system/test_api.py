"""The JSON API's endpoints added for issue 15 ("the API does everything the CLI does"), against the
real binary with http.client, imaplib and smtplib: GET and PATCH of a user (password, quota, enabled,
admin) and what a disabled user and a quota mean to IMAP and SMTP AUTH; PATCH of an alias; a domain
that still has aliases cannot be deleted (API and CLI); the queue's filters and ?source=1; lost+found
(list, show, requeue, delete, by the API and `tern lost-found`), with a SIGKILL in the middle of a
requeue; POST /api/v1/check; and docs/openapi.json, which must describe exactly the routes of
src/api/api.cpp, each of which the server must answer.

Every address is on 127.0.0.0/8."""

import imaplib
import json
import os
import poplib
import re
import smtplib
import time

import test_http
from harness import HOST, PASSWORD, WAIT, main, make_message, unique

ADMIN = test_http.ADMIN
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def api_routes():
    """The (method, path) pairs that add_routes in src/api/api.cpp registers."""
    with open(os.path.join(ROOT, "src", "api", "api.cpp"), encoding="utf-8") as f:
        text = f.read()
    body = text[text.index("void Api::add_routes()"):]
    body = body[:body.index("\n}\n")]
    return set(re.findall(r'on\("([A-Z]+)", "([^"]+)"', body))


def openapi_routes(doc):
    methods = {"get", "post", "put", "patch", "delete"}
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in methods}


class ApiCase(test_http.HttpCase):
    SERVICES = ("smtp", "imap", "pop3", "http", "https")

    def lost_dir(self):
        d = os.path.join(self.t.data, "mail", "lost+found")
        os.makedirs(d, exist_ok=True)
        return d

    def put_lost(self, name, content, why="unreadable queue file: test"):
        d = self.lost_dir()
        with open(os.path.join(d, name), "wb") as f:
            f.write(content)
        with open(os.path.join(d, name + ".why"), "w", encoding="utf-8") as f:
            f.write(why + "\nfrom: test\n")

    def imap_login(self, user, password=PASSWORD):
        m = imaplib.IMAP4(HOST, self.t.ports["imap"], timeout=WAIT)
        try:
            m.login(user, password)
        except imaplib.IMAP4.error:
            m.shutdown()
            raise
        return m


class UserApiTest(ApiCase):
    def test_get_and_patch_user(self):
        a = self.call("GET", "/api/v1/users/Bob@Tern.test")
        self.assertEqual((a.status, a.json), (200, {"address": "bob@tern.test", "admin": False, "enabled": True,
                                                    "quota": 0, "own_quota": None}), a)
        self.assertError(self.call("GET", "/api/v1/users/nobody@tern.test"), 404, "not_found")
        # PATCH needs JSON, like POST
        a = self.call("PATCH", "/api/v1/users/bob@tern.test", body='{"quota": 1}', headers={"Content-Type": "text/plain"})
        self.assertError(a, 415, "unsupported_media_type")
        for bad, field in (({"quota": -1}, "quota"), ({"quota": "big"}, "quota"), ({"enabled": "no"}, "enabled"),
                           ({"password": ""}, "password"), ({"colour": "red"}, "colour"), ({"admin": 1}, "admin")):
            a = self.call("PATCH", "/api/v1/users/bob@tern.test", body=bad)
            self.assertError(a, 400, "invalid")
            self.assertIn(field, a.json["error"]["message"], bad)
        self.assertError(self.call("PATCH", "/api/v1/users/bob@tern.test", body={}), 400, "invalid")
        self.assertError(self.call("PATCH", "/api/v1/users/nobody@tern.test", body={"enabled": False}), 404, "not_found")
        # nothing changed by the refused requests
        self.imap_login("bob@tern.test").logout()

        a = self.call("PATCH", "/api/v1/users/bob@tern.test",
                      body={"password": "n3w-secret", "quota": 5120, "enabled": False})
        self.assertEqual((a.status, a.json), (200, {"address": "bob@tern.test", "admin": False, "enabled": False,
                                                    "quota": 5120, "own_quota": 5120}), a)
        self.assertEqual(self.call("GET", "/api/v1/users/bob@tern.test").json, a.json)
        self.assertIn({"address": "bob@tern.test", "admin": False, "enabled": False, "quota": 5120, "own_quota": 5120},
                      self.call("GET", "/api/v1/users").json)
        # the CLI sees the same user
        self.assertEqual(json.loads(self.t.cli_ok("user", "show", "bob@tern.test", "--json").stdout), a.json)
        # disabled: no login with the new password, over IMAP or SMTP AUTH; the log says why
        with self.assertRaises(imaplib.IMAP4.error):
            self.imap_login("bob@tern.test", "n3w-secret")
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("bob@tern.test", "n3w-secret")
        p = poplib.POP3(HOST, self.t.ports["pop3"], timeout=WAIT)
        p.user("bob@tern.test")
        with self.assertRaises(poplib.error_proto):
            p.pass_("n3w-secret")
        p.close()
        self.t.wait_for_log("login refused for bob@tern.test")
        # ...but mail is still delivered to it
        subject = unique("disabled")
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.sendmail("someone@far.test", ["bob@tern.test"], make_message("someone@far.test", "bob@tern.test", subject))
        self.t.wait_for_messages("bob@tern.test", 1)

        # enabled again by the CLI: the new password works, the old does not; IMAP reports the quota
        self.t.cli_ok("user", "enable", "bob@tern.test")
        with self.assertRaises(imaplib.IMAP4.error):
            self.imap_login("bob@tern.test", PASSWORD)
        m = self.imap_login("bob@tern.test", "n3w-secret")
        typ, data = m.getquotaroot("INBOX")
        m.logout()
        self.assertEqual(typ, "OK")
        self.assertRegex(b" ".join(x if isinstance(x, bytes) else b"" for part in data for x in part),
                         rb"STORAGE \d+ 5\)")
        # back to the server's default by the CLI; the administrator role by the API
        self.t.cli_ok("user", "quota", "bob@tern.test", "default")
        a = self.call("PATCH", "/api/v1/users/bob@tern.test", body={"admin": True, "quota": None})
        self.assertEqual(a.json, {"address": "bob@tern.test", "admin": True, "enabled": True, "quota": 0,
                                  "own_quota": None})
        actions = [(e["action"], e["target"], e["result"]) for e in self.audit() if e["action"] == "user.change"]
        self.assertIn(("user.change", "bob@tern.test", "ok"), actions)
        self.assertIn(("user.change", "nobody@tern.test", "not_found"), actions)

    def test_disabled_admin_loses_api_and_token(self):
        token = self.t.cli_ok("token", "add", ADMIN).stdout.strip().split()[-1]
        self.assertEqual(self.call("GET", "/api/v1/users", auth="Bearer " + token).status, 200)
        login = self.call("POST", "/api/v1/session", {"address": ADMIN, "password": PASSWORD}, auth="")
        self.assertEqual(login.status, 201, login)
        cookie = {"Cookie": login.headers["Set-Cookie"].split(";")[0]}
        self.assertEqual(self.call("GET", "/api/v1/users", auth="", headers=cookie).status, 200)
        self.t.cli_ok("user", "add", "root@tern.test", "--admin", input=PASSWORD + "\n")
        a = self.call("PATCH", f"/api/v1/users/{ADMIN}", body={"enabled": False}, auth=test_http.basic("root@tern.test"))
        self.assertEqual(a.status, 200, a)
        self.assertError(self.call("GET", "/api/v1/users"), 401, "unauthorized")
        self.assertError(self.call("GET", "/api/v1/users", auth="Bearer " + token), 401, "unauthorized")
        self.assertError(self.call("GET", "/api/v1/users", auth="", headers=cookie), 403, "forbidden")


class AliasDomainApiTest(ApiCase):
    def test_patch_alias_and_domain_with_aliases(self):
        self.assertEqual(self.call("POST", "/api/v1/domains", body={"name": "other.test"}).status, 201)
        a = self.call("POST", "/api/v1/aliases", body={"address": "sales@other.test", "targets": ["bob@tern.test"]})
        self.assertEqual(a.status, 201, a)
        # the domain cannot go while its alias is there: API and CLI name it
        a = self.call("DELETE", "/api/v1/domains/other.test")
        self.assertError(a, 409, "conflict")
        self.assertIn("sales@other.test", a.json["error"]["message"])
        r = self.t.cli("domain", "del", "other.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("sales@other.test", r.stderr)
        self.assertIn("other.test", self.t.cli_ok("domain", "list").stdout)

        a = self.call("PATCH", "/api/v1/aliases/Sales@other.test", body={"targets": ["carol@far.test", "Bob@tern.test"]})
        self.assertEqual((a.status, a.json), (200, {"address": "sales@other.test",
                                                    "targets": ["carol@far.test", "bob@tern.test"]}), a)
        self.assertIn(a.json, self.call("GET", "/api/v1/aliases").json)
        self.assertError(self.call("PATCH", "/api/v1/aliases/sales@other.test", body={"targets": []}), 400, "invalid")
        self.assertError(self.call("PATCH", "/api/v1/aliases/sales@other.test", body={"targets": "x@y.test"}), 400, "invalid")
        self.assertError(self.call("PATCH", "/api/v1/aliases/none@other.test", body={"targets": ["bob@tern.test"]}),
                         404, "not_found")
        self.t.cli_ok("alias", "set", "sales@other.test", "dave@far.test")
        self.assertIn({"address": "sales@other.test", "targets": ["dave@far.test"]}, self.call("GET", "/api/v1/aliases").json)

        self.assertEqual(self.call("DELETE", "/api/v1/aliases/sales@other.test").status, 200)
        self.assertEqual(self.call("DELETE", "/api/v1/domains/other.test").status, 200)


class QueueFilterApiTest(ApiCase):
    def test_filters_paging_and_source(self):
        s1, s2 = unique("far"), unique("other")
        self.send_remote(s1, "carol@far.test")
        self.send_remote(s2, "dave@other.example")
        queue = self.wait_queued(2)
        by_rcpt = {q["recipients"][0]["address"]: q for q in queue}

        def ids(query):
            a = self.call("GET", "/api/v1/queue" + query)
            self.assertEqual(a.status, 200, a)
            if "limit" not in query:
                self.assertEqual(int(a.headers["X-Total-Count"]), len(a.json))
            return [q["id"] for q in a.json], int(a.headers["X-Total-Count"])

        self.assertEqual(ids("?domain=FAR.test"), ([by_rcpt["carol@far.test"]["id"]], 1))
        self.assertEqual(ids("?domain=other.example&state=queued"), ([by_rcpt["dave@other.example"]["id"]], 1))
        self.assertEqual(ids("?domain=far.test&state=delivered"), ([], 0))
        self.assertEqual(ids("?sender=BOB@tern")[1], 2)
        self.assertEqual(ids("?sender=alice")[1], 0)
        self.assertEqual(ids("?min_age=3600")[1], 0)
        got, total = ids("?sender=bob&limit=1&offset=1")
        self.assertEqual((len(got), total), (1, 2))
        for bad in ("?min_age=soon", "?state=lost", "?domain=" + "x" * 300):
            self.assertError(self.call("GET", "/api/v1/queue" + bad), 400, "invalid")

        qid = by_rcpt["carol@far.test"]["id"]
        a = self.call("GET", f"/api/v1/queue/{qid}")
        self.assertNotIn("source", a.json)
        a = self.call("GET", f"/api/v1/queue/{qid}?source=1")
        self.assertEqual(a.status, 200, a)
        self.assertIn(f"Subject: {s1}", a.json["source"])
        self.assertIn("RCPT: carol@far.test", a.json["source"])
        self.assertEqual(a.json["id"], qid)


class LostFoundApiTest(ApiCase):
    def test_list_show_requeue_delete(self):
        subject = unique("lost")
        good = make_message("alice@far.test", "bob@tern.test", subject)
        self.put_lost("good.msg", b"FROM: alice@far.test\r\nRCPT: bob@tern.test\r\n" + good)
        self.put_lost("bad.msg", b"\xffgarbage, not a queue file\r\n", why="not a valid pending file: no FROM line")
        a = self.call("GET", "/api/v1/lost-found")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.headers["X-Total-Count"], "2")
        items = {i["name"]: i for i in a.json["items"]}
        self.assertEqual(set(items), {"good.msg", "bad.msg"})
        self.assertEqual(items["bad.msg"]["why"], "not a valid pending file: no FROM line")
        self.assertEqual(items["bad.msg"]["size"], 28)
        self.assertIsInstance(items["bad.msg"]["time"], int)
        a = self.call("GET", "/api/v1/lost-found?limit=1&offset=1")
        self.assertEqual((len(a.json["items"]), a.headers["X-Total-Count"]), (1, "2"))
        a = self.call("GET", "/api/v1/lost-found/bad.msg")
        self.assertEqual(a.json["source"], "\ufffdgarbage, not a queue file\r\n")
        self.assertEqual(a.json["name"], "bad.msg")
        # names that reach outside the folder, or a note itself
        for name in (".hidden", "good.msg.why", "..", "%2E%2E%2Fetc"):
            a = self.call("GET", "/api/v1/lost-found/" + name)
            self.assertIn(a.status, (400, 404), (name, a))
        self.assertError(self.call("GET", "/api/v1/lost-found/nothing.msg"), 404, "not_found")
        self.assertError(self.call("POST", "/api/v1/lost-found/good.msg/eat"), 404, "not_found")
        # the CLI lists the same (the server runs: read-only file operations)
        listed = json.loads(self.t.cli_ok("lost-found", "list", "--json").stdout)
        self.assertEqual({i["name"] for i in listed}, {"good.msg", "bad.msg"})

        # a file that still does not parse is refused, and stays
        a = self.call("POST", "/api/v1/lost-found/bad.msg/requeue")
        self.assertError(a, 400, "invalid")
        self.assertIn("correct it first", a.json["error"]["message"])
        self.assertTrue(os.path.exists(os.path.join(self.lost_dir(), "bad.msg")))
        # a good one goes into the queue under a new id and is delivered once
        a = self.call("POST", "/api/v1/lost-found/good.msg/requeue")
        self.assertEqual(a.status, 200, a)
        self.assertRegex(a.json["id"], r"^[0-9a-zA-Z-]+$")
        self.t.wait_for_log(f"taken as queue {a.json['id']}")
        self.t.wait_for_messages("bob@tern.test", 1)
        self.assertFalse(os.path.exists(os.path.join(self.lost_dir(), "good.msg")))
        self.assertFalse(os.path.exists(os.path.join(self.lost_dir(), "good.msg.why")))
        self.assertError(self.call("POST", "/api/v1/lost-found/good.msg/requeue"), 404, "not_found")
        # delete by the API
        self.assertEqual(self.call("POST", "/api/v1/lost-found/bad.msg/delete").status, 200)
        self.assertEqual(os.listdir(self.lost_dir()), [])
        self.assertEqual(self.call("GET", "/api/v1/lost-found").json, {"items": []})
        actions = [(e["action"], e["target"], e["result"]) for e in self.audit() if e["action"].startswith("lost-found")]
        self.assertEqual(actions, [
            ("lost-found.requeue", "bad.msg", "invalid"), ("lost-found.requeue", "good.msg", "ok"),
            ("lost-found.requeue", "good.msg", "not_found"), ("lost-found.delete", "bad.msg", "ok")])

    def test_cli_requeue_through_the_running_server_and_without_it(self):
        s1, s2 = unique("cli1"), unique("cli2")
        self.put_lost("one.msg", b"FROM: alice@far.test\nRCPT: bob@tern.test\n" + make_message("alice@far.test", "bob@tern.test", s1))
        r = self.t.cli_ok("lost-found", "requeue", "one.msg")
        self.assertIn("queued as", r.stdout)
        self.t.wait_for_messages("bob@tern.test", 1)
        self.t.stop()
        self.put_lost("two.msg", b"FROM: alice@far.test\nRCPT: bob@tern.test\n" + make_message("alice@far.test", "bob@tern.test", s2))
        self.assertIn(s2, self.t.cli_ok("lost-found", "show", "two.msg").stdout)
        self.t.cli_ok("lost-found", "requeue", "two.msg")
        self.assertEqual(len(json.loads(self.t.cli_ok("queue", "list", "--json").stdout)), 1)
        self.t.start()
        self.t.wait_for_messages("bob@tern.test", 2)
        self.put_lost("three.msg", b"junk")
        self.t.cli_ok("lost-found", "delete", "three.msg")
        self.assertEqual(os.listdir(self.lost_dir()), [])
        self.assertCheckClean(self.t)


class LostFoundCrashTest(ApiCase):
    POINT = "spool.after_lost_found_requeued"

    def test_sigkill_during_requeue_delivers_exactly_once(self):
        self.t.stop()
        self.t.start(fault=self.POINT)
        subject = unique("crash")
        self.put_lost("crash.msg", b"FROM: alice@far.test\r\nRCPT: bob@tern.test\r\n" +
                      make_message("alice@far.test", "bob@tern.test", subject))
        try:
            a = self.call("POST", "/api/v1/lost-found/crash.msg/requeue")
            self.fail(f"the server answered {a} instead of dying at {self.POINT}")
        except (ConnectionError, OSError, test_http.http.client.HTTPException):
            pass
        self.t.wait_exit()
        self.assertIn(f"fault injection: SIGKILL at {self.POINT}\n", self.t.log())
        self.assertFalse(os.path.exists(os.path.join(self.lost_dir(), "crash.msg")))
        self.t.start()
        self.t.wait_for_messages("bob@tern.test", 1)
        # the queue drains, and the message is there once; lost+found lists nothing
        deadline = time.monotonic() + WAIT
        while self.call("GET", "/api/v1/queue").json:
            self.assertLess(time.monotonic(), deadline, "the queue never drained")
            time.sleep(0.05)
        stored = self.t.message_list("bob@tern.test")
        self.assertEqual(sum(1 for m in stored if m["subject"] == subject), 1, stored)
        self.assertEqual(self.call("GET", "/api/v1/lost-found").json, {"items": []})
        self.t.stop()
        self.assertCheckClean(self.t)


class CheckApiTest(ApiCase):
    def test_check_reports_and_refuses_repair_while_running(self):
        a = self.call("POST", "/api/v1/check", body={"repair": False})
        self.assertEqual(a.status, 200, a)
        self.assertEqual((a.json["ok"], a.json["problems"]), (True, []))
        self.assertEqual(self.call("POST", "/api/v1/check").json["ok"], True)  # no body: no repair
        with open(os.path.join(self.t.data, "mail", "outbox", "damaged.msg"), "wb") as f:
            f.write(b"not a queue file\n")
        a = self.call("POST", "/api/v1/check", body={})
        self.assertEqual(a.json["ok"], False)
        self.assertEqual(len(a.json["problems"]), 1, a)
        self.assertEqual(a.json["problems"][0]["path"], "outbox/damaged.msg")
        self.assertIn("lost+found", a.json["problems"][0]["problem"])
        # the same finding as `tern check`
        r = self.t.cli("check", "--json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(json.loads(r.stdout)["problems"]), 1)
        a = self.call("POST", "/api/v1/check", body={"repair": True})
        self.assertError(a, 409, "conflict")
        self.assertIn("stop it first", a.json["error"]["message"])
        self.assertTrue(os.path.exists(os.path.join(self.t.data, "mail", "outbox", "damaged.msg")))
        self.assertError(self.call("POST", "/api/v1/check", body={"repair": "yes"}), 400, "invalid")
        os.remove(os.path.join(self.t.data, "mail", "outbox", "damaged.msg"))


class SpamApiTest(ApiCase):
    def test_train_a_folder_and_read_the_counts(self):
        bob = "bob@tern.test"
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            for _ in range(3):
                subject = unique("cheap")
                s.sendmail("offers@example.test", [bob], make_message("offers@example.test", bob, subject,
                                                                      f"Cheap {subject} pills now.\r\n".encode()))
        self.t.wait_for_messages(bob, 3)
        a = self.call("POST", "/api/v1/spam/train", body={"address": bob, "folder": "INBOX", "as": "spam"})
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json, {"learnt": 3, "already": 0})
        a = self.call("POST", "/api/v1/spam/train", body={"address": "BOB@tern.test", "folder": "INBOX", "as": "spam"})
        self.assertEqual(a.json, {"learnt": 0, "already": 3})  # the same octets are learnt once
        g = self.call("GET", "/api/v1/spam/bob@tern.test")
        self.assertEqual(g.status, 200, g)
        self.assertEqual((g.json["user"]["spam"], g.json["user"]["ham"], g.json["shared"]["spam"]), (3, 0, 3))
        self.assertGreater(g.json["user"]["tokens"], 0)
        cli = json.loads(self.t.cli_ok("spam", "stats", bob, "--json").stdout)
        self.assertEqual(cli, {k: v for k, v in g.json.items() if k != "address"})  # `tern spam stats`, the same function
        # Errors name what is wrong
        self.assertError(self.call("POST", "/api/v1/spam/train", body={"address": bob, "folder": "INBOX", "as": "maybe"}), 400, "invalid")
        self.assertError(self.call("POST", "/api/v1/spam/train", body={"address": bob, "folder": "Nope", "as": "ham"}), 404, "not_found")
        self.assertError(self.call("POST", "/api/v1/spam/train", body={"address": "nobody@tern.test", "folder": "INBOX", "as": "ham"}), 404, "not_found")
        self.assertError(self.call("POST", "/api/v1/spam/train", body={"address": bob, "as": "ham"}), 400, "invalid")
        self.assertError(self.call("GET", "/api/v1/spam/nobody@tern.test"), 404, "not_found")
        with open(os.path.join(self.t.data, "audit.log"), encoding="utf-8") as f:
            self.assertIn("spam.train", f.read())


class DkimApiTest(ApiCase):
    def test_generate_rotate_and_list(self):
        self.assertEqual(self.call("GET", "/api/v1/dkim").json, [])
        a = self.call("POST", "/api/v1/dkim/Tern.test/generate")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(sorted(k["algorithm"] for k in a.json), ["ed25519-sha256", "rsa-sha256"])
        self.assertTrue(all(k["signing"] and k["domain"] == "tern.test" and k["record"].startswith("v=DKIM1;") for k in a.json), a.json)
        self.assertError(self.call("POST", "/api/v1/dkim/tern.test/generate"), 409, "exists")  # rotate is the way
        r = self.call("POST", "/api/v1/dkim/tern.test/rotate")
        self.assertEqual(r.status, 200, r)
        listed = self.call("GET", "/api/v1/dkim?domain=tern.test").json
        self.assertEqual(len(listed), 4)
        self.assertEqual(sum(1 for k in listed if k["signing"]), 2)
        self.assertTrue(all("retired" in k for k in listed if not k["signing"]))
        # the same keys as `tern dkim list --json`
        cli = json.loads(self.t.cli_ok("dkim", "list", "--json").stdout)
        self.assertEqual(cli, self.call("GET", "/api/v1/dkim").json)
        self.assertError(self.call("POST", "/api/v1/dkim/elsewhere.test/generate"), 404, "not_found")
        self.assertError(self.call("POST", "/api/v1/dkim/tern.test/destroy"), 404, "not_found")
        with open(os.path.join(self.t.data, "audit.log"), encoding="utf-8") as f:
            self.assertIn("dkim.rotate", f.read())


class DnsRecordsTest(ApiCase):
    def test_the_records_a_domain_publishes(self):
        a = self.call("GET", "/api/v1/domains/TERN.test/dns")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json["domain"], "tern.test")
        records = a.json["records"]
        # the same records as `tern domain dns --json`, which prints their zone-file lines
        cli = json.loads(self.t.cli_ok("domain", "dns", "tern.test", "--json").stdout)
        self.assertEqual([r["zone"] for r in records], cli)
        kinds = {(r["type"], r["name"]) for r in records}
        self.assertIn(("MX", "tern.test"), kinds)
        self.assertIn(("TXT", "_dmarc.tern.test"), kinds)
        self.assertIn(("SRV", "_imaps._tcp.tern.test"), kinds)
        self.assertError(self.call("GET", "/api/v1/domains/elsewhere.test/dns"), 404, "not_found")
        self.assertError(self.call("GET", "/api/v1/domains/not..a..domain/dns"), 400, "invalid")


class OpenApiTest(ApiCase):
    def test_description_matches_the_routes(self):
        a = self.call("GET", "/api/v1/openapi.json", auth="")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.headers["Content-Type"], "application/json")
        doc = a.json
        with open(os.path.join(ROOT, "docs", "openapi.json"), encoding="utf-8") as f:
            self.assertEqual(doc, json.load(f))  # served as built from the source tree
        self.assertEqual(doc["openapi"], "3.1.0")
        self.assertEqual(set(doc["components"]["securitySchemes"]), {"basic", "bearer", "session", "csrf"})
        self.assertIn("Error", doc["components"]["schemas"])
        source = api_routes() | {("POST", "/api/v1/session"), ("GET", "/api/v1/session"), ("DELETE", "/api/v1/session")}
        self.assertGreater(len(source), 20)
        self.assertEqual(openapi_routes(doc), source)
        # every documented route exists on the server: never 405, never "no such endpoint"; and every
        # one but the description and the login wants authentication
        for method, path in sorted(openapi_routes(doc)):
            concrete = re.sub(r"\{action\}", "none", re.sub(r"\{[a-z]+\}", "nobody@tern.test", path))
            body = {} if method in ("POST", "PATCH") else None
            if path.endswith("/stream"):  # an event stream never ends: its status line and type are enough
                c = self.conn()
                c.request(method, concrete, headers={"Authorization": test_http.basic(test_http.ADMIN)})
                r = c.getresponse()
                self.assertEqual((r.status, r.getheader("Content-Type")), (200, "text/event-stream; charset=utf-8"), path)
                c.close()
                a = self.call(method, concrete, body=body, auth="")
                self.assertError(a, 401, "unauthorized")
                continue
            a = self.call(method, concrete, body=body)
            self.assertNotEqual(a.status, 405, (method, path, a))
            if a.status == 404:
                self.assertNotEqual(a.json["error"]["message"], "no such endpoint", (method, path))
            a = self.call(method, concrete, body=body, auth="")
            if path == "/api/v1/openapi.json" or (method, path) == ("POST", "/api/v1/session"):
                self.assertNotEqual(a.status, 401, (method, path, a))
            else:
                self.assertError(a, 401, "unauthorized")
        self.assertError(self.call("GET", "/api/v1/no-such-thing"), 404, "not_found")


if __name__ == "__main__":
    main()
