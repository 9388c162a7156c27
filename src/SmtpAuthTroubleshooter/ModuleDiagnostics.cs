using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace SmtpAuthTroubleshooter.Diagnostics
{
    /// <summary>One loaded assembly and the load context that holds it.</summary>
    public sealed class LoadedAssemblyInfo
    {
        /// <summary>Simple name.</summary>
        public string Name { get; set; } = string.Empty;
        /// <summary>Version.</summary>
        public string Version { get; set; } = string.Empty;
        /// <summary>The AssemblyLoadContext's name: "Default", "SmtpAuthTroubleshooter", or "AppDomain" on 5.1.</summary>
        public string LoadContext { get; set; } = string.Empty;
        /// <summary>Where it was loaded from.</summary>
        public string? Location { get; set; }
    }

    /// <summary>
    /// Support and test hooks (STYLE rule 43): what is loaded where, and a self-test that builds the
    /// dependency objects. Used by the conflict tests: <c>[SmtpAuthTroubleshooter.Diagnostics.ModuleDiagnostics]::GetLoadedAssemblies()</c>.
    /// </summary>
    public static class ModuleDiagnostics
    {
        /// <summary>Every assembly in the process with its load context.</summary>
        public static IReadOnlyList<LoadedAssemblyInfo> GetLoadedAssemblies()
        {
            var result = new List<LoadedAssemblyInfo>();
            foreach (Assembly a in AppDomain.CurrentDomain.GetAssemblies())
            {
                AssemblyName n = a.GetName();
                result.Add(new LoadedAssemblyInfo
                {
                    Name = n.Name ?? string.Empty,
                    Version = n.Version?.ToString() ?? string.Empty,
                    LoadContext = LoadContextName(a),
                    Location = a.IsDynamic ? null : a.Location,
                });
            }

            return result.OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ToList();
        }

        /// <summary>
        /// Constructs a MailKit SmtpClient, an Azure.Identity credential and a GraphServiceClient inside the engine
        /// (no network) and returns, for each, the full name of the assembly it came from.
        /// </summary>
        public static IDictionary<string, string> TestDependencies()
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> pair in RunEngineSelfTest())
            {
                result[pair.Key] = pair.Value;
            }

            return result;
        }

        private static IReadOnlyDictionary<string, string> RunEngineSelfTest() => Engine.DependencySelfTest.Run();

        // AssemblyLoadContext does not exist in netstandard2.0; reach it by reflection on PS 7.
        private static string LoadContextName(Assembly assembly)
        {
            Type? alcType = Type.GetType("System.Runtime.Loader.AssemblyLoadContext, System.Runtime.Loader", throwOnError: false)
                ?? Type.GetType("System.Runtime.Loader.AssemblyLoadContext", throwOnError: false);
            MethodInfo? get = alcType?.GetMethod("GetLoadContext", BindingFlags.Public | BindingFlags.Static);
            if (get is null)
            {
                return "AppDomain";
            }

            object? alc = get.Invoke(null, new object[] { assembly });
            return alc?.GetType().GetProperty("Name")?.GetValue(alc) as string ?? "?";
        }
    }
}
