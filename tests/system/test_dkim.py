"""DKIM in and out, cross-checked with other implementations.

Out: mail an authenticated user submits is signed by Tern with the domain's Ed25519 and RSA keys
(`tern dkim generate`); dkimpy (python3-dkim) verifies both signatures with the records `tern dkim list`
prints. In: messages signed by dkimpy (RSA and Ed25519, relaxed and simple, with l=) arrive over SMTP with their keys served by a dnsmasq on loopback; the stored copy
carries Tern's Authentication-Results (parsed by python3-authres) with dkim=pass, and dkim=fail when the
body changed in transit. ARC chains of one and two sets made by dkimpy's arc_sign (and checked by its
arc_verify) give arc=pass; a body changed after the last seal, or a wrong cv=, arc=fail. OpenDKIM's opendkim-testmsg signs only with rsa-sha1, which Tern must refuse
(RFC 8301). A forged Authentication-Results claiming Tern's authserv-id is removed.

OpenDKIM (opendkim.py): opendkim-testmsg verifies each of Tern's two signatures (in a private network
namespace with its own DNS server: needs root, as in CI) and fails them once one body octet changed;
messages signed by libopendkim (rsa-sha256 with opendkim-genkey's key and record, ed25519-sha256) pass in
Tern, and fail with a changed body.

Run with Debian's python3 (the CMake test does), which has dkimpy and authres."""

import base64
import json
import os
import re
import signal
import smtplib
import subprocess
import tempfile

import dkim
import nacl.signing

import opendkim
from harness import AUTHSERV_ID, HOST, PASSWORD, TERN_BIN, Dns, Tern, TernTestCase, free_port, main, make_message, results_of, unique
from opendkim import txt_option


def rsa_key():
    """A new 2048-bit RSA key: (PEM private key, the DKIM record's p= value)."""
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "k.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        with open(key, "rb") as f:
            return f.read(), base64.b64encode(der).decode()


def opendkim_genkey(domain, selector):
    """A 2048-bit RSA key made by opendkim-genkey: (PEM private key, the TXT record text it wrote)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["opendkim-genkey", "-b", "2048", "-D", d, "-d", domain, "-s", selector], check=True,
                       capture_output=True)
        with open(os.path.join(d, selector + ".private"), "rb") as f:
            pem = f.read()
        with open(os.path.join(d, selector + ".txt"), encoding="ascii") as f:  # a zone file stub
            return pem, "".join(re.findall(r'"([^"]*)"', f.read()))


def ed25519_pem_key():
    """A new Ed25519 key for libopendkim: (PKCS#8 PEM private key, the record's p= value, RFC 8463)."""
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "k.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        with open(key, "rb") as f:
            return f.read(), base64.b64encode(der[-32:]).decode()  # the raw key ends the SPKI


def ed25519_key():
    """A new Ed25519 key in dkimpy's form: (base64 private seed, the record's p= value)."""
    sk = nacl.signing.SigningKey.generate()
    return base64.b64encode(bytes(sk)), base64.b64encode(bytes(sk.verify_key)).decode()


def dkim_results(header):
    return [r for r in header.results if r.method == "dkim"]


def signature_fields(message):
    """The DKIM-Signature fields of `message` (bytes), each with its continuation lines and CRLF."""
    return re.findall(rb"^DKIM-Signature:.*?\r\n(?![ \t])", message, re.S | re.M)


def only_signature(message, algorithm):
    """`message` without its DKIM-Signature fields other than the one with a=`algorithm`."""
    for field in signature_fields(message):
        if not re.search(rb"\ba=" + algorithm.encode() + rb";", field):
            message = message.replace(field, b"", 1)
    return message


def one_body_octet_changed(message):
    """`message` with the first octet of its body changed (its case flipped: a letter is expected)."""
    at = message.index(b"\r\n\r\n") + 4
    assert chr(message[at]).isalpha(), message[at:at + 20]
    return message[:at] + bytes([message[at] ^ 0x20]) + message[at + 1:]


class DkimOutTest(TernTestCase):
    def test_submitted_mail_is_signed_with_both_keys_and_dkimpy_verifies(self):
        server = self.make_server(users=("alice@tern.test", "bob@tern.test"), allow_plaintext=True, start=False)
        listed = json.loads(server.cli_ok("dkim", "generate", "tern.test", "--json").stdout)
        self.assertEqual(sorted(k["algorithm"] for k in listed), ["ed25519-sha256", "rsa-sha256"])
        for k in listed:
            mode = os.stat(os.path.join(server.data, "dkim", "tern.test", k["selector"] + ".pem")).st_mode & 0o777
            self.assertEqual(mode, 0o600)
        server.start()
        subject = unique("signed")
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("alice@tern.test", PASSWORD)
            s.sendmail("alice@tern.test", ["bob@tern.test"],
                       make_message("alice@tern.test", "bob@tern.test", subject, body=b"Signed  body \r\n\r\n"))
        server.wait_for_messages("bob@tern.test", 1)
        stored = server.stored_messages("bob@tern.test")[0][1]
        self.assertIn(b"signed for tern.test with 2 key(s)", server.log().encode())

        records = {f"{k['selector']}._domainkey.tern.test.".encode(): k["record"].encode() for k in listed}
        seen = []

        def dnsfunc(name, timeout=5):
            seen.append(name)
            return records.get(name if name.endswith(b".") else name + b".", b"")

        sigs = re.findall(rb"^DKIM-Signature:", stored, re.M)
        self.assertEqual(len(sigs), 2)
        d = dkim.DKIM(stored)
        algorithms = set()
        for idx in range(2):
            self.assertTrue(d.verify(idx=idx, dnsfunc=dnsfunc), f"dkimpy refused signature {idx}")
            algorithms.add(d.signature_fields[b"a"])
            # RFC 6376 5.4.2: From, Subject, To are over-signed (listed once more than present).
            h = [x.strip().lower() for x in d.signature_fields[b"h"].split(b":")]
            self.assertEqual(h.count(b"from"), 2)
            self.assertEqual(h.count(b"subject"), 2)
        self.assertEqual(algorithms, {b"ed25519-sha256", b"rsa-sha256"})
        self.assertEqual(len(seen), 2)

        # A body changed after signing fails in dkimpy too (the check above can fail).
        tampered = stored.replace(b"Signed  body", b"Signed  body!")
        with self.assertRaisesRegex(dkim.ValidationError, "body hash mismatch"):
            dkim.DKIM(tampered).verify(idx=0, dnsfunc=dnsfunc)

    def test_opendkim_verifies_both_of_terns_signatures(self):
        # opendkim-testmsg (verify mode) in a private network namespace whose only DNS server serves the
        # records given (opendkim.py). It prints nothing and exits 0 when the message verifies; else 70
        # (EX_SOFTWARE) with the libopendkim status on stderr.
        server = self.make_server(users=("alice@tern.test", "bob@tern.test"), allow_plaintext=True, start=False)
        listed = json.loads(server.cli_ok("dkim", "generate", "tern.test", "--json").stdout)
        server.start()
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("alice@tern.test", PASSWORD)
            s.sendmail("alice@tern.test", ["bob@tern.test"],
                       make_message("alice@tern.test", "bob@tern.test", unique("odk"),
                                    body=b"Signed  for OpenDKIM \r\n\r\n"))
        server.wait_for_messages("bob@tern.test", 1)
        stored = server.stored_messages("bob@tern.test")[0][1]
        self.assertEqual(len(signature_fields(stored)), 2)
        record = {k["algorithm"]: {f"{k['selector']}._domainkey.tern.test": k["record"]} for k in listed}
        both = {**record["rsa-sha256"], **record["ed25519-sha256"]}
        passed = (0, "", "")
        bad = (70, "", "opendkim-testmsg: dkim_eom(): Bad signature\n")

        def verdict(message, records):
            v = opendkim.verify(message, records)
            return v.returncode, v.stdout, v.stderr

        # Each signature alone (the other field removed), with only its own key published: OpenDKIM 2.11
        # verifies ed25519-sha256 (RFC 8463) as well as rsa-sha256.
        for alg in ("rsa-sha256", "ed25519-sha256"):
            with self.subTest(alg=alg):
                alone = only_signature(stored, alg)
                self.assertEqual(len(signature_fields(alone)), 1)
                self.assertIn(f"a={alg};".encode(), alone)
                self.assertEqual(verdict(alone, record[alg]), passed)
                # One body octet changed: the body hash differs. A changed Subject: the b= signature.
                self.assertEqual(verdict(one_body_octet_changed(alone), record[alg]), bad)
                self.assertEqual(verdict(alone.replace(b"Subject: odk-", b"Subject: odk_", 1), record[alg]), bad)
        # Both signatures: libopendkim's dkim_eom() (what opendkim-testmsg reports) passes a message when
        # any one of its signatures verifies, not only the first: with only the second one's key
        # published the first cannot be verified, and the message still passes.
        first, second = (re.search(rb"\ba=([a-z0-9-]+);", f).group(1).decode() for f in signature_fields(stored))
        self.assertEqual({first, second}, {"rsa-sha256", "ed25519-sha256"})
        self.assertEqual(verdict(stored, both), passed)
        self.assertEqual(verdict(stored, record[first]), passed)
        self.assertEqual(verdict(stored, record[second]), passed)
        self.assertEqual(verdict(one_body_octet_changed(stored), both), bad)
        # No key published at all (dnsmasq answers NXDOMAIN): a failure too, so the passes above used
        # the keys served.
        self.assertEqual(verdict(stored, {}), (70, "", "opendkim-testmsg: dkim_eom(): Key retrieval failed\n"))

    def test_rotation_while_running_signs_with_the_new_keys(self):
        server = self.make_server(users=("alice@tern.test", "bob@tern.test"), allow_plaintext=True, start=False)
        first = {k["selector"] for k in json.loads(server.cli_ok("dkim", "generate", "tern.test", "--json").stdout)}
        server.start()

        def send_and_selectors(n):
            with smtplib.SMTP(HOST, server.ports["submission"]) as s:
                s.login("alice@tern.test", PASSWORD)
                s.sendmail("alice@tern.test", ["bob@tern.test"],
                           make_message("alice@tern.test", "bob@tern.test", unique("rot")))
            server.wait_for_messages("bob@tern.test", n)
            newest = max(server.message_list("bob@tern.test"), key=lambda m: m["uid"])
            stored = server.message_bytes("bob@tern.test", newest["uid"])
            return set(s.decode() for s in re.findall(rb"DKIM-Signature:.*?; s=([^;]+);", stored, re.S))

        self.assertEqual(send_and_selectors(1), first)
        second = {k["selector"] for k in json.loads(server.cli_ok("dkim", "rotate", "tern.test", "--json").stdout)}
        self.assertFalse(first & second)
        self.assertEqual(send_and_selectors(2), second)
        listed = json.loads(server.cli_ok("dkim", "list", "--json").stdout)
        self.assertEqual({k["selector"] for k in listed if not k["signing"]}, first)
        # The retired keys are still published for a while.
        records = server.cli_ok("domain", "dns", "tern.test").stdout
        for sel in first | second:
            self.assertIn(f"{sel}._domainkey.tern.test. 3600 IN TXT", records)
        self.assertIn("_dmarc.tern.test. 3600 IN TXT", records)
        self.assertIn("_submissions._tcp.tern.test. 3600 IN SRV 0 1 465 mx.tern.test.", records)

    def test_generate_refuses_a_second_pair_and_bad_names(self):
        server = self.make_server(start=False)
        server.cli_ok("dkim", "generate", "tern.test")
        r = server.cli("dkim", "generate", "tern.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already has signing keys", r.stderr)
        r = server.cli("dkim", "generate", "../etc")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a domain name", r.stderr)

    def test_domain_dns_check_says_what_is_missing_or_differs(self):
        dns_port = free_port()
        server = self.make_server(start=False, extra_toml=f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\n')
        keys = json.loads(server.cli_ok("dkim", "generate", "tern.test", "--json").stdout)
        ed = [k for k in keys if k["algorithm"] == "ed25519-sha256"][0]
        rsa = [k for k in keys if k["algorithm"] == "rsa-sha256"][0]
        dns = Dns(["--mx-host=tern.test,mx.tern.test,10", txt_option("tern.test", "v=spf1 mx -all"),
                   txt_option(f"{ed['selector']}._domainkey.tern.test", ed["record"]),
                   txt_option("_dmarc.tern.test", "v=DMARC1; p=none"),
                   "--srv-host=_submissions._tcp.tern.test,mx.tern.test,465,0,1",
                   "--srv-host=_imaps._tcp.tern.test,mx.tern.test,9993,0,1"], port=dns_port)
        self.addCleanup(dns.stop)
        r = server.cli("domain", "dns", "tern.test", "--check", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        states = {x["record"].split(" ")[0]: x["state"] for x in json.loads(r.stdout) if " SRV " not in x["record"]}
        self.assertEqual(states["tern.test."], "ok")  # both MX and SPF
        self.assertEqual(states[f"{ed['selector']}._domainkey.tern.test."], "ok")
        self.assertEqual(states[f"{rsa['selector']}._domainkey.tern.test."], "missing")
        self.assertEqual(states["_dmarc.tern.test."], 'differs (found "v=DMARC1; p=none")')
        mx = [x for x in json.loads(r.stdout) if " MX " in x["record"]][0]
        self.assertEqual(mx["state"], "ok")
        srv = {x["record"].split(" ")[0]: x["state"] for x in json.loads(r.stdout) if " SRV " in x["record"]}
        self.assertEqual(srv["_submissions._tcp.tern.test."], "ok")
        self.assertEqual(srv["_imaps._tcp.tern.test."], "differs (found SRV 9993 mx.tern.test)")
        self.assertEqual(srv["_pop3s._tcp.tern.test."], "missing")
        text = server.cli("domain", "dns", "tern.test", "--check").stdout
        self.assertIn("; missing\n" + rsa["selector"] + "._domainkey.tern.test. 3600 IN TXT", text)

    def test_pending_files_and_dsns_are_signed(self):
        dns = Dns([])  # answers NXDOMAIN for every .test name: a remote recipient bounces at once
        self.addCleanup(dns.stop)
        server = self.make_server(users=("alice@tern.test", "bob@tern.test"), allow_plaintext=True, start=False,
                                  extra_toml=f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\n')
        listed = json.loads(server.cli_ok("dkim", "generate", "tern.test", "--json").stdout)
        records = {f"{k['selector']}._domainkey.tern.test.".encode(): k["record"].encode() for k in listed}

        def dnsfunc(name, timeout=5):
            return records.get(name if name.endswith(b".") else name + b".", b"")

        server.start()
        # A Mailtraq-style file with LF line ends, dropped into the local outbox.
        subject = unique("pending")
        body = (f"FROM: alice@tern.test\nRCPT: bob@tern.test\n"
                f"From: alice@tern.test\nTo: bob@tern.test\nSubject: {subject}\n\nfrom the outbox\n").encode()
        tmp = os.path.join(server.dir, "drop")
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(server.data, "mail", "pending", "msg1"))
        server.wait_for_messages("bob@tern.test", 1)
        stored = server.stored_messages("bob@tern.test")[0][1]
        self.assertEqual(len(re.findall(rb"^DKIM-Signature:", stored, re.M)), 2)
        for idx in range(2):
            self.assertTrue(dkim.DKIM(stored).verify(idx=idx, dnsfunc=dnsfunc), f"pending signature {idx}")
        # A bounce from MAILER-DAEMON@mx.tern.test is signed with the parent domain's keys.
        with smtplib.SMTP(HOST, server.ports["submission"]) as s:
            s.login("alice@tern.test", PASSWORD)
            s.sendmail("alice@tern.test", ["nobody@nowhere.test"],
                       make_message("alice@tern.test", "nobody@nowhere.test", unique("bounce")))
        server.wait_for_messages("alice@tern.test", 1)
        dsn = server.stored_messages("alice@tern.test")[0][1]
        self.assertIn(b"MAILER-DAEMON@mx.tern.test", dsn)
        self.assertIn(b"d=tern.test", dsn)
        for idx in range(2):
            self.assertTrue(dkim.DKIM(dsn).verify(idx=idx, dnsfunc=dnsfunc), f"DSN signature {idx}")

    def test_generate_killed_between_the_two_keys_is_completed_by_the_next_generate(self):
        server = self.make_server(start=False)
        env = dict(os.environ, TERN_FAULT="dkim.between_generated_keys")
        killed = subprocess.run([TERN_BIN, "--config", server.config, "dkim", "generate", "tern.test"], env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr)
        keys = json.loads(server.cli_ok("dkim", "list", "--json").stdout)
        self.assertEqual([k["algorithm"] for k in keys], ["ed25519-sha256"])  # the first key is whole
        made = json.loads(server.cli_ok("dkim", "generate", "tern.test", "--json").stdout)
        self.assertEqual([k["algorithm"] for k in made], ["rsa-sha256"])  # only the missing one
        keys = json.loads(server.cli_ok("dkim", "list", "--json").stdout)
        self.assertEqual(sorted(k["algorithm"] for k in keys if k["signing"]), ["ed25519-sha256", "rsa-sha256"])
        self.assertEqual(os.listdir(os.path.join(server.data, "dkim", "tern.test")).count(".tmp"), 0)
        self.assertEqual(server.cli("dkim", "generate", "tern.test").returncode, 1)

    def test_unauthenticated_mail_is_not_signed(self):
        server = self.make_server(users=("bob@tern.test",), start=False)
        server.cli_ok("dkim", "generate", "tern.test")
        server.start()
        with smtplib.SMTP(HOST, server.ports["smtp"]) as s:
            s.sendmail("someone@tern.test", ["bob@tern.test"], make_message("someone@tern.test", "bob@tern.test", "x"))
        server.wait_for_messages("bob@tern.test", 1)
        self.assertNotIn(b"DKIM-Signature:", server.stored_messages("bob@tern.test")[0][1])


class DkimInTest(TernTestCase):
    @classmethod
    def setUpClass(cls):
        cls.rsa_pem, rsa_p = rsa_key()
        cls.ed_seed, ed_p = ed25519_key()
        cls.odk_pem, odk_p = rsa_key()
        cls.odk_rsa_pem, odk_rsa_record = opendkim_genkey("signer.test", "odkrsa")
        cls.odk_ed_pem, odk_ed_p = ed25519_pem_key()
        cls.odk_records = {"odkrsa._domainkey.signer.test": odk_rsa_record,
                           "odked._domainkey.signer.test": f"v=DKIM1; k=ed25519; p={odk_ed_p}"}
        cls.dns_port = free_port()
        cls.records_by_name = {"rsa._domainkey.sender.test": f"v=DKIM1; k=rsa; p={rsa_p}"}
        cls.records = [
            txt_option("rsa._domainkey.sender.test", f"v=DKIM1; k=rsa; p={rsa_p}"),
            txt_option("ed._domainkey.sender.test", f"v=DKIM1; k=ed25519; p={ed_p}"),
            txt_option("odk._domainkey.opendkim.test", f"v=DKIM1; k=rsa; p={odk_p}"),
            txt_option("gone._domainkey.sender.test", "v=DKIM1; k=rsa; p="),
        ] + [txt_option(name, text) for name, text in cls.odk_records.items()]

    def setUp(self):
        self.dns = Dns(self.records, port=self.dns_port)
        self.addCleanup(self.dns.stop)
        extra = f'[dns]\nservers = ["127.0.0.1:{self.dns_port}"]\n'
        self.server = self.make_server(users=("bob@tern.test",), extra_toml=extra)

    def deliver(self, message, sender="news@sender.test"):
        before = len(self.server.message_list("bob@tern.test"))
        with smtplib.SMTP(HOST, self.server.ports["smtp"]) as s:
            s.sendmail(sender, ["bob@tern.test"], message)
        self.server.wait_for_messages("bob@tern.test", before + 1)
        newest = max(self.server.message_list("bob@tern.test"), key=lambda m: m["uid"])
        return self.server.message_bytes("bob@tern.test", newest["uid"])

    def original(self, subject, body=b"Hello  there \r\n\r\n"):
        return make_message("news@sender.test", "bob@tern.test", subject, body=body)

    def test_dkimpy_signatures_pass(self):
        cases = [
            (b"rsa", self.rsa_pem, b"rsa-sha256", (b"relaxed", b"relaxed"), False),
            (b"rsa", self.rsa_pem, b"rsa-sha256", (b"simple", b"simple"), False),
            (b"ed", self.ed_seed, b"ed25519-sha256", (b"relaxed", b"simple"), False),
            (b"rsa", self.rsa_pem, b"rsa-sha256", (b"relaxed", b"relaxed"), True),  # l=
        ]
        for selector, key, alg, canon, length in cases:
            with self.subTest(selector=selector, canon=canon, length=length):
                msg = self.original(unique("in"))
                sig = dkim.sign(msg, selector, b"sender.test", key, canonicalize=canon, signature_algorithm=alg,
                                length=length)
                stored = self.deliver(sig + msg)
                res = dkim_results(results_of(stored))
                self.assertEqual(len(res), 1)
                self.assertEqual(res[0].result, "pass", str(res[0]))
                props = {p.type + "." + p.name: p.value for p in res[0].properties}
                self.assertEqual(props["header.d"], "sender.test")
                self.assertEqual(props["header.s"], selector.decode())
                self.assertEqual(props["header.a"], alg.decode())
                if length:
                    self.assertIn("l=", res[0].reason or "")

    def test_changed_body_fails_and_revoked_key_is_permerror(self):
        msg = self.original(unique("in"))
        sig = dkim.sign(msg, b"rsa", b"sender.test", self.rsa_pem)
        stored = self.deliver(sig + msg.replace(b"Hello", b"Jello"))
        res = dkim_results(results_of(stored))
        self.assertEqual(res[0].result, "fail")
        self.assertEqual(res[0].reason, "body hash mismatch")
        sig = dkim.sign(msg, b"gone", b"sender.test", self.rsa_pem)
        res = dkim_results(results_of(self.deliver(sig + msg)))
        self.assertEqual(res[0].result, "permerror")
        self.assertIn("revoked", res[0].reason)
        # A selector with no record at all.
        sig = dkim.sign(msg, b"nothing", b"sender.test", self.rsa_pem)
        res = dkim_results(results_of(self.deliver(sig + msg)))
        self.assertEqual(res[0].result, "permerror")

    def test_unsigned_mail_says_none_and_forged_results_are_removed(self):
        forged = (f"Authentication-Results: {AUTHSERV_ID.upper()}; dkim=pass header.d=bank.test\r\n"
                  "Authentication-Results: other.test; spf=pass\r\n").encode()
        msg = make_message("news@sender.test", "bob@tern.test", unique("forged"), extra_headers=forged)
        stored = self.deliver(msg)
        header = results_of(stored)  # exactly one of ours: the forged one went
        self.assertEqual(dkim_results(header)[0].result, "none")
        self.assertNotIn(b"bank.test", stored)
        self.assertIn(b"Authentication-Results: other.test; spf=pass\r\n", stored)
        self.assertIn("removed a forged Authentication-Results field", self.server.log())

    def arc_sealed(self, message, hops):
        """`message` sealed by dkimpy's arc_sign once per hop (relay1.sender.test, ...), each hop adding
        its Authentication-Results first (with arc=pass for the chain it received), as a forwarder does."""
        for n in range(1, hops + 1):
            srv = f"relay{n}.sender.test".encode()
            arc = b"; arc=pass" if n > 1 else b""
            message = b"Authentication-Results: " + srv + b"; spf=pass smtp.mailfrom=news@sender.test" + arc + b"\r\n" + message
            sets = dkim.arc_sign(message, b"rsa", b"sender.test", self.rsa_pem, srv)
            self.assertEqual(len(sets), 3, f"dkimpy made no ARC set for hop {n}")
            message = b"".join(sets) + message
        return message

    def test_arc_chains_from_dkimpy(self):
        records = {"rsa._domainkey.sender.test.": self.records_by_name["rsa._domainkey.sender.test"]}

        def dnsfunc(name, timeout=5):
            return records.get(name.decode() if name.endswith(b".") else name.decode() + ".", "").encode()

        for hops in (1, 2):
            with self.subTest(hops=hops):
                sealed = self.arc_sealed(self.original(unique("arc")), hops)
                cv, _, why = dkim.arc_verify(sealed, dnsfunc=dnsfunc)
                self.assertEqual(cv, b"pass", why)  # the fixture is a valid chain for dkimpy itself
                header = results_of(self.deliver(sealed))
                arc = [r for r in header.results if r.method == "arc"]
                self.assertEqual(arc[0].result, "pass", str(arc[0]))
                self.assertIn(f"{hops} set(s)", arc[0].reason)
        # The body changed after the last seal: the newest ARC-Message-Signature fails.
        sealed = self.arc_sealed(self.original(unique("arc"), body=b"Forwarded.\r\n"), 2)
        header = results_of(self.deliver(sealed.replace(b"Forwarded.", b"Forwarded!")))
        arc = [r for r in header.results if r.method == "arc"][0]
        self.assertEqual(arc.result, "fail")
        self.assertIn("body hash mismatch", arc.reason)
        # A seal whose cv= breaks the chain's rule (i=1 must say none).
        sealed = self.arc_sealed(self.original(unique("arc")), 1).replace(b"cv=none", b"cv=pass", 1)
        arc = [r for r in results_of(self.deliver(sealed)).results if r.method == "arc"][0]
        self.assertEqual(arc.result, "fail")
        # No ARC field at all: arc=none.
        arc = [r for r in results_of(self.deliver(self.original(unique("plain")))).results if r.method == "arc"][0]
        self.assertEqual(arc.result, "none")

    def test_forwarded_mail_is_arc_sealed_and_dkimpy_verifies_the_seal(self):
        # B: the remote system the alias forwards to (reached by a static route).
        b = Tern(allow_plaintext=True)
        self.addCleanup(b.cleanup)
        self._servers = getattr(self, "_servers", []) + [b]
        b.add_domain("remote.test")
        b.add_user("carol@remote.test")
        b.start()
        a = self.server
        a.stop()
        a.extra_toml += f'\n[[route]]\nmatch = "remote.test"\nrelay = "127.0.0.1:{b.ports["smtp"]}"\n'
        a.write_config()
        a.cli_ok("alias", "add", "fwd@tern.test", "carol@remote.test")
        keys = json.loads(a.cli_ok("dkim", "generate", "tern.test", "--json").stdout)
        a.start()
        records = {f"{k['selector']}._domainkey.tern.test": k["record"] for k in keys}
        records.update(self.records_by_name)

        def dnsfunc(name, timeout=5):
            return records.get(name.decode().rstrip("."), "").encode()

        msg = make_message("news@sender.test", "fwd@tern.test", unique("fwd"))
        signed = dkim.sign(msg, b"rsa", b"sender.test", self.rsa_pem) + msg
        with smtplib.SMTP(HOST, a.ports["smtp"]) as s:
            s.sendmail("news@sender.test", ["fwd@tern.test"], signed)
        b.wait_for_messages("carol@remote.test", 1)
        got = b.stored_messages("carol@remote.test")[0][1]
        self.assertIn(b"ARC-Seal: i=1; a=rsa-sha256;", got)
        self.assertIn(b"cv=none", got)
        self.assertIn(b"ARC-Authentication-Results: i=1; mx.tern.test;", got)
        aar = re.search(rb"ARC-Authentication-Results: [^\r\n]*", got).group(0)
        self.assertIn(b"dkim=pass", aar)  # what Tern found at receipt travels with the message
        cv, _, why = dkim.arc_verify(got, dnsfunc=dnsfunc)
        self.assertEqual(cv, b"pass", why)
        self.assertTrue(dkim.DKIM(got).verify(dnsfunc=dnsfunc), "the original DKIM signature survives")

    def test_libopendkim_signatures_pass_and_a_changed_body_fails(self):
        # opendkim-testmsg signs only with rsa-sha1 (the next test); these are made by libopendkim's
        # dkim_sign() itself (opendkim.sign()), with opendkim-genkey's RSA key and record and an Ed25519 key.
        cases = [
            ("odkrsa", self.odk_rsa_pem, "rsa-sha256", ("relaxed", "simple")),  # OpenDKIM's default
            ("odkrsa", self.odk_rsa_pem, "rsa-sha256", ("simple", "simple")),
            ("odkrsa", self.odk_rsa_pem, "rsa-sha256", ("relaxed", "relaxed")),
            ("odked", self.odk_ed_pem, "ed25519-sha256", ("relaxed", "relaxed")),
        ]
        self.assertIn("h=sha256", self.odk_records["odkrsa._domainkey.signer.test"])  # opendkim-genkey's record
        for selector, key, alg, canon in cases:
            with self.subTest(alg=alg, canon=canon):
                msg = make_message("news@signer.test", "bob@tern.test", unique("odk"),
                                   body=b"From  libopendkim. \r\n\r\n")
                signed = opendkim.sign(msg, "signer.test", selector, key, alg, canon)
                fields = signature_fields(signed)
                self.assertEqual(len(fields), 1)
                self.assertIn(f"a={alg};".encode(), fields[0])
                self.assertIn(f"c={canon[0]}/{canon[1]};".encode(), fields[0])
                self.assertIn(f"s={selector};".encode(), fields[0])
                # The fixture is right: OpenDKIM's own verifier accepts it with the record served.
                name = f"{selector}._domainkey.signer.test"
                v = opendkim.verify(signed, {name: self.odk_records[name]})
                self.assertEqual((v.returncode, v.stderr), (0, ""), v)

                res = dkim_results(results_of(self.deliver(signed, sender="news@signer.test")))
                self.assertEqual(len(res), 1)
                self.assertEqual(res[0].result, "pass", str(res[0]))
                props = {p.type + "." + p.name: p.value for p in res[0].properties}
                self.assertEqual(props["header.d"], "signer.test")
                self.assertEqual(props["header.s"], selector)
                self.assertEqual(props["header.a"], alg)

                changed = one_body_octet_changed(signed)
                res = dkim_results(results_of(self.deliver(changed, sender="news@signer.test")))
                self.assertEqual(len(res), 1)
                self.assertEqual(res[0].result, "fail", str(res[0]))
                self.assertEqual(res[0].reason, "body hash mismatch")

    def test_opendkim_rsa_sha1_signature_is_refused(self):
        # opendkim-testmsg signs with rsa-sha1 (it has no option for another algorithm); RFC 8301 3.1
        # says a verifier must not accept that: Tern's result is permerror, with the reason.
        with tempfile.TemporaryDirectory() as d:
            key = os.path.join(d, "odk.pem")
            with open(key, "wb") as f:
                f.write(self.odk_pem)
            msg = make_message("news@opendkim.test", "bob@tern.test", unique("odk"), body=b"From OpenDKIM.\r\n")
            r = subprocess.run(["opendkim-testmsg", "-C", "-d", "opendkim.test", "-s", "odk", "-k", key], input=msg,
                               capture_output=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            signed = r.stdout
        self.assertIn(b"DKIM-Signature:", signed)
        self.assertIn(b"a=rsa-sha1", signed)
        stored = self.deliver(signed, sender="news@opendkim.test")
        res = dkim_results(results_of(stored))
        self.assertEqual(res[0].result, "permerror", str(res[0]))
        self.assertEqual(res[0].reason, "rsa-sha1 is no longer accepted (RFC 8301)")


if __name__ == "__main__":
    main()
