"""Counters and histograms for ``/metrics``, in the Prometheus text format (written here: a few
series do not need a client library)."""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}"


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.n += 1


class Metrics:
    """The server's series: requests and errors by endpoint and status, request latency, cases
    served, and the size and duration of each model pass."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.cases: dict[str, int] = defaultdict(int)
        self.latency: dict[str, _Histogram] = {}
        self.batch_size: dict[str, _Histogram] = {}
        self.pass_seconds: dict[str, _Histogram] = {}

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, str(status))] += 1
            self.latency.setdefault(endpoint, _Histogram(LATENCY_BUCKETS)).observe(seconds)

    def served(self, endpoint: str, cases: int) -> None:
        with self._lock:
            self.cases[endpoint] += cases

    def model_pass(self, kind: str, size: int, seconds: float) -> None:
        with self._lock:
            self.batch_size.setdefault(kind, _Histogram(BATCH_BUCKETS)).observe(size)
            self.pass_seconds.setdefault(kind, _Histogram(LATENCY_BUCKETS)).observe(seconds)

    def render(self, queue_depth: int) -> str:
        """All series as Prometheus text exposition."""
        out: list[str] = []
        with self._lock:
            out += [
                "# HELP r2d_requests_total HTTP requests by endpoint and status code.",
                "# TYPE r2d_requests_total counter",
            ]
            for (endpoint, status), n in sorted(self.requests.items()):
                out.append(
                    f"r2d_requests_total{_labels((('endpoint', endpoint), ('status', status)))} {n}"
                )
            out += [
                "# HELP r2d_errors_total HTTP requests answered with status 400 or above.",
                "# TYPE r2d_errors_total counter",
            ]
            errors: dict[str, int] = defaultdict(int)
            for (endpoint, status), n in self.requests.items():
                if int(status) >= 400:
                    errors[endpoint] += n
            for endpoint, n in sorted(errors.items()):
                out.append(f"r2d_errors_total{_labels((('endpoint', endpoint),))} {n}")
            out += ["# HELP r2d_cases_total Cases answered.", "# TYPE r2d_cases_total counter"]
            for endpoint, n in sorted(self.cases.items()):
                out.append(f"r2d_cases_total{_labels((('endpoint', endpoint),))} {n}")
            self._histograms(
                out,
                "r2d_request_seconds",
                "Request latency in seconds.",
                "endpoint",
                self.latency,
            )
            self._histograms(
                out, "r2d_batch_size", "Cases per model pass.", "kind", self.batch_size
            )
            self._histograms(
                out, "r2d_pass_seconds", "Duration of a model pass.", "kind", self.pass_seconds
            )
        out += [
            "# HELP r2d_queue_cases Cases waiting for a model pass.",
            "# TYPE r2d_queue_cases gauge",
            f"r2d_queue_cases {queue_depth}",
        ]
        return "\n".join(out) + "\n"

    @staticmethod
    def _histograms(
        out: list[str],
        name: str,
        help: str,
        key: str,
        series: dict[str, _Histogram],  # noqa: A002
    ) -> None:
        out += [f"# HELP {name} {help}", f"# TYPE {name} histogram"]
        for value, hist in sorted(series.items()):
            for bound, count in zip(hist.buckets, hist.counts, strict=True):
                labels = _labels(((key, value), ("le", f"{bound:g}")))
                out.append(f"{name}_bucket{labels} {count}")
            out.append(f"{name}_bucket{_labels(((key, value), ('le', '+Inf')))} {hist.n}")
            out.append(f"{name}_sum{_labels(((key, value),))} {hist.total:.6f}")
            out.append(f"{name}_count{_labels(((key, value),))} {hist.n}")
