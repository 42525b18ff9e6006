"""Deterministic benchmark inputs: model output as raw text and as server chunks.

Every stream is built from a list of segments (text, reasoning, tool calls) so
that two views of the same message can be produced:

* ``raw``: the text a Hermes-style model writes, cut into token-like deltas
  (what :class:`streamparse.Parser` and the text-side alternatives consume);
* ``chunks``: the ``chat.completion.chunk`` dicts an OpenAI-compatible server
  with a tool parser would send for the same message (what openai-python's
  stream helper consumes).

All randomness comes from ``random.Random(seed)``: the same seed gives the same
bytes on every machine and every Python version >= 3.10.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

SEED = 20240607

# Token-like delta lengths: mean exactly 4 characters, range 1..7.
_DELTA_LENGTHS = (1, 2, 3, 3, 4, 4, 4, 5, 5, 6, 7)

_WORDS = (
    "the a of to and in is that for it as with was on be by this are from at or an "
    "stream parser token model output server client call tool function argument value "
    "buffer event delta chunk request response latency throughput result schema field "
    "string number object array nested escape unicode state machine incremental "
    "weather forecast city temperature humidity wind pressure report summary "
    "because however therefore while although before after during without between "
    "quickly carefully simply exactly roughly usually rarely often never always "
    "returns reads writes parses emits holds keeps sends waits checks builds closes"
).split()
_RARE = (
    "café", "naïve", "Zürich", "São Paulo", "東京", "naïveté", "façade", "Ελλάδα",
    "—", "“quoted”", "€12", "°C", "π", "🙂", "x < y", "List<int>", "a <b> tag", "3 > 2",
)
_THINK_WORDS = (
    "hmm wait let me check whether the user wants first second then maybe call "
    "tool should I need to consider option plan step verify compare"
).split()


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Stream:
    """One benchmark input in both of its views."""

    key: str
    label: str
    raw: str
    deltas: list[str]
    chunks: list[dict[str, Any]]
    calls: list[Call]
    args_bytes: int = 0  # size of the largest call's arguments JSON, if any
    kinds: tuple[str, ...] = field(default=())

    @property
    def nbytes(self) -> int:
        return len(self.raw.encode())

    def prefix(self, fraction: float) -> Stream:
        """The first ``fraction`` of the deltas and of the chunks (for cost probes)."""
        deltas = self.deltas[: max(1, int(len(self.deltas) * fraction))]
        chunks = self.chunks[: max(1, int(len(self.chunks) * fraction))]
        return replace(self, raw="".join(deltas), deltas=deltas, chunks=chunks, calls=[])


def cut(text: str, rng: random.Random) -> list[str]:
    """Cut text into token-like pieces (mean 4 characters)."""
    out: list[str] = []
    i, n = 0, len(text)
    choice = rng.choice
    while i < n:
        k = choice(_DELTA_LENGTHS)
        out.append(text[i : i + k])
        i += k
    return out


def prose(rng: random.Random, nchars: int, words: tuple[str, ...] | list[str] = _WORDS) -> str:
    """Paragraphs of plausible English-like prose, about ``nchars`` characters."""
    parts: list[str] = []
    size = 0
    sentences_in_par = 0
    while size < nchars:
        nwords = rng.randint(6, 22)
        ws = []
        for _ in range(nwords):
            ws.append(rng.choice(_RARE) if rng.random() < 0.03 else rng.choice(words))
        sentence = " ".join(ws)
        sentence = sentence[0].upper() + sentence[1:] + rng.choice(".....?!:")
        if rng.random() < 0.08:
            sentence += " (see `parse(text)`, e.g. \"a\\b\")"
        sentences_in_par += 1
        if sentences_in_par >= rng.randint(3, 7):
            sentence += "\n\n"
            sentences_in_par = 0
        else:
            sentence += " "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts).rstrip() + "\n"


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    """One realistic nested object: numbers, escapes, unicode, null, booleans."""
    return {
        "id": i,
        "sku": f"A-{i:05d}",
        "title": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6))).title(),
        "price": round(rng.uniform(0.5, 999.0), 2),
        "qty": rng.randint(0, 500),
        "ratio": rng.random() * 1e-3,
        "tags": [rng.choice(_WORDS) for _ in range(rng.randint(0, 4))],
        "dims": {"w": round(rng.uniform(1, 90), 1), "h": round(rng.uniform(1, 90), 1), "unit": "cm"},
        "description": (
            prose(rng, rng.randint(60, 240)).strip()
            + '\nSays "hello" to C:\\Users\\bench\\file.txt\n\tindented line'
        ),
        "locale": {"fr": "café crème", "ja": "東京タワー", "emoji": "🚀 ok"},
        "active": rng.random() < 0.5,
        "parent": None if rng.random() < 0.7 else rng.randint(0, max(i, 1)),
    }


def large_arguments(rng: random.Random, target_bytes: int) -> dict[str, Any]:
    """A write-records style argument object of about ``target_bytes`` JSON bytes."""
    args: dict[str, Any] = {
        "path": "exports/catalogue-2024.json",
        "overwrite": True,
        "options": {"indent": 2, "encoding": "utf-8", "note": 'keep "as is"\\n'},
        "records": [],
    }
    size = len(dumps(args).encode())
    i = 0
    while True:
        rec = _record(rng, i)
        rec_size = len(dumps(rec).encode()) + 2
        if size + rec_size > target_bytes and args["records"]:
            break
        args["records"].append(rec)
        size += rec_size
        i += 1
    return args


def dumps(obj: Any) -> str:
    """JSON the way models write it: spaces after separators, raw unicode."""
    return json.dumps(obj, ensure_ascii=False)


def _call_block(call: Call) -> str:
    body = dumps({"name": call.name, "arguments": call.arguments})
    return f"<tool_call>\n{body}\n</tool_call>"


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion.chunk",
        "created": 1717750000,
        "model": "Qwen/Qwen3-8B",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def build(key: str, label: str, segments: list[tuple[str, Any]], seed: int) -> Stream:
    """Render segments as raw text deltas and as equivalent server chunks.

    Segments: ``("text", str)``, ``("think", str)`` or ``("call", Call)``.
    Server-side, reasoning is sent as ``delta.reasoning`` (a reasoning parser is
    on), text as ``delta.content``, a call as one header entry (id, type, name)
    followed by its arguments JSON cut into token-like fragments.
    """
    raw_parts: list[str] = []
    calls: list[Call] = []
    chunks: list[dict[str, Any]] = [_chunk({"role": "assistant", "content": ""})]
    rng = random.Random(seed + 1)
    args_bytes = 0
    for kind, value in segments:
        if kind == "text":
            raw_parts.append(value)
            chunks += [_chunk({"content": piece}) for piece in cut(value, rng)]
        elif kind == "think":
            raw_parts.append(f"<think>\n{value}\n</think>\n\n")
            chunks += [_chunk({"reasoning": piece}) for piece in cut(value, rng)]
        elif kind == "call":
            index = len(calls)
            calls.append(value)
            raw_parts.append(_call_block(value))
            args = dumps(value.arguments)
            args_bytes = max(args_bytes, len(args.encode()))
            header = {
                "id": f"chatcmpl-tool-{rng.getrandbits(64):016x}",
                "type": "function",
                "index": index,
                "function": {"name": value.name},
            }
            chunks.append(_chunk({"tool_calls": [header]}))
            chunks += [
                _chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in cut(args, rng)
            ]
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
    chunks.append(_chunk({}, finish_reason="tool_calls" if calls else "stop"))
    raw = "".join(raw_parts)
    return Stream(
        key=key,
        label=label,
        raw=raw,
        deltas=cut(raw, random.Random(seed)),
        chunks=chunks,
        calls=calls,
        args_bytes=args_bytes,
        kinds=tuple(kind for kind, _ in segments),
    )


LARGE_SIZES = {"4KB": 4 * 1024, "64KB": 64 * 1024, "1MB": 1024 * 1024}


def text_stream(seed: int = SEED) -> Stream:
    rng = random.Random(seed)
    return build("text", "(a) text 20 KB", [("text", prose(rng, 20_000))], seed)


def reasoning_stream(seed: int = SEED) -> Stream:
    rng = random.Random(seed + 10)
    segments = [
        ("think", prose(rng, 8_000, list(_THINK_WORDS) + list(_WORDS[:40])).strip()),
        ("text", prose(rng, 12_000)),
    ]
    return build("think", "(b) `<think>` 8 KB + text 12 KB", segments, seed + 10)


def parallel_calls_stream(seed: int = SEED) -> Stream:
    rng = random.Random(seed + 20)
    segments = [
        ("text", prose(rng, 1_000) + "\n"),
        ("call", Call("get_weather", {"city": "Paris", "unit": "celsius", "days": 3})),
        ("text", "\n"),
        ("call", Call("get_time", {"timezone": "Europe/Paris", "format": "24h"})),
    ]
    return build("calls", "(c) text 1 KB + 2 parallel calls", segments, seed + 20)


def large_call_stream(size: str, seed: int = SEED) -> Stream:
    rng = random.Random(seed + 30)
    intro = "I'll write the catalogue export now.\n\n"
    call = Call("write_records", large_arguments(rng, LARGE_SIZES[size]))
    return build(f"args-{size}", f"(d) 1 call, {size[:-2]} {size[-2:]} arguments", [("text", intro), ("call", call)], seed + 30)


def content_call_stream(kind: str, size: str, seed: int = SEED) -> Stream:
    """One ``write_file`` call whose ``content`` is ``size`` of one content kind (:data:`CONTENT_KINDS`)."""
    rng = random.Random(seed + 40)
    label, make = CONTENT_KINDS[kind]
    call = Call("write_file", {"path": "notes/out.txt", "content": make(rng, LARGE_SIZES[size])[: LARGE_SIZES[size]]})
    return build(
        f"{kind}-{size}", f"(e) 1 call, {size[:-2]} {size[-2:]} of {label}", [("text", "Writing it.\n\n"), ("call", call)], seed + 40
    )


def all_streams() -> list[Stream]:
    return [
        text_stream(),
        reasoning_stream(),
        parallel_calls_stream(),
        *(large_call_stream(size) for size in LARGE_SIZES),
        *(content_call_stream(kind, size) for kind in CONTENT_KINDS for size in ("64KB", "1MB")),
    ]


# ---------------------------------------------------------------- argument text of three kinds

_IDENTS = (
    "parser stream token buffer event delta chunk value index path text offset size count result "
    "state reader writer cache limit items record field schema"
).split()
_FOREIGN = (
    "東京は日本の首都です。", "天気は晴れ、気温は二十度です。", "数据流解析器", "北京欢迎你", "서울의 날씨는 맑음",
    "Привет, как дела?", "Погода сегодня хорошая.", "Η Αθήνα είναι η πρωτεύουσα.", "Καλημέρα σας!",
    "السلام عليكم", "नमस्ते दुनिया", "café crème", "naïveté", "Zürich", "São Paulo", "🙂", "🚀", "—", "“quoted”",
)


def ascii_prose(rng: random.Random, nchars: int) -> str:
    """:func:`prose` with its non-ASCII characters replaced by ``?``."""
    return prose(rng, nchars).encode("ascii", "replace").decode()


def source_code(rng: random.Random, nchars: int) -> str:
    """ASCII Python source: indentation, quotes and backslashes (escape-heavy once in a JSON string)."""
    parts: list[str] = []
    size = 0
    while size < nchars:
        name, arg, key = rng.choice(_IDENTS), rng.choice(_IDENTS), rng.choice(_IDENTS)
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
        block = (
            f"def {name}_{rng.randint(0, 999)}({arg}, *, limit: int = {rng.randint(1, 4096)}) -> dict[str, Any]:\n"
            f'    """{words.capitalize()}."""\n'
            f"    out = {{\"{key}\": {arg}, 'n': len({arg})}}\n"
            f"    for i, item in enumerate({arg}):\n"
            f"        if item == \"\\n\" or item.startswith('\\\\'):\n"
            f"            out[f\"{key}_{{i}}\"] = item.replace(\"\\t\", \"    \")\n"
            f"        elif i > limit:  # {rng.choice(_WORDS)} {rng.choice(_WORDS)}\n"
            "            break\n"
            "    return out\n\n\n"
        )
        parts.append(block)
        size += len(block)
    return "".join(parts)


def foreign_text(rng: random.Random, nchars: int) -> str:
    """Text in several scripts (CJK, Cyrillic, Greek, Arabic, Devanagari) with emoji: mostly multi-byte UTF-8."""
    parts: list[str] = []
    size = 0
    while size < nchars:
        sentence = " ".join(rng.choice(_FOREIGN) for _ in range(rng.randint(3, 9)))
        sentence += "\n\n" if rng.random() < 0.2 else " "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)


CONTENT_KINDS: dict[str, tuple[str, Callable[[random.Random, int], str]]] = {
    "prose": ("ASCII prose", ascii_prose),
    "code": ("ASCII source code", source_code),
    "unicode": ("non-ASCII text", foreign_text),
}
"""Argument text by kind: what a re-parse costs depends on it (escapes, multi-byte characters)."""
