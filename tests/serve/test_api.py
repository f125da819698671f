"""Every endpoint, with the tiny run folder: the answers, the model identity, the metrics."""

from __future__ import annotations

import csv
import io
import json

import pytest

from serve_support import LABELS, client_for


@pytest.fixture(scope="module")
def client(served):
    with client_for(served) as c:
        yield c


def test_one_case_gets_label_probabilities_rationale_and_model(client, served):
    response = client.post("/v1/predict", json={"text": "child with fever today", "id": "c1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == served.identity
    assert set(body["model"]) == {"method", "backbone", "run_id"}
    assert body["model"]["method"] == "r2d" and body["model"]["backbone"] == "tiny-t5"
    (p,) = body["predictions"]
    assert p["id"] == "c1" and p["label"] in LABELS
    assert set(p["probabilities"]) == set(LABELS)
    assert sum(p["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
    assert isinstance(p["rationale"], str)
    assert response.headers["x-request-id"] == body["request_id"]


def test_many_cases_in_order_and_same_as_offline_predictor(client, served):
    texts = [f"does a child with {w} need a doctor" for w in ("fever", "itch", "rash", "yawning")]
    cases = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    response = client.post("/v1/predict", json={"cases": cases, "rationale": True})
    assert response.status_code == 200, response.text
    rows = response.json()["predictions"]
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"]
    offline = served.predictor.predict(texts, with_rationale=True)
    for row, expected in zip(rows, offline, strict=True):
        assert row["label"] == expected.label
        assert row["rationale"] == expected.rationale
        for label in LABELS:
            assert row["probabilities"][label] == pytest.approx(
                expected.probabilities[label], abs=1e-4
            )


def test_label_only_request_has_no_rationale(client):
    response = client.post("/v1/predict", json={"text": "itch at night", "rationale": False})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["rationale"] is None


def test_info_health_ready(client, served):
    info = client.get("/v1/info").json()
    assert info["model"] == served.identity
    assert info["labels"] == LABELS
    assert info["data"]["train"]["sha256"] == "ab" * 32 and info["data"]["train"]["rows"] == 8
    # file names only: the folders of the training machine are not shown
    assert "path" not in info["data"]["train"] and "/" not in info["data"]["train"]["file"]
    assert "path" not in info["evaluation"]["test_set"]
    assert info["evaluation"]["metrics"]["accuracy"] == 0.75
    assert info["evaluation"]["test_set"]["rows"] == 4
    assert info["input"]["fields"] == ["text"]
    assert info["prior_tau"] == 0.0
    assert "not a medical device" in info["note"]
    assert info["limits"]["max_cases"] == 64
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["model"] == served.identity


def test_bulk_csv_in_jsonl_out_same_order(client):
    body = "id,text\na,child with fever today\nb,itch at night\nc,rash since monday\n"
    response = client.post(
        "/v1/predict/bulk?rationale=false", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert all(r["label"] in LABELS and r["rationale"] is None for r in rows)
    assert json.loads(response.headers["x-model"])["method"] == "r2d"


def test_bulk_jsonl_in_csv_out(client):
    lines = [json.dumps({"question": f"case {i} fever"}) for i in range(5)]
    response = client.post(
        "/v1/predict/bulk?format=jsonl&output=csv", content="\n".join(lines) + "\n"
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5
    assert list(rows[0]) == ["id", "label", "p_no", "p_yes", "rationale"]
    assert all(float(r["p_no"]) + float(r["p_yes"]) == pytest.approx(1, abs=1e-4) for r in rows)
    assert all(r["rationale"] for r in rows)


def test_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert "not a medical device" in page
    # nothing fetched from elsewhere: no external scripts, styles or fonts
    for marker in (
        "http://",
        "https://",
        "//cdn",
        "@import",
        "<script src",
        '<link rel="stylesheet',
    ):
        assert marker not in page, marker
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    schema = client.get("/openapi.json").json()
    assert "/v1/predict" in schema["paths"] and "/v1/predict/bulk" in schema["paths"]


def test_metrics_count_requests_errors_latency_batches(client):
    client.post("/v1/predict", json={"text": "fever"})
    client.post("/v1/predict", json={"text": 5})
    text = client.get("/metrics").text
    assert 'r2d_requests_total{endpoint="/v1/predict",status="200"}' in text
    assert 'r2d_requests_total{endpoint="/v1/predict",status="422"}' in text
    assert 'r2d_errors_total{endpoint="/v1/predict"}' in text
    assert 'r2d_request_seconds_count{endpoint="/v1/predict"}' in text
    assert 'r2d_batch_size_count{kind="label"}' in text
    assert 'r2d_batch_size_count{kind="rationale"}' in text
    assert "r2d_queue_cases 0" in text


def test_audit_log_hashes_text_and_server_log_has_none(served, tmp_path, caplog):
    log = tmp_path / "audit.jsonl"
    secret = "child with fever secretword today"
    with caplog.at_level("DEBUG"), client_for(served, audit_log=str(log)) as c:
        c.post("/v1/predict", json={"cases": [{"id": "x", "text": secret}, {"text": "itch"}]})
        c.post("/v1/predict", json={"text": ["not", "a", "string"]})
        c.post("/v1/predict", json={"text": "   "})
        c.post("/v1/predict/bulk?format=csv", content="text\nfever\n")
        c.get("/v1/info")  # not a prediction: no line
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["status"] for line in lines] == [200, 422, 422, 200]
    assert lines[3]["endpoint"] == "/v1/predict/bulk" and lines[3]["n_cases"] == 1
    first = lines[0]
    assert first["status"] == 200 and first["n_cases"] == 2 and first["ids"] == ["x", None]
    assert first["model"] == served.identity and first["latency_ms"] >= 0
    assert first["labels"][0] in LABELS and set(first["probabilities"][0]) == set(LABELS)
    assert all(i.startswith("sha256:") for i in first["inputs"])
    assert lines[1]["status"] == 422
    assert "secretword" not in log.read_text()
    assert "secretword" not in caplog.text

    kept = tmp_path / "kept.jsonl"
    with client_for(served, audit_log=str(kept), audit_log_text=True) as c:
        c.post("/v1/predict", json={"text": secret})
    assert json.loads(kept.read_text())["inputs"] == [secret]


def test_info_reads_test_metrics_from_the_model_card(tmp_path, served):
    from reason2decide.serve.model import describe
    from reason2decide.training.model_card import add_evaluation
    from serve_support import make_run_folder

    run = make_run_folder(tmp_path)
    (run / "eval" / "metrics.json").unlink()  # evaluated elsewhere: only the card knows
    manifest = json.loads((run / "run.json").read_text())
    assert describe(run, served.predictor)[1]["evaluation"] is None
    add_evaluation(run, {"accuracy": 0.5, "n": 4}, {"path": "/t/test.jsonl", "rows": 4})
    assert manifest["method"] == "r2d"
    info = describe(run, served.predictor)[1]
    assert info["evaluation"]["metrics"] == {"accuracy": 0.5, "n": 4}
    assert info["evaluation"]["test_set"] == {"file": "test.jsonl", "rows": 4}
    assert "| accuracy | 0.5 |" in info["model_card"]
