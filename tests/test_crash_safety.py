"""Crash safety: `govassist index build` killed with SIGKILL in each phase leaves the previous index serving the
same results, the next build cleans up what the dead one left, and two builds never write at the same time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import make_mini_corpus

from govassist.retrieve import search
from govassist.settings import Settings
from govassist.store import build, open_store
from govassist.store.files import build_lock

QUERIES = ["submarine cables", "quantum computing", "scientific panel on artificial intelligence", "trust data flows"]
WORDS = "digital trust data flows connectivity cables quantum semiconductors standards governance privacy security"

# Runs the real CLI; test-side instrumentation only when asked: log lock hold times, or pause before the switch.
RUNNER = """
import contextlib, os, sys, time
import govassist.store.files as ix

if os.environ.get("CRASH_LOCK_LOG"):
    held = ix.build_lock

    @contextlib.contextmanager
    def logged(*a, **k):
        with held(*a, **k):
            with open(os.environ["CRASH_LOCK_LOG"], "a") as fh:
                fh.write(f"enter {os.getpid()} {time.time()}\\n")
            try:
                yield
            finally:
                with open(os.environ["CRASH_LOCK_LOG"], "a") as fh:
                    fh.write(f"exit {os.getpid()} {time.time()}\\n")

    ix.build_lock = logged
if os.environ.get("CRASH_HOLD_S"):  # keep the lock a little longer, so that two builds surely overlap
    holding = ix.build_lock

    @contextlib.contextmanager
    def held_longer(*a, **k):
        with holding(*a, **k):
            time.sleep(float(os.environ["CRASH_HOLD_S"]))
            yield

    ix.build_lock = held_longer
if os.environ.get("CRASH_PAUSE_BEFORE_SWITCH"):
    switch = ix.switch_current

    def paused(*a):
        print("PAUSED-BEFORE-SWITCH", file=sys.stderr, flush=True)
        time.sleep(120)
        switch(*a)

    ix.switch_current = paused
from govassist.cli import main

sys.argv = ["govassist", *sys.argv[1:]]
main()
"""


class Build:
    """A `govassist index build` subprocess whose stderr is watched for stage lines."""

    def __init__(self, base: Path, *args: str, **extra_env: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVASSIST_")}
        env.update(
            GOVASSIST_CONFIG=str(base / "none.toml"),
            GOVASSIST_CORPUS_DIR=str(base / "corpus"),
            GOVASSIST_CATALOG_FILE=str(base / "corpus" / "catalog.toml"),
            GOVASSIST_INDEX_DIR=str(base / "indexes"),
            GOVASSIST_DATA_DIR=str(base / "data"),
            GOVASSIST_MIRROR_DIR=str(base / "no-mirror"),
            GOVASSIST_EMBED_MODEL="hash:256",
            **extra_env,
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(base / "runner.py"), "index", "build", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out = b""
        self.err = b""
        # One reader per pipe, and nothing else reads them (communicate() would race the stderr reader).
        self._readers = [threading.Thread(target=self._read, args=(name,), daemon=True) for name in ("out", "err")]
        for r in self._readers:
            r.start()

    def _read(self, name: str) -> None:
        pipe = self.proc.stdout if name == "out" else self.proc.stderr
        while chunk := pipe.read1(65536):  # type: ignore[union-attr]
            setattr(self, name, getattr(self, name) + chunk)

    def wait_for(self, marker: str, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while marker.encode() not in self.err:
            assert self.proc.poll() is None, f"build ended before {marker!r}: {self.err.decode()[-500:]}"
            assert time.monotonic() < end, f"no {marker!r} within {timeout} s"
            time.sleep(0.005)

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(30)

    def finish(self) -> tuple[int, str, str]:
        self.proc.wait(timeout=180)
        for r in self._readers:
            r.join(10)
        return self.proc.returncode, self.out.decode(), self.err.decode()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic corpus plus eight generated documents (about 800 chunks), built once."""
    base = tmp_path_factory.mktemp("crash")
    corpus = make_mini_corpus(base / "corpus")
    rng = random.Random(7)
    for d in range(8):
        paras = [f"{i}. We affirm " + " ".join(rng.choices(WORDS.split(), k=40)) + "." for i in range(1, 101)]
        (corpus / f"extra-{d}.md").write_text("\n\n".join(paras) + "\n")
    (base / "runner.py").write_text(RUNNER)
    build(settings_for(base), progress=False)
    return base


def settings_for(base: Path) -> Settings:
    return Settings(
        corpus_dir=base / "corpus",
        catalog_file=base / "corpus" / "catalog.toml",
        index_dir=base / "indexes",
        data_dir=base / "data",
        mirror_dir=base / "no-mirror",
        embed_model="hash:256",
    )


def results(s: Settings) -> dict[str, list[tuple[str, float]]]:
    store = open_store(s)
    return {q: [(h.chunk.id, round(h.score, 6)) for h in search(store, q, s, k=8)] for q in QUERIES}


def leftovers(index_dir: Path) -> list[str]:
    half = [p.name for p in index_dir.glob("build-*") if p.name.endswith(".tmp") or not (p / "manifest.json").exists()]
    return sorted(half + [p.name for p in index_dir.glob(".current-*")])


def wait_for_file(index_dir: Path, pattern: str, b: Build, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not list(index_dir.glob(pattern)):
        assert b.proc.poll() is None and time.monotonic() < end, f"no {pattern} appeared"
        time.sleep(0.002)


KILL_POINTS = {
    "loading": ("· load+chunk", 0.05),
    "embedding": ("· embed", 0.02),
    "writing": ("· write index", 0.3),
}


@pytest.mark.parametrize("phase", [*KILL_POINTS, "faiss-written", "before-switch"])
def test_sigkill_in_each_phase_keeps_the_previous_index_serving(base: Path, phase: str) -> None:
    s = settings_for(base)
    before_path, before = s.current_index.resolve(), results(s)
    if phase == "before-switch":
        b = Build(base, "--force", CRASH_PAUSE_BEFORE_SWITCH="1")
        b.wait_for("PAUSED-BEFORE-SWITCH")
    elif phase == "faiss-written":
        b = Build(base, "--force")
        wait_for_file(s.index_dir, "build-*.tmp/faiss.index", b)
    else:
        marker, delay = KILL_POINTS[phase]
        b = Build(base, "--force")
        b.wait_for(marker)
        time.sleep(delay)
    assert b.kill() == -signal.SIGKILL

    assert s.current_index.resolve() == before_path
    assert results(s) == before
    if phase in ("writing", "faiss-written"):
        assert any(n.endswith(".tmp") for n in leftovers(s.index_dir)), "the kill did not land during the write"
    if phase == "before-switch":
        orphan = [p for p in s.index_dir.glob("build-*") if p.resolve() != before_path and not p.name.endswith("tmp")]
        assert orphan and (orphan[-1] / "manifest.json").exists()
    with build_lock(s.index_dir):  # the dead build's lock died with it
        pass

    r = build(s, progress=False)
    assert not r.changed and leftovers(s.index_dir) == []
    assert s.current_index.resolve() == before_path and results(s) == before


def test_after_kills_a_full_rebuild_serves_the_same_results(base: Path) -> None:
    s = settings_for(base)
    before = results(s)
    b = Build(base, "--force")
    b.wait_for("· embed")
    b.kill()
    r = build(s, progress=False, force=True)
    assert r.changed and s.current_index.resolve() == r.path.resolve() and leftovers(s.index_dir) == []
    assert results(s) == before


def test_two_builds_started_at_once_one_refuses(base: Path) -> None:
    s = settings_for(base)
    old = {p.name for p in s.index_dir.glob("build-*")}
    builds = [Build(base, "--force", "--no-progress", CRASH_HOLD_S="5") for _ in range(2)]
    ended = sorted((b.finish() for b in builds), key=lambda x: x[0])
    assert [code for code, _out, _err in ended] == [2, 3]  # built (the fixture's empty file is skipped); refused
    refused = ended[1][2]
    assert refused.startswith("error: another build is running (pid ") and "pass --wait" in refused
    assert refused.count("\n") == 1
    new = {p.name for p in s.index_dir.glob("build-*")} - old
    assert len(new) == 1 and leftovers(s.index_dir) == []


def test_with_wait_the_second_build_takes_its_turn(base: Path) -> None:
    s = settings_for(base)
    log = base / "locks.log"
    log.unlink(missing_ok=True)
    builds = [Build(base, "--force", "--no-progress", "--wait", CRASH_LOCK_LOG=str(log)) for _ in range(2)]
    assert [b.finish()[0] for b in builds] == [2, 2]
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[0] for e in events] == ["enter", "exit", "enter", "exit"]  # one holder at a time
    assert events[0][1] == events[1][1] and events[2][1] == events[3][1] != events[0][1]
    assert float(events[1][2]) <= float(events[2][2])
    assert leftovers(s.index_dir) == [] and len(results(s)[QUERIES[0]]) == 8
