"""t_browser_lib.py -- headless Chromium for the tests of the debtor's pages
(not a test itself: not executable, imported by t_gateway_browser*.py).

Debian's chromium, chromium-driver and python3-selenium (`make deps`). The
importing test runs under /usr/bin/python3, which has python3-selenium (a
python3 earlier in PATH may not): importing this module re-executes the
test there when selenium is not importable. skip() exits 77 naming what is
missing; require() checks the browser and its driver."""
import datetime
import os
import shutil
import sys
import time

DEBIAN_PY = "/usr/bin/python3"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def skip(why):
    print("SKIP: %s (make deps installs chromium, chromium-driver and python3-selenium)" % why)
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PY) and os.access(DEBIAN_PY, os.X_OK):
        os.execv(DEBIAN_PY, [DEBIAN_PY] + sys.argv)
    skip("python3-selenium is not importable by %s" % sys.executable)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402


def require():
    for path, what in ((CHROMIUM, "Chromium"), (CHROMEDRIVER, "chromedriver")):
        if not os.access(path, os.X_OK):
            skip("%s (%s) is not installed" % (what, path))


def en_gb_date(iso):
    """An ISO date as the en-GB pages write it: 9 April 2026."""
    d = datetime.date.fromisoformat(iso)
    return "%d %s %d" % (d.day, d.strftime("%B"), d.year)


class Browser:
    """Headless Chromium driven by chromedriver, phone-sized; screenshots
    into outdir."""

    def __init__(self, outdir):
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=412,915"):
            o.add_argument(a)
        self.outdir, self.shots = outdir, []
        try:
            self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        except WebDriverException as e:
            C.fail("headless Chromium did not start: %s" % e)
        self.d.set_page_load_timeout(30)

    def one(self, css):
        els = self.d.find_elements(By.CSS_SELECTOR, css)
        if len(els) != 1:
            self.shot("failed.png")
            C.fail("%s: %d element(s) %s, want 1; page source:\n%s"
                   % (self.d.current_url[:60], len(els), css, self.d.page_source[:3000]))
        return els[0]

    def text(self, css):
        return self.one(css).text.strip()

    def wait(self, css, timeout=20):
        deadline = time.time() + timeout
        while not self.d.find_elements(By.CSS_SELECTOR, css):
            if time.time() > deadline:
                self.one(css)  # fails with the page source
            time.sleep(0.1)
        return self.one(css)

    def shot(self, name):
        path = os.path.join(self.outdir, name)
        # the whole page, not only the phone-sized viewport
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(412, max(915, min(int(height) + 40, 4000)))
        if not self.d.save_screenshot(path):
            C.fail("no screenshot %s" % path)
        self.d.set_window_size(412, 915)
        self.shots.append(path)
        print("screenshot " + path)

    def quit(self):
        try:
            self.d.quit()
        except Exception:  # noqa: BLE001 -- the browser is gone already
            pass


def keep_output(st, out, name, ok):
    """At a browser test's end, before st.cleanup(): its screenshots (out)
    copied to $ARREARS_IT_OUT/<name>/ when that is set, and the temp dir
    kept when the test failed."""
    dest = os.environ.get("ARREARS_IT_OUT")
    if dest:
        dest = os.path.join(dest, name)
        shutil.copytree(out, dest, dirs_exist_ok=True)
        print("screenshots copied to %s" % dest)
    if not ok:
        os.environ["ARREARS_IT_KEEP"] = "1"  # keep the logs and screenshots of a failure
