using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// Runs when the module is imported and removed. On PowerShell 7 it loads our uniquely named
    /// <c>bin/Core/SmtpAuthTroubleshooter.LoadContext.dll</c> into the default context and lets it hook the engine's
    /// name, so the engine and all third-party DLLs live in our own AssemblyLoadContext. On Windows PowerShell 5.1
    /// it serves <c>dependencies/</c> through a tightly scoped AppDomain.AssemblyResolve handler.
    /// (STYLE rules 34-40; dependency-conflicts doc; platyPS/PSResourceGet for the 5.1 resolver.)
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly string s_moduleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? string.Empty;
        private static readonly string s_dependencyDirectory = Path.Combine(s_moduleDirectory, "dependencies");
        private static readonly object s_lock = new object();
        private static bool s_desktopHooked;
        private static HashSet<string>? s_shipped;

        /// <summary>True on Windows PowerShell 5.1 (.NET Framework).</summary>
        internal static bool IsDesktop { get; } = RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        /// <inheritdoc />
        public void OnImport()
        {
            if (IsDesktop)
            {
                HookDesktop();
            }
            else
            {
                InvokeLoadContext("Initialize", s_moduleDirectory);
            }
        }

        /// <inheritdoc />
        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            if (IsDesktop)
            {
                lock (s_lock)
                {
                    if (s_desktopHooked)
                    {
                        AppDomain.CurrentDomain.AssemblyResolve -= ResolveDesktop;
                        s_desktopHooked = false;
                    }
                }
            }
            else
            {
                InvokeLoadContext("Cleanup");
            }
        }

        private static void InvokeLoadContext(string method, params object[] args)
        {
            string path = Path.Combine(s_moduleDirectory, "bin", "Core", "SmtpAuthTroubleshooter.LoadContext.dll");
            if (!File.Exists(path))
            {
                // Running from a build folder (in-process tests): the engine sits next to us.
                return;
            }

            // Our own, uniquely named assembly is the one LoadFrom into the default context (rule 40).
            Assembly assembly = Assembly.LoadFrom(path);
            Type type = assembly.GetType("SmtpAuthTroubleshooter.LoadContext.SmtpAuthLoadContext", throwOnError: true)!;
            type.GetMethod(method, BindingFlags.Public | BindingFlags.Static)!.Invoke(null, args);
        }

        private static void HookDesktop()
        {
            lock (s_lock)
            {
                if (s_desktopHooked)
                {
                    return;
                }

                s_shipped = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                if (Directory.Exists(s_dependencyDirectory))
                {
                    foreach (string file in Directory.GetFiles(s_dependencyDirectory, "*.dll"))
                    {
                        s_shipped.Add(Path.GetFileNameWithoutExtension(file));
                    }
                }

                AppDomain.CurrentDomain.AssemblyResolve += ResolveDesktop;
                s_desktopHooked = true;
            }
        }

        // Windows PowerShell 5.1 has no binding redirects for modules, so version mismatches of facades such as
        // System.Memory land here too. Answer only names we ship, and only for our own requesters when the
        // requester is known (Graph PR 3785: a broad resolver served EXO's requests with Graph's DLLs).
        private static Assembly? ResolveDesktop(object? sender, ResolveEventArgs args)
        {
            string name = new AssemblyName(args.Name).Name ?? string.Empty;
            if (s_shipped is null || !s_shipped.Contains(name))
            {
                return null;
            }

            Assembly? requester = args.RequestingAssembly;
            if (requester is not null && !IsOurs(requester))
            {
                return null;
            }

            return Assembly.LoadFrom(Path.Combine(s_dependencyDirectory, name + ".dll"));
        }

        private static bool IsOurs(Assembly requester)
        {
            string? location = string.IsNullOrEmpty(requester.Location) ? null : Path.GetDirectoryName(requester.Location);
            return location is not null &&
                (string.Equals(location, s_moduleDirectory, StringComparison.OrdinalIgnoreCase) ||
                 string.Equals(location, s_dependencyDirectory, StringComparison.OrdinalIgnoreCase));
        }
    }
}
