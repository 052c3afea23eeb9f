#!/usr/bin/env python3
"""gen-maillog.py N - a realistic mixed mail log: about 5 % POP/IMAP logins
(every shipped family), the rest qmail, postfix, dovecot, cron and kernel
noise, in traditional syslog format. Deterministic (seeded)."""
import random
import sys

random.seed(42)
n = int(sys.argv[1])
hosts = ["mx1", "mx2", "mail"]
def ip():
    return "%d.%d.%d.%d" % (random.randint(1, 223), random.randint(0, 255),
                            random.randint(0, 255), random.randint(1, 254))
def user():
    return "u%d@example%d.org" % (random.randint(1, 50000), random.randint(1, 20))
logins = [
    lambda: "dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, mpid=%d, TLS, session=<Ab%dCd>" % (user(), ip(), random.randint(100, 99999), random.randint(1, 99999)),
    lambda: "dovecot: pop3-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, mpid=%d, session=<Zq%dXy>" % (user(), ip(), random.randint(100, 99999), random.randint(1, 99999)),
    lambda: "vpopmail[%d]: vchkpw-pop3: (PLAIN) login success %s:%s" % (random.randint(100, 99999), user(), ip()),
    lambda: "pop3d: LOGIN, user=%s, ip=[::ffff:%s], port=[%d]" % (user(), ip(), random.randint(1024, 65535)),
    lambda: "ipop3d[%d]: Login user=u%d host=h.example.net [%s] nmsgs=3/3" % (random.randint(100, 99999), random.randint(1, 999), ip()),
    lambda: "cyrus/imap[%d]: login: h.example.net [%s] %s plaintext User logged in SESSIONID=<s-%d>" % (random.randint(100, 99999), ip(), user(), random.randint(1, 99999)),
]
noise = [
    lambda: "qmail: %d.%d info msg %d: bytes %d from <%s> qp %d uid 89" % (random.randint(10**9, 2*10**9), random.randint(0, 999999), random.randint(1, 10**6), random.randint(500, 90000), user(), random.randint(1000, 99999)),
    lambda: "qmail: %d.%d starting delivery %d: msg %d to remote %s" % (random.randint(10**9, 2*10**9), random.randint(0, 999999), random.randint(1, 10**6), random.randint(1, 10**6), user()),
    lambda: "qmail: %d.%d delivery %d: success: did_1+0+0/" % (random.randint(10**9, 2*10**9), random.randint(0, 999999), random.randint(1, 10**6)),
    lambda: "postfix/smtpd[%d]: connect from unknown[%s]" % (random.randint(100, 99999), ip()),
    lambda: "postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 Relay access denied; from=<%s> to=<%s> proto=ESMTP helo=<x>" % (random.randint(100, 99999), ip(), user(), user()),
    lambda: "postfix/qmgr[%d]: 4B%05X: from=<%s>, size=%d, nrcpt=1 (queue active)" % (random.randint(100, 99999), random.randint(0, 0xfffff), user(), random.randint(500, 90000)),
    lambda: "dovecot: imap(%s)<%d><Ab%d>: Disconnected: Logged out in=%d out=%d" % (user(), random.randint(100, 99999), random.randint(1, 99999), random.randint(10, 9999), random.randint(10, 99999)),
    lambda: "dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, TLS, session=<Q%d>" % (user(), ip(), random.randint(1, 99999)),
    lambda: "CRON[%d]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)" % random.randint(100, 99999),
    lambda: "kernel: [%d.%06d] IPv4: martian source %s from %s, on dev eth0" % (random.randint(1, 10**6), random.randint(0, 999999), ip(), ip()),
    lambda: "tcpserver: status: %d/40" % random.randint(0, 40),
    lambda: "tcpserver: pid %d from %s" % (random.randint(100, 99999), ip()),
]
out = sys.stdout
for i in range(n):
    t = "Nov %2d %02d:%02d:%02d %s " % (random.randint(1, 28), random.randint(0, 23), random.randint(0, 59), random.randint(0, 59), random.choice(hosts))
    gen = random.choice(logins) if random.random() < 0.05 else random.choice(noise)
    out.write(t + gen() + "\n")
