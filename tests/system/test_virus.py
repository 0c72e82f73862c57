"""Virus scanning with ClamAV's clamd, end to end ([virus], docs/virus.md).

The test starts its own clamd (/usr/sbin/clamd, Debian's clamav-daemon) in the foreground, in a
temporary folder, on a Unix socket, with one signature only: an .ndb line for the EICAR test string
(freshclam is never needed, and the system's clamd, if any, is never used). Mail goes to Tern's MX
listener and to its submission listener with smtplib:

  EICAR raw in the body, base64 in a MIME attachment, inside a zip attachment: 554 5.7.1 naming the
  signature, nothing stored; a clean message: 250 and X-Virus-Status: Clean stored (a forged
  X-Virus-Status removed); an authenticated user's EICAR: refused too.
  clamd stopped: when_down = "tempfail" gives 451 4.7.0, when_down = "accept" 250 with
  X-Virus-Status: Unscanned and a warning in the log; a clamd that never answers meets [virus] timeout.
  on_virus = "quarantine": 250 and the message held in the server's quarantine (tern quarantine list).
  on_virus = "junk": 250 and the message in the recipient's Junk with X-Virus-Status: Infected (...);
  an authenticated user's virus is refused all the same.

Run with Debian's python3 (the CMake test does)."""

import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile

from harness import WAIT, TernTestCase, main, make_message, send_message, split_trace, unique

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"
BOB = "bob@tern.test"
ALICE = "alice@tern.test"
SENDER = "sender@example.test"


class Clamd:
    """clamd in the foreground in its own folder, with only the EICAR signature."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tern-clamd-")
        self.socket = os.path.join(self.dir, "clamd.sock")
        db = os.path.join(self.dir, "db")
        os.mkdir(db)
        # Name:TargetType:Offset:HexSignature; target 0 (any file), anywhere in it. clamd reports a
        # signature of its own database with the suffix .UNOFFICIAL.
        with open(os.path.join(db, "test.ndb"), "w", encoding="ascii") as f:
            f.write(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
        conf = os.path.join(self.dir, "clamd.conf")
        with open(conf, "w", encoding="ascii") as f:
            f.write(f"Foreground yes\nLocalSocket {self.socket}\nDatabaseDirectory {db}\n"
                    f"LogFile {self.dir}/clamd.log\nPidFile {self.dir}/clamd.pid\nTemporaryDirectory {self.dir}\n"
                    "ScanMail yes\nScanArchive yes\n")  # no User: it runs as whoever starts it
        self.out = open(os.path.join(self.dir, "stdout.log"), "wb")
        self.proc = subprocess.Popen([CLAMD, "--config-file", conf], stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while not self.pong():
            if self.proc.poll() is not None:
                raise AssertionError(f"clamd exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"clamd did not answer PING:\n{self.log()}")
            time.sleep(0.05)

    def pong(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.socket)
                s.sendall(b"zPING\0")
                return s.recv(16) == b"PONG\0"
        except OSError:
            return False

    def log(self):
        with open(os.path.join(self.dir, "stdout.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=WAIT)
        self.out.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def mime_message(subject, attachment, filename, content_type):
    """A multipart/mixed message: a text part and `attachment` in base64."""
    head = make_message(SENDER, BOB, subject, b"", b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n')
    body = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    return (head + b"--b1\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
            + f'--b1\r\nContent-Type: {content_type}; name="{filename}"\r\n'.encode()
            + f'Content-Disposition: attachment; filename="{filename}"\r\n'.encode()
            + b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"--b1--\r\n")


def zipped(name, data):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return out.getvalue()


def junk_of(server, address):
    """The messages in the Junk folder, which delivery makes on first use."""
    r = server.cli("message", "list", address, "--json", "--folder", "Junk")
    if r.returncode != 0 and "has no folder Junk" in r.stderr:
        return []
    if r.returncode != 0:
        raise AssertionError(f"tern message list: {r.stderr}")
    return json.loads(r.stdout)


def send(server, msg, rcpt=BOB, sender=SENDER, user=None):
    return send_message(server, msg, rcpt, sender, user)


class VirusTest(TernTestCase):
    @classmethod
    def setUpClass(cls):
        cls.clamd = Clamd()

    @classmethod
    def tearDownClass(cls):
        cls.clamd.cleanup()

    def server_with(self, clamd_socket=None, **virus):
        keys = {"clamd": clamd_socket or self.clamd.socket, **virus}
        toml = "[virus]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items())
        return self.make_server(users=(BOB, ALICE), allow_plaintext=True, extra_toml=toml)

    def assertRefusedAsVirus(self, reply):
        code, text = reply
        self.assertEqual(code, 554, text)
        self.assertEqual(text.decode(), f"5.7.1 Message refused: virus found ({SIGNATURE}.UNOFFICIAL)")

    def test_eicar_raw_base64_and_zipped_are_refused(self):
        server = self.server_with()
        raw = make_message(SENDER, BOB, unique("raw"), b"Here it is:\r\n" + EICAR + b"\r\n")
        self.assertRefusedAsVirus(send(server, raw))
        self.assertRefusedAsVirus(send(server, mime_message(unique("b64"), EICAR, "eicar.com", "application/octet-stream")))
        archive = zipped("eicar.com", EICAR)
        self.assertNotIn(EICAR, archive)  # deflated: only a scanner that opens the zip can find it
        self.assertRefusedAsVirus(send(server, mime_message(unique("zip"), archive, "eicar.zip", "application/zip")))
        server.wait_for_log(f"virus {SIGNATURE}.UNOFFICIAL found in a message from <{SENDER}>: refused")
        # A clean message passes with the mark; a forged mark that came with it is gone.
        subject = unique("clean")
        clean = make_message(SENDER, BOB, subject, b"Nothing to see.\r\n")
        forged = clean.replace(b"\r\n\r\n", b"\r\nX-Virus-Status: Clean\r\n\r\n", 1)
        code, text = send(server, forged)
        self.assertEqual(code, 250, text)
        self.assertEqual([m["subject"] for m in server.wait_for_messages(BOB, 1)], [subject])
        trace, rest = split_trace(server.message_bytes(BOB, server.message_list(BOB)[0]["uid"]))
        self.assertIn(b"\r\nX-Virus-Status: Clean\r\n", trace)
        self.assertEqual(rest, clean)
        # Nothing of the refused messages was stored anywhere.
        self.assertEqual(len(server.message_list(BOB)), 1)
        self.assertEqual(junk_of(server, BOB), [])

    def test_authenticated_submission_is_scanned(self):
        server = self.server_with()
        msg = make_message(BOB, ALICE, unique("out"), EICAR + b"\r\n")
        self.assertRefusedAsVirus(send(server, msg, rcpt=ALICE, sender=BOB, user=BOB))
        code, text = send(server, make_message(BOB, ALICE, unique("ok")), rcpt=ALICE, sender=BOB, user=BOB)
        self.assertEqual(code, 250, text)
        self.assertEqual(len(server.wait_for_messages(ALICE, 1)), 1)

    def test_on_virus_junk(self):
        server = self.server_with(on_virus="junk")
        subject = unique("junk")
        msg = mime_message(subject, zipped("eicar.com", EICAR), "eicar.zip", "application/zip")
        code, text = send(server, msg)
        self.assertEqual(code, 250, text)
        junk = server.wait_for_messages(BOB, 1, folder="Junk")
        self.assertEqual([m["subject"] for m in junk], [subject])
        trace, rest = split_trace(server.message_bytes(BOB, junk[0]["uid"], folder="Junk"))
        self.assertIn(f"\r\nX-Virus-Status: Infected ({SIGNATURE}.UNOFFICIAL)\r\n".encode(), trace)
        self.assertEqual(rest, msg)
        self.assertEqual(server.message_list(BOB), [])
        # A user's own mail is never junked: remote recipients would get the virus.
        out = make_message(BOB, ALICE, unique("out"), EICAR + b"\r\n")
        self.assertRefusedAsVirus(send(server, out, rcpt=ALICE, sender=BOB, user=BOB))


    def test_on_virus_quarantine(self):
        server = self.server_with(on_virus="quarantine")
        subject = unique("held")
        msg = mime_message(subject, EICAR, "eicar.com", "application/octet-stream")
        code, text = send(server, msg)
        self.assertEqual(code, 250, text)
        held = json.loads(server.cli_ok("quarantine", "list", "--json").stdout)
        self.assertEqual(len(held), 1)
        self.assertEqual(held[0]["why"], f"virus: virus {SIGNATURE}.UNOFFICIAL")
        self.assertEqual((held[0]["from"], held[0]["recipients"]), (SENDER, [BOB]))
        server.wait_for_log(f"quarantined {held[0]['id']} from <{SENDER}> for 1 recipient(s)")
        self.assertEqual(server.message_list(BOB), [])
        self.assertEqual(junk_of(server, BOB), [])
        # A user's own virus is refused, never held.
        out = make_message(BOB, ALICE, unique("out"), EICAR + b"\r\n")
        self.assertRefusedAsVirus(send(server, out, rcpt=ALICE, sender=BOB, user=BOB))
        self.assertEqual(len(json.loads(server.cli_ok("quarantine", "list", "--json").stdout)), 1)


class ClamdDownTest(TernTestCase):
    def stopped_clamd(self):
        """The socket of a clamd that ran and was stopped."""
        clamd = Clamd()
        self.addCleanup(clamd.cleanup)
        clamd.stop()
        self.assertFalse(clamd.pong())
        return clamd.socket

    def server_with(self, clamd_socket, **virus):
        keys = {"clamd": clamd_socket, **virus}
        toml = "[virus]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items())
        return self.make_server(users=(BOB,), extra_toml=toml)

    def test_tempfail(self):
        server = self.server_with(self.stopped_clamd())
        code, text = send(server, make_message(SENDER, BOB, unique("down"), EICAR + b"\r\n"))
        self.assertEqual(code, 451, text)
        self.assertEqual(text.decode(), "4.7.0 Virus scanner unavailable, try again later")
        server.wait_for_log("did not scan the message")
        self.assertEqual(server.message_list(BOB), [])

    def test_accept_marks_it_unscanned(self):
        server = self.server_with(self.stopped_clamd(), when_down="accept")
        subject = unique("unscanned")
        msg = make_message(SENDER, BOB, subject, EICAR + b"\r\n")
        code, text = send(server, msg)
        self.assertEqual(code, 250, text)
        msgs = server.wait_for_messages(BOB, 1)
        self.assertEqual([m["subject"] for m in msgs], [subject])
        trace, rest = split_trace(server.message_bytes(BOB, msgs[0]["uid"]))
        self.assertIn(b"\r\nX-Virus-Status: Unscanned\r\n", trace)
        self.assertEqual(rest, msg)
        self.assertIn("accepted unscanned", server.log())  # never a silent pass: the log says so

    def test_a_clamd_that_never_answers_meets_the_timeout(self):
        d = tempfile.mkdtemp(prefix="tern-hung-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "clamd.sock")
        hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(hung.close)
        hung.bind(path)
        hung.listen(8)  # connections complete in the backlog; nothing ever reads or answers
        server = self.server_with(path, timeout="1s")
        code, text = send(server, make_message(SENDER, BOB, unique("hung")))
        self.assertEqual(code, 451, text)
        server.wait_for_log("(timeout")


if __name__ == "__main__":
    if not os.access(CLAMD, os.X_OK):
        sys.stderr.write(f"{CLAMD} is not an executable: scripts/install-deps.sh installs clamav-daemon\n")
        sys.exit(1)
    main()
