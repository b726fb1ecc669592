"""Memory and responsiveness of the app process on the shipped default workspace (faces, trained).

    .venv/bin/python -m benchmarks.app_memory [--refreshes 4] [--out benchmarks/results/app_memory.txt]

Starts `streamlit run app.py` on 127.0.0.1 with an empty temporary workspace root (so the first
request installs the shipped faces workspace: graph, trained run, data re-sampled from its recipe),
drives it with headless chromium (Playwright) and reads the server's /proc/<pid>/status:
VmRSS (resident now) and VmHWM (peak resident so far) at each stage:

1. after start (health check answered, no session yet);
2. after the Explore page's galleries (first request is /explore: workspace install, model loading,
   ID-GEN fit for P(Face | do(Male)) -- exact tables plus the run's trained Face VAE -- and four
   16-image galleries with probe bars);
3. after ``--refreshes`` changes of the intervention (Male 0 <-> 1): gallery refresh seconds as the
   browser sees them (click -> the new formula rendered) and as the page reports them;
4. after the Effects page computed its curves, effect sizes and attribute shifts (Compute button).

Target: the app process stays under 2 GiB.  Prints a table and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from tests.browser.support import browser_page, require_browser, rerun_after, streamlit_server  # noqa: E402

TARGET_GIB = 2.0


def proc_memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process (Linux /proc), in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) / 1024.0
    return out


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def sampled_seconds(page) -> float:
    """The page's own 'Galleries sampled in X s' number."""
    text = page.get_by_text("Galleries sampled in").inner_text()
    return float(re.search(r"in ([0-9.]+) s", text).group(1))


def measure(refreshes: int) -> tuple[list[tuple[str, dict[str, float], str]], dict[str, object]]:
    rows: list[tuple[str, dict[str, float], str]] = []
    info: dict[str, object] = {"load_before": load_average(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as root:
        with streamlit_server(Path(root), "streamlit-app-memory.log", default="faces") as (url, proc):
            time.sleep(1.0)
            rows.append(("after start", proc_memory_mib(proc.pid), ""))
            with browser_page(timeout_ms=180_000) as page:
                t0 = time.perf_counter()
                page.goto(f"{url}/explore")
                page.get_by_text("Galleries sampled in").wait_for()
                first = time.perf_counter() - t0
                rows.append(("after Explore galleries", proc_memory_mib(proc.pid),
                             f"first /explore {first:.1f} s (install + load + fit + sample)"))
                browser_s, page_s = [], []
                for i in range(refreshes):
                    value = "0" if i % 2 == 0 else "1"
                    t = time.perf_counter()
                    rerun_after(page, page.locator(".st-key-ex_val_Male").get_by_text(value, exact=True).click)
                    browser_s.append(time.perf_counter() - t)
                    page.get_by_text(f"P(Face | do(Male = {value}))").first.wait_for(timeout=1000)  # the new run's
                    page_s.append(sampled_seconds(page))
                info["refresh_browser_s"] = browser_s
                info["refresh_page_s"] = page_s
                rows.append((f"after {refreshes} gallery refreshes", proc_memory_mib(proc.pid),
                             f"refresh median {statistics.median(browser_s):.2f} s in the browser, "
                             f"{statistics.median(page_s):.2f} s sampling"))
                page.get_by_test_id("stSidebarNav").get_by_text("Effects", exact=True).click()
                page.get_by_role("heading", name="Effects", exact=True).wait_for()
                t = time.perf_counter()
                rerun_after(page, page.locator(".st-key-ef_compute").get_by_role("button").click)
                page.get_by_role("heading", name="Attribute shifts").wait_for(timeout=1000)
                page.get_by_text("Download the numbers (CSV)").wait_for(timeout=1000)
                rows.append(("after Effects (Compute)", proc_memory_mib(proc.pid),
                             f"compute {time.perf_counter() - t:.1f} s"))
    info["load_after"] = load_average()
    return rows, info


def table(rows, info) -> str:
    lines = ["App process memory (streamlit server, shipped faces workspace: 16x16 VAE + categorical nodes)",
             f"CPU cores {info['cpus']}; load average before {info['load_before']}, after {info['load_after']}",
             "", f"{'stage':<30} {'RSS MiB':>8} {'peak MiB':>9}  note", "-" * 100]
    for stage, mem, note in rows:
        lines.append(f"{stage:<30} {mem['VmRSS']:>8.0f} {mem['VmHWM']:>9.0f}  {note}")
    peak = max(m["VmHWM"] for _, m, _ in rows)
    lines += ["", f"peak {peak / 1024:.2f} GiB (VmHWM) vs target < {TARGET_GIB:.0f} GiB: "
              + ("met" if peak / 1024 < TARGET_GIB else "MISSED"),
              "gallery refresh (Male 0 <-> 1, 16 images x 4 columns + probe bars), browser seconds: "
              + ", ".join(f"{s:.2f}" for s in info["refresh_browser_s"]),
              "the page's own 'Galleries sampled in' seconds: " + ", ".join(f"{s:.2f}" for s in info["refresh_page_s"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refreshes", type=int, default=4, help="intervention changes to time (default 4)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "app_memory.txt"))
    args = ap.parse_args(argv)
    require_browser_or_exit()
    rows, info = measure(args.refreshes)
    text = table(rows, info)
    print(text)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


def require_browser_or_exit() -> None:
    try:
        require_browser()
    except BaseException as e:  # pytest.skip raises; outside pytest say why and stop
        sys.exit(f"cannot measure: {e}")


if __name__ == "__main__":
    raise SystemExit(main())
