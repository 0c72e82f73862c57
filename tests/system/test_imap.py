"""IMAP on the real server, part 1: sessions and mailboxes, over the imap (STARTTLS) and imaps
listeners with Python's imaplib and raw sockets (imap_client.Conn).

What a client sees is checked against RFC 9051 (IMAP4rev2), RFC 3501 (IMAP4rev1) and the extensions
Tern announces: greeting and CAPABILITY before and after TLS and login, LOGIN and AUTHENTICATE (PLAIN,
LOGIN, SASL-IR, failures, the sessions-per-user cap), ENABLE, SELECT/EXAMINE data, IMAP4rev2 sessions,
mailbox commands (LIST with LIST-EXTENDED, LIST-STATUS and SPECIAL-USE, CREATE, DELETE, RENAME,
subscriptions, NAMESPACE, STATUS) and APPEND (LITERAL+, MULTIAPPEND, APPENDUID, TRYCREATE, TOOBIG,
APPENDLIMIT, QUOTA and OVERQUOTA). test_imap_fetch.py has the commands on messages.

Servers are shared by the tests of a class (each test has its own user), so the file stays fast.
"""

import base64
import datetime
import imaplib
import re
import time
from concurrent.futures import ThreadPoolExecutor

from harness import DOMAIN, HOST, PASSWORD, WAIT, main, tls_context, unique
from imap_client import (Conn, ImapCase, auth_plain_token, caps_of, deliver, fetch_items, internaldate, list_of,
                         message, norm, parse, select_info, seq_set, status_of)


BASE_CAPS = {"IMAP4REV2", "IMAP4REV1", "SASL-IR", "ENABLE", "ID"}
AUTHED_CAPS = {"IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS",
               "SPECIAL-USE", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "SORT", "THREAD=REFERENCES",
               "THREAD=ORDEREDSUBJECT", "UTF8=ACCEPT", "STATUS=SIZE", "MULTIAPPEND", "BINARY",
               "COMPRESS=DEFLATE", "QUOTA"}


class ConnectionTests(ImapCase):
    def test_greeting_and_capability_without_tls(self):
        c = self.conn(login=False, port="imap")
        self.assertTrue(c.greeting.startswith(b"* OK [CAPABILITY "), c.greeting)
        caps = caps_of(c.greeting)
        self.assertTrue(BASE_CAPS <= caps, caps)
        self.assertIn("STARTTLS", caps)
        self.assertIn("LOGINDISABLED", caps, "plaintext logins are not allowed: RFC 9051 6.2.3")
        self.assertFalse({"AUTH=PLAIN", "AUTH=LOGIN"} & caps, caps)
        self.assertTrue({"LITERAL+", "LITERAL-"} & caps, caps)
        r = c.ok("CAPABILITY")
        self.assertEqual(len(r.named("CAPABILITY")), 1, r)
        self.assertEqual(caps_of(r.untagged[0]), caps)

    def test_login_refused_without_tls(self):
        c = self.conn(login=False, port="imap")
        # RFC 9051 7.1 (PRIVACYREQUIRED): "C: d login "fred" "foo"  S: d NO [PRIVACYREQUIRED] ..."
        r = c.cmd(f'LOGIN "{self.user}" "{PASSWORD}"')
        self.assertStatus(r, "NO", "PRIVACYREQUIRED")
        r = c.cmd("AUTHENTICATE PLAIN " + auth_plain_token(self.user))
        self.assertStatus(r, "NO", "PRIVACYREQUIRED")
        self.assertStatus(c.cmd("SELECT INBOX"), "BAD")  # still not logged in
        c.starttls()
        c.login(self.user)

    def test_starttls_then_login(self):
        c = self.conn(login=False, port="imap")
        c.starttls()
        caps = caps_of(c.ok("CAPABILITY").untagged[0])
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertTrue({"AUTH=PLAIN", "AUTH=LOGIN"} <= caps, caps)
        self.assertStatus(c.cmd("STARTTLS"), "BAD")  # TLS is already active
        r = c.login(self.user)
        after = caps_of(r.tagged)  # RFC 9051 7.1: the OK of LOGIN may carry the new capabilities
        self.assertTrue(BASE_CAPS | AUTHED_CAPS <= after, (BASE_CAPS | AUTHED_CAPS) - after)
        self.assertFalse({"AUTH=PLAIN", "AUTH=LOGIN", "LOGINDISABLED", "STARTTLS"} & after, after)
        self.assertEqual(caps_of(c.ok("CAPABILITY").untagged[0]), after)
        m = re.search(r"APPENDLIMIT=(\d+)", " ".join(after))
        self.assertTrue(m and int(m.group(1)) > 1 << 20, after)
        self.assertStatus(c.cmd(f'LOGIN "{self.user}" "{PASSWORD}"'), "BAD")  # already logged in

    def test_starttls_discards_pipelined_plaintext(self):
        c = self.conn(login=False, port="imap")
        c.send("a STARTTLS\r\nb CAPABILITY\r\n")
        self.assertTrue(c.line().startswith(b"a OK"))
        c.sock = tls_context().wrap_socket(c.sock, server_hostname="mx.tern.test")
        c.buf = b""
        r = c.cmd("NOOP", tag="c")  # the CAPABILITY sent before the handshake is never answered
        self.assertEqual(r.untagged, [])
        self.assertEqual(r.status, "OK")

    def test_imaps_greeting_and_imaplib(self):
        c = self.conn(login=False)
        caps = caps_of(c.greeting)
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertIn("AUTH=PLAIN", caps)
        m = imaplib.IMAP4_SSL(HOST, self.t.ports["imaps"], ssl_context=tls_context(), timeout=WAIT)
        typ, _ = m.login(self.user, PASSWORD)
        self.assertEqual(typ, "OK")
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"0"]))
        self.assertEqual(m.logout()[0], "BYE")
        # imaplib over STARTTLS
        m = imaplib.IMAP4(HOST, self.t.ports["imap"], timeout=WAIT)
        m.starttls(ssl_context=tls_context())
        self.assertEqual(m.login(self.user, PASSWORD)[0], "OK")
        self.assertEqual(m.logout()[0], "BYE")

    def test_logout(self):
        c = self.conn()
        r = c.cmd("LOGOUT")
        self.assertEqual(r.status, "OK")
        self.assertEqual(len(r.named("BYE")), 1, r)
        self.assertTrue(c.closed(), "the server did not close the connection after LOGOUT")

    def test_id(self):
        c = self.conn(login=False)
        r = c.ok('ID ("name" "test-client" "version" "1.0")')
        ids = r.named("ID")
        self.assertEqual(len(ids), 1, r)
        v = parse(ids[0])[1]
        self.assertTrue(v is None or isinstance(v, list), v)
        self.assertEqual(c.ok("ID NIL").status, "OK")


class CommandStateTests(ImapCase):
    """Each command is valid in its states only (RFC 9051 6.1-6.4; the command table in imapd)."""

    def test_commands_outside_their_state_are_bad_and_say_why(self):
        c = self.conn(login=False)
        self.assertStatus(c.cmd("NOOP"), "OK")  # any state
        for text in ("SELECT INBOX", "ENABLE CONDSTORE", "FETCH 1 FLAGS", "UID STORE 1 +FLAGS (x)", "IDLE"):
            r = c.cmd(text)
            self.assertStatus(r, "BAD")
            self.assertIn(b"Log in first", r.tagged, text)
        r = c.cmd("FROBNICATE")
        self.assertStatus(r, "BAD")
        self.assertIn(b"Unknown command", r.tagged)
        c.login(self.user)
        for text in ("LOGIN a b", "AUTHENTICATE PLAIN", "STARTTLS"):
            r = c.cmd(text)
            self.assertStatus(r, "BAD")
            self.assertIn(b"Already logged in", r.tagged, text)
        for text in ("FETCH 1 FLAGS", "UID SEARCH ALL", "EXPUNGE", "CHECK", "CLOSE", "MOVE 1 Trash"):
            r = c.cmd(text)
            self.assertStatus(r, "BAD")
            self.assertIn(b"No mailbox selected", r.tagged, text)
        self.assertStatus(c.cmd("FROBNICATE"), "BAD")
        c.select()
        self.assertStatus(c.cmd("CHECK"), "OK")
        self.assertStatus(c.cmd("UID SEARCH ALL"), "OK")
        r = c.cmd("LOGOUT")
        self.assertStatus(r, "OK")
        self.assertTrue(any(u.startswith(b"* BYE") for u in r.untagged), r)


class PlaintextAllowedTests(ImapCase):
    server_kw = {"allow_plaintext": True}

    def test_login_without_tls_when_allowed(self):
        c = self.conn(login=False, port="imap")
        caps = caps_of(c.greeting)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        c.login(self.user)
        self.assertEqual(select_info(c.select())["EXISTS"], 0)
        m = imaplib.IMAP4(HOST, self.t.ports["imap"], timeout=WAIT)
        self.assertEqual(m.login(self.user, PASSWORD)[0], "OK")
        m.logout()


class AuthTests(ImapCase):
    """AUTHENTICATE and failed logins (a server of their own: failures are throttled per address)."""

    # the per-address connection limit (50 by default) above the sessions-per-user cap
    server_kw = {"limits": {"max_connections_per_ip": 200}}

    def test_authenticate_plain_with_initial_response(self):
        c = self.conn(login=False)
        r = c.cmd("AUTHENTICATE PLAIN " + auth_plain_token(self.user))
        self.assertStatus(r, "OK")
        self.assertIn("IDLE", caps_of(r.tagged))
        c.select()

    def test_authenticate_plain_without_initial_response(self):
        c = self.conn(login=False)
        c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c.line().rstrip(), b"+")  # RFC 9051 6.2.2: an empty challenge
        c.send(auth_plain_token(self.user) + "\r\n")
        r = c.read_until_tagged("a")
        self.assertStatus(r, "OK")

    def test_authenticate_plain_empty_initial_response_is_equals(self):
        c = self.conn(login=False)
        # RFC 4959 3: "=" is an empty initial response; PLAIN cannot be empty, so this must fail,
        # and the session goes on.
        r = c.cmd("AUTHENTICATE PLAIN =")
        self.assertIn(r.status, ("NO", "BAD"), r)
        c.login(self.user)

    def test_authenticate_login(self):
        c = self.conn(login=False)
        c.send("a AUTHENTICATE LOGIN\r\n")
        self.assertEqual(c.line(), b"+ " + base64.b64encode(b"Username:"))
        c.send(base64.b64encode(self.user.encode()) + b"\r\n")
        self.assertEqual(c.line(), b"+ " + base64.b64encode(b"Password:"))
        c.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        self.assertStatus(c.read_until_tagged("a"), "OK")
        # with the user name as initial response (SASL-IR)
        c2 = self.conn(login=False)
        c2.send(f"b AUTHENTICATE LOGIN {base64.b64encode(self.user.encode()).decode()}\r\n")
        self.assertEqual(c2.line(), b"+ " + base64.b64encode(b"Password:"))
        c2.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        self.assertStatus(c2.read_until_tagged("b"), "OK")

    def test_failures_then_success_in_one_session(self):
        c = self.conn(login=False)
        # (each failure is delayed a second more than the last: two of them are enough here)
        r = c.cmd(f'LOGIN "{self.user}" "wrong"')
        self.assertStatus(r, "NO", "AUTHENTICATIONFAILED")
        r = c.cmd("AUTHENTICATE PLAIN " + auth_plain_token(f"nobody@{DOMAIN}"))  # an unknown user looks the same
        self.assertStatus(r, "NO", "AUTHENTICATIONFAILED")
        c.send("x AUTHENTICATE PLAIN\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        c.send("*\r\n")  # RFC 9051 6.2.2: the client cancels; the server answers BAD
        self.assertStatus(c.read_until_tagged("x"), "BAD")
        self.assertStatus(c.cmd("AUTHENTICATE CRAM-MD5"), "NO")
        self.assertStatus(c.cmd("SELECT INBOX"), "BAD")  # still not authenticated
        c.login(self.user)
        c.select()

    def test_login_password_quoted_and_literal(self):
        user = f"{unique('p')}@{DOMAIN}"
        password = 'pa ss"wo\\rd{1}'
        self.t.add_user(user, password)
        c = self.conn(login=False)
        quoted = password.replace("\\", "\\\\").replace('"', '\\"')
        self.assertStatus(c.cmd(f'LOGIN {user} "{quoted}"'), "OK")
        c2 = self.conn(login=False)
        r = c2.cmd_literals(["LOGIN ", ("lit", user.encode()), " ", ("lit", password.encode())])
        self.assertStatus(r, "OK")
        m = imaplib.IMAP4_SSL(HOST, self.t.ports["imaps"], ssl_context=tls_context(), timeout=WAIT)
        self.assertEqual(m.login(user, password)[0], "OK")
        m.logout()

    def test_sessions_per_user_are_capped(self):
        def login(_):
            c = Conn(self.t.ports["imaps"], tls=True)
            self.addCleanup(c.close)
            return c, c.cmd(f'LOGIN "{self.user}" "{PASSWORD}"')

        with ThreadPoolExecutor(max_workers=8) as ex:
            results = list(ex.map(login, range(60)))
        conns = [c for c, r in results if r.status == "OK"]
        refused = [r for c, r in results if r.status != "OK"]
        self.assertTrue(refused, "60 sessions of one user were all let in")
        self.assertGreaterEqual(len(conns), 10)
        for r in refused:
            self.assertStatus(r, "NO")
        # other users are not affected, and a place frees when a session ends
        other = f"{unique('o')}@{DOMAIN}"
        self.t.add_user(other)
        self.conn(user=other)
        conns.pop().logout()
        deadline = time.monotonic() + WAIT
        while True:
            c = Conn(self.t.ports["imaps"], tls=True)
            self.addCleanup(c.close)
            if c.cmd(f'LOGIN "{self.user}" "{PASSWORD}"').status == "OK":
                break
            self.assertLess(time.monotonic(), deadline, "no session place freed after a LOGOUT")
            time.sleep(0.1)
        for c in conns:
            c.close()

    def test_authzid_of_another_user_is_refused(self):
        other = f"{unique('o')}@{DOMAIN}"
        self.t.add_user(other)
        c = self.conn(login=False)
        r = c.cmd("AUTHENTICATE PLAIN " + auth_plain_token(self.user, authzid=other))
        self.assertIn(r.status, ("NO", "BAD"), r)
        self.assertStatus(c.cmd("SELECT INBOX"), "BAD")
        r = c.cmd("AUTHENTICATE PLAIN " + auth_plain_token(self.user, authzid=self.user))
        self.assertStatus(r, "OK")


class EnableTests(ImapCase):
    def test_enable(self):
        c = self.conn(login=False)
        self.assertStatus(c.cmd("ENABLE CONDSTORE"), "BAD")  # RFC 5161 3.1: authenticated state only
        c.login(self.user)
        r = c.ok("ENABLE CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2 X-UNKNOWN")
        self.assertEqual(len(r.named("ENABLED")), 1, r)
        enabled = set(r.named("ENABLED")[0].decode().upper().split()[1:])
        self.assertEqual(enabled, {"CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"})
        # IMAP4rev2 is on: SELECT sends no RECENT (RFC 9051 7.4) but the LIST response (RFC 9051 6.3.2)
        r = c.select()
        self.assertEqual(r.named("RECENT"), [])
        self.assertEqual(len(r.named("LIST")), 1, r)
        self.assertIn("HIGHESTMODSEQ", select_info(r))

    def test_utf8_accept_mailbox_names(self):
        c = self.conn()
        # IMAP4rev1 without UTF8=ACCEPT: modified UTF-7 (RFC 3501 5.1.3)
        c.ok('CREATE "Entw&APw-rfe"')
        names = [n for n, *_ in list_of(c.ok('LIST "" "Entw*"'))]
        self.assertEqual(names, ["Entw&APw-rfe"])
        c2 = self.conn()
        c2.ok("ENABLE UTF8=ACCEPT")
        names = [n for n, *_ in list_of(c2.ok('LIST "" "Entw*"'))]
        self.assertEqual(names, ["Entwürfe"])
        c2.ok('SELECT "Entwürfe"')
        c2.ok('CREATE "Grüße/Köln"')
        names = sorted(n for n, *_ in list_of(c.ok('LIST "" "Gr*"')))
        self.assertEqual(names, ["Gr&APwA3w-e", "Gr&APwA3w-e/K&APY-ln"])


# --- SELECT / EXAMINE -------------------------------------------------------------------------------

class SelectTests(ImapCase):
    def test_select_and_examine_data(self):
        c = self.conn()
        uids = [self.append(c, message(f"sel {i}"), flags="\\Seen" if i == 0 else "") for i in range(3)]
        r = c.select()
        info = select_info(r)
        # RFC 3501 6.3.1 (an IMAP4rev1 session): FLAGS, EXISTS, RECENT, UNSEEN, PERMANENTFLAGS,
        # UIDNEXT, UIDVALIDITY; RFC 7162 3.1.2.1: HIGHESTMODSEQ
        for k in ("FLAGS", "PERMANENTFLAGS", "EXISTS", "RECENT", "UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ"):
            self.assertIn(k, info, r)
        self.assertEqual(info["EXISTS"], 3)
        self.assertEqual(info["UNSEEN"], 2, "first unseen message number")
        self.assertEqual(info["UIDNEXT"], uids[-1] + 1)
        self.assertTrue({"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"} <= set(info["FLAGS"]))
        self.assertIn("\\*", info["PERMANENTFLAGS"])
        self.assertEqual(r.code, "READ-WRITE")
        self.assertEqual(status_of(c.ok("STATUS INBOX (UIDVALIDITY)"))["INBOX"]["UIDVALIDITY"], info["UIDVALIDITY"])
        r = c.ok("EXAMINE INBOX")
        self.assertEqual(r.code, "READ-ONLY")
        e = select_info(r)
        self.assertEqual((e["EXISTS"], e["UIDVALIDITY"], e["UIDNEXT"]), (3, info["UIDVALIDITY"], info["UIDNEXT"]))
        self.assertNotIn("\\*", e.get("PERMANENTFLAGS", []))
        # INBOX in any case
        self.assertEqual(select_info(c.ok('SELECT "inbox"'))["EXISTS"], 3)
        self.assertEqual(select_info(c.ok("SELECT InBoX"))["EXISTS"], 3)
        # a failed SELECT leaves no mailbox selected (RFC 9051 6.3.2)
        self.assertStatus(c.cmd('SELECT "NoSuchBox"'), "NO", "NONEXISTENT")
        self.assertStatus(c.cmd("FETCH 1 FLAGS"), "BAD")
        self.assertStatus(c.cmd('EXAMINE "NoSuchBox"'), "NO", "NONEXISTENT")

    def test_append_and_copy_to_the_selected_mailbox_give_exists(self):
        c = self.conn()
        self.append(c, message("first"))
        c.select()
        # RFC 9051 6.3.12: the server SHOULD send EXISTS at once for an APPEND to the selected mailbox
        tag = c.next_tag()
        msg = message("second")
        c.send(f"{tag} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        r = c.read_until_tagged(tag)
        self.assertStatus(r, "OK")
        self.assertIn(b"* 2 EXISTS", r.untagged)
        r = c.ok("COPY 1:2 INBOX")
        self.assertIn(b"* 4 EXISTS", r.untagged)
        self.assertEqual(sorted(self.subjects(c).values()), ["first", "first", "second", "second"])
        # STATUS of the selected mailbox agrees
        self.assertEqual(status_of(c.ok("STATUS INBOX (MESSAGES)"))["INBOX"]["MESSAGES"], 4)


class RecentTests(ImapCase):
    def test_recent_goes_to_one_rev1_session(self):
        """Issue 11 (RFC 3501 2.3.2): \Recent for IMAP4rev1 sessions: RECENT in SELECT and STATUS,
        \Recent in FLAGS, SEARCH RECENT/NEW/OLD; one session per message gets it, new mail (delivered,
        or APPENDed into the selected mailbox) goes to the session that sees it first; EXAMINE looks
        without taking; an IMAP4rev2 session has none."""
        c = self.conn()
        for i in range(2):
            self.append(c, message(f"r {i}"), flags="\\Seen" if i == 0 else "")
        self.assertEqual(status_of(c.ok("STATUS INBOX (RECENT MESSAGES)"))["INBOX"]["RECENT"], 2)
        peek = self.conn()
        self.assertEqual(select_info(peek.ok("EXAMINE INBOX"))["RECENT"], 2)  # looks, takes nothing
        first, second = self.conn(), self.conn()
        self.assertEqual(select_info(first.select())["RECENT"], 2)
        self.assertEqual(select_info(second.select())["RECENT"], 0)
        self.assertEqual(status_of(c.ok("STATUS INBOX (RECENT)"))["INBOX"]["RECENT"], 0)
        self.assertEqual(first.ok("FETCH 1:2 FLAGS").untagged,
                         [b"* 1 FETCH (FLAGS (\\Recent \\Seen))", b"* 2 FETCH (FLAGS (\\Recent))"])
        self.assertEqual(second.ok("FETCH 1:2 FLAGS").untagged,
                         [b"* 1 FETCH (FLAGS (\\Seen))", b"* 2 FETCH (FLAGS ())"])
        self.assertEqual(first.ok("SEARCH RECENT").named("SEARCH"), [b"SEARCH 1 2"])
        self.assertEqual(first.ok("SEARCH NEW").named("SEARCH"), [b"SEARCH 2"])
        self.assertEqual(second.ok("SEARCH OLD").named("SEARCH"), [b"SEARCH 1 2"])
        # new mail: the session whose next command sees it first takes it
        deliver(self.t, self.user, [message("r delivered")])
        r = second.ok("NOOP")
        self.assertEqual((r.named("EXISTS"), r.named("RECENT")), ([b"3 EXISTS"], [b"1 RECENT"]))
        self.assertIn(b"* 3 FETCH (FLAGS (\\Recent))", second.ok("FETCH 3 FLAGS").untagged)
        r = first.ok("NOOP")
        self.assertEqual((r.named("EXISTS"), r.named("RECENT")), ([b"3 EXISTS"], [b"2 RECENT"]))
        # APPEND into the selected mailbox: \Recent for the session that appended (it sees it first)
        self.append(first, message("r appended"))
        self.assertIn(b"* 4 FETCH (FLAGS (\\Recent))", first.ok("FETCH 4 FLAGS").untagged)
        # COPY into the selected mailbox likewise
        r = first.ok("COPY 1 INBOX")
        self.assertIn(b"* 5 FETCH (FLAGS (\\Recent \\Seen))", first.ok("FETCH 5 FLAGS").untagged)
        # IMAP4rev2 has no \Recent (RFC 9051 E.1)
        rev2 = self.conn()
        rev2.ok("ENABLE IMAP4rev2")
        self.assertNotIn("RECENT", select_info(rev2.select()))
        self.assertNotIn(b"Recent", b"".join(rev2.ok("FETCH 1:* FLAGS").untagged))


class Rev2Tests(ImapCase):
    """A client that enabled IMAP4rev2 (RFC 9051) gets rev2 responses."""

    def test_rev2_session(self):
        c = self.conn()
        for i in range(3):
            self.append(c, message(f"rev2 {i}"), flags="\\Seen" if i == 1 else "")
        c.ok('CREATE "Entwürfe"'.encode())  # rev1 session, but valid UTF-8 is taken as it is
        c.ok("ENABLE IMAP4rev2")
        r = c.select()
        info = select_info(r)
        self.assertNotIn("RECENT", info)  # RFC 9051 7.4.1: no RECENT in IMAP4rev2
        self.assertEqual(len(r.named("LIST")), 1)  # RFC 9051 6.3.2: the mailbox's LIST response
        # RFC 9051 6.4.4: SEARCH answers with ESEARCH, ALL implied
        r = c.ok("SEARCH UNSEEN")
        self.assertEqual(r.named("SEARCH"), [])
        es = r.named("ESEARCH")
        self.assertEqual(len(es), 1, r)
        v = parse(es[0])
        self.assertEqual(v[1], ["TAG", r.tag.encode()])
        self.assertEqual(str(v[2]).upper(), "ALL")
        self.assertEqual(seq_set(v[3]), [1, 3])
        r = c.ok("SEARCH SUBJECT nothing-like-this")
        self.assertEqual([parse(x) for x in r.named("ESEARCH")], [["ESEARCH", ["TAG", r.tag.encode()]]])
        # mailbox names in UTF-8, not modified UTF-7 (RFC 9051 5.1)
        names = [n for n, *_ in list_of(c.ok('LIST "" "Entw*"'))]
        self.assertEqual(names, ["Entwürfe"])
        self.assertEqual(status_of(c.ok('STATUS "Entwürfe" (MESSAGES DELETED SIZE)'.encode())),
                         {"Entwürfe": {"MESSAGES": 0, "DELETED": 0, "SIZE": 0}})


# --- mailboxes --------------------------------------------------------------------------------------

DEFAULT_FOLDERS = {"INBOX": None, "Drafts": "\\DRAFTS", "Sent": "\\SENT", "Junk": "\\JUNK", "Trash": "\\TRASH",
                   "Archive": "\\ARCHIVE"}


class MailboxTests(ImapCase):
    def listing(self, c, cmd='LIST "" "*"'):
        return {n: [a.upper() for a in attrs] for n, attrs, d, _ in list_of(c.ok(cmd))}

    def test_default_folders_with_special_use(self):
        c = self.conn()
        r = c.ok('LIST "" "*"')
        rows = list_of(r)
        self.assertEqual({d for _, _, d, _ in rows}, {"/"})
        got = {n: [a.upper() for a in attrs] for n, attrs, _, _ in rows}
        self.assertEqual(set(got), set(DEFAULT_FOLDERS))
        for name, use in DEFAULT_FOLDERS.items():
            if use:
                self.assertIn(use, got[name], f"{name}: {got[name]}")
            self.assertIn("\\HASNOCHILDREN", got[name], f"{name}: {got[name]}")
        # RFC 9051 6.3.9: an empty pattern gives the delimiter and the root
        r = c.ok('LIST "" ""')
        self.assertEqual(list_of(r)[0][2], "/")
        self.assertIn("\\NOSELECT", [a.upper() for a in list_of(r)[0][1]])
        # RFC 6154 2: LIST (SPECIAL-USE) and RETURN (SPECIAL-USE)
        sel = self.listing(c, 'LIST (SPECIAL-USE) "" "*"')
        self.assertEqual(set(sel), {n for n, u in DEFAULT_FOLDERS.items() if u})
        ret = self.listing(c, 'LIST "" "*" RETURN (SPECIAL-USE)')
        self.assertEqual(set(ret), set(DEFAULT_FOLDERS))
        self.assertIn("\\TRASH", ret["Trash"])
        # INBOX is case-insensitive
        self.assertEqual(list(self.listing(c, 'LIST "" "inbox"')), ["INBOX"])

    def test_atom_with_every_atom_char(self):
        """Issue 11: "[" is an ATOM-CHAR outside a FETCH section; SELECT of such a name answered
        BAD Unterminated section. It is one atom in CREATE, SELECT and LIST with wildcards."""
        c = self.conn()
        name = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
        r = c.cmd(f"SELECT {name}")
        self.assertEqual(r.status, "NO", r)   # not BAD: the atom was read, the mailbox does not exist
        c.ok(f'CREATE "{name}"')
        listed = list_of(c.ok(f'LIST "" {name}%*'))
        self.assertEqual(len(listed), 1, listed)
        self.assertEqual(c.ok(f"EXAMINE {name}").status, "OK")
        c.ok(f"DELETE {name}")

    def test_store_nil_keyword(self):
        """Issue 11: NIL is a valid flag keyword in STORE (it answered BAD Invalid flag)."""
        c = self.conn()
        self.append(c, message("nil"))
        c.select()
        # checked byte for byte: a flag-list holds flags, and this one is the keyword "NIL"
        # (\Recent first: the message is new to this IMAP4rev1 session)
        self.assertIn(b"* 1 FETCH (FLAGS (\\Recent NIL))", c.ok("STORE 1 +FLAGS (NIL)").untagged)
        self.assertIn(b"* 1 FETCH (FLAGS (\\Recent NIL))", c.ok("FETCH 1 FLAGS").untagged)
        c.ok("STORE 1 -FLAGS NIL")
        self.assertIn(b"* 1 FETCH (FLAGS (\\Recent))", c.ok("FETCH 1 FLAGS").untagged)

    def test_patterns_and_children(self):
        c = self.conn()
        c.ok('CREATE "Projects/2024/Q1"')  # RFC 9051 6.3.4: superior names are created too
        c.ok('CREATE "Projects/2023/"')   # a trailing delimiter only says children are meant
        c.ok('CREATE "Lists"')
        all_ = self.listing(c)
        for n in ("Projects", "Projects/2024", "Projects/2024/Q1", "Projects/2023", "Lists"):
            self.assertIn(n, all_)
        self.assertIn("\\HASCHILDREN", all_["Projects"])
        self.assertIn("\\HASCHILDREN", all_["Projects/2024"])
        self.assertIn("\\HASNOCHILDREN", all_["Projects/2024/Q1"])
        self.assertIn("\\HASNOCHILDREN", all_["Lists"])
        self.assertEqual(set(self.listing(c, 'LIST "" "%"')), set(DEFAULT_FOLDERS) | {"Projects", "Lists"})
        self.assertEqual(set(self.listing(c, 'LIST "" "Projects/%"')), {"Projects/2024", "Projects/2023"})
        self.assertEqual(set(self.listing(c, 'LIST "Projects/" "*"')),
                         {"Projects/2024", "Projects/2024/Q1", "Projects/2023"})
        self.assertEqual(set(self.listing(c, 'LIST "" "*/Q1"')), {"Projects/2024/Q1"})
        self.assertEqual(set(self.listing(c, 'LIST "" ("Lists" "Trash")')), {"Lists", "Trash"})  # RFC 5258
        self.assertEqual(self.listing(c, 'LIST "" "NoSuch*"'), {})
        ret = self.listing(c, 'LIST "" "Projects" RETURN (CHILDREN)')
        self.assertIn("\\HASCHILDREN", ret["Projects"])
        c.ok('SELECT "Projects/2024/Q1"')

    def test_create_errors_and_special_use(self):
        c = self.conn()
        self.assertStatus(c.cmd('CREATE "Lists"'), "OK")
        self.assertStatus(c.cmd('CREATE "Lists"'), "NO", "ALREADYEXISTS")
        self.assertStatus(c.cmd('CREATE "INBOX"'), "NO")
        self.assertStatus(c.cmd('CREATE "inbox"'), "NO")
        # RFC 6154 3: CREATE-SPECIAL-USE
        r = c.cmd('CREATE "Outgoing" (USE (\\Sent))')
        if r.status == "OK":
            self.assertIn("\\SENT", self.listing(c, 'LIST "" "Outgoing"')["Outgoing"])
        else:
            self.assertStatus(r, "NO", "USEATTR")
            self.assertEqual(self.listing(c, 'LIST "" "Outgoing"'), {})
        r = c.cmd('CREATE "Stars" (USE (\\Flagged))')  # Tern has no virtual mailboxes
        if r.status == "OK":
            self.assertIn("\\FLAGGED", self.listing(c, 'LIST "" "Stars"')["Stars"])
        else:
            self.assertStatus(r, "NO", "USEATTR")
            self.assertEqual(self.listing(c, 'LIST "" "Stars"'), {})
        self.assertStatus(c.cmd('CREATE "Bad" (USE (\\NoSuchUse))'), "NO", "USEATTR")
        self.assertEqual(self.listing(c, 'LIST "" "Bad"'), {})
        self.assertIn(c.cmd('CREATE "a%b"').status, ("NO", "BAD"))  # wildcards cannot be in names

    def test_delete(self):
        c = self.conn()
        c.ok('CREATE "Old"')
        self.append(c, message("in old"), "Old")
        c.ok('DELETE "Old"')
        self.assertEqual(self.listing(c, 'LIST "" "Old"'), {})
        self.assertStatus(c.cmd('SELECT "Old"'), "NO", "NONEXISTENT")
        self.assertStatus(c.cmd('DELETE "Old"'), "NO", "NONEXISTENT")
        self.assertStatus(c.cmd('DELETE "INBOX"'), "NO")
        # RFC 9051 6.3.5 (RFC 3501 6.3.4): DELETE does not remove inferior names.
        c.ok('CREATE "Parent/Child"')
        self.append(c, message("in child"), "Parent/Child")
        c.ok('DELETE "Parent"')
        listing = self.listing(c)
        self.assertIn("Parent/Child", listing)
        if "Parent" in listing:
            self.assertTrue({"\\NOSELECT", "\\NONEXISTENT"} & set(listing["Parent"]), listing["Parent"])
        r = c.ok('STATUS "Parent/Child" (MESSAGES)')
        self.assertEqual(status_of(r)["Parent/Child"]["MESSAGES"], 1)
        # the parent is now only a name above its child: deleting it again is an error (RFC 3501 6.3.4)
        self.assertStatus(c.cmd('DELETE "Parent"'), "NO")
        self.assertIn("Parent/Child", self.listing(c))
        # a new folder of an old name starts empty, with a new UIDVALIDITY
        c.ok('CREATE "Again"')
        v1 = status_of(c.ok('STATUS "Again" (UIDVALIDITY)'))["Again"]["UIDVALIDITY"]
        self.append(c, message("x"), "Again")
        c.ok('DELETE "Again"')
        c.ok('CREATE "Again"')
        st = status_of(c.ok('STATUS "Again" (UIDVALIDITY MESSAGES UIDNEXT)'))["Again"]
        self.assertEqual(st["MESSAGES"], 0)
        self.assertNotEqual(st["UIDVALIDITY"], v1, "RFC 9051 2.3.1.1: UIDVALIDITY reused for a new mailbox")
        self.assertCheckClean(self.t)

    def test_delete_selected_mailbox(self):
        c = self.conn()
        c.ok('CREATE "Gone"')
        c.select("Gone")
        r = c.cmd('DELETE "Gone"')
        self.assertStatus(r, "OK")
        self.assertStatus(c.cmd("FETCH 1:* UID"), "BAD")  # no longer selected
        c.select()

    def test_rename_with_children(self):
        c = self.conn()
        c.ok('CREATE "Work/Clients/Acme"')
        uid = self.append(c, message("acme mail"), "Work/Clients/Acme")
        v = status_of(c.ok('STATUS "Work/Clients/Acme" (UIDVALIDITY)'))["Work/Clients/Acme"]["UIDVALIDITY"]
        c.ok('RENAME "Work" "Job"')
        listing = self.listing(c)
        self.assertFalse([n for n in listing if n.startswith("Work")], listing)
        for n in ("Job", "Job/Clients", "Job/Clients/Acme"):
            self.assertIn(n, listing)
        info = select_info(c.select("Job/Clients/Acme"))
        self.assertEqual(self.subjects(c), {1: "acme mail"})
        r = c.ok("FETCH 1 UID")
        if info["UIDVALIDITY"] == v:  # a renamed mailbox may keep its UIDVALIDITY; then UIDs are kept too
            self.assertEqual(int(r.fetches()[1]["UID"]), uid)
        c.ok("UNSELECT")
        self.assertStatus(c.cmd('RENAME "NoSuch" "Other"'), "NO", "NONEXISTENT")
        self.assertStatus(c.cmd('RENAME "Job" "Trash"'), "NO", "ALREADYEXISTS")
        self.assertStatus(c.cmd('RENAME "Job" "Job/Inside"'), "NO")  # into its own child
        # into a new parent that does not exist yet
        c.ok('RENAME "Job/Clients/Acme" "Archive2/Acme"')
        self.assertIn("Archive2/Acme", self.listing(c))
        st = status_of(c.ok('STATUS "Archive2/Acme" (MESSAGES UIDVALIDITY)'))["Archive2/Acme"]
        self.assertEqual(st["MESSAGES"], 1)

    def test_rename_inbox(self):
        c = self.conn()
        for i in range(3):
            self.append(c, message(f"inbox {i}"))
        c.ok('CREATE "INBOX/Sub"')
        # RFC 9051 6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX empty;
        # inferior names of INBOX are not renamed.
        c.ok('RENAME "INBOX" "Old Inbox"')
        st = status_of(c.ok('STATUS "Old Inbox" (MESSAGES)'))
        self.assertEqual(st["Old Inbox"]["MESSAGES"], 3)
        self.assertEqual(status_of(c.ok('STATUS "INBOX" (MESSAGES)'))["INBOX"]["MESSAGES"], 0)
        listing = self.listing(c)
        self.assertIn("INBOX/Sub", listing)
        self.assertNotIn("Old Inbox/Sub", listing)
        c.select("Old Inbox")
        self.assertEqual(sorted(self.subjects(c).values()), ["inbox 0", "inbox 1", "inbox 2"])
        # new mail still arrives in INBOX
        deliver(self.t, self.user, [message("after rename", to=f"<{self.user}>")])
        self.assertEqual(status_of(c.ok('STATUS "INBOX" (MESSAGES)'))["INBOX"]["MESSAGES"], 1)
        self.assertEqual([m["subject"] for m in self.t.message_list(self.user)], ["after rename"])
        self.assertEqual(len(self.t.message_list(self.user, "Old Inbox")), 3)
        self.assertCheckClean(self.t)

    def test_subscriptions(self):
        c = self.conn()
        c.ok('CREATE "News"')
        c.ok('CREATE "News/Tech"')
        c.ok('SUBSCRIBE "News/Tech"')
        lsub = [n for n, *_ in list_of(c.ok('LSUB "" "*"'), "LSUB")]
        self.assertIn("News/Tech", lsub)
        sub = self.listing(c, 'LIST (SUBSCRIBED) "" "*"')
        self.assertIn("News/Tech", sub)
        self.assertIn("\\SUBSCRIBED", sub["News/Tech"])
        ret = self.listing(c, 'LIST "" "News*" RETURN (SUBSCRIBED)')
        self.assertIn("\\SUBSCRIBED", ret["News/Tech"])
        self.assertNotIn("\\SUBSCRIBED", ret.get("News", []))
        c.ok('UNSUBSCRIBE "News/Tech"')
        self.assertNotIn("News/Tech", [n for n, *_ in list_of(c.ok('LSUB "" "*"'), "LSUB")])
        self.assertNotIn("News/Tech", self.listing(c, 'LIST (SUBSCRIBED) "" "*"'))
        # a subscription survives its mailbox's deletion (RFC 9051 6.3.9, \NonExistent)
        c.ok('SUBSCRIBE "News"')
        c.ok('DELETE "News/Tech"')
        c.ok('DELETE "News"')
        sub = self.listing(c, 'LIST (SUBSCRIBED) "" "News"')
        if "News" in sub:
            self.assertIn("\\NONEXISTENT", sub["News"])

    def test_names_that_need_quoting_and_encoding(self):
        c = self.conn()
        odd = 'a "quoted" \\ name'
        wire = '"a \\"quoted\\" \\\\ name"'
        c.ok(f"CREATE {wire}")
        self.append(c, message("odd"), odd)
        self.assertIn(odd, self.listing(c))
        st = status_of(c.ok(f"STATUS {wire} (MESSAGES)"))
        self.assertEqual(st, {odd: {"MESSAGES": 1}})
        # the same name as a literal
        r = c.cmd_literals(["SELECT ", ("lit", odd.encode())])
        self.assertStatus(r, "OK")
        self.assertEqual(select_info(r)["EXISTS"], 1)
        # "&" is "&-" in modified UTF-7 (RFC 3501 5.1.3)
        c.ok('CREATE "R&-D"')
        self.assertIn("R&-D", self.listing(c, 'LIST "" "R*"'))
        u = self.conn()
        u.ok("ENABLE UTF8=ACCEPT")
        self.assertEqual(list(self.listing(u, 'LIST "" "R*"')), ["R&D"])

    def test_lsub_percent_shows_the_unsubscribed_parent(self):
        c = self.conn()
        c.ok('CREATE "News/Tech"')
        c.ok('SUBSCRIBE "News/Tech"')
        # RFC 3501 6.3.9: "if "foo/bar" is subscribed but "foo" is not, a "%" wildcard to LSUB must
        # return foo, not foo/bar, with the \Noselect attribute"
        lsub_top = {n: [a.upper() for a in at] for n, at, *_ in list_of(c.ok('LSUB "" "%"'), "LSUB")}
        self.assertIn("News", lsub_top, lsub_top)
        self.assertIn("\\NOSELECT", lsub_top["News"])
        self.assertNotIn("News/Tech", lsub_top)

    def test_list_recursivematch_childinfo(self):
        c = self.conn()
        c.ok('CREATE "News/Tech"')
        c.ok('SUBSCRIBE "News/Tech"')
        # RFC 5258 3.5 (RECURSIVEMATCH): the parent that matches only through a subscribed child comes
        # with the CHILDINFO extended data item
        rows = {n: (attrs, extra) for n, attrs, _, extra in list_of(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'))}
        self.assertIn("News", rows, rows)
        self.assertNotIn("\\SUBSCRIBED", [a.upper() for a in rows["News"][0]])
        self.assertEqual(norm(rows["News"][1]), [["CHILDINFO", ["SUBSCRIBED"]]])
        self.assertNotIn("News/Tech", rows)
        self.assertStatus(c.cmd('LIST (RECURSIVEMATCH) "" "%"'), "BAD")  # RFC 5258 3: never alone

    def test_namespace(self):
        c = self.conn()
        r = c.ok("NAMESPACE")
        self.assertEqual(len(r.named("NAMESPACE")), 1, r)
        v = parse(r.named("NAMESPACE")[0])
        self.assertEqual(v[1], [[b"", b"/"]])
        self.assertEqual(v[2:], [None, None])

    def test_status(self):
        c = self.conn()
        msgs = [message(f"s{i}", body=b"x" * (100 * (i + 1)) + b"\r\n") for i in range(4)]
        deliver(self.t, self.user, [m.replace(b"<bob@tern.test>", f"<{self.user}>".encode()) for m in msgs])
        c.select()
        c.ok("STORE 1 +FLAGS (\\Seen)")
        c.ok("STORE 2 +FLAGS (\\Seen \\Deleted)")
        sizes = {n: int(i["RFC822.SIZE"]) for n, i in c.ok("FETCH 1:* RFC822.SIZE").fetches().items()}
        info = select_info(c.ok("EXAMINE INBOX"))
        hms = int(fetch_items(c.ok("FETCH 1:* MODSEQ").untagged[-1])[1]["MODSEQ"][0])
        c.ok("UNSELECT")
        r = c.ok("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT)")
        st = status_of(r)["INBOX"]
        self.assertEqual(st["MESSAGES"], 4)
        self.assertEqual(st["UNSEEN"], 2)
        self.assertEqual(st["DELETED"], 1)
        self.assertEqual(st["UIDNEXT"], info["UIDNEXT"])
        self.assertEqual(st["UIDVALIDITY"], info["UIDVALIDITY"])
        self.assertEqual(st["SIZE"], sum(sizes.values()))
        self.assertEqual(st["SIZE"], sum(m["size"] for m in self.t.message_list(self.user)))
        self.assertGreaterEqual(st["HIGHESTMODSEQ"], hms)
        self.assertEqual(st["HIGHESTMODSEQ"], info["HIGHESTMODSEQ"])
        self.assertStatus(c.cmd('STATUS "NoSuch" (MESSAGES)'), "NO", "NONEXISTENT")
        self.assertStatus(c.cmd("STATUS INBOX (BOGUS)"), "BAD")
        # LIST-STATUS (RFC 5819)
        r = c.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
        sts = status_of(r)
        self.assertEqual(set(sts), set(DEFAULT_FOLDERS))
        self.assertEqual(sts["INBOX"], {"MESSAGES": 4, "UNSEEN": 2, "SIZE": st["SIZE"]})
        self.assertEqual(sts["Trash"]["MESSAGES"], 0)
        # the STATUS response of a mailbox follows its LIST response
        order = [u.split(b" ")[1] for u in r.untagged]
        self.assertEqual(order[0], b"LIST")
        for i in range(0, len(order), 2):
            self.assertEqual(order[i:i + 2], [b"LIST", b"STATUS"], r.untagged)


# --- APPEND -----------------------------------------------------------------------------------------

class AppendTests(ImapCase):
    def test_append_flags_date_and_fetch_back(self):
        c = self.conn()
        msg = message("appended", body=b"Line one.\r\nLine two.\r\n")
        r = c.cmd_literals(['APPEND INBOX (\\Seen $Work) "14-Jul-2021 02:44:25 +0200" ', ("lit", msg)])
        self.assertStatus(r, "OK", "APPENDUID")
        uv, uid = map(int, r.code.split()[1:])
        info = select_info(c.select())
        self.assertEqual(uv, info["UIDVALIDITY"])
        self.assertEqual(info["EXISTS"], 1)
        self.assertEqual(info["UIDNEXT"], uid + 1)
        self.assertIn("$Work", info["FLAGS"])
        self.assertIn("\\*", info["PERMANENTFLAGS"])
        f = c.ok("FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])").fetches()[1]
        self.assertEqual(int(f["UID"]), uid)
        self.assertEqual(sorted(f["FLAGS"]), ["$Work", "\\Seen"])
        self.assertEqual(internaldate(f["INTERNALDATE"]),
                         datetime.datetime(2021, 7, 14, 0, 44, 25, tzinfo=datetime.timezone.utc))
        self.assertEqual(f["BODY[]"], msg, "an APPENDed message must come back unchanged")
        self.assertEqual(int(f["RFC822.SIZE"]), len(msg))
        self.assertEqual(self.t.message_bytes(self.user, uid), msg)
        listed = self.t.message_list(self.user)
        self.assertEqual([(m["uid"], m["size"], m["subject"]) for m in listed], [(uid, len(msg), "appended")])

    def test_literal_plus_and_multiappend(self):
        c = self.conn()
        a, b, d = message("one"), message("two"), message("three")
        c.send(b"m1 APPEND INBOX {%d+}\r\n" % len(a) + a + b" (\\Flagged) {%d+}\r\n" % len(b) + b
               + b" {%d+}\r\n" % len(d) + d + b"\r\n")
        r = c.read_until_tagged("m1")
        self.assertStatus(r, "OK", "APPENDUID")
        uids = seq_set(r.code.split()[2])
        self.assertEqual(len(uids), 3, r)
        c.select()
        f = c.ok("FETCH 1:* (UID FLAGS BODY.PEEK[])").fetches()
        self.assertEqual([int(f[n]["UID"]) for n in (1, 2, 3)], uids)
        self.assertEqual([f[n]["BODY[]"] for n in (1, 2, 3)], [a, b, d])
        self.assertEqual(f[2]["FLAGS"], ["\\Flagged"])
        # LITERAL+ is announced (not LITERAL-): a non-synchronizing literal of any size up to
        # APPENDLIMIT is accepted (RFC 7888 3, 4).
        big = message("big literal plus", body=(b"q" * 998 + b"\r\n") * 60)
        c.send(b"m3 APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        r = c.read_until_tagged("m3")
        self.assertStatus(r, "OK", "APPENDUID")
        c.ok("NOOP")
        self.assertEqual(c.ok("FETCH 4 BODY.PEEK[]").fetches()[4]["BODY[]"], big)
        # MULTIAPPEND is atomic: a bad message in the middle appends none (RFC 3502 6.3.11)
        c.send(b"m2 APPEND INBOX {%d+}\r\n" % len(a) + a + b" (\\Bogus-Flag-Syntax ( {3+}\r\nabc\r\n")
        r = c.read_until_tagged("m2")
        self.assertIn(r.status, ("BAD", "NO"), r)
        self.assertEqual(c.ok("NOOP").named("EXISTS"), [])
        self.assertEqual(len(self.t.message_list(self.user)), 4)

    def test_synchronizing_literal_continuation(self):
        c = self.conn()
        msg = message("sync literal")
        c.send(b"s1 APPEND Drafts (\\Draft) {%d}\r\n" % len(msg))
        self.assertTrue(c.line().startswith(b"+"), "no continuation for a synchronizing literal")
        c.send(msg + b"\r\n")
        r = c.read_until_tagged("s1")
        self.assertStatus(r, "OK", "APPENDUID")
        st = status_of(c.ok('STATUS Drafts (MESSAGES)'))["Drafts"]
        self.assertEqual(st["MESSAGES"], 1)

    def test_append_to_missing_mailbox_trycreate(self):
        c = self.conn()
        r = c.cmd_literals(['APPEND "Nowhere" ', ("lit", message("lost"))])
        self.assertStatus(r, "NO", "TRYCREATE")
        c.ok('CREATE "Nowhere"')
        self.append(c, message("found"), "Nowhere")
        self.assertEqual(status_of(c.ok('STATUS "Nowhere" (MESSAGES)'))["Nowhere"]["MESSAGES"], 1)

    def test_append_too_big_refused_and_session_goes_on(self):
        c = self.conn()
        # RFC 7889: a literal over APPENDLIMIT is refused before it is sent: NO [TOOBIG] (or BAD),
        # without a continuation.
        c.send(b"big APPEND INBOX {200000000}\r\n")
        r = c.response()
        self.assertTrue(r.startswith(b"big NO [TOOBIG]") or r.startswith(b"big BAD"), r)
        c.ok("NOOP")
        self.append(c, message("small after big"))
        c.select()
        self.assertEqual(self.subjects(c), {1: "small after big"})

    def test_interrupted_append_stores_nothing(self):
        c = self.conn()
        msg = message("cut short", body=b"z" * 20000 + b"\r\n")
        c.send(b"cut APPEND INBOX {%d}\r\n" % len(msg))
        self.assertTrue(c.line().startswith(b"+"))
        c.send(msg[:7000])
        c.close()
        c = self.conn()
        c.send(b"cut2 APPEND INBOX {%d+}\r\n" % len(msg) + msg[:3000])
        c.close()
        needle = f"({self.user}): client closed the connection"
        deadline = time.monotonic() + WAIT
        while self.t.log().count(needle) < 2:  # both sessions are over
            self.assertLess(time.monotonic(), deadline, self.t.log())
            time.sleep(0.05)
        c = self.conn()
        self.append(c, message("whole"))  # the mailbox still works
        self.assertEqual([m["subject"] for m in self.t.message_list(self.user)], ["whole"])
        self.assertCheckClean(self.t)

    def test_append_empty_and_bad_date(self):
        c = self.conn()
        self.assertIn(c.cmd_literals(["APPEND INBOX ", ("lit", b"")]).status, ("NO", "BAD"))
        r = c.cmd_literals(['APPEND INBOX "31-Foo-2021 99:00:00 +0000" ', ("lit", message("bad date"))])
        self.assertEqual(r.status, "BAD", r)
        self.assertEqual(self.t.message_list(self.user), [])
        c.ok("NOOP")


class QuotaTests(ImapCase):
    server_kw = {"limits": {"mailbox_quota": 20000, "max_message_size": 15000}}

    def test_status_appendlimit(self):
        c = self.conn()
        # RFC 7889 4: the limit is also a STATUS item
        self.assertEqual(status_of(c.ok("STATUS INBOX (APPENDLIMIT)")), {"INBOX": {"APPENDLIMIT": 15000}})

    def test_appendlimit_follows_max_message_size(self):
        c = self.conn()
        caps = caps_of(c.ok("CAPABILITY").untagged[0])
        self.assertIn("APPENDLIMIT=15000", caps)
        msg = message("limit", body=b"w" * 14000 + b"\r\n")
        self.assertLessEqual(len(msg), 15000)
        self.append(c, msg)
        over = message("over", body=b"w" * 15000 + b"\r\n")
        r = c.cmd_literals(["APPEND INBOX ", ("lit", over)])
        self.assertStatus(r, "NO", "TOOBIG")  # RFC 7889 4: without a continuation
        # too big as a non-synchronizing literal: refused (the server may then close the connection,
        # as its bytes are already on their way)
        c.send(b"nb APPEND INBOX {%d+}\r\n" % len(over) + over + b"\r\n")
        r = c.read_until_tagged("nb")
        self.assertIn(r.status, ("NO", "BAD"), r)
        self.assertEqual([m["subject"] for m in self.t.message_list(self.user)], ["limit"])

    def test_over_quota_and_getquota(self):
        c = self.conn()
        r = c.ok("GETQUOTAROOT INBOX")
        roots = r.named("QUOTAROOT")
        self.assertEqual(len(roots), 1, r)
        root = parse(roots[0])[2]
        quotas = r.named("QUOTA")
        self.assertEqual(len(quotas), 1, r)
        q = parse(quotas[0])
        self.assertEqual(q[1], root)
        self.assertEqual(norm(q[2][0]), "STORAGE")
        self.assertEqual((int(q[2][1]), int(q[2][2])), (0, 20000 // 1024))
        big = message("big", body=(b"y" * 998 + b"\r\n") * 12)
        self.append(c, big)
        r = c.cmd_literals(["APPEND INBOX ", ("lit", big)])
        self.assertStatus(r, "NO", "OVERQUOTA")
        self.assertEqual(len(self.t.message_list(self.user)), 1)
        r = c.ok(f'GETQUOTA "{root.decode() if isinstance(root, bytes) else root}"')
        q = parse(r.named("QUOTA")[0])
        self.assertEqual(int(q[2][1]), (len(big) + 1023) // 1024)
        self.assertStatus(c.cmd('SETQUOTA "" (STORAGE 1000000)'), "NO")
        # COPY over the quota is refused too (RFC 9208 4.4), and copies nothing
        c.select()
        self.assertStatus(c.cmd("COPY 1 Archive"), "NO", "OVERQUOTA")
        self.assertEqual(self.t.message_list(self.user, "Archive"), [])
        # Deleting frees the space again
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        self.append(c, big)


# --- FETCH ------------------------------------------------------------------------------------------


if __name__ == "__main__":
    main()
