'use strict';
// SMTP submission test peer for SmtpAuthTroubleshooter, built on nodemailer's smtp-server.
// One process, several listeners on 127.0.0.1, configured by the JSON file named in argv[2]
// (written by Start-NodemailerPeer.ps1). See README.md for the listeners and the log format.
//
// Secrets (passwords, the XOAUTH2 token) come from the config file only. They are never
// written anywhere: the events log gets command verbs (plus the mechanism name for AUTH),
// user names and outcomes; smtp-server's own log messages are not written at all (they
// carry whole command lines), except the text of errors.

const fs = require('node:fs');
const net = require('node:net');
const crypto = require('node:crypto');
const { SMTPServer } = require('smtp-server');

const configPath = process.argv[2];
if (!configPath) {
    console.error('usage: node server.js <config.json>');
    process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));

const HOST = '127.0.0.1';
const key = fs.readFileSync(config.keyPath);
const cert = fs.readFileSync(config.certPath);

// --- events log -------------------------------------------------------------------------------
const eventsFd = fs.openSync(config.eventsPath, 'a', 0o644);
function logEvent(port, session, event, fields) {
    const entry = Object.assign({ time: new Date().toISOString(), port, session: session || null, event }, fields || {});
    try {
        fs.writeSync(eventsFd, JSON.stringify(entry) + '\n');
    } catch (err) {
        console.error('cannot write events log: %s', err.message);
    }
}

// Verbs written to the log as sent; anything else (for example base64 credentials sent by a
// confused client as if they were a command) is logged as '?', never as the text itself.
const KNOWN_VERBS = new Set(['HELO', 'EHLO', 'LHLO', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET',
    'NOOP', 'QUIT', 'VRFY', 'EXPN', 'HELP', 'ETRN', 'TURN', 'ATRN', 'XCLIENT', 'XFORWARD', 'WIZ', 'SHELL', 'KILL']);
const MECHANISM = /^[A-Z0-9_-]{1,20}$/;

// bunyan-like logger handed to smtp-server. smtp-server reports every client line as
// logger.debug({tnx: 'command', cid, command: <upper-cased first word>}, 'C:', <line>), where
// the line of an AUTH command is already cut to 'AUTH <MECH> /* secured */' and a continuation
// line of a SASL exchange is reported as command 'AUTH' with the line '/* secured */'. Replies
// are logger.debug({tnx: 'send', cid}, 'S:', <reply>). Only the verb, the AUTH mechanism and
// the reply code are kept; continuation lines (base64 SASL responses) are not logged.
function makeLogger(port) {
    const onEntry = (level, entry, ...args) => {
        if (!entry || typeof entry !== 'object') { return; }
        if (entry.tnx === 'command') {
            const line = typeof args[1] === 'string' ? args[1] : '';
            const verb = String(entry.command || '').toUpperCase();
            if (verb === 'AUTH' && !/^AUTH(\s|$)/i.test(line.trim())) { return; } // SASL continuation line
            if (!KNOWN_VERBS.has(verb)) {
                logEvent(port, entry.cid, 'command', { verb: '?' });
                return;
            }
            const fields = { verb };
            if (verb === 'AUTH') {
                const mech = (line.trim().split(/\s+/)[1] || '').toUpperCase();
                fields.mechanism = MECHANISM.test(mech) ? mech : (mech ? '?' : '');
            }
            logEvent(port, entry.cid, 'command', fields);
        } else if (entry.tnx === 'send') {
            const m = /^(\d{3})/.exec(typeof args[1] === 'string' ? args[1] : '');
            if (m) { logEvent(port, entry.cid, 'reply', { code: Number(m[1]) }); }
        } else if (level === 'error' || level === 'fatal') {
            const err = entry.err;
            console.error('[%s] port %d: %s', new Date().toISOString(), port, (err && (err.code || err.message)) || entry.tnx || 'error');
        }
    };
    const logger = {};
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
        logger[level] = (entry, ...args) => onEntry(level, entry, ...args);
    }
    return logger;
}

// --- credentials ------------------------------------------------------------------------------
const digest = (s) => crypto.createHash('sha256').update(String(s), 'utf8').digest();
const sameSecret = (a, b) => typeof a === 'string' && typeof b === 'string' && crypto.timingSafeEqual(digest(a), digest(b));
const users = new Map(Object.entries(config.users));

function checkAuth(port, auth, session, callback) {
    let ok = false;
    if (auth.method === 'XOAUTH2') {
        ok = auth.username === config.oauthUser && sameSecret(auth.accessToken, config.token);
    } else if (auth.method === 'PLAIN' || auth.method === 'LOGIN') {
        ok = users.has(auth.username) && sameSecret(auth.password, users.get(auth.username));
    }
    logEvent(port, session.id, 'auth', { method: auth.method, username: auth.username, ok });
    if (ok) { return callback(null, { user: auth.username }); }
    if (auth.method === 'XOAUTH2') {
        // smtp-server's XOAUTH2 refusal: 334 <base64 of this JSON>, the client answers with an
        // empty line, then '535 5.7.8 Error: Username and Password not accepted'.
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://outlook.office365.com/.default' } });
    }
    return callback(null, {}); // -> '535 5.7.8 Error: Authentication credentials invalid'
}

// --- SMTP listeners ---------------------------------------------------------------------------
const listeners = [
    { name: 'startTlsPort', secure: false, authMethods: ['XOAUTH2', 'PLAIN', 'LOGIN'] },
    { name: 'plainOnlyPort', secure: false, authMethods: ['PLAIN'] },
    { name: 'implicitTlsPort', secure: true, authMethods: ['PLAIN', 'LOGIN'] },
    { name: 'noOAuthPort', secure: false, authMethods: ['PLAIN', 'LOGIN'] },
    { name: 'oauthOnlyPort', secure: false, authMethods: ['XOAUTH2'] },
];

let messageCount = 0;
const servers = [];

function createSmtpServer(def, port) {
    return new SMTPServer({
        secure: def.secure,
        name: 'peer.example.test',
        banner: 'SmtpAuthTroubleshooter nodemailer test peer',
        key,
        cert,
        minVersion: 'TLSv1.2',
        authMethods: def.authMethods,
        allowInsecureAuth: false,
        authOptional: false,
        disableReverseLookup: true,
        size: config.maxMessageBytes,
        rejectOversized: true,
        socketTimeout: 60 * 1000,
        closeTimeout: 1000,
        logger: makeLogger(port),
        onConnect(session, callback) {
            logEvent(port, session.id, 'connect', { remoteAddress: session.remoteAddress, remotePort: session.remotePort });
            // smtp-server advertises AUTH in EHLO before STARTTLS even with allowInsecureAuth
            // false (AUTH itself is then answered 538). Disabling AUTH for the session until
            // onSecure hides it from the pre-TLS EHLO, like Postfix's smtpd_tls_auth_only.
            if (!def.secure) { session.disabledCommands = ['AUTH']; }
            callback();
        },
        onSecure(socket, session, callback) {
            session.disabledCommands = undefined; // back to the server-wide list: AUTH allowed
            logEvent(port, session.id, 'tls', { protocol: socket.getProtocol ? socket.getProtocol() : null });
            callback();
        },
        onAuth(auth, session, callback) {
            checkAuth(port, auth, session, callback);
        },
        onMailFrom(address, session, callback) {
            // Needed because AUTH is disabled before STARTTLS: smtp-server only demands
            // authentication for MAIL/RCPT/DATA while AUTH is an enabled command.
            if (!session.user) {
                const err = new Error('Error: authentication Required');
                err.responseCode = 530;
                return callback(err);
            }
            callback();
        },
        onRcptTo(address, session, callback) {
            callback();
        },
        onData(stream, session, callback) {
            stream.on('end', () => {
                if (stream.sizeExceeded) {
                    logEvent(port, session.id, 'message', { accepted: false, bytes: stream.byteLength, sizeExceeded: true });
                    return callback(); // rejectOversized turns this into 552
                }
                messageCount++;
                logEvent(port, session.id, 'message', { accepted: true, bytes: stream.byteLength, user: session.user, count: messageCount });
                callback(null, 'OK: message discarded by the test peer');
            });
            stream.resume(); // read and drop
        },
        onClose(session) {
            logEvent(port, session.id, 'close', {});
        },
    });
}

function listen(server, port, name) {
    return new Promise((resolve, reject) => {
        const onError = (err) => reject(new Error(`${name} 127.0.0.1:${port}: ${err.code || err.message}`));
        server.once('error', onError);
        server.listen(port, HOST, () => {
            server.removeListener('error', onError);
            // connection-level errors (a client that hangs up mid-handshake, e.g. the start
            // script's TCP readiness probe on the implicit TLS port) arrive here as well
            server.on('error', (err) => console.error('[%s] %s: %s %s', new Date().toISOString(), name, err.code || 'error', err.message));
            resolve();
        });
    });
}

// --- silent listener: accepts TCP, never sends a byte ------------------------------------------
const silentSockets = new Set();
let silentCounter = 0;
function createSilentServer(port) {
    return net.createServer((socket) => {
        const id = 'silent-' + (++silentCounter);
        silentSockets.add(socket);
        logEvent(port, id, 'connect', { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
        const timer = setTimeout(() => socket.destroy(), config.silentCloseSeconds * 1000);
        socket.on('data', () => { }); // read and drop whatever the client sends
        socket.on('error', () => { });
        socket.on('close', () => {
            clearTimeout(timer);
            silentSockets.delete(socket);
            logEvent(port, id, 'close', {});
        });
    });
}

// --- lifecycle ------------------------------------------------------------------------------
let stopping = false;
function shutdown(reason) {
    if (stopping) { return; }
    stopping = true;
    console.log('[%s] stopping (%s)', new Date().toISOString(), reason);
    for (const s of silentSockets) { s.destroy(); }
    let pending = servers.length;
    const done = () => { if (--pending <= 0) { finish(); } };
    const finish = () => {
        try { fs.closeSync(eventsFd); } catch { /* ignore */ }
        process.exit(0);
    };
    for (const s of servers) {
        try { s.close(done); } catch { done(); }
    }
    setTimeout(finish, 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));

async function main() {
    const started = [];
    for (const def of listeners) {
        const port = config.ports[def.name];
        const server = createSmtpServer(def, port);
        servers.push(server);
        await listen(server, port, def.name);
        started.push(`${def.name}=${port}`);
    }
    const silentPort = config.ports.silentPort;
    const silent = createSilentServer(silentPort);
    servers.push(silent);
    await listen(silent, silentPort, 'silentPort');
    started.push(`silentPort=${silentPort}`);

    // Safety net: a peer whose test run died without calling the stop script goes away by itself.
    setTimeout(() => shutdown('max lifetime reached'), config.maxLifetimeSeconds * 1000).unref();
    logEvent(null, null, 'listening', { ports: config.ports, pid: process.pid });
    console.log('[%s] pid %d listening on %s: %s', new Date().toISOString(), process.pid, HOST, started.join(' '));
}

main().catch((err) => {
    console.error('[%s] start failed: %s', new Date().toISOString(), err.message);
    process.exit(1);
});
