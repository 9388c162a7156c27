# A MailKit app for the client matrix (README.md): MailKit.dll and MimeKit.dll from the built module's dependencies
# (SMTP_MAILKIT_DIR). Settings come from SMTP_* environment variables; on failure it prints ex.Message as apps do
# (Console.WriteLine(ex.Message); SMTP_STYLE=full: ex.ToString(), message and stack trace), on success SENT. The emulator's certificate is accepted by its thumbprint.
$ErrorActionPreference = 'Stop'
$dir = $env:SMTP_MAILKIT_DIR
$refs = @((Join-Path $dir 'MimeKit.dll'), (Join-Path $dir 'MailKit.dll'), (Join-Path $dir 'BouncyCastle.Cryptography.dll'))
foreach ($r in $refs) { Add-Type -Path $r }
Add-Type -ReferencedAssemblies ($refs + @('System.Net.Primitives', 'System.Net.Sockets', 'System.Net.Security', 'System.Security.Cryptography', 'netstandard')) -TypeDefinition @'
using System;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
public static class ClientMatrixMailKit {
    public static string Send(string host, int port, string tls, string mech, string user, string secret, string from, string to, string thumbprint, bool full) {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "client matrix";
        message.Body = new TextPart("plain") { Text = "hello" };
        try {
            using (var client = new SmtpClient()) {
                client.CheckCertificateRevocation = false;
                client.ServerCertificateValidationCallback = (s, c, ch, e) => c != null && string.Equals(new X509Certificate2(c).Thumbprint, thumbprint, StringComparison.OrdinalIgnoreCase);
                client.Timeout = 20000;
                var options = tls == "implicit" ? SecureSocketOptions.SslOnConnect : tls == "none" ? SecureSocketOptions.None : SecureSocketOptions.StartTls;
                client.Connect(host, port, options);
                if (mech == "xoauth2") client.Authenticate(new SaslMechanismOAuth2(user, secret));
                else if (mech == "plain") client.Authenticate(new SaslMechanismPlain(user, secret));
                else if (mech != "none") client.Authenticate(user, secret);
                client.Send(message);
                client.Disconnect(true);
            }
            return "SENT";
        }
        catch (Exception ex) {
            return "ERROR:" + (full ? ex.ToString() : ex.Message);
        }
    }
}
'@
function Invoke-Attempt([hashtable] $e) {
    $secret = if ($e.SMTP_MECH -eq 'xoauth2') { $e.SMTP_TOKEN } else { $e.SMTP_PASS }
    $result = [ClientMatrixMailKit]::Send($e.SMTP_HOST, [int]$e.SMTP_PORT, $e.SMTP_TLS, $e.SMTP_MECH, $e.SMTP_USER, $secret, $e.SMTP_FROM, $e.SMTP_TO, $e.SMTP_CERT_THUMBPRINT, ($e.SMTP_STYLE -eq 'full'))
    if ($result -eq 'SENT') { @{ ExitCode = 0; Text = 'SENT' } } else { @{ ExitCode = 1; Text = $result.Substring(6) } }
}

. (Join-Path $PSScriptRoot 'ClientRunner.ps1')
