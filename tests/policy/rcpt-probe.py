#!/usr/bin/env python3
# rcpt-probe.py SERVER PORT SOURCE-IP RCPT - one SMTP session from SOURCE-IP
# up to RCPT TO (no DATA, so nothing is queued); prints the RCPT reply code.
import smtplib
import sys

server, port, source, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with smtplib.SMTP(server, port, timeout=30, source_address=(source, 0)) as s:
    s.ehlo("client.test")
    code, _ = s.mail("sender@example.net")
    if code != 250:
        print("mail-%d" % code)
        sys.exit(0)
    code, _ = s.rcpt(rcpt)
    print(code)
    s.quit()
