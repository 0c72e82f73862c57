"""A wire-level IMAP client and response parser for the IMAP system tests (test_imap*.py).

Python's imaplib hides the exact bytes; the tests need them (literals, untagged responses in order,
response codes), so most tests talk through Conn: send a command, get back its untagged responses
(each one whole, literals inline exactly as sent) and its tagged completion. parse() turns response
text into Python values: atoms as str, quoted strings and literals as bytes, NIL as None,
parenthesized lists as lists; a FETCH item name such as BODY[HEADER.FIELDS (Subject)]<0> stays one
atom.

deliver() sends messages over SMTP and waits for the spool to have put them in the mailbox (by the
server's log lines, as test_pop3 does). ImapCase is the base class of the conversation tests: one
server per class, a new user per test.
"""

import base64
import datetime
import email.utils
import re
import smtplib
import socket
import ssl
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

from harness import DOMAIN, HOST, PASSWORD, WAIT, Tern, TernTestCase, tls_context, unique

SENDER = "sender@example.test"
SERVICES = ("smtp", "imap", "imaps")


# --- parsing -------------------------------------------------------------------------------------

class ParseError(Exception):
    pass


def parse(data, pos=0):
    """Parses a sequence of IMAP values (up to the end of `data`) into a list."""
    out, pos = _parse_seq(data, pos, None)
    return out


def _parse_seq(data, pos, closer):
    out = []
    n = len(data)
    while True:
        while pos < n and data[pos:pos + 1] in (b" ", b"\r", b"\n"):
            pos += 1
        if pos >= n:
            if closer is not None:
                raise ParseError(f"unterminated list in {data!r}")
            return out, pos
        c = data[pos:pos + 1]
        if closer is not None and c == closer:
            return out, pos + 1
        if c == b"(":
            sub, pos = _parse_seq(data, pos + 1, b")")
            out.append(sub)
        elif c == b'"':
            pos += 1
            s = bytearray()
            while True:
                if pos >= n:
                    raise ParseError(f"unterminated string in {data!r}")
                ch = data[pos:pos + 1]
                if ch == b"\\":
                    s += data[pos + 1:pos + 2]
                    pos += 2
                elif ch == b'"':
                    pos += 1
                    break
                else:
                    s += ch
                    pos += 1
            out.append(bytes(s))
        elif c in (b"{", b"~") and re.match(rb"~?\{\d+\+?\}\r\n", data[pos:pos + 24]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:])
            size = int(m.group(1))
            start = pos + m.end()
            out.append(bytes(data[start:start + size]))
            pos = start + size
        else:
            # An atom; brackets (a section spec) may hold spaces and parentheses.
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")", b"\r", b"\n"):
                    break
                pos += 1
            atom = data[start:pos].decode("utf-8", "replace")
            if not atom:
                raise ParseError(f"unexpected byte {c!r} at {pos} in {data!r}")
            out.append(None if atom.upper() == "NIL" else atom)


def fetch_items(resp):
    """'* 3 FETCH (UID 7 FLAGS (\\Seen) ...)' -> (3, {'UID': '7', 'FLAGS': [...], ...}); names upper-case."""
    v = parse(resp)
    if len(v) < 4 or v[0] != "*" or str(v[2]).upper() != "FETCH":
        raise ParseError(f"not a FETCH response: {resp!r}")
    items = v[3]
    d = {}
    for i in range(0, len(items) - 1, 2):
        d[items[i].upper()] = items[i + 1]
    # \Recent (RFC 3501 2.3.2) is session state, not a stored flag: FLAGS here are the stored flags
    # (the \Recent tests in test_imap.py read the response bytes).
    if isinstance(d.get("FLAGS"), list):
        d["FLAGS"] = [f for f in d["FLAGS"] if f != "\\Recent"]
    return int(v[1]), d


def norm(v):
    """Upper-cases atoms and strings (for case-insensitive comparisons of BODYSTRUCTURE etc.)."""
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace").upper()
    if isinstance(v, str):
        return v.upper()
    return v


def quote(s):
    """An IMAP quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seq_set(text):
    """'1:3,5' -> [1, 2, 3, 5]."""
    out = []
    for part in str(text).split(","):
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            out += list(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def code_of(text):
    """'OK [APPENDUID 5 7] done' -> 'APPENDUID 5 7' ('' without a response code)."""
    m = re.match(rb"^(?:\S+ )?(?:OK|NO|BAD|BYE|PREAUTH) \[([^\]]*)\]", text if isinstance(text, bytes) else text.encode())
    return m.group(1).decode() if m else ""


# --- the connection ------------------------------------------------------------------------------

class Result:
    def __init__(self, tag, untagged, tagged):
        self.tag = tag
        self.untagged = untagged  # [bytes] each "* ..." or "+ ..." response, CRLF removed at its end
        self.tagged = tagged      # bytes: "OK ...", "NO ...", "BAD ..." (tag removed)

    @property
    def status(self):
        return self.tagged.split(b" ", 1)[0].decode()

    @property
    def code(self):
        return code_of(self.tagged)

    def named(self, name):
        """The untagged responses '* NAME ...' (or '* n NAME ...'), as bytes after '* '."""
        name = name.upper().encode()
        out = []
        for u in self.untagged:
            words = u.split(b" ", 3)
            if len(words) >= 2 and words[1].upper() == name:
                out.append(u[2:])
            elif len(words) >= 3 and words[1].isdigit() and words[2].upper().rstrip(b")") == name:
                out.append(u[2:])
        return out

    def fetches(self):
        """{seq: items} of the FETCH responses (several for one message are merged)."""
        out = {}
        for u in self.untagged:
            if re.match(rb"^\* \d+ FETCH ", u):
                n, items = fetch_items(u)
                out.setdefault(n, {}).update(items)
        return out

    def __repr__(self):
        return f"Result({self.tag}, untagged={self.untagged!r}, tagged={self.tagged!r})"


class Conn:
    """One IMAP connection over a plain socket (tls=True: implicit TLS, the imaps listener)."""

    def __init__(self, port, tls=False, timeout=WAIT, greeting=True):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        if tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="mx.tern.test")
        self.buf = b""
        self.n = 0
        self.inflate = None
        self.deflate = None
        self.greeting = self.response() if greeting else None

    # -- bytes -----------------------------------------------------------------------------------

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed by the server; unread: {self.buf[:300]!r}")
        if self.inflate:
            chunk = self.inflate.decompress(chunk)
        self.buf += chunk

    def line(self):
        """One line without its CRLF (the raw line: a literal's bytes are not read)."""
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """One whole response: its lines with the literals inline (CRLF after each {N} kept)."""
        out = b""
        while True:
            line = self.line()
            m = re.search(rb"~?\{(\d+)\}$", line)
            if m and not line.startswith(b"+ "):
                out += line + b"\r\n" + self.read_exact(int(m.group(1)))
                continue
            return out + line

    def pending(self, wait=0.3):
        """Responses that arrive within `wait` seconds (without blocking longer)."""
        out = []
        self.sock.settimeout(wait)
        try:
            while True:
                while b"\r\n" in self.buf:
                    out.append(self.response())
                self._recv()
        except (socket.timeout, ssl.SSLWantReadError, TimeoutError):
            pass
        except ConnectionError:
            out.append(b"<closed>")
        finally:
            self.sock.settimeout(WAIT)
        while b"\r\n" in self.buf:
            out.append(self.response())
        return out

    def closed(self, wait=WAIT):
        """True when the server closes the connection within `wait` (what it said first is read)."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
            return True
        except (socket.timeout, TimeoutError, ssl.SSLError):
            return False
        finally:
            try:
                self.sock.settimeout(WAIT)
            except OSError:
                pass

    # -- commands --------------------------------------------------------------------------------

    def next_tag(self):
        self.n += 1
        return f"t{self.n}"

    def read_until_tagged(self, tag):
        untagged = []
        t = tag.encode() + b" "
        while True:
            r = self.response()
            if r.startswith(t):
                return Result(tag, untagged, r[len(t):])
            untagged.append(r)

    def cmd(self, text, tag=None):
        """Sends "<tag> <text>" (str or bytes, no literals that need a continuation); returns the Result."""
        tag = tag or self.next_tag()
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.read_until_tagged(tag)

    def ok(self, text, tag=None):
        r = self.cmd(text, tag)
        if r.status != "OK":
            shown = text if isinstance(text, str) else text[:200]
            raise AssertionError(f"{shown!r} -> {r}")
        return r

    def cmd_literals(self, parts, tag=None):
        """A command with synchronizing literals: parts alternate text (str/bytes) and literal bytes
        (given as ("lit", data)); waits for each "+" continuation. Returns the Result (or the Result
        of a tagged answer that came instead of a continuation)."""
        tag = tag or self.next_tag()
        pending = tag.encode() + b" "
        for p in parts:
            if isinstance(p, tuple):
                data = p[1]
                self.send(pending + b"{%d}\r\n" % len(data))
                pending = b""
                r = self.response()
                if not r.startswith(b"+"):
                    if r.startswith(tag.encode() + b" "):
                        return Result(tag, [], r[len(tag) + 1:])
                    untagged = [r]
                    res = self.read_until_tagged(tag)
                    res.untagged = untagged + res.untagged
                    return res
                self.send(data)
            else:
                pending += p.encode() if isinstance(p, str) else p
        self.send(pending + b"\r\n")
        return self.read_until_tagged(tag)

    def login(self, user, password=PASSWORD):
        return self.ok(f'LOGIN "{user}" "{password}"')

    def starttls(self):
        r = self.ok("STARTTLS")
        self.sock = tls_context().wrap_socket(self.sock, server_hostname="mx.tern.test")
        return r

    def select(self, mailbox="INBOX", extra=""):
        return self.ok(f"SELECT {quote(mailbox)}{extra}")

    def start_compress(self):
        self.ok("COMPRESS DEFLATE")
        self.deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        if self.buf:
            self.buf = self.inflate.decompress(self.buf)

    def logout(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, ConnectionError):
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def select_info(result):
    """The data a SELECT/EXAMINE returned: {'EXISTS': n, 'UIDVALIDITY': n, 'UIDNEXT': n, ...}."""
    info = {}
    for u in result.untagged:
        m = re.match(rb"^\* (\d+) (EXISTS|RECENT)$", u)
        if m:
            info[m.group(2).decode()] = int(m.group(1))
            continue
        m = re.match(rb"^\* OK \[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ|UNSEEN) (\d+)\]", u)
        if m:
            info[m.group(1).decode()] = int(m.group(2))
            continue
        m = re.match(rb"^\* OK \[PERMANENTFLAGS \(([^)]*)\)\]", u)
        if m:
            info["PERMANENTFLAGS"] = m.group(1).decode().split()
            continue
        m = re.match(rb"^\* FLAGS \(([^)]*)\)", u)
        if m:
            info["FLAGS"] = m.group(1).decode().split()
    return info


def status_of(result):
    """'* STATUS name (MESSAGES 3 UIDNEXT 4)' -> {name: {'MESSAGES': 3, 'UIDNEXT': 4}} for each STATUS line."""
    out = {}
    for s in result.named("STATUS"):
        v = parse(s)
        name = v[1].decode() if isinstance(v[1], bytes) else v[1]
        items = v[2]
        out[name] = {items[i].upper(): int(items[i + 1]) for i in range(0, len(items) - 1, 2)}
    return out


def list_of(result, verb="LIST"):
    """[(name, [attributes], delimiter, extra)] of the LIST (or LSUB) responses."""
    out = []
    for s in result.named(verb):
        v = parse(s)
        name = v[3].decode() if isinstance(v[3], bytes) else v[3]
        delim = v[2].decode() if isinstance(v[2], bytes) else v[2]
        out.append((name, [a for a in v[1]], delim, v[4:]))
    return out


def auth_plain_token(user, password=PASSWORD, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


# --- delivery ------------------------------------------------------------------------------------

def deliver(server, rcpt, messages, connections=1, sender=SENDER):
    """Sends each message (bytes) over SMTP; waits until the spool has put them all in the mailbox."""
    needle = f"delivered to {rcpt} (uid"
    before = server.log().count(needle)
    chunks = [messages[i::connections] for i in range(connections)]

    def send(chunk):
        with smtplib.SMTP(HOST, server.ports["smtp"], local_hostname="client.test", timeout=WAIT) as s:
            for msg in chunk:
                s.sendmail(sender, [rcpt], msg)

    with ThreadPoolExecutor(max_workers=connections) as ex:
        list(ex.map(send, [c for c in chunks if c]))
    deadline = time.monotonic() + WAIT
    while server.log().count(needle) < before + len(messages):
        if time.monotonic() > deadline:
            raise AssertionError(f"not all {len(messages)} messages were delivered\n{server.log()}")
        time.sleep(0.05)


# --- test helpers --------------------------------------------------------------------------------

def message(subject, body=b"Hello.\r\n", frm=f"<{SENDER}>", to="<bob@tern.test>", date=None, extra=b"",
            msgid=None):
    """An RFC 5322 message (CRLF line ends)."""
    date = date or email.utils.format_datetime(datetime.datetime(2023, 3, 1, 12, 0, tzinfo=datetime.timezone.utc))
    msgid = msgid or f"<{unique('id')}@client.test>"
    head = (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: {msgid}\r\n").encode()
    return head + extra + b"\r\n" + body


def dated(y, m, d, h=12):
    return email.utils.format_datetime(datetime.datetime(y, m, d, h, 0, tzinfo=datetime.timezone.utc))


def apply_expunges(seq_uids, untagged):
    """Applies '* n EXPUNGE' responses in order to a list of UIDs (sequence order); returns what is left."""
    left = list(seq_uids)
    for u in untagged:
        m = re.match(rb"^\* (\d+) EXPUNGE$", u)
        if m:
            n = int(m.group(1))
            assert 1 <= n <= len(left), (n, left, untagged)
            del left[n - 1]
    return left


def caps_of(text):
    """The capability names in '* OK [CAPABILITY a b] ...', '* CAPABILITY a b' or 'OK [CAPABILITY a b]'."""
    m = re.search(rb"CAPABILITY ([^\]\r\n]*)", text)
    assert m, text
    return set(m.group(1).decode().upper().split())


def internaldate(value):
    """An IMAP date-time ('14-Jul-2021 02:44:25 +0200', possibly space-padded) -> aware datetime."""
    if isinstance(value, bytes):
        value = value.decode()
    return datetime.datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z")


class ImapCase(TernTestCase):
    """A server shared by the tests of a class; every test gets its own user."""

    server_kw = {}

    @classmethod
    def setUpClass(cls):
        kw = dict(services=SERVICES)
        kw.update(cls.server_kw)
        cls.t = Tern(**kw)
        try:
            cls.t.add_domain(DOMAIN)
            cls.t.start()
        except Exception:
            cls.t.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()

    def setUp(self):
        self._servers.append(self.t)
        if not self.t.running():
            self.t.start()
        self.user = f"{unique('u')}@{DOMAIN}"
        self.t.add_user(self.user)

    def conn(self, login=True, port="imaps", user=None):
        c = Conn(self.t.ports[port], tls=(port == "imaps"))
        self.addCleanup(c.close)
        if login:
            c.login(user or self.user)
        return c

    def append(self, c, msg, mailbox="INBOX", flags="", date=None):
        """APPEND with a non-synchronizing literal (LITERAL+) when small, else a synchronizing one
        (test_literal_plus_and_multiappend covers large LITERAL+ literals); returns the new UID."""
        opt = f" ({flags})" if flags else ""
        opt += f' "{date}"' if date else ""
        if len(msg) > 4096:
            r = c.cmd_literals([f'APPEND {quote(mailbox)}{opt} ', ("lit", msg)])
        else:
            tag = c.next_tag()
            c.send(f'{tag} APPEND {quote(mailbox)}{opt} {{{len(msg)}+}}\r\n'.encode() + msg + b"\r\n")
            r = c.read_until_tagged(tag)
        self.assertEqual(r.status, "OK", r)
        m = re.match(r"APPENDUID (\d+) (\d+)$", r.code)
        self.assertTrue(m, f"no APPENDUID in {r.tagged!r}")
        return int(m.group(2))

    def assertStatus(self, result, status, code=None):
        self.assertEqual(result.status, status, result)
        if code is not None:
            self.assertTrue(result.code.upper().startswith(code), f"expected [{code}] in {result.tagged!r}")

    def subjects(self, c, spec="1:*"):
        """{seq: subject} of the selected mailbox's messages."""
        r = c.ok(f"FETCH {spec} (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = {}
        for n, items in r.fetches().items():
            v = items["BODY[HEADER.FIELDS (SUBJECT)]"]
            out[n] = v.decode().split(":", 1)[1].strip()
        return out
