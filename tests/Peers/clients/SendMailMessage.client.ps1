# PowerShell 7's Send-MailMessage (System.Net.Mail.SmtpClient) for the client matrix (README.md). Settings come from
# SMTP_* environment variables; on failure it prints $_.Exception.Message as scripts do, on success SENT.
# System.Net.Mail supports no OAuth and no implicit TLS; -UseSsl is STARTTLS. The emulator's self-signed
# certificate is accepted by its thumbprint (SMTP_CERT_THUMBPRINT), through ServicePointManager, which
# System.Net.Mail.SmtpClient still consults on .NET (dotnet/runtime src/libraries/System.Net.Mail/src/System/Net/Mail/SmtpConnection.cs).
$ErrorActionPreference = 'Stop'
$WarningPreference = 'SilentlyContinue'   # Send-MailMessage is obsolete and says so on every call
if (-not ('ClientMatrixCertificate' -as [type])) {
    Add-Type -TypeDefinition @'
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
public static class ClientMatrixCertificate {
    public static string Thumbprint;
    public static bool Check(object sender, X509Certificate cert, X509Chain chain, SslPolicyErrors errors) {
        return cert != null && string.Equals(new X509Certificate2(cert).Thumbprint, Thumbprint, System.StringComparison.OrdinalIgnoreCase);
    }
}
'@
}
[System.Net.ServicePointManager]::ServerCertificateValidationCallback = [System.Net.Security.RemoteCertificateValidationCallback][ClientMatrixCertificate].GetMethod('Check').CreateDelegate([System.Net.Security.RemoteCertificateValidationCallback])

function Invoke-Attempt([hashtable] $e) {
    [ClientMatrixCertificate]::Thumbprint = $e.SMTP_CERT_THUMBPRINT
    $params = @{
        SmtpServer = $e.SMTP_HOST; Port = [int]$e.SMTP_PORT; From = $e.SMTP_FROM; To = $e.SMTP_TO
        Subject = 'client matrix'; Body = 'hello'; UseSsl = ($e.SMTP_TLS -ne 'none')
    }
    if ($e.SMTP_MECH -ne 'none') {
        $params.Credential = [pscredential]::new($e.SMTP_USER, (ConvertTo-SecureString $e.SMTP_PASS -AsPlainText -Force))
    }
    try {
        Send-MailMessage @params
        @{ ExitCode = 0; Text = 'SENT' }
    }
    catch {
        # SMTP_STYLE=full: the error as PowerShell 7 shows an uncaught one (its default ConciseView).
        @{ ExitCode = 1; Text = $(if ($e.SMTP_STYLE -eq 'full') { ($_ | Out-String).Trim() } else { $_.Exception.Message }) }
    }
}

. (Join-Path $PSScriptRoot 'ClientRunner.ps1')
