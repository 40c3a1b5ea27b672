"""Fake upstream HTTP services for the edge tests: each answers any method and path, and logs it.

    python tests/support/upstream.py READY_FILE LOG_FILE NAME=IPV4:PORT [NAME=IPV4:PORT ...]

A path containing `/missing` answers 404; everything else 200 with a small JSON body naming the
service, method and path. Every response carries the upstream's own, weaker security headers, so
a test can see that the edge replaces them. Each request is one `NAME METHOD PATH` line in
LOG_FILE, written before the response is sent. READY_FILE is written once every socket is bound.
Standard library only, so it runs with any python3.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

UPSTREAM_HEADERS = (
    ("Strict-Transport-Security", "max-age=1"),
    ("X-Frame-Options", "ALLOWALL"),
    ("Referrer-Policy", "unsafe-url"),
)


def handler(name: str, log: IO[str], lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with lock:
                log.write(f"{name} {self.command} {self.path}\n")
                log.flush()
            status = 404 if "/missing" in self.path else 200
            body = json.dumps({"service": name, "method": self.command, "path": self.path})
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for header, value in UPSTREAM_HEADERS:
                self.send_header(header, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main(argv: list[str]) -> None:
    ready, log_path, *specs = argv
    lock = threading.Lock()
    log = Path(log_path).open("a")  # noqa: SIM115 (open for the process's lifetime)
    servers = []
    for spec in specs:
        name, where = spec.split("=", 1)
        host, port = where.rsplit(":", 1)
        servers.append(ThreadingHTTPServer((host, int(port)), handler(name, log, lock)))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    Path(ready).write_text("ready\n")
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
