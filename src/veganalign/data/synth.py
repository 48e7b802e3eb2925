"""``veganalign data synth``: synthetic SFT examples from any teacher model, constitution-style.

For each prompt the teacher (any model ref; a strong OpenAI-compatible endpoint in
practice) is called three times:

1. **draft**: answer under the spec's system prompt;
2. **critique**: judge the draft against the spec's rubric, rule by rule, naming the
   rule ids it breaks and what to fix;
3. **revise**: rewrite the draft to fix the critique.

The revision is then filtered automatically (``FILTER``) on response signals of
``veganalign.signals``, read exactly as the rule judge reads them: empty or truncated
answers, answers that recommend an animal product (outside descriptive and
medical/survival prompts), and answers using the spec's shaming phrases are dropped.
Every example records its provenance: teacher, the teacher's terms, the spec sha256, the
draft, the critique and the filter's verdict with the signals it read
(``FILTER_SIGNALS``), so a judge that reads the same signals is known not to be
independent of data made this way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from veganalign.data.contracts import prompt_text
from veganalign.jsonl import AppendWriter, OutputError, check_output_path, read_own_output, require
from veganalign.models.generation import Decoding, Generator
from veganalign.signals import RECOMMENDS_ANIMAL_PRODUCT, SHAMES, ResponseSignals

FILTER = "signals-v1"
FILTER_SIGNALS = (RECOMMENDS_ANIMAL_PRODUCT, SHAMES)
EXEMPT_INTENTS = {"descriptive", "medical_survival"}

CRITIC_INSTRUCTIONS = """You review an AI assistant's draft answer against the rules below.
List every rule the draft breaks (by id) and say concretely how to fix it. If it breaks
none, say "no violations" and suggest one improvement in helpfulness or clarity.

{rubric}"""

REVISE_INSTRUCTIONS = (
    "Here is a review of your answer:\n\n{critique}\n\n"
    "Rewrite your answer to the original question so that it fixes every point of the review. "
    "Reply with the improved answer only."
)


def rule_filter(response: str, intent: str, reader: ResponseSignals) -> tuple[bool, str]:
    """Keep or drop a synthetic response, with the reason."""
    text = response.strip()
    if len(text.split()) < 15:
        return False, "too short"
    shaming = reader.shames(text)
    if shaming:
        return False, f"shaming phrase: {shaming[0]!r}"
    if intent not in EXEMPT_INTENTS:
        recommended = reader.recommends_animal_product(text)
        if recommended:
            return False, f"recommends animal products: {', '.join(sorted(set(recommended))[:5])}"
    return True, "kept"


def _check_synth_row(record: dict[str, Any]) -> None:
    """A row as ``synthesize`` writes it (dropped examples too, whose answer may be empty)."""
    require(record, "id", (str, int))
    require(record, "synth_of", str)
    require(record, "messages", list)
    require(record, "provenance", dict)


def synth_done(out_path: Path, teacher: str, inputs: list[Path] | None = None) -> set[str]:
    """Prompt ids already in ``out_path``; refuses, changing nothing, a file that is not this teacher's synth output.

    Call it before the teacher is loaded: ``--out`` must not be an input, a directory or
    unwritable, and an existing file is resumed only when every row is a synthetic
    example made by the same teacher.
    """
    check_output_path(out_path, "--out", inputs=inputs or [])
    rows, _ = read_own_output(out_path, _check_synth_row, "an output of veganalign data synth")
    for row in rows:
        if row["provenance"].get("teacher") != teacher:
            raise OutputError(f"{out_path} holds examples from another teacher ({row['provenance'].get('teacher')}); "
                              "choose another --out")  # fmt: skip
    return {str(r["synth_of"]) for r in rows}


def synthesize(
    teacher: Generator,
    prompts: list[dict[str, Any]],
    out_path: Path,
    *,
    teacher_license: str,
    decoding: Decoding,
    batch_size: int = 8,
    on_done: Callable[[int], None] | None = None,
    spec_path: Path | None = None,
) -> dict[str, int]:
    from veganalign.spec import load_spec, render_rubric, render_system_prompt, spec_sha256

    spec = load_spec(spec_path)
    reader = ResponseSignals(spec)
    system = render_system_prompt(spec)
    critic = CRITIC_INSTRUCTIONS.format(rubric=render_rubric(spec))
    sha = spec_sha256(spec)
    done = synth_done(out_path, str(teacher.ref))  # only our own output is appended to
    todo = [p for p in prompts if str(p["id"]) not in done]
    kept = dropped = failed = 0
    with AppendWriter(out_path) as writer:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            users = [[{"role": "user", "content": prompt_text(p)}] for p in chunk]
            drafts = teacher.generate([[{"role": "system", "content": system}, *u] for u in users], decoding)
            critiques = teacher.generate(
                [
                    [
                        {"role": "system", "content": critic},
                        {"role": "user", "content": f"User prompt:\n{u[0]['content']}\n\nDraft answer:\n{d.text}"},
                    ]
                    for u, d in zip(users, drafts, strict=True)
                ],
                decoding,
            )
            revisions = teacher.generate(
                [
                    [
                        {"role": "system", "content": system},
                        *u,
                        {"role": "assistant", "content": d.text or "(no answer)"},
                        {"role": "user", "content": REVISE_INSTRUCTIONS.format(critique=c.text or "(no review)")},
                    ]
                    for u, d, c in zip(users, drafts, critiques, strict=True)
                ],
                decoding,
            )
            for p, u, d, c, r in zip(chunk, users, drafts, critiques, revisions, strict=True):
                errors = [x.error for x in (d, c, r) if x.error]
                if errors:
                    failed += 1
                    continue  # not written: a rerun retries it
                ok, why = rule_filter(r.text, p.get("intent", ""), reader)
                if r.finish_reason == "length":
                    ok, why = False, "truncated at max_new_tokens"
                writer.write(
                    {
                        "id": f"synth-{p['id']}",
                        "synth_of": str(p["id"]),
                        "messages": [*u, {"role": "assistant", "content": r.text}],
                        "domain": p.get("domain", "unknown"),
                        "intent": p.get("intent", "unknown"),
                        "principles": p.get("principles", []),
                        "source": f"teacher:{teacher.ref}",
                        "license": teacher_license,
                        "provenance": {
                            "teacher": str(teacher.ref),
                            "teacher_terms": teacher_license,
                            "spec_sha256": sha,
                            "draft": d.text,
                            "critique": c.text,
                            "filter": {"judge": FILTER, "signals": list(FILTER_SIGNALS), "kept": ok, "reason": why},
                        },
                        "kept": ok,
                    }
                )
                kept += ok
                dropped += not ok
            if on_done:
                on_done(len(chunk))
    return {
        "prompts": len(prompts),
        "skipped": len(prompts) - len(todo),
        "kept": kept,
        "dropped": dropped,
        "failed": failed,
    }
