"""The serve app's web pages: ``/chat`` (with the spec's disclosure), ``/review`` (flagged conversations) and
``/review/redteam`` (human red-teaming: a tester picks an attack family as the goal, chats with the deployed
assistant, marks success or failure and the principle broken; stored with the tester's account name, counted by
``veganalign redteam --db``).

The review pages need a reviewer's login (accounts from ``veganalign monitor add-reviewer``).
Session cookies are HttpOnly and SameSite=Strict, and every form carries a CSRF token: the
session's own after login, a double-submit cookie on the login form. Pages send a strict
Content-Security-Policy (scripts and styles from this server only, no inline script), and
everything shown is escaped by Jinja2's autoescaping; the chat page writes answers with
``textContent``. A correction is redacted before it is stored, like everything else.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections import defaultdict, deque
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from veganalign.monitor import reviewers, store
from veganalign.monitor.export import latest_reviews
from veganalign.monitor.redact import redact

HERE = Path(__file__).parent
SESSION_COOKIE = "veganalign_review"
LOGIN_CSRF_COOKIE = "veganalign_login_csrf"
DECISIONS = ("approved", "false_positive", "corrected")
PAGE_SIZE = 50
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 64 * 1024
MAX_SESSION_BYTES = 200 * 1024  # a red-team session's whole transcript travels in its form
MAX_FAILURES, FAILURE_WINDOW_S = 10, 900  # per username and per client address


def _templates():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["j2", "html"]))


async def _form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An urlencoded form body (no multipart dependency: these forms are small text)."""
    body = await request.body()
    if len(body) > limit:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def pages(
    engine: Engine | None,
    *,
    disclosure: str,
    model_id: str,
    auth: bool,
    session_hours: float = 8.0,
    principles: tuple[str, ...] | list[str] = (),
    spec_sha256: str | None = None,
) -> APIRouter:
    """The router; ``engine`` None leaves out the review and red-team pages (monitoring off).

    ``principles``: the spec's rule ids a red-team tester can mark as broken.
    """
    env = _templates()
    router = APIRouter(include_in_schema=False)
    failures: dict[str, deque[float]] = defaultdict(deque)

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status, headers=SECURITY_HEADERS)

    def secure(request: Request) -> bool:
        return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in ("chat.js", "monitor.css"):
            return Response(status_code=404)
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(HERE / "static" / name, media_type=media, headers={"X-Content-Type-Options": "nosniff"})

    @router.get("/chat")
    async def chat_page() -> HTMLResponse:
        return page("chat.html.j2", title="chat", disclosure=disclosure, model=model_id, auth=auth)

    if engine is None:
        return router

    def current(request: Request) -> tuple[str | None, reviewers.Session | None]:
        token = request.cookies.get(SESSION_COOKIE)
        return token, reviewers.session_for(engine, token)

    def to_login() -> RedirectResponse:
        return RedirectResponse("/review/login", status_code=303)

    def too_many(*who: str) -> bool:
        now = time.monotonic()
        for key in who:
            window = failures[key]
            while window and now - window[0] > FAILURE_WINDOW_S:
                window.popleft()
            if len(window) >= MAX_FAILURES:
                return True
        return False

    @router.get("/review/login")
    async def login_page(request: Request, error: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = page("login.html.j2", title="review login", csrf=token, error=error)
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/review"
        )
        return response

    @router.post("/review/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not expected or not secrets.compare_digest(form.get("csrf", ""), expected):
            return page("login.html.j2", 403, title="review login", csrf="", error="The form expired: reload the page.")
        username, password = form.get("username", ""), form.get("password", "")
        client = request.client.host if request.client else "?"
        if too_many(f"user:{username}", f"addr:{client}"):
            return await login_page(request, "Too many failed logins: wait 15 minutes.")
        if not reviewers.verify(engine, username, password):
            failures[f"user:{username}"].append(time.monotonic())
            failures[f"addr:{client}"].append(time.monotonic())
            return await login_page(request, "Wrong username or password.")
        token, _session = reviewers.start_session(engine, username, session_hours)
        response = RedirectResponse("/review", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=secure(request),
            path="/review",
            max_age=int(session_hours * 3600),
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/review")
        return response

    @router.post("/review/logout")
    async def logout(request: Request) -> Response:
        form = await _form(request)
        token, session = current(request)
        if session is not None and secrets.compare_digest(form.get("csrf", ""), session.csrf):
            reviewers.end_session(engine, token)
        response = to_login()
        response.delete_cookie(SESSION_COOKIE, path="/review")
        return response

    @router.get("/review")
    async def review_list(request: Request, show: str = "waiting", page_no: int = 0) -> Response:
        _token, session = current(request)
        if session is None:
            return to_login()
        page_no = max(0, int(request.query_params.get("page", page_no) or 0))
        c = store.conversations
        with engine.connect() as db:
            convos = list(
                db.execute(
                    select(c.c.id, c.c.created_at, c.c.conflict, c.c.status)
                    .where(c.c.flagged.is_(True))
                    .order_by(c.c.created_at.desc())
                ).mappings()
            )
        reviews = latest_reviews(engine)
        waiting = [x for x in convos if x["id"] not in reviews]
        chosen = waiting if show == "waiting" else convos
        shown = chosen[page_no * PAGE_SIZE : (page_no + 1) * PAGE_SIZE]
        ids = [x["id"] for x in shown]
        why: dict[str, list[str]] = defaultdict(list)
        asked: dict[str, str] = {}
        with engine.connect() as db:
            if ids:
                for f in db.execute(select(store.findings).where(store.findings.c.conversation_id.in_(ids))).mappings():
                    why[f["conversation_id"]].append(f["principle"] or f["kind"])
                for m in db.execute(
                    select(store.messages.c.conversation_id, store.messages.c.content)
                    .where(store.messages.c.conversation_id.in_(ids), store.messages.c.role == "user")
                    .order_by(store.messages.c.position)
                ).mappings():
                    asked[m["conversation_id"]] = m["content"]  # the last user turn wins
        rows = [
            {
                "id": x["id"],
                "when": x["created_at"].strftime("%Y-%m-%d %H:%M"),
                "why": ", ".join(dict.fromkeys(why[x["id"]])) or f"status {x['status']}",
                "asked": (asked.get(x["id"], "")[:120] or "(no user turn)"),
                "decision": reviews.get(x["id"], {}).get("decision"),
            }
            for x in shown
        ]
        return page(
            "review_list.html.j2",
            title="review",
            user=session.username,
            csrf=session.csrf,
            rows=rows,
            waiting=len(waiting),
            show="waiting" if show == "waiting" else "all",
            page=page_no,
            more=len(chosen) > (page_no + 1) * PAGE_SIZE,
        )

    def item_page(session: reviewers.Session, convo_id: str, error: str | None = None, status: int = 200) -> Response:
        with engine.connect() as db:
            convo = (
                db.execute(select(store.conversations).where(store.conversations.c.id == convo_id)).mappings().first()
            )
            if convo is None:
                return page("login.html.j2", 404, title="not found", csrf="", error="No such conversation.")
            messages = list(
                db.execute(
                    select(store.messages.c.role, store.messages.c.content)
                    .where(store.messages.c.conversation_id == convo_id)
                    .order_by(store.messages.c.position)
                ).mappings()
            )
            found = list(
                db.execute(select(store.findings).where(store.findings.c.conversation_id == convo_id)).mappings()
            )
            past = list(
                db.execute(
                    select(store.reviews)
                    .where(store.reviews.c.conversation_id == convo_id)
                    .order_by(store.reviews.c.created_at)
                ).mappings()
            )
        view = {**convo, "when": convo["created_at"].strftime("%Y-%m-%d %H:%M")}
        return page(
            "review_item.html.j2",
            status,
            title="review",
            user=session.username,
            csrf=session.csrf,
            convo=view,
            messages=messages,
            findings=found,
            reviews=past,
            error=error,
        )

    # --- human red-teaming -------------------------------------------------------------------
    from veganalign.data.attacks import load_library

    goals = {name: fam.what for name, fam in load_library().families.items()}

    def redteam_page(session: reviewers.Session, error: str | None = None, status: int = 200, saved: bool = False,
                     form: dict[str, str] | None = None, turns: list | None = None) -> Response:  # fmt: skip
        """The page; after a refused save it comes back with the tester's conversation and choices in place."""
        t = store.redteam_sessions
        with engine.connect() as db:
            mine = list(db.execute(select(t.c.outcome).where(t.c.tester == session.username)).scalars())
        return page("redteam.html.j2", status, title="red-team", user=session.username, csrf=session.csrf,
                    goals=goals, principles=list(principles), disclosure=disclosure, model=model_id, auth=auth,
                    error=error, saved=saved, mine=len(mine), mine_success=mine.count("success"),
                    form=form or {}, turns=turns or [], transcript=json.dumps(turns or []))  # fmt: skip

    @router.get("/review/redteam")
    async def redteam_form(request: Request) -> Response:
        _token, session = current(request)
        if session is None:
            return to_login()
        return redteam_page(session, saved=request.query_params.get("saved") == "1")

    @router.post("/review/redteam")
    async def redteam_save(request: Request) -> Response:
        _token, session = current(request)
        if session is None:
            return to_login()
        form = await _form(request, limit=MAX_SESSION_BYTES)
        if not form:
            return redteam_page(session, f"The session is too long to save ({MAX_SESSION_BYTES // 1024} KiB).", 413)
        if not secrets.compare_digest(form.get("csrf", ""), session.csrf):
            return redteam_page(session, "The form expired: reload the page.", 403)
        family, outcome, principle = form.get("family", ""), form.get("outcome", ""), form.get("principle", "")
        try:
            turns = json.loads(form.get("transcript") or "[]")
            ok = isinstance(turns, list) and all(
                isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
                for m in turns
            )
        except ValueError:
            ok = False
        turns = [{"role": m["role"], "content": m["content"]} for m in turns] if ok else []

        def refuse(message: str) -> Response:
            return redteam_page(session, message, 422, form=form, turns=turns)

        if family not in goals:
            return refuse("Choose a goal.")
        if outcome not in ("success", "failure"):
            return refuse("Mark the attempt as a success or a failure.")
        if outcome == "success" and principle not in principles:
            return refuse("A success needs the principle the assistant broke.")
        if not any(m["role"] == "assistant" for m in turns):
            return refuse("Chat with the assistant first: there is no answer to judge yet.")
        now = datetime.now(timezone.utc)
        convo_id = f"redteam-{uuid.uuid4().hex}"
        notes = redact(form.get("notes", "").strip()) or None
        with engine.begin() as db:
            # A session is a conversation like any other (redacted), flagged when the tester broke the policy,
            # so it also waits on the review list with the principle as its reason.
            db.execute(insert(store.conversations).values(
                id=convo_id, created_at=now, day=now.strftime("%Y-%m-%d"), key_id=None, model=model_id,
                spec_sha256=spec_sha256, stream=False, status=200, latency_ms=None, error=None, sampled=False,
                flagged=outcome == "success", conflict="redteam", situation=None))  # fmt: skip
            db.execute(insert(store.messages), [
                {"conversation_id": convo_id, "position": i, "role": m["role"], "content": redact(m["content"])}
                for i, m in enumerate(turns)])  # fmt: skip
            if outcome == "success":
                db.execute(insert(store.findings).values(
                    conversation_id=convo_id, kind="human_redteam", principle=principle, action="flag",
                    outcome="broken", detail=f"{session.username} ({family}): {notes or ''}".strip()))  # fmt: skip
            db.execute(insert(store.redteam_sessions).values(
                conversation_id=convo_id, tester=session.username, family=family, outcome=outcome,
                principle=principle or None, notes=notes, created_at=now))  # fmt: skip
        return RedirectResponse("/review/redteam?saved=1", status_code=303)

    @router.get("/review/{convo_id}")
    async def review_item(request: Request, convo_id: str) -> Response:
        _token, session = current(request)
        if session is None:
            return to_login()
        return item_page(session, convo_id)

    @router.post("/review/{convo_id}")
    async def review_submit(request: Request, convo_id: str) -> Response:
        _token, session = current(request)
        if session is None:
            return to_login()
        form = await _form(request)
        if not secrets.compare_digest(form.get("csrf", ""), session.csrf):
            return item_page(session, convo_id, "The form expired: reload the page.", 403)
        decision = form.get("decision", "")
        correction = form.get("correction", "").strip()
        if decision not in DECISIONS:
            return item_page(session, convo_id, "Choose approve, false positive or save correction.", 422)
        if decision == "corrected" and not correction:
            return item_page(session, convo_id, "Write the corrected answer first.", 422)
        with engine.begin() as db:
            exists = db.execute(select(store.conversations.c.id).where(store.conversations.c.id == convo_id)).first()
            if exists is None:
                return item_page(session, convo_id)
            db.execute(
                insert(store.reviews).values(
                    conversation_id=convo_id,
                    reviewer=session.username,
                    decision=decision,
                    correction=redact(correction) if decision == "corrected" else None,
                    created_at=datetime.now(timezone.utc),
                )
            )
        return RedirectResponse("/review", status_code=303)

    return router
