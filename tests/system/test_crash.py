"""Crash: SIGKILL the server while 30 clients are sending, three times, restarting it each time; and
SIGKILL at each named point of the delivery path (TERN_FAULT, src/base/fault.hpp), one message each.

What a user must see afterwards: every message that got its 250 is in the mailbox, complete; a message is
stored twice only if a client sent it again after an attempt that got no reply (in flight when the server
died); `tern check` is clean. The counts are printed; the test never asserts on timing.

The fault-point tests start the server with TERN_FAULT=<point>, send one message with smtplib, and see
the server die by SIGKILL at that point (its log names the point: the test fails if the point is never
reached). Restarted without the variable, the server must deliver the message exactly once (read with
POP3, byte for byte, and in the mailstore), leave the outbox empty, stop cleanly and pass `tern check`.
When the client got no 250 it must have seen an error (the connection closed), never a success.
"""

import collections
import imaplib
import json
import os
import poplib
import re
import signal
import smtplib
import threading
import time

from harness import HOST, PASSWORD, WAIT, TernTestCase, main, make_message, split_trace, tls_context, unique

BOB = "bob@tern.test"
SENDER = "crash@example.test"
CLIENTS = 30
KILLS = 3
ACKS_PER_ROUND = 300


def body_of(subject):
    return f"Body of {subject}.\r\n".encode()


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked = []           # subjects that got their 250, in order
        self.in_flight = collections.Counter()  # subject -> attempts that ended without a reply to the final dot
        self.refused = []         # permanent refusals: never expected

    def count(self):
        with self.lock:
            return len(self.acked)


def client(port, n, state):
    """Sends messages one after the other; after a failed attempt, sends the same message again (as an
    MTA would) on a new connection. Stops between messages once state.stop is set."""
    conn = None
    i = 0
    pending = None
    while True:
        if pending is None:
            if state.stop.is_set():
                break
            subj = f"crash-{n:02d}-{i:05d}"
            i += 1
            pending = (subj, make_message(SENDER, BOB, subj, body_of(subj)))
        subj, msg = pending
        if conn is None:
            try:
                conn = smtplib.SMTP(HOST, port, local_hostname=f"client{n}.test", timeout=WAIT)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)  # the server is down: try again
                continue
        try:
            conn.sendmail(SENDER, [BOB], msg)
        except smtplib.SMTPResponseException as e:
            if e.smtp_code >= 500:
                with state.lock:
                    state.refused.append((subj, e.smtp_code, e.smtp_error))
                pending = None
            else:
                with state.lock:
                    state.in_flight[subj] += 1
            conn.close()
            conn = None
            continue
        except (OSError, smtplib.SMTPException):
            with state.lock:
                state.in_flight[subj] += 1
            try:
                conn.close()
            except OSError:
                pass
            conn = None
            continue
        with state.lock:
            state.acked.append(subj)
        pending = None
    if conn is not None:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


class CrashTests(TernTestCase):
    def wait_acks(self, state, target):
        deadline = time.monotonic() + 120
        while state.count() < target:
            if time.monotonic() > deadline:
                self.fail(f"clients stalled at {state.count()} acknowledged messages (wanted {target})")
            time.sleep(0.01)

    def test_sigkill_while_sending(self):
        t = self.make_server(users=(BOB,))
        port = t.ports["smtp"]
        state = State()
        threads = [threading.Thread(target=client, args=(port, n, state), daemon=True) for n in range(CLIENTS)]
        for th in threads:
            th.start()
        try:
            acked_at_kill = []
            for _ in range(KILLS):
                self.wait_acks(state, state.count() + ACKS_PER_ROUND)
                self.assertEqual(t.kill(), -9)
                acked_at_kill.append(state.count())
                t.start()
            self.wait_acks(state, state.count() + ACKS_PER_ROUND)
        finally:
            state.stop.set()
            for th in threads:
                th.join(timeout=120)
        self.assertFalse(any(th.is_alive() for th in threads), "a client did not finish")
        self.assertEqual(state.refused, [], "permanent refusals")

        acked = set(state.acked)
        self.assertEqual(len(acked), len(state.acked), "a subject acknowledged twice by the clients")
        # Every acknowledged message arrives (the spool resumes what the crashes left in the outbox).
        deadline = time.monotonic() + 120
        while True:
            stored = collections.Counter(m["subject"] for m in t.message_list(BOB))
            missing = acked - set(stored)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        # And the outbox drains: messages the crashes left there (acknowledged or not) are all delivered.
        deadline = time.monotonic() + WAIT
        while t.outbox_files() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(n for n in os.listdir(os.path.join(t.data, "mail", "outbox")) if n.endswith(".msg"))
        leftover = ""
        if left:
            ids = [n[:-len(".msg")] for n in left]
            lines = [l for l in t.log().splitlines() if any(i in l for i in ids)]
            leftover = (f"{len(left)} queue file(s) left in the outbox: {left}\nthe first begins: "
                        f"{t.outbox_files()[0][:200]!r}\nlog lines naming them:\n" + "\n".join(lines))
        self.assertEqual(t.stop(), 0, "graceful stop after the crashes")
        check = self.assertCheckClean(t)

        msgs = t.message_list(BOB)
        stored = collections.Counter(m["subject"] for m in msgs)
        missing = sorted(acked - set(stored))
        self.assertEqual(missing, [], f"{len(missing)} acknowledged message(s) lost")
        self.assertEqual(sorted(set(stored) - acked), [], "messages nobody acknowledged")
        dups = {s: c for s, c in stored.items() if c > 1}
        self.assertEqual(sorted(s for s in dups if s not in state.in_flight), [],
                         "duplicates of messages that were never in flight")
        self.assertEqual({s: c for s, c in dups.items() if c > 1 + state.in_flight[s]}, {},
                         "more copies than attempts")
        # Every stored file is complete.
        for m in msgs:
            content = t.message_bytes(BOB, m["uid"])
            self.assertTrue(content.endswith(b"\r\n\r\n" + body_of(m["subject"])), (m, content[-120:]))
        print(f"\ncrash: {KILLS} SIGKILLs (after {acked_at_kill} acknowledged); {len(acked)} acknowledged, "
              f"all stored; {len(state.in_flight)} in flight at a kill, {len(dups)} of them stored more than once; "
              f"{sum(stored.values())} messages in the mailbox; {check.stdout.strip().splitlines()[-1]}")
        self.assertEqual(leftover, "", "the outbox must drain once every recipient is done")


def send_one(port, message):
    """Sends one message; returns None when its 250 came, else the error the client saw (the connection
    closed under it). A reply other than 250 is not expected at any fault point: it raises."""
    conn = smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=WAIT)
    try:
        conn.sendmail(SENDER, [BOB], message)
        return None
    except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
        return e
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):  # the server may be gone already: nothing to say
            conn.close()


def pop3_messages(server):
    """Every message of BOB's maildrop as RETR gives it (unstuffed, CRLF line ends)."""
    p = poplib.POP3(HOST, server.ports["pop3"], timeout=WAIT)
    try:
        p.stls(context=tls_context())
        p.user(BOB)
        p.pass_(PASSWORD)
        count = len(p.list()[1])
        return [b"".join(line + b"\r\n" for line in p.retr(i)[1]) for i in range(1, count + 1)]
    finally:
        p.quit()


def uidvalidity(server):
    """INBOX's UIDVALIDITY as an IMAP client sees it (STATUS over imaps)."""
    c = imaplib.IMAP4_SSL(HOST, server.ports["imaps"], ssl_context=tls_context(), timeout=WAIT)
    try:
        c.login(BOB, PASSWORD)
        typ, data = c.status("INBOX", "(UIDVALIDITY)")
        assert typ == "OK", (typ, data)
        return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    finally:
        c.logout()


class FaultPointTests(TernTestCase):
    """One SIGKILL at a named point (TERN_FAULT); the message it interrupts is delivered exactly once."""

    def deliver_before(self, t, n):
        """`n` messages delivered (and the server stopped) before the fault is armed, so the mailbox and
        its folder exist and hold committed rows, as they mostly do when a crash comes."""
        subjects = []
        if n == 0:
            return subjects, None
        t.start()
        for _ in range(n):
            subject = unique("before")
            self.assertIsNone(send_one(t.ports["smtp"], make_message(SENDER, BOB, subject, body_of(subject))))
            subjects.append(subject)
        self.wait_outbox_empty(t)
        validity = uidvalidity(t)
        self.assertEqual(t.stop(), 0)
        return subjects, validity

    def wait_outbox_empty(self, t):
        deadline = time.monotonic() + WAIT
        while t.outbox_files() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(t.outbox_files(), [], "the queue file is removed once the message is delivered")

    def crash_at(self, point, reply_possible, earlier=1):
        """`reply_possible`: whether the 250 may reach the client before the point (local delivery runs
        beside the reply); when False the client must see the connection close instead. `earlier`:
        messages delivered before, without the fault (0: the crash comes at the mailbox's first one)."""
        t = self.make_server(users=(BOB,), services=("smtp", "pop3", "imaps"), start=False)
        before, validity = self.deliver_before(t, earlier)
        t.start(fault=point)
        subject = unique("fault")
        message = make_message(SENDER, BOB, subject, body_of(subject) + b".a line with a leading dot\r\n")
        error = send_one(t.ports["smtp"], message)
        self.assertEqual(t.wait_exit(), -signal.SIGKILL, f"the server must die by SIGKILL at {point}")
        self.assertIn(f"fault injection: SIGKILL at {point}\n", t.log())
        if not reply_possible:
            self.assertIsNotNone(error, f"the client got a 250 before {point}")

        t.start()
        self.wait_outbox_empty(t)
        stored = pop3_messages(t)
        self.assertEqual(len(stored), earlier + 1, f"the message exactly once in the maildrop after a kill at {point}")
        trace, rest = split_trace(stored[-1])
        self.assertTrue(trace.startswith(f"Return-Path: <{SENDER}>\r\n".encode()), trace)
        self.assertEqual(rest, message)
        if validity is not None:
            self.assertEqual(uidvalidity(t), validity, "a crash must not make IMAP clients fetch everything again")
        self.assertEqual(t.stop(), 0, "graceful stop after the restart")
        # The CLI's first open may log a reconcile on stdout before the JSON: take the JSON line.
        out = t.cli_ok("message", "list", BOB, "--json").stdout
        listed = json.loads([line for line in out.splitlines() if line.startswith("[")][-1])
        self.assertEqual([m["subject"] for m in listed], before + [subject])
        self.assertCheckClean(t)
        print(f"\n{point}: killed there; the client {'saw ' + type(error).__name__ if error else 'got its 250'}; "
              "delivered once after the restart")

    def test_after_queue_file_written(self):
        # Durable in the outbox, no 250 yet: delivered after the restart although the client saw an error.
        self.crash_at("spool.after_queue_file_written", reply_possible=False)

    def test_after_local_delivery_stored(self):
        # In the mailbox, the recipient not yet DONE: delivered again, recognised by its queue id.
        self.crash_at("spool.after_local_delivery_stored", reply_possible=True)

    def test_after_local_delivery_stored_into_a_mailbox_then_full(self):
        # The same, and the message filled the mailbox to its quota: the repeated delivery finds its
        # first copy before it counts the quota, so it neither stores a second copy nor bounces a
        # message that is there (a bounce would wait in the outbox for example.test).
        point = "spool.after_local_delivery_stored"
        t = self.make_server(users=(BOB,), services=("smtp", "pop3", "imaps"), start=False)
        self.deliver_before(t, 1)
        subject = unique("quota")
        message = make_message(SENDER, BOB, subject, body_of(subject) + (b"q" * 78 + b"\r\n") * 60)
        used = sum(m["size"] for m in t.message_list(BOB))
        # Room for this message with its trace fields (well under 1,000 octets), not for a second copy.
        t.cli_ok("user", "quota", BOB, str(used + len(message) + 1000))
        t.start(fault=point)
        send_one(t.ports["smtp"], message)
        self.assertEqual(t.wait_exit(), -signal.SIGKILL, f"the server must die by SIGKILL at {point}")
        t.start()
        self.wait_outbox_empty(t)
        stored = pop3_messages(t)
        self.assertEqual(len(stored), 2, "the message exactly once after the restart")
        self.assertEqual(split_trace(stored[-1])[1], message)
        self.assertNotIn("5.2.2", t.log(), "no bounce for a message the mailbox holds")
        self.assertEqual(t.stop(), 0)
        self.assertCheckClean(t)

    def test_before_queue_file_removed(self):
        # Every recipient DONE, the queue file still there: removed after the restart, nothing delivered again.
        self.crash_at("spool.before_queue_file_removed", reply_possible=True)

    def test_after_message_file_written(self):
        # Content durable in the mailslot's tmp/: emptied at the next open, delivered again.
        self.crash_at("mailstore.after_message_file_written", reply_possible=True)

    def test_before_index_commit(self):
        # The file renamed into the folder, its row not committed: indexed from the file at the next open
        # (with its queue id), so the repeated delivery stores nothing.
        self.crash_at("mailstore.before_index_commit", reply_possible=True)

    def test_before_index_commit_of_the_first_message(self):
        # The same when that transaction also made the folder: the folder is rebuilt from its files.
        self.crash_at("mailstore.before_index_commit", reply_possible=True, earlier=0)

    def test_after_index_commit(self):
        # Row committed, the spool not told: the repeated delivery finds the queue id in the index.
        self.crash_at("mailstore.after_index_commit", reply_possible=True)


    def pending_crash_at(self, point, after_restart):
        """A file dropped into mail/pending/ without ARRIVED: is stamped (arrival time, Received field)
        over itself, then renamed into the outbox. Killed at `point`, then restarted: the message is
        delivered exactly once, with exactly one Received field of the pick-up, and pending/ is empty."""
        t = self.make_server(users=(BOB,), services=("smtp", "pop3", "imaps"), start=False)
        before, _ = self.deliver_before(t, 1)
        subject = unique("pending")
        message = make_message(SENDER, BOB, subject, body_of(subject))
        pending = os.path.join(t.data, "mail", "pending")
        tmp = os.path.join(t.dir, "drop")
        with open(tmp, "wb") as f:
            f.write(f"FROM: {SENDER}\r\nRCPT: {BOB}\r\n".encode() + message)
        os.rename(tmp, os.path.join(pending, "dropped.msg"))
        t.start(fault=point)
        self.assertEqual(t.wait_exit(), -signal.SIGKILL, f"the server must die by SIGKILL at {point}")
        self.assertIn(f"fault injection: SIGKILL at {point}\n", t.log())

        t.start()
        t.wait_for_log(after_restart)
        self.assertEqual([n for n in os.listdir(pending) if not n.startswith(".")], [])
        self.wait_outbox_empty(t)
        stored = pop3_messages(t)
        self.assertEqual(len(stored), 2, f"the picked-up message exactly once after a kill at {point}")
        self.assertEqual(stored[-1].count(b"(Tern) via pending id "), 1, "stamped once, never twice")
        self.assertTrue(stored[-1].endswith(message))
        self.assertEqual(t.stop(), 0)
        self.assertCheckClean(t)

    def test_after_pending_stamped(self):
        # The pending file rewritten with its arrival time and Received field, not yet in the outbox.
        # Still in pending/: taken once it has been quiet for a second, as any dropped file.
        self.pending_crash_at("spool.after_pending_stamped", "pending: dropped.msg taken as queue")

    def test_after_pending_taken(self):
        # Renamed into the outbox (and synced), not yet queued in memory: loaded from the outbox at start.
        self.pending_crash_at("spool.after_pending_taken", "outbox: 1 queued message(s) resumed")

if __name__ == "__main__":
    main()
