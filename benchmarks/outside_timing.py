"""Timing a training command from the outside: each step from the arrival of its progress-bar
redraw on stderr, peak memory of the process and its tree, and a start only once the machine is
quiet. No change to the command is needed, so two different codes are timed the same way
(benchmarks/vs_reference.py)."""

from __future__ import annotations

import codecs
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

BAR = re.compile(r" (\d+)/(\d+) \[")


class BarScanner:
    """Finds the redraws ``" k/N ["`` of a progress bar of ``total`` steps in stderr text that
    arrives in chunks, and keeps the arrival time of each k's first redraw."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.text = ""
        self.scanned = 0
        self.times: dict[int, float] = {}

    def feed(self, arrived: float, chunk: str) -> None:
        """Add ``chunk``, which arrived at ``arrived`` (seconds)."""
        self.text += chunk
        # Rescan a little of the text seen before, so that a redraw cut between two chunks is
        # found once its end arrives; one found twice keeps its first time.
        for match in BAR.finditer(self.text, max(0, self.scanned - 32)):
            k, n = int(match.group(1)), int(match.group(2))
            if n == self.total and k not in self.times:
                self.times[k] = arrived
        self.scanned = len(self.text)
        if len(self.text) > 1 << 16:  # keep memory flat over long runs
            self.text = self.text[-64:]
            self.scanned = len(self.text)


def redraw_times(chunks: Iterable[tuple[float, str]], total: int) -> dict[int, float]:
    """Arrival time of the first redraw of each step k of a ``total``-step bar in stderr
    ``chunks`` of (arrival seconds, text). A bar of another length (evaluation, dataset
    mapping) is ignored."""
    scanner = BarScanner(total)
    for arrived, chunk in chunks:
        scanner.feed(arrived, chunk)
    return scanner.times


def step_times(redraws: dict[int, float]) -> dict[int, float]:
    """Seconds of each step k >= 2: t(k) - t(k-1). Step 1 (t(1) - t(0): start-up included) is
    dropped. Where the bar skipped redraws (steps faster than its refresh interval), the time
    between the two redraws seen is shared equally by the steps between them; steps before the
    first redraw of k >= 1 cannot be told apart from step 1 and are dropped too."""
    seen = sorted(k for k in redraws if k >= 1)
    steps: dict[int, float] = {}
    for before, after in zip(seen, seen[1:], strict=False):
        share = (redraws[after] - redraws[before]) / (after - before)
        for k in range(before + 1, after + 1):
            steps[k] = share
    return steps


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def parse_proc_stat(text: str) -> tuple[int, int, int]:
    """(busy jiffies, total jiffies, number of CPUs) from the text of ``/proc/stat``; idle and
    iowait count as not busy."""
    total_line = None
    cpus = 0
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu":
            total_line = fields
        elif re.fullmatch(r"cpu\d+", fields[0]):
            cpus += 1
    if total_line is None:
        raise ValueError("no 'cpu' line in /proc/stat")
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    values = [int(v) for v in total_line[1:9]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values)
    return total - idle, total, max(cpus, 1)


def busy_cores(before: tuple[int, int, int], after: tuple[int, int, int]) -> float:
    """How many cores were busy on average between two :func:`parse_proc_stat` readings."""
    busy = after[0] - before[0]
    total = after[1] - before[1]
    if total <= 0:
        return 0.0
    return busy / total * after[2]


def quiet_streak_reached(samples: Sequence[float], threshold: float, needed: int) -> bool:
    """True when the last ``needed`` one-second samples of busy cores are all below
    ``threshold``."""
    return len(samples) >= needed and all(s < threshold for s in samples[-needed:])


def cpu_description(cpuinfo: str, meminfo: str = "") -> dict[str, Any]:
    """Model name, logical CPUs, bf16/AMX support and memory from ``/proc/cpuinfo`` and
    ``/proc/meminfo`` texts."""
    model = ""
    processors = 0
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            processors += 1
        elif key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    memory = None
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            memory = round(int(line.split()[1]) / 2**20, 1)
    return {
        "cpu": model,
        "logical_cpus": processors,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "memory_gib": memory,
    }


def read_proc_stat() -> tuple[int, int, int]:
    return parse_proc_stat(Path("/proc/stat").read_text())


def wait_until_quiet(
    threshold: float, seconds: int, timeout: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Wait until the machine has used less than ``threshold`` cores in each of the last
    ``seconds`` one-second intervals, or ``timeout`` seconds have passed (then warn)."""
    started = time.monotonic()
    samples: list[float] = []
    last = read_proc_stat()
    while True:
        sleep(1.0)
        now = read_proc_stat()
        samples.append(busy_cores(last, now))
        last = now
        if quiet_streak_reached(samples, threshold, seconds):
            return {"quiet": True, "waited_s": round(time.monotonic() - started, 1)}
        if time.monotonic() - started > timeout:
            recent = samples[-seconds:]
            print(
                f"WARNING: the machine did not become quiet within {timeout:.0f} s (last "
                f"{len(recent)} s: {max(recent):.2f} cores busy at most); starting anyway",
                file=sys.stderr,
                flush=True,
            )
            return {"quiet": False, "waited_s": round(time.monotonic() - started, 1),
                    "last_busy_cores": [round(s, 3) for s in recent]}  # fmt: skip


TIME = "/usr/bin/time"


def time_max_rss_kib(text: str) -> int | None:
    """The "Maximum resident set size (kbytes)" of ``/usr/bin/time -v``'s report."""
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return int(match.group(1)) if match else None


def _children() -> dict[int, list[int]]:
    """Each process's children, from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _kib(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_memory(pid: int, pss: bool = False) -> tuple[int, int | None]:
    """(summed RSS, summed PSS or None) in KiB of ``pid`` and its descendants. PSS shares
    pages that forked workers have in common with their parent, so its sum does not count
    them twice; it is read only when ``pss`` is asked for, since reading it walks the page
    tables of the measured processes (about 10 ms per GiB resident on a 2-core EPYC), which
    stalls them while it runs: polled twice a second it slowed a training step of ~3 GiB
    by about 5 %. RSS is a counter and costs nothing."""
    children = _children()
    todo, tree = [pid], []
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    rss = sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in tree)
    if not pss:
        return rss, None
    return rss, sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree)


def run_one(
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    total_steps: int,
    log: Path,
    timeout: float,
    poll_s: float = 0.5,
    tree_pss: bool = False,
) -> dict[str, Any]:
    """Run ``command`` in ``cwd``, timing the redraws of its ``total_steps``-step progress bar
    on stderr (kept in ``log``; stdout goes to ``cwd/stdout.log``) and measuring its peak
    memory: the command's peak RSS, the peak of its process tree's summed RSS and, with
    ``tree_pss``, of its summed PSS (which slows the command: see :func:`tree_memory`)."""
    cwd.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    scanner = BarScanner(total_steps)
    started = time.monotonic()
    with (
        open(log, "w", encoding="utf-8") as log_file,
        open(cwd / "stdout.log", "wb") as stdout,
    ):
        time_file = cwd / "time.txt"
        wrapper = [TIME, "-v", "-o", str(time_file)] if Path(TIME).is_file() else []
        process = subprocess.Popen(
            [*wrapper, *command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stopped as a whole on timeout
        )
        assert process.stderr is not None
        peaks = {"rss": 0, "pss": 0}
        finished = threading.Event()

        def read_stderr() -> None:
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            fd = process.stderr.fileno()
            while True:
                data = os.read(fd, 65536)
                arrived = time.monotonic() - started
                if not data:
                    return
                text = decoder.decode(data)
                scanner.feed(arrived, text)
                log_file.write(text)

        def poll_memory() -> None:
            while not finished.wait(poll_s):
                rss, pss = tree_memory(process.pid, tree_pss)
                peaks["rss"] = max(peaks["rss"], rss)
                peaks["pss"] = max(peaks["pss"], pss or 0)

        reader = threading.Thread(target=read_stderr, daemon=True)
        poller = threading.Thread(target=poll_memory, daemon=True)
        reader.start()
        poller.start()
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - started > timeout:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGKILL)
                    pid, status, usage = os.wait4(process.pid, 0)
                    break
                time.sleep(0.05)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        finished.set()
        reader.join(timeout=10)
        poller.join(timeout=10)
    wall = time.monotonic() - started
    # wait4's peak of a forked child includes the image of the parent it was forked from, so a
    # small parent (/usr/bin/time) is what measures the command; without it, this script's
    # own resident set (tens of MiB) is a floor of the figure.
    from_time = time_max_rss_kib(time_file.read_text()) if time_file.is_file() else None
    peak_rss = from_time or usage.ru_maxrss  # Linux: KiB
    redraws = dict(sorted(scanner.times.items()))
    return {
        "command": command,
        "returncode": process.returncode,
        "timed_out": timed_out,
        "wall_s": round(wall, 2),
        "redraw_s": {k: round(t, 4) for k, t in redraws.items()},
        "step_s": {k: round(t, 4) for k, t in step_times(redraws).items()},
        "steps_seen": len([k for k in redraws if k >= 1]),
        "peak_rss_mib": round(peak_rss / 1024, 1),
        "peak_rss_source": "/usr/bin/time -v" if from_time else "wait4",
        "peak_tree_rss_mib": round(peaks["rss"] / 1024, 1) or None,
        "peak_tree_pss_mib": round(peaks["pss"] / 1024, 1) or None,
        "log": str(log),
    }


def machine() -> dict[str, Any]:
    def text(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    return {**cpu_description(text("/proc/cpuinfo"), text("/proc/meminfo")),
            "os_cpu_count": os.cpu_count()}  # fmt: skip
