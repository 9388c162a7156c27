using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace SmtpAuthTroubleshooter.LoadContext
{
    /// <summary>
    /// The module's private AssemblyLoadContext (PowerShell 7 only). It holds SmtpAuthTroubleshooter.Engine and
    /// every third-party dependency shipped in <c>dependencies/</c>, so that MailKit, MSAL, Azure.Core,
    /// Microsoft.Graph.Core and Kiota never meet the versions that ExchangeOnlineManagement or the
    /// Microsoft.Graph modules load into the default context (STYLE rules 35-37; the bridge pattern of
    /// resolving-dependency-conflicts.md, after PSES PsesLoadContext).
    /// </summary>
    public sealed class SmtpAuthLoadContext : AssemblyLoadContext
    {
        private const string EngineName = "SmtpAuthTroubleshooter.Engine";

        // Our assemblies that PowerShell itself sees: they must stay single, in the default context.
        private static readonly string[] s_sharedNames = { "SmtpAuthTroubleshooter", "SmtpAuthTroubleshooter.Models" };

        private static readonly object s_lock = new object();
        private static SmtpAuthLoadContext? s_instance;
        private static bool s_hooked;

        private readonly string _dependencyDirectory;
        private readonly string _moduleDirectory;
        private readonly string[] _platformDirectories;

        private SmtpAuthLoadContext(string moduleDirectory)
            : base("SmtpAuthTroubleshooter", isCollectible: false)
        {
            _moduleDirectory = moduleDirectory;
            _dependencyDirectory = Path.Combine(moduleDirectory, "dependencies");
            // The shared framework and $PSHOME (where System.Management.Automation lives).
            string? psHome = AppDomain.CurrentDomain.GetAssemblies()
                .FirstOrDefault(a => string.Equals(a.GetName().Name, "System.Management.Automation", StringComparison.Ordinal))?.Location;
            _platformDirectories = new[] { Path.GetDirectoryName(typeof(object).Assembly.Location), Path.GetDirectoryName(psHome ?? string.Empty) }
                .Where(d => !string.IsNullOrEmpty(d))
                .Select(d => d!)
                .Distinct(StringComparer.Ordinal)
                .ToArray();
        }

        /// <summary>The one instance for this process (one copy of each dependency).</summary>
        public static SmtpAuthLoadContext? Instance => s_instance;

        /// <summary>
        /// Hooks <see cref="AssemblyLoadContext.Default"/>.Resolving for the engine's name only. Called from the
        /// cmdlets assembly's OnImport by reflection. Idempotent, and safe after <see cref="Cleanup"/>: a second
        /// <c>Import-Module -Force</c> re-hooks the same singleton context, so each assembly still loads once.
        /// </summary>
        public static void Initialize(string moduleDirectory)
        {
            lock (s_lock)
            {
                s_instance ??= new SmtpAuthLoadContext(moduleDirectory);
                if (!s_hooked)
                {
                    Default.Resolving += ResolveEngine;
                    s_hooked = true;
                }
            }
        }

        /// <summary>Unhooks the resolver (OnRemove). Already-loaded assemblies stay, as .NET requires.</summary>
        public static void Cleanup()
        {
            lock (s_lock)
            {
                if (s_hooked)
                {
                    Default.Resolving -= ResolveEngine;
                    s_hooked = false;
                }
            }
        }

        /// <summary>Support hook (STYLE rule 43): every loaded assembly whose name matches, with its context.</summary>
        public static IEnumerable<KeyValuePair<string, string>> DescribeLoadedAssemblies()
        {
            foreach (Assembly a in AppDomain.CurrentDomain.GetAssemblies())
            {
                AssemblyLoadContext? alc = GetLoadContext(a);
                yield return new KeyValuePair<string, string>(a.FullName ?? a.GetName().Name ?? "?", alc?.Name ?? "?");
            }
        }

        private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name)
        {
            if (!string.Equals(name.Name, EngineName, StringComparison.Ordinal) || s_instance is null)
            {
                return null;
            }

            // Loading through the ALC (not LoadFrom) puts the engine, and so every reference it makes, in our context.
            return s_instance.LoadFromAssemblyName(name);
        }

        /// <inheritdoc />
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            string? simpleName = assemblyName.Name;
            if (simpleName is null)
            {
                return null;
            }

            if (s_sharedNames.Contains(simpleName, StringComparer.Ordinal))
            {
                // One identity for the types PowerShell sees (rule 36): serve the default context's copy.
                Assembly? loaded = Default.Assemblies.FirstOrDefault(a => string.Equals(a.GetName().Name, simpleName, StringComparison.Ordinal));
                string shared = Path.Combine(_moduleDirectory, simpleName + ".dll");
                return loaded ?? (File.Exists(shared) ? Default.LoadFromAssemblyPath(shared) : null);
            }

            string candidate = Path.Combine(_dependencyDirectory, simpleName + ".dll");
            if (!File.Exists(candidate) || !Satisfies(assemblyName, TryGetName(candidate)))
            {
                // Not ours, or ours but not what was asked for (another public key or culture, an older version):
                // the default context decides, as for any assembly we do not ship.
                return null;
            }

            // The runtime's own assemblies (System.Text.Json, System.Memory, ...) win when they satisfy the request:
            // the netstandard2.0 copies in dependencies/ exist for Windows PowerShell 5.1 only.
            if (IsSatisfiedByPlatform(assemblyName))
            {
                return null;
            }

            return LoadFromAssemblyPath(candidate);
        }

        private bool IsSatisfiedByPlatform(AssemblyName requested)
        {
            foreach (string directory in _platformDirectories)
            {
                string platformPath = Path.Combine(directory, requested.Name + ".dll");
                if (!File.Exists(platformPath))
                {
                    continue;
                }

                if (Satisfies(requested, TryGetName(platformPath)))
                {
                    return true;
                }
            }

            return false;
        }

        private static AssemblyName? TryGetName(string path)
        {
            try
            {
                return AssemblyName.GetAssemblyName(path);
            }
            catch (Exception ex) when (ex is BadImageFormatException || ex is IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>
        /// True when <paramref name="candidate"/> can serve a request for <paramref name="requested"/>: the same name, the
        /// same culture, the same public key token (when the request names one), and a version at least the one asked for
        /// (as PowerShellEditorServices' PsesLoadContext checks, IsSatisfyingAssembly / PublicKeyTokensMatch).
        /// </summary>
        internal static bool Satisfies(AssemblyName requested, AssemblyName? candidate)
        {
            if (candidate is null || !string.Equals(requested.Name, candidate.Name, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            if (!string.Equals(requested.CultureName ?? string.Empty, candidate.CultureName ?? string.Empty, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            byte[]? wantedToken = requested.GetPublicKeyToken();
            if (wantedToken is { Length: > 0 } && !wantedToken.AsSpan().SequenceEqual(candidate.GetPublicKeyToken() ?? Array.Empty<byte>()))
            {
                return false;
            }

            return requested.Version is null || (candidate.Version is not null && candidate.Version >= requested.Version);
        }
    }
}
