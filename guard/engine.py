"""`Guard`: the compiled lexicon, the scanner and the policy engine, as one immutable object."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from guard.cache import compile_cached, load_compiled
from guard.compiler import CompiledLexicon
from guard.lexicon.loader import lexicon_digest, load_lexicons
from guard.matcher import Scanner
from guard.models import DEFAULT_CONTEXT, CheckContext, Decision, Match

PathLike = Union[str, Path]


class Guard:
    """Detects characters (`scan`) and decides what to do about them (`check`).

    Build it once at start-up; it is immutable and thread-safe. To reload, build a new one and swap it whole.
    """

    def __init__(self, compiled: CompiledLexicon, policy=None, *, lexicon_paths: Sequence[Path] = (), policy_paths: Sequence[Path] = ()):
        self.compiled = compiled
        self.scanner = Scanner(compiled)
        self.policy = policy
        self.lexicon_paths = tuple(lexicon_paths)
        self.policy_paths = tuple(policy_paths)

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def from_paths(
        cls,
        lexicons: Optional[Sequence[PathLike]] = None,
        policies: Optional[Sequence[PathLike]] = None,
        *,
        unknown_action: str = "reject",
        cache_dir: Optional[PathLike] = None,
        use_cache: bool = True,
        max_rewrites: Optional[int] = None,
    ) -> "Guard":
        """Lexicon and policy files or directories; None means the bundled ones. `max_rewrites`: the most
        mentions one rewrite round replaces before the prompt is rejected instead (None: the policy engine's
        default, `DEFAULT_MAX_REWRITES`)."""
        cache = Path(cache_dir) if cache_dir else None
        files, digest = lexicon_digest(lexicons)
        # A cache hit needs no YAML parsing at all: the files were validated when they were compiled.
        compiled = load_compiled(digest, cache) if use_cache else None
        if compiled is None:
            loaded = load_lexicons(files)
            compiled = compile_cached(loaded, cache_dir=cache, use_cache=use_cache)
        # The policy engine folds its theme terms with the lexicon's normalizer: the same folding as the prompts,
        # and no second set of tables to build at start-up.
        policy = _load_policy(policies, unknown_action, compiled.normalizer, max_rewrites)
        return cls(
            compiled,
            policy,
            lexicon_paths=files,
            policy_paths=[Path(p) for p in policies] if policies else [],
        )

    @classmethod
    def default(cls) -> "Guard":
        """The bundled lexicons and example policies."""
        return cls.from_paths()

    # -- use --------------------------------------------------------------------------------------------
    @property
    def lexicon_version(self) -> str:
        return self.compiled.digest[:16]

    @property
    def policy_version(self) -> str:
        return getattr(self.policy, "version", "")

    def scan(self, text: str, *, include_candidates: bool = False) -> list[Match]:
        """Character mentions in `text`, in order. With include_candidates, ambiguous names that lack
        corroborating context are included too, with `confirmed=False`."""
        return self.scanner.scan(text, include_candidates=include_candidates)

    def scan_titles(self, text: str, *, include_candidates: bool = False) -> list[Match]:
        """Works from the title lexicons named in `text` (method "title"; character_id holds the title id)."""
        return self.scanner.analyze(text, include_candidates=include_candidates)[1]

    def check(self, prompt: str, context: Union[CheckContext, dict, None] = None) -> Decision:
        """Scan the prompt and apply the rightsholders' policies."""
        return self.scan_and_check(prompt, context)[1]

    def scan_and_check(
        self, prompt: str, context: Union[CheckContext, dict, None] = None, *, include_candidates: bool = False
    ) -> tuple[list[Match], Decision]:
        """The character matches and the decision, from one scan (what `guard scan` reports per line).
        Unconfirmed candidates (with include_candidates) are listed but never decided on."""
        started = time.perf_counter()
        if self.policy is None:
            raise RuntimeError("this Guard has no policy engine")
        if context is None:
            ctx = DEFAULT_CONTEXT
        elif isinstance(context, CheckContext):
            ctx = context
        else:
            ctx = CheckContext.model_validate(context)
        matches, titles, nt = self.scanner.analyze_normalized(prompt, include_candidates=include_candidates)
        if not titles:
            decision = self.policy.decide(prompt, matches, ctx, rescan_normalized=self._rescan, normalized=nt, started=started)
            return matches, decision
        decision = self.policy.decide(
            prompt, matches, ctx, rescan_normalized=self._rescan_with_titles, normalized=nt, started=started, titles=titles
        )
        return matches, decision

    def _rescan(self, text: str) -> tuple[list[Match], Any]:
        """A rewritten prompt's character matches and its normalized form."""
        chars, _titles, nt = self.scanner.analyze_normalized(text)
        return chars, nt

    def _rescan_with_titles(self, text: str) -> tuple[list[Match], Any]:
        """Characters and titles, to judge both again after a rewrite."""
        chars, found, nt = self.scanner.analyze_normalized(text)
        return chars + found, nt


def _load_policy(policies, unknown_action, normalizer=None, max_rewrites=None):
    from guard.policy.engine import PolicyEngine

    limits = {} if max_rewrites is None else {"max_rewrites": max_rewrites}
    if policies:
        return PolicyEngine.from_paths(policies, unknown_action=unknown_action, normalizer=normalizer, **limits)
    return PolicyEngine.default(unknown_action=unknown_action, normalizer=normalizer, **limits)


_default: Optional[Guard] = None
_default_lock = threading.Lock()


def default_guard() -> Guard:
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Guard.default()
    return _default
