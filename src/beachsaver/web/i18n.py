"""The browser clients' message catalogue: Korean by default, English available.

Catalogues are JSON files mapping a message id to its text: ``i18n/<lang>.json`` for the shared
texts and ``i18n/<lang>/<area>.json`` for each area of the clients (one file per area keeps
the areas apart). Both languages carry the same ids (a test checks it, and that every id used in
a template exists).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from beachsaver.core.i18n import DEFAULT_LANGUAGE, LANGUAGES

CATALOGUE_DIR = Path(__file__).parent / "i18n"


@cache
def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    for part in sorted((CATALOGUE_DIR / lang).glob("*.json")):
        for key, value in json.loads(part.read_text(encoding="utf-8")).items():
            if key in data:
                raise ValueError(f"{part.name}: message id {key!r} is defined twice")
            data[key] = value
    return data


def text(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The text of ``key`` in ``lang``; Korean when English lacks it; the key itself when unknown."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    found = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    return found.format(**params) if params else found
