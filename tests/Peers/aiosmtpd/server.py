#!/usr/bin/python3
"""SMTP submission test peer for SmtpAuthTroubleshooter, built on aiosmtpd (Debian's python3-aiosmtpd).

One process, one asyncio event loop, one aiosmtpd UnthreadedController per listener on 127.0.0.1,
configured by the JSON file named in argv[1] (written by Start-AiosmtpdPeer.ps1). See README.md for
the listeners and the events log.

Everything SMTP is aiosmtpd's own: its SMTP class answers every command with its own texts. This
file only picks aiosmtpd's options per listener (tls_context, auth_require_tls, auth_required,
auth_exclude_mechanism), supplies an authenticator that checks the configured passwords, and adds
an events log. The SMTP subclass below changes no reply: it wraps the command methods and push()
to write what happened.

Secrets (the passwords) come from the config file only and are never written anywhere: the events
log gets command verbs (plus the mechanism name for AUTH), user names, outcomes and reply codes,
never an argument of AUTH, a SASL continuation line, a password or a reply text (aiosmtpd's
'500 Error: command "X" not recognized' echoes what the client sent). aiosmtpd's own logger
('mail.log') is set to ERROR: its INFO lines carry whole command lines and one WARNING names an
unrecognized command word.
"""

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import ssl
import sys
import warnings
from datetime import datetime, timezone

import aiosmtpd
from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"
HOSTNAME = "peer.example.test"

# --- listeners ---------------------------------------------------------------------------------
# name -> aiosmtpd options. 'implicitTls' puts TLS on the listening socket (SMTPS); 'startTls'
# hands aiosmtpd a tls_context so that it offers STARTTLS.
LISTENERS = [
    # Submission-style: STARTTLS, AUTH only after TLS (aiosmtpd's default), MAIL refused before AUTH.
    {"name": "startTlsPort", "startTls": True, "implicitTls": False, "auth_require_tls": True, "exclude": []},
    # SMTPS. auth_require_tls=False because aiosmtpd 1.4.3 does not see TLS that was set up on the
    # listening socket (aio-libs/aiosmtpd issues 274 and 281): with True it would advertise no AUTH
    # and answer AUTH with 538 inside TLS. That default behaviour is listener +5.
    {"name": "implicitTlsPort", "startTls": False, "implicitTls": True, "auth_require_tls": False, "exclude": []},
    # No TLS at all; AUTH advertised and accepted in clear text.
    {"name": "clearTextPort", "startTls": False, "implicitTls": False, "auth_require_tls": False, "exclude": []},
    # STARTTLS offered, but AUTH advertised and accepted before TLS too.
    {"name": "authBeforeTlsPort", "startTls": True, "implicitTls": False, "auth_require_tls": False, "exclude": []},
    # Like startTlsPort, but only PLAIN (auth_exclude_mechanism=['LOGIN']).
    {"name": "plainOnlyPort", "startTls": True, "implicitTls": False, "auth_require_tls": True, "exclude": ["LOGIN"]},
    # SMTPS with aiosmtpd's default auth_require_tls=True: no AUTH in EHLO, AUTH -> 538, inside TLS.
    {"name": "implicitTlsDefaultPort", "startTls": False, "implicitTls": True, "auth_require_tls": True, "exclude": []},
]

KNOWN_VERBS = {"HELO", "EHLO", "LHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT",
               "VRFY", "EXPN", "HELP", "ETRN", "TURN", "ATRN", "XCLIENT", "XFORWARD"}
MECHANISM = re.compile(r"^[A-Z0-9_-]{1,20}$")
UNRECOGNIZED = re.compile(r'^500 Error: command ".*" not recognized$', re.S)

# --- events log ----------------------------------------------------------------------------------
_events_fd = -1


def log_event(port, session, event, **fields):
    """One JSON object per line, written with one os.write (O_APPEND) before the reply it explains."""
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
             "port": port, "session": session, "event": event}
    entry.update(fields)
    try:
        os.write(_events_fd, (json.dumps(entry) + "\n").encode("utf-8"))
    except OSError as err:
        print(f"cannot write events log: {err}", file=sys.stderr, flush=True)


def stamp():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- credentials ---------------------------------------------------------------------------------
def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def make_authenticator(port, users):
    """aiosmtpd authenticator (server, session, envelope, mechanism, auth_data) -> AuthResult.

    Returning AuthResult(success=False, handled=False) lets aiosmtpd send its own
    '535 5.7.8 Authentication credentials invalid'; success gives its '235 2.7.0 Authentication successful'.
    """
    secrets = {name.encode("utf-8"): _digest(pw.encode("utf-8")) for name, pw in users.items()}

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = False
        username = None
        if isinstance(auth_data, LoginPassword):
            username = auth_data.login.decode("utf-8", "replace")
            expected = secrets.get(auth_data.login)
            # constant-time on digests; an unknown user is compared against a dummy digest
            ok = hmac.compare_digest(_digest(auth_data.password), expected or _digest(b"\x00unknown")) and expected is not None
        log_event(port, getattr(server, "peer_session_id", None), "auth", tls=server.peer_tls(),
                  mechanism=mechanism, username=username, ok=ok)
        if ok:
            return AuthResult(success=True, auth_data=username)
        return AuthResult(success=False, handled=False)

    return authenticator


# --- the SMTP protocol with an events log ----------------------------------------------------------
class PeerSMTP(SMTP):
    """aiosmtpd's SMTP, unchanged in what it answers; logs connections, commands, TLS and reply codes."""

    _counter = 0

    def __init__(self, handler, *, peer_port, **kwargs):
        super().__init__(handler, **kwargs)
        self.peer_port = peer_port
        PeerSMTP._counter += 1
        self.peer_session_id = f"{peer_port}-{PeerSMTP._counter}"
        self._peer_connected = False
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._wrap(verb, method)

    def _wrap(self, verb, method):
        @functools.wraps(method)   # keeps the @syntax attributes that HELP reads
        async def logged(arg):
            fields = {"verb": verb}
            if verb == "AUTH":
                mech = (arg or "").split()[0].upper() if (arg or "").split() else ""
                fields["mechanism"] = mech if MECHANISM.match(mech) else ("?" if mech else "")
            log_event(self.peer_port, self.peer_session_id, "command", tls=self.peer_tls(), **fields)
            return await method(arg)
        return logged

    def peer_tls(self):
        """True when this connection is encrypted (implicit TLS, or after a completed STARTTLS)."""
        return self.transport is not None and self.transport.get_extra_info("ssl_object") is not None

    async def push(self, status):
        text = status.decode("utf-8", "replace") if isinstance(status, (bytes, bytearray)) else str(status)
        if UNRECOGNIZED.match(text):
            # a command word aiosmtpd does not know: logged as '?', never as the text itself
            log_event(self.peer_port, self.peer_session_id, "command", tls=self.peer_tls(), verb="?")
        m = re.match(r"^(\d{3})(?: |$)", text)   # the last (or only) line of a reply
        if m:
            log_event(self.peer_port, self.peer_session_id, "reply", code=int(m.group(1)))
        await super().push(status)

    def connection_made(self, transport):
        first = not self._peer_connected
        super().connection_made(transport)
        sslobj = transport.get_extra_info("ssl_object")
        if first:
            self._peer_connected = True
            peer = transport.get_extra_info("peername") or (None, None)
            log_event(self.peer_port, self.peer_session_id, "connect", remoteAddress=peer[0], remotePort=peer[1])
            if sslobj is not None:   # implicit TLS: asyncio finished the handshake before connection_made
                log_event(self.peer_port, self.peer_session_id, "tls", protocol=sslobj.version(), mode="implicit")
        elif sslobj is not None:     # second call: the STARTTLS handshake is done
            log_event(self.peer_port, self.peer_session_id, "tls", protocol=sslobj.version(), mode="starttls")

    def connection_lost(self, error):
        log_event(self.peer_port, self.peer_session_id, "close")
        super().connection_lost(error)


class Handler:
    """Accepts every envelope and discards the message."""

    def __init__(self, port):
        self.port = port
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        content = envelope.original_content or envelope.content or b""
        log_event(self.port, getattr(server, "peer_session_id", None), "message", accepted=True,
                  bytes=len(content), user=session.auth_data, count=self.count)
        return "250 OK: message discarded by the test peer"


class PeerController(UnthreadedController):
    """aiosmtpd's UnthreadedController (one shared loop, no trigger connection) building PeerSMTP."""

    def __init__(self, handler, *, peer_port, **kwargs):
        super().__init__(handler, **kwargs)
        self.peer_port = peer_port

    def factory(self):
        return PeerSMTP(self.handler, peer_port=self.peer_port, **self.SMTP_kwargs)


# --- main ------------------------------------------------------------------------------------------
def main():
    global _events_fd
    if len(sys.argv) != 2:
        print("usage: server.py <config.json>", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)

    _events_fd = os.open(config["eventsPath"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    # aiosmtpd's logger: errors only (its INFO/DEBUG lines carry command lines); to stderr = server.log.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="[%(asctime)s] %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    # aiosmtpd warns (UserWarning) when auth_required is set without auth_require_tls: on purpose here.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(config["certPath"], config["keyPath"])

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    controllers = []
    started = []
    for spec in LISTENERS:
        port = int(config["ports"][spec["name"]])
        kwargs = dict(
            hostname=HOST, port=port, loop=loop,
            server_hostname=HOSTNAME,
            authenticator=make_authenticator(port, config["users"]),
            auth_required=True,
            auth_require_tls=spec["auth_require_tls"],
            auth_exclude_mechanism=spec["exclude"],
            timeout=60,
        )
        if spec["startTls"]:
            kwargs["tls_context"] = tls
        if spec["implicitTls"]:
            kwargs["ssl_context"] = tls
        controller = PeerController(Handler(port), peer_port=port, **kwargs)
        try:
            controller.begin()
        except OSError as err:
            print(f"[{stamp()}] start failed: {spec['name']} {HOST}:{port}: {err}", file=sys.stderr, flush=True)
            return 1
        controllers.append(controller)
        started.append(f"{spec['name']}={port}")

    stopping = {"reason": None}

    def stop(reason):
        if stopping["reason"] is None:
            stopping["reason"] = reason
            loop.stop()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop, sig.name)
    loop.call_later(float(config["maxLifetimeSeconds"]), stop, "max lifetime reached")

    log_event(None, None, "listening", ports=config["ports"], pid=os.getpid(), aiosmtpdVersion=aiosmtpd.__version__)
    print(f"[{stamp()}] pid {os.getpid()} aiosmtpd {aiosmtpd.__version__} listening on {HOST}: {' '.join(started)}", flush=True)
    try:
        loop.run_forever()
    finally:
        print(f"[{stamp()}] stopping ({stopping['reason']})", flush=True)
        for controller in controllers:
            try:
                controller.server.close()
            except Exception:   # noqa: BLE001 - best effort on the way out
                pass
        for task in asyncio.all_tasks(loop):
            task.cancel()
        try:
            loop.run_until_complete(asyncio.wait_for(asyncio.sleep(0.1), 1))
        except Exception:   # noqa: BLE001
            pass
        os.close(_events_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
