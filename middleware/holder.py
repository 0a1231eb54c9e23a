"""Hot reload: an `EngineHolder` owns the current immutable engine and swaps it atomically.

A request reads `holder.current` once and uses that engine to the end, so a reload never changes the rules
in the middle of a request and never drops one: the old engine stays alive for as long as someone holds it.
A reload builds the new engine completely (in a worker thread when called from async code) before the
swap; if building fails (a `FileFormatError` naming the file and line, or anything else), the old engine
stays and the reason is logged and kept in `last_error`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import anyio
import anyio.to_thread

log = logging.getLogger("guard.reload")

PathLike = Union[str, "os.PathLike[str]"]
Signature = tuple[tuple[str, Optional[int], Optional[int]], ...]

_YAML_SUFFIXES = {".yaml", ".yml", ".json"}


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    generation: int
    error: Optional[str] = None
    elapsed_s: float = 0.0


class EngineHolder:
    """Holds the current engine. `loader()` builds a fresh one; `watch` lists the files it is built from."""

    def __init__(
        self,
        loader: Callable[[], Any],
        *,
        watch: Iterable[PathLike] = (),
        engine: Any = None,
    ) -> None:
        self._loader = loader
        self.watch_paths: tuple[Path, ...] = tuple(Path(os.fspath(p)) for p in watch)
        self._lock = threading.Lock()
        self._signature_seen = self._signature()
        self._engine = engine if engine is not None else loader()
        self.generation = 1
        self.loaded_at = time.time()
        self.last_error: Optional[str] = None
        self.reloads_ok = 0
        self.reloads_failed = 0
        self._signal_tasks: set[asyncio.Task] = set()

    @classmethod
    def from_paths(
        cls,
        lexicons: Optional[Sequence[PathLike]] = None,
        policies: Optional[Sequence[PathLike]] = None,
        *,
        unknown_action: str = "reject",
        max_rewrites: Optional[int] = None,
    ) -> "EngineHolder":
        """Build with `Guard.from_paths`, or `Guard.default()` when no path or option is given. Startup errors
        raise."""
        from guard.engine import Guard

        lex = [os.fspath(p) for p in lexicons or ()]
        pol = [os.fspath(p) for p in policies or ()]
        if lex or pol or unknown_action != "reject" or max_rewrites is not None:
            def loader() -> Any:
                return Guard.from_paths(lex or None, pol or None, unknown_action=unknown_action, max_rewrites=max_rewrites)
        else:
            loader = Guard.default
        return cls(loader, watch=[*lex, *pol])

    @property
    def current(self) -> Any:
        """The engine to use for one request (an attribute read: atomic)."""
        return self._engine

    def get(self) -> Any:
        return self._engine

    @property
    def reloading(self) -> bool:
        """True while a reload is building a new engine."""
        return self._lock.locked()

    # -- reloading ------------------------------------------------------------------------------------------

    def reload(self) -> ReloadResult:
        """Build a new engine and swap it in; on failure keep the old one. Thread-safe; blocks while building."""
        with self._lock:
            signature = self._signature()
            started = time.perf_counter()
            try:
                engine = self._loader()
            except Exception as exc:
                self._signature_seen = signature  # do not retry the same broken files on every poll
                self.reloads_failed += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - started
                log.error("reload failed, keeping engine generation %d: %s", self.generation, self.last_error)
                return ReloadResult(False, self.generation, self.last_error, elapsed)
            self._signature_seen = signature
            self.last_error = None
            self.loaded_at = time.time()
            self.reloads_ok += 1
            self._engine = engine
            self.generation += 1  # last: whoever sees the new generation sees the rest too
            elapsed = time.perf_counter() - started
            log.info("reloaded engine: generation %d in %.3fs", self.generation, elapsed)
            return ReloadResult(True, self.generation, None, elapsed)

    async def areload(self) -> ReloadResult:
        """`reload()` in a worker thread, so the event loop keeps serving while the engine is built."""
        return await anyio.to_thread.run_sync(self.reload)

    def _signature(self) -> Signature:
        entries: list[tuple[str, Optional[int], Optional[int]]] = []
        for path in self.watch_paths:
            files = [path]
            if path.is_dir():
                try:
                    files = [path, *sorted(p for p in path.rglob("*") if p.suffix in _YAML_SUFFIXES)]
                except OSError:
                    pass
            for f in files:
                try:
                    st = f.stat()
                    entries.append((str(f), st.st_mtime_ns, st.st_size))
                except OSError:
                    entries.append((str(f), None, None))
        return tuple(entries)

    def changed(self) -> bool:
        """True if a watched file changed (mtime, size, appeared, vanished) since the last (re)load attempt."""
        return self._signature() != self._signature_seen

    async def watch(self, interval: float = 1.0) -> None:
        """Poll the watched files forever; reload when one changes. Run it as a background task."""
        if not self.watch_paths:
            return
        while True:
            await anyio.sleep(interval)
            try:
                changed = await anyio.to_thread.run_sync(self.changed)
            except Exception:  # pragma: no cover - stat errors are folded into the signature
                log.exception("checking watched files failed")
                continue
            if changed:
                log.info("watched files changed; reloading")
                await self.areload()

    # -- SIGHUP ---------------------------------------------------------------------------------------------

    def install_sighup(self, *, also: Callable[[], Any] | None = None) -> bool:
        """Reload on SIGHUP (the running asyncio loop, main thread, POSIX only). Returns False if not possible.

        `also` is called first on each SIGHUP (for instance to reopen the audit log after rotation).
        """
        if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
            return False
        loop = asyncio.get_running_loop()

        def on_sighup() -> None:
            log.info("SIGHUP: reloading")
            if also is not None:
                try:
                    also()
                except Exception:  # pragma: no cover
                    log.exception("SIGHUP hook failed")
            task = loop.create_task(self.areload())
            self._signal_tasks.add(task)
            task.add_done_callback(self._signal_tasks.discard)

        try:
            loop.add_signal_handler(signal.SIGHUP, on_sighup)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            return False
        return True

    def remove_sighup(self) -> None:
        if not hasattr(signal, "SIGHUP"):
            return
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            pass


def as_engine_getter(engine: Any) -> Callable[[], Any]:
    """Resolve the `engine` argument of the middleware: an engine (has `.check`), an `EngineHolder` or
    anything with `.current`, or a zero-argument callable returning the engine to use."""
    if isinstance(engine, EngineHolder):
        return engine.get
    if hasattr(engine, "check") and callable(engine.check):
        return lambda: engine
    if hasattr(type(engine), "current"):
        return lambda: engine.current
    if callable(engine):
        return engine
    raise TypeError(f"engine must be a Guard, an EngineHolder or a callable returning one, not {type(engine).__name__}")
