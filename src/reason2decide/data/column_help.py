"""What each column option means, in one place: the help of the column flags of every command
(``cli/columns.py``) and the descriptions of the same training options (``TrainConfig``)."""

from __future__ import annotations

COLUMN_HELP: dict[str, str] = {
    "question_col": "Input text column.",
    "label_col": "Gold label column.",
    "rationale_col": "Gold rationale column.",
    "id_col": "Id column (generated when absent).",
    "question_template": (
        "Build the input text from columns: '{complaint}. Vitals: {vitals}' (a field "
        "{col:optional} may be empty; {options} places the lettered options)."
    ),
    "choices_cols": (
        "Multiple choice: one column per option, comma-separated, e.g. opa,opb,opc,opd "
        "(empty options dropped); each case is scored over its own options."
    ),
    "choices_col": (
        "Multiple choice: one column holding each case's options (a list; in CSV/TSV a string "
        "split on --choices-sep, or a JSON list)."
    ),
    "choices_sep": "Separator of the options in a --choices-col text cell.",
    "answer_format": (
        "How the label column names the right option: auto, text, letter, index0 or index1."
    ),
}
