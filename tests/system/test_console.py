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
import unittest

from harness import HOST, PASSWORD, TERN_BIN, WAIT, main, make_message
from test_http import ADMIN, HttpCase

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
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


if __name__ == "__main__":
    main()
