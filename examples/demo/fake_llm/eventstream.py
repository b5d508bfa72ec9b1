"""The AWS event-stream binary framing that Bedrock's streamed calls answer with (``vnd.amazon.eventstream``).

A message is a prelude (total length, headers length: big-endian uint32), the prelude's CRC32, the headers, the
payload, and the CRC32 of everything before it. Every header value here is a string (type 7).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One framed message."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    framed = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return framed + struct.pack(">I", zlib.crc32(framed))


def event(event_type: str, payload: dict[str, Any]) -> bytes:
    """An event of ``event_type`` whose payload is the event's members as JSON."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return message(headers, json.dumps(payload).encode())


def exception(exception_type: str, text: str) -> bytes:
    """A modelled exception sent inside the stream (``throttlingException``, ``modelStreamErrorException``, ...)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return message(headers, json.dumps({"message": text}).encode())


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING, len(raw_value)) + raw_value
