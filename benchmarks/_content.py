"""Argument contents of three kinds, deterministic: ASCII prose, ASCII source code, non-ASCII text.

The cost of re-parsing a growing buffer depends on what the buffer holds
(escapes, multi-byte characters), so figures are reported per kind.
"""

from __future__ import annotations

import random

KINDS = ("prose", "code", "non-ascii")

_WORDS = (
    "the a of to and in is that for it as with was on be by this are from at or an stream parser token "
    "model output server client call tool function argument value buffer event delta chunk request "
    "response latency throughput result schema field string number object array nested state machine"
).split()
_CODE = (
    "def {f}(items, limit=10):\n"
    '    """Return the first {n} items that match."""\n'
    "    out = []\n"
    "    for i, item in enumerate(items):\n"
    "        if item.get('{k}') is not None and i < limit:\n"
    '            out.append({{"id": i, "value": item["{k}"], "path": "C:\\\\tmp\\\\{f}.txt"}})\n'
    "    return out  # {n} <= limit && x > 0\n\n"
)
_NON_ASCII = (
    "東京タワー", "café crème", "naïveté", "Zürich", "São Paulo", "Ελλάδα", "Москва", "한국어", "🚀", "😀",
    "°C", "€12", "—", "“quoted”", "中文文本", "日本語のテキスト", "emoji 🎉 ok",
)


def content(kind: str, nchars: int, seed: int = 7) -> str:
    """About ``nchars`` characters of ``kind``."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < nchars:
        if kind == "prose":
            sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 20)))
            piece = sentence[0].upper() + sentence[1:] + rng.choice(". . . ? !".split()) + rng.choice(("  ", " ", "\n\n"))
        elif kind == "code":
            piece = _CODE.format(f=rng.choice(_WORDS) + str(rng.randint(0, 99)), k=rng.choice(_WORDS), n=rng.randint(1, 9))
        elif kind == "non-ascii":
            piece = " ".join(rng.choice(_NON_ASCII) for _ in range(rng.randint(3, 9))) + "。\n"
        else:
            raise ValueError(kind)
        parts.append(piece)
        size += len(piece)
    return "".join(parts)[:nchars]
