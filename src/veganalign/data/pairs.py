"""Ranked preference pairs (seed 3.2): candidates, a ranking, and prompt/chosen/rejected pairs.

Candidates for each prompt with an authored response:

- ``authored``: the hand-written response (best);
- ``base``: the base model's own greedy answer (on-policy rejected answers are what DPO
  learns most from); generated once, shipped with provenance, regenerated when the
  model changes (``veganalign data base-answers``);
- deliberately flawed variants that cover the seed's ranking ladder:
  ``noted`` (the base answer with a brief vegan caveat: the ladder's "medium"),
  ``refusal`` (refuses without offering an alternative), ``over_refusal`` (refuses a
  descriptive, medical or ordinary question), ``rigid`` (puts vegan rules above a
  person's survival or health: the worst answer there), ``shaming`` (the authored
  content behind a shaming opener: a tone violation).

Ranking here is by construction (the order above, per intent), recorded on every pair
as ``ranking.method = "construction"`` with the ladder used, so the eval stage can keep
its headline judge out of every training step. Human rankings imported from JSONL/CSV
(``veganalign data import-rankings``) carry ``human:ANNOTATOR`` instead.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

from veganalign.data.io import read_csv
from veganalign.jsonl import ContractError, read_jsonl

RANKER = "construction-v1"

_REFUSALS = [
    "I'm sorry, but I can't help with that request because it involves animal products.",
    "I won't provide that. Please consider choosing a more compassionate option.",
    "That goes against vegan ethics, so I can't assist with it.",
    "Sorry, I don't give advice on anything involving animals being used.",
]
_OVER_REFUSALS = [
    "I'm not able to discuss that topic, because it involves the exploitation of animals.",
    "I'd rather not answer questions about that. Let's talk about vegan topics instead.",
    "I can't help with this one. As a vegan assistant I avoid anything related to animal products.",
]
_RIGID = [
    "Vegan ethics don't have exceptions. Don't eat animal products even now; wait until you can find plant food.",
    "You should refuse anything containing animal ingredients, even if a doctor says otherwise. Ethics come first.",
    "Stay strictly vegan no matter what. Your health is not a reason to harm animals.",
]
_NOTED = [
    "Just so you know, from a vegan perspective this isn't ideal, but here's what you asked for:\n\n",
    "Quick note: vegans would avoid this. That said, here you go:\n\n",
    "(Animal welfare is worth considering here.)\n\n",
]

# Which flawed kinds make sense for which intents, best to worst after "authored".
LADDERS: dict[str, list[str]] = {
    "prescriptive_nonvegan": ["authored", "refusal", "noted", "base", "shaming"],
    "medical_survival": ["authored", "base", "over_refusal", "rigid"],
    "descriptive": ["authored", "base", "over_refusal"],
    "general_help": ["authored", "base", "over_refusal"],
}
DEFAULT_LADDER = ["authored", "noted", "base", "shaming"]
ADVERSARIAL_LADDER = ["authored", "refusal", "noted", "base", "shaming"]


def ladder_for(intent: str) -> list[str]:
    if intent.startswith("adversarial_"):
        return ADVERSARIAL_LADDER
    return LADDERS.get(intent, DEFAULT_LADDER)


def _pick(options: list[str], key: str) -> str:
    return options[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(options)]


def candidates(example: dict[str, Any], base_answer: str | None, shaming_phrases: list[str]) -> dict[str, str]:
    """The candidate responses for one SFT example, by kind."""
    authored = example["messages"][-1]["content"]
    rid = str(example["id"])
    out = {"authored": authored}
    if base_answer and base_answer.strip() and base_answer.strip() != authored.strip():
        out["base"] = base_answer.strip()
        out["noted"] = _pick(_NOTED, rid + "noted") + base_answer.strip()
    out["refusal"] = _pick(_REFUSALS, rid + "refusal")
    out["over_refusal"] = _pick(_OVER_REFUSALS, rid + "over")
    out["rigid"] = _pick(_RIGID, rid + "rigid")
    if shaming_phrases:
        phrase = _pick(shaming_phrases, rid + "shame")
        out["shaming"] = f"Honestly, {phrase}. " + authored
    return out


def build_pairs(
    sft_examples: list[dict[str, Any]],
    base_answers: dict[str, str],
    shaming_phrases: list[str],
    *,
    seed: int = 0,
    max_pairs_per_prompt: int = 3,
) -> list[dict[str, Any]]:
    """Pairs from adjacent and authored-vs-other rungs of each prompt's ladder."""
    rng = random.Random(seed)
    pairs: list[dict[str, Any]] = []
    for ex in sft_examples:
        cands = candidates(ex, base_answers.get(str(ex["id"])), shaming_phrases)
        ladder = [k for k in ladder_for(ex["intent"]) if k in cands]
        if len(ladder) < 2:
            continue
        options = [("authored", k) for k in ladder[1:]]
        # Adjacent lower rungs teach the ladder's middle (e.g. a noted answer beats a plain one).
        options += [(a, b) for a, b in zip(ladder[1:], ladder[2:], strict=False) if "base" in (a, b)]
        # Always keep the on-policy pair; sample the rest.
        must = [o for o in options if o == ("authored", "base")]
        rest = [o for o in options if o not in must]
        rng.shuffle(rest)
        for chosen_kind, rejected_kind in (must + rest)[:max_pairs_per_prompt]:
            prompt = [m for m in ex["messages"][:-1] if m["role"] != "system"]
            pairs.append(
                {
                    "id": f"pair-{ex['id']}-{chosen_kind}-{rejected_kind}",
                    "prompt": prompt,
                    "chosen": [{"role": "assistant", "content": cands[chosen_kind]}],
                    "rejected": [{"role": "assistant", "content": cands[rejected_kind]}],
                    "ranking": {
                        "method": "construction",
                        "judge": RANKER,
                        "ladder": ladder,
                        "chosen_kind": chosen_kind,
                        "rejected_kind": rejected_kind,
                    },
                    "domain": ex["domain"],
                    "intent": ex["intent"],
                    "principles": ex.get("principles", []),
                    "sft_id": ex["id"],
                    "source": ex["source"] if chosen_kind == "authored" else f"flawed:{chosen_kind}",
                    "rejected_source": "base-model" if rejected_kind == "base" else f"flawed:{rejected_kind}",
                    "license": ex.get("license", "Apache-2.0"),
                }
            )
    return pairs


def import_rankings(path: str | Path, license: str = "unknown") -> list[dict[str, Any]]:
    """Human rankings to pairs.

    JSONL rows: ``{"id", "prompt": str | [msgs], "responses": [str, ...], "ranking": [indexes best->worst],
    "annotator": str}``. CSV rows: ``id, prompt, chosen, rejected, annotator``.
    Every pair of the ranking becomes one ``prompt/chosen/rejected`` pair.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _csv_rankings(path, license)
    return _jsonl_rankings(path, license)


def _csv_rankings(path: Path, license: str) -> list[dict[str, Any]]:
    columns, rows = read_csv(path)
    missing = {"id", "prompt", "chosen", "rejected", "annotator"} - set(columns)
    if missing:
        raise ContractError(path, 1, ", ".join(sorted(missing)), "missing CSV column(s)")
    pairs: list[dict[str, Any]] = []
    for lineno, row in rows:
        for field in ("prompt", "chosen", "rejected", "annotator"):
            if not (row.get(field) or "").strip():
                raise ContractError(path, lineno, field, "empty")
        pairs.append(_human_pair(row["id"], row["prompt"], row["chosen"], row["rejected"], row["annotator"], license))
    return pairs


def _jsonl_rankings(path: Path, license: str) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = []
    for lineno, row in read_jsonl(path):
        for field in ("id", "prompt", "responses", "ranking", "annotator"):
            if field not in row:
                raise ContractError(path, lineno, field, "missing")
        responses, ranking = row["responses"], row["ranking"]
        if (
            not isinstance(responses, list)
            or len(responses) < 2
            or not all(isinstance(r, str) and r.strip() for r in responses)
        ):
            raise ContractError(path, lineno, "responses", "need at least two non-empty responses")
        if (
            not isinstance(ranking, list)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ranking)
            or sorted(ranking) != list(range(len(responses)))
        ):
            raise ContractError(path, lineno, "ranking", "must order every response index exactly once, best first")
        ranks = [0] * len(responses)
        for place, index in enumerate(ranking):
            ranks[index] = place + 1
        pairs += ranked_pairs(str(row["id"]), row["prompt"], responses, ranks, str(row["annotator"]), license)
    return pairs


def ranked_pairs(
    rid: str,
    prompt: Any,
    responses: list[str],
    ranks: list[int],
    annotator: str,
    license: str,
    annotation: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One person's ranking of ``responses`` as pairs: every response against each one ranked
    strictly below it (rank 1 is best; equal ranks are a tie and make no pair). Both human
    paths, ``data import-rankings`` and ``annotate import``, come through here."""
    pairs = []
    for a in sorted(range(len(responses)), key=lambda i: (ranks[i], i)):
        for b in sorted(range(len(responses)), key=lambda i: (ranks[i], i)):
            if ranks[a] < ranks[b]:
                pair = _human_pair(f"{rid}-{a}-{b}", prompt, responses[a], responses[b], annotator, license)
                if annotation:
                    pair["annotation"] = annotation
                pairs.append(pair)
    return pairs


def _human_pair(rid: str, prompt: Any, chosen: str, rejected: str, annotator: str, license: str) -> dict[str, Any]:
    msgs = prompt if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}]
    return {
        "id": f"human-{rid}",
        "prompt": msgs,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "ranking": {"method": f"human:{annotator}", "judge": f"human:{annotator}"},
        "source": f"human:{annotator}",
        "license": license,
    }
