"""Crash tests for IMAP: SIGKILL the server while clients APPEND, EXPUNGE and MOVE, restart it, and
check what a user would see.

- APPEND from several clients: every APPEND that got its OK is in the mailbox after the restart (once),
  and `tern check` is clean.
- EXPUNGE: an expunge that got its OK stays done; no message that was not \\Deleted is lost; a
  confirmed STORE \\Deleted stays.
- MOVE: no message is lost (each is in the source or the target or, for one caught in the middle, both);
  a MOVE that got its OK is in the target and gone from the source.

Each round kills the server once some operations have been confirmed and others are in flight.
"""

import json
import random
import threading
import time

from harness import DOMAIN, WAIT, TernTestCase, main, unique
from imap_client import Conn, message, select_info, seq_set

SERVICES = ("smtp", "imaps")
USER = f"crash@{DOMAIN}"


def listed(server, address, folder="INBOX"):
    """`tern message list --json` right after a crash: the first open may log a reconciliation on
    stdout before the JSON (see test_pop3), so take the JSON line."""
    args = ["message", "list", address, "--json"]
    if folder != "INBOX":
        args += ["--folder", folder]
    out = server.cli_ok(*args).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("[")][-1])


class ImapCrashCase(TernTestCase):
    def server(self):
        return self.make_server(users=(USER,), services=SERVICES)

    def conn(self, t):
        c = Conn(t.ports["imaps"], tls=True)
        self.addCleanup(c.close)
        c.login(USER)
        return c

    def fill(self, t, c, subjects, mailbox="INBOX"):
        """One MULTIAPPEND of a message per subject (LITERAL+); returns the UIDs."""
        msgs = [message(s, body=(s + "\r\n").encode() * 20) for s in subjects]
        data = f'f APPEND "{mailbox}"'.encode()
        for m in msgs:
            data += b" {%d+}\r\n" % len(m) + m
        c.send(data + b"\r\n")
        r = c.read_until_tagged("f")
        self.assertEqual(r.status, "OK", r)
        return seq_set(r.code.split()[2])

    def subjects_by_imap(self, t, folder="INBOX"):
        c = Conn(t.ports["imaps"], tls=True)
        try:
            c.login(USER)
            info = select_info(c.ok(f'EXAMINE "{folder}"'))
            if info["EXISTS"] == 0:
                return []
            r = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            out = [v["BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for v in r.fetches().values()]
            self.assertEqual(len(out), info["EXISTS"])
            return out
        finally:
            c.logout()

    def killer(self, t):
        """A thread that kills the server 0 to 30 ms after the returned event is set."""
        done = threading.Event()

        def run():
            done.wait(WAIT)
            time.sleep(random.uniform(0, 0.03))
            t.kill()

        th = threading.Thread(target=run)
        th.start()
        return done, th

    def run_killed(self, t, c, commands, kill_after):
        """Sends the commands one at a time; the server is killed just after answer `kill_after`,
        then started again. Returns the indexes of the commands answered OK."""
        ok = []
        done, th = self.killer(t)
        try:
            for n, command in enumerate(commands):
                if c.cmd(command).status == "OK":
                    ok.append(n)
                if n + 1 == kill_after:
                    done.set()
        except (OSError, ConnectionError):
            pass
        self.restart_after_kill(t, c, done, th)
        return ok

    def restart_after_kill(self, t, c, done, th):
        done.set()
        th.join()
        c.close()
        t.start()

    def after_restart(self, t, folder="INBOX"):
        """The subjects in a folder after the restart, by the CLI and by IMAP (which must agree)."""
        cli = [m["subject"] for m in listed(t, USER, folder)]
        self.assertEqual(len(cli), len(set(cli)), f"a message is in {folder} twice: {sorted(cli)}")
        self.assertEqual(sorted(self.subjects_by_imap(t, folder)), sorted(cli))
        return set(cli)


class AppendCrashTests(ImapCrashCase):
    def round(self, clients, kill_after, group=1):
        """`clients` sessions APPEND in a loop (`group` messages per APPEND: MULTIAPPEND, which is
        atomic, RFC 3502); the server is killed once `kill_after` messages were confirmed."""
        t = self.server()
        confirmed = {}  # subject -> the UID its APPENDUID gave
        attempted = []  # the subjects of each APPEND
        lock = threading.Lock()
        enough = threading.Event()
        stop = threading.Event()

        def worker(i):
            try:
                c = Conn(t.ports["imaps"], tls=True)
                c.login(USER)
            except (OSError, ConnectionError):
                return
            n = 0
            try:
                while not stop.is_set():
                    n += 1
                    subjects = [f"app-{i}-{n}-{j}-{unique('s')}" for j in range(group)]
                    msgs = [message(s, body=b"x" * random.choice((10, 500, 3000, 9000, 30000)) + b"\r\n")
                            for s in subjects]
                    with lock:
                        attempted.append(subjects)
                    tag = f"a{n}"
                    parts = ["APPEND INBOX"]
                    for m in msgs:
                        parts += [" ", ("lit", m)]
                    r = c.cmd_literals(parts, tag=tag)
                    if r.status == "OK":
                        uids = seq_set(r.code.split()[2])
                        with lock:
                            confirmed.update(zip(subjects, uids))
                            if len(confirmed) >= kill_after:
                                enough.set()
            except (OSError, ConnectionError):
                pass
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        for th in threads:
            th.start()
        self.assertTrue(enough.wait(WAIT), "the APPENDs did not get going")
        time.sleep(random.uniform(0, 0.05))
        t.kill()
        stop.set()
        for th in threads:
            th.join(WAIT)
        with lock:
            ok = dict(confirmed)
            tried = [list(g) for g in attempted]
        t.start()
        after = self.after_restart(t)
        self.assertEqual(set(ok) - after, set(), "an APPEND that got its OK is gone after the crash")
        self.assertEqual(after - {s for g in tried for s in g}, set())
        for g in tried:  # all or nothing
            self.assertIn(len(after & set(g)), (0, len(g)), f"part of a MULTIAPPEND survived: {g}")
        uid_of = {m["subject"]: m["uid"] for m in listed(t, USER)}
        for subject, uid in ok.items():
            self.assertEqual(uid_of[subject], uid, f"{subject}: the UID APPENDUID gave changed")
        self.assertCheckClean(t)
        # the mailbox works: a new APPEND gets a UID above all others
        c = self.conn(t)
        info = select_info(c.select())
        self.assertEqual(info["EXISTS"], len(after))
        uid = self.fill(t, c, ["after crash"])[0]
        self.assertGreater(uid, max(uid_of.values(), default=0))
        return len(ok), len(after)

    def test_sigkill_during_appends(self):
        outcomes = [self.round(4, k) for k in (1, 5, 40, 120)]
        print(f"append crash rounds (confirmed, present after restart): {outcomes}")

    def test_sigkill_during_multiappends(self):
        outcomes = [self.round(3, k, group=5) for k in (5, 50, 150)]
        print(f"multiappend crash rounds (confirmed, present after restart): {outcomes}")


class ExpungeCrashTests(ImapCrashCase):
    def round(self, mode, kill_after):
        t = self.server()
        c = self.conn(t)
        subjects = [f"exp-{i}-{unique('s')}" for i in range(240)]
        uids = self.fill(t, c, subjects)
        by_uid = dict(zip(uids, subjects))
        c.select()
        marked = [u for i, u in enumerate(uids) if i % 4 != 0]
        kept = {by_uid[u] for u in uids if u not in marked}
        c.ok("UID STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(map(str, marked)))
        expunged_ok = set()
        done, th = self.killer(t)
        try:
            if mode == "chunks":
                chunks = [marked[i:i + 6] for i in range(0, len(marked), 6)]
                for n, chunk in enumerate(chunks):
                    r = c.cmd("UID EXPUNGE " + ",".join(map(str, chunk)))
                    if r.status == "OK":
                        expunged_ok |= {by_uid[u] for u in chunk}
                    if n + 1 == kill_after:
                        done.set()
            else:  # one EXPUNGE of everything; the kill lands while it runs, or right after its OK
                c.send("x EXPUNGE\r\n")
                if mode == "all":
                    done.set()
                r = c.read_until_tagged("x")
                if r.status == "OK":
                    expunged_ok |= {by_uid[u] for u in marked}
        except (OSError, ConnectionError):
            pass
        self.restart_after_kill(t, c, done, th)
        after = self.after_restart(t)
        self.assertEqual(kept - after, set(), "a message that was not \\Deleted was lost")
        self.assertEqual(after & expunged_ok, set(), "an EXPUNGE that got its OK came back")
        self.assertEqual(after - set(subjects), set())
        flags = {m["subject"]: m["flags"] for m in listed(t, USER)}
        for s in after - kept:
            self.assertIn("\\Deleted", flags[s], f"{s}: a confirmed STORE \\Deleted was lost")
        self.assertCheckClean(t)
        return len(expunged_ok), len(after)

    def test_sigkill_during_expunges(self):
        outcomes = [self.round("chunks", 3), self.round("chunks", 15), self.round("all", 0),
                    self.round("all-then-kill", 0)]
        self.assertEqual(outcomes[-1], (180, 60), "an EXPUNGE confirmed before the crash")
        print(f"expunge crash rounds (confirmed expunged, left): {outcomes}")


class MoveCrashTests(ImapCrashCase):
    def round(self, kill_after, chunk):
        t = self.server()
        c = self.conn(t)
        subjects = [f"mv-{i}-{unique('s')}" for i in range(200)]
        uids = self.fill(t, c, subjects)
        by_uid = dict(zip(uids, subjects))
        c.ok('CREATE "Target"')
        c.select()
        moved_ok = set()
        parts = [uids[i:i + chunk] for i in range(0, len(uids), chunk)]
        for n in self.run_killed(t, c, ["UID MOVE %s Target" % ",".join(map(str, p)) for p in parts], kill_after):
            moved_ok |= {by_uid[u] for u in parts[n]}
        inbox = self.after_restart(t)
        target = self.after_restart(t, "Target")
        self.assertEqual(set(subjects) - inbox - target, set(), "a message was lost in a MOVE")
        self.assertEqual((inbox | target) - set(subjects), set())
        self.assertEqual(moved_ok - target, set(), "a MOVE that got its OK is not in the target")
        self.assertEqual(moved_ok & inbox, set(), "a MOVE that got its OK left the message in the source")
        both = inbox & target
        self.assertLessEqual(len(both), chunk, f"more than one MOVE's messages in both folders: {sorted(both)}")
        self.assertCheckClean(t)
        return len(moved_ok), len(target), len(both)

    def round_same_folder(self, kill_after):
        """MOVEs into the selected mailbox (RFC 6851 3.3), one message each, killed after
        `kill_after` answers: every message is there exactly once after the restart."""
        t = self.server()
        c = self.conn(t)
        subjects = [f"self-{i}-{unique('s')}" for i in range(60)]
        uids = self.fill(t, c, subjects)
        c.select()
        moved_ok = len(self.run_killed(t, c, [f"UID MOVE {uid} INBOX" for uid in uids], kill_after))
        self.assertEqual(self.after_restart(t), set(subjects))  # after_restart: no message twice
        self.assertCheckClean(t)
        return moved_ok

    def test_sigkill_during_moves_into_the_same_folder(self):
        outcomes = [self.round_same_folder(1), self.round_same_folder(10), self.round_same_folder(30)]
        print(f"same-folder move crash rounds (confirmed moves): {outcomes}")

    def test_sigkill_during_moves(self):
        # the last round kills the server only after every MOVE got its answer
        outcomes = [self.round(2, 5), self.round(10, 5), self.round(3, 40), self.round(1000, 25)]
        self.assertEqual(outcomes[-1], (200, 200, 0))
        print(f"move crash rounds (confirmed moves, in target, in both): {outcomes}")


if __name__ == "__main__":
    main()
