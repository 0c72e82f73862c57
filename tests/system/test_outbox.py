"""The outbox, end to end: a Tern (A) delivers to remote domains through MX records served by a
dnsmasq on loopback, to a second Tern (B) acting as the remote MX, or through static routes.

Every address is on 127.0.0.0/8; DNS answers come only from the dnsmasq this file starts."""

import json
import re
import os
import signal
import smtplib
import socket
import subprocess
import time

from harness import (DOMAIN, HOST, PASSWORD, WAIT, Dns, Tern, TernTestCase, free_port, main, make_message,
                     tls_context, unique)

class OutboxTest(TernTestCase):
    def setUp(self):
        self.mx_port = free_port()
        self.dns = Dns([
            "--mx-host=remote.test,mx.remote.test,10", "--host-record=mx.remote.test,127.0.0.1",
            "--mx-host=backup.test,mx1.backup.test,10", "--mx-host=backup.test,mx2.backup.test,20",
            "--host-record=mx1.backup.test,127.0.0.2", "--host-record=mx2.backup.test,127.0.0.1",
            "--mx-host=null.test,.,0",
            "--host-record=nomx.test,127.0.0.1",
        ])
        self.addCleanup(self.dns.stop)

    def sender_side(self, outbound="", routes="", start=True):
        extra = f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]\n\n[outbound]\nmx_port = {self.mx_port}\n{outbound}\n{routes}'
        a = self.make_server(users=("alice@tern.test",), allow_plaintext=True, extra_toml=extra, start=start)
        return a

    def remote_side(self, domains=("remote.test",), users=("bob@remote.test",), port=None, start=True):
        b = Tern(allow_plaintext=True)
        b.ports["smtp"] = port or self.mx_port
        b.write_config()
        self._servers = getattr(self, "_servers", [])
        self._servers.append(b)
        self.addCleanup(b.cleanup)
        for d in domains:
            b.add_domain(d)
        for u in users:
            b.add_user(u)
        if start:
            b.start()
        return b

    def submit(self, a, rcpts, subject, sender="alice@tern.test", extra=b""):
        msg = make_message(sender, rcpts[0], subject, extra_headers=extra)
        with smtplib.SMTP(HOST, a.ports["submission"], timeout=WAIT) as s:
            s.starttls(context=tls_context())
            s.login(sender, PASSWORD)
            refused = s.sendmail(sender, rcpts, msg)
        self.assertEqual(refused, {})
        return msg

    def queue(self, a):
        return json.loads(a.cli_ok("queue", "list", "--json").stdout)

    def wait_queue_empty(self, a, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while self.queue(a):
            if time.monotonic() > deadline:
                self.fail(f"queue not empty: {self.queue(a)}")
            time.sleep(0.1)

    def wait_until(self, predicate, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail(f"timed out waiting for {what}")
            time.sleep(0.1)

    def dsns(self, a, address="alice@tern.test"):
        return [(m, a.message_bytes(address, m["uid"])) for m in a.message_list(address)
                if "Mail" in m["subject"] or "Delivery" in m["subject"]]

    # -- the cases of the issue -------------------------------------------------------------------

    def test_mx_delivery(self):
        b = self.remote_side()
        a = self.sender_side()
        subject = unique("mx")
        msg = self.submit(a, ["bob@remote.test"], subject)
        got = b.wait_for_messages("bob@remote.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])
        stored = b.message_bytes("bob@remote.test", got[0]["uid"])
        self.assertTrue(stored.endswith(msg), "the message arrives byte for byte")
        self.wait_queue_empty(a)

    def test_sighup_applies_dns_servers(self):
        """Issue 11: SIGHUP said "configuration reloaded" but kept asking the old [dns] servers."""
        moved = Dns(["--mx-host=moved.test,mx.moved.test,10", "--host-record=mx.moved.test,127.0.0.1"])
        self.addCleanup(moved.stop)
        b = self.remote_side(domains=("moved.test",), users=("bob@moved.test",))
        a = self.sender_side()
        a.extra_toml = a.extra_toml.replace(f"127.0.0.1:{self.dns.port}", f"127.0.0.1:{moved.port}")
        a.write_config()
        a.signal(signal.SIGHUP)
        a.wait_for_log("configuration reloaded")
        subject = unique("moved")
        self.submit(a, ["bob@moved.test"], subject)  # the old server answers NXDOMAIN for moved.test
        got = b.wait_for_messages("bob@moved.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])
        a.wait_for_log(f"dns: now asking 127.0.0.1:{moved.port}")
        self.wait_queue_empty(a)

    def test_alias_to_remote_targets_is_expanded_in_one_queue_file(self):
        """A local alias pointing only elsewhere: its targets take its place when the message is queued
        (one queue file, like Postfix's virtual alias expansion), the original address kept as ORCPT;
        an alias with a local and a remote target still delivers both."""
        b = self.remote_side(users=("bob@remote.test", "carol@remote.test"))
        a = self.sender_side(outbound='retry = ["1h"]', start=False)
        a.cli_ok("alias", "add", "out@tern.test", "bob@remote.test", "carol@remote.test")
        a.add_user("dave@tern.test")
        a.cli_ok("alias", "add", "mixed@tern.test", "dave@tern.test", "bob@remote.test")
        b.stop()  # keep the message queued so that its file can be read
        a.start()
        subject = unique("alias")
        with smtplib.SMTP(HOST, a.ports["smtp"], timeout=WAIT) as s:
            self.assertEqual(s.sendmail("x@example.test", ["out@tern.test"],
                                        make_message("x@example.test", "out@tern.test", subject)), {})
        queued = self.queue(a)
        self.assertEqual(len(queued), 1, queued)
        shown = a.cli_ok("queue", "show", queued[0]["id"]).stdout
        self.assertIn("bob@remote.test", shown)
        self.assertIn("carol@remote.test", shown)
        self.assertNotIn("forwarded", a.log())
        files = a.outbox_files()
        self.assertEqual(len(files), 1, files)
        self.assertIn(b"ORCPT:rfc822;out@tern.test", files[0].replace(b": ", b":"))
        b.start()
        a.cli_ok("queue", "retry", queued[0]["id"])
        got = b.wait_for_messages("bob@remote.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])
        self.assertEqual([m["subject"] for m in b.wait_for_messages("carol@remote.test", 1)], [subject])
        self.wait_queue_empty(a)
        # mixed: the local part is delivered at once, the remote target by the outbox
        subject2 = unique("mixed")
        with smtplib.SMTP(HOST, a.ports["smtp"], timeout=WAIT) as s:
            s.sendmail("x@example.test", ["mixed@tern.test"], make_message("x@example.test", "mixed@tern.test", subject2))
        self.assertEqual([m["subject"] for m in a.wait_for_messages("dave@tern.test", 1)], [subject2])
        got = b.wait_for_messages("bob@remote.test", 2)
        self.assertEqual(sorted(m["subject"] for m in got), sorted([subject, subject2]))
        self.wait_queue_empty(a)

    def test_remote_down_then_retry_delivers_at_once(self):
        a = self.sender_side(outbound='retry = ["1h"]')
        subject = unique("retry")
        self.submit(a, ["bob@remote.test"], subject)
        self.wait_until(lambda: self.queue(a) and self.queue(a)[0]["recipients"][0]["attempts"] >= 1, "a failed attempt")
        r = self.queue(a)[0]["recipients"][0]
        self.assertEqual(r["state"], "queued")
        self.assertNotEqual(r["last_error"], "")
        b = self.remote_side()
        out = a.cli_ok("queue", "retry")
        self.assertIn("due now", out.stdout)
        got = b.wait_for_messages("bob@remote.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])
        self.wait_queue_empty(a)

    def test_permanent_failure_gives_dsn(self):
        self.remote_side()
        a = self.sender_side()
        subject = unique("perm")
        self.submit(a, ["nobody@remote.test"], subject)
        self.wait_queue_empty(a)
        self.wait_until(lambda: self.dsns(a), "a DSN")
        m, raw = self.dsns(a)[0]
        self.assertIn(b"multipart/report; report-type=delivery-status", raw)
        self.assertIn(b"Action: failed", raw)
        self.assertIn(b"Status: 5.1.1", raw)
        self.assertIn(b"Final-Recipient: rfc822; nobody@remote.test", raw)
        self.assertIn(subject.encode(), raw, "the original message is returned")
        self.assertIn(b"Return-Path: <>", raw, "DSNs have the null sender")

    def test_null_mx_fails_at_once(self):
        a = self.sender_side()
        self.submit(a, ["someone@null.test"], unique("nullmx"))
        self.wait_until(lambda: self.dsns(a), "a DSN")
        raw = self.dsns(a)[0][1]
        self.assertIn(b"Status: 5.1.10", raw)
        self.wait_queue_empty(a)

    def test_first_mx_down_second_up(self):
        b = self.remote_side(domains=("backup.test",), users=("carol@backup.test",))
        a = self.sender_side()
        subject = unique("backup")
        self.submit(a, ["carol@backup.test"], subject)
        got = b.wait_for_messages("carol@backup.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])

    def test_no_mx_uses_address_record(self):
        b = self.remote_side(domains=("nomx.test",), users=("dan@nomx.test",))
        a = self.sender_side()
        subject = unique("nomx")
        self.submit(a, ["dan@nomx.test"], subject)
        self.assertEqual([m["subject"] for m in b.wait_for_messages("dan@nomx.test", 1)], [subject])

    def test_many_recipients_share_one_connection(self):
        users = tuple(f"u{i}@remote.test" for i in range(6))
        b = self.remote_side(users=users)
        a = self.sender_side()
        before = b.log().count("connect from 127.0.0.1")  # the harness's readiness probe
        subject = unique("shared")
        self.submit(a, list(users), subject)
        for u in users:
            self.assertEqual(len(b.wait_for_messages(u, 1)), 1)
        self.assertEqual(b.log().count("connect from 127.0.0.1") - before, 1, "one connection for all recipients")
        self.assertEqual(b.log().count(": queued "), 1, "one transaction for all recipients")

    def test_relay_route_with_auth_and_required_starttls(self):
        b = self.remote_side(domains=("partner.test", "tern.test"), users=("relay@partner.test", "erin@partner.test"))
        # An authenticated session may only send as its own addresses, on every listener (issue 10
        # item 8): the relay account owns alice's address on B, as Postfix's smtpd_sender_login_maps
        # would say for a smarthost client.
        b.cli_ok("alias", "add", "alice@tern.test", "relay@partner.test")
        route = f'[[route]]\nmatch = "*.partner.test"\nrelay = "127.0.0.1:{b.ports["smtp"]}"\ntls = "starttls"\n' \
                f'auth = {{ user = "relay@partner.test", password = "{PASSWORD}" }}\n' \
                f'[[route]]\nmatch = "partner.test"\nrelay = "127.0.0.1:{b.ports["smtp"]}"\ntls = "starttls"\n' \
                f'auth = {{ user = "relay@partner.test", password = "{PASSWORD}" }}\n'
        a = self.sender_side(routes=route)
        subject = unique("route")
        self.submit(a, ["erin@partner.test"], subject)
        got = b.wait_for_messages("erin@partner.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])
        stored = b.message_bytes("erin@partner.test", got[0]["uid"])
        self.assertIn(b"with ESMTPSA", stored, "B received it over TLS with AUTH")

    def test_required_tls_never_falls_back_to_plaintext(self):
        sink_port = free_port()
        # A plain server without STARTTLS (a Tern whose TLS is not offered is not possible; use a tiny
        # server that greets and offers no STARTTLS).
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((HOST, sink_port))
        srv.listen(5)
        self.addCleanup(srv.close)
        import threading
        got = []

        def serve():
            srv.settimeout(WAIT)
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.sendall(b"220 plain ESMTP\r\n")
            data = b""
            while b"\r\n" not in data:
                data += c.recv(1024)
            c.sendall(b"250-plain\r\n250 8BITMIME\r\n")
            rest = c.recv(1024)
            got.append(data + rest)
            c.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        route = f'[[route]]\nmatch = "*"\nrelay = "127.0.0.1:{sink_port}"\ntls = "starttls"\nretry = ["1h"]\n'
        a = self.sender_side(routes=route)
        self.submit(a, ["x@elsewhere.test"], unique("tls"))
        self.wait_until(lambda: self.queue(a) and self.queue(a)[0]["recipients"][0]["attempts"] >= 1, "an attempt")
        t.join(WAIT)
        self.assertTrue(got)
        self.assertNotIn(b"MAIL FROM", got[0], "no plaintext fallback")
        self.assertEqual(self.queue(a)[0]["recipients"][0]["state"], "queued")

    def test_temporary_failure_then_success(self):
        """A remote that answers 451 to the first attempt and 250 to the next: delivered once, and the
        queue showed the 451 as the last reply in between."""
        import threading
        port = free_port()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((HOST, port))
        srv.listen(5)
        srv.settimeout(WAIT)
        self.addCleanup(srv.close)
        delivered = []

        def session(c, refuse):
            f = c.makefile("rb")
            c.sendall(b"220 fake ESMTP\r\n")
            accepted = 0
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    c.sendall(b"250-fake\r\n250 PIPELINING\r\n")
                elif verb == b"MAIL":
                    c.sendall(b"250 2.1.0 ok\r\n")
                elif verb == b"RCPT":
                    c.sendall(b"451 4.3.2 try again later\r\n" if refuse else b"250 2.1.5 ok\r\n")
                    accepted += 0 if refuse else 1
                elif verb == b"DATA" and not accepted:
                    c.sendall(b"554 5.5.1 no valid recipients\r\n")  # RFC 2920 3.1
                elif verb == b"DATA":
                    c.sendall(b"354 go\r\n")
                    data = b""
                    while not data.endswith(b"\r\n.\r\n"):
                        data += f.readline()
                    delivered.append(data)
                    c.sendall(b"250 2.0.0 accepted\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")

        def serve():
            n = 0
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                with c:
                    session(c, refuse=(n == 0))
                n += 1

        threading.Thread(target=serve, daemon=True).start()
        route = f'[[route]]\nmatch = "*"\nrelay = "127.0.0.1:{port}"\ntls = "none"\nretry = ["3s"]\n'
        a = self.sender_side(routes=route)
        subject = unique("soft")
        self.submit(a, ["x@soft.test"], subject)
        self.wait_until(lambda: self.queue(a) and self.queue(a)[0]["recipients"][0]["attempts"] >= 1, "a deferral")
        self.assertIn("451 4.3.2 try again later", self.queue(a)[0]["recipients"][0]["last_error"])
        self.wait_queue_empty(a)
        self.assertEqual(len(delivered), 1)
        self.assertIn(subject.encode(), delivered[0])
        self.assertEqual(self.dsns(a), [], "no DSN for a message that got through")

    def test_expiry_and_delay_dsn(self):
        closed = free_port()
        route = f'[[route]]\nmatch = "*"\nrelay = "127.0.0.1:{closed}"\nretry = ["1s"]\ngive_up_after = "4s"\n'
        a = self.sender_side(outbound='delay_warning_after = "1s"', routes=route)
        self.submit(a, ["x@gone.test"], unique("expire"))
        self.wait_until(lambda: len(self.dsns(a)) >= 2, "a delay DSN and a failure DSN", timeout=60)
        raws = [raw for _, raw in self.dsns(a)]
        delays = [r for r in raws if b"Action: delayed" in r]
        fails = [r for r in raws if b"Action: failed" in r]
        self.assertEqual(len(delays), 1, "exactly one delay warning")
        self.assertEqual(len(fails), 1)
        self.assertIn(b"Status: 4.4.7", fails[0])
        self.wait_queue_empty(a)

    def test_delivery_log_lines(self):
        """Issue 11: each delivery attempt is one log line with Postfix's fields (to, orig_to, relay,
        delay, size, from, message-id, dsn, status with the reply); timestamps carry the UTC offset."""
        b = self.remote_side()
        closed = free_port()
        route = f'[[route]]\nmatch = "far.test"\nrelay = "127.0.0.1:{closed}"\ntls = "none"\nretry = ["1h"]\n'
        a = self.sender_side(routes=route)
        a.cli_ok("alias", "add", "fwd@tern.test", "x@far.test")
        subject = unique("logged")
        msg = make_message("alice@tern.test", "bob@remote.test", subject)
        mid = re.search(rb"Message-ID: (<[^>]+>)", msg).group(1).decode()
        with smtplib.SMTP(HOST, a.ports["submission"], timeout=WAIT) as s:
            s.starttls(context=tls_context())
            s.login("alice@tern.test", PASSWORD)
            self.assertEqual(s.sendmail("alice@tern.test", ["bob@remote.test", "fwd@tern.test", "alice@tern.test"], msg), {})
        a.wait_for_log("status=deferred")
        b.wait_for_messages("bob@remote.test", 1)
        a.wait_for_log("to=<bob@remote.test>")
        lines = {m.group(1): m.group(0) for m in re.finditer(r"to=<([^>]+)>.*", a.log())}
        size = rf"size=\d+, from=<alice@tern\.test>, message-id={re.escape(mid)}"
        self.assertRegex(lines["alice@tern.test"], rf"relay=local, delay=\d+, {size}, dsn=2\.0\.0, status=sent \(250 ")
        self.assertRegex(lines["bob@remote.test"], rf"relay=\S+\[127\.0\.0\.1\]:\d+, delay=\d+, {size}, dsn=2\.\d\.\d, "
                                                  r"status=sent \(250 ")
        self.assertRegex(lines["x@far.test"], rf"orig_to=<fwd@tern\.test>, relay=\S+, delay=\d+, {size}, dsn=4\.4\.1, "
                                             r"attempt=1, next_in=\d+s, status=deferred \(451 4\.4\.1 .*Connection refused")
        self.assertRegex(a.log().splitlines()[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ")

    def test_pending_file_with_only_from_and_rcpt(self):
        b = self.remote_side()
        a = self.sender_side()
        subject = unique("pending")
        body = (f"FROM: alice@tern.test\nRCPT: bob@remote.test\nRCPT: alice@tern.test\n"
                f"From: alice@tern.test\nSubject: {subject}\n\nhello from pending\n").encode()
        tmp = os.path.join(a.dir, "drop")
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(a.data, "mail", "pending", "msg1"))
        self.assertEqual([m["subject"] for m in b.wait_for_messages("bob@remote.test", 1)], [subject])
        stored = a.wait_for_messages("alice@tern.test", 1)
        self.assertIn(subject, [m["subject"] for m in stored])
        self.assertEqual(os.listdir(os.path.join(a.data, "mail", "pending")), [])
        # Issue 11: a picked-up file gets a Received field (RFC 5321 4.4), in the file's own line ends
        raw = a.message_bytes("alice@tern.test", stored[0]["uid"])
        self.assertRegex(raw, rb"^Return-Path: <alice@tern.test>\r\nReceived: by mx\.tern\.test \(Tern\) via pending id "
                              rb"\w+;\r\n\t\w{3}, \d+ \w{3} \d{4} [\d:]{8} [+-]\d{4}\r\nFrom: alice@tern\.test\r\n")

    def test_pending_file_gets_its_arrival_time(self):
        """Issue 11: a pending file's arrival time was not recorded (queue list showed 0, 1970)."""
        closed = free_port()
        route = f'[[route]]\nmatch = "*"\nrelay = "127.0.0.1:{closed}"\nretry = ["1h"]\n'
        a = self.sender_side(routes=route)
        before = int(time.time())
        body = b"FROM: alice@tern.test\r\nRCPT: x@far.test\r\nSubject: later\r\n\r\nbody\r\n"
        tmp = os.path.join(a.dir, "drop")
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(a.data, "mail", "pending", "later"))
        self.wait_until(lambda: self.queue(a), "the pending file in the queue")
        self.assertGreaterEqual(self.queue(a)[0]["arrived"], before)
        # it stays after a restart: the arrival time is in the queue file, not only in memory
        a.stop()
        self.assertGreaterEqual(self.queue(a)[0]["arrived"], before)

    def test_pending_copy_with_one_recipient_done(self):
        b = self.remote_side(users=("bob@remote.test", "ann@remote.test"))
        a = self.sender_side()
        subject = unique("copied")
        data = (f"FROM: alice@tern.test\r\nDONE: bob@remote.test\r\nRCPT: ann@remote.test\r\n"
                f"From: alice@tern.test\r\nSubject: {subject}\r\n\r\nbody\r\n").encode()
        tmp = os.path.join(a.dir, "copy")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(a.data, "mail", "pending", "copied.msg"))
        self.assertEqual(len(b.wait_for_messages("ann@remote.test", 1)), 1)
        self.wait_queue_empty(a)
        self.assertEqual(b.message_list("bob@remote.test"), [], "the DONE recipient gets nothing")

    def test_garbage_pending_file_goes_to_lost_found(self):
        a = self.sender_side()
        with open(os.path.join(a.data, "mail", "pending", "junk"), "wb") as f:
            f.write(b"this is not a queue file\n")
        lf = os.path.join(a.data, "mail", "lost+found")
        self.wait_until(lambda: "junk.why" in os.listdir(lf), "the note in lost+found")
        self.assertIn("junk", os.listdir(lf))

    def test_damaged_outbox_is_repaired_at_start(self):
        a = self.sender_side(outbound='retry = ["1h"]')
        subjects = [unique("dmg") for _ in range(3)]
        for s in subjects:
            self.submit(a, ["bob@remote.test"], s)
        self.wait_until(lambda: len(self.queue(a)) == 3 and all(q["recipients"][0]["attempts"] >= 1 for q in self.queue(a)),
                        "three deferred messages")
        a.stop()
        outbox = os.path.join(a.data, "mail", "outbox")
        names = sorted(n for n in os.listdir(outbox) if n.endswith(".msg"))
        # 1. the index garbled, 2. a garbage file, 3. one queue file truncated
        with open(os.path.join(outbox, "index.db"), "wb") as f:
            f.write(os.urandom(4096))
        for n in os.listdir(outbox):
            if n.startswith("index.db-"):
                os.remove(os.path.join(outbox, n))
        with open(os.path.join(outbox, "garbage.bin"), "wb") as f:
            f.write(b"\x00\x01garbage")
        path = os.path.join(outbox, names[0])
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) - 10])
        b = self.remote_side()
        a.start()
        got = b.wait_for_messages("bob@remote.test", 2)
        self.assertEqual(len(got), 2, "the two intact messages are delivered")
        lf = sorted(os.listdir(os.path.join(a.data, "mail", "lost+found")))
        self.assertIn("garbage.bin", lf)
        self.assertIn(names[0], lf)
        self.assertIn(names[0] + ".why", lf)
        self.assertIn("rebuilding", a.log())

    def test_index_deleted_is_rebuilt(self):
        a = self.sender_side(outbound='retry = ["1h"]')
        self.submit(a, ["bob@remote.test"], unique("idx"))
        self.wait_until(lambda: self.queue(a) and self.queue(a)[0]["recipients"][0]["attempts"] >= 1, "an attempt")
        a.stop()
        outbox = os.path.join(a.data, "mail", "outbox")
        for n in os.listdir(outbox):
            if n.startswith("index.db"):
                os.remove(os.path.join(outbox, n))
        b = self.remote_side()
        a.start()
        self.assertEqual(len(b.wait_for_messages("bob@remote.test", 1)), 1)
        self.assertIn("index rebuilt", a.log())

    def test_hold_release_delete_bounce(self):
        a = self.sender_side(outbound='retry = ["1h"]')
        for _ in range(3):
            self.submit(a, ["bob@remote.test"], unique("admin"))
        self.wait_until(lambda: len(self.queue(a)) == 3, "three queued")
        ids = [q["id"] for q in self.queue(a)]
        # release of a message that is not held says so and changes nothing
        r = a.cli("queue", "release", ids[0])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("is not held", r.stderr)
        a.cli_ok("queue", "hold", ids[0])
        self.assertEqual(self.queue(a)[0]["recipients"][0]["state"], "held")
        r = a.cli("queue", "retry", ids[0])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("is held", r.stderr)
        self.assertEqual(self.queue(a)[0]["recipients"][0]["state"], "held")
        a.cli_ok("queue", "release", ids[0])
        self.assertEqual(self.queue(a)[0]["recipients"][0]["state"], "queued")
        for verb in ("held", "released"):
            a.wait_for_log(f"queue {ids[0]}: {verb} by the administrator")
        a.cli_ok("queue", "delete", ids[1])
        self.assertNotIn(ids[1], [q["id"] for q in self.queue(a)])
        a.cli_ok("queue", "bounce", ids[2])
        self.wait_until(lambda: self.dsns(a), "the bounce DSN")
        self.assertNotIn(ids[2], [q["id"] for q in self.queue(a)])
        show = a.cli_ok("queue", "show", ids[0]).stdout
        self.assertTrue(show.startswith("FROM: alice@tern.test"))
        # the same commands work with the server stopped
        a.stop()
        a.cli_ok("queue", "hold", ids[0])
        self.assertEqual(self.queue(a)[0]["recipients"][0]["state"], "held")
        a.cli_ok("queue", "release", ids[0])
        r = a.cli("queue", "delete", "no-such-id")
        self.assertEqual(r.returncode, 1)

    def test_copy_delivered_to_archive(self):
        b = self.remote_side()
        a = self.sender_side(outbound='copy_delivered_to = "sent-archive@tern.test"')
        a.cli_ok("archive", "add", "sent-archive@tern.test")
        subject = unique("copy")
        self.submit(a, ["bob@remote.test"], subject)
        self.assertEqual(len(b.wait_for_messages("bob@remote.test", 1)), 1)
        got = a.wait_for_messages("sent-archive@tern.test", 1)
        self.assertEqual([m["subject"] for m in got], [subject])
        time.sleep(0.5)
        self.assertEqual(len(a.message_list("sent-archive@tern.test")), 1, "exactly one copy")


if __name__ == "__main__":
    main()
