using System;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>The emulator's TLS certificate: self-signed RSA, CN=localhost, SAN localhost and 127.0.0.1.</summary>
public static class EmulatorCertificate
{
    private static readonly Lazy<X509Certificate2> s_shared = new(() => CreateSelfSigned());

    /// <summary>The certificate an emulator uses when none is given (one per process).</summary>
    public static X509Certificate2 SharedDefault => s_shared.Value;

    /// <summary>A new self-signed server certificate, valid from yesterday for a year, with an exportable key.</summary>
    public static X509Certificate2 CreateSelfSigned(string dnsName = "localhost")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={dnsName}, O=SmtpAuthTroubleshooter ExoEmulator", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));

        // A PFX round trip gives a key SslStream can use on every OS (Windows refuses ephemeral keys).
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>
    /// Writes the public certificate (no private key) for clients to trust: DER for .cer/.der, PKCS#12 without
    /// a key for .pfx/.p12, PEM otherwise.
    /// </summary>
    public static void ExportPublic(X509Certificate2 certificate, string path)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        switch (extension)
        {
            case ".cer" or ".der":
                File.WriteAllBytes(path, certificate.Export(X509ContentType.Cert));
                break;
            case ".pfx" or ".p12":
                using (var publicOnly = X509CertificateLoader.LoadCertificate(certificate.RawData))
                {
                    File.WriteAllBytes(path, publicOnly.Export(X509ContentType.Pfx));
                }

                break;
            default:
                File.WriteAllText(path, certificate.ExportCertificatePem() + Environment.NewLine);
                break;
        }
    }
}
