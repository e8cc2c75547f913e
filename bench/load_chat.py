"""Load test of the chat: N simultaneous sessions on loopback asking questions through Chainlit's socket.io
protocol, as the browser does, bounded in count and time. Reports time-to-answer percentiles and errors, and
appends the run to bench/results/load.json.

The protocol (chainlit/socket.py): connect to /ws/socket.io with auth {sessionId, clientType, userEnv, ...}
(and the access_token cookie when login is on), emit "connection_successful" to start the chat, then
"client_message" with {"message": step, "fileReferences": None}; the reply arrives as a "new_message" event
of type "assistant_message". An error is a refused connection, a reply starting with "⚠", Chainlit's own
error message, or no reply within the time bound.

    .venv/bin/python -m bench.load_chat --sessions 50 --questions 2          # starts the chat on the current index
    .venv/bin/python -m bench.load_chat --url http://127.0.0.1:8000 --sessions 50   # an already running chat
    .venv/bin/python -m bench.load_chat --sessions 50 --precedent-share 0.5 --precedent-chars 2000  # mixed load

With --precedent-share, that share of the sessions asks `/precedent` with a wording of --precedent-chars
characters (sentences of the corpus, joined) instead of questions; the report gives the times of both kinds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from govassist.chat_render import NOTICES
from govassist.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "load.json"


@dataclass(frozen=True)
class Turn:
    """One question asked in one session: seconds to the answer (None if none came) and what went wrong."""

    session: int
    question: str
    seconds: float | None
    error: str = ""
    answer: str = ""


@dataclass(frozen=True)
class LoadReport:
    """The outcome of one load run."""

    sessions: int
    questions_per_session: int
    think_s: float
    asked: int
    answered: int
    errors: int
    connect_errors: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None
    wall_s: float
    error_samples: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "turns"}


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation, as numpy's default), or None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 3)


def _step(text: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"id": str(uuid.uuid4()), "threadId": "", "name": "User", "type": "user_message", "output": text,
            "createdAt": now}  # fmt: skip


async def _login(url: str, user: str, password: str) -> str:
    """The Cookie header Chainlit sets on a successful password login."""
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post("/login", data={"username": user, "password": password})
        r.raise_for_status()
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def _session(
    url: str,
    n: int,
    questions: list[str],
    connected: asyncio.Barrier,
    timeout_s: float,
    cookie: str | None,
    think_s: float,
) -> list[Turn]:
    """One user: connect, wait for the welcome and for every other user, then ask questions one by one, each
    after a random pause of up to `think_s` (0: the first questions of all users arrive at the same instant)."""
    import random

    import socketio

    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    welcome = asyncio.Event()
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("new_message")
    async def _message(data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "system_message":
            welcome.set()
        elif kind == "assistant_message" or data.get("name") == "Error":
            replies.put_nowait(data)

    auth = {"sessionId": str(uuid.uuid4()), "clientType": "webapp", "userEnv": "{}", "chatProfile": None,
            "threadId": None}  # fmt: skip
    turns: list[Turn] = []
    try:
        await sio.connect(
            url,
            socketio_path="/ws/socket.io",
            transports=["websocket"],
            auth=auth,
            headers={"Cookie": cookie} if cookie else {},
            wait_timeout=timeout_s,
        )
        await sio.emit("connection_successful")
        await asyncio.wait_for(welcome.wait(), timeout_s)
    except Exception as exc:
        with contextlib.suppress(asyncio.BrokenBarrierError):
            await connected.abort()
        await sio.disconnect()
        return [Turn(n, q, None, f"connect: {type(exc).__name__}: {exc}") for q in questions]
    with contextlib.suppress(TimeoutError, asyncio.BrokenBarrierError):
        await asyncio.wait_for(connected.wait(), timeout_s)
    rng = random.Random(n)
    for q in questions:
        await asyncio.sleep(rng.uniform(0, think_s))
        t = time.perf_counter()
        await sio.emit("client_message", {"message": _step(q), "fileReferences": None})
        try:
            data = await asyncio.wait_for(replies.get(), timeout_s)
        except TimeoutError:
            turns.append(Turn(n, q, None, f"no answer within {timeout_s:g} s"))
            break  # the session is out of step with its replies; stop it here
        seconds = time.perf_counter() - t
        text = str(data.get("output", ""))
        bad = data.get("name") == "Error" or (text.startswith("⚠") and not text.startswith(NOTICES))
        turns.append(Turn(n, q, round(seconds, 4), f"error reply: {text[:200]}" if bad else "", text))
    await sio.disconnect()
    return turns


def run_load(
    url: str,
    questions: list[str],
    sessions: int = 50,
    per_session: int = 2,
    timeout_s: float = 60.0,
    think_s: float = 0.0,
    user: str | None = None,
    password: str | None = None,
) -> LoadReport:
    """`sessions` users connect at once; each asks `per_session` questions in turn, each after up to `think_s` of
    reading (0: every user's first question arrives at the same instant). Bounded: no answer may take longer
    than `timeout_s`, and the whole run stops after (timeout_s + think_s) * (per_session + 2)."""
    if not questions:
        raise ValueError("no questions to ask")
    plan = [[questions[(i * per_session + j) % len(questions)] for j in range(per_session)] for i in range(sessions)]
    t = time.perf_counter()

    async def everyone() -> list[Turn]:
        cookie = await _login(url, user, password) if user and password else None
        barrier = asyncio.Barrier(sessions)
        runs = [_session(url, i, plan[i], barrier, timeout_s, cookie, think_s) for i in range(sessions)]
        done = await asyncio.wait_for(asyncio.gather(*runs), (timeout_s + think_s) * (per_session + 2))
        return [x for turns in done for x in turns]

    turns = asyncio.run(everyone())
    wall = time.perf_counter() - t
    times = [x.seconds for x in turns if x.seconds is not None and not x.error]
    errors = [x for x in turns if x.error]
    return LoadReport(
        sessions=sessions,
        questions_per_session=per_session,
        think_s=think_s,
        asked=len(turns),
        answered=len(times),
        errors=len(errors) + (sessions * per_session - len(turns)),
        connect_errors=sum(1 for x in errors if x.error.startswith("connect:")),
        p50_s=percentile(times, 50),
        p95_s=percentile(times, 95),
        max_s=round(max(times), 3) if times else None,
        wall_s=round(wall, 2),
        error_samples=sorted({x.error for x in errors})[:5],
        turns=turns,
    )


def precedent_wordings(s: Settings, chars: int, count: int) -> list[str]:
    """`count` different /precedent requests of about `chars` characters each, made of the corpus's sentences."""
    from govassist.store import open_store
    from govassist.text import sentences

    pool = [x for c in open_store(s).chunks for x in sentences(c.text) if len(x) > 40]
    if not pool:
        raise ValueError("the index has no sentences to make /precedent wordings from")
    out = []
    for i in range(count):
        text, j = "", i * 7
        while len(text) < chars:
            text += pool[j % len(pool)] + " "
            j += 1
        out.append("/precedent " + text[:chars].strip())
    return out


def mixed(questions: list[str], wordings: list[str], sessions: int, per_session: int, share: float) -> list[str]:
    """The questions in session order (session i asks questions[i*per_session ...]): every 1/share-th session
    asks /precedent wordings instead."""
    every = round(1 / share) if share > 0 else 0
    plan: list[str] = []
    for i in range(sessions):
        source = wordings if every and i % every == 0 else questions
        plan += [source[(i * per_session + j) % len(source)] for j in range(per_session)]
    return plan


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(s: Settings) -> dict[str, str]:
    """The process environment that gives a child process exactly these settings."""
    from govassist.chat_web import chainlit_env

    env = {k: v for k, v in chainlit_env(dict(os.environ)).items() if not k.startswith("GOVASSIST_")}
    env["GOVASSIST_CONFIG"] = str(s.data_dir.resolve() / "no-govassist.toml")
    for key, value in s.model_dump().items():
        if isinstance(value, Path):
            value = value.resolve()  # the child runs in another working folder
        if value is not None:
            env[f"GOVASSIST_{key.upper()}"] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


@contextlib.contextmanager
def chat_server(s: Settings, workdir: Path, timeout_s: float = 180.0) -> Iterator[str]:
    """`chainlit run app.py --headless` on a free loopback port (working folder `workdir`); yields its URL once
    the chat is ready (GET /govassist/ready: index open, model loaded), so the first questions measure answers."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "chainlit.log"
    cmd = [sys.executable, "-m", "chainlit", "run", str(REPO / "app.py"), "--headless", "--host", "127.0.0.1",
           "--port", str(port)]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=server_env(s), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            end = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the chat exited ({proc.returncode}): {log.read_text()[-800:]}")
                if time.monotonic() > end:
                    raise RuntimeError(f"the chat did not answer HTTP within {timeout_s:g} s; see {log}")
                with contextlib.suppress(httpx.HTTPError):  # ready: the index open and the model loaded
                    if httpx.get(url + "/govassist/ready", timeout=2.0).status_code == 200:
                        break
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def by_kind(report: LoadReport) -> dict[str, Any]:
    """p50/p95 and errors of /precedent requests and of questions, apart."""
    out: dict[str, Any] = {}
    for kind, pick in (("precedent", True), ("question", False)):
        turns = [t for t in report.turns if t.question.startswith("/precedent") == pick]
        times = [t.seconds for t in turns if t.seconds is not None and not t.error]
        out[kind] = {"asked": len(turns), "answered": len(times), "errors": sum(1 for t in turns if t.error),
                     "p50_s": percentile(times, 50), "p95_s": percentile(times, 95)}  # fmt: skip
    return out


def dev_questions(path: Path = REPO / "eval" / "questions.jsonl") -> list[str]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r["query"] for r in rows if r.get("query")]


def _append(report: LoadReport, extra: dict[str, Any], path: Path = RESULTS) -> None:
    import platform

    path.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    runs.append(
        {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "loadavg": os.getloadavg()},
            "commit": commit,
            **extra,
            **report.summary(),
        }
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(
    sessions: Annotated[int, typer.Option(min=1, max=500, help="Simultaneous chat sessions.")] = 50,
    questions: Annotated[int, typer.Option(min=1, max=20, help="Questions each session asks, one after another.")] = 2,
    think: Annotated[float, typer.Option(min=0, help="Up to this many seconds of reading before each question.")] = 0.0,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for any one answer.")] = 60.0,
    warmup: Annotated[bool, typer.Option(help="Ask every planned question once, untimed, before the run.")] = False,
    url: Annotated[str, typer.Option(help="A running chat; by default one is started on the current index.")] = "",
    user: Annotated[str, typer.Option(help="Log in as this user (when login is on).")] = "",
    password: Annotated[str, typer.Option(envvar="GOVASSIST_LOAD_PASSWORD", help="That user's password.")] = "",
    save: Annotated[bool, typer.Option(help="Append the run to bench/results/load.json.")] = True,
    precedent_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of the sessions sending /precedent instead of questions.")
    ] = 0.0,
    precedent_chars: Annotated[int, typer.Option(min=10, help="Length of each /precedent wording.")] = 2000,
) -> None:
    """Run the load test and print its summary as JSON; exit 1 if any question failed."""
    s = load_settings()
    asked = dev_questions()[: sessions * questions]
    if precedent_share:
        wordings = precedent_wordings(s, precedent_chars, sessions * questions)
        asked = mixed(asked, wordings, sessions, questions, precedent_share)
    login = {"user": user or None, "password": password or None}
    with tempfile.TemporaryDirectory(prefix="govassist-load-") as tmp, contextlib.ExitStack() as stack:
        if not url:
            served = Settings(**{**s.model_dump(), "data_dir": Path(tmp) / "data"})  # answers logged apart
            url = stack.enter_context(chat_server(served, Path(tmp)))
        if warmup:
            run_load(url, asked, 1, len(asked), timeout_s=600.0, **login)
        report = run_load(url, asked, sessions, questions, timeout, think, **login)
    extra = {"embed_model": s.embed_model, "index": str(s.current_index.resolve()), "warmup": warmup}
    if precedent_share:
        extra |= {"precedent_share": precedent_share, "precedent_chars": precedent_chars} | by_kind(report)
    if save:
        _append(report, {**extra, "timeout_s": timeout})
    typer.echo(json.dumps({**extra, **report.summary()}, indent=1, ensure_ascii=False))
    raise typer.Exit(1 if report.errors else 0)


if __name__ == "__main__":
    typer.run(main)
