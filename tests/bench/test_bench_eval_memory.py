"""A bench run's test-set evaluation hands its large blocks back (after training in-process)."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

from reason2decide.bench import execute


def test_the_test_set_is_evaluated_with_large_blocks_returned(monkeypatch, tmp_path):
    from reason2decide import inference
    from reason2decide.evaluation import pipeline
    from reason2decide.training import host_memory

    state = {"returning": False}
    seen: list[bool] = []

    @contextmanager
    def recording():
        state["returning"] = True
        yield
        state["returning"] = False

    def evaluate_model(predictor, examples, **options):
        seen.append(state["returning"])
        return {"accuracy": 1.0}, [{"id": "a"}]

    monkeypatch.setattr(host_memory, "blocks_returned", recording)
    monkeypatch.setattr(pipeline, "evaluate_model", evaluate_model)
    monkeypatch.setattr(
        inference.Predictor,
        "from_output",
        classmethod(lambda cls, *a, **k: SimpleNamespace(labels=None)),
    )
    test = tmp_path / "test.jsonl"
    test.write_text('{"id": "a"}\n')
    run = SimpleNamespace(path=tmp_path / "run", config=SimpleNamespace(precision="fp32"))
    spec = SimpleNamespace(
        eval_batch_size=4,
        generation=None,
        bertscore_model=None,
        bertscore_layers=None,
        with_bertscore=False,
        progress=False,
    )
    metrics = execute.evaluate_run(run, [], test, {}, spec)
    assert seen == [True] and metrics["accuracy"] == 1.0
    assert (tmp_path / "run" / execute.EVAL_DIR / execute.METRICS_FILE).is_file()
