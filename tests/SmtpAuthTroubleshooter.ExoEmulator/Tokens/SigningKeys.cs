using System;
using System.IO;
using System.Security.Cryptography;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>The RSA key that signs and validates test tokens, shared between processes through a PEM file.</summary>
public static class SigningKeys
{
    private static readonly Lazy<RSA> s_shared = new(() => RSA.Create(2048));
    private static readonly Lazy<RSA> s_untrusted = new(() => RSA.Create(2048));

    /// <summary>The key an emulator uses when none is given (one per process, so tests don't pay for key generation).</summary>
    public static RSA SharedDefault => s_shared.Value;

    /// <summary>A key no emulator trusts (for <see cref="TokenSignature.WrongKey"/>).</summary>
    internal static RSA Untrusted => s_untrusted.Value;

    /// <summary>The default key file of the console host: one per machine user, in the temp folder.</summary>
    public static string DefaultPath => Path.Combine(Path.GetTempPath(), "SmtpAuthTroubleshooter.ExoEmulator", "signing-key.pem");

    /// <summary>
    /// Reads the PKCS#8 PEM private key at <paramref name="path"/>, or creates a new 2048-bit key there
    /// (owner-only permissions where the OS has them) if the file does not exist.
    /// </summary>
    public static RSA LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        for (int attempt = 0; ; attempt++)
        {
            if (File.Exists(path))
            {
                var existing = RSA.Create();
                existing.ImportFromPem(File.ReadAllText(path));
                return existing;
            }

            var created = RSA.Create(2048);
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var writer = new StreamWriter(path, options))
                {
                    writer.Write(created.ExportPkcs8PrivateKeyPem());
                }

                return created;
            }
            catch (IOException) when (attempt == 0 && File.Exists(path))
            {
                // Another process created it first: read theirs.
                created.Dispose();
            }
        }
    }

    /// <summary>Writes the public half of <paramref name="key"/> as a SubjectPublicKeyInfo PEM.</summary>
    public static void WritePublicKeyPem(RSA key, string path)
    {
        ArgumentNullException.ThrowIfNull(key);
        File.WriteAllText(path, key.ExportSubjectPublicKeyInfoPem());
    }
}
