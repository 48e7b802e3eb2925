"""Contamination between training and eval files: exact and near duplicates.

Normalisation: lower case, punctuation dropped, whitespace collapsed. Then three tests,
each aimed at one way a duplicate hides:

- **exact**: equal normalised text (catches re-cased and re-punctuated copies);
- **token-set Jaccard** >= ``token_threshold`` over content words: catches reordered
  sentences and one-word swaps (a swap in a 10-word prompt keeps 9/11 of the set);
- **shingle Jaccard** >= ``shingle_threshold`` over word 3-grams: catches long shared
  passages inside otherwise different text;
- **containment**: one text's whole normalised wording (at least ``min_contained_words``
  words) appears inside the other ("What is foie gras?" inside "what is foie gras? saw
  it on a menu"): a short question padded with chatter is still the same question.

Short texts need care: "Is honey vegan?" and "Is gelatin vegan?" share most of their
words but are different questions. Stop words are dropped from the token set and both
texts must have at least ``min_tokens`` content words for a near match; below that only
exact matches count.

Candidates come from an inverted index over content words, so the check stays fast
for thousands of records on each side.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass

_WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    """a an the and or but if of to in on at for with from by as is are was were be been being am do does did
    i me my we our you your he she it its they them their this that these those what which who whom how why when
    where can could should would will shall may might must not no so than too very just about into over also
    any some all there here have has had please tell give""".split()  # noqa: SIM905
)


def normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def content_tokens(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS)


def shingles(text: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def contained(padded_a: str, norm_b: str, min_words: int) -> bool:
    """Whether either normalised text appears whole inside the other (``padded_a`` is ``f" {a} "``)."""
    a = padded_a.strip()
    if norm_b.count(" ") + 1 >= min_words and f" {norm_b} " in padded_a:
        return True
    return a.count(" ") + 1 >= min_words and f" {a} " in f" {norm_b} "


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass
class Match:
    train_file: str
    train_id: str
    eval_file: str
    eval_id: str
    kind: str  # "exact" or "near"
    token_jaccard: float
    shingle_jaccard: float
    train_text: str
    eval_text: str

    @property
    def score(self) -> float:
        return 1.0 if self.kind == "exact" else max(self.token_jaccard, self.shingle_jaccard)


@dataclass(frozen=True)
class Thresholds:
    token_threshold: float = 0.7
    shingle_threshold: float = 0.5
    min_tokens: int = 4
    min_contained_words: int = 3


class EvalIndex:
    """Eval texts indexed for fast nearest-duplicate lookup."""

    def __init__(self, items: list[tuple[str, str, str]], thresholds: Thresholds = Thresholds()):
        # items: (eval_file, eval_id, text)
        self.t = thresholds
        self.items = items
        self.norm = [normalise(x[2]) for x in items]
        self.tokens = [content_tokens(x[2]) for x in items]
        self.shingles = [shingles(x[2]) for x in items]
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.by_token: dict[str, list[int]] = defaultdict(list)
        for i, (norm, toks) in enumerate(zip(self.norm, self.tokens, strict=True)):
            self.exact[norm].append(i)
            for tok in toks:
                self.by_token[tok].append(i)

    def best(self, text: str) -> tuple[int, str, float, float] | None:
        """The closest eval item: (index, kind, token_jaccard, shingle_jaccard), or None if nothing shares a word."""
        norm = normalise(text)
        if norm in self.exact:
            i = self.exact[norm][0]
            return i, "exact", 1.0, 1.0
        toks = content_tokens(text)
        sh = shingles(text)
        counts: dict[int, int] = defaultdict(int)
        for tok in toks:
            for i in self.by_token.get(tok, ()):
                counts[i] += 1
        best: tuple[int, str, float, float] | None = None
        best_score = -1.0
        padded = f" {norm} "
        for i in counts:
            tj = jaccard(toks, self.tokens[i])
            sj = jaccard(sh, self.shingles[i])
            long_enough = min(len(toks), len(self.tokens[i])) >= self.t.min_tokens
            is_near = long_enough and (tj >= self.t.token_threshold or sj >= self.t.shingle_threshold)
            is_near = is_near or contained(padded, self.norm[i], self.t.min_contained_words)
            score = 1.5 if is_near else max(tj, sj)  # a real duplicate always outranks a close miss
            if score > best_score:
                best, best_score = (i, "near" if is_near else "none", tj, sj), score
        return best


def find_contamination(
    train: dict[str, list[tuple[str, str]]],
    evals: dict[str, list[tuple[str, str]]],
    thresholds: Thresholds = Thresholds(),
) -> tuple[list[Match], list[Match]]:
    """Compare every training text with every eval text.

    ``train`` and ``evals`` map a file name to ``[(id, text), ...]``. Returns
    ``(matches, closest)``: every exact or near duplicate, and the closest pair for each
    training record (for the report's "closest pairs" table).
    """
    index = EvalIndex([(f, i, t) for f, rows in evals.items() for i, t in rows], thresholds)
    matches: list[Match] = []
    closest: list[Match] = []
    for train_file, rows in train.items():
        for rid, text in rows:
            hit = index.best(text)
            if hit is None:
                continue
            i, kind, tj, sj = hit
            ef, eid, etext = index.items[i]
            m = Match(train_file, rid, ef, eid, kind, round(tj, 3), round(sj, 3), text, etext)
            closest.append(m)
            if kind in ("exact", "near"):
                matches.append(m)
    closest.sort(key=lambda m: -m.score)
    return matches, closest


def report(matches: list[Match], closest: list[Match], thresholds: Thresholds, removed: dict[str, int]) -> dict:
    return {
        "thresholds": asdict(thresholds),
        "method": "normalised exact match; content-word set Jaccard; word 3-gram shingle Jaccard",
        "exact": sum(m.kind == "exact" for m in matches),
        "near": sum(m.kind == "near" for m in matches),
        "removed_from_training": removed,
        "matches": [asdict(m) for m in matches],
        "closest_pairs": [asdict(m) for m in closest[:20]],
    }


def report_markdown(rep: dict) -> str:
    t = rep["thresholds"]
    lines = [
        "# Contamination report",
        "",
        f"Method: {rep['method']}. Near duplicate: token Jaccard >= {t['token_threshold']} or shingle "
        f"Jaccard >= {t['shingle_threshold']}, both texts with >= {t['min_tokens']} content words.",
        "",
        f"Found before removal: {rep['exact']} exact, {rep['near']} near. Removed from training: "
        + (", ".join(f"{k}: {v}" for k, v in rep["removed_from_training"].items()) or "none")
        + ".",
        "",
        *(
            [
                f"Same subject: {len(rep['same_subject_as_classification'])} is-it-vegan training questions "
                "asked about an item that a classification eval case asks about, and were removed: "
                + ", ".join(f"{i} ({', '.join(items)})" for i, items in rep["same_subject_as_classification"].items())
                + ".",
                "",
            ]
            if rep.get("same_subject_as_classification")
            else []
        ),
        "## The 20 closest train/eval pairs (after removal)",
        "",
        "| token J | shingle J | train | eval |",
        "|---:|---:|---|---|",
    ]
    for m in rep["closest_pairs"]:
        tr = m["train_text"].replace("|", "/").replace("\n", " ")[:90]
        ev = m["eval_text"].replace("|", "/").replace("\n", " ")[:90]
        lines.append(f"| {m['token_jaccard']:.2f} | {m['shingle_jaccard']:.2f} | {tr} | {ev} |")
    return "\n".join(lines) + "\n"


def dedup(
    rows: list[tuple[str, str]], thresholds: Thresholds = Thresholds()
) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop near duplicates inside one collection, keeping the first of each group.

    Returns ``(kept_ids, dropped)`` where ``dropped`` pairs each dropped id with the id it duplicates.
    """
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    exact: dict[str, str] = {}
    by_token: dict[str, list[int]] = defaultdict(list)
    kept_tokens: list[frozenset[str]] = []
    kept_shingles: list[frozenset[tuple[str, ...]]] = []
    kept_norm: list[str] = []
    for rid, text in rows:
        norm = normalise(text)
        if norm in exact:
            dropped.append((rid, exact[norm]))
            continue
        toks, sh = content_tokens(text), shingles(text)
        dup_of = None
        seen: set[int] = set()
        for tok in toks:
            for i in by_token.get(tok, ()):
                if i in seen:
                    continue
                seen.add(i)
                long_enough = min(len(toks), len(kept_tokens[i])) >= thresholds.min_tokens
                if (
                    long_enough
                    and (
                        jaccard(toks, kept_tokens[i]) >= thresholds.token_threshold
                        or jaccard(sh, kept_shingles[i]) >= thresholds.shingle_threshold
                    )
                ) or contained(f" {norm} ", kept_norm[i], thresholds.min_contained_words):
                    dup_of = kept[i]
                    break
            if dup_of:
                break
        if dup_of:
            dropped.append((rid, dup_of))
            continue
        exact[norm] = rid
        for tok in toks:
            by_token[tok].append(len(kept))
        kept.append(rid)
        kept_tokens.append(toks)
        kept_shingles.append(sh)
        kept_norm.append(norm)
    return kept, dropped
