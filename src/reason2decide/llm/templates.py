"""Prompt templates for the LLM teacher and the zero-shot baseline, and how to load your own.

A template is a system message (optional) and a user message with placeholders:
``{question}`` (the case text), ``{label}`` (the decision to justify) and ``{labels}`` (the label
set, comma-separated). Only these three names are replaced; any other braces stay as written, so
a template may show JSON. A template file is plain UTF-8 text: either the user message alone, or
sections introduced by a line ``[system]`` and a line ``[user]``.

Every template has a version string, written beside each generated rationale: the built-in ones
carry a name (``clinical-rationale-v1``); a template read from a file is versioned by a hash of
its text (``custom-<12 hex digits>``), so that two different files never share a version.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from reason2decide.errors import R2DError

PLACEHOLDERS = ("question", "label", "labels")
_PLACEHOLDER = re.compile(r"\{(question|labels|label)\}")
_SECTION = re.compile(r"^\[(system|user)\][ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    """A system message (or ``None``), a user message with placeholders, and a version."""

    user: str
    system: str | None = None
    version: str = "custom"

    def placeholders(self) -> set[str]:
        """The placeholder names used in the system and user messages."""
        text = self.user + (self.system or "")
        return set(_PLACEHOLDER.findall(text))

    def render(
        self, question: str, label: str | None = None, labels: list[str] | None = None
    ) -> list[dict[str, str]]:
        """The chat messages for one case."""
        values = {
            "question": question,
            "label": label if label is not None else "",
            "labels": ", ".join(labels or []),
        }

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)

        messages = []
        if self.system:
            messages.append({"role": "system", "content": fill(self.system)})
        messages.append({"role": "user", "content": fill(self.user)})
        return messages

    def require(self, *names: str, path: str | os.PathLike[str] | None = None) -> None:
        """Raise :class:`R2DError` if a placeholder in ``names`` is missing from the template."""
        missing = [name for name in names if name not in self.placeholders()]
        if missing:
            shown = ", ".join("{" + name + "}" for name in missing)
            raise R2DError(
                f"the prompt template has no {shown} placeholder",
                path=path,
                hint=f"write {shown} where the text should go",
            )


def load_template(
    path: str | os.PathLike[str], *, default_system: str | None = None
) -> PromptTemplate:
    """Read a template file (see the module docstring); ``default_system`` when it has none."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise R2DError("prompt template file not found", path=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise R2DError(f"cannot read the prompt template: {exc}", path=source) from None
    version = "custom-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    sections = _SECTION.split(text)
    if len(sections) == 1:
        user, system = text.strip(), default_system
    else:
        if sections[0].strip():
            raise R2DError(
                "text before the first [system] or [user] line",
                path=source,
                line=1,
                hint="start the file with [system] or [user], or use no section lines at all",
            )
        parts: dict[str, str] = {}
        for name, body in zip(sections[1::2], sections[2::2], strict=True):
            if name in parts:
                raise R2DError(f"the [{name}] section appears twice", path=source)
            parts[name] = body.strip()
        if "user" not in parts:
            raise R2DError("the template has no [user] section", path=source)
        user, system = parts["user"], parts.get("system") or None
    if not user:
        raise R2DError("the prompt template's user message is empty", path=source)
    template = PromptTemplate(user=user, system=system, version=version)
    template.require("question", path=source)
    return template


CLINICAL_SYSTEM = (
    "You are an experienced clinician who teaches junior doctors. You explain clinical decisions "
    "clearly and accurately, using only the information in the case and established medical "
    "knowledge."
)

#: The default teacher prompt: a short rationale that justifies the given (gold) decision.
RATIONALE_TEMPLATE = PromptTemplate(
    version="clinical-rationale-v1",
    system=CLINICAL_SYSTEM,
    user=(
        "Case:\n{question}\n\n"
        "Decision: {label}\n\n"
        "In 2 to 4 sentences, explain why this decision is the right one for this case. Point to "
        "the specific findings in the case that support it and say how they lead to the decision. "
        "Do not invent facts that are not in the case, do not restate the question, and do not "
        "hedge. Write the explanation only."
    ),
)

#: The zero-shot baseline's label prompt: one label out of the label set, nothing else.
ZERO_SHOT_LABEL_TEMPLATE = PromptTemplate(
    version="zero-shot-label-v1",
    system=CLINICAL_SYSTEM,
    user=(
        "Case:\n{question}\n\n"
        "Choose the correct decision for this case. Reply with exactly one of these options and "
        "nothing else: {labels}"
    ),
)
