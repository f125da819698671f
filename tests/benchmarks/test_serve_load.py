"""benchmarks/serve_load.py runs end to end on a tiny model: served and offline rows, no
errors, the server's memory, a JSON report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from serve_support import make_run_folder

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"


def test_serve_load_on_a_tiny_model(tmp_path, monkeypatch, capsys):
    run = make_run_folder(tmp_path)
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # the script imports benchmarks/common.py
    spec = importlib.util.spec_from_file_location("serve_load", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "report.json"
    args = [str(run), "--clients", "1,2", "--requests", "6", "--duration", "30"]
    args += ["--modes", "label", "--batch-size", "4", "--precision", "fp32", "--warmup", "1"]
    assert module.main([*args, "--max-new-tokens", "2", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [(r["clients"], r["requests"], r["errors"]) for r in report["served"]] == [
        (1, 6, 0),
        (2, 6, 0),
    ]
    assert all(r["p95_ms"] > 0 and r["cases_per_s"] > 0 for r in report["served"])
    assert report["offline"][0]["mode"] == "label" and report["offline"][0]["cases_per_s"] > 0
    assert report["rss_mib_start"] > 0 and report["rss_growth"] is not None
    assert "of offline" in capsys.readouterr().out
