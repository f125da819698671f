"""Refusals: each limit, malformed and mistyped requests, timeouts, auth on and off, CORS,
unsafe host settings. A refusal is JSON naming the field, never a traceback."""

from __future__ import annotations

import json
import time

import pytest

from reason2decide.errors import R2DError
from reason2decide.serve.config import ServeSettings
from serve_support import FakePredictor, client_for, fake_served


def refused(response, status: int, field: str | None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field, body
    assert body["error"] and body["request_id"]
    assert "Traceback" not in response.text
    return body


@pytest.fixture()
def client():
    with client_for(fake_served(), max_cases=3, max_text_chars=50, max_body_bytes=2000) as c:
        yield c


def test_body_over_the_limit_is_413(client):
    big = {"text": "x" * 40, "id": "y" * 3000}
    refused(client.post("/v1/predict", json=big), 413, "body")


def test_body_over_the_limit_without_content_length_is_413(client):
    def chunks():
        for _ in range(10):
            yield b" " * 500

    response = client.post(
        "/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    refused(response, 413, "body")


def test_too_many_cases_is_413(client):
    cases = [{"text": "fever"}] * 4
    body = refused(client.post("/v1/predict", json={"cases": cases}), 413, "cases")
    assert "3" in body["error"]
    assert client.post("/v1/predict", json={"cases": cases[:3]}).status_code == 200


def test_text_too_long_is_422_naming_the_case(client):
    cases = [{"text": "fever"}, {"text": "x" * 51}]
    refused(client.post("/v1/predict", json={"cases": cases}), 422, "cases[1].text")
    refused(client.post("/v1/predict", json={"text": "x" * 51}), 422, "text")
    refused(client.post("/v1/predict", json={"text": "   "}), 422, "text")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"text": 3}).encode(), "text"),
        (json.dumps({"text": "a", "rationale": "yes"}).encode(), "rationale"),
        (json.dumps({"cases": [{"text": "a"}, {"txt": "b"}]}).encode(), "cases[1].text"),
        (json.dumps({"cases": "abc"}).encode(), "cases"),
        (json.dumps({"text": "a", "colour": "red"}).encode(), "colour"),
        (json.dumps({"text": "a", "cases": [{"text": "b"}]}).encode(), "body"),
        (json.dumps({"rationale": True}).encode(), "body"),
    ],
)
def test_malformed_or_mistyped_requests_are_422_with_the_field(client, payload, field):
    response = client.post(
        "/v1/predict", content=payload, headers={"content-type": "application/json"}
    )
    refused(response, 422, field)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"text": "fever \\ud800 today"}', "text"),
        (b'{"text": "fever", "id": "a\\udfff"}', "id"),
        (b'{"cases": [{"text": "a"}, {"text": "b"}, {"text": "\\udc00"}]}', "cases[2].text"),
        (b'{"cases": [{"text": "a", "id": "\\ud800"}]}', "cases[0].id"),
    ],
)
def test_lone_surrogate_is_422_naming_the_field(client, payload, field):
    # json.loads lets "\ud800" through as a str no UTF-8 encoder takes: refused before the model
    # (a failed tokenizer would fail every case of its micro-batch) and before the answer
    response = client.post(
        "/v1/predict", content=payload, headers={"content-type": "application/json"}
    )
    body = refused(response, 422, field)
    assert "lone surrogate at position" in body["error"]


def test_surrogate_pair_escape_is_a_valid_text(client):
    response = client.post(
        "/v1/predict",
        content=b'{"text": "fever \\ud83d\\ude00", "id": "\\ud83d\\ude00"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"][0]["id"] == "\U0001f600"


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b'{"text": "fever \xff"}', "application/json"),
        (b'{"text": "fever"}', "text/plain"),
        (b'{"text": "fever"}', "application/x-www-form-urlencoded"),
        (b'{"text": "fever"}', None),
    ],
)
def test_body_not_utf8_json_is_400_at_body(client, payload, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/predict", content=payload, headers=headers)
    body = refused(response, 400, "body")
    assert "UTF-8 JSON" in body["error"] and "application/json" in body["error"]


def test_bulk_refusals(client):
    post = client.post
    refused(post("/v1/predict/bulk", content=b"text\na\n"), 422, "format")
    refused(post("/v1/predict/bulk?format=xml", content=b"a"), 422, "format")
    refused(post("/v1/predict/bulk?format=csv&output=xml", content=b"text\na\n"), 422, "output")
    refused(post("/v1/predict/bulk?format=csv", content=b"id,body\n1,a\n"), 422, "line 2")
    refused(post("/v1/predict/bulk?format=jsonl", content=b'{"text":"a"}\n[1]\n'), 422, "line 2")
    refused(post("/v1/predict/bulk?format=jsonl", content=b'{"text":5}\n'), 422, "line 1.text")
    surrogate = b'{"text":"a"}\n{"text":"b"}\n{"text":"\\ud800"}\n'
    body = refused(post("/v1/predict/bulk?format=jsonl", content=surrogate), 422, "line 3.text")
    assert "lone surrogate at position 0" in body["error"]
    short = b'id,text\na,"two\nlines"\nb\n'
    body = refused(post("/v1/predict/bulk?format=csv", content=short), 422, "line 4")
    assert "too few cells" in body["error"]
    refused(post("/v1/predict/bulk?format=csv", content=b"text\n"), 422, "body")
    refused(post("/v1/predict/bulk?format=csv", content=b"\xff\xfe\x00"), 422, "body")
    long_text = "text\n" + "x" * 60 + "\n"
    refused(post("/v1/predict/bulk?format=csv", content=long_text), 422, "case 1.text")
    many = "text\n" + "fever\n" * 400
    refused(post("/v1/predict/bulk?format=csv", content=many), 413, "body")


def test_bulk_case_limit_is_413():
    with client_for(fake_served(), max_bulk_cases=2) as c:
        response = c.post("/v1/predict/bulk?format=csv", content="text\na\nb\nc\n")
        refused(response, 413, "body")
        assert c.post("/v1/predict/bulk?format=csv", content="text\na\nb\n").status_code == 200


def test_request_timeout_is_503_and_the_server_keeps_working():
    slow = FakePredictor(label_sleep=0.5)
    with client_for(fake_served(slow), request_timeout_s=0.1) as c:
        response = c.post("/v1/predict", json={"text": "fever"})
        refused(response, 503, None)
        assert response.headers["retry-after"]
        slow.label_sleep = 0.0
        time.sleep(0.5)  # the pass already running cannot be interrupted
        assert c.post("/v1/predict", json={"text": "yes fever"}).status_code == 200


def test_model_failure_is_500_without_the_text(caplog):
    class Broken(FakePredictor):
        def score_batch(self, questions):
            raise RuntimeError(f"cannot read {questions[0]}")

    with caplog.at_level("DEBUG"), client_for(fake_served(Broken())) as c:
        response = c.post("/v1/predict", json={"text": "secretword"})
        refused(response, 500, None)
        assert c.get("/health").status_code == 200
    assert "secretword" not in response.text and "secretword" not in caplog.text


def test_unexpected_error_is_the_json_500_and_logged_without_its_message(caplog, tmp_path):
    # an error outside the model pass (here: the prediction cannot be written) must not reach
    # Starlette's ServerErrorMiddleware, which re-raises it for uvicorn to log with its message;
    # the TestClient raises what the app lets escape, as uvicorn would log it
    class Unwritable:
        def to_dict(self):  # noqa: ANN202
            raise RuntimeError("cannot write the case about secretword")

    class Odd(FakePredictor):
        def score_batch(self, questions):
            return [Unwritable() for _ in questions]

    audit = tmp_path / "audit.jsonl"
    with caplog.at_level("DEBUG"), client_for(fake_served(Odd()), audit_log=str(audit)) as c:
        response = c.post("/v1/predict", json={"text": "fever", "rationale": False})
        refused(response, 500, None)
        assert c.get("/health").status_code == 200
    assert "secretword" not in response.text and "secretword" not in caplog.text
    failures = [r for r in caplog.records if "RuntimeError" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is None
    (line,) = [json.loads(x) for x in audit.read_text().splitlines()]
    assert line["status"] == 500 and line["request_id"] == response.json()["request_id"]


def test_auth_on(monkeypatch):
    monkeypatch.setenv("R2D_TEST_KEY", "s3cret-key")
    with client_for(fake_served(), api_key_env="R2D_TEST_KEY") as c:
        for path in ("/v1/info", "/metrics"):
            response = c.get(path)
            refused(response, 401, "authorization")
            assert response.headers["www-authenticate"] == "Bearer"
        refused(c.post("/v1/predict", json={"text": "a"}), 401, "authorization")
        wrong = {"Authorization": "Bearer s3cret-kex"}
        refused(c.post("/v1/predict", json={"text": "a"}, headers=wrong), 401, "authorization")
        basic = {"Authorization": "Basic s3cret-key"}
        refused(c.get("/v1/info", headers=basic), 401, "authorization")
        good = {"Authorization": "Bearer s3cret-key"}
        assert c.post("/v1/predict", json={"text": "a"}, headers=good).status_code == 200
        assert c.get("/v1/info", headers=good).status_code == 200
        # what load balancers and the page need stays open
        for path in ("/health", "/ready", "/"):
            assert c.get(path).status_code == 200


def test_auth_off_by_default_on_loopback():
    with client_for(fake_served()) as c:
        assert c.post("/v1/predict", json={"text": "a"}).status_code == 200


def test_non_loopback_host_needs_a_key_or_insecure(monkeypatch):
    with pytest.raises(R2DError, match="api-key-env"):
        ServeSettings(host="0.0.0.0").api_key()
    assert ServeSettings(host="0.0.0.0", insecure=True).api_key() is None
    assert ServeSettings(host="::1").api_key() is None
    assert ServeSettings(host="localhost").api_key() is None
    monkeypatch.delenv("R2D_UNSET_KEY", raising=False)
    with pytest.raises(R2DError, match="R2D_UNSET_KEY"):
        ServeSettings(host="0.0.0.0", api_key_env="R2D_UNSET_KEY").api_key()
    monkeypatch.setenv("R2D_SET_KEY", "k")
    assert ServeSettings(host="10.0.0.2", api_key_env="R2D_SET_KEY").api_key() == "k"


@pytest.mark.parametrize("name", ["max_batch_size", "max_cases", "max_text_chars"])
def test_limits_must_be_positive(name):
    with pytest.raises(R2DError, match=name):
        ServeSettings(**{name: 0})


def test_cors_off_unless_configured():
    headers = {
        "Origin": "https://ehr.example",
        "Access-Control-Request-Method": "POST",
    }
    with client_for(fake_served()) as c:
        response = c.options("/v1/predict", headers=headers)
        assert "access-control-allow-origin" not in response.headers
        simple = c.post(
            "/v1/predict", json={"text": "a"}, headers={"Origin": "https://ehr.example"}
        )
        assert "access-control-allow-origin" not in simple.headers
    with client_for(fake_served(), cors_origin=["https://ehr.example"]) as c:
        response = c.options("/v1/predict", headers=headers)
        assert response.headers["access-control-allow-origin"] == "https://ehr.example"
        other = c.options("/v1/predict", headers={**headers, "Origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
