#!/usr/bin/env python3
# smtp-responder.py - a tiny qmail-smtpd stand-in for tests: speaks SMTP on
# stdin/stdout and decides RCPT like qmail-smtpd does: RELAYCLIENT set
# (even empty) = any recipient, else only domains in argv (rcpthosts).
import os
import sys

rcpthosts = set(a.lower() for a in sys.argv[1:])
relay = os.environ.get("RELAYCLIENT")


def say(line):
    sys.stdout.write(line + "\r\n")
    sys.stdout.flush()


say("220 test.example ESMTP")
data = False
for raw in sys.stdin:
    line = raw.rstrip("\r\n")
    if data:
        if line == ".":
            data = False
            say("250 ok relayuser=%s" % os.environ.get("RELAYUSER", "-"))
        continue
    verb = line[:4].upper()
    if verb in ("HELO", "EHLO"):
        say("250 test.example")
    elif verb == "MAIL":
        say("250 ok")
    elif verb == "RCPT":
        addr = line.split(":", 1)[1].strip().strip("<>")
        domain = addr.rsplit("@", 1)[-1].lower()
        if relay is not None or domain in rcpthosts:
            say("250 ok")
        else:
            say("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)")
    elif verb == "DATA":
        data = True
        say("354 go ahead")
    elif verb == "QUIT":
        say("221 bye")
        break
    elif verb in ("RSET", "NOOP"):
        say("250 ok")
    else:
        say("502 unimplemented (#5.5.1)")
