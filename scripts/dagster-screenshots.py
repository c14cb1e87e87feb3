"""Screenshots of the Dagster UI for the README: the asset graph, and the page of the directory
run with its metadata, after a run of the demo region.

Usage, in the repository root, with Debian's Chromium present (scripts/browser-up):
    .venv/bin/python scripts/dagster-screenshots.py [--out docs]

It runs `servicemap run --demo` into a temporary work dir and instance, starts
dagster-webserver on 127.0.0.1 (a free port) over that instance, and photographs
docs/dagster-asset-graph.png and docs/dagster-run.png with headless Chromium via Playwright.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import httpx
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
REPOSITORY = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1800, "height": 1000}


class ScreenshotError(RuntimeError):
    """A step before the screenshots failed: the demo run, the webserver or the browser."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_run(work: Path, env: dict[str, str]) -> None:
    """The demo region crawled and published into `work`, its history in `work/dagster`."""
    servicemap = Path(sys.executable).with_name("servicemap")
    command = [str(servicemap), "run", "--demo", "--work-dir", str(work)]
    command += ["--database", f"sqlite:///{work / 'directory.sqlite'}"]
    done = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ScreenshotError(f"`{' '.join(command)}` failed:\n{done.stdout}\n{done.stderr}")


def directory_run_id(home: Path) -> str:
    """The latest run that published the directory."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("published_directory"))
        if event is None:
            raise ScreenshotError(f"no run in {home} published the directory")
        return event.run_id


def wait_for(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ScreenshotError(f"dagster-webserver exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise ScreenshotError(f"dagster-webserver did not answer at {url} within {seconds:.0f} s")


def photograph(base: str, run_id: str, out: Path) -> list[Path]:
    graph, run = out / "dagster-asset-graph.png", out / "dagster-run.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{base}/asset-groups", wait_until="networkidle")
        page.get_by_text("ingest").first.wait_for(timeout=60_000)
        page.wait_for_timeout(4_000)  # the UI's first-visit dialog comes after the data
        _skip_dialog(page)
        for _ in range(4):  # open the collapsed asset groups
            toggles = page.locator("[aria-label=unfold_more]")
            if not toggles.count():
                break
            toggles.first.dispatch_event("click")
            page.wait_for_timeout(2_000)
        page.get_by_text("Hide navigation").click()
        page.locator("button:has([aria-label=panel_show_right])").first.click()
        for _ in range(5):  # the whole flow in the frame
            page.locator("button:has([aria-label=zoom_out])").click()
            page.wait_for_timeout(300)
        page.wait_for_timeout(3_000)  # the graph settles its layout
        _skip_dialog(page)
        page.screenshot(path=str(graph))
        page.goto(f"{base}/runs/{run_id}", wait_until="networkidle")
        page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=60_000)
        page.wait_for_timeout(3_000)
        _skip_dialog(page)
        page.screenshot(path=str(run))
        browser.close()
    return [graph, run]


def _skip_dialog(page) -> None:
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: run scripts/browser-up")
    with tempfile.TemporaryDirectory(prefix="servicemap-screenshots-") as temp:
        work = Path(temp)
        home = work / "dagster"
        # A fresh SQLite instance, whatever instance storage the caller's environment names.
        env = {k: v for k, v in os.environ.items() if k != "SERVICEMAP_DAGSTER_PG_URL"}
        env["DAGSTER_HOME"] = str(home)
        demo_run(work, env)
        run_id = directory_run_id(home)
        port = free_port()
        env |= {
            "SERVICEMAP_SOURCES": str(work / "demo" / "sources.yaml"),
            "SERVICEMAP_DATABASE_URL": f"sqlite:///{work / 'directory.sqlite'}",
            "SERVICEMAP_WORK_DIR": str(work),
        }
        webserver = Path(sys.executable).with_name("dagster-webserver")
        command = [str(webserver), "-h", "127.0.0.1", "-p", str(port), "-m", "pipelines.definitions"]
        with (work / "webserver.log").open("w") as log:
            server = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=log, stderr=log)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_for(f"{base}/server_info", server)
                for path in photograph(base, run_id, args.out):
                    print(f"wrote {path}")
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
