"""The console's browser sessions (issue 15), against the real binary with http.client: POST
/api/v1/session through the shared Authenticator sets an HttpOnly, Secure, SameSite=Strict cookie and
returns a CSRF token; a change with the cookie needs X-CSRF-Token (403 without it, or with a wrong
one); a non-administrator gets no session; a new login gets a new id (no fixation); DELETE ends the
session and clears the cookie; Basic and Bearer need no CSRF token. And the console's files under
/admin/: Content-Types, hashed assets cached forever, index.html never, nothing else reachable."""

import re

from harness import PASSWORD, main
from test_http import ADMIN, HttpCase


class SessionTest(HttpCase):
    def login(self, address=ADMIN, password=PASSWORD, cookie=None):
        headers = {"Cookie": cookie} if cookie else {}
        return self.call("POST", "/api/v1/session", {"address": address, "password": password}, auth="",
                         headers=headers)

    def session(self):
        a = self.login()
        self.assertEqual(a.status, 201, a)
        cookie = a.headers["Set-Cookie"]
        value = cookie.split(";")[0]
        return value, a.json["csrf_token"], cookie

    def test_login_sets_a_strict_cookie_and_returns_a_csrf_token(self):
        value, csrf, cookie = self.session()
        self.assertRegex(value, r"^tern_session=[0-9a-f]{64}$")
        attrs = [p.strip() for p in cookie.split(";")[1:]]
        for want in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(want, attrs)
        self.assertRegex(csrf, r"^[0-9a-f]{64}$")
        self.assertNotIn(csrf, value)
        # the cookie alone reads
        a = self.call("GET", "/api/v1/users", auth="", headers={"Cookie": value})
        self.assertEqual(a.status, 200, a)
        a = self.call("GET", "/api/v1/session", auth="", headers={"Cookie": value})
        self.assertEqual((a.status, a.json), (200, {"address": ADMIN, "csrf_token": csrf}))
        self.assertIn("session.login", [e["action"] for e in self.audit()])

    def test_changes_need_the_csrf_token(self):
        value, csrf, _ = self.session()
        user = {"address": "dave@tern.test", "password": "pw-dave"}
        a = self.call("POST", "/api/v1/users", user, auth="", headers={"Cookie": value})
        self.assertError(a, 403, "csrf")
        a = self.call("POST", "/api/v1/users", user, auth="", headers={"Cookie": value, "X-CSRF-Token": "0" * 64})
        self.assertError(a, 403, "csrf")
        a = self.call("DELETE", "/api/v1/users/bob@tern.test", auth="", headers={"Cookie": value})
        self.assertError(a, 403, "csrf")
        a = self.call("POST", "/api/v1/users", user, auth="", headers={"Cookie": value, "X-CSRF-Token": csrf})
        self.assertEqual(a.status, 201, a)
        # Basic needs none
        a = self.call("DELETE", "/api/v1/users/dave@tern.test")
        self.assertEqual(a.status, 200, a)

    def test_refusals(self):
        self.assertError(self.login(password="wrong"), 401, "unauthorized")
        self.assertError(self.login(address="bob@tern.test"), 403, "forbidden")
        a = self.call("POST", "/api/v1/session", b"address=x", auth="",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertError(a, 415, "unsupported_media_type")
        self.assertError(self.call("POST", "/api/v1/session", {"address": ADMIN}, auth=""), 400, "invalid")
        a = self.call("GET", "/api/v1/users", auth="", headers={"Cookie": "tern_session=" + "a" * 64})
        self.assertError(a, 401, "unauthorized")
        self.assertError(self.call("PUT", "/api/v1/session", auth=""), 405, "method_not_allowed")
        # the console is offered no Basic, which would open the browser's own password dialog
        a = self.call("GET", "/api/v1/session", auth="")
        self.assertError(a, 401, "unauthorized")
        self.assertIn("Basic", a.headers["WWW-Authenticate"])
        a = self.call("GET", "/api/v1/session", auth="", headers={"X-Requested-With": "tern-console"})
        self.assertError(a, 401, "unauthorized")
        self.assertEqual(a.headers["WWW-Authenticate"], 'Bearer realm="tern"')

    def test_no_fixation_and_logout_ends_the_session(self):
        first, csrf, _ = self.session()
        a = self.login(cookie=first)
        self.assertEqual(a.status, 201, a)
        second = a.headers["Set-Cookie"].split(";")[0]
        self.assertNotEqual(first, second)
        # the id the browser came with is forgotten
        self.assertError(self.call("GET", "/api/v1/users", auth="", headers={"Cookie": first}), 401, "unauthorized")
        csrf2 = a.json["csrf_token"]
        self.assertNotEqual(csrf, csrf2)
        self.assertError(self.call("DELETE", "/api/v1/session", auth="", headers={"Cookie": second}), 403, "csrf")
        a = self.call("DELETE", "/api/v1/session", auth="", headers={"Cookie": second, "X-CSRF-Token": csrf2})
        self.assertEqual(a.status, 200, a)
        cleared = a.headers["Set-Cookie"]
        self.assertTrue(cleared.startswith("tern_session=;"), cleared)
        self.assertIn("Max-Age=0", cleared)
        self.assertError(self.call("GET", "/api/v1/users", auth="", headers={"Cookie": second}), 401, "unauthorized")
        self.assertIn("session.logout", [e["action"] for e in self.audit()])

    def test_console_assets(self):
        a = self.call("GET", "/admin/", auth="")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(a.headers["Cache-Control"], "no-store")
        html = a.raw.decode()
        self.assertNotIn("<script>", html)  # no inline script (the CSP forbids it)
        js = re.search(r'src="(/admin/app-[0-9a-f]{12}\.js)"', html).group(1)
        css = re.search(r'href="(/admin/app-[0-9a-f]{12}\.css)"', html).group(1)
        self.assertEqual(self.call("GET", "/admin", auth="").raw, a.raw)
        for path, ctype in ((js, "text/javascript; charset=utf-8"), (css, "text/css; charset=utf-8")):
            b = self.call("GET", path, auth="")
            self.assertEqual((b.status, b.headers["Content-Type"]), (200, ctype), path)
            self.assertEqual(b.headers["Cache-Control"], "public, max-age=31536000, immutable")
            self.assertTrue(b.raw)
            self.assertEqual(self.call("HEAD", path, auth="").raw, b"")
        for path in ("/admin/app.js", "/admin/../tern.toml", "/admin/%2e%2e%2ftern.toml", "/admin/a/index.html"):
            self.assertError(self.call("GET", path, auth=""), 404, "not_found")
        self.assertError(self.call("POST", "/admin/", b"{}", auth=""), 405, "method_not_allowed")


if __name__ == "__main__":
    main()
