"""Micro-batching: cases from concurrent requests share model passes.

Every case first joins the label queue; a batch of labels is scored as soon as
``max_batch_size`` cases wait or the oldest has waited ``max_wait_ms``. Cases that asked for a
rationale then join the rationale queue. One scheduler runs the passes, one at a time, on a
single worker thread (torch is never called concurrently), and always takes waiting label work
first: a label-only request waits for at most the one rationale pass already running. Cases of
bulk files are background work: in each queue, interactive cases go first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reason2decide.inference import Prediction, Predictor

#: Called after each pass with its kind ("label" or "rationale"), size and seconds.
PassObserver = Callable[[str, int, float], None]


@dataclass
class _Case:
    text: str
    rationale: bool
    future: asyncio.Future[Prediction]
    background: bool = False
    queued_at: float = field(default_factory=time.monotonic)
    prediction: Prediction | None = None


class _Queue:
    """Cases waiting for one kind of pass: interactive ones first, then background ones (bulk
    files), each in arrival order."""

    def __init__(self) -> None:
        self.interactive: deque[_Case] = deque()
        self.background: deque[_Case] = deque()

    def __len__(self) -> int:
        return len(self.interactive) + len(self.background)

    def add(self, case: _Case) -> None:
        (self.background if case.background else self.interactive).append(case)

    def oldest(self) -> float:
        """When the longest-waiting case arrived."""
        return min(q[0].queued_at for q in (self.interactive, self.background) if q)

    def drop_done(self) -> None:
        """Forget cases whose caller has gone (timed out, cancelled)."""
        for queue in (self.interactive, self.background):
            if any(c.future.done() for c in queue):
                kept = [c for c in queue if not c.future.done()]
                queue.clear()
                queue.extend(kept)

    def take(self, n: int) -> list[_Case]:
        batch: list[_Case] = []
        for queue in (self.interactive, self.background):
            while queue and len(batch) < n:
                case = queue.popleft()
                if not case.future.done():
                    batch.append(case)
        return batch


class MicroBatcher:
    """Gathers concurrent cases into batched label and rationale passes of one
    :class:`Predictor`; :meth:`predict` is what request handlers await."""

    def __init__(
        self,
        predictor: Predictor,
        *,
        max_batch_size: int = 16,
        max_wait_ms: float = 5.0,
        observe: PassObserver | None = None,
    ) -> None:
        self.predictor = predictor
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.observe = observe
        self._labels = _Queue()
        self._rationales = _Queue()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = False
        self._context: contextlib.AbstractContextManager[Any] | None = None

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the scheduler on the running event loop."""
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="r2d-model", initializer=self._hold_context
        )
        self._task = asyncio.get_running_loop().create_task(self._run(), name="r2d-batcher")

    async def stop(self) -> None:
        """Finish the queued cases, then stop the scheduler and the model thread."""
        if self._task is None or self._wakeup is None:
            return
        self._stopping = True
        self._wakeup.set()
        # the scheduler returns once both queues are empty and no pass runs
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def pending(self) -> int:
        """Cases waiting for a pass (label or rationale)."""
        return len(self._labels) + len(self._rationales)

    # requests --------------------------------------------------------------------------------
    async def predict(
        self, texts: Sequence[str], *, rationale: bool, background: bool = False
    ) -> list[Prediction]:
        """The predictions of ``texts``, in their order (cancelling drops the cases not yet
        scored). ``background`` cases (bulk files) wait while interactive ones are queued."""
        if not self.running or self._wakeup is None:
            raise RuntimeError("the batcher is not running")
        loop = asyncio.get_running_loop()
        want = rationale and self.predictor.explains
        cases = [_Case(text, want, loop.create_future(), background) for text in texts]
        for case in cases:
            self._labels.add(case)
        self._wakeup.set()
        try:
            return list(await asyncio.gather(*(c.future for c in cases)))
        except BaseException:
            for case in cases:
                case.future.cancel()
            raise

    # the scheduler ---------------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            self._drop_cancelled()
            if not self._labels and not self._rationales:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._labels:
                # wait for company until the batch is full or the oldest case's wait is over
                deadline = self._labels.oldest() + self.max_wait_s
                while len(self._labels) < self.max_batch_size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wakeup.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), left)
                self._drop_cancelled()
                batch = self._labels.take(self.max_batch_size)
                if batch:
                    await self._label_pass(batch)
            else:
                batch = self._rationales.take(self.max_batch_size)
                if batch:
                    await self._rationale_pass(batch)

    def _drop_cancelled(self) -> None:
        self._labels.drop_done()
        self._rationales.drop_done()

    def _hold_context(self) -> None:
        """Enter the inference context in the model thread for the thread's whole life: autocast
        then casts each weight to bf16/fp16 once, not once per pass (measured on the demo model
        in bf16, niced on 2 cores busy with a training run: a one-case label pass took 1.33 s
        instead of 2.10 s, median of 15)."""
        self._context = self.predictor.inference_context()
        self._context.__enter__()

    async def _in_thread(self, kind: str, size: int, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, work)
        finally:
            if self.observe is not None:
                self.observe(kind, size, time.perf_counter() - started)

    async def _label_pass(self, batch: list[_Case]) -> None:
        texts = [c.text for c in batch]
        try:
            predictions = await self._in_thread(
                "label", len(batch), lambda: self.predictor.score_batch(texts)
            )
        except Exception as exc:  # a failed pass fails its cases, not the server
            for case in batch:
                if not case.future.done():
                    case.future.set_exception(exc)
            return
        for case, prediction in zip(batch, predictions, strict=True):
            if case.future.done():
                continue
            if case.rationale:
                case.prediction = prediction
                self._rationales.add(case)
            else:
                case.future.set_result(prediction)

    async def _rationale_pass(self, batch: list[_Case]) -> None:
        texts = [c.text for c in batch]
        labels = [c.prediction.label for c in batch]  # type: ignore[union-attr]
        try:
            rationales = await self._in_thread(
                "rationale", len(batch), lambda: self.predictor.explain_batch(texts, labels)
            )
        except Exception as exc:
            for case in batch:
                if not case.future.done():
                    case.future.set_exception(exc)
            return
        for case, rationale in zip(batch, rationales, strict=True):
            if not case.future.done():
                case.prediction.rationale = rationale  # type: ignore[union-attr]
                case.future.set_result(case.prediction)  # type: ignore[arg-type]
