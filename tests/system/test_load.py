"""Load: 50 concurrent smtplib sessions x 20 messages each into one mailbox; every message delivered
exactly once. Prints the figures (never asserts on them)."""

import concurrent.futures
import os
import smtplib
import subprocess
import time

from harness import HOST, TERN_PEERS, TernTestCase, main, make_message

BOB = "bob@tern.test"
SENDER = "load@example.test"
SESSIONS = 50
PER_SESSION = 20


def send_session(port, n):
    subjects = []
    with smtplib.SMTP(HOST, port, local_hostname=f"client{n}.test", timeout=60) as s:
        for i in range(PER_SESSION):
            subj = f"load-{n:02d}-{i:02d}"
            refused = s.sendmail(SENDER, [BOB], make_message(SENDER, BOB, subj, f"Body of {subj}.\r\n".encode()))
            if refused:
                raise AssertionError(f"{subj}: refused {refused}")
            subjects.append(subj)
    return subjects


class LoadTests(TernTestCase):
    def test_concurrent_sessions_each_message_once(self):
        t = self.make_server(users=(BOB,))
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=SESSIONS) as pool:
            futures = [pool.submit(send_session, t.ports["smtp"], n) for n in range(SESSIONS)]
            acked = [s for f in futures for s in f.result()]
        sent = time.monotonic() - start
        total = SESSIONS * PER_SESSION
        self.assertEqual(len(acked), total)
        msgs = t.wait_for_messages(BOB, total, timeout=120)
        stored = time.monotonic() - start
        subjects = [m["subject"] for m in msgs]
        self.assertEqual(len(subjects), total, "messages in the mailbox")
        self.assertEqual(len(set(subjects)), total, "duplicates in the mailbox")
        self.assertEqual(set(subjects), set(acked))
        self.assertEqual(sorted(m["uid"] for m in msgs), list(range(1, total + 1)), "UIDs 1..n without gaps")
        # Spot-check content: a few stored files are byte-exact.
        for m in msgs[:: total // 10]:
            body = t.message_bytes(BOB, m["uid"])
            self.assertTrue(body.endswith(f"\r\n\r\nBody of {m['subject']}.\r\n".encode()), body[-100:])
        print(f"\nload: {total} messages over {SESSIONS} sessions: all acknowledged in {sent:.1f} s "
              f"({total / sent:.0f} msg/s), all in the mailbox after {stored:.1f} s")
        self.assertEqual(t.stop(), 0)
        self.assertCheckClean(t)


    def test_postfix_smtp_source(self):
        """Postfix's smtp-source (another real client): 10 sessions, 300 messages of 2 KB, all stored once."""
        source = os.path.join(TERN_PEERS, "usr", "sbin", "smtp-source")
        self.assertTrue(os.access(source, os.X_OK), f"{source} missing (scripts/install-deps.sh extracts it)")
        t = self.make_server(users=(BOB,))
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(TERN_PEERS, "usr", "lib", "postfix"))
        r = subprocess.run([source, "-s", "10", "-m", "300", "-l", "2048", "-M", "client.test", "-f", SENDER,
                            "-t", BOB, f"{HOST}:{t.ports['smtp']}"], capture_output=True, text=True, env=env,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        msgs = t.wait_for_messages(BOB, 300, timeout=120)
        self.assertEqual(len(msgs), 300)
        ids = set()
        for m in msgs:
            content = t.message_bytes(BOB, m["uid"])
            self.assertIn(f"Return-Path: <{SENDER}>".encode(), content)
            self.assertGreater(len(content), 2048)
            ids.add(next(l for l in content.split(b"\r\n") if l.lower().startswith(b"message-id:")))
        self.assertEqual(len(ids), 300, "each message once (distinct Message-IDs)")


if __name__ == "__main__":
    main()
