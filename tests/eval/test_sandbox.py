"""Model-written code runs contained: hostile helpfulness answers fail, and leave no trace on the machine.

Containment is checked by its effects (files that must not exist, connections the server must not see,
processes that must be gone), not only by the exit status.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from veganalign.eval import sandbox
from veganalign.eval.helpfulness import CODE_LIMITS, score
from veganalign.eval.sandbox import Limits, SandboxUnavailable, run_python

ADD_CASE = {"expect": {"entry_point": "add", "tests": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]}}


def answer(body: str) -> str:
    """A model's answer: ``def add(a, b):`` with ``body`` (indented by the caller) in a fenced block."""
    return f"Here you go:\n```python\ndef add(a, b):\n{body}\n```\n"


def sandboxed_processes() -> set[int]:
    """Processes in a pid namespace other than ours: the sandbox's, if any survive."""
    ours = os.readlink("/proc/self/ns/pid")
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") != ours:
                    found.add(int(entry.name))
            except OSError:  # gone, or not ours to inspect
                pass
    return found


def test_correct_solution_passes_and_wrong_one_fails_with_the_assertion():
    assert score(ADD_CASE, answer("    return a + b")).passed is True
    wrong = score(ADD_CASE, answer("    return a * b"))
    assert wrong.passed is False and wrong.scored
    assert wrong.reason.startswith("AssertionError")


def test_infinite_loop_is_killed_by_the_cpu_limit_quickly():
    started = time.monotonic()
    outcome = score(ADD_CASE, answer("    while True:\n        pass"))
    assert outcome.passed is False
    assert "CPU time limit" in outcome.reason or "wall-clock limit" in outcome.reason  # wall if the CPU is busy
    assert time.monotonic() - started < CODE_LIMITS.wall_s + 2


def test_sleeping_forever_is_killed_by_the_wall_clock():
    started = time.monotonic()
    outcome = score(ADD_CASE, answer("    import time\n    time.sleep(1000)"), limits=Limits(wall_s=1.5))
    assert outcome.passed is False and "wall-clock limit" in outcome.reason
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "body",
    [
        "    import os\n    while True:\n        os.fork()",  # dies at the first refused fork
        "    import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n"
        "            pass",
    ],
    ids=["fork-bomb", "fork-bomb-that-keeps-trying"],
)
def test_fork_bomb_is_contained_and_leaves_no_process(body):
    before = sandboxed_processes()
    outcome = {}
    bomb = threading.Thread(target=lambda: outcome.update(o=score(ADD_CASE, answer(body), limits=Limits(wall_s=3))))
    bomb.start()
    latencies = []
    while bomb.is_alive():  # the machine stays responsive while the bomb goes off
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        latencies.append(time.monotonic() - started)
        time.sleep(0.2)
    bomb.join()
    assert outcome["o"].passed is False
    assert "BlockingIOError" in outcome["o"].reason or "wall-clock limit" in outcome["o"].reason
    assert max(latencies) < 2.0
    assert sandboxed_processes() <= before


def test_fork_bomb_hits_the_process_limit():
    result = run_python("import os\nwhile True:\n    os.fork()", limits=Limits(wall_s=3))
    assert "BlockingIOError: [Errno 11]" in result.stderr  # refused by RLIMIT_NPROC, not only killed at the end


def test_huge_allocation_fails_with_memory_error():
    outcome = score(ADD_CASE, answer("    data = bytearray(8 * 1024**3)\n    return a + b"))
    assert outcome.passed is False and outcome.reason == "MemoryError"


def test_writes_outside_the_work_dir_do_not_land(tmp_path):
    name = f"sandbox-escape-{uuid.uuid4().hex}"
    targets = [tmp_path / name, Path("/tmp") / name, Path.home() / name, Path(__file__).parent / name]
    body = f"""    refused = []
    for target in {[str(t) for t in targets]!r}:
        try:
            with open(target, "w") as f:
                f.write("escaped")
        except OSError as exc:
            refused.append(type(exc).__name__)
    assert not refused, refused
    return a + b"""
    try:
        outcome = score(ADD_CASE, answer(body))
        assert outcome.passed is False and "AssertionError" in outcome.reason
        assert [t for t in targets if t.exists()] == []  # /tmp was writable, but only the sandbox's own /tmp
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


def test_no_network_to_a_server_on_loopback():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        body = f"    import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    return a + b"
        outcome = score(ADD_CASE, answer(body))
        assert outcome.passed is False and "Network is unreachable" in outcome.reason
        server.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing is waiting to be accepted: no connection was made
            server.accept()


def test_environment_secrets_are_not_readable(monkeypatch):
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("VEGANALIGN_TEST_API_KEY", secret)
    body = """    import glob, os
    leaked = [repr(dict(os.environ))]
    for path in glob.glob("/proc/*/environ"):
        try:
            leaked.append(open(path).read())
        except OSError:
            pass
    print(leaked)
    raise RuntimeError(leaked)"""
    outcome = score(ADD_CASE, answer(body))
    assert outcome.passed is False and "RuntimeError" in outcome.reason and secret not in outcome.reason
    result = run_python(f"def add(a, b):\n{body}\n\nadd(1, 2)\n")
    assert "RuntimeError" in result.stderr  # it did run and print
    assert secret not in result.stdout and secret not in result.stderr


def test_output_is_capped():
    result = run_python("while True:\n    print('x' * 1000)", limits=Limits(output_bytes=10_000))
    assert result.killed_reason == "output limit (10000 bytes)" and result.output_truncated
    assert len(result.stdout) <= 10_000


def test_runs_without_privileges_in_a_fresh_work_dir_that_is_gone_afterwards():
    probe = """import os, json
status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
open("left-behind.txt", "w").write("x")
try:
    os.setuid(0)
    setuid = "allowed"
except OSError:
    setuid = "refused"
print(json.dumps({"cwd": os.getcwd(), "files": sorted(os.listdir(".")), "uid": os.getuid(),
                  "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
                  "setuid": setuid, "pids": sorted(p for p in os.listdir("/proc") if p.isdigit())}))
"""
    first = json.loads(run_python(probe).stdout)
    second = json.loads(run_python(probe).stdout)
    assert first["files"] == second["files"] == ["candidate.py", "left-behind.txt"]  # fresh each time
    assert not Path(first["cwd"], "left-behind.txt").exists()  # the work dir never was on the host
    assert first["cap_eff"] == "0000000000000000" and first["no_new_privs"] == "1"
    assert first["pids"] == ["1", "2"]  # its own pid namespace: the host's processes are invisible
    if os.geteuid() == 0:
        assert first["uid"] == 65534 and first["setuid"] == "refused"


def _fake_unshare(tmp_path: Path, kind: str) -> str:
    if kind == "missing":
        return str(tmp_path / "no-such-unshare")
    if kind == "failing":
        script = "echo 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n"
    else:  # runs the command without new pid or net namespaces; inside a new mount namespace all the same,
        # so that even if the sandbox's own check failed, its mounts could not reach this machine
        script = f'while [ "$1" != "--" ]; do shift; done; shift\nexec {sandbox.UNSHARE} --mount -- "$@"\n'
    path = tmp_path / "unshare"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("missing", "unshare --net failed"),
        ("failing", "Operation not permitted"),
        ("ignores-namespaces", "not pid 1 of a new pid namespace"),
    ],
)
def test_unavailable_sandbox_leaves_the_case_unscored_and_the_code_unrun(tmp_path, monkeypatch, kind, expected):
    monkeypatch.setattr(sandbox, "UNSHARE", _fake_unshare(tmp_path, kind))
    marker = tmp_path / "the-code-ran"  # writable here: were the code run unsandboxed, this file would exist
    outcome = score(ADD_CASE, answer(f"    open({str(marker)!r}, 'w').write('ran')\n    return a + b"))
    assert outcome.passed is None and not outcome.scored
    assert outcome.reason.startswith("sandbox unavailable: ") and expected in outcome.reason
    with pytest.raises(SandboxUnavailable):
        run_python(f"open({str(marker)!r}, 'w').write('ran')")
    assert not marker.exists()


def test_an_unprivileged_user_gets_the_same_containment():
    """As root the other tests cover the drop to nobody; here a user namespace does the work, as for any
    non-root user (run as nobody with the system Python, since the venv's interpreter may be in /root)."""
    python, setpriv = shutil.which("python3", path="/usr/bin:/bin"), shutil.which("setpriv")
    if os.geteuid() != 0 or not python or not setpriv:
        pytest.skip("needs root (to become nobody), setpriv and /usr/bin/python3; unprivileged runs use it anyway")
    # A folder of the checkout: read-only inside; a checkout under /tmp is hidden by the sandbox's own /tmp instead.
    write_target = str(Path(__file__).parent / f"sandbox-escape-{uuid.uuid4().hex}")
    script = f"""import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("sandbox", {sandbox.__file__!r})
sandbox = importlib.util.module_from_spec(spec)
sys.modules["sandbox"] = sandbox
spec.loader.exec_module(sandbox)
limits = sandbox.Limits(wall_s=3, cpu_s=1)
runs = {{
    "mode": sandbox.isolation_mode(),
    "ok": sandbox.run_python("print(6 * 7)").stdout,
    "loop": sandbox.run_python("while True: pass", limits=limits).killed_reason,
    "fork": sandbox.run_python("import os\\nwhile True: os.fork()", limits=limits).stderr[-300:],
    "net": sandbox.run_python("import socket; socket.create_connection(('127.0.0.1', 9), timeout=1)").stderr,
    "caps": sandbox.run_python("print(open('/proc/self/status').read())").stdout,
    "write": sandbox.run_python("open({write_target!r}, 'w')").stderr,
}}
print(json.dumps(runs))
"""
    before = sandboxed_processes()
    proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", python, "-I", "-"],
                          input=script, capture_output=True, text=True, timeout=60, env={}, cwd="/")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)
    assert runs["mode"] == "userns" and runs["ok"] == "42\n"
    assert runs["loop"] in ("CPU time limit (1 s)", "wall-clock limit (3 s)")
    assert "BlockingIOError" in runs["fork"]
    assert "Network is unreachable" in runs["net"]
    assert "CapEff:\t0000000000000000" in runs["caps"] and "NoNewPrivs:\t1" in runs["caps"]
    hidden = Path(__file__).resolve().is_relative_to("/tmp")
    assert ("No such file or directory" if hidden else "Read-only file system") in runs["write"]
    assert not Path(write_target).exists()
    assert sandboxed_processes() <= before
