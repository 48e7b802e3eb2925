"""The annotation round trip through a real Label Studio server on loopback (its own pip
package in its own environment, SQLite in a temporary data dir): push a ranking project,
two annotator accounts annotate through the API, pull, import, agreement, and the pairs
train in DPO. ``make label-studio`` installs it; without it the test skips, under CI it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import free_port
from helpers.annotation import AUTHORED, BASE, NOTED, rank_items
from veganalign.annotate.client import LabelStudio
from veganalign.cli import app

ROOT = Path(__file__).resolve().parents[2]
LABEL_STUDIO = Path(os.environ.get("VEGANALIGN_LABEL_STUDIO", ROOT / ".venv-label-studio" / "bin" / "label-studio"))
ADMIN, PASSWORD, LEGACY = "admin@example.org", "admin-pass-1234", "0123456789abcdef0123456789abcdef01234567"
runner = CliRunner()


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    if not LABEL_STUDIO.exists():
        message = f"Label Studio is not installed at {LABEL_STUDIO} (make label-studio)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    data = tmp_path_factory.mktemp("label-studio")
    port = free_port()
    env = {**os.environ, "LABEL_STUDIO_USERNAME": ADMIN, "LABEL_STUDIO_PASSWORD": PASSWORD,
           "LABEL_STUDIO_USER_TOKEN": LEGACY, "LABEL_STUDIO_BASE_DATA_DIR": str(data)}  # fmt: skip
    env.pop("HOST", None)
    log = (data / "server.log").open("w")
    proc = subprocess.Popen([str(LABEL_STUDIO), "start", "--no-browser", "--internal-host", "127.0.0.1",
                             "--port", str(port), "--data-dir", str(data)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"Label Studio exited: {(data / 'server.log').read_text()[-2000:]}")
        time.sleep(1)
    else:
        proc.kill()
        pytest.fail("Label Studio did not answer /health within 300 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    shutil.rmtree(data, ignore_errors=True)


def browser_session(url: str, email: str, password: str, signup: bool = False) -> httpx.Client:
    """Log in (or sign up) the way the web page does, for what only a session may do."""
    client = httpx.Client(base_url=url, timeout=30)
    path = "/user/signup/" if signup else "/user/login/"
    client.get(path)
    r = client.post(path, data={"email": email, "password": password,
                                "csrfmiddlewaretoken": client.cookies.get("csrftoken")},
                    headers={"Referer": url + path})  # fmt: skip
    assert r.status_code == 302, r.text[:500]
    return client


def personal_token(session: httpx.Client) -> str:
    r = session.post("/api/token/", headers={"X-CSRFToken": session.cookies.get("csrftoken"), "Referer": "/"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def annotate_as(url: str, token: str, project_id: int, best_first: dict[int, list[str]]) -> int:
    """Rank every task through the API with this annotator's personal access token."""
    ls = LabelStudio(url, token)
    tasks = ls.call("GET", "/api/tasks", params={"project": project_id})["tasks"]
    for n, task in enumerate(sorted(tasks, key=lambda t: t["id"])):
        order = best_first.get(n, [AUTHORED, NOTED, BASE])
        result = []
        for slot in range(3):
            text = task["data"][f"answer_{slot}"]
            place = next(i for i, prefix in enumerate(order) if text.startswith(prefix))
            result += [{"from_name": f"rank_{slot}", "to_name": f"answer_{slot}", "type": "choices",
                        "value": {"choices": [str(place + 1)]}},
                       {"from_name": f"alignment_{slot}", "to_name": f"answer_{slot}", "type": "rating",
                        "value": {"rating": 5 - place}}]  # fmt: skip
        ls.call("POST", f"/api/tasks/{task['id']}/annotations", json={"result": result})
    ls.close()
    return len(tasks)


@pytest.mark.slow
def test_a_ranking_round_trip_through_label_studio_trains_dpo(label_studio, tmp_path, tiny_model):
    url = label_studio
    admin = browser_session(url, ADMIN, PASSWORD)
    headers = {"X-CSRFToken": admin.cookies.get("csrftoken"), "Referer": url + "/"}
    # New organisations accept personal access tokens only; turn legacy tokens on to test both kinds.
    r = admin.post("/api/jwt/settings", headers=headers, json={"api_tokens_enabled": True,
                                                                "legacy_api_tokens_enabled": True})  # fmt: skip
    assert r.status_code == 200, r.text
    admin_pat = personal_token(admin)

    project = tmp_path / "project"
    result = runner.invoke(app, ["annotate", "export", "--task", "rank", "--from",
                                 str(rank_items(tmp_path / "items.jsonl", n=4)), "--out", str(project)])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["annotate", "push", str(project), "--url", url, "--token", admin_pat])
    assert result.exit_code == 0, result.output
    project_id = json.loads((project / "project.json").read_text())["label_studio"]["project_id"]

    alice = personal_token(browser_session(url, "alice@example.org", "alice-pass-1234", signup=True))
    bob = personal_token(browser_session(url, "bob@example.org", "bob-pass-1234", signup=True))
    assert annotate_as(url, alice, project_id, {}) == 4
    assert annotate_as(url, bob, project_id, {3: [NOTED, AUTHORED, BASE]}) == 4  # one disagreement

    # Pulled with the legacy token; annotators come back as ids, users.json names them.
    result = runner.invoke(app, ["annotate", "pull", str(project), "--token", LEGACY])
    assert result.exit_code == 0, result.output
    assert "pulled 8 annotations" in " ".join(result.output.split())
    users = json.loads((project / "users.json").read_text())
    assert {"alice@example.org", "bob@example.org"} <= set(users.values())

    out = tmp_path / "imported"
    result = runner.invoke(app, ["annotate", "import", str(project / "export.json"), "--project", str(project),
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 8 * 3
    assert {p["ranking"]["method"] for p in pairs} == {"human:alice@example.org", "human:bob@example.org"}
    report = json.loads((out / "agreement.json").read_text())
    assert report["criteria"]["rank"]["units"] == 12 and 0 < report["criteria"]["rank"]["alpha"] < 1
    assert report["criteria"]["rank"]["cohen_kappa"] is not None
    assert len(report["disagreements"]) == 1

    result = runner.invoke(app, ["train", "dpo", "--model", str(tiny_model), "--train-file", str(out / "pairs.jsonl"),
                                 "--output-dir", str(tmp_path / "dpo"), "--max-steps", "2", "--batch-size", "2",
                                 "--max-length", "128"])  # fmt: skip
    assert result.exit_code == 0, result.output

    # A personal access token's short-lived access token is refreshed when the server says 401.
    ls = LabelStudio(url, admin_pat)
    ls.access = "expired"
    assert ls.call("GET", f"/api/projects/{project_id}")["id"] == project_id
    ls.close()
    result = runner.invoke(app, ["annotate", "pull", str(project), "--token", "not-a-token"])
    assert result.exit_code == 2 and "HTTP 401 (check --token)" in " ".join(result.output.split())
