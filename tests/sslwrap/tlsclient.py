#!/usr/bin/env python3
"""tlsclient.py - real TLS clients for the sslwrap-hack tests (python3 ssl).

Usage: tlsclient.py MODE SRC HOST PORT [ARGS]; SRC is the source address
to bind (the "client IP" the front must pass on). Modes:
  pop          greeting, QUIT, print everything until EOF
  halfclose    greeting, send "DATA", TCP shutdown(SHUT_WR) without
               close_notify, print everything until EOF
  hold         greeting, print "ready", then wait until killed
  eof          handshake, print what arrives until EOF (back end down)
  partial      send the first bytes of a ClientHello, then close
  garbage      send a plaintext POP3 command instead of a ClientHello
  silent       connect, send nothing, wait until the server closes
  fingerprint  print the SHA-256 of the server certificate
  version V    try only protocol V (TLSv1_1, TLSv1_2, TLSv1_3); print
               the negotiated version or "refused"
  many N       N concurrent pop sessions (asyncio); print "ok N" when
               every greeting contained ARG2 and every session ended;
               then "seconds S" (wall time of the whole run)
  manytcp N    the same in plain TCP straight to a back end, sending ARG2
               as the first line (the bench's baseline)
$TLSCLIENT_TIMEOUT: seconds for each step (default 20; many: a session
may take three times that).
Also: tlsclient.py unixbackend PATH FIRSTLINES - a POP-like back end on
a unix stream socket (the greeting quotes the first line received, also
appended to FIRSTLINES; QUIT or EOF ends a session), until killed.
"""
import asyncio
import hashlib
import os
import socket
import ssl
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

TIMEOUT = float(os.environ.get("TLSCLIENT_TIMEOUT", "20"))


def context(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        v = getattr(ssl.TLSVersion, version)
        ctx.minimum_version = v
        ctx.maximum_version = v
        if v < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tcp(src, host, port):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.bind((src, 0))
    s.connect((host, int(port)))
    return s


def tls(src, host, port, version=None):
    return context(version).wrap_socket(tcp(src, host, port))


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf


def read_all(s):
    out = b""
    while True:
        try:
            c = s.recv(4096)
        except (ssl.SSLEOFError, ConnectionResetError):
            break
        if not c:
            break
        out += c
    return out


def out(b):
    sys.stdout.write(b.decode("latin-1"))
    sys.stdout.flush()


def mode_pop(a):
    s = tls(*a[:3])
    out(read_line(s))
    s.sendall(b"QUIT\r\n")
    out(read_all(s))


def mode_halfclose(a):
    s = tls(*a[:3])
    out(read_line(s))
    s.sendall(b"DATA\r\n")
    # The TCP half-close under TLS: no close_notify, SSL object kept.
    socket.socket.shutdown(s, socket.SHUT_WR)
    out(read_all(s))


def mode_hold(a):
    s = tls(*a[:3])
    out(read_line(s))
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def mode_eof(a):
    s = tls(*a[:3])
    out(read_all(s))
    print("eof", flush=True)


def mode_partial(a):
    s = tcp(*a[:3])
    # A TLS handshake record header and the start of a ClientHello.
    s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]))
    s.close()


def mode_garbage(a):
    s = tcp(*a[:3])
    s.sendall(b"USER alice\r\n")
    out(read_all(s))


def mode_silent(a):
    s = tcp(*a[:3])
    out(read_all(s))
    print("closed", flush=True)


def mode_fingerprint(a):
    s = tls(*a[:3])
    print(hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest())
    s.close()


def mode_version(a):
    try:
        s = tls(*a[:3], version=a[3])
        print(s.version())
        s.close()
    except (ssl.SSLError, ConnectionResetError):
        print("refused")


async def one_session(ctx, src, host, port, expect, first=None):
    fam = family(host)
    if ctx is None:
        r, w = await asyncio.open_connection(host, int(port), family=fam,
                                             local_addr=(src, 0))
        w.write(first.encode() + b"\r\n")
    else:
        r, w = await asyncio.open_connection(host, int(port), ssl=ctx,
                                             family=fam, local_addr=(src, 0),
                                             server_hostname="localhost",
                                             ssl_handshake_timeout=TIMEOUT)
    greeting = await r.readline()
    w.write(b"QUIT\r\n")
    rest = await r.read()
    w.close()
    try:
        await w.wait_closed()
    except (ssl.SSLError, ConnectionResetError):
        pass
    if expect.encode() not in greeting:
        raise RuntimeError("greeting %r" % greeting[:80])
    if not rest.startswith(b"+OK"):
        raise RuntimeError("after QUIT %r" % rest[:80])
    return True


async def many(n, src, host, port, expect, plain=False):
    ctx = None if plain else context()
    tasks = [asyncio.wait_for(one_session(ctx, src, host, port, expect,
                                          expect if plain else None),
                              TIMEOUT * 3) for _ in range(n)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    good = sum(1 for r in results if r is True)
    errors = [repr(r) for r in results if r is not True][:5]
    return good, errors


def mode_many(a, plain=False):
    n = int(a[3])
    start = time.monotonic()
    good, errors = asyncio.run(many(n, a[0], a[1], a[2], a[4], plain))
    print("ok %d" % good)
    print("seconds %.3f" % (time.monotonic() - start))
    for e in errors:
        print("error %s" % e)


def mode_manytcp(a):
    mode_many(a, plain=True)


def unix_backend(path, firstlines):
    import os
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        f = c.makefile("rwb", buffering=0)
        first = f.readline()
        with open(firstlines, "ab") as out_file:
            out_file.write(first)
        f.write(b"+OK hello [" + first.rstrip(b"\n") + b"]\r\n")
        for line in f:
            if line.startswith(b"QUIT"):
                f.write(b"+OK bye\r\n")
                break
        f.close()
        c.close()


MODES = {
    "pop": mode_pop, "halfclose": mode_halfclose, "hold": mode_hold,
    "eof": mode_eof, "partial": mode_partial, "garbage": mode_garbage,
    "silent": mode_silent, "fingerprint": mode_fingerprint,
    "version": mode_version, "many": mode_many, "manytcp": mode_manytcp,
}

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "unixbackend":
        unix_backend(sys.argv[2], sys.argv[3])
    if len(sys.argv) < 5 or sys.argv[1] not in MODES:
        sys.exit(__doc__)
    MODES[sys.argv[1]](sys.argv[2:])
