using System;
using System.Collections.Generic;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>
    /// The names a server certificate is for: its subject alternative names (DNS names and IP addresses, RFC 5280
    /// 4.2.1.6, https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.6), which are what a TLS client checks the host name
    /// against (RFC 6125, https://www.rfc-editor.org/rfc/rfc6125#section-6.4.4), else the subject's CN. Read from the
    /// extension's DER bytes: netstandard2.0 has no parser for it, and X509Extension.Format's text differs by platform.
    /// </summary>
    internal static class CertificateNames
    {
        private const string SubjectAltNameOid = "2.5.29.17";

        /// <summary>The names, comma-separated; null when the certificate has none.</summary>
        internal static string? Of(X509Certificate2 certificate)
        {
            var names = new List<string>();
            foreach (X509Extension extension in certificate.Extensions)
            {
                if (extension.Oid?.Value == SubjectAltNameOid)
                {
                    names.AddRange(Parse(extension.RawData));
                }
            }

            if (names.Count == 0)
            {
                string cn = certificate.GetNameInfo(X509NameType.SimpleName, false);
                if (!string.IsNullOrEmpty(cn))
                {
                    names.Add(cn);
                }
            }

            return names.Count == 0 ? null : string.Join(", ", names);
        }

        /// <summary>dNSName ([2] IA5String) and iPAddress ([7] OCTET STRING) of a GeneralNames SEQUENCE; other kinds are skipped.</summary>
        internal static IEnumerable<string> Parse(byte[] der)
        {
            var names = new List<string>();
            int i = 0;
            if (!ReadHeader(der, ref i, out byte tag, out int length) || tag != 0x30)
            {
                return names;
            }

            int end = Math.Min(der.Length, i + length);
            while (i < end)
            {
                if (!ReadHeader(der, ref i, out tag, out length) || i + length > end)
                {
                    break;
                }

                if (tag == 0x82)
                {
                    var chars = new char[length];
                    for (int k = 0; k < length; k++)
                    {
                        byte b = der[i + k];
                        chars[k] = b >= 0x20 && b < 0x7F ? (char)b : '?';
                    }

                    names.Add(new string(chars));
                }
                else if (tag == 0x87 && (length == 4 || length == 16))
                {
                    var bytes = new byte[length];
                    Array.Copy(der, i, bytes, 0, length);
                    names.Add(new IPAddress(bytes).ToString());
                }

                i += length;
            }

            return names;
        }

        private static bool ReadHeader(byte[] der, ref int i, out byte tag, out int length)
        {
            tag = 0;
            length = 0;
            if (i + 2 > der.Length)
            {
                return false;
            }

            tag = der[i++];
            int first = der[i++];
            if (first < 0x80)
            {
                length = first;
                return true;
            }

            int count = first & 0x7F;
            if (count == 0 || count > 3 || i + count > der.Length)
            {
                return false;
            }

            for (int k = 0; k < count; k++)
            {
                length = (length << 8) | der[i++];
            }

            return true;
        }
    }
}
