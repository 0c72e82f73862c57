"""Crash test of the outbox: SIGKILL while many messages are being delivered to a slow remote
(Postfix's smtp-sink, answering DATA after a delay), several times in a row. After the last restart
every message reaches the remote at least once; duplicates are only deliveries that were in flight
when the server died, and are counted and printed."""

import glob
import os
import pwd
import smtplib
import subprocess
import tempfile
import time

from harness import (HOST, PASSWORD, TERN_PEERS, WAIT, TernTestCase, free_port, main, make_message, tls_context,
                     unique)

SINK = os.path.join(TERN_PEERS, "usr", "sbin", "smtp-sink")


class OutboxCrashTest(TernTestCase):
    def start_sink(self, port, dump_dir):
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(TERN_PEERS, "usr", "lib", "postfix"))
        args = [SINK, "-w", "1", "-d", os.path.join(dump_dir, "%H/")]
        if os.geteuid() == 0:  # smtp-sink refuses to run as root without -u
            args += ["-u", "nobody"]
            os.chown(dump_dir, pwd.getpwnam("nobody").pw_uid, -1)
        args += [f"{HOST}:{port}", "100"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.terminate(), proc.wait()))
        return proc

    def test_sigkill_during_delivery_loses_nothing(self):
        self.assertTrue(os.access(SINK, os.X_OK), f"{SINK} missing (scripts/install-deps.sh extracts it)")
        sink_port = free_port()
        dump = tempfile.mkdtemp(prefix="tern-sink-")
        os.chmod(dump, 0o777)
        self.start_sink(sink_port, dump)
        route = f'[[route]]\nmatch = "*"\nrelay = "{HOST}:{sink_port}"\ntls = "none"\nretry = ["1s"]\n'
        t = self.make_server(users=("alice@tern.test",), extra_toml=route)
        subjects = [unique("crash") for _ in range(40)]
        with smtplib.SMTP(HOST, t.ports["submission"], timeout=WAIT) as s:
            s.starttls(context=tls_context())
            s.login("alice@tern.test", PASSWORD)
            for subj in subjects:
                s.sendmail("alice@tern.test", ["someone@sink.test"], make_message("alice@tern.test", "someone@sink.test", subj))
        for _ in range(3):
            time.sleep(1.5)
            t.kill()
            t.start()
        deadline = time.monotonic() + 120
        while t.outbox_files():
            self.assertLess(time.monotonic(), deadline, "the outbox never emptied")
            time.sleep(0.2)

        seen = {}
        for f in glob.glob(os.path.join(dump, "**", "*"), recursive=True):
            if os.path.isfile(f):
                with open(f, "rb") as fh:
                    data = fh.read()
                for subj in subjects:
                    if subj.encode() in data:
                        seen[subj] = seen.get(subj, 0) + 1
        lost = [s for s in subjects if s not in seen]
        duplicates = sum(n - 1 for n in seen.values())
        print(f"\noutbox crash test: {len(subjects)} messages, 3 kills, {len(lost)} lost, {duplicates} duplicate deliveries")
        self.assertEqual(lost, [], "every accepted message reaches the remote")
        # Each kill can repeat at most the transactions in flight: one per connection, two connections.
        self.assertLessEqual(duplicates, 3 * 2)
        t.stop()
        self.assertCheckClean(t)


if __name__ == "__main__":
    main()
