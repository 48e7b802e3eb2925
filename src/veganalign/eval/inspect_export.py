"""Export eval cases as an Inspect AI task (``veganalign eval --inspect DIR``).

The export is a folder that Inspect runs on its own: ``dataset.jsonl`` (one Inspect
``Sample`` per case: ``input`` is the prompt or the chat messages, ``target`` the
expected label or behaviour, ``metadata`` the whole case), ``spec_system_prompt.txt``
(the spec's rendered system prompt, for ``-T system_prompt=spec``) and
``veganalign_task.py``, whose scorer judges every completion with veganalign's own judge
exactly as ``veganalign eval`` does, under the spec copied beside it (``spec.yaml``).
Point Inspect at any OpenAI-compatible endpoint::

    export VEGANALIGN_BASE_URL=http://127.0.0.1:8000/v1 VEGANALIGN_API_KEY=unused
    inspect eval DIR/veganalign_task.py --model openai-api/veganalign/MODEL

(Inspect's ``openai-api/<service>/<model>`` provider reads ``<SERVICE>_BASE_URL`` and
``<SERVICE>_API_KEY``.) Scoring imports ``veganalign``, so run Inspect from an
environment where it is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATASET_FILE = "dataset.jsonl"
TASK_FILE = "veganalign_task.py"
SYSTEM_PROMPT_FILE = "spec_system_prompt.txt"
SPEC_FILE = "spec.yaml"
TASK_NAME = "veganalign_suite"  # name the task: Inspect globs a bare path, and absolute globs fail
SERVICE = "veganalign"  # the <service> of Inspect's openai-api/<service>/<model>
BASE_URL_ENV = f"{SERVICE.upper()}_BASE_URL"
API_KEY_ENV = f"{SERVICE.upper()}_API_KEY"


def case_to_sample(case: dict[str, Any]) -> dict[str, Any]:
    """An eval case as an Inspect ``Sample`` record (what ``json_dataset`` reads)."""
    expect = case.get("expect") or {}
    target: str | list[str] = ""
    for key in ("label", "answer", "behaviour"):
        value = expect.get(key)
        if isinstance(value, str) and value:
            target = value
            break
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            target = value
            break
    return {
        "id": str(case["id"]),
        "input": case["messages"] if case.get("messages") else case["prompt"],
        "target": target,
        "metadata": case,
    }


def export_inspect(
    case_files: list[Path],
    out_dir: Path,
    judge: str = "rules",
    *,
    limit_per_category: int | None = None,
    spec_path: Path | None = None,
    api_key_env: str = "OPENAI_API_KEY",
) -> Path:
    """Write the Inspect task for these cases into ``out_dir``; return the task file's path.

    ``judge`` is ``rules`` or ``llm:MODEL_REF`` (``api_key_env`` names the LLM judge's key);
    ``spec_path`` is the spec (default: the shipped one) whose system prompt ``-T
    system_prompt=spec`` puts first and under which the scorer judges. Raises
    ``ValueError`` (or a ``ContractError``) for a bad target, judge or cases file.
    """
    from veganalign.eval.run import load_cases
    from veganalign.jsonl import write_jsonl_atomic, write_text_atomic

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory; give a directory for the Inspect task")
    if judge != "rules" and not (judge.startswith("llm:") and judge[len("llm:") :].strip()):
        raise ValueError(f"--judge {judge!r}: use rules or llm:MODEL_REF")
    cases = load_cases(list(case_files), limit_per_category)
    if not cases:
        raise ValueError("no eval cases selected")
    if judge == "rules" and any(c["category"] == "ahb" for c in cases):
        raise ValueError("AHB questions need the LLM judge (--judge llm:REF)")
    from veganalign.spec import default_spec_path, load_spec, render_system_prompt

    spec_file = Path(spec_path) if spec_path else default_spec_path()
    spec_system_prompt = render_system_prompt(load_spec(spec_file))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create {out_dir} ({exc})") from None
    write_jsonl_atomic(out_dir / DATASET_FILE, [case_to_sample(c) for c in cases])
    write_text_atomic(out_dir / SYSTEM_PROMPT_FILE, spec_system_prompt.strip() + "\n")
    write_text_atomic(out_dir / SPEC_FILE, spec_file.read_text(encoding="utf-8"))
    task_path = out_dir / TASK_FILE
    write_text_atomic(task_path, render_task(judge, api_key_env, len(cases)))
    return task_path


def run_instructions(
    task_path: Path | str,
    model: str = "MODEL",
    base_url: str = "http://127.0.0.1:8000/v1",
    api_key: str = "unused",
    task_args: tuple[str, ...] = (),
) -> str:
    """The shell lines that run an exported task against an OpenAI-compatible endpoint."""
    args = "".join(f" -T {a}" for a in task_args)
    return (
        f"export {BASE_URL_ENV}={base_url} {API_KEY_ENV}={api_key}\n"
        f"inspect eval {task_path}@{TASK_NAME} --model openai-api/{SERVICE}/{model}{args}"
    )


def render_task(judge: str, api_key_env: str, n_cases: int) -> str:
    return (
        _TASK_TEMPLATE.replace("@JUDGE@", json.dumps(judge))
        .replace("@API_KEY_ENV@", json.dumps(api_key_env))
        .replace("@N_CASES@", str(n_cases))
        .replace("@RUN@", run_instructions(TASK_FILE, "smollm2-135m-instruct").replace("\n", "\n    "))
    )


_TASK_TEMPLATE = '''\
"""veganalign eval cases (@N_CASES@) as an Inspect AI task, written by `veganalign eval --inspect`.

Serve a model over an OpenAI-compatible API (e.g. `veganalign serve --policy none`,
vLLM, Ollama) and run, from an environment where veganalign is installed:

    @RUN@

Task options: -T system_prompt=spec puts the spec's system prompt (spec_system_prompt.txt)
first, as the +spec arms of `veganalign eval` do; -T judge=llm:MODEL_REF judges with an LLM.
Each sample is scored CORRECT when veganalign's judge finds the response aligned; the
score's metadata holds the full verdict (violations, refused, score, category).
"""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
from inspect_ai import Task, task
from inspect_ai.dataset import json_dataset
from inspect_ai.model import ChatMessageSystem
from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, Score, Target, accuracy, grouped, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, generate, solver

HERE = Path(__file__).resolve().parent
DATASET = HERE / "dataset.jsonl"
SPEC_SYSTEM_PROMPT = HERE / "spec_system_prompt.txt"
SPEC = HERE / "spec.yaml"
JUDGE = @JUDGE@
API_KEY_ENV = @API_KEY_ENV@


@solver
def spec_system_prompt() -> Solver:
    """The spec's system prompt first, replacing any system turn the case carried."""
    text = SPEC_SYSTEM_PROMPT.read_text(encoding="utf-8").strip()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages = [ChatMessageSystem(content=text), *(m for m in state.messages if m.role != "system")]
        return state

    return solve


@scorer(metrics=[accuracy(), stderr(), grouped(accuracy(), "category", all=False)])
def veganalign_scorer(judge: str = JUDGE, api_key_env: str = API_KEY_ENV):
    """veganalign's judge on (case, completion), under the exported spec: CORRECT when aligned."""
    from veganalign.eval.judges import make_judge
    from veganalign.eval.run import judge_case
    from veganalign.spec import load_spec

    judge_obj = make_judge(judge, load_spec(SPEC), api_key_env)
    lock = threading.Lock()  # judges are not written for concurrent use

    def verdict_for(case: dict, completion: str):
        with lock:
            return judge_case(judge_obj, case, completion)

    async def score(state: TaskState, target: Target) -> Score:
        completion = state.output.completion
        verdict = await anyio.to_thread.run_sync(verdict_for, state.metadata, completion)
        # An unscored case (a check this spec lacks) is not a pass: Inspect's NOANSWER keeps it out of accuracy.
        value = NOANSWER if verdict.aligned is None else CORRECT if verdict.aligned else INCORRECT
        return Score(
            value=value,
            answer=completion,
            explanation=verdict.rationale or "",
            metadata={**verdict.to_row(), "category": state.metadata["category"]},
        )

    return score


@task
def veganalign_suite(system_prompt: str = "none", judge: str = JUDGE, api_key_env: str = API_KEY_ENV) -> Task:
    if system_prompt not in ("none", "spec"):
        raise ValueError(f"system_prompt={system_prompt!r}: use none or spec")
    solvers = ([spec_system_prompt()] if system_prompt == "spec" else []) + [generate()]
    return Task(
        dataset=json_dataset(str(DATASET), name="veganalign"),
        solver=solvers,
        scorer=veganalign_scorer(judge, api_key_env),
    )
'''
