#Requires -Version 7.0
<#
.SYNOPSIS
    Test certificates for the TLS peers: a test root CA (to be trusted through SSL_CERT_FILE in a child process only),
    leaves signed by it with chosen names and dates, and a second CA named like a corporate TLS-inspection CA that
    nobody trusts. Made with .NET's CertificateRequest (any validity dates, no openssl ca database); written as PEM.

.DESCRIPTION
    Dot-source it; it only defines functions.
      New-TestCa   -Name 'CN=...' -Directory <dir> -FileName <base>       -> X509Certificate2 with its private key
      New-TestLeaf -Issuer <ca> -Subject 'CN=...' -DnsNames ... -IpAddresses ... -NotBefore -NotAfter -Directory -FileName
                                                                          -> @{ CertPath (leaf + issuer); KeyPath; Certificate }
    Keys are written mode 0600 (Postfix reads them as root, before it drops privileges).
#>

function Write-PemFile([string] $Path, [string] $Text, [switch] $Secret) {
    [System.IO.File]::WriteAllText($Path, $Text.TrimEnd() + "`n")
    if ($Secret -and -not $IsWindows) { [System.IO.File]::SetUnixFileMode($Path, [System.IO.UnixFileMode]'UserRead, UserWrite') }
}

function New-TestCa {
    param([string] $Name, [string] $Directory, [string] $FileName,
        [DateTimeOffset] $NotBefore = [DateTimeOffset]::UtcNow.AddDays(-400), [DateTimeOffset] $NotAfter = [DateTimeOffset]::UtcNow.AddDays(400))
    $key = [System.Security.Cryptography.RSA]::Create(2048)
    $req = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Name, $key,
        [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($true, $false, 0, $true))
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509KeyUsageExtension]::new('KeyCertSign, CrlSign', $true))
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509SubjectKeyIdentifierExtension]::new($req.PublicKey, $false))
    $ca = $req.CreateSelfSigned($NotBefore, $NotAfter)
    Write-PemFile (Join-Path $Directory "$FileName.pem") $ca.ExportCertificatePem()
    return $ca
}

function New-TestLeaf {
    param(
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Issuer,
        [string] $Subject,
        [string[]] $DnsNames = @(),
        [string[]] $IpAddresses = @(),
        [DateTimeOffset] $NotBefore = [DateTimeOffset]::UtcNow.AddDays(-1),
        [DateTimeOffset] $NotAfter = [DateTimeOffset]::UtcNow.AddDays(30),
        [string] $Directory,
        [string] $FileName,
        [switch] $ClientAuth
    )
    $key = [System.Security.Cryptography.RSA]::Create(2048)
    $req = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $key,
        [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $san = [System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
    foreach ($d in $DnsNames) { $san.AddDnsName($d) }
    foreach ($i in $IpAddresses) { $san.AddIpAddress([System.Net.IPAddress]::Parse($i)) }
    if ($DnsNames.Count + $IpAddresses.Count -gt 0) { $req.CertificateExtensions.Add($san.Build($false)) }
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($false, $false, 0, $false))
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509KeyUsageExtension]::new('DigitalSignature, KeyEncipherment', $true))
    $usages = [System.Security.Cryptography.OidCollection]::new()
    [void]$usages.Add([System.Security.Cryptography.Oid]::new($(if ($ClientAuth) { '1.3.6.1.5.5.7.3.2' } else { '1.3.6.1.5.5.7.3.1' })))
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]::new($usages, $false))
    $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509AuthorityKeyIdentifierExtension]::CreateFromCertificate($Issuer, $true, $false))
    $serial = [byte[]]::new(16)
    [System.Security.Cryptography.RandomNumberGenerator]::Fill($serial)
    $serial[0] = $serial[0] -band 0x7F
    $leaf = $req.Create($Issuer, $NotBefore, $NotAfter, $serial)
    $certPath = Join-Path $Directory "$FileName.pem"
    $keyPath = Join-Path $Directory "$FileName.key"
    # The server sends its chain: the leaf, then its issuer (as a TLS-inspection proxy does with its own CA).
    Write-PemFile $certPath ($leaf.ExportCertificatePem() + "`n" + $Issuer.ExportCertificatePem())
    Write-PemFile $keyPath $key.ExportPkcs8PrivateKeyPem() -Secret
    return [pscustomobject]@{ CertPath = $certPath; KeyPath = $keyPath; Certificate = $leaf }
}
