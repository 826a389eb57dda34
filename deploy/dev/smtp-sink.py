"""SMTP receiver for the mail tests: accepts every message and writes it into a directory.

Run it with the venv that deploy/dev/mail-tools.sh makes (aiosmtpd 1.4):

    "$VENV/bin/python" deploy/dev/smtp-sink.py --port 0 --dir DIR \
        [--tls-cert CRT --tls-key KEY] [--auth-user USER --auth-password PASSWORD]

It listens on 127.0.0.1 only (port 0: the system picks one) and, once it accepts connections,
prints exactly one line, `listening 127.0.0.1:<port>`, on stdout. Message n (1, 2, ... after
the highest number already in DIR) becomes DIR/<n>.json, then DIR/<n>.eml, each renamed into
place complete, so a test that sees <n>.eml can read both:
  <n>.eml   the message bytes as received (after DATA's dot-unstuffing, CRLF line ends)
  <n>.json  {"mail_from": str, "rcpt_tos": [str], "tls": bool, "auth_user": str | null}
With --tls-cert/--tls-key it offers STARTTLS (not required). With --auth-user/--auth-password
it offers AUTH PLAIN and LOGIN and refuses mail without them; when TLS is configured AUTH is
only offered after STARTTLS. SIGTERM or SIGINT stop it with exit code 0.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, advertise_auth):
        self.directory = directory
        self.advertise_auth = advertise_auth
        # Goes on after the messages an earlier run left in the directory.
        names = (re.fullmatch(r"(\d+)\.eml", name) for name in os.listdir(directory))
        self.count = max((int(m.group(1)) for m in names if m), default=0)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not self.advertise_auth:
            responses = [line for line in responses if not line.startswith("250-AUTH")]
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        auth = session.auth_data if session.authenticated else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "auth_user": auth.login.decode() if isinstance(auth, LoginPassword) else None,
        }
        self.write(f"{self.count}.json", json.dumps(meta).encode() + b"\n")
        self.write(f"{self.count}.eml", envelope.original_content)
        return "250 2.0.0 OK"

    def write(self, name, data):
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)


def authenticator(user, password):
    expected = LoginPassword(user.encode(), password.encode())

    def check(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data == expected, handled=False, auth_data=auth_data)

    return check


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    auth = args.auth_user is not None
    sink = Sink(args.dir, advertise_auth=auth)
    options = dict(
        hostname="smtp-sink.docket.test",  # not socket.getfqdn(), which may wait for DNS
        enable_SMTPUTF8=True,
        tls_context=tls,
        require_starttls=False,
        auth_required=auth,
        auth_require_tls=tls is not None,
    )
    if auth:
        options["authenticator"] = authenticator(args.auth_user, args.auth_password)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, loop=loop, **options), "127.0.0.1", args.port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1; 0 picks one")
    parser.add_argument("--dir", required=True, help="where messages are written")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) for STARTTLS")
    parser.add_argument("--tls-key", help="PEM private key for STARTTLS")
    parser.add_argument("--auth-user", help="require AUTH PLAIN/LOGIN as this user")
    parser.add_argument("--auth-password", help="the password for --auth-user")
    args = parser.parse_args()
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if (args.auth_user is None) != (args.auth_password is None):
        parser.error("--auth-user and --auth-password go together")
    # AUTH without TLS is what the tests ask for on loopback; aiosmtpd warns about it.
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
