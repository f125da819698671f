"""Micro-batching: concurrent requests share passes, each caller gets its own answers in its
order, label-only requests do not wait behind rationale generation, the queue drains on stop."""

from __future__ import annotations

import asyncio

import pytest

from reason2decide.serve.batcher import MicroBatcher
from serve_support import FakePredictor, fake_served


def run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_callers_share_passes_and_get_their_own_answers_in_order():
    predictor = FakePredictor(label_sleep=0.02)
    sizes: list[tuple[str, int]] = []

    async def main():
        batcher = MicroBatcher(
            predictor,
            max_batch_size=8,
            max_wait_ms=50,
            observe=lambda kind, n, s: sizes.append((kind, n)),
        )
        batcher.start()
        requests = [
            [f"caller {c} case {i}" + (" yes" if (c + i) % 2 else "") for i in range(c % 3 + 1)]
            for c in range(6)
        ]
        answers = await asyncio.gather(*(batcher.predict(t, rationale=False) for t in requests))
        await batcher.stop()
        return requests, answers

    requests, answers = run(main())
    for texts, predictions in zip(requests, answers, strict=True):
        assert len(predictions) == len(texts)
        for text, prediction in zip(texts, predictions, strict=True):
            assert prediction.label == ("yes" if text.endswith("yes") else "no")
            assert prediction.rationale is None
    total = sum(len(t) for t in requests)  # 12 cases from 6 callers
    assert sum(n for _, n in sizes) == total
    assert max(n for _, n in sizes) == 8  # callers merged into full batches
    assert len(sizes) == 2
    assert all(kind == "label" for kind, _ in sizes)


def test_rationales_are_a_separate_batched_pass_for_the_cases_that_asked():
    predictor = FakePredictor()

    async def main():
        batcher = MicroBatcher(predictor, max_batch_size=16, max_wait_ms=30)
        batcher.start()
        with_r, without = await asyncio.gather(
            batcher.predict(["a yes", "b"], rationale=True),
            batcher.predict(["c", "d yes", "e"], rationale=False),
        )
        await batcher.stop()
        return with_r, without

    with_r, without = run(main())
    assert [p.rationale for p in with_r] == ["because a yes -> yes", "because b -> no"]
    assert all(p.rationale is None for p in without)
    kinds = [(kind, texts) for kind, texts in predictor.passes]
    assert kinds == [("label", ["a yes", "b", "c", "d yes", "e"]), ("rationale", ["a yes", "b"])]


def test_label_only_requests_are_not_held_behind_rationale_generation():
    predictor = FakePredictor(rationale_sleep=0.4)

    async def main():
        loop = asyncio.get_running_loop()
        batcher = MicroBatcher(predictor, max_batch_size=4, max_wait_ms=1)
        batcher.start()
        done: dict[str, float] = {}

        async def ask(name, texts, rationale):
            await batcher.predict(texts, rationale=rationale)
            done[name] = loop.time()

        start = loop.time()
        slow = asyncio.create_task(ask("rationale", [f"r{i}" for i in range(8)], True))
        await asyncio.sleep(0.05)  # the first rationale pass is running now
        await ask("label", ["quick"], False)
        await slow
        await batcher.stop()
        return {k: v - start for k, v in done.items()}

    done = run(main())
    # the label-only case waited for the rationale pass already running (0.4 s), not for the
    # second rationale pass of the other request
    assert done["label"] < 0.7
    assert done["rationale"] > done["label"] + 0.2


def test_interactive_cases_go_before_a_queued_bulk_file():
    predictor = FakePredictor(label_sleep=0.05, rationale_sleep=0.05)

    async def main():
        loop = asyncio.get_running_loop()
        batcher = MicroBatcher(predictor, max_batch_size=2, max_wait_ms=0)
        batcher.start()
        done: dict[str, float] = {}

        async def ask(name, texts, background):
            await batcher.predict(texts, rationale=True, background=background)
            done[name] = loop.time()

        bulk = asyncio.create_task(ask("bulk", [f"b{i}" for i in range(20)], True))
        await asyncio.sleep(0.02)  # the bulk's first pass runs
        await ask("interactive", ["i0", "i1"], False)
        await bulk
        await batcher.stop()
        return done

    done = run(main())
    assert done["interactive"] < done["bulk"]
    # the interactive cases were scored in the second label pass and explained in the first
    # rationale pass, ahead of the bulk's remaining 18 cases
    labels = [texts for kind, texts in predictor.passes if kind == "label"]
    rationales = [texts for kind, texts in predictor.passes if kind == "rationale"]
    assert labels[1] == ["i0", "i1"] and rationales[0] == ["i0", "i1"]


def test_cancelled_cases_are_dropped_and_stop_drains_the_queue():
    predictor = FakePredictor(label_sleep=0.05)

    async def main():
        batcher = MicroBatcher(predictor, max_batch_size=2, max_wait_ms=0)
        batcher.start()
        first = asyncio.create_task(batcher.predict(["x1", "x2"], rationale=False))
        doomed = asyncio.create_task(batcher.predict(["gone1", "gone2"], rationale=False))
        last = asyncio.create_task(batcher.predict(["y1", "y2"], rationale=True))
        await asyncio.sleep(0.01)
        doomed.cancel()
        await batcher.stop()  # drains what is still queued and finishes the running pass
        # every case has its answer: the callers need no further pass
        return await asyncio.wait_for(first, 0.5), await asyncio.wait_for(last, 0.5)

    first, last = run(main())
    assert len(first) == 2 and all(p.rationale for p in last)
    seen = [t for _, texts in predictor.passes for t in texts]
    assert "gone1" not in seen and "gone2" not in seen


def test_a_failed_pass_fails_its_callers_only():
    class Flaky(FakePredictor):
        def score_batch(self, questions):
            if any("boom" in q for q in questions):
                raise RuntimeError("boom")
            return super().score_batch(questions)

    async def main():
        batcher = MicroBatcher(Flaky(), max_batch_size=1, max_wait_ms=0)
        batcher.start()
        bad, good = await asyncio.gather(
            batcher.predict(["boom"], rationale=False),
            batcher.predict(["fine yes"], rationale=False),
            return_exceptions=True,
        )
        await batcher.stop()
        return bad, good

    bad, good = run(main())
    assert isinstance(bad, RuntimeError)
    assert good[0].label == "yes"


def test_http_requests_are_merged_into_shared_passes():
    """Concurrent HTTP callers through the app: fewer label passes than requests, and each
    response holds exactly its own cases, in its order."""
    httpx = pytest.importorskip("httpx2")
    from reason2decide.serve.app import create_app
    from reason2decide.serve.config import ServeSettings

    predictor = FakePredictor(label_sleep=0.01)
    app = create_app(fake_served(predictor), ServeSettings(max_batch_size=32, max_wait_ms=100))

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

                async def call(n):
                    cases = [
                        {"id": f"{n}-{i}", "text": f"req {n} case {i}" + (" yes" * (i % 2))}
                        for i in range(3)
                    ]
                    body = {"cases": cases, "rationale": n % 2 == 0}
                    return n, await client.post("/v1/predict", json=body)

                return await asyncio.gather(*(call(n) for n in range(10)))

    results = run(main())
    for n, response in results:
        assert response.status_code == 200, response.text
        rows = response.json()["predictions"]
        assert [r["id"] for r in rows] == [f"{n}-{i}" for i in range(3)]
        assert [r["label"] for r in rows] == ["no", "yes", "no"]
        assert all((r["rationale"] is not None) == (n % 2 == 0) for r in rows)
        assert all(f"req {n} case" in r["rationale"] for r in rows if r["rationale"])
    label_passes = [texts for kind, texts in predictor.passes if kind == "label"]
    assert sum(len(t) for t in label_passes) == 30
    assert len(label_passes) < 10  # merged across requests
