"""DMARC in the SMTP server, end to end: a sender's policy (served by zonedns on loopback) applied to the
SPF and DKIM results of mail arriving over the MX listener from 127.0.0.1.

p=reject with no aligned pass: 550 5.7.1 at the end of DATA, nothing stored. p=quarantine: accepted into
the recipient's Junk folder. An aligned SPF pass (relaxed: a subdomain's bounce address) or an aligned
DKIM pass (dkimpy's signature) passes; strict alignment does not take the subdomain. A subdomain of the
organizational domain gets sp=. pct=0 turns reject into quarantine. A p=reject whose aligned DKIM key
lookup fails for now: 451 4.7.0; a policy lookup that fails: accepted with dmarc=temperror.
Aggregate reports: `tern dmarc report` mails the day's report (gzipped XML, read back with Python's
gzip and ElementTree) to the rua= address that authorised it, and not to one that did not (RFC 7489 7.1). [dmarc] report_only domains only get dmarc=fail in Authentication-Results (parsed by
python3-authres).

Run with Debian's python3 (the CMake test does)."""

import base64
import email
import email.policy
import gzip
import os
import signal
import smtplib
import subprocess
import time
import xml.etree.ElementTree as ET

import dkim
import nacl.signing

from harness import HOST, TERN_BIN, TernTestCase, main, make_message, results_of, unique
from zonedns import ZoneServer

OUR_IP = "127.0.0.0/8"


def zone(ed_public):
    spf_ok = ("TXT", f"v=spf1 ip4:{OUR_IP} -all")
    spf_fail = ("TXT", "v=spf1 ip4:192.0.2.1 -all")
    return {
        "reject.test": [spf_fail], "_dmarc.reject.test": [("TXT", "v=DMARC1; p=reject")],
        "quarantine.test": [spf_fail], "_dmarc.quarantine.test": [("TXT", "v=DMARC1; p=quarantine")],
        "good.test": [spf_fail], "_dmarc.good.test": [("TXT", "v=DMARC1; p=reject")],
        "mail.good.test": [spf_ok],
        "strict.test": [spf_fail], "_dmarc.strict.test": [("TXT", "v=DMARC1; p=reject; aspf=s")],
        "mail.strict.test": [spf_ok],
        "sp.test": [spf_fail], "_dmarc.sp.test": [("TXT", "v=DMARC1; p=none; sp=reject")],
        "sub.sp.test": [spf_fail],
        "pct.test": [spf_fail], "_dmarc.pct.test": [("TXT", "v=DMARC1; p=reject; pct=0")],
        "signed.test": [spf_fail], "_dmarc.signed.test": [("TXT", "v=DMARC1; p=reject")],
        "ed._domainkey.signed.test": [("TXT", f"v=DKIM1; k=ed25519; p={ed_public}")],
        "reported.test": [spf_ok],
        "_dmarc.reported.test": [("TXT", "v=DMARC1; p=none; rua=mailto:reports@tern.test,mailto:x@evil.test")],
        "reported.test._report._dmarc.tern.test": [("TXT", "v=DMARC1")],
        "flaky.test": [spf_ok], "_dmarc.flaky.test": [("TIMEOUT", None)],
        "flakykey.test": [spf_fail], "_dmarc.flakykey.test": [("TXT", "v=DMARC1; p=reject")],
        "ed._domainkey.flakykey.test": [("TIMEOUT", None)],
    }


class DmarcTest(TernTestCase):
    @classmethod
    def setUpClass(cls):
        sk = nacl.signing.SigningKey.generate()
        cls.ed_seed = base64.b64encode(bytes(sk))
        cls.ed_public = base64.b64encode(bytes(sk.verify_key)).decode()

    def setUp(self):
        self.dns = ZoneServer(zone(self.ed_public))
        self.addCleanup(self.dns.stop)

    def server_with(self, extra=""):
        return self.make_server(users=("bob@tern.test",),
                                extra_toml=f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]\n{extra}')

    def send(self, server, mail_from, header_from, sign=False):
        """(reply code, reply text) of the end of data; the message is stored when 250."""
        msg = make_message(header_from, "bob@tern.test", unique("dmarc"))
        if sign:
            domain = (sign if isinstance(sign, str) else "signed.test").encode()
            msg = dkim.sign(msg, b"ed", domain, self.ed_seed, signature_algorithm=b"ed25519-sha256") + msg
        with smtplib.SMTP(HOST, server.ports["smtp"]) as s:
            s.ehlo("client.test")
            s.mail(mail_from)
            s.rcpt("bob@tern.test")
            return s.data(msg)

    def last_results(self, server, folder="INBOX"):
        msgs = server.message_list("bob@tern.test", folder)
        newest = max(msgs, key=lambda m: m["uid"])
        header = results_of(server.message_bytes("bob@tern.test", newest["uid"], folder))
        return {r.method: r for r in header.results}

    def test_reject_quarantine_and_aligned_passes(self):
        server = self.server_with()
        code, text = self.send(server, "news@reject.test", "news@reject.test")
        self.assertEqual(code, 550)
        self.assertIn(b"5.7.1", text)
        self.assertIn(b"DMARC policy of reject.test", text)
        self.assertEqual(server.message_list("bob@tern.test"), [])

        code, _ = self.send(server, "news@quarantine.test", "news@quarantine.test")
        self.assertEqual(code, 250)
        server.wait_for_messages("bob@tern.test", 1, folder="Junk")
        r = self.last_results(server, "Junk")
        self.assertEqual(r["dmarc"].result, "fail")
        self.assertIn("p=quarantine dis=quarantine", r["dmarc"].reason)
        self.assertEqual(server.message_list("bob@tern.test"), [])  # nothing in INBOX

        # Relaxed SPF alignment: the bounce address of a subdomain passes for the parent's From.
        code, _ = self.send(server, "bounce@mail.good.test", "news@good.test")
        self.assertEqual(code, 250)
        server.wait_for_messages("bob@tern.test", 1)
        r = self.last_results(server)
        self.assertEqual(r["spf"].result, "pass")
        self.assertEqual(r["dmarc"].result, "pass")
        self.assertEqual({p.type + "." + p.name: p.value for p in r["dmarc"].properties}, {"header.from": "good.test"})

        # Strict SPF alignment refuses the same shape.
        code, _ = self.send(server, "bounce@mail.strict.test", "news@strict.test")
        self.assertEqual(code, 550)

        # An aligned DKIM pass is enough where SPF fails.
        code, _ = self.send(server, "news@signed.test", "news@signed.test", sign=True)
        self.assertEqual(code, 250)
        server.wait_for_messages("bob@tern.test", 2)
        r = self.last_results(server)
        self.assertEqual(r["spf"].result, "fail")
        self.assertEqual(r["dkim"].result, "pass")
        self.assertEqual(r["dmarc"].result, "pass")

    def test_subdomain_policy_pct_and_temperror(self):
        server = self.server_with()
        code, text = self.send(server, "x@sub.sp.test", "x@sub.sp.test")  # sp=reject from sp.test
        self.assertEqual(code, 550, text)
        code, _ = self.send(server, "x@sp.test", "x@sp.test")  # p=none for the domain itself
        self.assertEqual(code, 250)
        code, _ = self.send(server, "x@pct.test", "x@pct.test")  # pct=0: reject becomes quarantine
        self.assertEqual(code, 250)
        server.wait_for_messages("bob@tern.test", 1, folder="Junk")
        # p=reject, SPF fails, and the aligned DKIM key cannot be fetched for now: it might pass later.
        code, text = self.send(server, "x@flakykey.test", "x@flakykey.test", sign="flakykey.test")
        self.assertEqual(code, 451, text)
        self.assertIn(b"4.7.0", text)
        # The policy lookup itself fails: no policy is known; accepted, and dmarc=temperror says so.
        code, text = self.send(server, "x@flaky.test", "x@flaky.test")
        self.assertEqual(code, 250, text)
        server.wait_for_messages("bob@tern.test", 2)
        self.assertEqual(self.last_results(server)["dmarc"].result, "temperror")

    def test_report_only_domains_accept_and_report(self):
        server = self.server_with('\n[dmarc]\nreport_only = ["TERN.test"]\n')
        code, _ = self.send(server, "news@reject.test", "news@reject.test")
        self.assertEqual(code, 250)
        server.wait_for_messages("bob@tern.test", 1)
        r = self.last_results(server)
        self.assertEqual(r["dmarc"].result, "fail")
        self.assertIn("p=reject dis=reject", r["dmarc"].reason)

    def test_verify_off_checks_nothing_and_still_removes_forged_results(self):
        server = self.server_with('\n[mailauth]\nverify = false\n')
        msg = make_message("news@reject.test", "bob@tern.test", unique("verify-off"))
        msg = b"Authentication-Results: mx.tern.test; dmarc=pass header.from=reject.test\r\n" + msg
        with smtplib.SMTP(HOST, server.ports["smtp"]) as s:
            s.ehlo("client.test")
            s.mail("news@reject.test")
            s.rcpt("bob@tern.test")
            code, text = s.data(msg)
        self.assertEqual(code, 250, text)  # p=reject and SPF -all: accepted, nothing was checked
        server.wait_for_messages("bob@tern.test", 1)
        newest = server.message_list("bob@tern.test")[0]
        self.assertNotIn(b"Authentication-Results", server.message_bytes("bob@tern.test", newest["uid"]))

    def test_aggregate_report_by_mail(self):
        server = self.make_server(users=("bob@tern.test", "reports@tern.test"),
                                  extra_toml=f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]\n')
        for mail_from in ("a@reported.test", "b@reported.test", "bounce@elsewhere.test"):
            code, _ = self.send(server, mail_from, "news@reported.test")
            self.assertEqual(code, 250)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        r = server.cli_ok("dmarc", "report", "--day", day)
        self.assertIn(f"{day}: report for reported.test sent to reports@tern.test", r.stdout)
        self.assertIn("not to x@evil.test", r.stdout)  # RFC 7489 7.1: evil.test never asked for it
        self.assertEqual(server.cli_ok("dmarc", "report", "--day", day).stdout, "no reports to send\n")
        server.wait_for_messages("reports@tern.test", 1)
        raw = server.stored_messages("reports@tern.test")[0][1]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertIn("Report Domain: reported.test Submitter: mx.tern.test Report-ID:", msg["Subject"])
        part = [p for p in msg.iter_attachments() if p.get_content_type() == "application/gzip"][0]
        self.assertTrue(part.get_filename().startswith("mx.tern.test!reported.test!"))
        root = ET.fromstring(gzip.decompress(part.get_content()))
        self.assertEqual(root.findtext("policy_published/domain"), "reported.test")
        self.assertEqual(root.findtext("policy_published/p"), "none")
        records = root.findall("record")
        self.assertEqual(sum(int(r.findtext("row/count")) for r in records), 3)
        spf = sorted((r.findtext("row/policy_evaluated/spf"), int(r.findtext("row/count"))) for r in records)
        self.assertEqual(spf, [("fail", 1), ("pass", 2)])
        for r in records:
            self.assertEqual(r.findtext("row/source_ip"), "127.0.0.1")
            self.assertEqual(r.findtext("identifiers/header_from"), "reported.test")
            self.assertEqual(r.findtext("row/policy_evaluated/disposition"), "none")
        begin, end = int(root.findtext("report_metadata/date_range/begin")), int(root.findtext("report_metadata/date_range/end"))
        self.assertEqual(end - begin, 86399)
        self.assertTrue(os.path.exists(os.path.join(server.data, "dmarc", day + ".jsonl.reported")))

    def test_report_run_killed_before_the_day_is_marked_sends_it_again(self):
        server = self.make_server(users=("bob@tern.test", "reports@tern.test"),
                                  extra_toml=f'[dns]\nservers = ["127.0.0.1:{self.dns.port}"]\n')
        code, _ = self.send(server, "a@reported.test", "news@reported.test")
        self.assertEqual(code, 250)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        env = dict(os.environ, TERN_FAULT="dmarc.after_reports_queued")
        killed = subprocess.run([TERN_BIN, "--config", server.config, "dmarc", "report", "--day", day], env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr)
        self.assertTrue(os.path.exists(os.path.join(server.data, "dmarc", day + ".jsonl")))  # not marked
        again = server.cli_ok("dmarc", "report", "--day", day)
        self.assertIn("sent to reports@tern.test", again.stdout)
        self.assertEqual(server.cli_ok("dmarc", "report", "--day", day).stdout, "no reports to send\n")
        reports = server.wait_for_messages("reports@tern.test", 2)
        self.assertEqual(len(reports), 2)
        subjects = {m["subject"] for m in reports}
        self.assertEqual(len(subjects), 1, subjects)  # the same Report-ID twice: one report to the receiver


if __name__ == "__main__":
    main()
