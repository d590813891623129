"""`make bench-embed`: what the embed code costs a site, in headless Chromium against the
production server (`reflex run --env prod`, as `make run` serves it).

Prints, each beside its baseline in the same run:
- the size of /embed.js as served (gzipped) and as source;
- before any click, on a shop's page that pastes the snippet against the same page without it:
  main-thread time (Chromium's own ScriptDuration + TaskDuration over the page's life, and long
  tasks), and the bytes transferred from the app (cold cache, and warm: a revalidation);
- click → the chat ready to type (the consent form's 이름 field usable), cold cache (a new
  browser context each time) and warm (the same context, the shop's page loaded again), against
  opening /widget directly in the same way.

    python -m bench.embed [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.helpers import go_online, login
from tests.support import CHROMIUM_ARGS, free_port, prepare_database, start_server, stop_server

SHOP = """<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>쇼핑몰</title></head>
<body><h1>우리 쇼핑몰</h1><p>상품 목록</p>{snippet}</body></html>"""


def _shop(app: str) -> tuple[ThreadingHTTPServer, str]:
    pages = {
        "/with": SHOP.format(snippet=f'<script async src="{app}/embed.js" data-lang="ko"></script>').encode(),
        "/without": SHOP.format(snippet="").encode(),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://localhost:{port}"  # another site than the app's 127.0.0.1


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{statistics.median(values):7.1f} / {p95:7.1f}"


def _main_thread(page, url: str) -> tuple[float, float, int, int]:
    """(ScriptDuration ms, TaskDuration ms, long tasks, bytes from the app) of loading `url` and
    letting it settle, before any click. Bytes: headers and body as transferred (a response from
    the cache counts 0)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.add_init_script("""window.__longTasks = 0;
      new PerformanceObserver((l) => { window.__longTasks += l.getEntries().length; }).observe({type: "longtask", buffered: true});""")
    transferred = []

    def count(request):
        if request.url.startswith(APP[0]):
            response = request.response()
            if response is not None and not response.from_service_worker:
                sizes = request.sizes()
                transferred.append(sizes["responseHeadersSize"] + max(0, sizes["responseBodySize"]))

    page.on("requestfinished", count)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1000)  # the async script has run and the page is idle
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    page.remove_listener("requestfinished", count)
    return metrics["ScriptDuration"] * 1000, metrics["TaskDuration"] * 1000, page.evaluate("window.__longTasks"), sum(transferred)


APP: list[str] = [""]


def _ready(frame_or_page) -> None:
    frame_or_page.get_by_label("이름 (선택)").wait_for(state="visible", timeout=30_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="oc-embed-"))
    db_url = f"sqlite:///{tmp / 'embed.db'}"
    prepare_database(db_url)
    srv = start_server(db_url, free_port(), tmp / "server.log")
    app = srv.url
    APP[0] = app
    shop, shop_url = _shop(app)
    try:
        with urllib.request.urlopen(urllib.request.Request(app + "/embed.js", headers={"Accept-Encoding": "gzip"})) as r:
            gz = len(r.read())
        with urllib.request.urlopen(app + "/embed.js") as r:
            raw = len(r.read())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS, headless=True)
            agent_ctx = browser.new_context(locale="ko-KR")
            agent = agent_ctx.new_page()
            login(agent, app, "agent1@example.com")
            go_online(agent)  # someone Online: the chat opens to the consent form

            print(f"machine: {__import__('os').cpu_count()} cores; {args.runs} runs each (p50 / p95)")
            print(f"\n  /embed.js: {gz:,} bytes gzipped ({raw:,} bytes of source); target ≤ 5 KB gzipped")

            before = {"with": [], "without": []}
            for _ in range(args.runs):
                for kind in ("without", "with"):
                    ctx = browser.new_context(locale="ko-KR")
                    before[kind].append(_main_thread(ctx.new_page(), f"{shop_url}/{kind}"))
                    ctx.close()
            # Warm: the same context loads the shop's page a second time (a revalidation).
            ctx = browser.new_context(locale="ko-KR")
            page = ctx.new_page()
            _main_thread(page, f"{shop_url}/with")
            warm_bytes = _main_thread(page, f"{shop_url}/with?again")[3]
            ctx.close()
            script = [w[0] - wo[0] for w, wo in zip(before["with"], before["without"])]
            task = [w[1] - wo[1] for w, wo in zip(before["with"], before["without"])]
            print("\n  before any click (a shop's page, cold cache)   script ms          main-thread tasks ms   long tasks   bytes from the app")
            for kind, label in (("without", "without the snippet (baseline)"), ("with", "with the snippet")):
                rows = before[kind]
                print(f"    {label:42} {_ms([r[0] for r in rows])}   {_ms([r[1] for r in rows])}   "
                      f"{max(r[2] for r in rows):>10}   {max(r[3] for r in rows):>10,}")
            print(f"    {'the snippet (with − without, per run)':42} {_ms(script)}   {_ms(task)}"
                  f"                (warm cache: {warm_bytes:,} bytes)")
            print("    targets: ≤ 20 ms of main thread, ≤ 10 KB before the click")

            results = {"embed cold": [], "embed warm": [], "direct cold": [], "direct warm": []}
            for _ in range(args.runs):
                ctx = browser.new_context(locale="ko-KR")
                page = ctx.new_page()
                for temperature in ("cold", "warm"):
                    page.goto(f"{shop_url}/with?{temperature}", wait_until="load")
                    launcher = page.get_by_role("button", name="채팅", exact=True)
                    launcher.wait_for()
                    started = time.perf_counter()
                    launcher.click()
                    _ready(page.frame_locator("iframe[title='채팅']"))
                    results[f"embed {temperature}"].append((time.perf_counter() - started) * 1000)
                    launcher.click()  # closed again, so the next load does not reopen it
                ctx.close()
                ctx = browser.new_context(locale="ko-KR")
                page = ctx.new_page()
                for temperature in ("cold", "warm"):
                    started = time.perf_counter()
                    page.goto(f"{app}/widget?lang=ko&{temperature}")
                    _ready(page)
                    results[f"direct {temperature}"].append((time.perf_counter() - started) * 1000)
                ctx.close()
            print("\n  click → ready to type (ms)          cold cache          warm cache")
            print(f"    embed.js launcher           {_ms(results['embed cold'])}   {_ms(results['embed warm'])}")
            print(f"    /widget opened directly     {_ms(results['direct cold'])}   {_ms(results['direct warm'])}")
            browser.close()
    finally:
        shop.shutdown()
        stop_server(srv.proc)


if __name__ == "__main__":
    main()
