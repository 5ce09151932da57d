#!/usr/bin/python3
"""Open Matomo's dashboard in headless chromium, logged in as a user, and keep a screenshot.

    heroes-matomoshot --name matomo.lab --address 172.30.0.41 --ca ca.pem --user heroes \\
        --out dashboard.png < password

Matomo lets no superuser log in by URL (``logme`` refuses them), so the browser logs in as a
person does, through Matomo's login form, driven over the DevTools protocol (the password from
stdin, never on a command line), then opens the Visitors overview.
Prints the page's text as JSON ({"text": ...}) once it shows "<n> visits", for the caller to
compare with the reporting API; exits 1 when it never does. Runs on the lab's client (Debian's
chromium and python3-websocket).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

PORT = 9223
OVERVIEW = ("index.php?module=CoreHome&action=index&idSite=1&period=day&date=today"
            "#?idSite=1&period=day&date=today&category=General_Visitors&subcategory=General_Overview")


class DevTools:
    """One page of chromium, driven over its DevTools websocket."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=120)
        self.next = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next += 1
        self.ws.send(json.dumps({"id": self.next, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))


def page_socket(deadline: float) -> str:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json/list", timeout=2) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("chromium's DevTools did not answer")


def text_of(page: DevTools) -> str:
    result = page.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
    return str(result.get("result", {}).get("value", ""))


def wait_for(page: DevTools, pattern: str, seconds: float) -> str:
    """The page's text once it matches pattern; RuntimeError with what it said otherwise."""
    text, deadline = "", time.time() + seconds
    while time.time() < deadline:
        time.sleep(1)
        text = text_of(page)
        if re.search(pattern, text):
            return text
    raise RuntimeError(f"the page never showed {pattern!r}; it said: {text[:500]!r}")


def shoot(args: argparse.Namespace, password: str, profile: str) -> str:
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--hide-scrollbars", f"--user-data-dir={profile}", f"--remote-debugging-port={PORT}",
         f"--host-resolver-rules=MAP {args.name} {args.address}", f"--window-size={args.width},{args.height}",
         "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = DevTools(page_socket(time.time() + 60))
        page.call("Emulation.setDeviceMetricsOverride", width=args.width, height=args.height,
                  deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=f"https://{args.name}/index.php?module=Login")
        wait_for(page, "Sign in", 60)
        fill = ("document.getElementById('login_form_login').value = " + json.dumps(args.user) + "; "
                "document.getElementById('login_form_password').value = " + json.dumps(password) + "; "
                "document.getElementById('login_form_submit').click(); true")
        page.call("Runtime.evaluate", expression=fill)
        time.sleep(3)
        # the navigation may wait behind the login's own page (seen: 60 s in CI)
        page.call("Page.navigate", url=f"https://{args.name}/{OVERVIEW}")
        text = wait_for(page, r"\b\d[\d,.]* visits\b", args.timeout)
        time.sleep(3)  # the graph draws after the numbers
        shot = page.call("Page.captureScreenshot", format="png")
        Path(args.out).write_bytes(base64.b64decode(shot["data"]))
        return text
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="Matomo's host name")
    parser.add_argument("--address", required=True, help="the address the name is resolved to")
    parser.add_argument("--user", required=True)
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args(argv)
    password = sys.stdin.read().strip()
    with tempfile.TemporaryDirectory() as work:
        try:
            text = shoot(args, password, str(Path(work) / "profile"))
        except (RuntimeError, OSError) as exc:
            print(f"heroes-matomoshot: {exc}", file=sys.stderr)
            return 1
    print(json.dumps({"text": text}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
