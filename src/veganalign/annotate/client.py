"""``annotate push`` and ``annotate pull``: a project to a Label Studio server and its annotations back.

Plain HTTP (httpx), Label Studio's REST API. Both kinds of its access tokens work: a legacy
token is sent as ``Authorization: Token T``; a personal access token is a JWT *refresh*
token, exchanged at ``/api/token/refresh`` for a short-lived access token sent as
``Authorization: Bearer A``, and exchanged again when the server answers 401 (expired).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from veganalign.errors import UserError
from veganalign.jsonl import write_text_atomic


class LabelStudioError(UserError):
    """The server refused or could not be reached; the message says which call and why."""


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.split(".")[0].startswith("eyJ")


class LabelStudio:
    def __init__(self, url: str, token: str, timeout: float = 60.0):
        if not url.startswith(("http://", "https://")):
            raise LabelStudioError(f"--url {url!r}: give the server's address, like http://127.0.0.1:8080")
        if not token.strip():
            raise LabelStudioError("--token: empty (Label Studio: Account & Settings, Personal Access Token)")
        self.url, self.token = url.rstrip("/"), token.strip()
        self.http = httpx.Client(base_url=self.url, timeout=timeout)
        self.access: str | None = None

    def _auth(self, refresh: bool = False) -> dict[str, str]:
        if not _is_jwt(self.token):
            return {"Authorization": f"Token {self.token}"}
        if self.access is None or refresh:
            r = self._send("POST", "/api/token/refresh", {}, json={"refresh": self.token})
            self.access = r.json()["access"]
        return {"Authorization": f"Bearer {self.access}"}

    def _send(self, method: str, path: str, headers: dict[str, str], **kwargs) -> httpx.Response:
        try:
            r = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise LabelStudioError(f"{method} {self.url}{path}: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 400:
            hint = " (check --token)" if r.status_code in (401, 403) else ""
            raise LabelStudioError(f"{method} {self.url}{path}: HTTP {r.status_code}{hint}: {r.text[:300]}")
        return r

    def call(self, method: str, path: str, **kwargs) -> Any:
        try:
            r = self._send(method, path, self._auth(), **kwargs)
        except LabelStudioError as exc:
            if not _is_jwt(self.token) or "HTTP 401" not in str(exc):
                raise
            r = self._send(method, path, self._auth(refresh=True), **kwargs)  # the access token expired
        return r.json() if r.content else None

    def close(self) -> None:
        self.http.close()


def push(project_dir: Path, url: str, token: str, title: str | None = None) -> dict[str, Any]:
    """Create the project on the server and import its tasks; record where in ``project.json``."""
    info_path = project_dir / "project.json"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        config = (project_dir / "config.xml").read_text(encoding="utf-8")
        tasks = json.loads((project_dir / "tasks.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabelStudioError(f"{project_dir}: not an `annotate export` folder ({exc})") from None
    ls = LabelStudio(url, token)
    try:
        created = ls.call("POST", "/api/projects", json={
            "title": (title or f"veganalign {info['task']} {info['project']}")[:50],
            "description": f"veganalign {info['task']} project {info['project']} (spec {info['spec_sha256'][:12]})",
            "label_config": config})  # fmt: skip
        ls.call("POST", f"/api/projects/{created['id']}/import", json=tasks)
    finally:
        ls.close()
    info["label_studio"] = {"url": url.rstrip("/"), "project_id": created["id"]}
    write_text_atomic(info_path, json.dumps(info, indent=1) + "\n")
    return info


def pull(project_dir: Path, url: str | None, token: str, out: Path | None = None) -> tuple[Path, int]:
    """Save the project's JSON export (``export.json``) and the annotators (``users.json``: id -> email)."""
    try:
        info = json.loads((project_dir / "project.json").read_text(encoding="utf-8"))
        remote = info["label_studio"]
    except (OSError, ValueError) as exc:
        raise LabelStudioError(f"{project_dir}: not an `annotate export` folder ({exc})") from None
    except KeyError:
        raise LabelStudioError(f"{project_dir}: never pushed (run `veganalign annotate push` first)") from None
    ls = LabelStudio(url or remote["url"], token)
    try:
        export = ls.call("GET", f"/api/projects/{remote['project_id']}/export", params={"exportType": "JSON"})
        users = ls.call("GET", "/api/users")
    finally:
        ls.close()
    users = users.get("results", users) if isinstance(users, dict) else users
    out = out or project_dir / "export.json"
    write_text_atomic(out, json.dumps(export, indent=1, ensure_ascii=False) + "\n")
    emails = {str(u["id"]): u.get("email") or u.get("username") for u in users}
    write_text_atomic(out.with_name("users.json"), json.dumps(emails, indent=1) + "\n")
    annotations = sum(len(t.get("annotations") or []) for t in export)
    return out, annotations
