"""Debian's headless Chromium, driven by Playwright, for the dashboard tests.

Playwright's own browser builds are never downloaded: it launches /usr/bin/chromium
(`apt-get install chromium`) with the flags below, which keep that browser from reaching
out on its own (updates, sync, first-run pages). Screenshots go to test-artifacts/
(git-ignored) for a human look.

    with chromium() as browser:
        page = browser.new_page()
        page.goto("http://127.0.0.1:8000/login")
        page.fill("#token", "secret")
        submit(page, "form[action='/login']")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def chromium_available() -> bool:
    return CHROMIUM.exists()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def submit(page: Page, form: str) -> None:
    """Submit `form` with its own submit button, as a person would (the browser checks the
    fields first), and wait for the page that answers."""
    with page.expect_navigation():
        page.locator(f"{form} [type=submit]").first.click()


def follow(page: Page, selector: str) -> None:
    """Click a link that leads to another page and wait for it."""
    with page.expect_navigation():
        page.click(selector)


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A PNG of the page (its whole height by default) in test-artifacts/."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# The colours a person sees: an element's text colour and the first opaque background
# behind it (its own or an ancestor's), with their WCAG contrast ratio.
_COLOURS_JS = """
(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  let back = el, bg = [0, 0, 0, 0];
  while (back) {
    const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) { bg = c; break; }
    back = back.parentElement;
  }
  if (!back) bg = [255, 255, 255];
  const fg = rgb(getComputedStyle(el).color);
  const lum = ([r, g, b]) => {
    const lin = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return { text: lum(fg), background: lum(bg), contrast: (hi + 0.05) / (lo + 0.05) };
}
"""


def colours(page: Page, selector: str) -> dict[str, float]:
    """Relative luminance (0 black to 1 white) of the text and background of the first
    element matching `selector`, and their contrast ratio (WCAG AA wants 4.5)."""
    found = page.evaluate(_COLOURS_JS, selector)
    if found is None:
        raise LookupError(f"nothing matches {selector!r} on {page.url}")
    return {key: float(value) for key, value in found.items()}
