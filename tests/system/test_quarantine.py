"""The attachment policy ([attachments]) and the server's quarantine (`tern quarantine ...`), end to
end with smtplib on the MX and submission listeners.

  action = "quarantine": a message with "invoice.pdf.exe" gets 250, is held (tern quarantine list and
  show), reaches no mailbox; release delivers it, unchanged and without the filters (the policy that
  held it is still on), and empties the quarantine; delete removes another one for good.
  action = "strip": the program's part is replaced by a note, the text part and every other byte stay,
  X-Tern-Removed names the file; a message that is the program itself is refused (554 5.7.1).
  action = "reject": 554 5.7.1 naming the file; a macro document too; extensions = [".7Z"] adds one.
  An authenticated user's own attachment is refused whatever the action.
  Crash tests: SIGKILL right after a held message is written (before the 250), and inside a release
  (after the rename into pending/, before the folders' fsync): after a restart the message is in
  exactly one place, whole, and `tern check` is clean.

Run with Debian's python3 (the CMake test does)."""

import base64
import json
import os
import smtplib
import subprocess

from harness import WAIT, TernTestCase, main, make_message, send_message, split_trace, unique

BOB = "bob@tern.test"
ALICE = "alice@tern.test"
SENDER = "sender@example.test"
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" * 8


def with_attachment(subject, filename, data=PROGRAM, rcpt=BOB, sender=SENDER):
    head = make_message(sender, rcpt, subject, b"",
                        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n')
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (head + b"--b1\r\nContent-Type: text/plain\r\n\r\nPlease see the invoice.\r\n"
            + f'--b1\r\nContent-Type: application/octet-stream; name="{filename}"\r\n'.encode()
            + f'Content-Disposition: attachment; filename="{filename}"\r\n'.encode()
            + b"Content-Transfer-Encoding: base64\r\n\r\n" + body
            + b"--b1\r\nContent-Type: text/plain\r\n\r\nRegards.\r\n--b1--\r\n")


def send(server, msg, rcpt=BOB, sender=SENDER, user=None):
    return send_message(server, msg, rcpt, sender, user)


class QuarantineTest(TernTestCase):
    def server_with(self, action, more=""):
        toml = f'[attachments]\naction = "{action}"\n{more}'
        return self.make_server(users=(BOB, ALICE), allow_plaintext=True, extra_toml=toml)

    def held(self, server):
        return json.loads(server.cli_ok("quarantine", "list", "--json").stdout)

    def test_held_released_and_deleted(self):
        server = self.server_with("quarantine")
        subject = unique("held")
        msg = with_attachment(subject, "invoice.pdf.exe")
        code, text = send(server, msg)
        self.assertEqual(code, 250, text)
        held = self.held(server)
        self.assertEqual(len(held), 1)
        h = held[0]
        self.assertEqual(h["why"], "attachments: invoice.pdf.exe (double extension)")
        self.assertEqual((h["from"], h["recipients"], h["client"]), (SENDER, [BOB], "127.0.0.1"))
        self.assertGreater(h["size"], len(msg))  # Tern's Received field on top
        server.wait_for_log(f"quarantined {h['id']} from <{SENDER}>")
        self.assertEqual(server.message_list(BOB), [])
        shown = server.cli_ok("quarantine", "show", h["id"]).stdout
        self.assertIn("QUARANTINE: ", shown)
        self.assertIn("RCPT: bob@tern.test", shown)
        self.assertIn(subject, shown)
        text_list = server.cli_ok("quarantine", "list").stdout
        self.assertIn(h["id"], text_list)
        self.assertIn("invoice.pdf.exe (double extension)", text_list)

        # Released: delivered as it was held, the policy that held it still on.
        r = server.cli_ok("quarantine", "release", h["id"])
        self.assertIn("released", r.stdout)
        msgs = server.wait_for_messages(BOB, 1)
        self.assertEqual([m["subject"] for m in msgs], [subject])
        _, rest = split_trace(server.message_bytes(BOB, msgs[0]["uid"]))
        self.assertEqual(rest, msg)
        self.assertEqual(self.held(server), [])
        again = server.cli("quarantine", "release", h["id"])
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("no such message in the quarantine", again.stderr)

        # Deleted: gone, never delivered.
        code, _ = send(server, with_attachment(unique("deleted"), "setup.scr"))
        self.assertEqual(code, 250)
        (h2,) = self.held(server)
        self.assertIn("setup.scr (executable)", h2["why"])
        server.cli_ok("quarantine", "delete", h2["id"])
        self.assertEqual(self.held(server), [])
        self.assertEqual(len(server.message_list(BOB)), 1)
        bad = server.cli("quarantine", "show", "../../tern")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("not a quarantine id", bad.stderr)
        self.assertCheckClean(server)

    def test_authenticated_users_attachment_is_refused(self):
        server = self.server_with("quarantine")
        code, text = send(server, with_attachment(unique("own"), "tool.exe", rcpt=ALICE, sender=BOB),
                          rcpt=ALICE, sender=BOB, user=BOB)
        self.assertEqual(code, 554, text)
        self.assertEqual(text, b'5.7.1 Message refused: attachment "tool.exe" not accepted (executable)')
        self.assertEqual(self.held(server), [])

    def test_strip(self):
        server = self.server_with("strip")
        subject = unique("strip")
        msg = with_attachment(subject, "invoice.pdf.exe")
        code, text = send(server, msg)
        self.assertEqual(code, 250, text)
        (m,) = server.wait_for_messages(BOB, 1)
        trace, rest = split_trace(server.message_bytes(BOB, m["uid"]))
        self.assertIn(b"X-Tern-Removed: invoice.pdf.exe (double extension)\r\n", trace)
        self.assertNotIn(base64.encodebytes(PROGRAM)[:40], rest)
        self.assertIn(b'removed the attachment "invoice.pdf.exe" from this message (double extension)', rest)
        # Everything else is as it came: the header, both text parts, the boundaries.
        start = msg.index(b'--b1\r\nContent-Type: application/octet-stream')
        end = msg.index(b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nRegards.")
        self.assertTrue(rest.startswith(msg[:start + len(b"--b1\r\n")]))
        self.assertTrue(rest.endswith(msg[end:]))

        # A message that is the program itself cannot be stripped: refused.
        whole = make_message(SENDER, BOB, unique("whole"), base64.encodebytes(PROGRAM).replace(b"\n", b"\r\n"),
                             b'MIME-Version: 1.0\r\nContent-Type: application/octet-stream; name="run.exe"\r\n'
                             b"Content-Transfer-Encoding: base64\r\n")
        code, text = send(server, whole)
        self.assertEqual(code, 554, text)
        self.assertIn(b'"run.exe"', text)

    def test_reject_macros_and_extra_extensions(self):
        server = self.server_with("reject", 'extensions = [".7Z"]\n')
        code, text = send(server, with_attachment(unique("exe"), "invoice.pdf.exe"))
        self.assertEqual((code, text), (554, b'5.7.1 Message refused: attachment "invoice.pdf.exe" not accepted '
                                             b'(double extension)'))
        code, text = send(server, with_attachment(unique("macro"), "budget.xlsm", b"PK\x03\x04 not really"))
        self.assertEqual(code, 554, text)
        self.assertIn(b"(macro)", text)
        code, text = send(server, with_attachment(unique("7z"), "backup.7z", b"7z\xbc\xaf"))
        self.assertEqual(code, 554, text)
        self.assertIn(b"(extension .7z)", text)
        code, text = send(server, with_attachment(unique("pdf"), "report.pdf", b"%PDF-1.4"))
        self.assertEqual(code, 250, text)
        server.wait_for_messages(BOB, 1)
        server.wait_for_log("NOQUEUE: reject: DATA from 127.0.0.1: 554 5.7.1 Message refused: attachment")


class QuarantineCrashTest(TernTestCase):
    def setUp(self):
        self.server = self.make_server(users=(BOB,), start=False,
                                       extra_toml='[attachments]\naction = "quarantine"\n')

    def folder(self, name):
        path = os.path.join(self.server.data, "mail", name)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def test_killed_after_holding(self):
        """SIGKILL once the held file is written and fsync'd, before the 250: the client never got its
        answer; after a restart the file is whole (it lists and shows), nothing else holds it."""
        self.server.start(fault="quarantine.after_held")
        subject = unique("crash-held")
        with self.assertRaises((smtplib.SMTPException, OSError)):
            send(self.server, with_attachment(subject, "invoice.pdf.exe"))
        self.server.wait_exit()
        self.assertEqual([n for n in self.folder("quarantine") if n.endswith(".tmp")], [])
        self.server.start()
        (h,) = json.loads(self.server.cli_ok("quarantine", "list", "--json").stdout)
        self.assertIn(subject, self.server.cli_ok("quarantine", "show", h["id"]).stdout)
        self.assertEqual(self.server.message_list(BOB), [])
        self.assertCheckClean(self.server)

    def test_killed_inside_a_release(self):
        """A release killed after its rename into pending/ (before the folders' fsync): the message is
        in pending/, not in the quarantine; the server delivers it once; a second release finds nothing."""
        self.server.start()
        subject = unique("crash-release")
        code, _ = send(self.server, with_attachment(subject, "invoice.pdf.exe"))
        self.assertEqual(code, 250)
        (h,) = json.loads(self.server.cli_ok("quarantine", "list", "--json").stdout)
        self.server.stop()
        env = dict(os.environ, TERN_FAULT="quarantine.after_release_rename")

        r = subprocess.run([os.environ["TERN_BIN"], "--config", self.server.config, "quarantine", "release", h["id"]],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, -9, r.stderr)
        self.assertEqual(self.folder("quarantine"), [])
        self.assertEqual(self.folder("pending"), [h["id"] + ".msg"])
        self.assertNotEqual(self.server.cli("quarantine", "release", h["id"]).returncode, 0)
        self.server.start()
        msgs = self.server.wait_for_messages(BOB, 1)
        self.assertEqual([m["subject"] for m in msgs], [subject])
        self.server.wait_for_log("pending: " + h["id"] + ".msg taken as queue")
        self.assertEqual(self.folder("pending"), [])
        self.assertCheckClean(self.server)

    def test_check_finds_a_damaged_held_file(self):
        """`tern check` reads every held file back: a damaged one is a problem naming it; --repair moves
        it to lost+found with a note, and the quarantine lists nothing."""
        self.server.start()
        code, _ = send(self.server, with_attachment(unique("damaged"), "invoice.pdf.exe"))
        self.assertEqual(code, 250)
        self.server.stop()
        (name,) = self.folder("quarantine")
        path = os.path.join(self.server.data, "mail", "quarantine", name)
        with open(path, "r+b") as f:
            f.seek(-3, os.SEEK_END)
            f.write(b"XYZ")
        r = self.server.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stdout, rf"problem: quarantine/{name}: .*damaged: CHECKSUM")
        listed = json.loads(self.server.cli_ok("quarantine", "list", "--json").stdout)
        self.assertIn("CHECKSUM", listed[0]["problem"])
        self.server.cli_ok("check", "--repair")
        self.assertEqual(self.folder("quarantine"), [])
        self.assertIn(name, self.folder("lost+found"))
        self.assertCheckClean(self.server)


if __name__ == "__main__":
    main()
