"""POP3 on the real server: the pop3 (STLS) and pop3s listeners with poplib and fetchmail, mail
delivered over SMTP first.

What a user sees is checked: RETR gives back byte for byte the message that was sent (after Tern's
Return-Path: and Received: fields), LIST/STAT sizes equal what RETR sends, DELE takes effect only at
QUIT (and `tern message list` agrees), a dropped connection deletes nothing, a second session gets
[IN-USE], unique ids survive a restart and an index rebuild, plaintext logins need TLS. A crash test
kills the server with SIGKILL while QUIT expunges and checks that nothing was lost that was not
deleted, and that a confirmed QUIT was durable.
"""

import base64
import json
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import HOST, PASSWORD, WAIT, TernTestCase, main, make_message, split_trace, tls_context, unique

BOB = "bob@tern.test"
ALICE = "alice@tern.test"
SENDER = "sender@example.test"
SERVICES = ("smtp", "pop3", "pop3s")


def deliver(server, rcpt, messages, connections=1):
    """Sends each (subject, bytes) over SMTP on `connections` parallel sessions; waits until the
    spool has put them all in the mailbox (by its log lines: polling `tern message list` while the
    server makes a new mailbox's INBOX races it, a store bug reported to the lead) and returns the list."""
    needle = f"delivered to {rcpt} (uid"
    before = server.log().count(needle)
    chunks = [messages[i::connections] for i in range(connections)]

    def send(chunk):
        with smtplib.SMTP(HOST, server.ports["smtp"], local_hostname="client.test", timeout=WAIT) as s:
            for _, msg in chunk:
                s.sendmail(SENDER, [rcpt], msg)

    with ThreadPoolExecutor(max_workers=connections) as ex:
        list(ex.map(send, chunks))
    deadline = time.monotonic() + WAIT
    while server.log().count(needle) < before + len(messages):
        assert time.monotonic() < deadline, f"not all {len(messages)} messages were delivered\n{server.log()}"
        time.sleep(0.05)
    return server.message_list(rcpt)


def listed_after_crash(server, address):
    """`tern message list --json` right after a crash: the CLI's first open reconciles the index and
    logs that on stdout before the JSON (reported to the lead), so take the JSON line."""
    out = server.cli_ok("message", "list", address, "--json").stdout
    return json.loads([line for line in out.splitlines() if line.startswith("[")][-1])


def pop_stls(server):
    p = poplib.POP3(HOST, server.ports["pop3"], timeout=WAIT)
    p.stls(context=tls_context())
    return p


def pop_ssl(server):
    return poplib.POP3_SSL(HOST, server.ports["pop3s"], timeout=WAIT, context=tls_context())


def login(p, user=BOB, password=PASSWORD):
    p.user(user)
    p.pass_(password)
    return p


def wire(lines):
    """What RETR sent, before dot-stuffing: poplib's unstuffed lines joined with CRLF, and the last CRLF."""
    return b"".join(line + b"\r\n" for line in lines)


class RawPOP:
    """A socket-level POP3 client for what poplib cannot do: pipelining, odd bytes, dropping."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection((HOST, port), timeout=WAIT)
        if tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="mx.tern.test")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; unread: {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multiline(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line[1:] if line.startswith(b".") else line)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def closed(self):
        """True when the server closed the connection (after whatever it still had to say)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
            return True
        except (socket.timeout, ssl.SSLError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Pop3Case(TernTestCase):
    def server(self, **kw):
        kw.setdefault("users", (BOB, ALICE))
        return self.make_server(services=SERVICES, **kw)

    def assertErr(self, fn, prefix):
        with self.assertRaises(poplib.error_proto) as cm:
            fn()
        text = cm.exception.args[0]
        text = text if isinstance(text, bytes) else str(text).encode()
        self.assertTrue(text.startswith(prefix), text)
        return text


class SessionTests(Pop3Case):
    def setUp(self):
        self.t = self.server()

    def test_capa_before_and_after_stls(self):
        p = poplib.POP3(HOST, self.t.ports["pop3"], timeout=WAIT)
        self.assertTrue(p.getwelcome().startswith(b"+OK mx.tern.test"))
        caps = p.capa()
        for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "UTF8", "STLS"):
            self.assertIn(c, caps)
        self.assertEqual(caps["IMPLEMENTATION"], ["Tern"])
        self.assertNotIn("USER", caps, "USER offered without TLS and without allow_plaintext")
        self.assertNotIn("SASL", caps)
        p.stls(context=tls_context())
        caps = p.capa()
        self.assertNotIn("STLS", caps, "STLS offered again inside TLS")
        self.assertIn("USER", caps)
        self.assertEqual(sorted(caps["SASL"]), ["LOGIN", "PLAIN"])
        p.quit()

    def test_plaintext_login_refused_without_tls(self):
        p = poplib.POP3(HOST, self.t.ports["pop3"], timeout=WAIT)
        self.assertErr(lambda: p.user(BOB), b"-ERR [AUTH]")
        token = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
        self.assertErr(lambda: p._shortcmd("AUTH PLAIN " + token), b"-ERR [AUTH]")
        self.assertErr(lambda: p.stat(), b"-ERR")  # not logged in
        p.quit()

    def test_retr_list_stat_uidl_byte_for_byte(self):
        bodies = [
            b"First line.\r\n.\r\n.leading dot\r\n..two dots\r\nlast\r\n",
            b"x" * 990 + b"\r\n" + "Gr\u00fc\u00dfe, caf\u00e9 \u2713\r\n".encode() + b"\r\n\r\n",
            b"Short.\r\n",
        ]
        sent = [(unique("retr"), None) for _ in bodies]
        sent = [(s, make_message(SENDER, BOB, s, b)) for (s, _), b in zip(sent, bodies)]
        deliver(self.t, BOB, sent)
        entries = {m["subject"]: m for m in self.t.message_list(BOB)}

        p = login(pop_stls(self.t))
        count, octets = p.stat()
        self.assertEqual(count, 3)
        _, listing, _ = p.list()
        sizes = {int(n): int(s) for n, s in (l.split() for l in listing)}
        self.assertEqual(sorted(sizes), [1, 2, 3])
        self.assertEqual(octets, sum(sizes.values()))
        _, uidls, _ = p.uidl()
        uids = {int(n): u.decode() for n, u in (l.split() for l in uidls)}
        self.assertEqual(len(set(uids.values())), 3)
        for n in (1, 2, 3):
            _, lines, _ = p.retr(n)
            got = wire(lines)
            subject = [s for s, m in sent if got.endswith(m)]
            self.assertEqual(len(subject), 1, f"RETR {n} is none of the sent messages:\n{got[:500]!r}")
            entry = entries[subject[0]]
            self.assertEqual(len(got), sizes[n], "LIST size differs from what RETR sent")
            self.assertEqual(len(got), entry["size"])
            self.assertEqual(got, self.t.message_bytes(BOB, entry["uid"]))
            trace, rest = split_trace(got)
            self.assertTrue(trace.startswith(f"Return-Path: <{SENDER}>\r\n".encode()), trace)
            self.assertEqual(rest, dict(sent)[subject[0]])
            self.assertEqual(p.list(n).split()[1:], [b"%d" % n, b"%d" % sizes[n]])
            self.assertEqual(p.uidl(n).split()[1:], [b"%d" % n, uids[n].encode()])
        p.quit()

    def test_top(self):
        subj = unique("top")
        deliver(self.t, BOB, [(subj, make_message(SENDER, BOB, subj, b"l1\r\n.l2\r\nl3\r\n"))])
        p = login(pop_ssl(self.t))
        _, lines, _ = p.top(1, 0)
        head = wire(lines)
        self.assertTrue(head.endswith(b"\r\n\r\n"), head)
        self.assertIn(f"Subject: {subj}\r\n".encode(), head)
        _, lines, _ = p.top(1, 2)
        self.assertEqual(wire(lines), head + b"l1\r\n.l2\r\n")
        _, lines, _ = p.top(1, 100)
        self.assertEqual(wire(lines), wire(p.retr(1)[1]))
        self.assertErr(lambda: p.top(2, 0), b"-ERR")
        p.quit()

    def test_auth_plain_and_login(self):
        subj = unique("auth")
        deliver(self.t, BOB, [(subj, make_message(SENDER, BOB, subj))])
        token = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
        # PLAIN with an initial response, over pop3s
        p = pop_ssl(self.t)
        self.assertTrue(p._shortcmd("AUTH PLAIN " + token).startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        # PLAIN without an initial response: an empty challenge "+ ", then the response
        p = pop_stls(self.t)
        self.assertEqual(p._shortcmd("AUTH PLAIN"), b"+ ")
        self.assertTrue(p._shortcmd(token).startswith(b"+OK"))
        p.quit()
        # LOGIN: two challenges
        p = pop_ssl(self.t)
        self.assertEqual(p._shortcmd("AUTH LOGIN"), b"+ " + base64.b64encode(b"Username:"))
        self.assertEqual(p._shortcmd(base64.b64encode(BOB.encode()).decode()), b"+ " + base64.b64encode(b"Password:"))
        self.assertTrue(p._shortcmd(base64.b64encode(PASSWORD.encode()).decode()).startswith(b"+OK"))
        p.quit()
        # cancelled, unknown mechanism, wrong password
        p = pop_ssl(self.t)
        self.assertEqual(p._shortcmd("AUTH PLAIN"), b"+ ")
        self.assertErr(lambda: p._shortcmd("*"), b"-ERR")
        self.assertErr(lambda: p._shortcmd("AUTH CRAM-MD5"), b"-ERR")
        bad = base64.b64encode(f"\0{BOB}\0wrong".encode()).decode()
        self.assertErr(lambda: p._shortcmd("AUTH PLAIN " + bad), b"-ERR [AUTH]")
        self.assertTrue(p._shortcmd("AUTH PLAIN " + token).startswith(b"+OK"))
        p.quit()

    def test_wrong_password_and_unknown_user(self):
        p = pop_ssl(self.t)
        p.user(BOB)
        self.assertErr(lambda: p.pass_("wrong"), b"-ERR [AUTH]")
        p.user("nobody@tern.test")  # USER never says whether a mailbox exists
        self.assertErr(lambda: p.pass_(PASSWORD), b"-ERR [AUTH]")
        login(p)  # the session goes on
        p.quit()

    def test_archive_cannot_log_in(self):
        self.t.cli_ok("archive", "add", "records@tern.test")
        p = pop_ssl(self.t)
        p.user("records@tern.test")
        self.assertErr(lambda: p.pass_("anything"), b"-ERR [AUTH]")
        p.quit()

    def test_dele_quit_removes_and_message_list_agrees(self):
        sent = [(unique("dele"), None) for _ in range(3)]
        sent = [(s, make_message(SENDER, BOB, s)) for s, _ in sent]
        deliver(self.t, BOB, sent)
        p = login(pop_ssl(self.t))
        subjects = {}
        for n in (1, 2, 3):
            head = wire(p.top(n, 0)[1])
            subjects[n] = [s for s, _ in sent if f"Subject: {s}\r\n".encode() in head][0]
        p.dele(1)
        p.dele(3)
        self.assertErr(lambda: p.dele(3), b"-ERR")
        self.assertErr(lambda: p.retr(1), b"-ERR")
        self.assertErr(lambda: p.list(3), b"-ERR")
        self.assertEqual(p.stat()[0], 1)
        self.assertEqual([l.split()[0] for l in p.list()[1]], [b"2"])
        self.assertEqual(len(self.t.message_list(BOB)), 3, "DELE removed a message before QUIT")
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual([m["subject"] for m in self.t.message_list(BOB)], [subjects[2]])
        p = login(pop_ssl(self.t))
        self.assertEqual(p.stat()[0], 1)
        self.assertIn(f"Subject: {subjects[2]}\r\n".encode(), wire(p.top(1, 0)[1]))
        p.quit()

    def test_dropped_connection_deletes_nothing(self):
        sent = [(s, make_message(SENDER, BOB, s)) for s in (unique("drop") for _ in range(3))]
        deliver(self.t, BOB, sent)
        p = login(pop_ssl(self.t))
        for n in (1, 2, 3):
            p.dele(n)
        self.assertEqual(p.stat()[0], 0)
        p.close()  # no QUIT
        self.t.wait_for_log("3 message(s) marked for deletion kept")
        self.assertEqual(len(self.t.message_list(BOB)), 3)
        p = login(pop_ssl(self.t))  # and the maildrop lock was released
        self.assertEqual(p.stat()[0], 3)
        p.quit()

    def test_rset_unmarks(self):
        sent = [(s, make_message(SENDER, BOB, s)) for s in (unique("rset") for _ in range(2))]
        deliver(self.t, BOB, sent)
        p = login(pop_ssl(self.t))
        total = p.stat()[1]
        p.dele(1)
        p.dele(2)
        self.assertEqual(p.stat(), (0, 0))
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat(), (2, total))
        p.quit()
        self.assertEqual(len(self.t.message_list(BOB)), 2)

    def test_second_session_gets_in_use(self):
        first = login(pop_ssl(self.t))
        second = pop_stls(self.t)
        second.user(BOB)
        self.assertErr(lambda: second.pass_(PASSWORD), b"-ERR [IN-USE]")
        login(pop_ssl(self.t), ALICE).quit()  # another maildrop is not affected
        first.quit()
        login(second)  # free again once the first session has ended
        second.quit()

    def test_utf8_command(self):
        p = pop_ssl(self.t)
        self.assertTrue(p.utf8().startswith(b"+OK"))
        login(p)
        self.assertErr(lambda: p.utf8(), b"-ERR")  # AUTHORIZATION state only (RFC 6856 2)
        p.quit()

    def test_pipelined_commands(self):
        subj = unique("pipe")
        deliver(self.t, BOB, [(subj, make_message(SENDER, BOB, subj))])
        r = RawPOP(self.t.ports["pop3s"], tls=True)
        self.assertTrue(r.line().startswith(b"+OK"))
        r.send(f"USER {BOB}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nRETR 1\r\nNOOP\r\nQUIT\r\n")
        self.assertTrue(r.line().startswith(b"+OK"))
        self.assertTrue(r.line().startswith(b"+OK Logged in"))
        stat = r.line().split()
        self.assertEqual(stat[:2], [b"+OK", b"1"])
        self.assertTrue(r.line().startswith(b"+OK"))
        listing = r.multiline()
        self.assertEqual(listing, [b"1 " + stat[2]])
        self.assertTrue(r.line().startswith(b"+OK"))
        msg = r.multiline()
        self.assertEqual(len(b"".join(l + b"\r\n" for l in msg)), int(stat[2]))
        self.assertEqual(r.line(), b"+OK")
        self.assertTrue(r.line().startswith(b"+OK"))
        self.assertTrue(r.closed())
        r.close()

    def test_stls_discards_pipelined_plaintext(self):
        r = RawPOP(self.t.ports["pop3"])
        r.line()
        r.send("STLS\r\nCAPA\r\n")
        self.assertTrue(r.line().startswith(b"+OK"))
        r.sock = tls_context().wrap_socket(r.sock, server_hostname="mx.tern.test")
        r.buf = b""
        # The CAPA sent before the handshake must not be answered inside TLS.
        self.assertEqual(r.cmd("NOOP"), b"-ERR Not logged in")
        r.close()
        self.t.wait_for_log("discarded 6 octets pipelined after STLS")

    def test_protocol_errors_close_the_session(self):
        r = RawPOP(self.t.ports["pop3s"], tls=True)
        r.line()
        for _ in range(20):
            self.assertTrue(r.cmd("XYZZY").startswith(b"-ERR"))
        self.assertEqual(r.line(), b"-ERR Too many errors; closing the connection")
        self.assertTrue(r.closed())
        r.close()

    def test_long_line_is_refused_and_session_goes_on(self):
        r = RawPOP(self.t.ports["pop3s"], tls=True)
        r.line()
        self.assertEqual(r.cmd("USER " + "a" * 300), b"-ERR Line too long")
        self.assertTrue(r.cmd("USER " + BOB).startswith(b"+OK"))
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith(b"+OK"))
        self.assertTrue(r.cmd("QUIT").startswith(b"+OK"))
        r.close()


class PlaintextAllowedTests(Pop3Case):
    def test_user_pass_without_tls_when_allowed(self):
        t = self.server(allow_plaintext=True)
        p = poplib.POP3(HOST, t.ports["pop3"], timeout=WAIT)
        caps = p.capa()
        self.assertIn("USER", caps)
        self.assertIn("STLS", caps)
        login(p)
        self.assertEqual(p.stat(), (0, 0))
        p.quit()


class ThrottleTests(Pop3Case):
    def test_more_than_ten_failures_refuse_the_address(self):
        t = self.server()

        def fail(_):
            p = pop_ssl(t)
            p.user(BOB)
            try:
                p.pass_("wrong")
                return b"+OK"
            except poplib.error_proto as e:
                return e.args[0]
            finally:
                p.close()

        with ThreadPoolExecutor(max_workers=11) as ex:
            results = list(ex.map(fail, range(11)))
        self.assertTrue(all(r.startswith(b"-ERR [AUTH]") for r in results), results)
        p = pop_ssl(t)
        p.user(BOB)
        self.assertErr(lambda: p.pass_(PASSWORD), b"-ERR [SYS/TEMP]")  # even the right password, for now
        p.close()
        t.wait_for_log("too many failed logins from this address")


class RemovedMeanwhileTests(Pop3Case):
    def test_retr_of_a_message_an_imap_session_expunged_says_so(self):
        """A message expunged over IMAP after the POP3 snapshot: RETR says it was removed (by its error
        kind, not_found), not an internal error."""
        import imaplib
        t = self.make_server(users=(BOB, ALICE), services=SERVICES + ("imap",))
        subj = unique("removed")
        deliver(t, BOB, [(subj, make_message(SENDER, BOB, subj))])
        p = login(pop_ssl(t))
        self.assertEqual(p.stat()[0], 1)
        imap = imaplib.IMAP4(HOST, t.ports["imap"])
        imap.starttls(ssl_context=tls_context())
        imap.login(BOB, PASSWORD)
        imap.select("INBOX")
        imap.store("1", "+FLAGS", "\\Deleted")
        imap.expunge()
        imap.logout()
        text = self.assertErr(lambda: p.retr(1), b"-ERR")
        self.assertIn(b"Message 1 was removed by another session", text)
        p.quit()


class UidlStabilityTests(Pop3Case):
    def test_uidl_survives_restart_and_index_rebuild(self):
        t = self.server()
        sent = [(s, make_message(SENDER, BOB, s)) for s in (unique("uidl") for _ in range(4))]
        deliver(t, BOB, sent)

        def uidls():
            p = login(pop_ssl(t))
            out = [l.split()[1].decode() for l in p.uidl()[1]]
            p.quit()
            return out

        first = uidls()
        self.assertEqual(sorted(first), sorted(n for n in os.listdir(t.folder_dir(BOB)) if not n.startswith(".")), "UIDL is not the file name")
        t.stop()
        t.start()
        self.assertEqual(uidls(), first, "UIDL changed across a restart")
        t.stop()
        box = os.path.dirname(os.path.dirname(t.folder_dir(BOB)))
        for name in os.listdir(box):
            if name.startswith("index.db"):
                os.remove(os.path.join(box, name))
        t.start()
        self.assertEqual(uidls(), first, "UIDL changed across an index rebuild")


class CrashTests(Pop3Case):
    """SIGKILL while QUIT expunges: nothing not DELE'd may be lost, and a +OK for QUIT must be durable."""

    def crash_round(self, delay):
        t = self.server()
        sent = [(s, make_message(SENDER, BOB, s)) for s in (unique(f"crash{i}") for i in range(200))]
        deliver(t, BOB, sent, connections=4)
        by_uid = {m["uid"]: m["subject"] for m in t.message_list(BOB)}
        self.assertEqual(len(by_uid), 200)

        p = login(pop_ssl(t))
        _, uidls, _ = p.uidl()
        numbers = {int(n): int(u.split(b".")[0]) for n, u in (l.split() for l in uidls)}
        deleted = set()
        # DELE 150 of the 200, pipelined in one write; read the 150 answers.
        targets = [n for n in sorted(numbers) if n % 4 != 0]
        p.sock.sendall(b"".join(b"DELE %d\r\n" % n for n in targets))
        for n in targets:
            self.assertTrue(p._getresp().startswith(b"+OK"))
            deleted.add(by_uid[numbers[n]])
        kept = set(by_uid.values()) - deleted

        p._putcmd("QUIT")
        if delay is None:  # wait for the answer, then crash: a confirmed QUIT must stay done
            quit_ok = p._getresp().startswith(b"+OK")
            t.kill()
        else:
            if delay:
                time.sleep(delay)
            t.kill()
            try:
                quit_ok = p._getresp().startswith(b"+OK")
            except (poplib.error_proto, OSError, EOFError):
                quit_ok = False
        p.close()

        t.start()
        after = [m["subject"] for m in listed_after_crash(t, BOB)]
        self.assertEqual(len(after), len(set(after)), "a message came back twice")
        after = set(after)
        self.assertEqual(kept - after, set(), "a message that was not DELE'd is gone")
        self.assertEqual(after - kept - deleted, set())
        if quit_ok:
            self.assertEqual(after & deleted, set(), "QUIT said +OK but deleted messages came back")
        p = login(pop_ssl(t))
        self.assertEqual(p.stat()[0], len(after))
        p.quit()
        return quit_ok, len(after & deleted)

    def test_sigkill_during_update(self):
        # Expunging 150 messages takes a few hundred milliseconds here (one unlink each, then a
        # folder fsync), so these delays land before, inside and after the UPDATE state.
        outcomes = [self.crash_round(d) for d in (0, 0.05, 0.15, None)]
        self.assertEqual(outcomes[-1], (True, 0))
        print(f"crash rounds (QUIT +OK seen, deleted messages left): {outcomes}")


class FetchmailTests(Pop3Case):
    """fetchmail against the pop3 listener (STLS) and pop3s, delivering to an MDA that appends to a file."""

    def setUp(self):
        if not shutil.which("fetchmail"):
            self.skipTest("fetchmail is not installed (scripts/install-deps.sh)")
        self.t = self.server()
        self.sent = [(s, make_message(SENDER, BOB, s, b"Body.\r\n.dot line\r\n")) for s in
                     (unique("fm") for _ in range(5))]
        deliver(self.t, BOB, self.sent)

    def fetchmail(self, name, server_options, user_options):
        """Runs fetchmail once with its own home folder; returns (what the MDA received, the run)."""
        home = os.path.join(self.t.dir, name)
        os.makedirs(home, exist_ok=True)
        out = os.path.join(home, "mbox")
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no syslog\n")
            f.write(f"poll {HOST} {server_options} timeout 30\n")
            f.write(f'  user "{BOB}" there with password "{PASSWORD}" is "{os.environ.get("USER", "root")}" here'
                    f' {user_options} mda "cat >> {out}"\n')
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=home)
        r = subprocess.run(["fetchmail", "-f", rc, "--idfile", os.path.join(home, "ids"), "--pidfile",
                            os.path.join(home, "pid"), "-v"], capture_output=True, text=True, env=env, timeout=120)
        # 0: mail was fetched; 1: there was none
        self.assertIn(r.returncode, (0, 1), f"fetchmail exited {r.returncode}\n{r.stdout}\n{r.stderr}")
        mbox = b""
        if os.path.exists(out):
            with open(out, "rb") as f:
                mbox = f.read()
        return mbox, r

    def count(self, mbox):
        """How many of the sent messages the MDA received (fetchmail hands them over with LF line ends)."""
        mbox = mbox.replace(b"\r\n", b"\n")
        return sum(mbox.count(f"Subject: {s}\n".encode()) for s, _ in self.sent)

    def test_keep_over_stls_then_nokeep_over_pop3s(self):
        stls = f"service {self.t.ports['pop3']} protocol POP3 uidl"
        mbox, r = self.fetchmail("keep", stls, "sslproto tls1.2+ no sslcertck keep fetchall")
        self.assertEqual(self.count(mbox), 5, r.stdout + r.stderr)
        self.assertIn(b"\n.dot line\n", mbox)
        self.assertIn("STLS", r.stdout + r.stderr)
        self.assertEqual(len(self.t.message_list(BOB)), 5, "keep deleted messages")
        # With uidl, a second keep run recognises every message by its unique id and fetches none.
        mbox, r = self.fetchmail("keep", stls, "sslproto tls1.2+ no sslcertck keep")
        self.assertEqual(self.count(mbox), 5, r.stdout + r.stderr)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

        mbox, r = self.fetchmail("nokeep", f"service {self.t.ports['pop3s']} protocol POP3",
                                 "ssl no sslcertck nokeep fetchall")
        self.assertEqual(self.count(mbox), 5, r.stdout + r.stderr)
        self.assertEqual(self.t.message_list(BOB), [], "nokeep left messages behind")


if __name__ == "__main__":
    main()
