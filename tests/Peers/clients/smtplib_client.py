# Python smtplib client for the client matrix (README.md). Settings come from SMTP_* environment variables, never
# the command line; on failure it prints the exception the way scripts do (print(e); SMTP_STYLE=full: the traceback), on
# success SENT.
import os, smtplib, ssl, sys, traceback

env = os.environ.get
host, port, tls, mech = env("SMTP_HOST", "127.0.0.1"), int(env("SMTP_PORT")), env("SMTP_TLS", "starttls"), env("SMTP_MECH", "default")
ctx = ssl.create_default_context(cafile=env("SMTP_CAFILE"))
ctx.check_hostname = False  # the emulator's certificate names localhost; we connect to 127.0.0.1
try:
    s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=20) if tls == "implicit" else smtplib.SMTP(host, port, timeout=20)
    if tls == "starttls":
        s.starttls(context=ctx)
    user, password, token = env("SMTP_USER", ""), env("SMTP_PASS", ""), env("SMTP_TOKEN", "")
    if mech == "xoauth2":
        s.ehlo_or_helo_if_needed()
        s.auth("XOAUTH2", lambda challenge=None: "user=%s\x01auth=Bearer %s\x01\x01" % (user, token))
    elif mech == "plain":
        s.ehlo_or_helo_if_needed()
        s.user, s.password = user, password
        s.auth("PLAIN", s.auth_plain)
    elif mech != "none":
        s.login(user, password)
    frm, to = env("SMTP_FROM"), env("SMTP_TO")
    s.sendmail(frm, [to], "From: %s\r\nTo: %s\r\nSubject: client matrix\r\n\r\nhello\r\n" % (frm, to))
    s.quit()
    print("SENT")
except Exception as e:
    if env("SMTP_STYLE") == "full":
        traceback.print_exc(file=sys.stdout)  # what an uncaught exception prints
    else:
        print(e)
    sys.exit(1)
