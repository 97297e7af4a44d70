"""Helpers for the tests that drive the server's own web client in headless
Chromium (test_web_client_chromium.py, test_web_client_a11y_chromium.py)
and Firefox (test_web_client_firefox.py): the page's state for failure
messages, what a <video> shows (mean colour of a downscaled frame, sampled
twice to see it move), clicks, axe-core runs and screenshots at device sizes.
They take a chromium.Page or a firefox.FirefoxPage (page.evaluate and
page.wait_for alike); device sizes, screenshots and key presses go through
DevTools in Chromium and WebDriver BiDi in Firefox; the others (tab_order,
press, drag_and_drop) are Chromium's only.
"""

from __future__ import annotations

import asyncio
import base64
import glob
import json
import os
import time

from chromium import Page

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

PAGE_STATE = ("({screen: document.body.dataset.screen, status: document.getElementById('status').textContent,"
              " message: document.getElementById('message').textContent,"
              " note: document.getElementById('device-note').textContent,"
              " live: document.getElementById('live').textContent,"
              " joined: window.cohort && cohort.state.joined, room: window.cohort && cohort.state.room})")

# The mean [r, g, b] of the element's current frame drawn at 32x24, or null
# before it has one. Drawn from the <video> itself: what the page shows.
VIDEO_RGB = """((selector) => {
  const v = document.querySelector(selector);
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas'); c.width = 32; c.height = 24;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0, 32, 24);
  const d = g.getImageData(0, 0, 32, 24).data; const m = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }
  return m.map((x) => x / (d.length / 4));
})"""


async def video_rgb(page: Page, selector: str) -> list[float] | None:
    return await page.evaluate(f"{VIDEO_RGB}({json.dumps(selector)})")


async def wait(page: Page, js: str, what: str, timeout: float = 10.0, interval: float = 0.1):
    return await page.wait_for(js, what, timeout, PAGE_STATE, interval)


async def click(page: Page, selector: str, timeout: float = 5.0) -> None:
    """Clicks the element once it exists, is enabled and is shown."""
    js = f"""(() => {{
        const el = document.querySelector({json.dumps(selector)});
        if (!el || el.disabled || !el.offsetParent) return false;
        el.click();
        return true;
      }})()"""
    await wait(page, js, f"click {selector} (missing, disabled or hidden)", timeout)


def visible(selector: str) -> str:
    """JS: whether ``selector`` exists and is rendered."""
    return f"(() => {{ const el = document.querySelector({json.dumps(selector)}); return !!el && !!el.offsetParent; }})()"


# ---------------------------------------------------------------------------
# accessibility: axe-core from the axe-selenium-python package

def axe_source() -> str:
    """axe.min.js as shipped in the axe-selenium-python wheel (Tests/e2e/requirements.txt)."""
    import axe_selenium_python  # noqa: PLC0415 - only the file's location is used
    here = os.path.dirname(axe_selenium_python.__file__)
    [path] = glob.glob(os.path.join(here, "node_modules", "axe-core", "axe.min.js"))
    with open(path) as f:
        return f.read()


async def axe_violations(page: Page) -> list[dict]:
    """Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is and
    returns its violations (axe-core 3.x: its WCAG 2.0 A/AA and best-practice rules) as [{id, impact, nodes: [selector…]}]."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source() + ";true", await_promise=False)
    result = await page.evaluate("""axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice']}})
        .then((r) => (window.axeLast = r, r).violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                              nodes: v.nodes.map((n) => n.target.join(' '))})))""", timeout=30)
    return result


# ---------------------------------------------------------------------------
# device sizes and screenshots

SIZES = {"desktop": (1280, 800, 1, False), "tablet": (768, 1024, 2, True), "phone": (360, 740, 3, True)}


async def emulate(page: Page, size: str) -> None:
    """The viewport of ``size``; in Chromium also mobile and touch (BiDi
    has no touch emulation: in Firefox only size and pixel ratio)."""
    width, height, scale, mobile = SIZES[size]
    if isinstance(page, Page):
        await page.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile})
        await page.send("Emulation.setTouchEmulationEnabled", {"enabled": mobile})
    else:
        await page.set_viewport(width, height, scale)
    await asyncio.sleep(0.3)  # one layout and a few frames at the new size


async def screenshot(page: Page, name: str, top: bool = True) -> str:
    """Saves a PNG of the viewport, scrolled to the top (what a person sees
    first) unless ``top`` is false, under Tests/e2e/results/ (git-ignored)."""
    os.makedirs(RESULTS, exist_ok=True)
    if top:
        await page.evaluate("scrollTo(0, 0), true")
    if isinstance(page, Page):
        png = base64.b64decode((await page.send("Page.captureScreenshot", {"format": "png"}, timeout=20))["data"])
    else:
        png = await page.screenshot_png()
    path = os.path.join(RESULTS, f"{name}.png")
    with open(path, "wb") as f:
        f.write(png)
    return path


# Layout problems on the current screen: horizontal overflow, visible controls
# outside the viewport's width, and (on touch sizes) controls smaller than
# 44x44 CSS px (WCAG 2.5.5). Controls are buttons, inputs, selects.
LAYOUT = """(() => {
  const width = document.documentElement.clientWidth, touch = matchMedia('(pointer: coarse)').matches || innerWidth <= 800;
  const out = {width, scrollWidth: document.documentElement.scrollWidth, outside: [], small: []};
  for (const el of document.querySelectorAll('button, input, select, meter')) {
    if (!el.offsetParent) continue;
    const r = el.getBoundingClientRect();
    const name = el.id || el.getAttribute('aria-label') || el.textContent.trim().slice(0, 30);
    if (r.left < -0.5 || r.right > width + 0.5) out.outside.push([name, Math.round(r.left), Math.round(r.right)]);
    if (touch && el.type !== 'checkbox' && el.tagName !== 'METER' && (r.height < 43.5 || r.width < 43.5)) out.small.push([name, Math.round(r.width), Math.round(r.height)]);
  }
  return out;
})()"""


async def layout_problems(page: Page) -> dict:
    report = await page.evaluate(LAYOUT)
    problems = {}
    if report["scrollWidth"] > report["width"]:
        problems["horizontal overflow"] = (report["scrollWidth"], report["width"])
    if report["outside"]:
        problems["controls outside the viewport"] = report["outside"]
    if report["small"]:
        problems["touch targets under 44 px"] = report["small"]
    return problems


async def tab_order(page: Page, presses: int) -> list[str]:
    """Presses Tab ``presses`` times (real key events through DevTools) and
    returns, per press, the focused element's id (or tag and text), with
    whether a focus outline is drawn ('+' suffix) or not ('-')."""
    seen = []
    for _ in range(presses):
        for kind in ("rawKeyDown", "keyUp"):
            await page.send("Input.dispatchKeyEvent", {"type": kind, "key": "Tab", "code": "Tab",
                                                       "windowsVirtualKeyCode": 9, "nativeVirtualKeyCode": 9})
        seen.append(await page.evaluate("""(() => { const a = document.activeElement; if (!a || a === document.body) return 'body';
            const s = getComputedStyle(a); const drawn = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
            return (a.id || (a.tagName.toLowerCase() + ':' + (a.getAttribute('aria-label') || a.textContent.trim().slice(0, 20)))) + (drawn ? '+' : '-'); })()"""))
    return seen


async def press(page: Page, key: str, code: str, vk: int) -> None:
    """One real key press (down, char for Enter/Space, up) on the focused element."""
    await page.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk})
    if key in ("Enter", " "):
        await page.send("Input.dispatchKeyEvent", {"type": "char", "text": "\r" if key == "Enter" else " "})
    await page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk})


# DevTools' code and virtual key code of each key ``press_key`` presses.
KEY_CODES = {"Enter": ("Enter", 13), "Escape": ("Escape", 27), "Tab": ("Tab", 9), " ": ("Space", 32),
             "ArrowLeft": ("ArrowLeft", 37), "ArrowUp": ("ArrowUp", 38), "ArrowRight": ("ArrowRight", 39),
             "ArrowDown": ("ArrowDown", 40)}


async def press_key(page: Page, key: str) -> None:
    """One real press of ``key`` (its DOM ``KeyboardEvent.key`` name) on the
    focused element: DevTools key events in Chromium, BiDi key actions in Firefox."""
    if isinstance(page, Page):
        await press(page, key, *KEY_CODES[key])
    else:
        await page.press_key(key)


async def drag_and_drop(page: Page, source: str, target: str, timeout: float = 3.0) -> None:
    """Drags ``source`` onto ``target`` with the mouse, as a person would:
    a real press on the source, moves, and the browser's own drag and drop
    (dragstart, dragenter, dragover, drop, dragend reach the page's
    handlers). Headless Chromium has no OS drag loop, so DevTools intercepts
    the drag once the mouse has started it (`Input.setInterceptDrags`) and
    the test hands its data back at the target (`Input.dispatchDragEvent`)."""
    points = await page.evaluate(f"""(() => {{
        const s = document.querySelector({json.dumps(source)}), t = document.querySelector({json.dumps(target)});
        if (!s || !t) return null;
        const inView = (r) => r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
        t.scrollIntoView({{block: 'center'}});
        if (!inView(s.getBoundingClientRect())) s.scrollIntoView({{block: 'nearest'}});
        const a = s.getBoundingClientRect(), b = t.getBoundingClientRect();
        if (!inView(a) || !inView(b)) return 'not both in view';
        return [a.left + Math.min(30, a.width / 2), a.top + Math.min(15, a.height / 2), b.left + b.width / 2, b.top + Math.min(20, b.height / 2)];
      }})()""")
    assert isinstance(points, list), f"drag {source} -> {target}: {points or 'missing'}"
    sx, sy, tx, ty = points
    page.drag_data = None
    await page.send("Input.setInterceptDrags", {"enabled": True})
    try:
        mouse = lambda kind, x, y, **kw: page.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", **kw})  # noqa: E731
        await mouse("mouseMoved", sx, sy, buttons=0)
        await mouse("mousePressed", sx, sy, buttons=1, clickCount=1)
        for i in range(1, 6):
            await mouse("mouseMoved", sx + (tx - sx) * i / 5, sy + (ty - sy) * i / 5, buttons=1)
            if page.drag_data is not None:
                break
        deadline = time.monotonic() + timeout
        while page.drag_data is None:
            assert time.monotonic() < deadline, f"drag {source}: the browser started no drag"
            await asyncio.sleep(0.05)
        data = page.drag_data
        for kind in ("dragEnter", "dragOver", "drop"):
            await page.send("Input.dispatchDragEvent", {"type": kind, "x": tx, "y": ty, "data": data})
        await mouse("mouseReleased", tx, ty, buttons=0, clickCount=1)
    finally:
        await page.send("Input.setInterceptDrags", {"enabled": False})


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
