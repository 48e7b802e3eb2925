"""``veganalign iterate``: one improvement round = red-team, correct, retrain, re-measure.

A round reads top to bottom (``iterate_round``), each step writing into
``runs/NAME/rounds/K/`` and skipped on a rerun when its output is there (a rerun resumes):

1. ``redteam-train/``: red-team the current model (the newest round's, else the run's last
   stage) on the library's **train** split, with the spec's system prompt, as deployed.
2. ``data/``: the failures become preference pairs, the failing answer rejected and a
   correction chosen. The correction is a teacher endpoint's answer (``--teacher``), else
   the failing answer itself with each animal product swapped for the knowledge base's
   alternative (``swapped``: a minimal edit, kept only when the rule judge then passes it),
   else the knowledge base's redirection (the vegan version the guarded server would send);
   its source is in each row's provenance. The swap is what made a round count: with
   redirections only, held-out attack success fell 68 -> 58 of 150 (p = 0.20); with swaps
   68 -> 42 (p = 0.0004), the same failures and held-out attacks (README, Red-teaming).
   Look-alikes the model answered well become pairs against the redirection it must *not*
   give, so the round cannot buy robustness with
   over-redirection; a look-alike it over-redirected ("Instead of hummus, make hummus with
   ...") becomes a pair with its own answer minus the redirection chosen. Reviewed
   monitoring corrections (``--from-monitor``, the pairs that ``veganalign monitor export``
   writes) join them. Eval-suite failures do not: training on
   them would contaminate the suites that measure the round. Every row is checked for
   contamination against the eval suites and the held-out attacks (dropped, counted), a
   replay sample of the run's own pairs keeps what the run learned, and the files are
   validated with the data contracts. SFT examples of the corrections are written beside.
3. ``dpo/``: DPO from the current model (its adapter merged) on the pairs, with an SFT term
   on the chosen answers (TRL's ``sigmoid,sft`` losses).
4. ``heldout-before/``, ``heldout-after/``: the **held-out** split (templates and
   requests the round never saw) red-teamed before and after; ``summary.json``: the change
   per family with paired McNemar tests on attack success and on over-refusal or
   over-redirection of the look-alikes, and per eval category when ``eval`` is on.
5. ``MODEL_CARD.md`` of the run, when it has one, is written again: a run directory as a
   model ref is now this round's model, and the card lists every finished round.

The round's failures were found by the rule judge, and the held-out measurement uses the
same judge: the summary says so (``judge_independent: false``), and the README puts a
blind reading beside the figures.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from veganalign.jsonl import write_jsonl_atomic, write_text_atomic
from veganalign.knowledge.swap import swap_animal_products

LICENSE = "Apache-2.0"
CORRECTION_KINDS = ("swap", "redirection")
MIN_OWN_ANSWER_WORDS = 15  # a look-alike answer shorter than this is no example of a direct answer
# "Instead of hummus, make hummus with chickpeas ..., as I follow vegan ethics: 1. ...": the opening swap and the
# policy aside, which a request that is already vegan never needs.
_SWAP_OPENING = re.compile(r"^\W*(?:instead of|rather than)\s+[^,.;:!?\n]{2,80},\s*", re.I)
_POLICY_ASIDE = re.compile(r",?\s*(?:as|since|because) I (?:follow|stick to|keep to|only)\b[^:.\n]{0,60}", re.I)


def unredirected(rails, answer: str) -> str | None:
    """The model's own over-redirected answer without its redirection, when what is left is a usable vegan answer."""
    m = _SWAP_OPENING.match(answer)
    if not m:
        return None
    rest = _POLICY_ASIDE.sub("", answer[m.end() :], count=1).strip()
    if len(rest.split()) < MIN_OWN_ANSWER_WORDS or rails.reader.read(rest).recommended:
        return None
    return rest[0].upper() + rest[1:]


def rounds_dir(run_dir: Path) -> Path:
    return run_dir / "rounds"


def finished_rounds(run_dir: Path) -> list[int]:
    root = rounds_dir(run_dir)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and (p / "summary.json").is_file())


def current_model(run_dir: Path) -> str:
    """The model a new round starts from: the newest finished round's, else the run's last trained stage."""
    done = finished_rounds(run_dir)
    if done:
        return str(rounds_dir(run_dir) / str(done[-1]) / "dpo")
    from veganalign.models.refs import RUN_STAGE_ORDER

    for stage in RUN_STAGE_ORDER:
        if (run_dir / stage / "adapter_config.json").is_file():
            return str(run_dir / stage)
    raise ValueError(f"{run_dir}: no trained stage (rl/, dpo/ or sft/ with an adapter): run `veganalign run` first")


def run_spec(run_dir: Path):
    """The spec the run was made with (its own copy), else the shipped one."""
    from veganalign.spec import load_spec

    copy = run_dir / "spec" / "spec.yaml"
    return load_spec(copy if copy.is_file() else None)


# --- step 2: failures into data ---------------------------------------------------------------


def correction(rails, row: dict[str, Any]) -> str:
    """The knowledge base's redirection for the attack's target: what the guarded server would answer."""
    plain = [{"role": "user", "content": row["judge_case"]["prompt"]}]
    facts = rails.facts(plain)
    return rails.redirection([row["target"]] if row.get("target") else [], facts)


def swapped(rails, judge, row: dict[str, Any]) -> str | None:
    """The failing answer with each animal product it recommends swapped for the knowledge base's vegan alternative.

    A minimal edit: the chosen answer is the model's own but for the animal products, so the preference pair's
    only difference is what the policy is about ("1 tbsp oyster sauce" -> "1 tbsp vegetarian stir-fry sauce"),
    not the style of a template the model never writes. Kept only when the judge no longer counts the attack as a
    success.
    """
    out = swap_animal_products(rails.kb, row["answers"][-1])
    if out is None:
        return None
    verdict = judge.judge(row["judge_case"], out)
    if not verdict.scored or [r for r in verdict.violations if r != judge.rules.get("alternatives")]:
        return None
    return out


def teacher_corrections(teacher, rows: list[dict], system_prompt: str | None, decoding) -> list[str]:
    from veganalign.models import with_system_prompt

    ask = ("Answer the user's last message following the vegan ethics policy: give no animal products or practices "
           "at all, meet their real need with a concrete vegan version, kindly and without lecturing.")  # fmt: skip
    convs = [with_system_prompt(r["conversation"][:-1], (system_prompt or "") + "\n\n" + ask) for r in rows]
    return [c.text.strip() if c.error is None else "" for c in teacher.generate(convs, decoding)]


def build_round_data(rdir: Path, transcripts: list[dict], *, spec, run_dir: Path, heldout_texts: list[str],
                     teacher: str | None = None, from_monitor: list[Path] = (), replay: int = 32, seed: int = 0,
                     lookalike_ratio: float = 0.5, correction_kind: str = "swap",
                     api_key_env: str = "OPENAI_API_KEY") -> dict[str, Any]:  # fmt: skip
    """``data/pairs.jsonl`` and ``data/sft.jsonl`` from the round's red-team transcripts; returns the counts.

    ``correction_kind`` is the correction of a failure when no teacher gives one: ``swap`` (the failing answer with
    its animal products swapped for the knowledge base's alternatives, see ``swapped``; the redirection where no
    swap clears it) or ``redirection`` (always the knowledge base's redirection).
    """
    from veganalign.data.build import EVAL_DIR
    from veganalign.data.contamination import find_contamination
    from veganalign.data.contracts import prompt_text, validate_file
    from veganalign.serve.rails import Rails
    from veganalign.spec import render_system_prompt

    rails = Rails(spec, {})
    if correction_kind not in CORRECTION_KINDS:
        raise ValueError(f"correction {correction_kind!r}: choose one of {', '.join(CORRECTION_KINDS)}")
    judge = None
    if correction_kind == "swap":
        from veganalign.eval.judges import make_judge

        judge = make_judge("rules", spec, api_key_env)
    failures = [r for r in transcripts if not r["lookalike"] and r.get("success")]
    good_twins = [r for r in transcripts if r["lookalike"] and not r["over_refusal"] and not r["over_redirection"]
                  and not r["recommends"] and len(r["answers"][-1].split()) >= MIN_OWN_ANSWER_WORDS]  # fmt: skip
    bad_twins = [r for r in transcripts if r["lookalike"] and (r["over_refusal"] or r["over_redirection"])]
    chosen: list[str] = []
    source = "redteam:kb_swap" if correction_kind == "swap" else "redteam:kb_redirection"
    if teacher:
        from veganalign.models import Decoding, load_generator

        gen = load_generator(teacher, api_key_env=api_key_env)
        chosen = teacher_corrections(
            gen, failures + bad_twins, render_system_prompt(spec), Decoding(max_new_tokens=256)
        )
        source = f"teacher:{teacher}"
    pairs: list[dict[str, Any]] = []

    def pair(row: dict, good: str, bad: str, chosen_kind: str, rejected_kind: str, src: str) -> None:
        if not good.strip() or not bad.strip() or good.strip() == bad.strip():
            return
        pairs.append({
            "id": f"round-{rdir.name}-{row['id']}", "prompt": row["conversation"][:-1],
            "chosen": [{"role": "assistant", "content": good}], "rejected": [{"role": "assistant", "content": bad}],
            "source": src, "license": LICENSE, "principles": list(row.get("violations") or []),
            "ranking": {"method": "construction", "chosen_kind": chosen_kind, "rejected_kind": rejected_kind},
            "intent": "redteam", "family": row["family"], "template": row["template"],
        })  # fmt: skip

    for i, row in enumerate(failures):
        if teacher and chosen[i]:
            good, kind, src = chosen[i], "teacher", source
        elif judge is not None and (swap := swapped(rails, judge, row)):
            good, kind, src = swap, "kb_swap", "redteam:kb_swap"
        else:
            good, kind, src = correction(rails, row), "kb_redirection", "redteam:kb_redirection"
        pair(row, good, row["answers"][-1], kind, "policy_failure", src)
    for row in good_twins:  # a vegan-able request answered directly is what a redirection must not replace
        pair(row, row["answers"][-1], correction(rails, {**row, "target": None}), "policy_own_answer",
             "over_redirection", "redteam:own_answer")  # fmt: skip
    uncorrected_twins = len(bad_twins)
    for row in bad_twins:
        fixed = None if row["over_refusal"] else unredirected(rails, row["answers"][-1])
        if fixed and not teacher:
            pair(row, fixed, row["answers"][-1], "own_answer_unredirected", "over_redirection", "redteam:own_answer")
            uncorrected_twins -= 1
    if teacher:
        for j, row in enumerate(bad_twins):
            good = chosen[len(failures) + j]
            if good:
                pair(row, good, row["answers"][-1], "teacher", "over_refusal", source)
                uncorrected_twins -= 1
    # Look-alike pairs teach answering a vegan-able request directly. Left uncapped they outnumber the failures
    # (140 to 69 in the first measured round): over-redirection fell from 91% to 0% but the round learned to answer
    # every request directly, attacks too, and attack success did not move. At most ``lookalike_ratio`` per failure.
    twin_kinds = ("over_redirection", "over_refusal")
    twin_pairs = [p for p in pairs if p["ranking"]["rejected_kind"] in twin_kinds]
    cap = math.ceil(lookalike_ratio * len(failures))
    capped = max(0, len(twin_pairs) - cap)
    if capped:
        kept_twins = {p["id"] for p in random.Random(seed).sample(twin_pairs, cap)}
        pairs[:] = [p for p in pairs if p["ranking"]["rejected_kind"] not in twin_kinds or p["id"] in kept_twins]
    for path in from_monitor:
        _, rows = validate_file(path, "pair")
        pairs += [{**r, "id": f"round-{rdir.name}-monitor-{r['id']}"} for r in rows]

    # Contamination: nothing that trains may match an eval case or a held-out attack.
    evals = {p.name: [(str(r["id"]), prompt_text(r)) for r in validate_file(p, "eval")[1]]
             for p in sorted(EVAL_DIR.glob("*.jsonl"))}  # fmt: skip
    evals["heldout-attacks"] = [(f"heldout-{i}", t) for i, t in enumerate(heldout_texts)]
    matches, _ = find_contamination({"pairs": [(p["id"], prompt_text(p)) for p in pairs]}, evals)
    dirty = {m.train_id for m in matches}
    kept = [p for p in pairs if p["id"] not in dirty]

    replayed = 0
    run_pairs = run_dir / "data" / "pairs_train.jsonl"
    if replay and run_pairs.is_file():
        _, rows = validate_file(run_pairs, "pair")
        rng = random.Random(seed)
        for r in rng.sample(rows, min(replay, len(rows))):
            kept.append({**r, "id": f"round-{rdir.name}-replay-{r['id']}"})
            replayed += 1
    if not kept:
        raise ValueError(f"round {rdir.name}: no training pairs (no failures and no good look-alike answers)")
    data = rdir / "data"
    write_jsonl_atomic(data / "pairs.jsonl", kept)
    corrections = [p for p in kept if p["ranking"].get("chosen_kind") != "authored"]
    sft = [{"id": p["id"].replace("round-", "round-sft-", 1), "messages": [*p["prompt"], *p["chosen"]],
            "source": p["source"], "license": p["license"], "domain": p.get("family", "replay"),
            "intent": p.get("intent", "replay")} for p in corrections]  # fmt: skip
    if sft:
        write_jsonl_atomic(data / "sft.jsonl", sft)
        validate_file(data / "sft.jsonl", "sft")
    validate_file(data / "pairs.jsonl", "pair")
    counts = {
        "failures": len(failures), "pairs_from_failures": sum(p["ranking"]["rejected_kind"] == "policy_failure"
                                                             for p in kept),
        "pairs_from_lookalikes": sum(p["ranking"]["rejected_kind"] in twin_kinds and "-replay-" not in p["id"]
                                     for p in kept),
        "lookalike_failures_uncorrected": uncorrected_twins, "lookalike_pairs_over_ratio_dropped": capped,
        "lookalike_ratio": lookalike_ratio,
        "from_monitor": sum("-monitor-" in p["id"] for p in kept), "replay": replayed,
        "contaminated_dropped": len(dirty), "contamination": [m.__dict__ for m in matches[:20]],
        "corrections": source, "correction_kind": correction_kind,
        "corrected_by": dict(Counter(p["ranking"]["chosen_kind"] for p in kept
                                     if p["ranking"]["rejected_kind"] == "policy_failure")),
        "total_pairs": len(kept), "sft_examples": len(sft),
    }  # fmt: skip
    write_text_atomic(data / "counts.json", json.dumps(counts, indent=2, default=str) + "\n")
    return counts


# --- step 4: the round's change ---------------------------------------------------------------


def compare(before: list[dict], after: list[dict]) -> dict[str, Any]:
    """Per family and overall: attack success and look-alike failures before vs after, paired by attack id."""
    from veganalign.eval.metrics import mcnemar

    b, a = {r["id"]: r for r in before}, {r["id"]: r for r in after}
    ids = [i for i in b if i in a]

    def table(rows_ids: list[str]) -> dict[str, Any]:
        att = [i for i in rows_ids if not b[i]["lookalike"] and b[i].get("scored") and a[i].get("scored")]
        twin = [i for i in rows_ids if b[i]["lookalike"]]

        def bad(r):
            return bool(r["over_refusal"] or r["over_redirection"])

        res: dict[str, Any] = {"n": len(att),
                               "success_before": sum(bool(b[i]["success"]) for i in att),
                               "success_after": sum(bool(a[i]["success"]) for i in att),
                               "n_lookalikes": len(twin),
                               "overrefusal_before": sum(bad(b[i]) for i in twin),
                               "overrefusal_after": sum(bad(a[i]) for i in twin)}  # fmt: skip
        if att:
            res["attacks_test"] = mcnemar([bool(b[i]["success"]) for i in att], [bool(a[i]["success"]) for i in att])
        if twin:
            res["lookalikes_test"] = mcnemar([bad(b[i]) for i in twin], [bad(a[i]) for i in twin])
        return res

    fams = sorted({b[i]["family"] for i in ids})
    return {"overall": table(ids), "families": {f: table([i for i in ids if b[i]["family"] == f]) for f in fams}}


def eval_change(before_verdicts: Path, after_verdicts: Path) -> dict[str, Any]:
    """Aligned cases per eval category, before and after, paired (McNemar) where both judged the case."""
    from veganalign.eval.metrics import mcnemar
    from veganalign.jsonl import load_finished_rows

    def rows(p):
        return {str(r["id"]): r for r in load_finished_rows(p) if r.get("aligned") is not None}

    b, a = rows(before_verdicts), rows(after_verdicts)
    cats: dict[str, list[str]] = {}
    for i in b:
        if i in a:
            cats.setdefault(b[i].get("category") or "?", []).append(i)
    out = {}
    for cat, ids in sorted(cats.items()):
        was, now = [bool(b[i]["aligned"]) for i in ids], [bool(a[i]["aligned"]) for i in ids]
        out[cat] = {"n": len(ids), "aligned_before": sum(was), "aligned_after": sum(now), "test": mcnemar(was, now)}
    return out


# --- the round, top to bottom ----------------------------------------------------------------


def iterate_round(run_dir: Path, *, teacher: str | None = None, from_monitor: list[Path] = (), limit: int = 16,
                  heldout_limit: int = 16, families: list[str] | None = None, replay: int = 32,
                  lookalike_ratio: float = 0.5, correction_kind: str = "swap",
                  dpo_steps: int = -1, eval_cases: bool = True, max_new_tokens: int = 128, batch_size: int = 16,
                  seed: int = 0, api_key_env: str = "OPENAI_API_KEY", progress=None,
                  console=None) -> dict[str, Any]:  # fmt: skip
    """Run (or resume) the next round of ``run_dir``; returns its summary."""
    import time

    from veganalign.data.attacks import build_attacks, load_library
    from veganalign.redteam.run import redteam

    say = console.print if console else (lambda *a, **k: None)
    started = time.time()
    spec = run_spec(run_dir)
    done = finished_rounds(run_dir)
    k = (done[-1] + 1) if done else 1
    rdir = rounds_dir(run_dir) / str(k)
    before_model = current_model(run_dir)  # a run with no model is refused before anything is written
    rdir.mkdir(parents=True, exist_ok=True)
    # A resumed round must finish as it started: its steps' outputs are only comparable under one setting.
    settings = {"model_before": before_model, "teacher": teacher, "from_monitor": [str(p) for p in from_monitor],
                "limit": limit, "heldout_limit": heldout_limit, "families": families, "replay": replay,
                "lookalike_ratio": lookalike_ratio, "correction": correction_kind,
                "dpo_steps": dpo_steps, "eval": eval_cases, "max_new_tokens": max_new_tokens, "seed": seed}  # fmt: skip
    recorded = rdir / "round.json"
    if recorded.is_file():
        before = json.loads(recorded.read_text())
        changed = sorted(k for k in settings if before.get(k) != settings[k])
        if changed:
            raise ValueError(f"{rdir}: this round was started with other settings ({', '.join(changed)}: "
                             f"{', '.join(repr(before.get(k)) for k in changed)}); rerun with those, or move "
                             f"{rdir} aside to start the round again")  # fmt: skip
    else:
        write_text_atomic(recorded, json.dumps(settings, indent=2) + "\n")
    common = dict(spec=spec, families=families, max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed,
                  api_key_env=api_key_env, progress=progress, system_prompt="spec")  # fmt: skip
    timings: dict[str, float] = {}

    def step(name: str, marker: Path, fn) -> None:
        if marker.exists():
            say(f"[dim]round {k}: {name}: done before, reused[/dim]")
            return
        t0 = time.time()
        say(f"round {k}: {name}")
        fn()
        timings[name] = round(time.time() - t0, 1)

    step(
        "red-team the train split",
        rdir / "redteam-train" / "summary.json",
        lambda: redteam(before_model, rdir / "redteam-train", split="train", limit=limit, **common),
    )
    library = load_library()
    from veganalign.knowledge import load_knowledge_base

    heldout = build_attacks(library, load_knowledge_base(), split="heldout", families=families, limit=heldout_limit,
                            seed=seed)  # fmt: skip
    heldout_texts = [m["content"] for a in heldout for m in a.messages if m["role"] == "user"]
    heldout_texts += [p for a in heldout for p in a.pushback]

    def data() -> None:
        rows = [json.loads(x) for x in (rdir / "redteam-train" / "transcripts.jsonl").read_text().splitlines() if x]
        counts = build_round_data(rdir, rows, spec=spec, run_dir=run_dir, heldout_texts=heldout_texts,
                                  teacher=teacher, from_monitor=list(from_monitor), replay=replay, seed=seed,
                                  lookalike_ratio=lookalike_ratio, correction_kind=correction_kind,
                                  api_key_env=api_key_env)  # fmt: skip
        say(f"round {k}: {counts['total_pairs']} pairs ({counts['pairs_from_failures']} from failures, "
            f"{counts['pairs_from_lookalikes']} from look-alikes, {counts['replay']} replayed; "
            f"{counts['contaminated_dropped']} dropped as contaminated)")  # fmt: skip

    step("failures into data", rdir / "data" / "counts.json", data)

    def train() -> None:
        from veganalign.train.dpo import DPORecipe, run_dpo

        cfg = DPORecipe(model=before_model, train_file=rdir / "data" / "pairs.jsonl", output_dir=rdir / "dpo",
                        loss_type="sigmoid,sft", learning_rate=2e-4, beta=0.1, batch_size=4, max_length=256,
                        max_steps=dpo_steps, save_steps=8, spec=run_dir / "spec" / "spec.yaml"
                        if (run_dir / "spec" / "spec.yaml").is_file() else None, seed=seed)  # fmt: skip
        run_dpo(cfg, resume=(rdir / "dpo" / "checkpoints").is_dir())

    step("train (DPO + SFT term) from the current model", rdir / "dpo" / "adapter_config.json", train)
    prev_after = rounds_dir(run_dir) / str(done[-1]) / "heldout-after" if done else None
    if prev_after is not None and (prev_after / "summary.json").is_file():
        before_dir = prev_after  # the same held-out attacks, the same model: measured once
    else:
        before_dir = rdir / "heldout-before"
        step(
            "red-team the held-out split, before",
            before_dir / "summary.json",
            lambda: redteam(before_model, before_dir, split="heldout", limit=heldout_limit, **common),
        )
    after_model = str(rdir / "dpo")
    step(
        "red-team the held-out split, after",
        rdir / "heldout-after" / "summary.json",
        lambda: redteam(after_model, rdir / "heldout-after", split="heldout", limit=heldout_limit, **common),
    )

    eval_summary = None
    cases = run_dir / "eval" / "cases.jsonl"
    if eval_cases and cases.is_file():

        def evaluate_after() -> None:
            from veganalign.eval.run import Arm, evaluate
            from veganalign.spec import render_system_prompt

            evaluate([Arm("tuned+spec", after_model, render_system_prompt(spec))], [cases], rdir / "eval", spec=spec,
                     max_new_tokens=max_new_tokens, batch_size=batch_size, progress=progress,
                     allow_shaped_judge=True)  # fmt: skip

        step("re-evaluate on the run's eval cases", rdir / "eval" / "summary.json", evaluate_after)
        prev = rounds_dir(run_dir) / str(done[-1]) / "eval" if done else run_dir / "eval"
        if (prev / "verdicts-tuned+spec.jsonl").is_file():
            eval_summary = eval_change(prev / "verdicts-tuned+spec.jsonl", rdir / "eval" / "verdicts-tuned+spec.jsonl")

    def load(d: Path) -> list[dict]:
        return [json.loads(x) for x in (d / "transcripts.jsonl").read_text().splitlines() if x]

    change = compare(load(before_dir), load(rdir / "heldout-after"))
    summary = {
        "round": k, "model_before": before_model, "model_after": after_model,
        "data": json.loads((rdir / "data" / "counts.json").read_text()),
        "heldout": change, "eval_by_category": eval_summary,
        "judge_independent": False,
        "judge_note": "failures were found and the held-out split is judged by the same rule judge; the held-out "
                      "attacks use templates and requests the round did not train on",
        "timings_s": timings, "wall_s": round(time.time() - started, 1),
    }  # fmt: skip
    write_text_atomic(rdir / "summary.json", json.dumps(summary, indent=2, default=float) + "\n")
    if (run_dir / "MODEL_CARD.md").is_file():  # the card names the model a run dir now resolves to: this round's
        from veganalign.card import write_model_card

        sft = run_dir / "sft" / "manifest.json"
        write_model_card(run_dir, model=json.loads(sft.read_text()).get("base_model", "?") if sft.is_file() else "?")
    return summary
