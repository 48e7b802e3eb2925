"""Answers that loop: cut where a small model starts saying the same thing over again.

A 135M model decoding greedily falls into loops ("I'm sorry. I'm sorry. I'm sorry. ...", "in the
south-eastern part of the south-western part of the south-eastern part of ...", "a vegan vegan
vegan cream"): 145 of the 1,172 answers the served arms gave in ``bench/results/serve_eval*.json``
repeat a span of words three times or more in a row. Nothing after the second copy adds
anything, so the server keeps one copy and ends the answer at the last sentence (or clause)
before the loop; a doubled word ("vegan vegan cream") is said once and the answer goes on.

``tidy`` is pure text in, text out, so the non-streamed path, the streamed path and the retry
all read answers the same way, and the rails check what the user gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
_EDGE = ".,;:!?\"'()[]*"
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_CLAUSE_END = re.compile(r"[,;:](?=\s|$)")

# A span of up to this many words, said this many times in a row, is a loop. Three copies, not
# two: "very, very" and a refrain said twice are prose; a third copy in a row is not.
MAX_SPAN = 20
COPIES = 3
# A single word takes four copies before it counts ("no, no, no" is emphasis), and is collapsed
# rather than cut: "1 tbsp vegan vegan vegan stock" still has the rest of its sentence to say.
WORD_COPIES = 4


@dataclass(frozen=True)
class Tidied:
    text: str
    cut: bool  # a loop was cut: the rest of the answer is gone (stop generating)
    collapsed: int  # doubled words said once


def tidy(text: str) -> Tidied:
    """``text`` with repeated words said once and the answer cut before its first loop."""
    text, collapsed = _collapse_words(text)
    start = _loop_start(text)
    if start is None:
        return Tidied(text, False, collapsed)
    return Tidied(_end_cleanly(text[:start]), True, collapsed)


def _tokens(text: str) -> tuple[list[int], list[int], list[str]]:
    """Where each word starts and ends, and the word itself, bare and lower-cased."""
    starts, ends, words = [], [], []
    for m in _WORD.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
        words.append(m.group().strip(_EDGE).lower())
    return starts, ends, words


def _collapse_words(text: str) -> tuple[str, int]:
    """Runs of one word said ``WORD_COPIES`` times or more, said once."""
    starts, ends, words = _tokens(text)
    out, at, collapsed, i = [], 0, 0, 0
    while i < len(words):
        j = i + 1
        while j < len(words) and words[j] == words[i] and words[i]:
            j += 1
        if j - i >= WORD_COPIES:
            # keep the first copy, drop the others up to the start of the next word
            out.append(text[at : ends[i]])
            at = starts[j] if j < len(words) else len(text)
            out.append(" " if j < len(words) else "")
            collapsed += j - i - 1
        i = j
    out.append(text[at:])
    return "".join(out), collapsed


def _loop_start(text: str) -> int | None:
    """Offset of the second copy of the first span said ``COPIES`` times in a row, or None."""
    starts, _, words = _tokens(text)
    n = len(words)
    best: int | None = None
    for span in range(2, MAX_SPAN + 1):
        if best is not None and best <= span:
            break  # no later span can start its second copy earlier
        for i in range(0, n - COPIES * span + 1):
            if best is not None and i + span >= best:
                break
            if words[i + span] != words[i]:  # the cheap test first
                continue
            unit = words[i : i + span]
            if all(words[i + k * span : i + (k + 1) * span] == unit for k in range(1, COPIES)):
                best = i + span
                break
    return None if best is None else starts[best]


def _end_cleanly(kept: str) -> str:
    """The kept text, ended at its last sentence or clause boundary: a clause gets a full stop."""
    kept = kept.rstrip()
    if not kept or kept[-1] in ".!?":
        return kept
    sentence = max((m.end() for m in _SENTENCE_END.finditer(kept)), default=0)
    clause = max((m.start() for m in _CLAUSE_END.finditer(kept)), default=0)
    if sentence >= clause and sentence > 0:
        return kept[:sentence]
    if clause > 0:
        kept = kept[:clause]
    return kept.rstrip(" ,;:-") + "."
