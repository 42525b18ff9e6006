"""Sans-IO server-sent-events decoder: bytes in, :class:`SSEEvent` out.

Follows the WHATWG parsing rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
CR, LF and CRLF line ends (also a CRLF split across two reads), one leading
UTF-8 byte-order mark, ``:`` comments, multi-line ``data``, ``event``, ``id``
(ignored when it contains NUL) and ``retry`` (ASCII digits only). A blank line
dispatches the event; an event whose data buffer is empty is not dispatched,
and an unfinished event at the end of the stream is discarded.

Invalid UTF-8 is replaced with U+FFFD, as the spec's "UTF-8 decode" does; it
never raises. Bytes are decoded once, always at line boundaries, which gives
the same text as decoding the whole stream at once.

Hot path: a block of complete lines made only of ``data: <payload>\\n\\n``
events (vLLM's whole stream; also CRLF or bare ``data:``) is split into
payloads with one ``split``, checked with ``memchr`` and decoded in one call
(ASCII) or one call per payload; anything else goes through the line-by-line
reader. Each input byte is searched a bounded number of times, so the cost is
linear in the input whatever the read sizes.
"""

from __future__ import annotations

import msgspec

from ..errors import EventTooLargeError, UsageError

_BOM = b"\xef\xbb\xbf"
# For an only-data block with LF or CRLF line ends: the length of the final
# blank line's two line ends, then the separator between two events, spelled
# "data: " and "data:".
_LF = (2, b"\n\ndata: ", b"\n\ndata:")
_CRLF = (4, b"\r\n\r\ndata: ", b"\r\n\r\ndata:")
# A longer retry value is meaningless and would hit Python's int() digit limit.
_MAX_RETRY_DIGITS = 18


class SSEEvent(msgspec.Struct, frozen=True, gc=False):
    """One dispatched event.

    ``id`` is the stream's last event ID when the event was dispatched (it
    carries over from earlier events, per the spec), ``None`` if the stream
    never sent one. ``retry`` is the reconnection time in ms if a valid
    ``retry`` field came with this event.
    """

    # gc=False: the fields are str/int/None, so no reference cycle is possible.
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns a server-sent-events byte stream into :class:`SSEEvent` objects.

    ``max_event_size`` bounds memory: the bytes of one event's lines (since
    the previous blank line, line ends not counted, including a line still
    waiting for its end) may not exceed it, otherwise
    :class:`~streamparse.errors.EventTooLargeError` is raised, whatever the
    read sizes. A call that crosses the cap after decoding some events returns
    them, and the next call that brings data (or ``close``) raises; once
    raised, every later call raises it again.
    """

    __slots__ = (
        "_max",
        "_partial",
        "_partial_size",
        "_started",
        "_skip_lf",
        "_size",
        "_data",
        "_event_type",
        "_event_retry",
        "_id_buffer",
        "_last_id",
        "_retry",
        "_comments",
        "_done",
        "_error",
    )

    def __init__(self, *, max_event_size: int = 16 * 1024 * 1024) -> None:
        if max_event_size < 1:
            raise ValueError("max_event_size must be positive")
        self._max = max_event_size
        # Pieces of the line still waiting for its end: joined once, when it ends.
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._started = False  # the leading BOM has been dealt with
        self._skip_lf = False  # the last read ended in CR: a leading LF ends nothing
        self._size = 0  # bytes of the current event's complete lines; 0 = no open event
        self._data: list[bytes] = []
        self._event_type = ""
        self._event_retry: int | None = None
        self._id_buffer: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._comments = 0
        self._done = False  # closed, or failed with _error
        self._error: EventTooLargeError | None = None

    @property
    def pending(self) -> bool:
        """True when the input so far ends inside an event (a line without its
        end, or data lines not yet dispatched by a blank line): at end of stream
        that event is discarded, so the stream was truncated."""
        return self._partial_size > 0 or bool(self._data)

    @property
    def last_event_id(self) -> str | None:
        """The ID a reconnecting client would send as ``Last-Event-ID``."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) the server asked for, if any."""
        return self._retry

    @property
    def comments(self) -> int:
        """How many comment lines (keep-alives) the stream has carried."""
        return self._comments

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Decode the next read; return the events it completes."""
        block = self._take_lines(data)
        if block is None:
            return []
        payloads = self._payloads(block)
        if payloads is not None:
            last_id = self._last_id
            return [SSEEvent(p, "message", last_id) for p in payloads]
        return self._read_lines(block)

    def feed_data(self, data: bytes) -> list[str]:
        """Like :meth:`feed` but return only each event's ``data``: skips
        building event objects, for clients that ignore event types and IDs."""
        # A model's pace: one read is one whole `data: ...` event and nothing is
        # pending, so there is nothing to split (the only LF is the event's end).
        if (
            data.startswith(b"data: ")
            and data.endswith(b"\n\n")
            and data.find(b"\n") == len(data) - 2
            and data.find(b"\r") < 0  # memchr: `in` is slower for one byte
            and self._started
            and not (self._partial or self._size or self._skip_lf or self._done)
            and len(data) <= self._max
        ):
            try:
                return [data[6:-2].decode()]
            except UnicodeDecodeError:
                return [data[6:-2].decode("utf-8", "replace")]
        block = self._take_lines(data)
        if block is None:
            return []
        payloads = self._payloads(block)
        if payloads is not None:
            return payloads
        return [event.data for event in self._read_lines(block)]

    def close(self) -> list[SSEEvent]:
        """End of stream. Per the spec an unfinished event is discarded, so
        this returns no event; check :attr:`pending` first to detect a
        truncated stream. Raises a pending :class:`EventTooLargeError`."""
        if self._error is not None:
            raise self._error
        if self._size + self._partial_size > self._max:
            self._fail()
        self._done = True
        return []

    def _take_lines(self, data: bytes) -> bytes | None:
        """Add a read; return all complete lines not yet returned, or None
        when no line ended. The block ends with a line end; a CR that ends it
        may still be followed by the LF of a CRLF, which the next call drops."""
        if self._done:
            if self._error is not None:
                raise self._error
            raise UsageError("feed() after close()")
        if not data:
            return None
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return None
        if not self._started:
            data = self._strip_bom(data)
        if not data:
            return None
        end = data.rfind(b"\n")
        if data.find(b"\r", end + 1) >= 0:
            # The last line end is a CR; nothing after it is an LF, so it is
            # either the last byte or a whole line end by itself.
            end = data.rfind(b"\r")
        if end < 0:
            self._partial.append(data)
            self._partial_size += len(data)
            if self._size + self._partial_size > self._max:
                self._fail()
            return None
        end += 1
        if end == len(data):
            tail = b""
            self._skip_lf = data[-1] == 0x0D
        else:
            tail = data[end:]
            data = data[:end]
        if self._partial:
            self._partial.append(data)
            data = b"".join(self._partial)
        self._partial = [tail] if tail else []
        self._partial_size = len(tail)
        return data

    def _strip_bom(self, data: bytes) -> bytes:
        """Drop a BOM at the very start of the stream; it may come split."""
        head = b"".join(self._partial) + data
        if len(head) < len(_BOM) and _BOM.startswith(head):
            # Too short to tell yet: hold it as a partial line.
            self._partial = [head]
            self._partial_size = len(head)
            return b""
        self._started = True
        self._partial = []
        self._partial_size = 0
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _fail(self) -> None:
        """The cap is crossed: raise, now and on every later call."""
        self._error = EventTooLargeError(self._max)
        self._done = True
        raise self._error

    def _payloads(self, block: bytes) -> list[str] | None:
        """The data of each event when ``block`` is nothing but whole
        ``data:<payload>`` events, each line ended by the same LF or CRLF, and
        no event is open; else None.

        Any line end left inside a payload after the split belongs to some
        other line (a comment, another field, multi-line data, mixed line
        ends): then the block takes the long way.
        """
        if self._size or len(block) > self._max:
            return None
        if block.endswith(b"\n\n"):
            trim, spaced, bare = _LF
        elif block.endswith(b"\r\n\r\n"):
            trim, spaced, bare = _CRLF
        else:
            return None
        if block.startswith(b"data: "):
            skip, sep = 6, spaced
        elif block.startswith(b"data:") and spaced not in block:
            # Bare "data:" lines: a "data: x" line among them would keep its space.
            skip, sep = 5, bare
        else:
            return None
        body = block[skip:-trim]
        if body.isascii():
            # One decode, then str parts: the fastest way for ASCII.
            payloads = body.decode("ascii").split(sep.decode())
            rest = "".join(payloads)
            return None if "\n" in rest or "\r" in rest else payloads
        # Split the bytes first: a str holding CJK splits much slower.
        parts = body.split(sep)
        rest_bytes = b"".join(parts)
        if b"\n" in rest_bytes or b"\r" in rest_bytes:
            return None
        try:
            return list(map(bytes.decode, parts))
        except UnicodeDecodeError:
            return [part.decode("utf-8", "replace") for part in parts]

    def _read_lines(self, block: bytes) -> list[SSEEvent]:
        """The general reader: one line at a time, every rule of the spec."""
        events: list[SSEEvent] = []
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
            if b"\r" in block:
                block = block.replace(b"\r", b"\n")
        lines = block.split(b"\n")
        lines.pop()  # the empty string after the block's final line end
        for line in lines:
            if not line:
                self._dispatch(events)
                continue
            self._size += len(line)
            if self._size > self._max:
                if events:  # hand these out; the next call raises
                    self._error = EventTooLargeError(self._max)
                    self._done = True
                    return events
                self._fail()
            colon = line.find(b":")
            if colon == 0:
                self._comments += 1
                continue
            if colon < 0:
                name, value = line, b""
            else:
                name = line[:colon]
                value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event_type = value.decode("utf-8", "replace")
            elif name == b"id":
                if b"\0" not in value:
                    self._id_buffer = value.decode("utf-8", "replace")
            elif name == b"retry":
                if value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
                    self._retry = self._event_retry = int(value)
        return events

    def _dispatch(self, events: list[SSEEvent]) -> None:
        self._last_id = self._id_buffer
        if self._data:
            data = b"\n".join(self._data).decode("utf-8", "replace")
            events.append(SSEEvent(data, self._event_type or "message", self._last_id, self._event_retry))
            self._data = []
        self._event_type = ""
        self._event_retry = None
        self._size = 0
