#!/usr/bin/env python3
# policy-client.py SOCKET CMD - talk to a standalone authrelay-policy.
#   ask IP...     one connection, one request per IP; prints each answer's action
#   concurrent IP one client holds half a request while a second is answered;
#                 prints "second=<action> first=<action>"
import socket
import sys

def req(ip):
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
            "client_address=%s\n\n" % ip).encode()

def answer(s):
    buf = b""
    while not buf.endswith(b"\n\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("closed after %r" % buf)
        buf += chunk
    return buf.decode().strip()

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s

path, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if cmd == "ask":
    s = connect(path)
    for ip in args:
        s.sendall(req(ip))
        print(answer(s))
elif cmd == "concurrent":
    first = connect(path)
    r = req(args[0])
    first.sendall(r[:20])               # half a request, then hold
    second = connect(path)
    second.sendall(req(args[0]))
    a2 = answer(second)
    first.sendall(r[20:])
    a1 = answer(first)
    print("second=%s first=%s" % (a2, a1))
