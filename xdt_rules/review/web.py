"""The review web app (Starlette): pages rendered on the server with Jinja2 (autoescaped), one
small vendored script for the keyboard and the decision calls, nothing fetched from elsewhere.

Every page needs a session (a reviewer); every POST needs the CSRF token of that session (the
login form: of its pre-login cookie) and, when the browser sends one, an Origin of this server.
Responses carry a strict Content-Security-Policy (scripts only from this server). Work that
touches files or the database runs in the thread pool, not on the event loop.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import XdtError
from ..report.html import POLARITY_ZH, STATUS_ZH, TEMPLATES as REPORT_TEMPLATES
from . import STATUSES
from .auth import PRELOGIN_COOKIE, SESSION_COOKIE, Session, Signer, Users, clean_name
from .export import ACTION_ZH, write_final_xlsx, write_gold_csv
from .ledger import CHANGED, CONFLICT, STATES
from .outdir import FileRefused
from .service import SORTS, ReviewError, ReviewService
from .store import StaleWrite, format_time

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MAX_BODY = 64 * 1024
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The stored report has its own inline script; it runs sandboxed (an opaque origin: no cookies, no API).
REPORT_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
              "sandbox allow-scripts")
FILE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
INLINE_TYPES = {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".txt", ".md"}


def _pts(x: Any) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x else "0"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = _pts
    env.filters["zh"] = lambda s: STATUS_ZH.get(s, s) if s else "—"
    env.filters["when"] = lambda ms: format_time(ms) if ms else "—"
    env.filters["url"] = lambda s: quote(str(s), safe="")
    env.filters["action"] = lambda a: ACTION_ZH.get(a, a)
    env.globals.update(STATUSES=STATUSES, STATUS_ZH=STATUS_ZH, POLARITY_ZH=POLARITY_ZH, STATES=STATES,
                       CHANGED=CHANGED, CONFLICT=CONFLICT)
    return env


@lru_cache(maxsize=1)
def report_css() -> str:
    """The report's own stylesheet (passages, marks, crops look the same as in the report)."""
    env = Environment(loader=FileSystemLoader(str(REPORT_TEMPLATES)), autoescape=False)
    return env.get_template("report.css.j2").render()


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


class ReviewApp:
    """The routes around one :class:`ReviewService`."""

    def __init__(self, service: ReviewService, signer: Signer, *, users: Users | None, cookie_secure: bool = False):
        self.service = service
        self.signer = signer
        self.users = users
        self.cookie_secure = cookie_secure
        self.env = environment()
        self.title = service.out.path.resolve().name

    # ------------------------------------------------------------------ plumbing

    def render(self, template: str, request: Request, session: Session | None, status: int = 200,
               **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            request_path=request.url.path, session=session, batch_title=self.title,
            csrf=self.signer.csrf(session.sid) if session else "", **context)
        return HTMLResponse(html, status_code=status)

    async def _form(self, request: Request) -> dict[str, str]:
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_BODY:
            raise ReviewError("请求过大", "request too large", status=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ReviewError("请求过大", "request too large", status=413)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise ReviewError("请求格式错误", "malformed JSON", status=400) from None
            if not isinstance(data, dict):
                raise ReviewError("请求格式错误", "malformed JSON", status=400)
            return {str(k): "" if v is None else str(v) for k, v in data.items()}
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ReviewError("请求编码错误", "request is not UTF-8", status=400) from None

    def _origin_ok(self, request: Request) -> bool:
        """A browser names the page a POST comes from; another site's page is refused even with a
        token. ("null" — a privacy-sensitive context — leaves the decision to the CSRF token.)"""
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    def route(self, handler: Callable[..., Awaitable[Response]], *, auth: bool = True, post: bool = False,
              api: bool = False, prelogin: bool = False, index: bool = True) -> Callable[[Request], Awaitable[Response]]:
        """``index``: the handler needs OUT read (the server listens before that is done)."""
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            session = self.signer.read(request.cookies.get(SESSION_COOKIE))
            wants_json = api or request.headers.get("accept", "").startswith("application/json")
            try:
                form: dict[str, str] = {}
                if auth and session is None:
                    if post or wants_json:
                        raise ReviewError("请先登录（会话已过期或不存在）", "sign in first (no session or it expired)",
                                          status=401)
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return self._headers(RedirectResponse(f"/login?next={quote(target, safe='')}", 303), started)
                if post:
                    form = await self._form(request)
                    # the login form is tied to its pre-login cookie, every other form to the session
                    sid = request.cookies.get(PRELOGIN_COOKIE) if prelogin else (session.sid if session else None)
                    token = request.headers.get("x-csrf-token") or form.get("csrf")
                    if not self.signer.csrf_ok(sid, token) or not self._origin_ok(request):
                        raise ReviewError("安全校验失败（CSRF 令牌缺失或无效），请刷新页面后重试",
                                          "CSRF token missing or invalid; reload the page", status=403)
                if index:
                    await run_in_threadpool(self.service.wait_ready)
                response = await handler(request, session, form)
            except StaleWrite as exc:
                response = JSONResponse({"ok": False, "stale": True, "error": exc.one_line()}, status_code=409)
            except (ReviewError, FileRefused) as exc:
                response = self._error(request, session, exc.status, exc, wants_json)
            except XdtError as exc:
                status = 404 if exc.code == "not_found" else 400
                response = self._error(request, session, status, exc, wants_json)
            except Exception as exc:  # noqa: BLE001 - a fault of the tool: logged, and said in one line
                traceback.print_exc()
                failure = XdtError(f"内部错误：{type(exc).__name__}（详情见服务器输出）",
                                   f"internal error: {type(exc).__name__} (see the server's output)")
                response = self._error(request, session, 500, failure, wants_json)
            return self._headers(response, started)

        return endpoint

    def _error(self, request: Request, session: Session | None, status: int, exc: XdtError, as_json: bool) -> Response:
        if as_json:
            return JSONResponse({"ok": False, "error": exc.one_line()}, status_code=status)
        return self.render("error.html.j2", request, session, status=status, message=exc.one_line(), code=status)

    @staticmethod
    def _headers(response: Response, started: float) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                            secure=self.cookie_secure)

    # ------------------------------------------------------------------ sign in / out

    async def login_page(self, request: Request, session: Session | None, form: dict[str, str],
                         error: str | None = None, status: int = 200) -> Response:
        pre = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(16)
        response = self.render("login.html.j2", request, session, status=status, error=error,
                               passwords=self.users is not None, pre_csrf=self.signer.csrf(pre),
                               next=_safe_next(request.query_params.get("next") or form.get("next")),
                               name=form.get("name", ""))
        self._cookie(response, PRELOGIN_COOKIE, pre, 3600)
        return response

    async def login(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        try:
            name = clean_name(form.get("name", ""))
        except XdtError as exc:
            return await self.login_page(request, None, form, error=exc.reason_zh, status=400)
        if self.users is not None:
            ok = await run_in_threadpool(self.users.check, name, form.get("password", ""))
            if not ok:
                return await self.login_page(request, None, form, error="姓名或密码不正确", status=401)
        cookie, _ = self.signer.issue(name)
        response = RedirectResponse(_safe_next(form.get("next")), 303)
        self._cookie(response, SESSION_COOKIE, cookie, self.signer.seconds)
        response.delete_cookie(PRELOGIN_COOKIE, path="/")
        return response

    async def logout(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ pages

    async def index(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        params = request.query_params
        sort = params.get("sort", "rank")
        sort = sort if sort in SORTS else "rank"
        descending = params.get("dir", "desc" if sort in ("preliminary", "confirmed") else "asc") == "desc"
        filters = {"q": params.get("q", "")[:100], "state": params.get("state", ""),
                   "reviewer": params.get("reviewer", "")[:40], "only": params.get("only", "")}
        rows = await run_in_threadpool(self.service.rows, sort=sort, descending=descending, **filters)
        everything = await run_in_threadpool(self.service.rows)
        totals = {state: sum(1 for r in everything if r.progress.state == state) for state in STATES}
        decided_items = sum(r.progress.decided for r in everything if r.entry.done)
        all_items = sum(r.progress.items for r in everything if r.entry.done)
        return self.render("list.html.j2", request, session, rows=rows, sort=sort, descending=descending,
                           filters=filters, reviewers=self.service.reviewers(), totals=totals,
                           decided_items=decided_items, all_items=all_items, count=len(everything),
                           framework=self.service.framework_id)

    async def application(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        name = request.path_params["name"]
        page = await run_in_threadpool(self.service.page, name)
        return self.render("app.html.j2", request, session, page=page, rule_names=self.service.rule_names)

    async def decide(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        assert session is not None
        name = request.path_params["name"]
        item = form.get("item", "")
        try:
            base = int(form.get("base", "0") or 0)
        except ValueError:
            raise ReviewError("请求缺少有效的 base", "invalid base", status=400) from None
        decision = await run_in_threadpool(
            lambda: self.service.decide(session.reviewer, name, item, action=form.get("action", ""), base_seq=base,
                                        evidence_hash=form.get("hash", ""), status=form.get("status") or None,
                                        score=form.get("score"), comment=form.get("comment", "")))
        state, progress, digest = await run_in_threadpool(self.service.item_state, name, item)
        macros = self.env.get_template("_item.html.j2").module
        return JSONResponse({
            "ok": True, "seq": decision.seq, "css": state.css, "label": state.label,
            "item_html": str(macros.decision(item, state, digest)),  # type: ignore[attr-defined]
            "summary_html": str(macros.summary(progress)),  # type: ignore[attr-defined]
        })

    async def original(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        name = request.path_params["name"]
        rel = request.query_params.get("path", "")
        real = await run_in_threadpool(self.service.out.original_file, name, rel)
        suffix = real.suffix.lower()
        media = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
        if suffix in (".txt", ".md"):
            media = "text/plain; charset=utf-8"
        response = FileResponse(real, media_type=media, filename=Path(rel).name,
                                content_disposition_type="inline" if suffix in INLINE_TYPES else "attachment")
        if suffix != ".pdf":  # browsers will not show a PDF under a sandbox policy; nothing else needs to run
            response.headers["Content-Security-Policy"] = FILE_CSP
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    async def report(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        name = request.path_params["name"]
        path = self.service.out.report_file(name)
        if path is None:
            raise ReviewError("没有这份申报的 HTML 报告", "no HTML report for this application", status=404, file=name)
        response = FileResponse(path, media_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = REPORT_CSP
        return response

    async def agreement(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        report = await run_in_threadpool(self.service.agreement)
        return self.render("agreement.html.j2", request, session, report=report,
                           message=request.query_params.get("msg", "")[:300])

    async def settle(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        assert session is not None
        name, item = form.get("application", ""), form.get("item", "")
        choice = form.get("choice", "")
        status, score = form.get("status") or None, form.get("score")
        if choice and "|" in choice:
            status, score = choice.split("|", 1)
        try:
            base = int(form.get("base", "0") or 0)
            _, _, digest = await run_in_threadpool(self.service.item_state, name, item)
            await run_in_threadpool(
                lambda: self.service.decide(session.reviewer, name, item, action="settle", base_seq=base,
                                            evidence_hash=digest, status=status, score=score,
                                            comment=form.get("comment", "")))
            message = f"已裁定：{name} {item}"
        except (ReviewError, StaleWrite) as exc:
            message = f"未能裁定 {name} {item}：{exc.reason_zh}"
        except ValueError:
            message = f"未能裁定 {name} {item}：请求格式错误"
        except KeyError:
            message = f"未知评价项 {item}"
        return RedirectResponse(f"/agreement?msg={quote(message, safe='')}", 303)

    async def log(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        app = request.query_params.get("app") or None
        decisions, total = await run_in_threadpool(self.service.log, app, 1000)
        return self.render("log.html.j2", request, session, decisions=decisions, total=total, app=app)

    async def export_xlsx(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        return await self._download(write_final_xlsx, "final.xlsx",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                    f"filename*=UTF-8''{quote(self.title + '_审核结果.xlsx')}")

    async def export_gold(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        return await self._download(write_gold_csv, "labels.csv", "text/csv; charset=utf-8")

    async def _download(self, write: Callable[[Path, ReviewService], Any], name: str, media_type: str,
                        alternative_name: str | None = None) -> Response:
        """An export written to a temporary file and sent as an attachment."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            await run_in_threadpool(write, path, self.service)
            data = path.read_bytes()
        disposition = f'attachment; filename="{name}"' + (f"; {alternative_name}" if alternative_name else "")
        return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})

    async def static(self, request: Request, session: Session | None, form: dict[str, str]) -> Response:
        name = request.path_params["name"]
        if name == "report.css":
            response: Response = Response(report_css(), media_type="text/css; charset=utf-8")
        elif name in ("review.js", "review.css"):
            media = "text/javascript; charset=utf-8" if name.endswith(".js") else "text/css; charset=utf-8"
            response = Response((STATIC / name).read_bytes(), media_type=media)
        else:
            raise ReviewError("没有这个文件", "not found", status=404)
        response.headers["Cache-Control"] = "no-cache"
        return response

    # ------------------------------------------------------------------ the app

    def app(self) -> Starlette:
        r = self.route
        routes = [
            Route("/", r(self.index)),
            Route("/login", r(self.login_page, auth=False, index=False)),
            Route("/login", r(self.login, auth=False, post=True, prelogin=True, index=False), methods=["POST"]),
            Route("/logout", r(self.logout, post=True, index=False), methods=["POST"]),
            Route("/a/{name}", r(self.application)),
            Route("/a/{name}/decide", r(self.decide, post=True, api=True), methods=["POST"]),
            Route("/a/{name}/file", r(self.original)),
            Route("/a/{name}/report", r(self.report)),
            Route("/agreement", r(self.agreement)),
            Route("/settle", r(self.settle, post=True), methods=["POST"]),
            Route("/log", r(self.log)),
            Route("/export/final.xlsx", r(self.export_xlsx)),
            Route("/export/labels.csv", r(self.export_gold)),
            Route("/static/{name}", r(self.static, auth=False, index=False)),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
        ]
        return Starlette(routes=routes)


def create_app(service: ReviewService, *, users: Users | None = None, session_hours: float | None = None,
               cookie_secure: bool = False) -> Starlette:
    hours = session_hours if session_hours is not None else (12.0 if users is not None else 24.0 * 30)
    signer = Signer(service.store.secret(), users, hours=hours)
    return ReviewApp(service, signer, users=users, cookie_secure=cookie_secure).app()


__all__ = ["Markup", "ReviewApp", "create_app", "environment", "report_css"]
