"""Screenshot of the r2d serve page for the README: serve a run folder on a free loopback port,
open the page in headless Chromium, type a case, press the button, save a PNG.

  python scripts/serve_screenshot.py demo/run docs/serve-page.png \\
      --case "A 3-year-old with a fever of 39.8 C for two days, drinking less, no rash."
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from headless_chromium import Chromium, find_chromium  # noqa: E402
from reason2decide.serve.app import create_app  # noqa: E402
from reason2decide.serve.model import load_served_model  # noqa: E402
from serve_support import running_server  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--case", required=True)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("needs Chromium (apt-get install chromium)")
    served = load_served_model(args.run, precision=args.precision)
    with running_server(create_app(served)) as url, Chromium(chromium, height=860) as browser:
        browser.goto(url + "/")
        browser.wait_for("document.getElementById('facts').children.length > 0")
        browser.type_into("#text", args.case)
        browser.click("#decide")
        browser.wait_for("!document.getElementById('result').hidden", timeout=120)
        args.png.parent.mkdir(parents=True, exist_ok=True)
        browser.screenshot(args.png)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
