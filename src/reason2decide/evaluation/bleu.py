"""Rationale BLEU: mean sentence-level BLEU of generated rationales against gold ones.

Settings follow the Reason2Decide evaluation: nltk ``sentence_bleu``, lower-cased word tokens,
uniform 4-gram weights, smoothing method 4, mean over examples.

Tokenisation. The reference evaluation tokenises with ``nltk.word_tokenize``, which needs the
downloaded ``punkt`` data; this project must run offline, so it uses its own regular expression
(``bleu_tokenize``) instead. ``TreebankWordTokenizer`` alone was rejected: without sentence
splitting it leaves every sentence-final period but the last glued to its word ("cells." is not
"cells"), which penalises multi-sentence rationales unevenly. The regex lower-cases and keeps as
single tokens numbers with decimal points or thousands separators ("2.5", "1,000") and words
joined by hyphens ("beta-blocker", "covid-19"); every other non-space, non-word character is a
token of its own. It differs from ``word_tokenize`` mainly on clitics ("patient's" gives
"patient", "'", "s" rather than "patient", "'s"), so scores are close to, but not always equal
to, the paper's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:-\w+)*|[^\w\s]")
_WEIGHTS = (0.25, 0.25, 0.25, 0.25)
_SMOOTHING = SmoothingFunction().method4


def bleu_tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` as used for BLEU (needs no downloaded nltk data)."""
    return _TOKEN.findall(text.lower())


def example_bleu(references: str | Sequence[str], hypothesis: str) -> float:
    """Sentence BLEU of one hypothesis against one reference or several.

    Empty references (no tokens) are ignored; with no non-empty reference, or an empty
    hypothesis, the score is 0.
    """
    ref_texts = [references] if isinstance(references, str) else list(references)
    ref_tokens = [tokens for tokens in map(bleu_tokenize, ref_texts) if tokens]
    hyp_tokens = bleu_tokenize(hypothesis)
    if not ref_tokens or not hyp_tokens:
        return 0.0
    return float(
        sentence_bleu(ref_tokens, hyp_tokens, weights=_WEIGHTS, smoothing_function=_SMOOTHING)
    )


def rationale_bleu(
    references: Sequence[str] | Sequence[Sequence[str]], hypotheses: Sequence[str]
) -> float:
    """Mean over examples of sentence BLEU.

    ``references[i]`` is either one reference string or a list of reference strings for
    ``hypotheses[i]``. An empty hypothesis scores 0 for its example (it still counts in the mean).
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("rationale_bleu needs at least one example")
    scores = [example_bleu(ref, hyp) for ref, hyp in zip(references, hypotheses, strict=True)]
    return sum(scores) / len(scores)
