"""Timeouts and connection slots on the real server ([limits] command_timeout, data_timeout,
min_data_rate, login_timeout, max_connections_per_service).

A client that drips one octet every half second must be cut off at the command deadline with the
protocol's reply (SMTP 421 4.4.2, IMAP * BYE, POP3 -ERR), a deadline of a few seconds must take effect
at all, the session before login has a total deadline, and a flood of idle connections on one service
leaves slots for the others. The tests wait for the server's reply and close (bounded by WAIT only
against a hang); the half-second pauses of the dripping client are the behaviour under test, never a
synchronisation.
"""

import select
import socket
import time

from harness import HOST, PASSWORD, WAIT, RawSMTP, TernTestCase, main, tls_context

BOB = "bob@tern.test"
SENDER = "sender@example.test"
DRIP_INTERVAL = 0.5  # seconds between the octets of a dripping client


def connect(port):
    return socket.create_connection((HOST, port), timeout=WAIT)


def read_line(sock):
    """One line (without CRLF) read octet by octet, so nothing after it is consumed."""
    line = b""
    while not line.endswith(b"\r\n"):
        c = sock.recv(1)
        if not c:
            raise ConnectionError(f"closed after {line!r}")
        line += c
    return line[:-2]


def read_to_close(sock):
    """Everything the server sends until it closes the connection."""
    data = b""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the server did not close the connection; got {data!r}")


def drip(sock, text=b"NOOP " + b"x" * 2000):
    """Sends `text` one octet every DRIP_INTERVAL seconds (never a line end) until the server answers;
    returns what it sent up to its close. Fails if the server keeps listening for WAIT seconds."""
    deadline = time.monotonic() + WAIT
    for octet in text:
        if time.monotonic() > deadline:
            break
        try:
            sock.sendall(bytes([octet]))
        except (BrokenPipeError, ConnectionResetError):
            return read_to_close(sock)
        readable, _, _ = select.select([sock], [], [], DRIP_INTERVAL)
        if readable:
            return read_to_close(sock)
    raise AssertionError("a client dripping one octet every half second was never cut off")


class CommandDeadlineTests(TernTestCase):
    """command_timeout = 2s: a whole command line must arrive within it, however it trickles in;
    data_timeout = 3s: the same for a whole message, with min_data_rate."""

    def setUp(self):
        self.t = self.make_server(users=(BOB,), allow_plaintext=True,
                                  services=("smtp", "submissions", "imaps", "imap", "pop3"),
                                  limits={"command_timeout": "2s", "data_timeout": "3s", "login_timeout": "1m"})

    def assertSmtpTimeout(self, data):
        lines = data.split(b"\r\n")
        self.assertEqual(lines[-1], b"", data)
        self.assertRegex(lines[-2], rb"^421 4\.4\.2 .*timeout", data)

    def test_short_timeout_takes_effect(self):
        # The deadline used to be armed once at 300 s: a 2 s timeout never fired.
        s = connect(self.t.ports["smtp"])
        self.addCleanup(s.close)
        self.assertTrue(read_line(s).startswith(b"220 "))
        self.assertSmtpTimeout(read_to_close(s))

    def test_timeout_reply_inside_tls(self):
        # The read cancelled by the deadline was a TLS read: the reply still goes out, encrypted.
        for service, greeting, pattern in (("submissions", b"220 ", rb"^421 4\.4\.2 .*timeout.*\r\n\Z"),
                                           ("imaps", b"* OK", rb"^\* BYE .*timeout\r\n\Z")):
            with self.subTest(service=service):
                s = tls_context().wrap_socket(connect(self.t.ports[service]), server_hostname="mx.tern.test")
                self.addCleanup(s.close)
                self.assertTrue(read_line(s).startswith(greeting))
                s.sendall(b"a")  # a begun command: IMAP's idle wait is long, its command deadline 2 s
                self.assertRegex(read_to_close(s), pattern)

    def test_smtp_dripping_command_line(self):
        s = connect(self.t.ports["smtp"])
        self.addCleanup(s.close)
        self.assertTrue(read_line(s).startswith(b"220 "))
        s.sendall(b"EHLO client.test\r\n")
        while not read_line(s).startswith(b"250 "):
            pass
        self.assertSmtpTimeout(drip(s))

    def test_smtp_dripping_data(self):
        s = connect(self.t.ports["smtp"])
        self.addCleanup(s.close)
        self.assertTrue(read_line(s).startswith(b"220 "))
        for line, code in ((b"HELO client.test", b"250"), (f"MAIL FROM:<{SENDER}>".encode(), b"250"),
                           (f"RCPT TO:<{BOB}>".encode(), b"250"), (b"DATA", b"354")):
            s.sendall(line + b"\r\n")
            self.assertTrue(read_line(s).startswith(code + b" "))
        self.assertSmtpTimeout(drip(s, b"Subject: slow\r\n\r\n" + b"y" * 2000))
        self.assertEqual(self.t.outbox_files(), [])

    def test_imap_dripping_command_after_login(self):
        s = connect(self.t.ports["imap"])
        self.addCleanup(s.close)
        self.assertTrue(read_line(s).startswith(b"* OK"))
        s.sendall(f"a1 LOGIN {BOB} {PASSWORD}\r\n".encode())
        while not read_line(s).startswith(b"a1 "):
            pass
        # Logged in, a session may wait 30 minutes for a command; a begun one must end in 2 s.
        data = drip(s, b"a2 NOOP" + b" x" * 1000)
        self.assertRegex(data, rb"(?m)^\* BYE .*timeout\r\n\Z")

    def test_pop3_dripping_command(self):
        s = connect(self.t.ports["pop3"])
        self.addCleanup(s.close)
        self.assertTrue(read_line(s).startswith(b"+OK"))
        data = drip(s, b"USER " + b"x" * 200)
        self.assertRegex(data, rb"^-ERR .*timeout\r\n\Z")

    def test_data_at_a_fair_rate_outlasts_the_data_timeout(self):
        """min_data_rate (500 octets/s by default): DATA sent in bursts of 3000 octets a second takes
        longer than data_timeout (3 s) in all, yet keeps ahead of its deadline and is accepted."""
        c = RawSMTP(self.t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{BOB}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: fair rate\r\n\r\n")
        for _ in range(5):
            c.send((b"z" * 98 + b"\r\n") * 30)
            time.sleep(1)  # the pacing under test: 3000 octets a second, 5 s in all
        self.assertReply(c.cmd("."), 250, "2.0.0")
        self.assertEqual([m["subject"] for m in self.t.wait_for_messages(BOB, 1)], ["fair rate"])


class LoginDeadlineTests(TernTestCase):
    """login_timeout = 2s: the whole session before login, however busy the client keeps it."""

    def setUp(self):
        self.t = self.make_server(users=(BOB,), allow_plaintext=True, services=("smtp", "imap", "pop3"),
                                  limits={"command_timeout": "1m", "login_timeout": "2s"})

    def busy_until_closed(self, sock, line, answer):
        """Sends complete commands (each answered) every half second until the server closes."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                sock.sendall(line)
                got = read_line(sock)
            except (ConnectionError, BrokenPipeError):
                raise AssertionError("closed without a reply")
            if not got.startswith(answer):
                return got + b"\r\n" + read_to_close(sock)
            time.sleep(DRIP_INTERVAL)
        raise AssertionError("a session that never logged in was kept open")

    def test_smtp_before_mail(self):
        s = connect(self.t.ports["smtp"])
        self.addCleanup(s.close)
        read_line(s)
        self.assertRegex(self.busy_until_closed(s, b"NOOP\r\n", b"250 "), rb"^421 4\.4\.2 .*timeout.*\r\n\Z")

    def test_imap_before_login(self):
        s = connect(self.t.ports["imap"])
        self.addCleanup(s.close)
        read_line(s)
        self.assertRegex(self.busy_until_closed(s, b"n NOOP\r\n", b"n OK"), rb"^\* BYE .*timeout\r\n\Z")

    def test_pop3_before_login(self):
        s = connect(self.t.ports["pop3"])
        self.addCleanup(s.close)
        read_line(s)
        self.assertRegex(self.busy_until_closed(s, b"CAPA\r\n", b"+OK"), rb"-ERR .*timeout\r\n\Z")

    def test_logged_in_session_outlives_the_login_deadline(self):
        s = connect(self.t.ports["imap"])
        self.addCleanup(s.close)
        read_line(s)
        s.sendall(f"a LOGIN {BOB} {PASSWORD}\r\n".encode())
        self.assertTrue(read_line(s).startswith(b"a OK"))
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < 3:  # past the 2 s of login_timeout (pacing, not a measurement)
            n += 1
            s.sendall(f"n{n} NOOP\r\n".encode())
            self.assertTrue(read_line(s).startswith(f"n{n} OK".encode()))
            time.sleep(DRIP_INTERVAL)


class ServiceSlotTests(TernTestCase):
    def test_flood_on_one_service_leaves_slots_for_the_others(self):
        """max_connections = 20, so each service may hold half (max_connections_per_service's default):
        idle SMTP connections from one address fill SMTP's share, and IMAP and POP3 clients are still
        served."""
        t = self.make_server(users=(BOB,), allow_plaintext=True, services=("smtp", "imap", "pop3"),
                             limits={"max_connections": 20, "max_connections_per_ip": 100})
        held = []
        refused = None
        for _ in range(21):
            s = connect(t.ports["smtp"])
            self.addCleanup(s.close)
            first = read_line(s)
            if not first.startswith(b"220 "):
                refused = first
                break
            held.append(s)
        self.assertEqual(len(held), 10)
        self.assertRegex(refused, rb"^421 4\.7\.0 ")
        i = connect(t.ports["imap"])
        self.addCleanup(i.close)
        self.assertTrue(read_line(i).startswith(b"* OK"))
        i.sendall(f"a LOGIN {BOB} {PASSWORD}\r\n".encode())
        self.assertTrue(read_line(i).startswith(b"a OK"))
        p = connect(t.ports["pop3"])
        self.addCleanup(p.close)
        self.assertTrue(read_line(p).startswith(b"+OK"))

    def test_per_service_limit_is_configurable(self):
        t = self.make_server(users=(BOB,), services=("smtp", "imap"),
                             limits={"max_connections_per_service": 3, "max_connections_per_ip": 100})
        held = []
        for _ in range(3):
            s = connect(t.ports["imap"])
            self.addCleanup(s.close)
            self.assertTrue(read_line(s).startswith(b"* OK"))
            held.append(s)
        extra = connect(t.ports["imap"])
        self.addCleanup(extra.close)
        self.assertRegex(read_line(extra), rb"^\* BYE \[UNAVAILABLE\] ")
        # SMTP has its own three.
        c = RawSMTP(t.ports["smtp"])
        self.addCleanup(c.close)
        c.greeting()
        # A slot given back is free again as soon as the client sees its connection close.
        held[0].sendall(b"a LOGOUT\r\n")
        read_to_close(held[0])
        again = connect(t.ports["imap"])
        self.addCleanup(again.close)
        self.assertTrue(read_line(again).startswith(b"* OK"))


if __name__ == "__main__":
    main()
