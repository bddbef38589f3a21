"""Time the browser check of a study report (`labkit.study.browser`): screenshot, rendered DOM, decoded images.

    python -m benchmarks.bench_report_browser --report runs/<study>/report.html [--out /tmp/shots]
    python -m benchmarks.bench_report_browser            # a report built from synthetic records
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from labkit.study.browser import CHROMIUM, check_report


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", help="report.html of a study; default: one built from synthetic records")
    ap.add_argument("--out", default=None, help="folder for the screenshots (default: a temporary folder)")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(json.dumps({"benchmark": "report_browser", "skipped": f"{CHROMIUM} not installed"}))
        return {}
    from tests.helpers import synthetic_report  # the synthetic study the browser test reads too

    tmp = Path(tempfile.mkdtemp(prefix="report_browser_"))
    report = Path(args.report) if args.report else synthetic_report(tmp / "study")
    t0 = time.perf_counter()
    result = check_report(report, args.out or tmp, args.timeout)
    result["total_s"] = time.perf_counter() - t0
    print(json.dumps({"benchmark": "report_browser", **result}))
    return result


if __name__ == "__main__":
    main()
