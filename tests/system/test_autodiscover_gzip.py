"""Microsoft Autodiscover (POX) and gzip of the console's text assets, against the real binary with
http.client over TLS (loopback only).

Autodiscover: a real Outlook request body for a local address gets the Account settings built from
[listen] (IMAP, POP3, SMTP with their ports and TLS kinds, the address as login name), on both path
spellings; another domain gets the error document; a request naming no address, one over the size
limit, and a GET are refused; what the request says is XML-escaped in the answer.
gzip: /admin/ and its JS and CSS with and without Accept-Encoding: gzip; the gzipped body decompresses
to the same bytes; Vary: Accept-Encoding on both; q=0 refuses gzip."""

import gzip
import re
import xml.etree.ElementTree as ET

from test_http import HttpCase
from harness import main

REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
"""
NS = {"r": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
      "a": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
XML = {"Content-Type": "text/xml"}


class AutodiscoverTest(HttpCase):
    SERVICES = ("smtp", "http", "https", "imap", "imaps", "pop3s", "submission", "submissions")

    def post(self, body, path="/autodiscover/autodiscover.xml", method="POST"):
        return self.call(method, path, body=body, auth="", headers=XML)

    def test_account_settings_for_a_local_address(self):
        for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
            a = self.post(REQUEST.format("bob@tern.test"), path)
            self.assertEqual(a.status, 200, a)
            self.assertTrue(a.headers["Content-Type"].startswith("application/xml"))
            root = ET.fromstring(a.raw)
            account = root.find("a:Response/a:Account", NS)
            self.assertEqual(account.find("a:AccountType", NS).text, "email")
            self.assertEqual(account.find("a:Action", NS).text, "settings")
            got = [(p.find("a:Type", NS).text, p.find("a:Server", NS).text, p.find("a:Port", NS).text,
                    p.find("a:Encryption", NS).text, p.find("a:LoginName", NS).text)
                   for p in account.findall("a:Protocol", NS)]
            ports = self.t.ports
            self.assertEqual(got, [
                ("IMAP", "mx.tern.test", str(ports["imaps"]), "SSL", "bob@tern.test"),
                ("IMAP", "mx.tern.test", str(ports["imap"]), "TLS", "bob@tern.test"),
                ("POP3", "mx.tern.test", str(ports["pop3s"]), "SSL", "bob@tern.test"),
                ("SMTP", "mx.tern.test", str(ports["submissions"]), "SSL", "bob@tern.test"),
                ("SMTP", "mx.tern.test", str(ports["submission"]), "TLS", "bob@tern.test"),
            ])
        # A namespace prefix on the request's elements is understood too.
        prefixed = REQUEST.format("bob@tern.test").replace("<EMailAddress>", "<x:EMailAddress>").replace(
            "</EMailAddress>", "</x:EMailAddress>")
        self.assertEqual(self.post(prefixed).status, 200)

    def test_errors(self):
        a = self.post(REQUEST.format("someone@elsewhere.test"))
        self.assertEqual(a.status, 404, a)
        err = ET.fromstring(a.raw).find("r:Response/r:Error", NS)
        self.assertEqual(err.find("r:ErrorCode", NS).text, "500")
        a = self.post("<Autodiscover><Request></Request></Autodiscover>")
        self.assertEqual(a.status, 400, a)
        self.assertEqual(ET.fromstring(a.raw).find("r:Response/r:Error/r:ErrorCode", NS).text, "600")
        big = REQUEST.format("bob@tern.test") + "<!--" + "x" * 20000 + "-->"
        self.assertEqual(self.post(big).status, 413)
        a = self.post(None, method="GET")
        self.assertEqual(a.status, 405)
        self.assertEqual(a.headers["Allow"], "POST")
        # Markup in the address is refused, never echoed.
        a = self.post(REQUEST.format("a&amp;<b>@tern.test"))
        self.assertEqual(a.status, 400)
        self.assertNotIn(b"<b>", a.raw)


class GzipTest(HttpCase):
    def get(self, path, encoding=None):
        headers = {"Accept-Encoding": encoding} if encoding is not None else {"Accept-Encoding": "identity"}
        return self.call("GET", path, auth="", headers=headers)

    def test_console_assets_gzipped_when_allowed(self):
        plain = self.get("/admin/")
        self.assertEqual(plain.status, 200, plain)
        self.assertIsNone(plain.headers.get("Content-Encoding"))
        self.assertEqual(plain.headers["Vary"], "Accept-Encoding")
        names = re.findall(rb'/admin/(app-[0-9a-f]{12}\.(?:js|css))', plain.raw)
        self.assertEqual(len(names), 2, plain.raw[:500])
        for path in ["/admin/"] + ["/admin/" + n.decode() for n in names]:
            ident = self.get(path)
            gz = self.get(path, "gzip, deflate, br")
            self.assertEqual(gz.status, 200)
            self.assertEqual(gz.headers["Content-Encoding"], "gzip", path)
            self.assertEqual(gz.headers["Vary"], "Accept-Encoding")
            self.assertEqual(gz.headers["Content-Type"], ident.headers["Content-Type"])
            self.assertEqual(int(gz.headers["Content-Length"]), len(gz.raw))
            self.assertLess(len(gz.raw), len(ident.raw), path)
            self.assertEqual(gzip.decompress(gz.raw), ident.raw, path)
            self.assertEqual(self.get(path, "gzip").raw, gz.raw)  # compressed once: the same octets
        refused = self.get("/admin/", "gzip;q=0, identity")
        self.assertIsNone(refused.headers.get("Content-Encoding"))
        self.assertEqual(refused.raw, plain.raw)
        # API answers are not assets: never compressed.
        self.assertIsNone(self.call("GET", "/api/v1/users", headers={"Accept-Encoding": "gzip"}).headers.get(
            "Content-Encoding"))


if __name__ == "__main__":
    main()
