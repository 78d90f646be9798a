"""A TCP proxy between the browser and the server, so a test can take the network away for
real (every connection reset and new ones refused, for the page and its service worker alike,
which the browser's own "offline" emulation does not reach), lose one answer on its way back,
and count the bytes that cross.

Plain HTTP/1.1 only (what the test servers speak); one thread per connection.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterable
from contextlib import suppress

METHODS = {b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS"}
PORTS = range(8120, 8130)  # the ports this suite's servers prefer; any free one otherwise


def free_port(preferred: Iterable[int] = ()) -> int:
    """The first of `preferred` that is free on 127.0.0.1, else one the system picks."""
    for port in (*preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port")


class Proxy:
    """Listens on 127.0.0.1:`port` and forwards to `upstream` (host, port)."""

    def __init__(self, upstream: tuple[str, int], port: int | None = None):
        self.upstream = upstream
        self.port = port or free_port(PORTS)
        self.bytes_up = 0  # browser → server
        self.bytes_down = 0  # server → browser
        self._drop: list[bytes] = []  # request-line prefixes whose next answer is lost
        self.dropped: list[bytes] = []
        # Each request seen: its request line and the bytes that crossed for it each way.
        self.requests: list[dict] = []
        self._connections = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control ---------------------------------------------------------------------------

    def start(self) -> Proxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """The network is gone: open connections reset, new ones refused."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            _reset(conn)

    def restore(self) -> None:
        if self._listener is None:
            self.start()

    def drop_next_answer(self, request_prefix: bytes) -> None:
        """Forward the next request starting with `request_prefix` (`b"POST /api/v1/visits "`)
        to the server, but reset the connection instead of passing its answer back: the server
        did the work, the browser never hears of it."""
        with self._lock:
            self._drop.append(request_prefix)

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_up = self.bytes_down = 0
            self.requests = []

    # --- plumbing --------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            self._connections += 1
            state = {"drop": False, "id": self._connections}
            with self._lock:
                self._conns.update((client, server))
            for src, dst, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(src, dst, up, state), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool, state: dict) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    if up and data[:8].split(b" ", 1)[0] in METHODS:
                        state["request"] = {
                            "line": data.split(b"\r\n", 1)[0].decode("latin-1"),
                            "up": 0,
                            "down": 0,
                            "at": time.monotonic(),
                            "connection": state["id"],
                        }
                        self.requests.append(state["request"])
                    if state.get("request") is not None:
                        state["request"]["up" if up else "down"] += len(data)
                    if up:
                        self.bytes_up += len(data)
                        for prefix in self._drop:
                            if data.startswith(prefix):
                                self._drop.remove(prefix)
                                self.dropped.append(prefix)
                                state["drop"] = True
                                break
                    else:
                        self.bytes_down += len(data)
                if not up and state["drop"]:
                    break  # the answer is lost: reset both sides below
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            if not up and state["drop"]:
                _reset(dst)
                _reset(src)
            else:
                for sock in (src, dst):
                    with suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()


def _reset(sock: socket.socket) -> None:
    """Tear the connection down now, with RST where the kernel can: what a dropped link looks
    like to the other side. `shutdown` first: a plain close() does not wake the other thread
    blocked in recv() on this socket, and the connection would live on in the kernel, still
    reachable by the browser's pooled keep-alive sockets."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
