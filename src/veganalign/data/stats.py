"""Counts and variety measures for data files (``veganalign data stats``, build summaries)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from veganalign.data.contracts import response_text

_WORD = re.compile(r"[a-z0-9']+")


def counts(records: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Records per domain, intent, principle, source and category (where present)."""
    out: dict[str, Counter] = {k: Counter() for k in ("domain", "intent", "principle", "source", "category")}
    for r in records:
        for key in ("domain", "intent", "source", "category"):
            if r.get(key):
                out[key][str(r[key])] += 1
        for p in r.get("principles", []) or []:
            out["principle"][p] += 1
    return {k: dict(sorted(v.items())) for k, v in out.items() if v}


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def variety(records: list[dict[str, Any]], quota_per_domain: int = 0) -> dict[str, Any]:
    """Distinct-4-gram ratio, per-domain counts against a quota, and each response's nearest neighbour.

    Nearest neighbour: the other response sharing the largest fraction of this one's
    word 8-grams (|A ∩ B| / min(|A|, |B|)); the spec for shipped data is <= 0.5.
    """
    texts = [response_text(r) for r in records]
    words = [_WORD.findall(t.lower()) for t in texts]
    all4 = [g for w in words for g in (tuple(w[i : i + 4]) for i in range(len(w) - 3))]
    distinct4 = len(set(all4)) / len(all4) if all4 else 0.0
    grams8 = [_ngrams(w, 8) for w in words]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, grams in enumerate(grams8):
        for g in grams:
            index.setdefault(g, []).append(i)
    neighbours = []
    for i, grams in enumerate(grams8):
        shared: Counter = Counter()
        for g in grams:
            for j in index[g]:
                if j != i:
                    shared[j] += 1
        if shared:
            # ties go to the earliest record: the n-grams are a set, so their order (and the Counter's) varies by run
            j, n = max(shared.items(), key=lambda kv: (kv[1] / max(1, min(len(grams), len(grams8[kv[0]]))), -kv[0]))
            overlap = n / max(1, min(len(grams), len(grams8[j])))
            neighbours.append({"id": records[i]["id"], "nearest": records[j]["id"], "overlap_8gram": round(overlap, 3)})
        else:
            neighbours.append({"id": records[i]["id"], "nearest": None, "overlap_8gram": 0.0})
    per_domain = Counter(r.get("domain", "?") for r in records)
    return {
        "responses": len(records),
        "distinct_4gram_ratio": round(distinct4, 4),
        "max_overlap_8gram": max((n["overlap_8gram"] for n in neighbours), default=0.0),
        "per_domain": {
            d: {"count": c, "quota": quota_per_domain, "meets_quota": c >= quota_per_domain}
            for d, c in sorted(per_domain.items())
        },  # fmt: skip
        "mean_response_words": round(sum(len(w) for w in words) / max(1, len(words)), 1),
        "nearest_neighbours": sorted(neighbours, key=lambda n: -n["overlap_8gram"]),
    }
