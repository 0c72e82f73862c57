"""The command line, aliases and archives, configuration errors, SIGHUP reload and graceful stop, on the
real binary. Every directory command must work whether or not `tern serve` runs on the same config."""

import json
import os
import signal
import smtplib
import threading
import time

from harness import (HOST, PASSWORD, TERN_BIN, RawSMTP, Tern, TernTestCase, main, make_message, tls_context, unique)

BOB = "bob@tern.test"
ALICE = "alice@tern.test"
CAROL = "carol@tern.test"
SENDER = "sender@example.test"


def smtp(port):
    return smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=30)


class CliTests(TernTestCase):
    def check_directory_commands(self, t):
        """domain/user/alias/archive add, list (plain and --json) and del, with exit codes."""
        self.assertEqual(t.cli("domain", "list", "--json").stdout.strip(), "[]")
        r = t.cli_ok("domain", "add", "Example.Test")
        self.assertIn("example.test", r.stdout)
        t.cli_ok("domain", "add", "tern.test")
        self.assertEqual(json.loads(t.cli_ok("domain", "list", "--json").stdout), ["example.test", "tern.test"])
        self.assertEqual(t.cli_ok("domain", "list").stdout.split(), ["example.test", "tern.test"])
        self.assertEqual(t.cli("domain", "add", "tern.test").returncode, 1)  # exists already

        t.add_user(BOB)
        t.add_user("Alice@Tern.Test")
        self.assertEqual(sorted(json.loads(t.cli_ok("user", "list", "--json").stdout)), [ALICE, BOB])
        r = t.cli("user", "add", "someone@unknown.test", input="pw\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown.test", r.stderr)
        r = t.cli("user", "add", BOB, input="pw\n")
        self.assertEqual(r.returncode, 1, "adding an existing user must fail")
        self.assertIn(BOB, r.stderr)
        r = t.cli("user", "add", CAROL, input="")
        self.assertEqual(r.returncode, 1, "a user without a password must be refused")
        self.assertEqual(t.cli("user", "add", input="pw\n").returncode, 2)  # missing ADDRESS
        self.assertEqual(t.cli("user").returncode, 2)  # missing subcommand
        self.assertEqual(t.cli("user", "frobnicate", BOB).returncode, 2)

        t.cli_ok("alias", "add", "team@tern.test", BOB, ALICE)
        t.cli_ok("alias", "add", "all@tern.test", "team@tern.test", "friend@remote.test")
        aliases = json.loads(t.cli_ok("alias", "list", "--json").stdout)
        self.assertEqual(sorted(aliases, key=lambda a: a["address"]),
                         [{"address": "all@tern.test", "targets": ["team@tern.test", "friend@remote.test"]},
                          {"address": "team@tern.test", "targets": [BOB, ALICE]}])
        self.assertEqual(t.cli("alias", "add", "x@tern.test").returncode, 2)  # missing TARGET
        self.assertEqual(t.cli("alias", "add", "x@unknown.test", BOB).returncode, 1)
        self.assertEqual(t.cli("alias", "add", BOB, ALICE).returncode, 1)  # a user has that name

        t.cli_ok("archive", "add", "archive@tern.test")
        self.assertEqual(json.loads(t.cli_ok("archive", "list", "--json").stdout), ["archive@tern.test"])
        self.assertNotIn("archive@tern.test", json.loads(t.cli_ok("user", "list", "--json").stdout))

        self.assertEqual(t.cli("domain", "del", "tern.test").returncode, 1)  # still has mailslots
        t.cli_ok("alias", "del", "all@tern.test")
        self.assertEqual(t.cli("alias", "del", "all@tern.test").returncode, 1)
        t.cli_ok("archive", "del", "archive@tern.test")
        self.assertEqual(json.loads(t.cli_ok("archive", "list", "--json").stdout), [])
        t.cli_ok("user", "del", ALICE)
        self.assertEqual(t.cli("user", "del", ALICE).returncode, 1)
        self.assertEqual(json.loads(t.cli_ok("user", "list", "--json").stdout), [BOB])
        t.cli_ok("domain", "del", "example.test")
        self.assertEqual(json.loads(t.cli_ok("domain", "list", "--json").stdout), ["tern.test"])

    def test_commands_without_server(self):
        t = self.make_server(users=(), domains=(), start=False)
        self.check_directory_commands(t)
        r = t.cli_ok("check")
        self.assertIn("healthy", r.stdout)
        self.assertTrue(json.loads(t.cli_ok("check", "--json").stdout)["healthy"])

    def test_commands_with_server_running(self):
        t = self.make_server(users=(), domains=())
        self.check_directory_commands(t)
        # The running server sees the directory as the commands left it: bob receives, alice is gone.
        subj = unique("after-cli")
        msg = make_message(SENDER, BOB, subj)
        with smtp(t.ports["smtp"]) as s:
            s.ehlo()
            s.mail(SENDER)
            self.assertEqual(s.rcpt(ALICE)[0], 550)
            self.assertEqual(s.rcpt("team@tern.test")[0], 250)  # team is now bob only
            code, _ = s.data(msg)
            self.assertEqual(code, 250)
        self.assertStored(t, BOB, subj, msg, SENDER)
        self.assertCheckClean(t)

    def test_config_file_missing(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        r = t.cli("domain", "list", config=os.path.join(t.dir, "nonexistent.toml"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("nonexistent.toml", r.stderr)

    def test_init_says_where_and_what_next(self):
        """Issue 11: `init` prints the data path, the ports and the next steps; the file it writes
        names the self-signed pair it makes (data/cert.pem) and the [log] section."""
        t = Tern()
        self.addCleanup(t.cleanup)
        fresh = os.path.join(t.dir, "fresh.toml")
        r = t.cli("init", config=fresh)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"data directory: {os.path.join(t.dir, 'data')}", r.stdout)
        self.assertIn("smtp=127.0.0.1:2525", r.stdout)
        self.assertIn("imaps=127.0.0.1:2993", r.stdout)
        self.assertIn(f"tern user add you@localhost --config {fresh}", r.stdout)
        self.assertIn(f"tern serve --config {fresh}", r.stdout)
        with open(fresh, encoding="utf-8") as f:
            text = f.read()
        self.assertIn('# cert = "data/cert.pem"', text)
        self.assertIn("# [log]", text)

    def test_man_page_matches_help(self):
        """Issue 11: tern(8) is generated from --help (help2man at build time): every command of the
        help's list is in the manual, and the service unit in contrib/ starts `tern serve`."""
        import subprocess
        from harness import TERN_BIN, REPO
        helptext = subprocess.run([TERN_BIN, "--help"], capture_output=True, text=True, check=True).stdout
        commands = [line.split("  ")[1].strip() for line in helptext.split("Commands:\n", 1)[1].splitlines()
                    if line.startswith("  tern ")]
        self.assertIn("tern user passwd ADDRESS", commands)
        self.assertGreater(len(commands), 20)
        with open(os.path.join(os.path.dirname(TERN_BIN), "tern.8"), encoding="utf-8") as f:
            man = f.read().replace("\\-", "-")
        self.assertIn('.TH TERN "8"', man)
        for c in commands:
            self.assertIn(c, man)
        with open(os.path.join(REPO, "contrib", "tern.service"), encoding="utf-8") as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/local/bin/tern serve --config /etc/tern/tern.toml", unit)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", unit)

    def test_user_passwd(self):
        t = self.make_server(users=(BOB,))
        t.cli_ok("user", "passwd", BOB, input="new-password\n")
        with smtp(t.ports["submission"]) as s:
            s.starttls(context=tls_context())
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login(BOB, PASSWORD)
            s.login(BOB, "new-password")
        self.assertEqual(t.cli("user", "passwd", "nobody@tern.test", input="x\n").returncode, 1)

    def run_in_terminal(self, t, args, typed):
        """Runs the CLI on a pseudo-terminal; types each line of `typed` after the prompt that asks for it;
        returns (exit code, everything the terminal showed)."""
        import pty
        import select
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(TERN_BIN, [TERN_BIN, "--config", t.config, *args])
        shown = b""
        pending = list(typed)
        deadline = time.monotonic() + 30
        while True:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                self.fail(f"the command did not finish: {shown!r}")
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(b":"):
                os.write(fd, pending.pop(0).encode() + b"\n")
                shown += b"<typed>"
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), shown

    def test_user_passwd_at_a_terminal_asks_twice_without_echo(self):
        """Issue 11: an interactive `user passwd` reads the password without echo and asks twice."""
        t = self.make_server(users=(BOB,), start=False)
        code, shown = self.run_in_terminal(t, ["user", "passwd", BOB], ["typed-secret-1", "typed-secret-1"])
        self.assertEqual(code, 0, shown)
        self.assertIn(b"password: ", shown)
        self.assertIn(b"password again: ", shown)
        self.assertNotIn(b"typed-secret-1", shown)  # never echoed
        # a mismatch changes nothing
        code, shown = self.run_in_terminal(t, ["user", "passwd", BOB], ["typed-secret-2", "other"])
        self.assertEqual(code, 1, shown)
        self.assertIn(b"did not match", shown)
        t.start()
        with smtp(t.ports["submission"]) as s:
            s.starttls(context=tls_context())
            s.login(BOB, "typed-secret-1")

    def test_message_list_unknown_mailbox(self):
        t = self.make_server(users=(BOB,), start=False)
        r = t.cli("message", "list", "nobody@tern.test", "--json")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nobody@tern.test", r.stderr)
        self.assertEqual(t.message_list(BOB), [])


class MessageListWhileDeliveringTests(TernTestCase):
    def test_message_list_during_first_delivery(self):
        """`tern message list` run while the first message for a new mailbox arrives (the README's quick
        start does exactly this): the command must not fail and the delivery must not be held back."""
        users = [f"fresh{i}@tern.test" for i in range(8)]
        t = self.make_server(users=users)
        failures = []
        for user in users:
            stop = threading.Event()

            def poll():
                while not stop.is_set():
                    r = t.cli("message", "list", user, "--json")
                    if r.returncode != 0:
                        failures.append(r.stderr.strip())

            poller = threading.Thread(target=poll)
            poller.start()
            try:
                subj = unique("first")
                with smtp(t.ports["smtp"]) as s:
                    self.assertEqual(s.sendmail(SENDER, [user], make_message(SENDER, user, subj)), {})
                # Wait for the spool's verdict: delivered, or failed (and retried much later).
                while f"delivered to {user}" not in t.log() and f"delivery to {user} failed" not in t.log():
                    time.sleep(0.02)
            finally:
                stop.set()
                poller.join()
        self.assertEqual([l for l in t.log().splitlines() if "delivery failed" in l], [])
        self.assertEqual(failures, [])
        for user in users:
            self.assertEqual(len(t.message_list(user)), 1, user)


class AliasArchiveTests(TernTestCase):
    def setUp(self):
        self.t = self.make_server(users=(BOB, ALICE, CAROL))

    def test_alias_to_two_users_and_nested(self):
        t = self.t
        t.cli_ok("alias", "add", "team@tern.test", BOB, ALICE)
        t.cli_ok("alias", "add", "all@tern.test", "team@tern.test", CAROL, BOB)
        s1, s2 = unique("team"), unique("all")
        m1, m2 = make_message(SENDER, "team@tern.test", s1), make_message(SENDER, "all@tern.test", s2)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, ["team@tern.test"], m1), {})
            self.assertEqual(s.sendmail(SENDER, ["all@tern.test"], m2), {})
        # Each member gets each message once (bob is in `all` twice: directly and through `team`).
        for user, subjects in ((BOB, [s1, s2]), (ALICE, [s1, s2]), (CAROL, [s2])):
            t.wait_for_messages(user, len(subjects))
            self.assertEqual(sorted(m["subject"] for m in t.message_list(user)), sorted(subjects), user)
        self.assertStored(t, CAROL, s2, m2, SENDER)

    def test_alias_loop_refused(self):
        t = self.t
        t.cli_ok("alias", "add", "loop1@tern.test", "loop2@tern.test")
        t.cli_ok("alias", "add", "loop2@tern.test", "loop1@tern.test")
        with smtp(t.ports["smtp"]) as s:
            s.ehlo()
            s.mail(SENDER)
            code, text = s.rcpt("loop1@tern.test")
            self.assertEqual(code, 550, text)
            self.assertEqual(s.rcpt(BOB)[0], 250)

    def test_archive_receives_mail(self):
        t = self.t
        t.cli_ok("archive", "add", "archive@tern.test")
        t.cli_ok("alias", "add", "copy@tern.test", BOB, "archive@tern.test")
        s1, s2 = unique("to-archive"), unique("via-alias")
        m1 = make_message(SENDER, "archive@tern.test", s1)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, ["archive@tern.test"], m1), {})
            self.assertEqual(s.sendmail(SENDER, ["copy@tern.test"], make_message(SENDER, "copy@tern.test", s2)), {})
        self.assertStored(t, "archive@tern.test", s1, m1, SENDER)
        t.wait_for_messages("archive@tern.test", 2)
        self.assertEqual(sorted(m["subject"] for m in t.message_list("archive@tern.test")), sorted([s1, s2]))
        self.assertEqual([m["subject"] for m in t.wait_for_messages(BOB, 1)], [s2])
        # An archive has no login.
        with smtp(t.ports["submission"]) as s:
            s.starttls(context=tls_context())
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("archive@tern.test", "")


class ConfigErrorTests(TernTestCase):
    def assertServeFails(self, t, text, line, key):
        t.write_config(text)
        r = t.cli("serve")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"{t.config}:{line}:", r.stderr)
        self.assertIn(key, r.stderr)
        # The other commands refuse the broken file the same way.
        r = t.cli("domain", "list")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{t.config}:{line}:", r.stderr)

    def test_unknown_key(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        text = t.config_text().replace("allow_plaintext = false", "allow_plaintext = false\nalow_plaintxt = true")
        line = text.splitlines().index("alow_plaintxt = true") + 1
        self.assertServeFails(t, text, line, "auth.alow_plaintxt")

    def test_unknown_top_level_key(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        text = 'hostname = "mx.tern.test"\nhostnme = "typo"\n'
        self.assertServeFails(t, text, 2, "hostnme")

    def test_wrong_type(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        text = t.config_text().replace("allow_plaintext = false", 'allow_plaintext = "yes"')
        line = text.splitlines().index('allow_plaintext = "yes"') + 1
        self.assertServeFails(t, text, line, "auth.allow_plaintext")

    def test_bad_port(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        bad = f'smtp = ["{HOST}:70000"]'
        text = t.config_text().replace(f'smtp = ["{HOST}:{t.ports["smtp"]}"]', bad)
        line = text.splitlines().index(bad) + 1
        self.assertServeFails(t, text, line, "listen.smtp")

    def test_bad_limit(self):
        t = Tern(limits={"max_message_size": 10})
        self.addCleanup(t.cleanup)
        text = t.config_text()
        line = text.splitlines().index("max_message_size = 10") + 1
        self.assertServeFails(t, text, line, "limits.max_message_size")


class SignalTests(TernTestCase):
    def ehlo_size(self, t):
        c = RawSMTP(t.ports["smtp"])
        try:
            c.greeting()
            for f in c.ehlo():
                if f.startswith("SIZE "):
                    return int(f.split()[1])
        finally:
            c.close()

    def wait_for_size(self, t, size):
        import time
        deadline = time.monotonic() + 30
        while self.ehlo_size(t) != size and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.ehlo_size(t)

    def test_sighup_reload(self):
        t = self.make_server(users=(BOB,))
        default = self.ehlo_size(t)
        self.assertNotEqual(default, 4096)
        # A valid edit: the new limit is in force for new sessions.
        t.limits = {"max_message_size": 4096}
        t.write_config()
        t.signal(signal.SIGHUP)
        self.assertEqual(self.wait_for_size(t, 4096), 4096)
        self.assertTrue(t.running())
        # A broken edit: an error in the log, the server keeps serving with the last good configuration.
        t.write_config(t.config_text() + "\n[limits2]\nbogus = 1\n")
        t.signal(signal.SIGHUP)
        t.wait_for_log("limits2")
        self.assertTrue(t.running())
        self.assertIn("error", t.log().split("limits2")[0].splitlines()[-1])
        self.assertEqual(self.ehlo_size(t), 4096)
        subj = unique("after-bad-reload")
        msg = make_message(SENDER, BOB, subj)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        t.write_config()  # the command line reads the file too
        self.assertStored(t, BOB, subj, msg, SENDER)
        self.assertEqual(t.stop(), 0)

    def peer_certificate(self, t):
        """The DER certificate a new submissions (implicit TLS) connection is given."""
        import socket
        import ssl
        with socket.create_connection((HOST, t.ports["submissions"]), timeout=30) as raw:
            with tls_context().wrap_socket(raw, server_hostname="mx.tern.test") as s:
                return s.getpeercert(binary_form=True)

    def test_sighup_applies_certificate_and_log_level(self):
        """Issue 11: SIGHUP said "reloaded" but kept the old certificate and [log] level."""
        import ssl
        import subprocess
        t = self.make_server(users=(BOB,))
        before = self.peer_certificate(t)
        cert, key = os.path.join(t.dir, "new-cert.pem"), os.path.join(t.dir, "new-key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=renewed.tern.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        with open(cert, encoding="ascii") as f:
            renewed = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertNotEqual(before, renewed)
        t.extra_toml = f'[tls]\ncert = "{cert}"\nkey = "{key}"\n\n[log]\nlevel = "debug"\n'
        t.write_config()
        t.signal(signal.SIGHUP)
        t.wait_for_log("configuration reloaded")
        self.assertEqual(self.peer_certificate(t), renewed)
        # debug lines now appear: a session's disconnect is logged at debug level only
        with smtp(t.ports["smtp"]) as s:
            s.noop()
        t.wait_for_log("disconnect from")
        # A certificate that cannot be read: an error, and the running one stays.
        t.extra_toml = f'[tls]\ncert = "{cert}.missing"\nkey = "{key}"\n'
        t.write_config()
        t.signal(signal.SIGHUP)
        t.wait_for_log("keeping the running configuration")
        self.assertEqual(self.peer_certificate(t), renewed)
        self.assertTrue(t.running())

    def test_sigterm_graceful_stop(self):
        t = self.make_server(users=(BOB,))
        subj = unique("before-stop")
        msg = make_message(SENDER, BOB, subj)
        with smtp(t.ports["smtp"]) as s:
            self.assertEqual(s.sendmail(SENDER, [BOB], msg), {})
        self.assertStored(t, BOB, subj, msg, SENDER)
        self.assertEqual(t.stop(signal.SIGTERM), 0)
        # A clean stop leaves neither the control socket nor the lock file behind.
        self.assertFalse(os.path.exists(os.path.join(t.data, "control.sock")))
        self.assertFalse(os.path.exists(os.path.join(t.data, "tern.lock")))
        self.assertCheckClean(t)
        # It starts again on the same data, with the mail still there; SIGINT stops it the same way.
        t.start()
        self.assertEqual([m["subject"] for m in t.message_list(BOB)], [subj])
        self.assertEqual(t.stop(signal.SIGINT), 0)

    def test_sigterm_with_idle_session(self):
        t = self.make_server(users=(BOB,))
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertEqual(t.stop(signal.SIGTERM), 0)

    def test_sigterm_during_data_answers_421(self):
        """Issue 11: a client still in DATA when the stop's grace period ends gets 421 4.3.2 (RFC 5321
        3.8) before the connection closes, not a silent close; its message is not accepted."""
        t = self.make_server(users=(BOB,))
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<sender@example.test>")[0], 250)
        self.assertEqual(c.cmd(f"RCPT TO:<{BOB}>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: unfinished\r\n\r\nhalf a message\r\n")
        t.signal(signal.SIGTERM)
        code, text = c.reply()  # waits (the socket has a timeout) through the stop's grace period
        self.assertEqual(code, 421, text)
        self.assertTrue(text[0].startswith("4.3.2 "), text)
        self.assertEqual(t.stop(), 0)
        self.assertEqual(t.message_list(BOB), [])

    def test_second_server_on_same_data_refused(self):
        t = self.make_server(users=(BOB,))
        r = t.cli("serve")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"another tern serve (pid {t.proc.pid}) is running", r.stderr)
        self.assertTrue(t.running())

    def test_version_and_missing_folder(self):
        t = self.make_server(users=(BOB,), start=False)
        r = t.cli("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(), r"^tern \d+\.\d+\.\d+$")
        r = t.cli("message", "list", BOB, "--folder", "NoSuch")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("has no folder NoSuch", r.stderr)
        self.assertEqual(t.message_list(BOB), [])  # INBOX: empty, not an error, before any delivery


if __name__ == "__main__":
    main()
