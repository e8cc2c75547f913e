"""The chat page as served: a request guard, security headers, no request to any other host, govassist's look.

The guard (`guard`, outermost) refuses other sites' pages (Origin), bounds request bodies, ends signed-out
tokens and throttles failed sign-ins, before Chainlit sees the request or the websocket upgrade.

Uploads larger than GOVASSIST_MAX_UPLOAD_MB are refused from their declared size, before they are read. The page
gets a Content-Security-Policy that allows only this server (so even markup that slipped through could
not load an image or script from elsewhere), and Chainlit's HTML loses its links to web fonts and a CDN, so an
offline delegation laptop makes no outside request. Small routes serve the stylesheet and the wordmark.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .chat_auth import REQUEST_USER, LoginThrottle, RevokedTokens, token_claims

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; "
    "frame-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
OUTSIDE_LINK = re.compile(rb"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>", re.S)
WATERMARK = "Answers quote the indexed texts. Read the cited passage before relying on it."
NAVY = "221 51% 30%"
STYLE = f"""
:root:root {{ --primary: {NAVY}; --ring: {NAVY}; --font-sans: system-ui, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; }}
.dark.dark {{ --primary: 217 70% 62%; --ring: 217 70% 62%; }}
a.element-link {{ text-transform: none; font-size: 0.78rem; letter-spacing: 0; white-space: nowrap; }}
.prose blockquote {{ font-style: normal; font-family: Georgia, "DejaVu Serif", "Times New Roman", serif; }}
.prose blockquote p::before, .prose blockquote p::after {{ content: none; }}
"""
AVATAR = """<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<rect width="64" height="64" rx="14" fill="#25407a"/><text x="32" y="44" text-anchor="middle"
 font-family="Georgia, 'DejaVu Serif', serif" font-size="36" fill="#ffffff">¶</text></svg>"""
LOGIN_IMAGE = """<svg xmlns="http://www.w3.org/2000/svg" width="800" height="1000" viewBox="0 0 800 1000">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1d2b4f"/>
<stop offset="1" stop-color="#3b5998"/></linearGradient></defs><rect width="800" height="1000" fill="url(#g)"/>
<text x="400" y="470" text-anchor="middle" font-family="Georgia, 'DejaVu Serif', serif" font-size="150"
 fill="#ffffff" fill-opacity="0.9">¶</text>
<text text-anchor="middle" font-family="Georgia, 'DejaVu Serif', serif" font-size="30" fill="#ffffff"
 fill-opacity="0.85"><tspan x="400" y="570">Cited answers from</tspan>
<tspan x="400" y="612">digital-governance texts</tspan></text></svg>"""
WORDS = {  # Chainlit's words that do not fit govassist
    ("chat", "watermark"): WATERMARK,
    ("auth", "login", "title"): "Sign in to govassist",
    ("auth", "login", "form", "email", "label"): "User name",
    ("auth", "login", "form", "email", "placeholder"): "",
    ("auth", "login", "form", "email", "required"): "user name is a required field",
    # Chainlit's Reset only undoes the edits since the panel opened (it keeps confirmed filters): named for what it
    # does; the panel's "Reset to defaults" switch is what resets
    ("common", "actions", "reset"): "Undo edits",
}
LOGO = """<svg xmlns="http://www.w3.org/2000/svg" width="236" height="56" viewBox="0 0 236 56">
<rect x="1" y="1" width="234" height="54" rx="12" fill="#25407a"/>
<text x="118" y="38" text-anchor="middle" font-family="Georgia, 'DejaVu Serif', serif" font-size="29"
 fill="#ffffff">¶ govassist</text></svg>"""


# Chainlit's own settings (chainlit.config.ChainlitConfig, a pydantic BaseSettings without a prefix) read these
# variables, case-insensitively: PROJECT=/anything in a shell or Makefile stopped the chat at start
CHAINLIT_UNPREFIXED = ("root", "chainlit_server", "run", "features", "ui", "project", "code")


def chainlit_env(environ: dict[str, str]) -> dict[str, str]:
    """The environment to start Chainlit with: the caller's, minus the variables Chainlit's settings misread."""
    return {k: v for k, v in environ.items() if k.lower() not in CHAINLIT_UNPREFIXED}


def upload_refusal(method: str, path: str, length: str | None, max_mb: float) -> tuple[int, str] | None:
    """Why an upload to Chainlit's file endpoint is refused before its body is read (None: let it through)."""
    if method != "POST" or not path.rstrip("/").endswith("/project/file"):
        return None
    if length is None or not length.isdigit():
        return 411, "uploads must declare their size (Content-Length)"
    if int(length) > max_mb * 2**20:
        mb = int(length) / 2**20
        return 413, f"the upload is {mb:.1f} MB, over the limit of {max_mb:g} MB (GOVASSIST_MAX_UPLOAD_MB)"
    return None


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str] = ()) -> bool:
    """Whether a request may reach the chat: no Origin header (not a script on another page), a page of this
    same host:port (the Host header; without a port, the Origin's scheme's default port, as behind a TLS
    proxy), or one of the configured public origins (`allowed_origins`). "null" is never allowed."""
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    if origin in {a.strip().lower().rstrip("/") for a in allowed}:
        return True
    try:
        page, server = urlsplit(origin), urlsplit(f"//{(host or '').strip().lower()}")
        default = {"http": 80, "https": 443}.get(page.scheme)
        if default is None or not page.hostname or page.hostname != server.hostname:
            return False
        return (page.port or default) == (server.port or default)
    except ValueError:
        return False


FEEDBACK_MAX_CHARS = 4000  # a feedback comment
BODY_MAX_BYTES = 64 * 1024  # any request body but an upload's (own bound) or socket.io's (engine.io's bound)
SOCKET_PATH = "/ws/socket.io"


def auth_cookie_names(cookies: dict[str, str]) -> tuple[str | None, list[str]]:
    """Chainlit's sign-in token from the cookies (it splits long ones into NAME_0, NAME_1…) and the names used."""
    name = os.environ.get("CHAINLIT_AUTH_COOKIE_NAME", "access_token")
    if name in cookies:
        return cookies[name], [name]
    parts = []
    while f"{name}_{len(parts)}" in cookies:
        parts.append(f"{name}_{len(parts)}")
    return ("".join(cookies[p] for p in parts) or None), parts


async def _refuse(send: Any, status: int, detail: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def feedback_refusal(body: bytes) -> str | None:
    """Why a feedback update is refused (None: let it through): a comment over FEEDBACK_MAX_CHARS."""
    try:
        comment = (json.loads(body or b"{}").get("feedback") or {}).get("comment") or ""
    except (ValueError, AttributeError):
        return None  # Chainlit answers malformed bodies itself
    if isinstance(comment, str) and len(comment) > FEEDBACK_MAX_CHARS:
        return f"the comment is {len(comment)} characters, over the limit of {FEEDBACK_MAX_CHARS}: shorten it"
    return None


def guard(
    app: Any,
    allowed: Sequence[str] = (),
    revoked: RevokedTokens | None = None,
    throttle: LoginThrottle | None = None,
) -> Any:
    """ASGI middleware in front of Chainlit, for every HTTP request and websocket upgrade:

    - a foreign Origin gets 403 before anything runs, so a page elsewhere cannot use a signed-in reader's
      cookie to read restricted texts (same host:port, or `allowed_origins`);
    - a signed-out (revoked) token is taken off the request, which then counts as not signed in; POST /logout
      revokes the token it carries; the user a valid token names is in chat_auth.REQUEST_USER;
    - bodies are bounded (BODY_MAX_BYTES, feedback comments FEEDBACK_MAX_CHARS) before Chainlit reads them;
    - POST /login answers 429 while `throttle` locks that user name out from that address.
    """

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        if not origin_allowed(headers.get("origin"), headers.get("host"), allowed):
            if scope["type"] == "websocket":  # a close before accept: the server answers the upgrade with 403
                await receive()
                await send({"type": "websocket.close", "code": 1008})
                return
            return await _refuse(send, 403, "requests from other sites are refused (see allowed_origins)")
        from starlette.requests import cookie_parser

        token, names = auth_cookie_names(cookie_parser(headers.get("cookie", "")))
        bearer = headers.get("authorization", "")
        token = token or (bearer[7:].strip() if bearer.lower().startswith("bearer ") else None)
        if token and revoked is not None and revoked.is_revoked(token):
            scope = dict(scope, headers=_without_token(scope["headers"], names))
            token = None
        claims = token_claims(token)
        REQUEST_USER.set(str(claims["identifier"]) if claims and claims.get("identifier") else None)
        path = scope.get("path", "")
        if scope["type"] == "websocket" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await app(scope, receive, send)
        if path.rstrip("/").endswith("/project/file") or path.startswith(SOCKET_PATH):
            return await app(scope, receive, send)
        body, more = b"", True
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > BODY_MAX_BYTES:
            return await _refuse(send, 413, f"the request body is over the limit of {BODY_MAX_BYTES // 1024} KB")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > BODY_MAX_BYTES:
                return await _refuse(send, 413, f"the request body is over the limit of {BODY_MAX_BYTES // 1024} KB")
        if path.rstrip("/").endswith("/feedback") and (why := feedback_refusal(body)):
            return await _refuse(send, 413, why)
        if path.rstrip("/").endswith("/logout") and claims and revoked is not None:
            revoked.revoke(str(token), float(claims.get("exp") or 0) or None)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        if not (path.rstrip("/").endswith("/login") and throttle is not None):
            return await app(scope, replay, send)
        from urllib.parse import parse_qs

        user = (parse_qs(body.decode("utf-8", "replace")).get("username") or [""])[0][:200]
        client = (scope.get("client") or ("?", 0))[0]
        wait = throttle.wait_s(user, client)
        if wait > 0:
            retry = (b"retry-after", str(int(wait) + 1).encode())
            why = f"too many failed sign-ins for this user from this address: try again in {int(wait) + 1} s"
            return await _refuse(send, 429, why, (retry,))
        status: list[int] = []

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await app(scope, replay, watch)
        if status and status[0] == 401:
            throttle.failed(user, client)
        elif status and status[0] < 400:
            throttle.succeeded(user, client)

    return guarded


def _without_token(raw: list[tuple[bytes, bytes]], names: list[str]) -> list[tuple[bytes, bytes]]:
    """Request headers without the sign-in token: its cookies and any bearer Authorization header."""
    out = []
    for k, v in raw:
        if k.lower() == b"authorization":
            continue
        if k.lower() == b"cookie":
            kept = [c for c in v.decode("latin-1").split(";") if c.split("=", 1)[0].strip() not in names]
            if not kept:
                continue
            v = ";".join(kept).encode("latin-1")
        out.append((k, v))
    return out


def install(
    app: Any,
    config: Any,
    max_upload_mb: float = 20.0,
    allowed_origins: Sequence[str] = (),
    data_dir: Path | None = None,
    pdf_source: Callable[[str, str | None], Path | None] | None = None,
) -> None:
    """Add the headers, the upload bound, the HTML clean-up, the request guard (`guard`; signed-out tokens kept
    in data_dir) and the govassist routes to Chainlit's FastAPI app. `pdf_source(doc_id, user)` is the PDF a
    reader may open (None: refused), served at /govassist/pdf/DOC_ID."""
    from fastapi.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    async def style(request: Any) -> Response:
        return Response(STYLE, media_type="text/css")

    def svg(text: str) -> Any:
        async def serve(request: Any) -> Response:
            return Response(text, media_type="image/svg+xml")

        return serve

    async def translations(request: Any) -> Response:
        language = config.ui.language or request.query_params.get("language") or "en-US"
        if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?", language):
            language = "en-US"
        tr = config.load_translation(language)
        for path, text in WORDS.items():
            node = tr
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node[path[-1]] = text
        return JSONResponse({"translation": tr})

    # ahead of Chainlit's own routes (its catch-all would answer the new paths with the page itself)
    async def ready(request: Any) -> Response:
        """Readiness for a load balancer or a test: 200 once the warm-up has opened the index and loaded the model
        (the page itself is served from the start; a question asked before this waits for the model)."""
        from .chat import READY

        return JSONResponse({"ready": READY.is_set()}, status_code=200 if READY.is_set() else 503)

    async def pdf(request: Any) -> Response:
        """One cited PDF, for the side panel's viewer (which opens it at the cited page): read once from the
        corpus, never copied per answer; only for readers whose roles allow the document."""
        path = pdf_source(request.path_params["doc_id"], REQUEST_USER.get()) if pdf_source else None
        if path is None:
            return JSONResponse({"detail": "no PDF with this id that you may read"}, status_code=404)
        return FileResponse(path, media_type="application/pdf", headers={"Cache-Control": "private, max-age=3600"},
                            content_disposition_type="inline", filename=path.name)  # fmt: skip

    app.router.routes[0:0] = [
        Route("/govassist/ready", ready),
        Route("/govassist/pdf/{doc_id}", pdf),
        Route("/govassist/style.css", style),
        Route("/govassist/logo.svg", svg(LOGO)),
        Route("/govassist/login.svg", svg(LOGIN_IMAGE)),
        Route("/logo", svg(LOGO)),  # the sign-in page asks for it before it may read the settings
        Route("/avatars/{name}", svg(AVATAR)),  # the answers' and the retrieval step's
        Route("/project/translations", translations),
    ]
    config.ui.custom_css = "/govassist/style.css"
    config.ui.logo_file_url = "/govassist/logo.svg"
    config.ui.login_page_image = "/govassist/login.svg"

    @app.middleware("http")
    async def headers(request: Any, call_next: Any) -> Any:
        refusal = upload_refusal(request.method, request.url.path, request.headers.get("content-length"), max_upload_mb)
        if refusal:
            response = JSONResponse({"detail": refusal[1]}, status_code=refusal[0])
        else:
            response = await call_next(request)
        if response.headers.get("content-type", "").startswith("text/html"):
            body = b"".join([chunk async for chunk in response.body_iterator])
            if response.headers.get("content-encoding") == "gzip":  # Chainlit's GZip middleware runs inside this one
                body = gzip.decompress(body)
            drop = ("content-length", "content-encoding")
            kept = {k: v for k, v in response.headers.items() if k.lower() not in drop}
            response = Response(OUTSIDE_LINK.sub(b"", body), response.status_code, kept)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    # Chainlit answers any Origin with itself and credentials ("*" in .chainlit/config.toml); its CORS middleware
    # holds this very list and reads it when the server starts, so only the configured origins remain
    origins = getattr(getattr(config, "project", None), "allow_origins", None)
    if isinstance(origins, list):
        origins[:] = list(allowed_origins)
    revoked = RevokedTokens(data_dir / "revoked_tokens.json") if data_dir is not None else None
    app.add_middleware(guard, allowed=tuple(allowed_origins), revoked=revoked, throttle=LoginThrottle())  # runs first
