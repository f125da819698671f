"""The real server process (``r2d serve``) on a free loopback port, over HTTP; SIGTERM
finishes the requests in flight and writes their audit lines before the process exits."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import reason2decide

SRC = str(Path(reason2decide.__file__).resolve().parents[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: bytes | None = None, content_type: str = "application/json"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Server:
    def __init__(self, run_folder: Path, tmp: Path, *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        command = [sys.executable, "-m", "reason2decide.cli", "serve", str(run_folder)]
        command += ["--port", str(self.port), "--device", "cpu", "--precision", "fp32", *flags]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.output()}")
            try:
                if call(self.url + "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server not ready: {self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


@pytest.fixture()
def server_factory(run_folder, tmp_path):
    started: list[Server] = []

    def start(*flags: str) -> Server:
        server = Server(run_folder, tmp_path, *flags)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_real_server_over_http(server_factory, tmp_path):
    server = server_factory("--max-new-tokens", "4")
    status, text = call(server.url + "/v1/predict", json.dumps({"text": "fever today"}).encode())
    assert status == 200, text
    body = json.loads(text)
    assert body["model"]["method"] == "r2d" and body["predictions"][0]["label"] in ("no", "yes")
    status, text = call(server.url + "/v1/predict", b"{oops")
    assert status == 422 and json.loads(text)["field"] == "body"
    status, text = call(server.url + "/v1/info")
    assert status == 200 and json.loads(text)["labels"] == ["no", "yes"]
    assert call(server.url + "/")[0] == 200
    status, text = call(server.url + "/metrics")
    assert status == 200 and "r2d_requests_total" in text
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    assert "fever today" not in server.output()


def test_sigterm_finishes_requests_in_flight_and_their_audit_lines(server_factory, tmp_path):
    audit = tmp_path / "audit.jsonl"
    server = server_factory(
        "--max-batch-size", "1", "--max-new-tokens", "64", "--audit-log", str(audit)
    )
    results: dict[str, tuple[int, str]] = {}

    def send(name: str, url: str, body: bytes, kind: str = "application/json") -> None:
        results[name] = call(url, body, kind)

    # one-case passes keep everything in flight for a while: 4 interactive requests of 8 cases
    # (served first) and a bulk file of 20 (in the background)
    bulk = "text\n" + "".join(f"child with fever {i} at night\n" for i in range(20))
    threads = [
        threading.Thread(
            target=send,
            args=("bulk", server.url + "/v1/predict/bulk?format=csv", bulk.encode(), "text/csv"),
        )
    ]
    for n in range(4):
        cases = [{"id": f"{n}-{i}", "text": f"rash {n} {i}"} for i in range(8)]
        body = json.dumps({"cases": cases}).encode()
        threads.append(
            threading.Thread(target=send, args=(f"p{n}", server.url + "/v1/predict", body))
        )
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    time.sleep(0.3)
    assert all(thread.is_alive() for thread in threads), "requests ended before SIGTERM"
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    with pytest.raises(OSError):  # no longer accepting
        call(server.url + "/health")
    for thread in threads:
        thread.join(60)
    assert server.process.wait(60) in (0, -signal.SIGTERM)
    assert results["bulk"][0] == 200 and len(results["bulk"][1].splitlines()) == 20
    for n in range(4):
        status, text = results[f"p{n}"]
        assert status == 200, text
        assert [r["id"] for r in json.loads(text)["predictions"]] == [f"{n}-{i}" for i in range(8)]
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 5 and all(line["status"] == 200 for line in lines)
    assert sorted(line["n_cases"] for line in lines) == [8] * 4 + [20]
