"""A tiny hotel booking vendor for the demo: HTTP on 127.0.0.1, a free port.

    python demo/hotel_vendor.py --url-file /tmp/vendor.url     (make demo starts it)

It books and cancels, and logs every request on stdout with its ``Idempotency-Key``
header. Like a real payment or booking API it executes each idempotency key once: a
request repeated under the same key (a retry after a lost answer) gets the first answer
again and books nothing more.

    POST /bookings                 {booking_draft_id, hotel_name, ...}  -> 201 a booking
    GET  /bookings/<id>            the booking as it stands
    POST /bookings/<id>/cancel     -> 200 the booking, status cancelled
    POST /bookings/<id>/confirm    the hotel confirms (try it with curl)

Most hotels confirm at once (status ``confirmed``). Hotels named with ``--on-request``
(default: The Ritz London) confirm later, by hand: their bookings stay
``pending_confirmation`` until ``/confirm`` is called. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUIRED = ("booking_draft_id", "hotel_name")


class HotelVendor:
    def __init__(self, on_request: set[str]) -> None:
        self.on_request = on_request
        self.lock = threading.Lock()
        self.bookings: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}  # by idempotency key

    def handle(self, method: str, path: str, key: str | None, body: Any) -> tuple[int, dict, str]:
        """(status, answer, what the log says)."""
        with self.lock:
            if method == "POST" and key is not None and key in self.answers:
                status, answer = self.answers[key]
                return status, answer, "replayed: the first answer again, nothing executed"
            status, answer, note = self._execute(method, path.rstrip("/").split("/")[1:], body)
            if method == "POST" and key is not None and status < 500:
                self.answers[key] = (status, answer)
            return status, answer, note

    def _execute(self, method: str, parts: list[str], body: Any) -> tuple[int, dict, str]:
        if parts == ["bookings"] and method == "POST":
            if not isinstance(body, dict) or any(not body.get(f) for f in REQUIRED):
                return 422, {"error": f"a booking needs {', '.join(REQUIRED)}"}, "refused"
            booking_id = f"BK-{len(self.bookings) + 1:04d}"
            pending = body["hotel_name"] in self.on_request
            booking = {
                "booking_id": booking_id,
                "status": "pending_confirmation" if pending else "confirmed",
                **{k: body[k] for k in sorted(body)},
            }
            self.bookings[booking_id] = booking
            return 201, booking, f"booked {booking_id} ({body['hotel_name']}, {booking['status']})"
        if len(parts) >= 2 and parts[0] == "bookings":
            booking = self.bookings.get(parts[1])
            if booking is None:
                return 404, {"error": f"no booking {parts[1]}"}, "unknown booking"
            if len(parts) == 2 and method == "GET":
                return 200, booking, f"{parts[1]} is {booking['status']}"
            if len(parts) == 3 and method == "POST" and parts[2] in ("cancel", "confirm"):
                if parts[2] == "confirm" and booking["status"] == "cancelled":
                    return 409, {"error": f"{parts[1]} is cancelled"}, "refused"
                booking["status"] = "cancelled" if parts[2] == "cancel" else "confirmed"
                return 200, booking, f"{parts[2]} {parts[1]}: now {booking['status']}"
        return 404, {"error": f"no such resource: {method} /{'/'.join(parts)}"}, "unknown"


def make_server(vendor: HotelVendor, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # the vendor logs its own way
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            key = self.headers.get("Idempotency-Key")
            path = self.path.split("?")[0]
            status, answer, note = vendor.handle(method, path, key, body)
            print(
                f"hotel vendor: {method} {path} Idempotency-Key: {key or '-'} -> {status} {note}",
                flush=True,
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--url-file", help="write the vendor's base URL here once it listens")
    parser.add_argument(
        "--on-request",
        action="append",
        metavar="HOTEL",
        help="a hotel that confirms later, by hand; repeatable (default: The Ritz London)",
    )
    args = parser.parse_args(argv)
    vendor = HotelVendor(set(args.on_request or ["The Ritz London"]))
    server = make_server(vendor, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.url_file:
        tmp = f"{args.url_file}.tmp"
        with open(tmp, "w") as f:
            f.write(url + "\n")
        os.replace(tmp, args.url_file)  # readers never see half a URL
    print(f"hotel vendor: listening on {url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    print("hotel vendor: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
