#!/usr/bin/env python3
# smtp-client.py SERVER PORT SOURCE-IP RCPT - send one message with smtplib
# from SOURCE-IP; prints "sent <server reply>" or "refused <code>".
import smtplib
import sys

server, port, source, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with smtplib.SMTP(server, port, timeout=10, source_address=(source, 0)) as s:
    try:
        s.ehlo("client.test")
        s.mail("sender@example.net")
        code, msg = s.rcpt(rcpt)
        if code != 250:
            print("refused %d" % code)
            sys.exit(0)
        code, msg = s.data(b"Subject: test\r\n\r\nhello\r\n")
        print("sent %d %s" % (code, msg.decode()))
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
