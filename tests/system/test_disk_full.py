"""Disk full while receiving: the data directory on a small tmpfs. Once it is full, the client gets
452 4.3.1 and nothing partial is left behind; every message that got its 250 is delivered once space
returns (the tmpfs is grown), and `tern check` is clean. Needs root (mount), as CI runs."""

import os
import smtplib
import subprocess
import time

from harness import HOST, WAIT, TernTestCase, main, make_message, unique


class DiskFullTest(TernTestCase):
    def test_disk_full_then_space_returns(self):
        t = self.make_server(users=(), start=False)
        # The data directory moves onto a 3 MB tmpfs (the directory made by the CLI is copied in).
        data = t.data
        os.rename(data, data + ".orig")
        os.makedirs(data)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", data], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, f"mount failed (this test needs root): {r.stderr}")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", data]))
        subprocess.run(["cp", "-a", data + ".orig/.", data], check=True)
        t.add_user("bob@tern.test")
        t.start()

        acknowledged, refused = [], []
        body = (b"x" * 998 + b"\r\n") * 200  # about 200 KB
        with smtplib.SMTP(HOST, t.ports["smtp"], timeout=WAIT) as s:
            for _ in range(40):
                subj = unique("full")
                msg = make_message("sender@example.test", "bob@tern.test", subj, body=body)
                try:
                    s.sendmail("sender@example.test", ["bob@tern.test"], msg)
                    acknowledged.append(subj)
                except smtplib.SMTPDataError as e:
                    refused.append((e.smtp_code, e.smtp_error))
                    if len(refused) >= 3:
                        break
                    s.rset()
        self.assertTrue(refused, "the disk never filled up")
        for code, text in refused:
            self.assertEqual(code, 452)
            self.assertTrue(text.startswith(b"4.3.1"), text)
        outbox = os.path.join(data, "mail", "outbox")
        self.assertEqual([n for n in os.listdir(outbox) if n.endswith(".tmp")], [], "no partial file left")

        # Space returns: every acknowledged message ends up in the mailbox, exactly once.
        subprocess.run(["mount", "-o", "remount,size=64m", data], check=True)
        deadline = time.monotonic() + 60
        while True:
            subjects = [m["subject"] for m in t.message_list("bob@tern.test")] if os.path.isdir(
                os.path.join(data, "mail", "boxes")) else []
            if len(subjects) >= len(acknowledged) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        print(f"\ndisk full test: {len(acknowledged)} acknowledged before the disk filled, {len(refused)} refused with 452")
        self.assertEqual(sorted(subjects), sorted(acknowledged))
        t.stop()
        self.assertCheckClean(t)


if __name__ == "__main__":
    main()
