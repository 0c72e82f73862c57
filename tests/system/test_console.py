"""The administrator's console in a real browser (issue 15): Debian's chromium and chromedriver
driven by python3-selenium, headless, against the real tern binary. Logs in, reads the dashboard,
adds a user, sees a message sent by SMTP to a dead relay in the queue with its last error, holds and
releases it, clears host assignments, logs out; a user name with <script> and "onerror= is shown as
text; the pages at 360 px wide. A screenshot of each page goes to build/test-artifacts/.

Every wait is on a condition (WebDriverWait), never a fixed sleep."""

import os
import shutil
import smtplib
import tempfile
import time
import unittest

from harness import HOST, PASSWORD, TERN_BIN, WAIT, main, make_message
from test_http import ADMIN, HttpCase

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # scripts/install-deps.sh installs python3-selenium
    webdriver = None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = os.path.join(os.path.dirname(TERN_BIN), "test-artifacts")
HOSTILE = ('<script>alert(1)</script>"onerror=alert(2)@tern.test',  # refused: the error shows it
           '"onerror=alert(3)@tern.test')  # a valid address: listed
# The elements that reach past the window's right edge (what makes a page scroll sideways).
WIDER = """return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
                  .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));"""


class ConsoleTest(HttpCase):
    EXTRA = '[attachments]\naction = "quarantine"\n'  # a message with an .exe attachment is held

    def setUp(self):
        # Never skipped: a missing browser is a failure of the machine's set-up, said as such.
        self.assertTrue(webdriver and os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK),
                        "needs chromium, chromium-driver and python3-selenium (scripts/install-deps.sh)")
        super().setUp()
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="tern-chromium-")
        self.addCleanup(shutil.rmtree, self.profile, True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--ignore-certificate-errors", "--window-size=1280,900",
                    f"--user-data-dir={self.profile}"):
            opts.add_argument(arg)
        if os.geteuid() == 0:
            opts.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
        self.browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.addCleanup(self.browser.quit)
        self.base = f"https://{HOST}:{self.t.ports['https']}"

    # -- helpers -----------------------------------------------------------------------------------

    def wait(self, condition, what):
        return WebDriverWait(self.browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
            condition, message=what)

    def find(self, css):
        return self.browser.find_element(By.CSS_SELECTOR, css)

    def present(self, css):
        return self.wait(lambda b: b.find_element(By.CSS_SELECTOR, css) if b.find_elements(By.CSS_SELECTOR, css) else None,
                         f"{css} never appeared")

    def shot(self, name):
        self.browser.execute_script("window.scrollTo(0, 0)")
        self.assertTrue(self.browser.save_screenshot(os.path.join(ARTIFACTS, f"console-{name}.png")))

    def no_alert(self):
        try:
            text = self.browser.switch_to.alert.text
        except NoAlertPresentException:
            return
        self.fail(f"a script ran: alert {text!r}")

    def tearDown(self):
        if hasattr(self, "browser"):
            for entry in self.browser.get_log("browser"):
                print("browser:", entry)
        super().tearDown()

    def log_in(self):
        self.browser.get(self.base + "/admin/")
        self.present("#login-form")
        self.shot("login")
        self.find("#login-address").send_keys(ADMIN)
        self.find("#login-password").send_keys(PASSWORD + Keys.ENTER)  # the keyboard submits
        self.present("#stats .stat")

    def accept_confirm(self):
        self.wait(expected_conditions.alert_is_present(), "no confirmation asked")
        self.browser.switch_to.alert.accept()

    def texts(self, css):
        return [e.text for e in self.browser.find_elements(By.CSS_SELECTOR, css)]

    def go(self, page, ready):
        self.find(f"#nav-{page}").click()
        return self.present(ready)

    def fill(self, css, text):
        e = self.find(css)
        e.clear()
        e.send_keys(text)
        return e

    def layout_shift(self, hash_, ready):
        """Goes to a page by its address (no click: a shift right after input would not count) and
        returns the layout shift (Chromium's Layout Instability API) from then until `ready` holds."""
        self.browser.execute_script("""
            window.ternShift = 0;
            new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.ternShift += e.value; })
              .observe({type: 'layout-shift'});
            location.hash = arguments[0];""", hash_)
        self.wait(ready, f"{hash_} never ready")
        # the shifts of the last frame are reported after it: one more frame, then read
        return self.browser.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(window.ternShift)));")

    def queue_row(self, held):
        """Waits for the queue's one message, deferred once, with `held` as given (refreshing)."""
        def ready(b):
            rows = b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")
            if rows and rows[0].get_attribute("data-held") == str(held).lower() and \
                    rows[0].find_elements(By.CSS_SELECTOR, ".last-error"):
                return rows[0]
            b.find_element(By.CSS_SELECTOR, "#queue-refresh").click()
            return None
        return self.wait(ready, f"no queued message with held={held}")

    # -- the walk ----------------------------------------------------------------------------------

    def test_console(self):
        self.log_in()
        self.wait(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#stats .stat")) >= 5, "the dashboard's figures")
        self.assertEqual(self.find("#who").text, ADMIN)
        self.shot("dashboard")

        # users: a field error beside the field, then an added user
        self.find("#nav-users").click()
        self.present("#user-form")
        self.find("#user-address").send_keys("no-at-sign")
        self.find("#user-add").click()
        self.wait(lambda b: b.find_element(By.ID, "user-address-error").text, "the address's error")
        self.assertEqual(self.find("#user-address").get_attribute("aria-invalid"), "true")
        self.find("#user-address").clear()
        self.find("#user-address").send_keys("dave@tern.test")
        self.find("#user-password").send_keys("pw-dave")
        self.find("#user-add").click()
        self.wait(lambda b: "dave@tern.test" in [td.text for td in b.find_elements(By.CSS_SELECTOR, "#users-body td.address")],
                  "dave never listed")
        self.assertEqual(self.find("#user-address-error").text, "")

        # hostile names: whether the server takes or refuses one, it is only ever text
        for name in HOSTILE:
            self.find("#user-address").clear()
            self.find("#user-address").send_keys(name)
            self.find("#user-password").clear()
            self.find("#user-password").send_keys("pw")
            self.find("#user-add").click()
            self.wait(lambda b: name in b.find_element(By.ID, "user-address-error").text
                      or name in [td.text for td in b.find_elements(By.CSS_SELECTOR, "#users-body td.address")],
                      f"{name} shown as text")
            self.no_alert()
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "main script, main [onerror]"), [])
        self.shot("users")

        # a message to a dead relay: queued, with its last error; hold, release, retry all
        msg = make_message("bob@tern.test", "carol@far.test", "console queue")
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            s.login("bob@tern.test", PASSWORD)
            self.assertEqual(s.sendmail("bob@tern.test", ["carol@far.test"], msg), {})
        self.find("#nav-queue").click()
        self.present("#queue-refresh")
        row = self.queue_row(held=False)
        self.assertIn("carol@far.test", row.text)
        self.assertIn("bob@tern.test", row.text)
        self.shot("queue")
        row.find_element(By.CSS_SELECTOR, ".act-hold").click()
        row = self.queue_row(held=True)
        self.assertIn("held", row.text)
        self.assertEqual([q["held"] for q in self.call("GET", "/api/v1/queue").json], [True])
        row.find_element(By.CSS_SELECTOR, ".act-release").click()
        self.queue_row(held=False)
        self.assertEqual([q["held"] for q in self.call("GET", "/api/v1/queue").json], [False])
        self.find("#queue-retry-all").click()
        self.wait(lambda b: "tried again" in b.find_element(By.ID, "status").text, "Clear Host Assignments")
        actions = [e["action"] for e in self.audit()]
        for a in ("session.login", "user.add", "queue.hold", "queue.release", "queue.retry"):
            self.assertIn(a, actions)

        # 360 px wide: nothing wider than the window
        self.browser.set_window_size(360, 800)
        for page, ready in (("queue", "#queue-body tr[data-id]"), ("users", "#users-body tr"), ("dashboard", "#stats .stat")):
            self.find(f"#nav-{page}").click()
            self.present(ready)
            width = self.browser.execute_script("return document.documentElement.scrollWidth")
            inner = self.browser.execute_script("return window.innerWidth")
            self.assertLessEqual(width, inner, (page, self.browser.execute_script(WIDER)))
            self.shot(f"{page}-360")
        self.browser.set_window_size(1280, 900)

        # log out: the session is over, the console asks for a login again
        self.find("#logout").click()
        self.present("#login-form")
        self.browser.get(self.base + "/admin/#/queue")
        self.present("#login-form")
        self.assertEqual(self.browser.execute_script("return document.cookie"), "")  # HttpOnly: never readable

    # -- domains, aliases, archives, editing a user ------------------------------------------------

    def test_directory_pages(self):
        self.log_in()
        # domains: add (Enter submits), search, delete after the confirmation
        self.go("domains", "#domain-form")
        self.fill("#domain-name", "example.test").send_keys(Keys.ENTER)
        self.wait(lambda b: "example.test" in self.texts("#domains-body td.key"), "the domain never listed")
        self.fill("#domain-search", "exam")
        self.wait(lambda b: [r.is_displayed() for r in b.find_elements(By.CSS_SELECTOR, "#domains-body tr")].count(True) == 1,
                  "the search kept more than the one domain")
        self.shot("domains")
        # the keyboard: Tab from the search reaches the row's button, with a visible focus ring
        self.find("#domain-search").send_keys(Keys.TAB)
        focused = self.browser.switch_to.active_element
        self.assertEqual(focused.text, "DNS records")
        self.assertNotEqual(focused.value_of_css_property("outline-style"), "none")
        # the records to publish, as `tern domain dns` prints them
        self.find('#domains-body tr[data-key="example.test"] .act-show').click()
        records = self.present("dialog[open] pre.dns-records").text
        self.assertIn("example.test. 3600 IN MX 10 ", records)
        self.assertIn('_dmarc.example.test. 3600 IN TXT "v=DMARC1; p=reject', records)
        self.shot("domain-dns")
        self.find("dialog[open] .close").click()
        self.find('#domains-body tr[data-key="example.test"] .act-delete').click()
        self.accept_confirm()
        self.wait(lambda b: "example.test" not in self.texts("#domains-body td.key"), "the domain never went")
        self.assertNotIn("example.test", [d["name"] for d in self.call("GET", "/api/v1/domains").json])

        # aliases: a refused address shows its error beside the field; add; edit the targets (PATCH)
        self.go("aliases", "#alias-form")
        self.fill("#alias-address", "info@nowhere.test")
        self.fill("#alias-targets", "bob@tern.test").send_keys(Keys.ENTER)
        self.wait(lambda b: b.find_element(By.ID, "alias-address-error").text, "no error beside the alias's address")
        self.fill("#alias-address", "info@tern.test")
        self.fill("#alias-targets", "bob@tern.test, x@far.test").send_keys(Keys.ENTER)
        self.wait(lambda b: "info@tern.test" in self.texts("#aliases-body td.key"), "the alias never listed")
        self.find('#aliases-body tr[data-key="info@tern.test"] .act-edit').click()
        self.fill("#edit-targets", "bob@tern.test y@far.test").send_keys(Keys.ENTER)
        self.wait(lambda b: "y@far.test" in b.find_element(By.CSS_SELECTOR, '#aliases-body tr[data-key="info@tern.test"]').text,
                  "the edited targets never listed")
        alias = [a for a in self.call("GET", "/api/v1/aliases").json if a["address"] == "info@tern.test"]
        self.assertEqual(alias[0]["targets"], ["bob@tern.test", "y@far.test"])
        self.shot("aliases")

        # archives: add, delete
        self.go("archives", "#archive-form")
        self.fill("#archive-address", "keep@tern.test").send_keys(Keys.ENTER)
        self.wait(lambda b: "keep@tern.test" in self.texts("#archives-body td.key"), "the archive never listed")
        self.shot("archives")
        self.find('#archives-body tr[data-key="keep@tern.test"] .act-delete').click()
        self.accept_confirm()
        self.wait(lambda b: "keep@tern.test" not in self.texts("#archives-body td.key"), "the archive never went")

        # users: edit bob's quota and role (PATCH), a server-side refusal shown beside its field
        self.go("users", "#users-body tr")
        self.find('#users-body tr[data-key="bob@tern.test"] .act-edit').click()
        self.fill("#edit-quota", "10M")
        self.find("#edit-admin").click()
        self.find("#edit-user-save").click()
        self.wait(lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the edit dialog stayed open")
        bob = self.call("GET", "/api/v1/users/bob%40tern.test")
        self.assertEqual((bob.status, bob.json["quota"], bob.json["admin"]), (200, 10 * 1024 * 1024, True), bob)
        row = self.find('#users-body tr[data-key="bob@tern.test"]')
        self.assertIn("administrator", row.text)
        self.assertIn("10 MiB", row.text)
        self.find('#users-body tr[data-key="bob@tern.test"] .act-edit').click()
        self.fill("#edit-quota", "lots")
        self.find("#edit-quota").send_keys(Keys.ENTER)
        self.wait(lambda b: b.find_element(By.ID, "edit-quota-error").text, "no error beside the quota")
        self.shot("user-edit")
        self.find("dialog .close").click()
        self.no_alert()

    # -- the queue's filters, selection and source -------------------------------------------------

    def test_queue_tools(self):
        self.log_in()
        for subject, rcpt in (("first", "carol@far.test"), ("second", "dan@other.test")):
            self.send_remote(subject, rcpt)
        self.wait_queued(2)
        self.go("queue", "#queue-body tr[data-id]")
        self.wait(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 2, "two queued messages")
        self.find("#nav-users").click()
        self.present("#users-body tr")
        shift = self.layout_shift("#/queue", lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 2)
        self.assertLess(shift, 0.01)
        # the domain filter keeps one
        self.fill("#queue-domain", "other.test").send_keys(Keys.ENTER)
        self.wait(lambda b: [r.text for r in b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")] and
                  all("dan@other.test" in r.text for r in b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) and
                  len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 1, "the domain filter")
        self.find("#queue-domain").clear()
        self.find("#queue-apply").click()
        self.wait(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 2, "the filter undone")
        # select both and hold them; the state filter then lists them as held
        self.find("#queue-all").click()
        self.assertEqual(self.find("#queue-selected").text, "2 messages selected")
        self.find("#queue-bulk .bulk-hold").click()
        self.wait(lambda b: [r.get_attribute("data-held") for r in b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")]
                  == ["true", "true"], "both held")
        self.assertEqual([q["held"] for q in self.call("GET", "/api/v1/queue").json], [True, True])
        Select(self.find("#queue-state")).select_by_value("held")
        self.find("#queue-apply").click()
        self.wait(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 2, "the held filter")
        self.shot("queue-held")
        self.find("#queue-bulk .bulk-release").click()  # the two stay selected across the reload
        self.wait(lambda b: "No message" in b.find_element(By.ID, "queue-body").text, "released: none held")
        self.assertEqual([q["held"] for q in self.call("GET", "/api/v1/queue").json], [False, False])
        # a message's headers and source
        Select(self.find("#queue-state")).select_by_value("")
        self.find("#queue-apply").click()
        self.wait(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 2, "all again")
        self.find("#queue-body tr[data-id] .act-show").click()
        headers = self.present("dialog[open] pre.headers")
        self.assertIn("Subject: first", headers.text)
        self.assertNotIn("RCPT:", headers.text)
        self.shot("queue-source")
        self.find("dialog[open] .close").click()
        # bounce one, with the confirmation
        self.find('#queue-body tr[data-id] .act-bounce').click()
        self.accept_confirm()
        # The page reloads its list right after the bounce, when the DSN to the (local) sender may still
        # be in the queue for a moment; once the queue holds the other message alone, a reload shows one.
        deadline = time.monotonic() + WAIT
        while len(self.call("GET", "/api/v1/queue").json) != 1:
            self.assertLess(time.monotonic(), deadline, "the bounced message and its DSN never left the queue")
            time.sleep(0.05)
        self.find("#queue-apply").click()
        self.wait(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue-body tr[data-id]")) == 1, "bounced: one left")

    # -- quarantine and lost+found -----------------------------------------------------------------

    def test_quarantine_and_lost_found(self):
        head = make_message("news@shop.test", "bob@tern.test", "held back", b"",
                            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n")
        msg = head + (b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
                      b'Content-Disposition: attachment; filename="run.exe"\r\n\r\nMZ\r\n--b--\r\n')
        with smtplib.SMTP(HOST, self.t.ports["smtp"], timeout=WAIT) as s:
            self.assertEqual(s.sendmail("news@shop.test", ["bob@tern.test"], msg), {})
        lost = os.path.join(self.t.data, "mail", "lost+found")
        os.makedirs(lost, exist_ok=True)
        with open(os.path.join(lost, "found-1"), "wb") as f:
            f.write(b"FROM: news@shop.test\nRCPT: bob@tern.test\n" + make_message("news@shop.test", "bob@tern.test", "found again"))
        with open(os.path.join(lost, "found-1.why"), "w") as f:
            f.write(f"unreadable envelope\nfrom: {self.t.data}/mail/outbox/found-1\nwhen: Fri, 04 Dec 2026 12:00:00 +0000\n")

        self.log_in()
        row = self.go("quarantine", "#quarantine-body tr[data-id]")
        self.assertIn("run.exe", row.text)
        row.find_element(By.CSS_SELECTOR, ".act-show").click()
        self.assertIn("Subject: held back", self.present("dialog[open] pre.headers").text)
        self.shot("quarantine-source")
        self.find("dialog[open] .close").click()
        self.shot("quarantine")
        self.find("#quarantine-body tr[data-id] .act-release").click()
        self.accept_confirm()
        self.wait(lambda b: "Nothing is quarantined" in b.find_element(By.ID, "quarantine-body").text, "released")
        self.t.wait_for_messages("bob@tern.test", 1)

        row = self.go("lost-found", "#lost-body tr[data-id]")
        self.assertIn("found-1", row.text)
        self.assertIn("unreadable envelope", row.text)
        row.find_element(By.CSS_SELECTOR, ".act-show").click()
        self.assertIn("Subject: found again", self.present("dialog[open] pre.headers").text)
        self.find("dialog[open] .close").click()
        self.shot("lost-found")
        self.find("#lost-body tr[data-id] .act-requeue").click()
        self.wait(lambda b: "Requeued found-1" in b.find_element(By.ID, "status").text, "requeued")
        self.t.wait_for_messages("bob@tern.test", 2)

    # -- the dashboard's graph and the live log ----------------------------------------------------

    def test_dashboard_graph_and_live_log(self):
        self.log_in()
        self.find("#nav-log").click()
        self.wait(lambda b: b.find_element(By.ID, "log-state").text == "live", "the live log never connected")
        self.send_remote("watched", "watch@far.test")
        qid = self.wait_queued(1)[0]["id"]
        self.wait(lambda b: any(qid in t or "watch@far.test" in t for t in self.texts("#log-lines .line .text")),
                  "no line of the message in the live log")
        self.shot("log")
        # paused: new lines wait in the buffer, and come on resume
        self.find("#log-pause").click()
        shown = len(self.texts("#log-lines .line"))
        self.call("POST", f"/api/v1/queue/{qid}/hold")
        self.wait(lambda b: "buffered" in b.find_element(By.ID, "log-state").text
                  and not b.find_element(By.ID, "log-state").text.startswith("paused, 0 "), "nothing buffered while paused")
        self.assertEqual(len(self.texts("#log-lines .line")), shown)
        self.find("#log-pause").click()
        self.wait(lambda b: len(self.texts("#log-lines .line")) > shown, "the buffer never shown")
        # the filter by queue id keeps only its lines
        self.fill("#log-q", qid).send_keys(Keys.ENTER)
        self.wait(lambda b: self.texts("#log-lines .line .text") and
                  all(qid in t for t in self.texts("#log-lines .line .text")), "the queue id filter")

        self.find("#nav-dashboard").click()
        self.wait(lambda b: int(b.find_element(By.CSS_SELECTOR, '.chart[data-series="received"]').get_attribute("data-total") or 0) >= 1,
                  "the received message never counted in the graph")
        self.assertTrue(self.browser.find_elements(By.CSS_SELECTOR, '.chart[data-series="received"] rect[height]:not([height="0.00"])'))
        self.shot("dashboard-graphs")
        # nothing moves when the numbers arrive: the page is laid out before (CLS 0.1 is "good" for Google)
        self.find("#nav-users").click()
        self.present("#users-body tr")
        shift = self.layout_shift("#/dashboard", lambda b: b.find_element(By.CSS_SELECTOR, '.chart[data-series="received"]')
                                  .get_attribute("data-total"))
        self.assertLess(shift, 0.01)
        for r in ("day", "month"):
            self.find(f"#range-{r}").click()
            self.wait(lambda b: int(b.find_element(By.CSS_SELECTOR, '.chart[data-series="received"]').get_attribute("data-total") or 0) >= 1,
                      f"the {r} range")
        self.browser.set_window_size(360, 800)
        for page, ready in (("dashboard", ".chart rect"), ("log", "#log-lines .line"), ("domains", "#domains-body tr"),
                            ("aliases", "#aliases-body tr"), ("archives", "#archives-body tr"),
                            ("quarantine", "#quarantine-body tr"), ("lost-found", "#lost-body tr")):
            self.go(page, ready)
            width = self.browser.execute_script("return document.documentElement.scrollWidth")
            self.assertLessEqual(width, self.browser.execute_script("return window.innerWidth"),
                                 (page, self.browser.execute_script(WIDER)))
            self.shot(f"{page}-360")


if __name__ == "__main__":
    main()
