#!/usr/bin/env python3
"""A minimal SMTP server on 127.0.0.1 for Test-SmtpAuth's TLS tests: what real servers and middleboxes do after STARTTLS
that a well-behaved peer (Postfix, Exim) is not set up to do.

  starttls_test_server.py <port> <mode> <logfile> [<cert.pem> <key.pem> <ca.pem>]

mode 'after-220':     answers STARTTLS with '220 2.0.0 Ready to start TLS' and closes the connection at once.
mode 'mid-handshake': answers STARTTLS with 220, reads the client's TLS ClientHello, then closes the connection.
mode 'client-cert':   answers STARTTLS with 220 and runs a TLS handshake (Python's ssl, i.e. OpenSSL) that requires a
                      client certificate issued by <ca.pem> (ssl.CERT_REQUIRED, as Exim's tls_verify_hosts does): a
                      client without one fails the handshake; one that gets through is answered 421 and closed.
Every line the client sends before TLS is appended to <logfile> ('C: <line>'), so a test can show that no AUTH came.
Prints 'READY <port>' on stdout once it listens; serves until killed. Standard library only.
"""
import socket
import ssl
import sys
import threading


def serve(conn, mode, log_path, context):
    with conn:
        f = conn.makefile("rb")

        def say(line):
            conn.sendall(line.encode("ascii") + b"\r\n")

        def log(text):
            with open(log_path, "a", encoding="utf-8") as out:
                out.write(text + "\n")

        say("220 cut.example.test ESMTP starttls-cut test server")
        while True:
            raw = f.readline(1000)
            if not raw:
                log("closed by client")
                return
            line = raw.decode("ascii", "replace").rstrip("\r\n")
            log("C: " + line)
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250-cut.example.test")
                say("250-PIPELINING")
                say("250-STARTTLS")
                say("250 8BITMIME")
            elif verb == "STARTTLS":
                say("220 2.0.0 Ready to start TLS")
                if mode == "mid-handshake":
                    conn.settimeout(10)
                    try:
                        hello = conn.recv(16384)
                    except OSError:
                        hello = b""
                    log("TLS bytes before the cut: %d (first byte 0x%02x)" % (len(hello), hello[0] if hello else 0))
                if mode == "client-cert":
                    try:
                        tls = context.wrap_socket(conn, server_side=True)
                        tls.sendall(b"421 4.7.0 unexpected: the TLS handshake succeeded\r\n")
                        tls.close()
                        log("TLS handshake succeeded")
                    except (ssl.SSLError, OSError) as e:
                        log("TLS handshake failed: %s" % e)
                    return
                log("cut after STARTTLS (%s)" % mode)
                conn.shutdown(socket.SHUT_RDWR)
                return
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            else:
                say("530 5.7.0 Must issue a STARTTLS command first")


def main():
    port, mode, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode not in ("after-220", "mid-handshake", "client-cert"):
        raise SystemExit("unknown mode " + mode)
    context = None
    if mode == "client-cert":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
        context.load_verify_locations(sys.argv[6])
        context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    print("READY %d" % port, flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, mode, log_path, context), daemon=True).start()


if __name__ == "__main__":
    main()
