"""Headless Chromium for the report tests: load a file, return its DOM and its console errors.

Chromium comes from Debian's packages through ``scripts/install-chromium.sh`` (idempotent). The
page's DOM after its scripts ran comes from ``--dump-dom``; script errors from the console lines
Chromium logs with ``--enable-logging=stderr``. A tiny tree built with ``html.parser`` lets the
tests read the numbers the browser shows by element id / data attribute.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install-chromium.sh"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
)
CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*\"(?P<msg>.*)\", source: (?P<src>.*)$", re.M)


def chromium() -> str:
    """The browser's path, installing it first when missing."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    out = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"could not install Chromium: {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


@dataclass
class Page:
    dom: str
    console_errors: list[str]

    def tree(self) -> "Node":
        return parse(self.dom)


def load(browser: str, page: Path, profile: Path, *, screenshot: Path | None = None) -> Page:
    """Open ``page`` offline in headless Chromium and return the DOM after its scripts ran."""
    args = [browser, *FLAGS, f"--user-data-dir={profile}"]
    args += [f"--screenshot={screenshot}", "--window-size=1280,2400"] if screenshot else ["--dump-dom"]
    out = subprocess.run([*args, page.resolve().as_uri()], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"chromium exited {out.returncode}: {out.stderr[-2000:]}")
    errors = [m["msg"] for m in CONSOLE.finditer(out.stderr) if "error" in m["msg"].lower() or "uncaught" in m["msg"].lower()]
    return Page(out.stdout, errors)


# --- a minimal DOM -------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list["Node | str"] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"[\s\u202f]+", " ", "".join(parts)).strip()

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str | bool) -> list["Node"]:
        """Descendants with this tag and attributes (``True`` = present; ``_`` in names becomes ``-``)."""
        wanted = {k.replace("_", "-").rstrip("-"): v for k, v in attrs.items()}
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            ok = True
            for k, v in wanted.items():
                if k == "class":
                    ok = ok and v in (node.attrs.get("class") or "").split()
                elif v is True:
                    ok = ok and k in node.attrs
                else:
                    ok = ok and node.attrs.get(k) == v
            if ok:
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str | bool) -> "Node":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root
