"""The README stays true: its numbers are read back from the files they describe.

Counts that ``data build`` produces are checked against a fresh build (the session's
``data_dir``), configuration facts against the shipped configs, and result figures
against the committed summaries they quote (``docs/results/default-run/summary.json``,
``bench/results/*.json``). A figure in the README that is rounded is compared at the
precision it is written with. When a sentence is reworded, its pattern here changes with it.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.config import CONFIG_DIR
from veganalign.data.build import EVAL_DIR, load_eval_suites, load_sft
from veganalign.data.prompts import AUTHORED, load_templates

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHORT_PREFIX = "short_"


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def says(pattern: str, text: str = README) -> re.Match:
    """The README's sentence matching ``pattern`` (whitespace in the pattern matches any line break)."""
    found = re.search(pattern.replace(" ", r"\s+"), text, re.S)
    assert found, f"the README no longer says /{pattern}/: update it or this test"
    return found


def n(text: str) -> float:
    return float(text.replace(",", ""))


def near(written: str, value: float, *, scale: float = 1.0) -> bool:
    """``written`` (as in the README) is ``value * scale`` rounded to the digits it shows."""
    decimals = len(written.split(".")[1]) if "." in written else 0
    step = 10**-decimals
    if "," in written and decimals == 0:  # "32,100": rounded to its trailing zeros
        zeros = len(written) - len(written.rstrip("0"))
        step = 10**zeros
    return abs(n(written) - value * scale) <= step / 2 + 1e-9


def answer_words(messages: list[dict]) -> int:
    return sum(len(m["content"].split()) for m in messages if m["role"] == "assistant")


def is_short(record: dict) -> bool:
    return str(record["id"]).startswith("sft-short-")


# ---------------------------------------------------------------------------------- set-up


def test_setup_names_make_install_and_the_cpu_wheel():
    setup = section("Set-up")
    assert re.search(r"^make install\b", setup, re.M), "the set-up must show `make install`"
    assert "make install TORCH_INDEX=https://download.pytorch.org/whl/cpu" in setup
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^install:", makefile, re.M)
    assert '--index-url "$(TORCH_INDEX)"' in makefile


# ---------------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def summary(data_dir: Path) -> dict:
    return json.loads((data_dir / "summary.json").read_text())


def test_the_data_counts_are_those_a_fresh_build_writes(data_dir: Path, summary: dict):
    data = section("Data")
    files = summary["files"]

    m = says(r"a prompt bank of ([\d,]+) prompts: (\d+) hand-written and (\d+) grown from (\d+) templates", data)
    assert [n(x) for x in m.groups()] == [
        files["prompts"],
        summary["prompt_bank"]["authored"],
        summary["prompt_bank"]["template"],
        len(load_templates()),
    ]

    authored = load_sft()
    m = says(
        r"([\d,]+) SFT examples for training \(`sft_train.jsonl` ([\d,]+), `sft_val.jsonl` ([\d,]+)\) out of ([\d,]+) "
        r"authored ones \((\d+) domains, (\d+) intents, (\d+) multi-turn; (\d+) of them short answers of at most "
        r"(\d+) words",
        data,
    )
    short = [r for r in authored if is_short(r)]
    assert [n(x) for x in m.groups()[:8]] == [
        files["sft_train"] + files["sft_val"],
        files["sft_train"],
        files["sft_val"],
        len(authored),
        len({r["domain"] for r in authored}),
        len({r["intent"] for r in authored}),
        sum(sum(x["role"] == "user" for x in r["messages"]) > 1 for r in authored),
        len(short),
    ]
    assert max(answer_words(r["messages"]) for r in short) <= n(m.group(9))
    assert len(short) == sum(len((AUTHORED / "sft" / p).read_text().splitlines())
                             for p in (q.name for q in (AUTHORED / "sft").glob(f"{SHORT_PREFIX}*.jsonl")))  # fmt: skip

    m = says(r"([\d,]+) ranked preference pairs \(`pairs_train.jsonl` ([\d,]+), `pairs_val.jsonl` ([\d,]+)\)", data)
    assert [n(x) for x in m.groups()] == [files["pairs_train"] + files["pairs_val"], files["pairs_train"],
                                          files["pairs_val"]]  # fmt: skip

    shipped = load_eval_suites()
    built = {k.removeprefix("eval/"): v for k, v in files.items() if k.startswith("eval/")}
    m = says(
        r"(\d+) held-out eval cases in (\d+) categories: the (\d+) shipped cases plus (\d+) held-out templated", data
    )
    assert [n(x) for x in m.groups()] == [
        sum(built.values()),
        len(built),
        sum(len(v) for v in shipped.values()),
        sum(built.values()) - sum(len(v) for v in shipped.values()),
    ]

    contamination = json.loads((data_dir / "contamination.json").read_text())
    m = says(r"classification suite asks about \((\d+) of them\): (\d+) SFT examples and the (\d+) pairs", data)
    assert [n(x) for x in m.groups()] == [
        len(contamination["same_subject_as_classification"]),
        summary["contamination"]["removed"]["sft"],
        summary["contamination"]["removed"]["pairs"],
    ]


def test_the_word_limits_select_exactly_the_short_answers(data_dir: Path):
    training = section("Training")
    recipe = yaml.safe_load((CONFIG_DIR / "sft-cpu.yaml").read_text())
    m = says(
        r"`max_source_words: (\d+)` keeps only examples whose authored answer has at most (\d+) words, which selects "
        r"exactly the (\d+) short examples in `data/authored/sft/short_\*.jsonl` \((\d+) of them in the built "
        r"`sft_train.jsonl`, of which `max_examples: (\d+)` draws a seeded (\d+)\)",
        training,
    )
    limit = recipe["max_source_words"]
    assert n(m.group(1)) == n(m.group(2)) == limit
    authored = load_sft()
    selected = [r for r in authored if answer_words(r["messages"]) <= limit]
    assert len(selected) == n(m.group(3)) and all(is_short(r) for r in selected)
    assert len(selected) == sum(is_short(r) for r in authored)
    train = [json.loads(x) for x in (data_dir / "sft_train.jsonl").read_text().splitlines()]
    in_train = sum(answer_words(r["messages"]) <= limit for r in train)
    assert in_train == n(m.group(4))
    assert n(m.group(5)) == n(m.group(6)) == recipe["max_examples"] <= in_train
    # the default profile's description in "The main job" names the same limits
    main = section("The main job")
    m = says(r"SFT on (\d+) of the short authored answers \(at most (\d+) words as written\)", main)
    assert [n(x) for x in m.groups()] == [recipe["max_examples"], limit]


def test_the_default_profile_is_described_as_configured():
    main = section("The main job")
    run = yaml.safe_load((CONFIG_DIR / "run-default.yaml").read_text())
    dpo = yaml.safe_load((CONFIG_DIR / "dpo-cpu.yaml").read_text())
    sft = yaml.safe_load((CONFIG_DIR / "sft-cpu.yaml").read_text())
    m = says(
        r"for (\d+) epochs at LoRA learning rate ([\d.e-]+); then DPO by self-play on (\d+) of those prompts", main
    )
    assert n(m.group(1)) == sft["epochs"] and float(m.group(2)) == sft["learning_rate"]
    assert n(m.group(3)) == dpo["max_pairs"]
    m = says(r"then (\d+) eval cases per category and (\d+) adversarial ones per arm \((\d+) new tokens", main)
    assert [n(x) for x in m.groups()] == [run["eval"]["limit_per_category"], run["eval"]["category_limits"]
                                          ["adversarial"], run["eval"]["max_new_tokens"]]  # fmt: skip


def test_the_shipped_suites_are_counted_right():
    m = says(r"Shipped suites \(`src/veganalign/data/eval/`.*?\): (.*?)\. A user's own", section("Evaluation"))
    written = {name: int(count) for name, count in re.findall(r"(\w+) (\d+)", m.group(1))}
    assert written == {path.stem: len(path.read_text().splitlines()) for path in EVAL_DIR.glob("*.jsonl")}


def test_the_readme_validate_command_checks_every_contract_file(data_dir: Path):
    line = next(x for x in section("Data").splitlines() if x.startswith("veganalign data validate"))
    args = []
    for word in shlex.split(line.split("#")[0])[3:]:
        word = word.replace("runs/data", str(data_dir))
        braces = re.fullmatch(r"(.*)\{(.*)\}(.*)", word)
        for expanded in (
            [braces.group(1) + b + braces.group(3) for b in braces.group(2).split(",")] if braces else [word]
        ):
            args += sorted(glob.glob(expanded)) or [expanded]
    result = CliRunner().invoke(app, ["data", "validate", *args])
    assert result.exit_code == 0, result.output
    contract_files = {str(p) for p in data_dir.rglob("*.jsonl") if p.name != "sft_nearest_neighbours.jsonl"}
    assert set(args) == contract_files  # every file the build writes under a contract, nothing else


def test_data_validate_goes_on_past_a_file_that_is_no_contract_file(data_dir: Path):
    """The README's old `data validate runs/data/*.jsonl` stopped at the report file; every file is now checked."""
    files = sorted(str(p) for p in data_dir.glob("*.jsonl"))
    result = CliRunner().invoke(app, ["data", "validate", *files])
    assert result.exit_code == 2
    assert "sft_nearest_neighbours.jsonl:1: not a data-contract file" in result.stderr
    assert sum(line.startswith("ok ") for line in result.stdout.splitlines()) == len(files) - 1


# ---------------------------------------------------------------------------------- results


RESULTS = json.loads((ROOT / "docs" / "results" / "default-run" / "summary.json").read_text())
HEADLINE = ("alignment", "attack_success", "over_refusal", "helpfulness")


def table_rows(text: str, first_cell: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows[cells[0]] = cells[1:]
    return rows


def test_the_default_run_table_is_the_committed_summary():
    main = section("The main job")
    rows = table_rows(main, r"base|base\+spec|tuned|tuned\+spec")
    assert set(rows) == set(RESULTS["arms"])
    header = says(r"\| arm \| alignment \(n=(\d+)\) \| attack success \(n=(\d+)\) \| over-refusal \(n=(\d+)\) \| "
                  r"helpfulness \(n=(\d+)\) \| mean words \|", main)  # fmt: skip
    for name, cells in rows.items():
        arm = RESULTS["arms"][name]
        for metric, cell, n_written in zip(HEADLINE, cells, header.groups(), strict=False):
            h = arm["headline"][metric]
            rate, low, high = re.fullmatch(r"(\d+)% \[(\d+)%, (\d+)%\]", cell).groups()
            assert int(n_written) == h["n"], (name, metric)
            assert near(rate, h["rate"], scale=100) and near(low, h["low"], scale=100), (name, metric, cell)
            assert near(high, h["high"], scale=100), (name, metric, cell)
        assert near(cells[4], arm["mean_response_words"]), (name, cells[4])
    kappa = says(r"agrees with the blind gold labels at κ = ([\d.]+) overall", main).group(1)
    assert near(kappa, RESULTS["judge"]["trust"]["overall"]["kappa"])


def test_the_paired_tests_are_the_committed_summary():
    rows = table_rows(section("The main job"), r"tuned(\+spec)? vs base(\+spec)?")
    assert len(rows) == 4
    comparisons = {(c["a"], c["b"]): c for c in RESULTS["comparisons"]}
    for label, cells in rows.items():
        tuned, base = label.split(" vs ")
        c = comparisons[(base, tuned)]
        for cell, key in zip(cells, ("alignment", "adversarial", "over_refusal_categories"), strict=True):
            only_base, only_tuned, p = re.fullmatch(r"(\d+) / (\d+), \**p = ([\d.]+)\**", cell).groups()
            assert (int(only_base), int(only_tuned)) == (c[key]["only_a"], c[key]["only_b"]), (label, key)
            assert near(p, c[key]["p_value"]), (label, key, p)


def bench(name: str) -> dict:
    return json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())


def bench_script(name: str):  # noqa: ANN201 - a module
    """``bench/NAME.py`` as a module, to measure again what its committed result says."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_figures_are_their_results():
    g = bench("generation")
    m = says(r"one prompt at a time \*\*([\d.]+) tokens/s\*\*, batched \((\d+) prompts, batch (\d+)\) "
             r"\*\*([\d.]+) tokens/s\*\*: \*\*([\d.]+)x\*\*")  # fmt: skip
    assert near(m.group(1), g["one_at_a_time"]["tokens_per_second"]) and near(
        m.group(4), g["batched"]["tokens_per_second"]
    )
    assert (int(m.group(2)), int(m.group(3))) == (g["batched"]["prompts"], g["batched"]["batch_size"])
    assert near(m.group(5), g["speedup"])

    s = bench("sft")
    m = says(r"the recipe trained \*\*([\d.]+)\*\* non-padding tokens/s against plain TRL's padded batches at "
             r"\*\*([\d.]+)\*\*: \*\*([\d.]+)×\*\*")  # fmt: skip
    assert near(m.group(1), s["veganalign"]["tokens_per_second"]) and near(
        m.group(2), s["plain_trl"]["tokens_per_second"]
    )
    assert near(m.group(3), s["speedup"])

    h = bench("heldout_requests")
    m = says(r"the rule judge counts (\d+) of (\d+) base answers and (\d+) of \d+ tuned answers as vegan \(McNemar "
             r"p = ([\d.]+)\)")  # fmt: skip
    assert [int(m.group(i)) for i in (1, 2, 3)] == [h["judged_aligned"]["base"], h["of"], h["judged_aligned"]["tuned"]]
    assert near(m.group(4), h["mcnemar_tuned_vs_base"]["p_value"])
    c = bench("heldout_classification")
    m = says(r"right verdicts base (\d+), tuned (\d+) \(p = ([\d.]+);")
    assert [int(m.group(1)), int(m.group(2))] == [c["judged_aligned"]["base"], c["judged_aligned"]["tuned"]]
    assert near(m.group(3), c["mcnemar_tuned_vs_base"]["p_value"])

    rl = bench("rl-gpu")
    m = says(r"the mean reward rose from \*\*([\d.]+)\*\* over the first 5 steps to \*\*([\d.]+)\*\* over the last 5, "
             r"a gain of ([\d.]+) against a step-to-step spread of ([\d.]+)")  # fmt: skip
    grpo = rl["grpo"]["result"]
    for written, value in zip(m.groups(), (grpo["reward_first5"], grpo["reward_last5"], rl["grpo"]["criterion"]["gain"],
                                           grpo["step_to_step_spread"]), strict=True):  # fmt: skip
        assert near(written, value), (written, value)
    reward = rl["reward"]["result"]
    m = says(r"\(`reward-gpu.yaml` settings: ([\d,]+) pairs, one epoch, (\d+) steps, (\d+) s;")
    assert [n(x) for x in m.groups()] == [reward["pairs"], reward["global_step"], round(rl["reward"]["wall_s"])]
    m = says(r"but still only \*\*([\d.]+)\*\* on the (\d+) gold pairs of two real outputs")
    assert (
        near(m.group(1), reward["gold_real_vs_real_accuracy"]) and int(m.group(2)) == reward["gold_real_vs_real_pairs"]
    )

    assert (
        int(says(r"2 epochs over the (\d+) SFT examples").group(1)) == bench("gpu")["sft_small"]["result"]["examples"]
    )

    k = bench("check")
    m = says(r"about \*\*([\d,]+) texts per CPU-second\*\* \((\d+) µs each\), (\d+)× a naive loop")
    assert near(m.group(1), k["check"]["texts_per_s"]) and near(m.group(2), k["check"]["us_per_text"])
    assert near(m.group(3), k["speedup"])


def test_the_red_team_figures_are_their_results():
    """The Red-teaming section's figures, read back from bench/results/redteam/ (bench/redteam_round.sh)."""
    text = section("Red-teaming")
    root = ROOT / "bench" / "results" / "redteam"

    def load(*parts: str) -> dict:
        return json.loads(root.joinpath(*parts).read_text())

    train = load("round1", "redteam-train", "summary.json")["overall"]
    m = says(r"attacks\s+succeed (\d+) of (\d+) times \((\d+)%", text)
    assert [int(m.group(1)), int(m.group(2))] == [train["successes"], train["n"]] and near(
        m.group(3), train["rate"], scale=100
    )
    m = says(r"and (\d+) \((\d+)%\) are over-redirected", text)
    assert int(m.group(1)) == round(train["over_redirection"] * train["n_lookalikes"])

    for folder, label in (("round1-uncapped", "uncapped"), ("round1", "capped"), ("round1-swap", "swap corrections")):
        summary, counts = load(folder, "summary.json"), load(folder, "counts.json")
        o = summary["heldout"]["overall"]
        block = text[text.index(f"**First round, {label}**") :]
        m = says(r"(\d+) pairs: (\d+) from failures, (\d+) from\s+look-alikes, (\d+) replayed", block)
        assert [int(x) for x in m.groups()] == [counts["total_pairs"], counts["pairs_from_failures"],
                                                 counts["pairs_from_lookalikes"], counts["replay"]]  # fmt: skip
        m = says(r"attack success (\d+) → (\d+) of (\d+) \((?:McNemar )?p = ([\d.]+)\)", block)
        assert [int(x) for x in m.groups()[:3]] == [o["success_before"], o["success_after"], o["n"]]
        assert near(m.group(4), o["attacks_test"]["p_value"])
        m = says(r"look-alikes refused or redirected (\d+) → (\d+) of (\d+)", block)
        assert [int(x) for x in m.groups()] == [o["overrefusal_before"], o["overrefusal_after"], o["n_lookalikes"]]

    swap = text[text.index("**First round, swap corrections**") :]
    counts = load("round1-swap", "counts.json")
    m = says(r"(\d+) of\s+the (\d+) failures corrected by a swap, (\d+) by the redirection", swap)
    assert [int(x) for x in m.groups()] == [counts["corrected_by"]["kb_swap"], counts["pairs_from_failures"],
                                            counts["corrected_by"]["kb_redirection"]]  # fmt: skip
    ev = load("round1-swap", "summary.json")["eval_by_category"]["adversarial"]
    m = says(r"adversarial aligned (\d+) → (\d+) of (\d+)\s+\(p = ([\d.]+)\)", swap)
    assert [int(x) for x in m.groups()[:3]] == [ev["aligned_before"], ev["aligned_after"], ev["n"]]
    assert near(m.group(4), ev["test"]["p_value"])

    for folder, label in (("round1-uncapped", "uncapped"), ("round1-swap", "swap corrections")):  # blind readings
        blind, block = load(folder, "blind", "summary.json"), text[text.index(f"**First round, {label}**") :]
        m = says(r"give an animal product (\d+) → (\d+) of (\d+) \(p = ([\d.]+)\)", block)
        g = blind["attack"]["gives_animal_product"]
        assert [int(x) for x in m.groups()[:3]] == [g["before"], g["after"], blind["attack"]["cases"]]
        assert near(m.group(4), g["mcnemar"]["p_value"])
        m = says(r"usable (?:answers )?(\d+) → (\d+) \(p = ([\d.]+)\)", block)
        u = blind["attack"]["usable"]
        assert [int(x) for x in m.groups()[:2]] == [u["before"], u["after"]] and near(
            m.group(3), u["mcnemar"]["p_value"]
        )
    guarded = load("guarded-heldout", "summary.json")["overall"]
    m = says(r"on the same 78 attacks: attack success (\d+) of (\d+)\s+\((\d+)%", text)
    assert [int(m.group(1)), int(m.group(2))] == [guarded["successes"], guarded["n"]]
    assert near(m.group(3), guarded["rate"], scale=100)
    module = bench_script("redteam_table")
    # the per-family table: the committed transcripts, every answer judged again by today's judge
    assert module.table(rejudge=True) in text
    blind = load("guarded-heldout", "blind", "summary.json")["attack"]  # the answers that changed, read blind
    m = says(r"answers giving an animal product (\d+) → (\d+)\s+of (\d+) \(McNemar p = ([\d.]+)\)", text)
    g = blind["gives_animal_product"]
    assert [int(x) for x in m.groups()[:3]] == [g["before"], g["after"], blind["cases"]]
    assert near(m.group(4), g["mcnemar"]["p_value"])
    # the look-alikes: measured, read blind, and the train-split figures the retry's opening was chosen on
    twins = load("guarded-heldout", "blind", "summary.json")["lookalike"]
    m = says(r"swap out or redirect the\s+vegan request (\d+) → (\d+) of (\d+) \(McNemar p < 0\.0001\)", text)
    r = twins["redirects_vegan_request"]
    assert [int(x) for x in m.groups()] == [r["before"], r["after"], twins["cases"]] and r["mcnemar"]["p_value"] < 1e-4
    m = says(r"Over-redirected look-alikes \d+ → (\d+)\s+of (\d+)", text)
    assert [int(x) for x in m.groups()] == [round(guarded["over_redirection"] * guarded["n_lookalikes"]),
                                            guarded["n_lookalikes"]]  # fmt: skip
    retry = bench("retry_opening")
    m = says(r"found (\d+) of the (\d+) retries\s+still over-redirected told not to, (\d+) of \d+ started", text)
    assert [int(x) for x in m.groups()] == [retry["openings"][""]["still_over_redirected"],
                                            retry["first_over_redirected"],
                                            retry["openings"]["Sure! "]["still_over_redirected"]]  # fmt: skip
    base = load("base-heldout", "summary.json")["overall"]
    m = says(r"with the spec's prompt: attack success (\d+) of (\d+)\s+\((\d+)%", text)
    assert [int(m.group(1)), int(m.group(2))] == [base["successes"], base["n"]] and near(
        m.group(3), base["rate"], scale=100
    )
    m = says(r"refuses (\d+) of the (\d+) look-alikes", text)
    assert [int(m.group(1)), int(m.group(2))] == [
        round(base["over_refusal"] * base["n_lookalikes"]),
        base["n_lookalikes"],
    ]


def test_the_rails_reading_against_blind_readers_is_what_the_bench_measures_today():
    """The committed result is what the signals and rails of this commit measure, and the README says it."""
    today = bench_script("recommend_reading").measure()
    assert today == bench("recommend_reading")
    m = says(r"(\d+), (\d+) and (\d+) \(recall ([\d.]+)%, precision ([\d.]+)%\)")
    assert [int(x) for x in m.groups()[:3]] == [today["both"], today["reader_only"], today["rails_only"]]
    assert near(m.group(4), today["recall"], scale=100) and near(m.group(5), today["precision"], scale=100)
    assert today["answers"] == int(says(r"labelled, (\d+) \(the red-team readings").group(1))


def test_the_options_replay_is_what_the_bench_measures_today():
    today = bench_script("option_replay").measure()
    assert today == bench("option_replay")
    sets = today["sets"]
    base, tuned = sets["heldout pushback, base+rails"], sets["heldout pushback, tuned+rails"]
    m = says(
        r"options to (\d+) base\+rails and (\d+) tuned\+rails last answers"
        r" \(judged aligned (\d+) → (\d+) of (\d+),"
    )
    assert [int(x) for x in m.groups()] == [base["options_added"], tuned["options_added"], base["aligned_before"],
                                            base["aligned_after"], base["answers"]]  # fmt: skip
    m = says(r"McNemar 0 / (\d+), p = ([\d.]+); (\d+) → (\d+), p = ([\d.]+)\)")
    assert int(m.group(1)) == base["mcnemar"]["only_b"] and near(m.group(2), base["mcnemar"]["p_value"])
    assert [int(m.group(3)), int(m.group(4))] == [tuned["aligned_before"], tuned["aligned_after"]]
    assert near(m.group(5), tuned["mcnemar"]["p_value"])
    attacks = sets["held-out attacks, guarded server"]
    m = says(r"(\d+) held-out\s+attack answers below, to (\d+) \((\d+) → (\d+), p = ([\d.]+)\)")
    assert [int(x) for x in m.groups()[:4]] == [attacks["answers"], attacks["options_added"],
                                                attacks["aligned_before"], attacks["aligned_after"]]  # fmt: skip
    assert near(m.group(5), attacks["mcnemar"]["p_value"])


def test_the_blind_reading_of_the_second_pushback_set_is_what_its_labels_say():
    folder = ROOT / "bench" / "results" / "serve_eval_heldout_pushback_v2" / "blind"
    today = bench_script("blind_pushback_summary").measure(folder)
    assert today == json.loads((folder / "summary.json").read_text())
    arms = ("base", "base+rails", "tuned", "tuned+rails")
    rows = {"gives an animal product": "gives_animal_product", "offers a vegan answer": "vegan_answer",
            "usable": "usable"}  # fmt: skip
    for label, field in rows.items():
        for run, row in (("heldout", f"{label}, first run"), ("final", r"\.\.\. with today's rails")):
            if run == "final":  # the "..." row right after the label's first-run row
                m = says(rf"\| {label}, first run \|[^\n]*\n  \| {row} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|")
            else:
                m = says(rf"\| {row} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|")
            counts = today["runs"][run]["attack"]["counts"]
            assert [int(x) for x in m.groups()] == [counts[arm][field] for arm in arms], (label, run)
    helped = {arm: c["helps_with_need"] for run in ("heldout", "final")
              for arm, c in today["runs"][run]["need"]["counts"].items()}  # fmt: skip
    assert set(helped.values()) == {0} and says(r"No arm helped with any of the 6 plain needs")


def test_the_health_answers_are_what_the_bench_measures_today():
    today = bench_script("health_answers").measure()
    assert today == bench("health_answers")
    folder = ROOT / "bench" / "results" / "health_answers"
    first = [
        json.loads((folder / f"first_run_heldout_health{s}.json").read_text())["groups"] for s in ("", "_2", "_3", "_4")
    ]
    rows = {"treatment": "treatment", "cut off from food": "survival", "emergency now": "urgent",
            r"near misses \(should be none\)": "not_treatment"}  # fmt: skip
    for label, group in rows.items():
        m = says(rf"\| {label} \| (\d+) / (\d+) \| (\d+) / (\d+) \| (\d+) / (\d+) \| (\d+) / (\d+) \|")
        written = [int(x) for x in m.groups()]
        assert written == [v for g in first for v in (g[group]["answered_by_server"], g[group]["conversations"])]
    others = today["sets"]["eval suites other than survival_medical"]["groups"]
    others = [*others.values(), *today["sets"]["other bench sets (attacks, pushback, requests)"]["groups"].values()]
    pushback = today["sets"]["held-out pushback"]["groups"]
    untouched = [g for g in others] + [g for k, g in pushback.items() if k != "survival_medical"]
    assert all(g["answered_by_server"] == 0 for g in untouched)
    assert int(says(r"none\s+of the other (\d+) eval, attack and pushback cases").group(1)) == sum(
        g["conversations"] for g in untouched
    )
    evals = today["sets"]["eval survival_medical"]["groups"]["survival_medical"]
    assert says(r"(\d+) of the (\d+) `survival_medical` eval prompts").groups() == (
        str(evals["answered_by_server"]), str(evals["conversations"]))  # fmt: skip


def test_the_blind_reading_of_the_health_answers_is_what_its_labels_say():
    today = bench_script("blind_health_summary").measure()
    folder = ROOT / "bench" / "results" / "health_answers" / "blind"
    assert today == json.loads((folder / "summary.json").read_text())
    server, model = today["arms"]["server"], today["arms"]["model"]
    m = says(r"usable (\d+) against (\d+) \(McNemar (\d+) / (\d+), p < 0\.0001\), safe (\d+) against\s+(\d+), "
             r"health first (\d+) against (\d+), moralizing (\d+) against (\d+)")  # fmt: skip
    test = today["mcnemar_server_vs_model"]["usable"]
    assert [int(x) for x in m.groups()] == [server["usable"], model["usable"], test["only_a"], test["only_b"],
                                            server["safe"], model["safe"], server["health_first"],
                                            model["health_first"], server["moralizes"], model["moralizes"]]  # fmt: skip
    assert test["p_value"] < 0.0001
    m = says(r"yes /\s+partly / no (\d+) / (\d+) / (\d+) against (\d+) / (\d+) / (\d+)")
    need = [server["addresses_need"][k] for k in ("yes", "partly", "no")]
    assert [int(x) for x in m.groups()] == need + [model["addresses_need"][k] for k in ("yes", "partly", "no")]
    m = says(r"preferred the server's reply (\d+)\s+times, the model's never \((\d+) ties")
    assert [int(x) for x in m.groups()] == [today["prefer"]["server"], today["prefer"]["tie"]]
    assert today["prefer"]["model"] == 0
