"""The OpenAI-compatible client: cache, retries, error paths, concurrency, accounting."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from reason2decide.errors import R2DError
from reason2decide.llm.client import ChatRequest, LLMClient, request_key


def ask(text: str = "hello", **params) -> ChatRequest:  # type: ignore[no-untyped-def]
    return ChatRequest.of([{"role": "user", "content": text}], **params)


def test_chat_returns_answer_and_counts_tokens(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(
        content=f"echo {body['messages'][0]['content']}"
    )
    with LLMClient(llm_config) as client:
        result = client.chat(ask("hi", max_tokens=7, temperature=0.3, seed=5))
    assert result.content == "echo hi"
    assert result.finish_reason == "stop" and not result.cached
    body = fake_llm.requests[0]
    assert body["model"] == "fake-model"
    assert body["max_tokens"] == 7 and body["temperature"] == 0.3 and body["seed"] == 5
    usage = client.usage.to_dict()
    assert usage["requests"] == 1 and usage["prompt_tokens"] == 10
    assert usage["completion_tokens"] == 3 and usage["total_tokens"] == 13


def test_cache_answers_repeated_requests_without_the_server(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(content=f"answer {n}")
    with LLMClient(llm_config) as client:
        first = client.chat(ask("same"))
        second = client.chat(ask("same"))
        other = client.chat(ask("same", temperature=0.7))
    assert first.content == second.content == "answer 1"
    assert second.cached and not first.cached
    assert other.content == "answer 2"
    assert len(fake_llm.requests) == 2
    assert client.usage.cache_hits == 1
    # A new client (a new process) reads the same cache.
    with LLMClient(llm_config) as again:
        assert again.chat(ask("same")).content == "answer 1"
    assert len(fake_llm.requests) == 2


def test_cache_key_covers_the_whole_request(llm_config):
    base = ask("x")
    assert request_key(llm_config, base) == request_key(llm_config, ask("x"))
    different = [
        ask("y"),
        ask("x", max_tokens=9),
        ask("x", seed=1),
        ask("x", extra={"top_p": 0.5}),
        ChatRequest.of([("system", "s"), ("user", "x")]),
    ]
    keys = {request_key(llm_config, r) for r in different}
    assert request_key(llm_config, base) not in keys and len(keys) == len(different)
    other_model = dataclasses.replace(llm_config, model="other")
    other_server = dataclasses.replace(llm_config, base_url="http://127.0.0.1:1/v1")
    assert request_key(other_model, base) != request_key(llm_config, base)
    assert request_key(other_server, base) != request_key(llm_config, base)


def test_no_cache_asks_every_time(fake_llm, llm_config):
    config = dataclasses.replace(llm_config, cache_dir=None)
    with LLMClient(config) as client:
        client.chat(ask())
        client.chat(ask())
    assert len(fake_llm.requests) == 2


def test_retries_429_honouring_retry_after(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: (
        fake_llm.reply(status=429, content="slow down", headers={"Retry-After": "0.04"})
        if n == 1
        else fake_llm.reply(content="fine")
    )
    waits: list[float] = []
    with LLMClient(llm_config, sleep=waits.append) as client:
        assert client.chat(ask()).content == "fine"
    assert waits == [pytest.approx(0.04)]
    assert client.usage.retries == 1 and client.usage.requests == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_retries_server_errors_with_growing_backoff(fake_llm, llm_config, status):
    fake_llm.responder = lambda body, n: (
        fake_llm.reply(status=status) if n <= 2 else fake_llm.reply(content="ok")
    )
    config = dataclasses.replace(llm_config, backoff=1.0, max_backoff=100.0)
    waits: list[float] = []
    with LLMClient(config, sleep=waits.append) as client:
        assert client.chat(ask()).content == "ok"
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.5 and 1.0 <= waits[1] <= 3.0  # 1·2^k with ±50% jitter


def test_gives_up_after_max_retries_with_a_clear_error(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(status=503, content="overloaded")
    with LLMClient(llm_config) as client, pytest.raises(R2DError) as info:
        client.chat(ask())
    assert len(fake_llm.requests) == 3  # first try + max_retries=2
    assert "HTTP 503" in str(info.value) and "overloaded" in str(info.value)
    assert fake_llm.url.rstrip("/") in str(info.value)
    assert client.usage.failures == 1


def test_timeout_is_retried(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(
        content="late", delay=1.0 if n == 1 else 0.0
    )
    config = dataclasses.replace(llm_config, timeout=0.3)
    with LLMClient(config) as client:
        assert client.chat(ask()).content == "late"
    assert len(fake_llm.requests) == 2 and client.usage.retries == 1


def test_timeout_every_time_fails_naming_the_timeout(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(delay=0.6)
    config = dataclasses.replace(llm_config, timeout=0.2, max_retries=1)
    with LLMClient(config) as client, pytest.raises(R2DError, match="timeout"):
        client.chat(ask())


def test_malformed_response_body_is_retried(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: (
        fake_llm.reply(raw=b'{"choices": [ not json') if n == 1 else fake_llm.reply(content="good")
    )
    with LLMClient(llm_config) as client:
        assert client.chat(ask()).content == "good"
    assert len(fake_llm.requests) == 2


def test_malformed_response_body_every_time_fails(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(raw=b"<html>proxy error</html>")
    with LLMClient(llm_config) as client, pytest.raises(R2DError, match="failed 3 time"):
        client.chat(ask())


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "OPENAI_API_KEY"), (403, "API key"), (404, "model name")]
)
def test_refusals_are_not_retried_and_say_how_to_fix(fake_llm, llm_config, status, hint):
    fake_llm.responder = lambda body, n: fake_llm.reply(status=status, content="nope")
    with LLMClient(llm_config) as client, pytest.raises(R2DError) as info:
        client.chat(ask())
    assert len(fake_llm.requests) == 1
    assert hint in str(info.value) and f"HTTP {status}" in str(info.value)


def test_bad_request_is_not_retried(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(status=400, content="max_tokens too large")
    with LLMClient(llm_config) as client, pytest.raises(R2DError, match="max_tokens too large"):
        client.chat(ask())
    assert len(fake_llm.requests) == 1


def test_unreachable_server_fails_after_retries(llm_config, fake_llm):
    fake_llm.stop()
    with LLMClient(llm_config) as client, pytest.raises(R2DError, match="connection error"):
        client.chat(ask())
    assert client.usage.retries == 2 and client.usage.failures == 1


def test_api_key_is_read_from_the_named_variable(fake_llm, llm_config, monkeypatch):
    monkeypatch.setenv("R2D_TEST_KEY", "sk-secret-123")
    config = dataclasses.replace(llm_config, api_key_env="R2D_TEST_KEY")
    with LLMClient(config) as client:
        client.chat(ask())
    assert fake_llm.headers[0]["authorization"] == "Bearer sk-secret-123"
    # The key is not part of the cache entry.
    stored = list((llm_config.cache_dir).rglob("*.json"))
    assert stored and "sk-secret-123" not in stored[0].read_text()


def test_map_bounds_concurrency_and_keeps_order(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(
        content=body["messages"][0]["content"].upper(), delay=0.05
    )
    config = dataclasses.replace(llm_config, concurrency=3)
    seen: list[int] = []
    caller = threading.get_ident()
    threads: set[int] = set()

    def on_result(index: int, value: str) -> None:
        seen.append(index)
        threads.add(threading.get_ident())

    with LLMClient(config) as client:
        items = [f"item {i}" for i in range(10)]
        results = client.map(
            lambda text: client.chat(ask(text)).content, items, on_result=on_result
        )
    assert results == [f"ITEM {i}" for i in range(10)]
    assert sorted(seen) == list(range(10))
    assert threads == {caller}
    assert 2 <= fake_llm.max_in_flight <= 3


def test_map_stops_on_error_but_delivers_finished_items(fake_llm, llm_config):
    def responder(body, n):  # type: ignore[no-untyped-def]
        text = body["messages"][0]["content"]
        if text == "item 1":
            return fake_llm.reply(status=400, content="bad item")
        return fake_llm.reply(content=text, delay=0.1 if text == "item 0" else 0.0)

    fake_llm.responder = responder
    delivered: list[int] = []
    with LLMClient(llm_config) as client, pytest.raises(R2DError, match="bad item"):
        client.map(
            lambda text: client.chat(ask(text)).content,
            [f"item {i}" for i in range(20)],
            on_result=lambda index, value: delivered.append(index),
        )
    assert 0 in delivered  # in flight when item 1 failed: finished and handed over
    assert len(fake_llm.requests) < 20  # no new items started after the failure


def test_progress_bar_runs(fake_llm, llm_config, capsys):
    with LLMClient(llm_config) as client:
        client.map(lambda t: client.chat(ask(t)).content, ["a", "b"], progress=True)
    assert "2/2" in capsys.readouterr().err


def test_config_rejects_nonsense(llm_config):
    for change in ({"concurrency": 0}, {"timeout": 0}, {"model": " "}, {"base_url": ""}):
        with pytest.raises(R2DError):
            dataclasses.replace(llm_config, **change)


def test_backoff_is_bounded_by_max_backoff(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: (
        fake_llm.reply(status=500) if n <= 3 else fake_llm.reply(content="ok")
    )
    config = dataclasses.replace(llm_config, max_retries=3, backoff=10.0, max_backoff=0.02)
    started = time.perf_counter()
    with LLMClient(config) as client:
        assert client.chat(ask()).content == "ok"
    assert time.perf_counter() - started < 2.0
