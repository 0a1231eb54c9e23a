"""`guard lexicon variants`: the spellings that compile-time expansion generates for a name or a character.

Nothing here re-implements expansion: the name (or the character's record) is compiled on its own with
`guard.compiler.compile_lexicon`, and the patterns it yields are listed with the compiler's notes and
ambiguity marks. For a character of the loaded lexicons, each pattern is also looked up in the full compiled
lexicon, to show which generated forms were dropped there because another character shares them.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

from guard.compiler import CUE, CompiledLexicon, compile_lexicon
from guard.errors import LexiconError
from guard.expand import despaced
from guard.lexicon.loader import LoadedLexicon
from guard.lexicon.schema import CharacterRecord, FranchiseRecord, LexiconFile, language_tag_problem
from guard.normalize import Normalizer, script_of

_KIND_ORDER = {"name": 0, "variant": 1, "partial": 2}


@dataclass
class Variant:
    pattern: str  # the normalized text the automaton matches
    kind: str  # name | variant | partial
    note: str  # how it was generated
    alias: str  # the lexicon name it comes from
    lang: str
    ambiguous: Optional[str]  # why it needs context, or None
    status: str = "kept"  # kept | dropped (shared with another character in the full lexicon)
    shared_with: list[str] = field(default_factory=list)


def guess_lang(name: str) -> str:
    """A language tag from the script of `name`: katakana/hiragana ja, Hangul ko, Han zh-Hans, else en."""
    scripts = {script_of(c) for c in name}
    if scripts & {"kata", "hira"}:
        return "ja"
    if "hangul" in scripts:
        return "ko"
    if "han" in scripts:
        return "zh-Hans"
    return "en"


def _compile_alone(rec: CharacterRecord, normalizer: Optional[Normalizer]) -> CompiledLexicon:
    lex = LexiconFile(franchise=FranchiseRecord(id="variants", name="variants", names={}), characters=[rec])
    return compile_lexicon(LoadedLexicon(((Path("<variants>"), lex),), ""), normalizer=normalizer)


def _collect(compiled: CompiledLexicon, normalize) -> list[Variant]:
    out: list[Variant] = []
    for pattern, es in zip(compiled.patterns, compiled.entries):
        for e in es:
            if e.char != 0 or e.kind == CUE:
                continue
            note = e.note
            spaced = normalize(e.alias).text.strip()
            if e.kind == "name" and pattern != spaced:
                note = "lexicon name, separators removed" if pattern == despaced(spaced) else "lexicon name, normalized"
            out.append(Variant(pattern, e.kind, note, e.alias, e.lang, e.ambiguous))
    out.sort(key=lambda v: (_KIND_ORDER.get(v.kind, 9), v.alias, v.pattern))
    return out


def variants_of_name(name: str, lang: Optional[str] = None, *, normalizer: Optional[Normalizer] = None) -> tuple[str, list[Variant]]:
    """(language used, variants) for one name."""
    lang = lang or guess_lang(name)
    compiled = _compile_alone(_name_record(name, lang), normalizer)
    return lang, _collect(compiled, compiled.normalizer.normalize)


def _name_record(name: str, lang: str) -> CharacterRecord:
    problem = language_tag_problem(lang)
    if problem:
        raise LexiconError("(command line)", problem, field="lang")
    try:
        return CharacterRecord(id="variants/name", names={lang: [name]})
    except ValidationError as exc:
        raise LexiconError("(command line)", exc.errors()[0]["msg"], field="name") from None


def variants_of_character(character_id: str, loaded: LoadedLexicon, full: CompiledLexicon) -> list[Variant]:
    """Every pattern the character's record compiles to, and whether the full lexicon kept it."""
    rec = next((c for _p, lex in loaded.files for c in lex.characters if c.id == character_id), None)
    if rec is None:
        raise KeyError(character_id)
    alone = rec.model_copy(update={"franchise": None, "rightsholder": None})
    compiled = _compile_alone(alone, full.normalizer)
    variants = _collect(compiled, full.normalizer.normalize)
    index = {p: i for i, p in enumerate(full.patterns)}
    for v in variants:
        pid = index.get(v.pattern)
        owners = [] if pid is None else [full.characters[e.char].id for e in full.entries[pid] if e.char >= 0 and e.kind != CUE]
        v.shared_with = sorted({o for o in owners if o != character_id})
        if character_id not in owners:
            v.status = "dropped"
            if not v.shared_with:  # the compiler leaves out name parts that belong to two characters
                v.shared_with = ["another character (not in the compiled lexicon at all)"]
    return variants


def format_text(title: str, variants: list[Variant]) -> str:
    lines = [title]
    if not variants:
        lines.append("  (no patterns)")
    width = max((len(v.pattern) for v in variants), default=10) + 2
    for v in variants:
        extra = []
        if v.ambiguous:
            extra.append(f"ambiguous: {v.ambiguous}")
        if v.status != "kept":
            extra.append("dropped: shared with " + ", ".join(v.shared_with))
        elif v.shared_with:
            extra.append("shared with " + ", ".join(v.shared_with))
        src = f"{v.alias} ({v.lang})" if v.lang else v.alias
        lines.append(f"  {v.pattern:<{width}} {v.kind:<8} {v.note:<34} from {src}" + ("  [" + "; ".join(extra) + "]" if extra else ""))
    return "\n".join(lines)


def to_json(variants: list[Variant], **extra) -> str:
    return json.dumps({**extra, "variants": [asdict(v) for v in variants]}, ensure_ascii=False, indent=2)
