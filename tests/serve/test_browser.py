"""The page in a real browser (headless Chromium): type a case, press the button, read the
decision, the probabilities and the rationale; upload a file and read the results."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request

import pytest

from headless_chromium import Chromium, find_chromium
from serve_support import LABELS, running_server

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def site(served):
    from reason2decide.serve.app import create_app

    with running_server(create_app(served)) as url:
        yield url


def ask_api(url: str, text: str) -> dict:
    """The same case over the API, to compare with what the page shows."""
    request = urllib.request.Request(
        url + "/v1/predict",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["predictions"][0]


def test_page_decides_a_typed_case(site, served, tmp_path):
    url = site
    case = "does a child with fever since monday need a doctor"
    with Chromium(CHROMIUM) as browser:
        browser.goto(url + "/")
        run_id = served.identity["run_id"]
        browser.wait_for(f"document.getElementById('model').textContent.includes('{run_id}')")
        assert "not a medical device" in browser.evaluate(
            "document.getElementById('note').innerText"
        )
        facts = browser.evaluate("document.getElementById('evaluation').innerText")
        assert "accuracy" in facts and "0.750" in facts
        browser.type_into("#text", case)
        browser.click("#decide")
        browser.wait_for(
            "!document.getElementById('result').hidden || !document.getElementById('error').hidden"
        )
        assert browser.evaluate("document.getElementById('error').hidden"), browser.evaluate(
            "document.getElementById('error').textContent"
        )
        decision = browser.evaluate("document.getElementById('decision').textContent")
        bars = browser.evaluate(
            "[...document.querySelectorAll('#bars .bar')].map(b => "
            "[b.dataset.label, b.querySelector('.probability').textContent])"
        )
        rationale = browser.evaluate("document.getElementById('rationale-text').textContent")
        shot = browser.screenshot(tmp_path / "page.png")
        if os.environ.get("R2D_SERVE_SCREENSHOT"):
            shutil.copy(shot, os.environ["R2D_SERVE_SCREENSHOT"])
    expected = ask_api(url, case)
    assert decision == expected["label"]
    assert sorted(label for label, _ in bars) == sorted(LABELS)
    for label, shown in bars:
        assert shown == f"{100 * expected['probabilities'][label]:.1f}%"
    assert rationale == expected["rationale"] and rationale
    assert shot.stat().st_size > 10_000


def test_page_uploads_a_file_and_offers_the_results(site, tmp_path):
    url = site
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "".join(json.dumps({"id": f"k{i}", "text": f"rash {i}"}) + "\n" for i in range(3))
    )
    with Chromium(CHROMIUM) as browser:
        browser.goto(url + "/")
        browser.wait_for("document.getElementById('facts').children.length > 0")
        document = browser.send("DOM.getDocument")["root"]["nodeId"]
        node = browser.send("DOM.querySelector", {"nodeId": document, "selector": "#file"})
        browser.send("DOM.setFileInputFiles", {"files": [str(cases)], "nodeId": node["nodeId"]})
        browser.evaluate("document.getElementById('output').value = 'jsonl'")
        browser.click("#upload")
        browser.wait_for("!document.getElementById('download').hidden")
        text = browser.evaluate(
            "fetch(document.getElementById('download').href).then(r => r.text())"
        )
        name = browser.evaluate("document.getElementById('download').download")
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["id"] for r in rows] == ["k0", "k1", "k2"]
    assert all(r["label"] in LABELS for r in rows)
    assert name == "cases.predictions.jsonl"
