"""Built-in words: the generic replacement phrase and the messages of the engine's own reason codes.

Policies override both: `generic:` in a policy or franchise scope, `message:` on a rule, `messages:` per code.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, Optional

from guard.policy.schema import Phrase

BUILTIN_GENERIC: dict[str, Phrase] = {
    "en": Phrase(text="an original character", plural="original characters"),
    "ja": Phrase(text="オリジナルキャラクター"),
    "zh-Hans": Phrase(text="原创角色"),
    "zh-Hant": Phrase(text="原創角色"),
    "ko": Phrase(text="오리지널 캐릭터"),
    "fr": Phrase(text="un personnage original", plural="des personnages originaux"),
    "de": Phrase(text="eine originelle Figur", plural="originelle Figuren"),
    "es": Phrase(text="un personaje original", plural="personajes originales"),
    "it": Phrase(text="un personaggio originale", plural="personaggi originali"),
}

# Replaces a title (a work) in a rewrite when the policy gives no phrase of its own.
BUILTIN_TITLE_GENERIC: dict[str, Phrase] = {
    "en": Phrase(text="an original work", plural="original works"),
    "ja": Phrase(text="オリジナル作品"),
    "zh-Hans": Phrase(text="原创作品"),
    "zh-Hant": Phrase(text="原創作品"),
    "ko": Phrase(text="오리지널 작품"),
    "fr": Phrase(text="une œuvre originale", plural="des œuvres originales"),
    "de": Phrase(text="ein originales Werk", plural="originale Werke"),
    "es": Phrase(text="una obra original", plural="obras originales"),
    "it": Phrase(text="un'opera originale", plural="opere originali"),
}

BUILTIN_MESSAGES: dict[str, dict[str, str]] = {
    "not_opted_in": {
        "en": "{name} cannot be generated: {rightsholder} has not opted in to generation of this character.",
        "ja": "{name}は生成できません。権利者（{rightsholder}）がこのキャラクターの生成を許諾していません。",
        "zh-Hans": "无法生成{name}：权利人（{rightsholder}）未授权生成该角色。",
        "zh-Hant": "無法生成{name}：權利人（{rightsholder}）未授權生成該角色。",
        "ko": "{name}은(는) 생성할 수 없습니다. 권리자({rightsholder})가 이 캐릭터의 생성을 허락하지 않았습니다.",
        "fr": "Impossible de générer {name} : {rightsholder} n'a pas autorisé la génération de ce personnage.",
        "de": "{name} kann nicht erzeugt werden: {rightsholder} hat der Erzeugung dieser Figur nicht zugestimmt.",
        "es": "No se puede generar {name}: {rightsholder} no ha autorizado la generación de este personaje.",
        "it": "Impossibile generare {name}: {rightsholder} non ha autorizzato la generazione di questo personaggio.",
    },
    "no_rule_matched": {
        "en": "{name} cannot be generated for this use: no licence from {rightsholder} covers it.",
        "ja": "この用途では{name}を生成できません。{rightsholder}の許諾の範囲外です。",
        "zh-Hans": "此用途无法生成{name}：不在{rightsholder}的授权范围内。",
        "zh-Hant": "此用途無法生成{name}：不在{rightsholder}的授權範圍內。",
        "ko": "이 용도로는 {name}을(를) 생성할 수 없습니다. {rightsholder}의 허락 범위를 벗어납니다.",
        "fr": "{name} ne peut pas être généré pour cet usage : aucune licence de {rightsholder} ne le couvre.",
        "de": "{name} kann für diesen Zweck nicht erzeugt werden: keine Lizenz von {rightsholder} deckt ihn ab.",
        "es": "No se puede generar {name} para este uso: ninguna licencia de {rightsholder} lo cubre.",
        "it": "Impossibile generare {name} per questo uso: nessuna licenza di {rightsholder} lo copre.",
    },
    "rewrite_not_converged": {
        "en": "This prompt could not be rewritten without protected characters. Please rephrase it.",
        "ja": "保護されたキャラクターを含まない形に書き換えられませんでした。表現を変えてください。",
        "zh-Hans": "无法将该提示改写为不含受保护角色的内容，请换一种说法。",
        "zh-Hant": "無法將該提示改寫為不含受保護角色的內容，請換一種說法。",
        "ko": "보호된 캐릭터 없이 프롬프트를 다시 쓸 수 없었습니다. 표현을 바꿔 주세요.",
        "fr": "Cette invite n'a pas pu être réécrite sans personnages protégés. Veuillez la reformuler.",
        "de": "Der Prompt ließ sich nicht ohne geschützte Figuren umschreiben. Bitte formulieren Sie ihn neu.",
        "es": "No se pudo reescribir el prompt sin personajes protegidos. Reformúlalo, por favor.",
        "it": "Non è stato possibile riscrivere il prompt senza personaggi protetti. Riformulalo, per favore.",
    },
    "rewrite_empty": {
        "en": "Nothing would be left of this prompt without its protected characters. Please rephrase it.",
        "ja": "保護されたキャラクターを除くと、プロンプトに何も残りません。表現を変えてください。",
        "zh-Hans": "去掉受保护角色后，该提示已没有内容，请换一种说法。",
        "zh-Hant": "去掉受保護角色後，該提示已沒有內容，請換一種說法。",
        "ko": "보호된 캐릭터를 빼면 프롬프트에 남는 내용이 없습니다. 표현을 바꿔 주세요.",
        "fr": "Sans ses personnages protégés, il ne resterait rien de cette invite. Veuillez la reformuler.",
        "de": "Ohne die geschützten Figuren bliebe vom Prompt nichts übrig. Bitte formulieren Sie ihn neu.",
        "es": "Sin sus personajes protegidos no quedaría nada del prompt. Reformúlalo, por favor.",
        "it": "Senza i personaggi protetti non resterebbe nulla del prompt. Riformulalo, per favore.",
    },
    "rewrite_too_many": {
        "en": "This prompt names protected characters too many times to be rewritten. Please shorten it.",
        "ja": "保護されたキャラクターの記述が多すぎて書き換えられません。短くしてください。",
        "zh-Hans": "该提示提及受保护角色的次数过多，无法改写，请缩短。",
        "zh-Hant": "該提示提及受保護角色的次數過多，無法改寫，請縮短。",
        "ko": "보호된 캐릭터가 너무 많이 언급되어 다시 쓸 수 없습니다. 프롬프트를 줄여 주세요.",
        "fr": "Cette invite nomme trop souvent des personnages protégés pour être réécrite. Veuillez la raccourcir.",
        "de": "Der Prompt nennt geschützte Figuren zu oft, um umgeschrieben zu werden. Bitte kürzen Sie ihn.",
        "es": "El prompt nombra personajes protegidos demasiadas veces para reescribirlo. Acórtalo, por favor.",
        "it": "Il prompt nomina personaggi protetti troppe volte per essere riscritto. Accorcialo, per favore.",
    },
    "rewrite_unverified": {
        "en": "This prompt needs a rewrite that could not be checked. Please rephrase it.",
    },
    "rejected": {
        "en": "This prompt cannot be generated under the policy of {rightsholder}.",
        "ja": "{rightsholder}のポリシーにより、このプロンプトは生成できません。",
        "zh-Hans": "根据{rightsholder}的政策，无法生成此提示。",
        "zh-Hant": "根據{rightsholder}的政策，無法生成此提示。",
        "ko": "{rightsholder}의 정책에 따라 이 프롬프트는 생성할 수 없습니다.",
        "fr": "Cette invite ne peut pas être générée selon la politique de {rightsholder}.",
        "de": "Dieser Prompt kann nach den Regeln von {rightsholder} nicht erzeugt werden.",
        "es": "Este prompt no se puede generar según la política de {rightsholder}.",
        "it": "Questo prompt non può essere generato secondo la politica di {rightsholder}.",
    },
}


@lru_cache(maxsize=1)
def _s2t():
    try:
        import opencc

        return opencc.OpenCC("s2t")
    except Exception:  # pragma: no cover
        return None


def _to_traditional(v: Any) -> Any:
    conv = _s2t()
    if conv is None:
        return v
    if isinstance(v, Phrase):
        return Phrase(text=conv.convert(v.text), plural=conv.convert(v.plural) if v.plural else None)
    return conv.convert(v) if isinstance(v, str) else v


def pick_lang(mapping: Mapping[str, Any], lang: str, *, english_fallback: bool = False) -> Optional[Any]:
    """The entry for `lang`, trying its base language; zh-Hant falls back to a converted zh-Hans entry."""
    if lang in mapping:
        return mapping[lang]
    base = lang.split("-")[0]
    if lang == "zh-Hant":
        for key in ("zh-Hans", "zh"):
            if key in mapping:
                return _to_traditional(mapping[key])
    elif base == "zh":
        for key in ("zh-Hans", "zh"):
            if key in mapping:
                return mapping[key]
    elif base in mapping:
        return mapping[base]
    if english_fallback:
        return mapping.get("en")
    return None
