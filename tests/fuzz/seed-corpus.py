#!/usr/bin/env python3
# seed-corpus.py - (re)write the seed corpora in tests/fuzz/corpus/<target>/ from the repository's real data.
# usage: python3 tests/fuzz/seed-corpus.py   (from anywhere; adds files, never removes)
import glob
import hashlib
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SHARED_TSV = os.path.join(TOP, "..", "shared", "samples", "public-lines.tsv")


def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sample_lines(with_parsers=True):
    lines = []
    confs = glob.glob(os.path.join(TOP, "parsers", "*.conf")) if with_parsers else []
    for conf in sorted(confs):
        with open(conf, "rb") as f:
            for raw in f:
                if raw.startswith(b"sample "):
                    lines.append(raw[len(b"sample "):].rstrip(b"\n"))
    if os.path.exists(SHARED_TSV):
        with open(SHARED_TSV, "rb") as f:
            for raw in f:
                cols = raw.rstrip(b"\n").split(b"\t")
                if len(cols) >= 5:
                    lines.append(cols[4])
    return lines


HEADERS = [
    b"Nov 23 10:00:00 mx ", b"Nov  3 10:00:00 mx ", b"Nov 3 10:00:00 ",
    b"2026-11-22T11:53:46.601335+00:00 host ", b"<34>1 2026-11-22T11:53:46Z host ",
    b"<22>Nov 23 10:00:00 mx ", b"@400000005f0a1b2c3d4e5f60 ", b"",
]

IPS = [
    "192.0.2.1", "0.0.0.0", "255.255.255.255", "127.0.0.1", "1.2.3.4",
    "01.2.3.4", "127.1", "1.2.3.4.5", "1.2.3", "256.1.1.1", " 1.2.3.4",
    "1.2.3.4 ", "::", "::1", "2001:db8::7", "2001:DB8::7", "2001:0db8:0:0:0:0:0:7",
    "fe80::1%eth0", "[2001:db8::1]", "::ffff:192.0.2.1", "::ffff:c000:201",
    "::192.0.2.1", "::ffff:0:0", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
    "1::2::3", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "::ffff:1.2.3",
    "64:ff9b::192.0.2.1", "2001:db8::", ":::", "1.2.3.4/24", "10.0.0.0/8",
    "2001:db8::/32", "::ffff:0:0/96", "::ffff:10.0.0.0/104", "1.2.3.4/33",
    "::/0", "0.0.0.0/0", "1.2.3.4/024", "1.2.3.4/", "/8", "fe80::/10",
    "ff02::1", "224.0.0.1", "169.254.1.1", "1.2.3.4\0", "",
]


def seed_lines(target, with_parsers):
    lines = sample_lines(with_parsers)
    for line in lines:
        put(target, line)
    # The same messages under every header shape syslog_split knows.
    msgs = [b"dovecot: pop3-login: Login: user=<u>, method=PLAIN, rip=192.0.2.5, lip=192.0.2.1, mpid=1",
            b"vchkpw-pop3[123]: vpopmail user not found a@b:203.0.113.66",
            b"qmail-popup-hack[77]: login ok svc=pop3 ip=192.0.2.9 user=bob auth=user via=tcp",
            b"imapd[1]: Login user=x host=h [2001:db8::2]"]
    for h in HEADERS:
        for m in msgs:
            put(target, h + m)
    put(target, b"x" * 70 + b"[1]: msg")
    put(target, b"Nov 23 10:00:00 mx tag")
    put(target, b"tag[: msg")


def seed_config():
    with open(os.path.join(TOP, "etc", "authrelay.conf"), "rb") as f:
        full = f.read()
    put("config", full)
    keys = [l for l in full.split(b"\n") if l and not l.startswith(b"#")]
    for k in keys:
        put("config", k + b"\n")
    for bad in [b"expire = 30x\n", b"nosuchkey = 1\n", b"never_relay = 10.0.0.0/33\n",
                b"= value\n", b"expire\n", b"expire = 99999999999999999d\n",
                b"services = pop3,imap  imaps\n", b"relayuser = maybe\n",
                b"# only a comment\n\n\n", b"fifo = /a\0b\n", b"fifo = " + b"x" * 1100 + b"\n",
                b"expire = 1h\r\n", b"lookup = cdb db\nlookup_deadline = 250ms\n",
                b"trusted_uids = dovecot:0 courier:110\nrequire_trusted = yes\n",
                b"expire = 1h # comment\n", b"database = host=/tmp dbname=x\n"]:
        put("config", bad)


def seed_linebuf():
    rnd = random.Random(1)
    streams = [b"a\nbb\r\nccc\n", b"\n\n\r\n", b"x" * 40 + b"\nshort\n" + b"y" * 10,
               b"line without newline", b"\r\r\n\n", b"a" * 100 + b"\n" + b"b\n"]
    for line in sample_lines()[:20]:
        streams.append(line + b"\n" + line[:30] + b"\r\n")
    for s in streams:
        for _ in range(2):
            put("linebuf", bytes(rnd.randrange(256) for _ in range(4)) + s)


def seed_popio():
    sessions = [b"CAPA\r\nUSER bob\r\nPASS secret\r\nQUIT\r\n",
                b"USER a\nPASS b\n", b"APOP bob 0123456789abcdef0123456789abcdef\r\n",
                b"SSL 192.0.2.7:secret\r\nUSER x\r\n", b"SSL [2001:db8::7]:s\r\n",
                b"PROXY TCP4 192.0.2.1 127.0.0.1 1234 110\r\nNOOP\r\n",
                b"A" * 510 + b"\r\nNOOP\r\n", b"A" * 511 + b"\nNOOP\r\n",
                b"B" * 600 + b"\r\nQUIT\r\n", b"USER a\0b\r\n", b"NOOP", b"\r\n\r\n"]
    for s in sessions:
        put("popio", b"\0" + s)
        put("popio", b"\1" + s)


def seed_proxyproto():
    for h in [b"PROXY TCP4 192.0.2.1 127.0.0.1 56324 995\r\n",
              b"PROXY TCP6 2001:db8::1 ::1 56324 995\r\n",
              b"PROXY TCP6 ::ffff:192.0.2.1 ::ffff:127.0.0.1 1 2\r\n",
              b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
              b"PROXY TCP4 192.0.2.1 127.0.0.1 0 65535\r\n",
              b"PROXY TCP4 192.0.2.1 127.0.0.1 65536 1\r\n",
              b"PROXY TCP4 192.0.2.1 127.0.0.1 01 1\r\n",
              b"PROXY TCP4 192.0.2.1  127.0.0.1 1 1\r\n",
              b"PROXY TCP4 2001:db8::1 127.0.0.1 1 1\r\n",
              b"PROXY TCP6 192.0.2.1 ::1 1 1\r\n",
              b"PROXY TCP4 192.0.2.1 127.0.0.1 1 1\n",
              b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
              b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nextra",
              b"\r\n\r\n\0\r\nQUIT\n"]:
        put("proxyproto", h)


def seed_sslline():
    for a in [b"192.0.2.7:secret", b"[2001:db8::7]:secret", b"127.0.0.1:",
              b"[::ffff:192.0.2.1]:x", b"192.000.2.7:s", b"[2001:DB8::7]:s",
              b"2001:db8::7:s", b"[2001:db8::7]s", b"[2001:db8::7", b"[]:s",
              b":secret", b"0.0.0.0:s", b"[::]:s", b"192.0.2.7:sec:ret",
              b"192.0.2.7:" + b"s" * 200, b"[192.0.2.7]:s", b"1.2.3.4\0:s", b""]:
        put("sslline", a)


def seed_policyreq():
    # first byte: largest chunk; then Postfix policy requests
    full = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
            "client_address=192.0.2.10\nclient_name=unknown\nserver_address=192.0.2.1\n"
            "server_port=25\nsender=a@example.net\nrecipient=b@example.org\n\n")
    for chunk, body in [
            (b"\x07", full.encode()),
            (b"\x00", (full + full.replace("192.0.2.10", "2001:db8::10")).encode()),
            (b"\x3f", b"request=smtpd_access_policy\nclient_address=192.0.2.10\n"
                       b"client_address=192.0.2.11\n\n"),
            (b"\x01", b"no equals\n\n\n\nx=" + b"y" * 5000 + b"\n\n"),
            (b"\x02", b"request=smtpd_access_policy\nclient_address=" + b"1" * 80 + b"\n\n"),
            (b"\x05", b"request=smtpd_access_policy\0\nclient_address=192.0.2.10\r\n\n"),
            (b"\x09", b"".join(b"a%d=b\n" % i for i in range(300)) + b"\n"),
            (b"\x10", b"Request=x\n=v\nrequest=\n\n")]:
        put("policyreq", chunk + body)


def main():
    # syslog_split needs header shapes, not every parser's samples.
    seed_lines("syslog", False)
    seed_lines("rules", True)
    for ip in IPS:
        put("ipaddr", ip)
    seed_config()
    seed_linebuf()
    seed_popio()
    seed_proxyproto()
    seed_sslline()
    seed_policyreq()


if __name__ == "__main__":
    main()
