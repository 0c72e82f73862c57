"""IMAP on the real server: what bounds a client's demands, over the imaps listener with raw sockets
(imap_client.Conn) and imaplib.

SEARCH with a large OR tree of BODY/TEXT keys (issue 10 item 4): each message's text is decoded once
per command and every text key is matched in one pass over it, so a balanced tree of 512 or 4096 BODY
keys answers at once; a client that disconnects in the middle of a search does not keep the server
busy, and the server goes on serving other sessions.

Mailbox names (issue 10 item 12): a name whose folder directory would be longer than the file system
allows is refused up front with NO [LIMIT] (CREATE and RENAME, docs/operations.md "Mailbox names"), and a refused
or failed CREATE leaves no folder behind (LIST shows none).
"""

import imaplib
import os
import re

from harness import HOST, PASSWORD, WAIT, main, tls_context
from imap_client import Conn, ImapCase, list_of


WORDS = [b"lorem", b"ipsum", b"dolor", b"sit", b"amet", b"elit", b"sed", b"eiusmod", b"tempor", b"labore"]


def filler(seed, size):
    """About `size` bytes of CRLF-ended text lines of the words above (no digits: no needle matches)."""
    out, i = [], seed
    total = 0
    while total < size:
        line = b" ".join(WORDS[(i + k * 7) % len(WORDS)] for k in range(12))
        out.append(line)
        total += len(line) + 2
        i += 3
    return b"\r\n".join(out) + b"\r\n"


def repetitive(size):
    """About `size` bytes of lines of one letter: the worst case for a naive substring search of the
    long needles below (each position matches their first 60 letters)."""
    line = b"e" * 76
    return (line + b"\r\n") * (size // 78)


def text_message(n, body):
    return (b"From: alice@example.test\r\nTo: bob@tern.test\r\nSubject: message %d\r\n"
            b"Date: Mon, 02 Jan 2023 10:00:00 +0100\r\nMessage-ID: <m%d@example.test>\r\n\r\n" % (n, n)) + body


def needle(i):
    # Short: a depth-12 tree of them fits the 64 KB command line (imap/proto Limits::max_line).
    return f"e{i:04d}x"


def long_needle(i):
    return "e" * 60 + f"{i:04d}"


def or_tree(keys):
    """A balanced OR tree of the given search keys (their count a power of two)."""
    while len(keys) > 1:
        keys = [f"OR {keys[i]} {keys[i + 1]}" for i in range(0, len(keys), 2)]
    return keys[0]


def body_tree(depth, key="BODY"):
    return or_tree([f"{key} {needle(i)}" for i in range(2 ** depth)])


def literal_tree(depth):
    """BODY keys with long needles sent as LITERAL+ literals (RFC 7888): no line limit applies."""
    return or_tree([f"BODY {{{len(long_needle(i))}+}}\r\n{long_needle(i)}" for i in range(2 ** depth)])


class SearchLimitTests(ImapCase):
    MESSAGES = 12
    BODY_SIZE = 24 * 1024

    def setUp(self):
        super().setUp()
        c = self.conn()
        for n in range(1, self.MESSAGES + 1):
            body = filler(n, self.BODY_SIZE) + repetitive(self.BODY_SIZE)
            if n == 5:
                # The last leaf of the depth-9 trees.
                body += f"the last one: {needle(511)} {long_needle(511)}\r\n".encode()
            if n == 9:
                # SEARCH strings ignore ASCII case.
                body += f"{needle(7).upper()} {long_needle(7).upper()} in capitals\r\n".encode()
            self.append(c, text_message(n, body))
        c.logout()

    def search(self, c, program, tag=None):
        """SEARCH's result: ("OK", [numbers]) or (status, code) for a refusal."""
        r = c.cmd(f"SEARCH {program}", tag)
        if r.status != "OK":
            return r.status, r.code
        hits = r.named("SEARCH")
        self.assertEqual(len(hits), 1, r)
        return "OK", [int(x) for x in hits[0].split()[1:]]

    def assertAnsweredOrLimit(self, outcome, expected):
        if outcome[0] == "OK":
            self.assertEqual(outcome[1], expected)
        else:
            self.assertEqual(outcome[0], "NO", outcome)
            self.assertTrue(outcome[1].upper().startswith("LIMIT"), outcome)

    def test_or_tree_of_512_body_keys(self):
        c = self.conn()
        c.select()
        program = body_tree(9)
        self.assertGreater(len(program), 6000)
        # Answered within the connection's timeout (a bound on a hang, not a speed test).
        self.assertAnsweredOrLimit(self.search(c, program), [5, 9])
        # The same keys as TEXT (header and body): the header holds none of them.
        self.assertAnsweredOrLimit(self.search(c, body_tree(9, "TEXT")), [5, 9])
        c.ok("NOOP")

    def test_long_needles_over_repetitive_text(self):
        c = self.conn()
        c.select()
        self.assertAnsweredOrLimit(self.search(c, literal_tree(9)), [5, 9])
        self.assertAnsweredOrLimit(self.search(c, literal_tree(12)), [5, 9])

    def test_or_tree_of_4096_body_keys(self):
        c = self.conn()
        c.select()
        self.assertAnsweredOrLimit(self.search(c, body_tree(12)), [5, 9])
        # Mixed with a NOT and a header key, every leaf still decides alone.
        program = f"NOT {body_tree(12)} SUBJECT \"message 1\""
        self.assertAnsweredOrLimit(self.search(c, program), [1, 10, 11, 12])

    def test_text_keys_match_across_header_and_body(self):
        c = self.conn()
        c.select()
        # One pass over the header and the body together, as TEXT reads them.
        self.assertEqual(self.search(c, f'TEXT "message 5" TEXT "last one" BODY {needle(511)}'), ("OK", [5]))
        self.assertEqual(self.search(c, f'OR BODY "message 5" BODY {needle(7)}'), ("OK", [9]))
        # A match that runs from the header into the body (TEXT is one text: header, then body).
        # Message-ID is the last field; bodies 1 and 11 begin with "ipsum" (filler).
        self.assertEqual(self.search(c, 'TEXT {11+}\r\ntest>\nipsum'), ("OK", [1, 11]))
        self.assertEqual(self.search(c, 'BODY ""'), ("OK", list(range(1, self.MESSAGES + 1))))

    def test_unreadable_message_fails_the_search(self):
        c = self.conn()
        c.select()
        # An I/O error on message 3 (its file replaced by a directory: read() fails with EISDIR, even
        # for root): the command fails and says so, never a result without message 3.
        d = self.t.folder_dir(self.user)
        name = [n for n in os.listdir(d) if n.split(".", 1)[0] == "3" and "." in n][0]
        os.unlink(os.path.join(d, name))
        os.mkdir(os.path.join(d, name))
        r = c.cmd("SEARCH BODY lorem")
        self.assertEqual(r.status, "NO", r)
        self.assertTrue(r.code.upper().startswith("SERVERBUG"), r)
        self.assertEqual(r.named("SEARCH"), [], r)
        self.t.wait_for_log("Is a directory")
        # Keys that need no message text still work.
        self.assertEqual(self.search(c, "UID 1:2"), ("OK", [1, 2]))
        c.ok("NOOP")

    def test_client_gone_mid_search_leaves_server_responsive(self):
        first = self.conn()
        first.select()
        first.send(f"t99 SEARCH {literal_tree(12)}\r\n".encode())
        first.close()
        # Another session of the same user, at once: it logs in, searches the same mailbox and is
        # answered while the first one's search is cancelled (or has ended).
        second = self.conn()
        second.select()
        second.ok("NOOP")
        self.assertAnsweredOrLimit(self.search(second, literal_tree(12)), [5, 9])
        self.assertEqual(self.search(second, f"BODY {needle(511)}"), ("OK", [5]))
        second.logout()


class MailboxNameLimitTests(ImapCase):
    def names(self, c):
        return {name for name, _, _, _ in list_of(c.ok('LIST "" "*"'))}

    def assertRefused(self, result):
        self.assertEqual(result.status, "NO", result)
        self.assertTrue(result.code.upper().startswith("LIMIT"), result)

    def test_create_long_name_refused_up_front(self):
        c = self.conn()
        before = self.names(c)
        self.assertRefused(c.cmd(f'CREATE "{"x" * 300}"'))
        # The limit is the folder's directory name: 255 bytes after percent-encoding.
        self.assertRefused(c.cmd(f'CREATE "{"x" * 256}"'))
        self.assertRefused(c.cmd(f'CREATE "{"#" * 86}"'))  # each "#" is stored as %23
        self.assertEqual(self.names(c), before)
        c.ok(f'CREATE "{"x" * 255}"')
        c.ok(f'CREATE "{"#" * 85}"')
        self.assertEqual(self.names(c), before | {"x" * 255, "#" * 85})
        c.ok(f'SELECT "{"x" * 255}"')

    def test_create_deep_name_leaves_nothing_behind(self):
        c = self.conn()
        before = self.names(c)
        self.assertRefused(c.cmd('CREATE "' + "A/" * 200 + '"'))
        self.assertRefused(c.cmd('CREATE "' + "/".join(f"L{i}" for i in range(80)) + '"'))
        self.assertEqual(self.names(c), before)
        # A deep name that fits is made with all its parents.
        deep = "/".join("B" * 4 for _ in range(40))  # 4 x 40 + 39 x 3 = 277 bytes stored: too long
        self.assertRefused(c.cmd(f'CREATE "{deep}"'))
        fits = "/".join("B" * 4 for _ in range(30))  # 4 x 30 + 29 x 3 = 207 bytes
        c.ok(f'CREATE "{fits}"')
        self.assertEqual(len(self.names(c) - before), 30)

    def test_rename_to_long_name_refused(self):
        c = self.conn()
        c.ok('CREATE "Short"')
        c.ok('CREATE "Parent/' + "c" * 200 + '"')
        before = self.names(c)
        self.assertRefused(c.cmd(f'RENAME "Short" "{"y" * 300}"'))
        self.assertRefused(c.cmd('RENAME "Short" "' + "N/" * 100 + 'end"'))
        # The parent's new name fits; its child's ("Q...Q/ccc...") would not.
        self.assertRefused(c.cmd(f'RENAME "Parent" "{"Q" * 60}"'))
        self.assertRefused(c.cmd(f'RENAME "Parent" "New/{"Q" * 60}"'))
        self.assertEqual(self.names(c), before)
        c.ok(f'RENAME "Parent" "{"Q" * 50}"')  # 50 + 3 + 200 = 253 bytes
        self.assertEqual(self.names(c), (before - {"Parent", "Parent/" + "c" * 200})
                         | {"Q" * 50, "Q" * 50 + "/" + "c" * 200})

    def test_failed_rename_removes_the_parents_it_made(self):
        c = self.conn()
        before = self.names(c)
        r = c.cmd('RENAME "Missing" "Made/On/The/Way"')
        self.assertEqual(r.status, "NO", r)
        self.assertTrue(r.code.upper().startswith("NONEXISTENT"), r)
        self.assertEqual(self.names(c), before)
        c.ok('CREATE "Kept"')
        r = c.cmd('RENAME "Missing" "Kept/Sub"')  # an existing parent stays
        self.assertEqual(r.status, "NO", r)
        self.assertEqual(self.names(c), before | {"Kept"})

    def test_imaplib_create_and_rename(self):
        m = imaplib.IMAP4_SSL(HOST, self.t.ports["imaps"], ssl_context=tls_context(), timeout=WAIT)
        self.addCleanup(m.shutdown)
        m.login(self.user, PASSWORD)
        typ, data = m.list()
        before = set(data)
        typ, data = m.create("z" * 300)
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[LIMIT]"), data)
        typ, data = m.create("A/" * 200)
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[LIMIT]"), data)
        self.assertEqual(m.create("Fine")[0], "OK")
        typ, data = m.rename("Fine", "/".join(["Deep"] * 60))
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[LIMIT]"), data)
        typ, data = m.list()
        self.assertEqual(set(data) - before, {b'(\\HasNoChildren) "/" Fine'})


if __name__ == "__main__":
    main()
