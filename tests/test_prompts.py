"""The three prompt formats, exactly as the paper and its reference code write them."""

from reason2decide.prompts import conditioned_explain_prompt, explain_prompt, predict_prompt


def test_prompt_formats():
    assert predict_prompt("chest pain") == "predict: chest pain"
    assert explain_prompt("chest pain") == "explain: chest pain"
    assert (
        conditioned_explain_prompt("emergency now", "chest pain")
        == "given label: emergency now, explain: chest pain"
    )
