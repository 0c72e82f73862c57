"""The workloads of bench/compare, each runnable on Tern and on its peer with the same client.

A workload object is made per side (make(side) with side "tern" or "peer"), run() any number of times
(each returns a dict: "value" the headline figure, "detail" a short text, plus raw figures), close()
at the end. Ingest, relay and idle-memory runs each start a fresh server (the result must not depend
on what earlier runs left); POP3 and the IMAP mix keep one server per side and preload before runs.

Sizes come from the environment; QUICK=1 makes everything small, to try the script.
"""

import asyncio
import multiprocessing
import os
import poplib
import smtplib
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import imapload
from common import (DOMAIN, HOST, PASSWORD, BenchError, Sink, count_files, env_float, env_int, make_tempdir, message,
                    quick, remove_tree, smtp_source, tree_cpu_seconds, tree_memory_kb, vm_hwm_kb, vm_rss_kb, pss_kb, wait_count)
from authbench import Dns, SignedMail
from dovecot import Dovecot
from postfix import Postfix
from spamfilter import Filter
from tern import Tern

Q = quick()
TLS = os.environ.get("TLS", "1") != "0"


def sizes():
    return {
        "sessions": env_int("SESSIONS", 20),
        "messages": env_int("MESSAGES", 400 if Q else 2000),
        "size": env_int("SIZE", 5120),
        "pop3_clients": env_int("POP3_CLIENTS", 20),
        "pop3_messages": env_int("POP3_MESSAGES", 50 if Q else 250),
        "imap_clients": env_int("IMAP_CLIENTS", 20),
        "imap_users": env_int("IMAP_USERS", 5),
        "imap_messages": env_int("IMAP_MESSAGES", 300 if Q else 2000),
        "imap_duration": env_float("IMAP_DURATION", 5 if Q else 15),
        "imap_procs": env_int("IMAP_PROCS", 2),
        "idle_conns": env_int("IDLE_CONNS", 200 if Q else 1000),
        "idle_users": env_int("IDLE_USERS", 100),
        "idle_messages": env_int("IDLE_MESSAGES", 20),
        "spam_messages": env_int("SPAM_MESSAGES", 200 if Q else 600),
    }


S = sizes()


def settle_disk():
    """Writes back what preloading left dirty, so that it does not land in the measured part."""
    os.sync()


# --- Delivering test mail --------------------------------------------------------------------------

def smtp_preload(port, jobs, size):
    """jobs: [(recipient, first, count)]: one smtplib client each, side by side."""
    def one(job):
        rcpt, first, count = job
        with smtplib.SMTP(HOST, port, local_hostname="bench.test", timeout=120) as s:
            for i in range(first, first + count):
                s.sendmail("bench@example.test", [rcpt], message(rcpt, i, size))
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as ex:
        list(ex.map(one, jobs))


def tern_preload(tern, counts, size, first=0, timeout=600):
    """Delivers counts[user] messages to each user over SMTP (10 clients per large mailbox) and waits
    until they are in the mailboxes."""
    jobs = []
    for u, n in counts.items():
        parts = max(1, min(10, n // 100))
        for p in range(parts):
            lo, hi = first + n * p // parts, first + n * (p + 1) // parts
            if hi > lo:
                jobs.append((u, lo, hi - lo))
    before = {u: tern.inbox_files(u) for u in counts}
    smtp_preload(tern.ports["smtp"], jobs, size)
    target = sum(before.values()) + sum(counts.values())
    got, _ = wait_count(lambda: sum(tern.inbox_files(u) for u in counts), target, timeout, poll=0.2)
    tern.check_alive()
    if got < target:
        raise BenchError(f"tern: only {got} of {target} preloaded messages reached the mailboxes")


# --- SMTP ingest and relay -------------------------------------------------------------------------

class Ingest:
    """smtp-source (SESSIONS sessions, MESSAGES x SIZE) into one local mailbox, timed until every message
    is in it: Tern's mailslot, or Postfix's virtual(8) Maildir (files in new/)."""
    name = "SMTP ingest to a mailbox"
    unit = "msg/s"
    higher_is_better = True

    peer = "Postfix"
    note = f"smtp-source, {S['sessions']} sessions, {S['messages']} x {S['size']} B, until all are in the mailbox"

    def __init__(self, side):
        self.side = side

    def run(self):
        user = f"bench@{DOMAIN}"
        d = make_tempdir("ingest")
        server = None
        try:
            if self.side == "tern":
                server = Tern(d, extra=self.tern_extra())
                server.add_user(user)
                server.start()
                port, count = server.ports["smtp"], lambda: server.inbox_files(user)
            else:
                server = Postfix(d, users=[user])
                server.start()
                port, count = server.port, lambda: server.delivered(user)
            start = time.monotonic()
            accepted = smtp_source(port, S["sessions"], S["messages"], S["size"], user)
            n, done = wait_count(count, S["messages"], 300)
            if n < S["messages"]:
                raise BenchError(f"only {n} of {S['messages']} delivered after 300 s; log: {server.log_tail()}")
            hwm = vm_hwm_kb(server.pid) if self.side == "tern" else None
            if self.side == "tern":
                server.check_alive()
                listed = server.message_count(user)
                if listed != S["messages"]:
                    raise BenchError(f"{listed} messages listed, {S['messages']} sent")
            return {"value": S["messages"] / (done - start), "seconds": done - start, "accepted": S["messages"] / accepted,
                    "accepted_s": accepted, "hwm_kb": hwm, "detail": f"accepted {S['messages'] / accepted:.0f}/s"}
        finally:
            if server:
                server.stop()
            remove_tree(d)

    def tern_extra(self):
        return ""

    def close(self):
        pass


class SpamCost(Ingest):
    """The ingest workload on Tern as it is (the spam stage scores every message: the reading of the
    message, the content rules, reverse DNS and HELO rules; no DNS list and an untrained classifier)
    against Tern with `[spam] enabled = false`: the cost of the stage."""
    name = "SMTP ingest, spam stage on vs off"
    peer = "Tern, spam off"
    note = (f"smtp-source, {S['sessions']} sessions, {S['messages']} x {S['size']} B, the spam stage on "
            "(content rules, no DNS lists, classifier untrained) against `[spam] enabled = false`")

    def __init__(self, side):
        super().__init__("tern")  # both sides are Tern
        self.spam_on = side == "tern"

    def tern_extra(self):
        return "" if self.spam_on else "[spam]\nenabled = false"


class Relay:
    """smtp-source into the server for out@tern.test, an alias of someone@relay.test, relayed to
    Postfix's smtp-sink by a static route (Tern) or relayhost (Postfix); timed until the sink has all."""
    name = "relay to smtp-sink"
    unit = "msg/s"
    higher_is_better = True

    peer = "Postfix"
    note = f"smtp-source, {S['sessions']} sessions, {S['messages']} x {S['size']} B, until the sink has all"

    def __init__(self, side):
        self.side = side

    def run(self):
        d = make_tempdir("relay")
        server = sink = None
        try:
            sink = Sink(os.path.join(d, "sink"))
            alias = {f"out@{DOMAIN}": "someone@relay.test"}
            if self.side == "tern" or self.peer != "Postfix":
                server = Tern(os.path.join(d, "tern"), relay_port=sink.port)
                server.add_alias(f"out@{DOMAIN}", "someone@relay.test")
                self.prepare(server)
                server.start()
                port = server.ports["smtp"]
            else:
                server = Postfix(os.path.join(d, "postfix"), relay_port=sink.port, aliases=alias)
                server.start()
                port = server.port
            start = time.monotonic()
            accepted = smtp_source(port, S["sessions"], S["messages"], S["size"], f"out@{DOMAIN}")
            n, done = wait_count(sink.received, S["messages"], 300)
            if n < S["messages"]:
                raise BenchError(f"only {n} of {S['messages']} reached the sink; log: {server.log_tail()}")
            hwm = None
            if isinstance(server, Tern):
                server.check_alive()
                hwm = vm_hwm_kb(server.pid)
                self.check_sink(sink, n)
            return {"value": n / (done - start), "seconds": done - start, "received": n,
                    "accepted": S["messages"] / accepted, "accepted_s": accepted, "hwm_kb": hwm,
                    "detail": f"accepted {S['messages'] / accepted:.0f}/s"}
        finally:
            if server:
                server.stop()
            if sink:
                sink.stop()
            remove_tree(d)

    def prepare(self, server):
        pass

    def check_sink(self, sink, n):
        pass

    def close(self):
        pass


# --- POP3 ------------------------------------------------------------------------------------------

def _pop3_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def pop3_connect(port, tls):
    if tls:
        return poplib.POP3_SSL(HOST, port, timeout=120, context=_pop3_context())
    return poplib.POP3(HOST, port, timeout=120)


def pop3_drain_one(args):
    """One client: log in, RETR and DELE every message, QUIT. Returns (messages, octets)."""
    port, tls, user = args
    p = pop3_connect(port, tls)
    p.user(user)
    p.pass_(PASSWORD)
    count, _ = p.stat()
    octets = 0
    for n in range(1, count + 1):
        _, _, o = p.retr(n)
        octets += o
        p.dele(n)
    if not p.quit().startswith(b"+OK"):
        raise RuntimeError("QUIT failed")
    return count, octets


def pop3_drain(port, tls, users):
    """Every user's client drains its maildrop at the same time (one process each); returns
    (seconds, messages, octets)."""
    start = time.monotonic()
    with multiprocessing.get_context("fork").Pool(len(users)) as pool:
        results = pool.map(pop3_drain_one, [(port, tls, u) for u in users])
    elapsed = time.monotonic() - start
    return elapsed, sum(r[0] for r in results), sum(r[1] for r in results)


class Pop3:
    """POP3_CLIENTS clients side by side, each RETR + DELE of the POP3_MESSAGES messages of its own
    maildrop, then QUIT (the expunge). Preloaded before each run: Tern over SMTP, Dovecot as Maildir files
    indexed by doveadm. Same poplib client for both."""
    name = "POP3 retrieval"
    unit = "msg/s"
    higher_is_better = True

    peer = "Dovecot"
    note = (f"{S['pop3_clients']} clients x {S['pop3_messages']} msgs of {S['size']} B, RETR+DELE+QUIT, "
            f"{'pop3s' if TLS else 'pop3 (plaintext)'}, preloaded before each run")

    def __init__(self, side):
        self.side = side
        self.users = [f"client{i}@{DOMAIN}" for i in range(S["pop3_clients"])]
        self.dir = make_tempdir("pop3")
        self.round = 0
        self.server = None
        try:
            if side == "tern":
                self.server = Tern(self.dir, listeners=("smtp", "pop3s" if TLS else "pop3"), plaintext=not TLS)
                for u in self.users:
                    self.server.add_user(u)
            else:
                self.server = Dovecot(self.dir, self.users, protocols=("pop3",))
            self.port = self.server.ports["pop3s" if TLS else "pop3"]
            self.server.start()
        except BaseException:
            self.close()
            raise

    def run(self):
        n = S["pop3_messages"]
        first = self.round * n
        self.round += 1
        if self.side == "tern":
            tern_preload(self.server, {u: n for u in self.users}, S["size"], first=first)
        else:
            for u in self.users:
                self.server.preload(u, [message(u, i, S["size"]) for i in range(first, first + n)])
        settle_disk()
        elapsed, got, octets = pop3_drain(self.port, TLS, self.users)
        self.server.check_alive()
        if got != n * len(self.users):
            raise BenchError(f"retrieved {got} of {n * len(self.users)} messages")
        left = sum(self.server.message_count(u) for u in self.users)
        if left:
            raise BenchError(f"{left} messages left after DELE + QUIT")
        hwm = vm_hwm_kb(self.server.pid) if self.side == "tern" else None
        return {"value": got / elapsed, "hwm_kb": hwm, "detail": f"{octets / elapsed / 1e6:.1f} MB/s"}

    def close(self):
        if self.server:
            self.server.stop()
        remove_tree(self.dir)


# --- IMAP ------------------------------------------------------------------------------------------

def imap_server(side, root, users):
    """A started Tern or Dovecot with IMAP (imaps, or imap with plaintext LOGIN when TLS=0); returns
    (server, port)."""
    if side == "tern":
        server = Tern(root, listeners=("smtp", "imaps" if TLS else "imap"), plaintext=not TLS)
        for u in users:
            server.add_user(u)
        server.start()
        return server, server.ports["imaps" if TLS else "imap"]
    server = Dovecot(root, users, protocols=("imap",))
    server.start()
    return server, server.ports["imaps" if TLS else "imap"]


def imap_probe(server, port, user):
    """Raises BenchError, with the end of the server's log, unless it greets, logs in and selects."""
    why = imapload.probe(HOST, port, TLS, user)
    if why:
        raise BenchError(f"{server.name} IMAP not usable on {HOST}:{port} ({'imaps' if TLS else 'imap'}): {why}; "
                         f"its log ends: {server.log_tail(3) or '(empty)'}")


def imap_preload(side, server, counts, size):
    if side == "tern":
        tern_preload(server, counts, size)
    else:
        for u, n in counts.items():
            server.preload(u, [message(u, i, size) for i in range(n)])
    settle_disk()


class ImapMix:
    """The mixed IMAP workload of bench/lib/imapload.py: IMAP_CLIENTS clients over IMAP_USERS users of
    IMAP_MESSAGES messages each, for IMAP_DURATION seconds per run; one server per side for all runs."""
    name = "IMAP mixed workload"
    unit = "ops/s"
    higher_is_better = True

    peer = "Dovecot"
    note = (f"{S['imap_clients']} clients, {S['imap_users']} users x {S['imap_messages']} msgs, "
            f"{S['imap_duration']:.0f} s per run, {'imaps' if TLS else 'imap (plaintext)'}; per-kind ops/s below")

    def __init__(self, side):
        self.side = side
        self.users = [f"imap{i}@{DOMAIN}" for i in range(S["imap_users"])]
        self.dir = make_tempdir("imap")
        self.server = None
        try:
            self.server, self.port = imap_server(side, self.dir, self.users)
            imap_probe(self.server, self.port, self.users[0])
            imap_preload(side, self.server, {u: S["imap_messages"] for u in self.users}, S["size"])
            imapload.warm_up(HOST, self.port, TLS, self.users)
        except BaseException:
            self.close()
            raise

    def run(self):
        r = imapload.run_mixed(HOST, self.port, TLS, self.users, S["imap_clients"], S["imap_duration"],
                               procs=S["imap_procs"], size=S["size"])
        self.server.check_alive()
        if r["failed_clients"]:
            raise BenchError(f"{r['failed_clients']} IMAP clients failed: {r['failures'][0]}")
        errs = sum(r["errors"].values())
        detail = f"client CPU {100 * r['client_cpu']:.0f}% of a core"
        if errs:
            detail += f"; errors {r['errors']} e.g. {next(iter(r['error_samples'].values()), '')}"
        r["value"] = r["ops_s"]
        r["detail"] = detail
        if self.side == "tern":
            r["hwm_kb"] = vm_hwm_kb(self.server.pid)
        return r

    def close(self):
        if self.server:
            self.server.stop()
        remove_tree(self.dir)


class ImapIdle:
    """Memory per idle IMAP connection: IDLE_CONNS connections (LOGIN, SELECT INBOX) over IDLE_USERS users
    of IDLE_MESSAGES messages, on a fresh server each run; the growth of the server's memory divided by
    the connections. Tern: its process's PSS (and RSS); Dovecot: the sum of PSS over all its processes
    (master, login, imap, auth, ...), since RSS counts shared pages once per process."""
    name = "memory per idle IMAP connection"
    unit = "kB"
    higher_is_better = False

    peer = "Dovecot"
    note = (f"{S['idle_conns']} connections logged in with INBOX selected, {S['idle_users']} users x "
            f"{S['idle_messages']} msgs, {'imaps' if TLS else 'imap (plaintext)'}; growth of the server's PSS "
            "(Dovecot: summed over all its processes) / connection")

    def __init__(self, side):
        self.side = side
        self.users = [f"idle{i}@{DOMAIN}" for i in range(S["idle_users"])]

    def measure(self, server):
        if self.side == "tern":
            return {"pss": pss_kb(server.pid), "rss": vm_rss_kb(server.pid), "procs": 1}
        rss, pss, procs = tree_memory_kb(server.pid)
        return {"pss": pss, "rss": rss, "procs": procs}

    def run(self):
        d = make_tempdir("idle")
        server = None
        try:
            server, port = imap_server(self.side, d, self.users)
            imap_probe(server, port, self.users[0])
            imap_preload(self.side, server, {u: S["idle_messages"] for u in self.users}, S["size"])
            time.sleep(1)
            r = imapload.idle_memory(HOST, port, TLS, self.users, S["idle_conns"], lambda: self.measure(server))
            server.check_alive()
            if r["failed"]:
                raise BenchError(f"{r['failed']} of {S['idle_conns']} connections failed: {r['sample_error']}")
            per = {k: (r["after"][k] - r["before"][k]) / r["opened"] for k in ("pss", "rss")}
            return {"value": per["pss"], "rss_per_conn": per["rss"], "opened": r["opened"],
                    "detail": f"RSS {per['rss']:.0f} kB/conn, {r['after']['procs']} processes, "
                              f"opened in {r['open_s']:.1f} s"}
        finally:
            if server:
                server.stop()
            remove_tree(d)

    def close(self):
        pass


# --- Mail authentication ---------------------------------------------------------------------------

class AuthIngest:
    """Ingest of a message signed for signer.test (RSA-2048 and Ed25519, by dkimpy), whose SPF, DKIM keys
    and DMARC policy (p=reject, rua) a dnsmasq serves: Tern checks SPF, both signatures and DMARC, records
    the evaluation for the aggregate report and adds Authentication-Results before its 250. Against
    Postfix (which checks none of it without milters), or against Tern with `[mailauth] verify = false`
    on the same message and DNS (the cost of the checks)."""
    name = "SMTP ingest, mail authentication on"
    unit = "msg/s"
    higher_is_better = True
    peer = "Postfix"
    note = (f"smtp-source, {S['sessions']} sessions, {S['messages']} x one {S['size']} B message signed twice (RSA, "
            "Ed25519), SPF + DKIM + DMARC checked by Tern, until all are in the mailbox")

    def __init__(self, side):
        self.side = side
        self.dir = make_tempdir("auth-ingest")
        self.dns = None
        try:
            self.mail, self.dns = self.setup()
        except BaseException:
            self.close()
            raise

    def verify(self):
        return self.side == "tern"

    # What the subclasses change: the message and the DNS (and what else runs beside the servers: the
    # DNS object's stop() ends it), Tern's configuration and data before it starts, the Postfix, the
    # check of a stored message on each side.
    messages = S["messages"]

    def setup(self):
        mail = SignedMail(os.path.join(self.dir, "mail"), f"bench@{DOMAIN}", S["size"])
        return mail, Dns(mail.records)

    def tern_extra(self):
        return "" if self.verify() else "[mailauth]\nverify = false"

    def prepare_tern(self, server):
        pass

    def make_postfix(self, root, user):
        return Postfix(root, users=[user])

    def stored(self, server, user):
        return server.inbox_files(user)

    def check_peer(self, server, user):
        pass

    def helpers(self):
        """The processes besides the server whose CPU time counts (the DNS server's is left out: it
        stands for the world's DNS)."""
        return []

    def helper_names(self):
        return ""

    def run(self):
        user = f"bench@{DOMAIN}"
        count_msgs = self.messages
        d = os.path.join(self.dir, f"run-{time.monotonic_ns()}")
        server = None
        try:
            if self.side == "tern" or not self.peer.startswith("Postfix"):
                server = Tern(d, dns_port=self.dns.port, extra=self.tern_extra())
                server.add_user(user)
                self.prepare_tern(server)
                server.start()
                port, count = server.ports["smtp"], lambda: self.stored(server, user)
            else:
                server = self.make_postfix(d, user)
                server.start()
                port, count = server.port, lambda: server.delivered(user)
            roots, helpers = [server.pid, *self.helpers()], self.helpers()
            cpu, cpu_helpers = tree_cpu_seconds(roots), tree_cpu_seconds(helpers)
            start = time.monotonic()
            accepted = smtp_source(port, S["sessions"], count_msgs, S["size"], user, sender=self.mail.sender,
                                   file=self.mail.path)
            n, done = wait_count(count, count_msgs, 300)
            cpu, cpu_helpers = tree_cpu_seconds(roots) - cpu, tree_cpu_seconds(helpers) - cpu_helpers
            if n < count_msgs:
                raise BenchError(f"only {n} of {count_msgs} delivered after 300 s; log: {server.log_tail()}")
            hwm = None
            if isinstance(server, Tern):
                server.check_alive()
                hwm = vm_hwm_kb(server.pid)
                self.check_results(server, user)
            else:
                self.check_peer(server, user)
            return {"value": count_msgs / (done - start), "seconds": done - start, "hwm_kb": hwm,
                    "cpu_ms": 1000 * cpu / count_msgs,
                    "detail": f"accepted {count_msgs / accepted:.0f}/s, CPU {1000 * cpu / count_msgs:.1f} ms/msg"
                              + (f" ({1000 * cpu_helpers / count_msgs:.1f} of it {self.helper_names()})" if helpers else "")}
        finally:
            if server:
                server.stop()
            remove_tree(d)

    # What a stored message's header has with the checks on (each as many times as listed), and what it
    # must not have with them off.
    marks_on = ("dkim=pass", "dkim=pass", "spf=pass", "dmarc=pass")
    marks_off = ("Authentication-Results",)

    def check_results(self, server, user):
        """The figures count only if the checks ran and passed: one stored message's header must say so
        (and must not with the checks off)."""
        head = first_head(next(d for d in (server.inbox_dir(user), server.inbox_dir(user, "Junk")) if count_files(d)))
        if self.verify() and any(head.count(k) < self.marks_on.count(k) for k in self.marks_on):
            raise BenchError(f"the checks did not run or pass as they should: {head[:1500]!r}")
        if not self.verify() and any(k in head for k in self.marks_off):
            raise BenchError(f"{self.marks_off} in a stored message with the checks off")

    def close(self):
        if self.dns:
            self.dns.stop()
        remove_tree(self.dir)


class AuthIngestCost(AuthIngest):
    name = "SMTP ingest, authentication on vs off"
    peer = "Tern, checks off"
    note = "the same as above, against Tern with `[mailauth] verify = false`: the ratio is the cost of the checks"


class SpamIngest(AuthIngest):
    """Ingest with the whole filter on (lib/spamfilter.py): Tern's spam stage with the shared classifier
    trained on the corpus's training part, two DNS lists and reverse DNS answered by a local dnsmasq,
    clamd scanning each message; one held-out ham message of the corpus, sent again and again. Against
    Postfix handing each message to SpamAssassin through spamass-milter (spamd: shipped rules, local
    tests only, Bayes learnt from the same part), or against Tern with the filter off."""
    name = "SMTP ingest, whole filter on"
    peer = "Postfix + spamass-milter"
    messages = S["spam_messages"]  # SpamAssassin judges a few messages a second: fewer than MESSAGES
    note = (f"smtp-source, {S['sessions']} sessions, {S['spam_messages']} x the corpus ham message nearest {S['size']} B; "
            "Tern: trained classifier, 2 DNS lists + reverse DNS (local dnsmasq), clamd; Postfix: spamass-milter, "
            "spamd (Bayes trained the same, local tests only, 5 children; no virus scan, no DNS lists)")

    def setup(self):
        f = Filter(self.dir, S["size"], tern=self.verify(),
                   spamassassin=self.side == "peer" and self.peer.startswith("Postfix"))
        return f, f  # its port is the dnsmasq's; its stop() ends all it started

    def tern_extra(self):
        return self.mail.tern_extra(self.verify())

    def prepare_tern(self, server):
        if self.verify():
            self.mail.prepare(server)

    def make_postfix(self, root, user):
        return Postfix(root, users=[user], milter_port=self.mail.milter.port)

    def stored(self, server, user):
        return server.inbox_files(user) + count_files(server.inbox_dir(user, "Junk"))

    # the classifier's rule, both lists' rules and clamd's verdict; none with the filter off
    marks_on = ("BAYES_", "RBL_BL_BENCH_TEST", "DBL_DBL_BENCH_TEST", "X-Virus-Status: Clean")
    marks_off = ("X-Spam-Status", "X-Virus-Status")

    def helpers(self):
        return self.mail.pids()

    def helper_names(self):
        return "clamd" if self.side == "tern" else "spamd, spamass-milter, spamc"

    def check_peer(self, server, user):
        head = first_head(server.maildir_new(user))
        if "X-Spam-Status" not in head or "BAYES_" not in head:
            raise BenchError(f"spamass-milter did not mark the message as it should: {head[:1500]!r}")


class SpamIngestCost(SpamIngest):
    name = "SMTP ingest, whole filter on vs off"
    peer = "Tern, filter off"
    messages = S["messages"]
    note = (f"the same as above with {S['messages']} messages, against Tern with `[spam] enabled = false` and no "
            "clamd on the same message: the cost of the filter")


def first_head(folder):
    """The header of the first message file of a folder, as text."""
    name = next(n for n in sorted(os.listdir(folder)) if not n.startswith("."))
    with open(os.path.join(folder, name), "rb") as f:
        return f.read(16384).replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")


class SignRelay(Relay):
    """Relay through an alias (out@tern.test to someone@relay.test) to smtp-sink, as the relay workload,
    with DKIM keys made for tern.test: Tern ARC-seals each forwarded message (ARC-Message-Signature and
    ARC-Seal, RSA-2048) before it leaves. Against Postfix, or against Tern without keys (no seal)."""
    name = "relay, forwards sealed (ARC)"
    note = (f"smtp-source, {S['sessions']} sessions, {S['messages']} x {S['size']} B through an alias, "
            "ARC-sealed by Tern with tern.test's RSA-2048 key, until the sink has all")

    def keys(self):
        return self.side == "tern"

    def prepare(self, server):
        if self.keys():
            server.cli("dkim", "generate", DOMAIN)

    def check_sink(self, sink, n):
        with open(sink.dump, "rb") as f:
            seals = f.read().count(b"\nARC-Seal:")
        if (seals >= n) != self.keys():
            raise BenchError(f"{seals} ARC seals at the sink for {n} messages")


class SignRelayCost(SignRelay):
    name = "relay, sealing on vs off"
    peer = "Tern, no keys"
    note = "the same as above, against Tern without DKIM keys (forwards leave unsealed): the cost of sealing"


WORKLOADS = {"ingest": Ingest, "relay": Relay, "pop3": Pop3, "imap": ImapMix, "idle": ImapIdle,
             "auth_ingest": AuthIngest, "auth_cost": AuthIngestCost, "sign_relay": SignRelay,
             "sign_cost": SignRelayCost, "spam_cost": SpamCost, "spam_ingest": SpamIngest,
             "spam_full": SpamIngestCost}
