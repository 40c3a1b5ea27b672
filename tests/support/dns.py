"""A tiny authoritative DNS responder (UDP, A records only), standing in for Docker's embedded DNS
at 127.0.0.11 inside a test's network namespace.

    python tests/support/dns.py READY_FILE ADDRESS NAME=IPV4 [NAME=IPV4 ...]

Known names get their A record (TTL 10 s) and an empty answer for other types; unknown names get
NXDOMAIN, as Docker's DNS answers for a container that does not exist. It writes READY_FILE once
its socket is bound. Standard library only, so it runs with any python3.
"""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

TYPE_A = 1
CLASS_IN = 1
NXDOMAIN = 3
FORMERR = 1
TTL_S = 10


def _question(message: bytes) -> tuple[str, int, int]:
    """(name, qtype, offset just past the question) of a query's first question."""
    labels: list[str] = []
    offset = 12
    while True:
        length = message[offset]
        offset += 1
        if length == 0:
            break
        if length & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(message[offset : offset + length].decode("ascii").lower())
        offset += length
    qtype, _qclass = struct.unpack("!HH", message[offset : offset + 4])
    return ".".join(labels), qtype, offset + 4


def answer(query: bytes, records: Mapping[str, str]) -> bytes:
    """The response to one query."""
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    # QR, the query's opcode and RD, AA (authoritative) and RA.
    base = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080
    try:
        if qdcount != 1:
            raise ValueError("one question per query")
        name, qtype, end = _question(query)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return struct.pack("!HHHHHH", ident, base | FORMERR, 0, 0, 0, 0)
    question = query[12:end]
    address = records.get(name.rstrip("."))
    if address is None:
        return struct.pack("!HHHHHH", ident, base | NXDOMAIN, 1, 0, 0, 0) + question
    answers = b""
    count = 0
    if qtype == TYPE_A:
        # A pointer to the name in the question (offset 12), then type, class, TTL, 4 bytes.
        answers = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL_S, 4) + socket.inet_aton(
            address
        )
        count = 1
    return struct.pack("!HHHHHH", ident, base, 1, count, 0, 0) + question + answers


def serve(listen: str, records: Mapping[str, str], ready: Path) -> None:
    """Answer queries on listen:53 forever."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((listen, 53))
    ready.write_text("ready\n")
    while True:
        query, client = sock.recvfrom(4096)
        if len(query) >= 12:
            sock.sendto(answer(query, records), client)


def main(argv: list[str]) -> None:
    ready, listen, *pairs = argv
    records = {}
    for pair in pairs:
        name, address = pair.split("=", 1)
        socket.inet_aton(address)
        records[name.lower()] = address
    serve(listen, records, Path(ready))


if __name__ == "__main__":
    main(sys.argv[1:])
