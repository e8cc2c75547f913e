"""The chat page as served: security headers, no request to any other host, govassist's look.

Uploads larger than GOVASSIST_MAX_UPLOAD_MB are refused from their declared size, before they are read. The page
gets a Content-Security-Policy that allows only this server (so even markup that slipped through could
not load an image or script from elsewhere), and Chainlit's HTML loses its links to web fonts and a CDN, so an
offline delegation laptop makes no outside request. Small routes serve the stylesheet and the wordmark.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

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


def _host_port(scheme: str, netloc: str) -> str:
    """`host:port` in lower case with the scheme's default port made explicit ('' when unparseable)."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port or {"https": 443, "wss": 443}.get(scheme, 80)
    except ValueError:
        return ""
    return f"{parts.hostname}:{port}" if parts.hostname else ""


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str] = (), scheme: str = "http") -> bool:
    """Whether a request may reach the chat: no Origin header (not a script on another page), a page of this
    same host:port, or one of the configured public origins (`allowed_origins`). "null" is never allowed."""
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    if origin in {a.strip().lower().rstrip("/") for a in allowed}:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    return _host_port(parts.scheme, parts.netloc) == _host_port(scheme, host)


def origin_guard(app: Any, allowed: Sequence[str] = ()) -> Any:
    """ASGI middleware: HTTP requests and websocket upgrades (Chainlit's socket.io) from a foreign Origin get 403
    before anything runs, so a page elsewhere cannot use a signed-in reader's cookie to read restricted texts."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        if origin_allowed(headers.get("origin"), headers.get("host"), allowed, scheme):
            return await app(scope, receive, send)
        if scope["type"] == "websocket":  # a close before accept: the server answers the upgrade with 403
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"detail": "requests from other sites are refused (see allowed_origins)"}).encode()
        head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": head})
        await send({"type": "http.response.body", "body": body})

    return guarded


def install(app: Any, config: Any, max_upload_mb: float = 20.0, allowed_origins: Sequence[str] = ()) -> None:
    """Add the headers, the upload bound, the HTML clean-up and the govassist routes to Chainlit's FastAPI app."""
    from fastapi.responses import JSONResponse, Response
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

    app.router.routes[0:0] = [
        Route("/govassist/ready", ready),
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
    app.add_middleware(origin_guard, allowed=tuple(allowed_origins))  # added last: runs first
