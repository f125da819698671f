"""Load on ``r2d serve`` over loopback, against the offline throughput of the same model.

Starts ``r2d serve RUN`` on a free loopback port, then for each number of concurrent clients
(``--clients 1,8,32``) and each mode (label only, label + rationale) sends a bounded load: at
most ``--requests`` one-case requests and at most ``--duration`` seconds, each client with its
own keep-alive connection, each case a different one. Reports throughput (cases/s), p50/p95/p99
latency, errors and the server's resident memory at the start and end; then stops the server
and times ``Predictor.predict`` (what ``r2d predict`` runs) on the same cases at the same batch
size in this process, for the offline throughput the served one is compared with.

  python benchmarks/serve_load.py demo/run --clients 1,8,32 --requests 200 --duration 60 \\
      --batch-size 16 --out bench-serve.json

Targets (issue 14): zero errors; served throughput at 32 clients >= 80% of offline; p95 of a
label-only request <= 150 ms at 8 clients; RSS growth <= 10% over the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch
from common import environment, load_examples, print_table, write_report

from reason2decide.inference import Predictor

SRC = str(Path(__file__).resolve().parents[1] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def start_server(run: Path, port: int, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "reason2decide.cli", "serve", str(run), "--port", str(port)]
    command += ["--max-batch-size", str(args.batch_size), "--max-wait-ms", str(args.max_wait_ms)]
    command += ["--precision", args.precision, "--log-level", "warning"]
    command += ["--max-bulk-cases", str(max(5000, args.requests))]
    if args.max_new_tokens:
        command += ["--max-new-tokens", str(args.max_new_tokens)]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; its log: {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the server did not become ready; its log: {log}")


def load(
    port: int, texts: list[str], clients: int, requests: int, duration: float, rationale: bool
):
    """Send at most ``requests`` one-case requests from ``clients`` threads for at most
    ``duration`` seconds; return latencies (s), errors and elapsed seconds."""
    lock = threading.Lock()
    sent = [0]
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + duration

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=max(duration, 60))
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= requests:
                    break
                index = sent[0]
                sent[0] += 1
            body = json.dumps({"text": texts[index % len(texts)], "rationale": rationale})
            started = time.perf_counter()
            try:
                connection.request(
                    "POST", "/v1/predict", body, {"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                payload = response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
            except Exception as exc:  # counted, and the connection renewed
                with lock:
                    errors.append(str(exc)[:200])
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="Output folder of r2d train.")
    parser.add_argument("--cases", type=Path, help="JSONL/CSV of cases. [synthetic triage]")
    parser.add_argument("--clients", default="1,8,32", help="Concurrent clients, comma-separated.")
    parser.add_argument("--requests", type=int, default=200, help="Most requests per setting.")
    parser.add_argument("--duration", type=float, default=60.0, help="Most seconds per setting.")
    parser.add_argument("--modes", default="label,rationale", help="label, rationale or both.")
    parser.add_argument("--batch-size", type=int, default=16, help="Server and offline batch.")
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--warmup", type=int, default=4, help="Requests before measuring.")
    parser.add_argument("--out", type=Path, default=None, help="Write the report here (JSON).")
    args = parser.parse_args(argv)

    clients = [int(c) for c in args.clients.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    if not set(modes) <= {"label", "rationale"}:
        parser.error("--modes takes label and/or rationale")
    texts = [e.question for e in load_examples(args.cases, max(args.requests, 8))]
    port = free_port()
    log = (args.out.parent if args.out else Path(tempfile.gettempdir())) / "serve_load.server.log"
    server = start_server(args.run, port, args, log)
    report: dict[str, Any] = {
        "run": str(args.run),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "served": [],
    }
    try:
        # Warm up at the largest batch of every mode: the allocator's high-water mark for the
        # biggest passes is reached before the start RSS is taken, so the growth measured
        # afterwards is what the load itself leaves behind.
        for mode in modes:
            warmup = max(args.warmup, 2 * max(clients))
            load(port, texts, max(clients), warmup, 600, rationale=mode == "rationale")
        report["rss_mib_start"] = rss_mib(server.pid)
        for mode in modes:
            for n in clients:
                latencies, errors, seconds = load(
                    port, texts, n, args.requests, args.duration, rationale=mode == "rationale"
                )
                report["served"].append(
                    {
                        "mode": mode,
                        "clients": n,
                        "requests": len(latencies) + len(errors),
                        "errors": len(errors),
                        "error_examples": errors[:3],
                        "seconds": round(seconds, 3),
                        "cases_per_s": round(len(latencies) / seconds, 3),
                        "p50_ms": _ms(percentile(latencies, 50)),
                        "p95_ms": _ms(percentile(latencies, 95)),
                        "p99_ms": _ms(percentile(latencies, 99)),
                        "rss_mib_after": rss_mib(server.pid),
                    }
                )
        report["rss_mib_end"] = rss_mib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:
            server.kill()

    # offline, in this process, once the server is gone: the same cases, the same batch size
    from reason2decide.generation import GenerationSettings

    generation = GenerationSettings(max_new_tokens=args.max_new_tokens)
    predictor = Predictor.from_output(
        args.run, batch_size=args.batch_size, precision=args.precision, generation=generation
    )
    report["offline"] = []
    report["environment"] = environment(predictor.backbone.device)
    predictor.predict(texts[: args.batch_size], with_rationale=True)  # warm-up
    for mode in modes:
        count = max((r["requests"] for r in report["served"] if r["mode"] == mode), default=0)
        cases = texts[: max(count, args.batch_size)]
        started = time.perf_counter()
        predictor.predict(cases, with_rationale=mode == "rationale")
        seconds = time.perf_counter() - started
        report["offline"].append(
            {"mode": mode, "cases": len(cases), "cases_per_s": round(len(cases) / seconds, 3)}
        )

    offline = {r["mode"]: r["cases_per_s"] for r in report["offline"]}
    rows = []
    for r in report["served"]:
        share = r["cases_per_s"] / offline[r["mode"]] if offline.get(r["mode"]) else None
        r["share_of_offline"] = round(share, 3) if share is not None else None
        rows.append(
            [
                r["mode"],
                r["clients"],
                r["requests"],
                r["errors"],
                r["cases_per_s"],
                r["share_of_offline"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r["rss_mib_after"],
            ]
        )
    for r in report["offline"]:
        rows.append(
            [
                f"{r['mode']} (offline)",
                "-",
                r["cases"],
                0,
                r["cases_per_s"],
                1.0,
                None,
                None,
                None,
                None,
            ]
        )
    start, end = report.get("rss_mib_start"), report.get("rss_mib_end")
    report["rss_growth"] = round(end / start - 1, 4) if start and end else None
    print_table(
        f"r2d serve on {args.run} (batch {args.batch_size}, torch threads "
        f"{torch.get_num_threads()}); server RSS {start} -> {end} MiB",
        [
            "mode",
            "clients",
            "requests",
            "errors",
            "cases/s",
            "of offline",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "RSS MiB after",
        ],
        rows,
    )
    write_report(args.out, report)
    return 0


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


if __name__ == "__main__":
    sys.exit(main())
