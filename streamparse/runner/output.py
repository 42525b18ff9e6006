"""The output file: one writer, one JSON line per record, flushed per line; resume.

A crash can leave a torn last line (no newline, or not a whole record):
:func:`read_records` with ``repair=True`` cuts it off, so a rerun appends
after the last whole record. Any other undecodable line is an error naming it:
nothing written is silently dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import TracebackType
from typing import BinaryIO

import msgspec

from ..errors import InputError
from .records import Record, decode_record, encode_record, is_settled, latest

__all__ = ["Writer", "read_records", "settled_ids"]


def read_records(path: str, *, repair: bool = False) -> list[Record]:
    """Every record of an output file; a missing file has none.

    A last line that is not a whole record is a torn write: with ``repair``
    the file is cut back to the end of the line before it, else it is an error.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    records: list[Record] = []
    start = 0
    number = 0
    while start < len(data):
        end = data.find(b"\n", start)
        line = data[start : len(data) if end < 0 else end]
        number += 1
        last = end < 0 or end == len(data) - 1
        if line.strip():
            try:
                records.append(decode_record(line))
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                if not last and end >= 0:
                    raise InputError(f"not a record: {exc}", path=path, line=number) from exc
                if not repair:
                    raise InputError(f"torn last line (an interrupted write): {exc}", path=path, line=number) from exc
                with open(path, "r+b") as file:
                    file.truncate(start)
                return records
            if end < 0:  # a whole record without its newline: keep it, finish the line
                if repair:
                    with open(path, "ab") as file:
                        file.write(b"\n")
                return records
        if end < 0:
            break
        start = end + 1
    return records


def settled_ids(records: Iterable[Record]) -> set[str]:
    """Ids a rerun skips: their last measured record is ok or a permanent error."""
    return {record.id for record in latest(records) if is_settled(record)}


class Writer:
    """Appends records to one file (``append=False``: starts it afresh)."""

    def __init__(self, path: str, *, append: bool = True) -> None:
        self.path = path
        try:
            self._file: BinaryIO = open(path, "ab" if append else "wb")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", path=path) from exc

    def write(self, record: Record) -> None:
        self._file.write(encode_record(record) + b"\n")
        self._file.flush()  # a line per request survives a crash of this process

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
