"""What a reader of the catalogue pages waits for, in real Chromium (issue 15): a node with the
demo records (seed_demo, SQLite in a temporary DATA_DIR) served by `manage.py runserver`.

    python bench/catalogue_reader.py              # 10 facet changes per way of applying them

Prints, at 1280 px and at 390 px, how far down the page the first result starts; then, for a
facet change, the bytes the browser receives and the time until the results show it, applied at
once (catalogue.js fetches /results/ and swaps it in) against a full page load of the same
address (what the 'Apply filters' button does without JavaScript). Medians over the runs.
Chromium: /usr/bin/chromium (bash .ci/install-browser.sh).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_node(data_dir: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATA_DIR": data_dir, "NODE_ROLE": "agency", "NODE_AGENCY": "EMA"}
    env.pop("DATABASE_URL", None)
    manage = [PYTHON, str(ROOT / "manage.py")]
    for command in (["migrate", "-v0"], ["seed_demo"]):
        subprocess.run([*manage, *command], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _attempt in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the node did not answer within 20 s")


def first_result_top(browser, base: str, width: int) -> float:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(base + "/")
    top = page.locator("ol.results > li").first.bounding_box()["y"]
    page.close()
    return top


def facet_values(page) -> list[str]:
    boxes = page.locator("#facet-groups input[name='stage']")
    return [boxes.nth(i).get_attribute("value") for i in range(boxes.count())]


def apply_at_once(browser, base: str, runs: int) -> tuple[list[float], list[int]]:
    """Tick or untick a stage box; time until the old results region has been swapped out."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/")
    value = facet_values(page)[0]
    times, received = [], []
    for _run in range(runs):
        old = page.locator("#results-region").element_handle()
        started = time.perf_counter()
        with page.expect_response(lambda r: "/results/" in r.url) as answer:
            page.locator(f"#facet-groups input[name='stage'][value='{value}']").click()
        old.wait_for_element_state("hidden")  # detached: the new results are in
        times.append((time.perf_counter() - started) * 1000)
        received.append(len(answer.value.body()))
    page.close()
    return times, received


def full_loads(browser, base: str, runs: int) -> tuple[list[float], list[int]]:
    """Load the page at the filtered address, as the Apply filters button does without JS."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/")
    value = facet_values(page)[0]
    times, received = [], []
    for run in range(runs):
        address = f"{base}/?stage={value}" if run % 2 == 0 else f"{base}/"
        started = time.perf_counter()
        answer = page.goto(address, wait_until="load")
        times.append((time.perf_counter() - started) * 1000)
        received.append(len(answer.body()))
    page.close()
    return times, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    from playwright.sync_api import sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_node(data_dir, port)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for width in (1280, 390):
                    top = first_result_top(browser, base, width)
                    print(f"first result starts at {top:.0f} px at {width} px wide")
                swap_ms, swap_bytes = apply_at_once(browser, base, runs)
                load_ms, load_bytes = full_loads(browser, base, runs)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"facet applied at once: median {statistics.median(swap_ms):.0f} ms, "
        f"{statistics.median(swap_bytes) / 1024:.1f} KiB received (the /results/ fragment)"
    )
    print(
        f"full page load:        median {statistics.median(load_ms):.0f} ms, "
        f"{statistics.median(load_bytes) / 1024:.1f} KiB received (the page's HTML alone)"
    )


if __name__ == "__main__":
    main()
