"""poptest.py - raw POP3 client helpers for tests/pop (from a chosen source address)."""
import poplib
import socket
import sys
import time


class Raw:
    """A byte-exact line client: send what we say, read what comes."""

    def __init__(self, port, src="127.0.0.1", host="127.0.0.1", timeout=10):
        self.s = socket.create_connection((host, port), timeout,
                                          source_address=(src, 0))
        self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        return self.f.readline()

    def cmd(self, data):
        self.send(data)
        return self.line()

    def lines_until_dot(self):
        out = []
        while True:
            ln = self.line()
            if ln in (b".\r\n", b""):
                return out
            out.append(ln)

    def closed(self):
        """True when the server has closed the connection."""
        return self.f.read() == b""

    def close(self):
        self.s.close()


class POP3From(poplib.POP3):
    """poplib.POP3 bound to a given local source address."""

    def __init__(self, host, port, src, timeout=10):
        self._src = src
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._src, 0))


def expect(got, want, what):
    if got != want:
        sys.exit("not ok: %s: expected %r, got %r" % (what, want, got))


def expect_prefix(got, want, what):
    if not got.startswith(want):
        sys.exit("not ok: %s: expected %r..., got %r" % (what, want, got))


def now():
    return time.monotonic()
