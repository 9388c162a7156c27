using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Xunit;

namespace SmtpAuthTroubleshooter.Cmdlet.Tests
{
    /// <summary>The layering rules of STYLE.md, checked on the compiled assemblies.</summary>
    public class ArchitectureTests
    {
        private static readonly Assembly Cmdlets = typeof(Commands.ResolveSmtpAuthErrorCommand).Assembly;
        private static readonly Assembly Models = typeof(SmtpAuthFinding).Assembly;

        [Fact]
        public void Cmdlets_assembly_references_only_netstandard_SMA_Models_and_Engine()
        {
            // Rule 1.
            string[] allowed = { "netstandard", "System.Management.Automation", "SmtpAuthTroubleshooter.Models", "SmtpAuthTroubleshooter.Engine" };
            string[] refs = BuiltReferences(Cmdlets);
            Assert.True(refs.All(allowed.Contains), "unexpected references: " + string.Join(", ", refs.Except(allowed)));
        }

        [Fact]
        public void Models_assembly_has_no_dependencies()
        {
            Assert.Equal(new[] { "netstandard" }, BuiltReferences(Models));
        }

        [Fact]
        public void Engine_does_not_reference_System_Management_Automation()
        {
            // Rule 3.
            Assembly engine = typeof(Engine.Diagnosis.SmtpAuthErrorResolver).Assembly;
            Assert.DoesNotContain(engine.GetReferencedAssemblies(), a => a.Name == "System.Management.Automation");
        }

        [Fact]
        public void Cmdlet_types_mention_engine_types_only_inside_method_bodies()
        {
            // Rules 2 and 38: no field, property, parameter, return or base type from the engine or a dependency,
            // so PowerShell never loads them into the default context while it inspects the cmdlets.
            var offenders = new List<string>();
            // Compiler-generated closures and state machines are method-body code: they load only when the method runs.
            foreach (Type type in Cmdlets.GetTypes().Where(t => !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false) && !t.Name.Contains('<', StringComparison.Ordinal)))
            {
                IEnumerable<Type> mentioned = new[] { type.BaseType }.Concat(type.GetInterfaces())
                    .Concat(type.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).Select(f => f.FieldType))
                    .Concat(type.GetProperties(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).Select(p => p.PropertyType))
                    .Concat(type.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                        .SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)))
                    .Where(t => t is not null)!;
                foreach (Type t in mentioned.SelectMany(Flatten))
                {
                    string? asm = t.Assembly.GetName().Name;
                    if (asm != "SmtpAuthTroubleshooter" && asm != "SmtpAuthTroubleshooter.Models" && asm != "System.Management.Automation" && !IsFramework(t.Assembly))
                    {
                        offenders.Add($"{type.FullName} mentions {t.FullName} ({asm})");
                    }
                }
            }

            Assert.True(offenders.Count == 0, string.Join("\n", offenders.Distinct()));
        }

        [Fact]
        public void Cmdlets_are_public_sealed_with_output_types_and_approved_verbs()
        {
            IEnumerable<Type> cmdlets = Cmdlets.GetTypes().Where(t => t.GetCustomAttribute<CmdletAttribute>() is not null);
            Assert.NotEmpty(cmdlets);
            foreach (Type t in cmdlets)
            {
                Assert.True(t.IsPublic && t.IsSealed, t.Name);
                Assert.EndsWith("Command", t.Name, StringComparison.Ordinal);
                Assert.NotEmpty(t.GetCustomAttributes<OutputTypeAttribute>());
                CmdletAttribute c = t.GetCustomAttribute<CmdletAttribute>()!;
                Assert.StartsWith("SmtpAuth", c.NounName, StringComparison.Ordinal);
            }
        }

        [Fact]
        public void Only_CallerRunspace_runs_anything_in_the_callers_runspace()
        {
            // Issue 9: AddCommand/AddScript default to the caller's current scope (a script or function is dot-sourced
            // there) and overwrote the admin's variables. CallerRunspace always adds a local scope; nothing else may
            // create a PowerShell of the current runspace.
            string root = RepositoryRoot();
            string[] offenders = System.IO.Directory.GetFiles(System.IO.Path.Combine(root, "src"), "*.cs", System.IO.SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{System.IO.Path.DirectorySeparatorChar}obj{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Where(f => System.IO.Path.GetFileName(f) != "CallerRunspace.cs")
                .Where(f => System.Text.RegularExpressions.Regex.IsMatch(System.IO.File.ReadAllText(f), @"RunspaceMode\.CurrentRunspace|\.AddScript\(|\.AddCommand\(|InvokeCommand\.InvokeScript"))
                .ToArray();
            Assert.True(offenders.Length == 0, "runs code in the caller's runspace outside CallerRunspace: " + string.Join(", ", offenders));
        }

        [Fact]
        public void Every_cmdlet_goes_through_the_base_begin_block()
        {
            // -Debug is kept from prompting in SmtpAuthCmdletBase.BeginProcessing, which is sealed: a cmdlet cannot skip it.
            MethodInfo begin = typeof(Commands.SmtpAuthCmdletBase).GetMethod("BeginProcessing", BindingFlags.Instance | BindingFlags.NonPublic)!;
            Assert.True(begin.IsFinal);
            foreach (Type t in Cmdlets.GetTypes().Where(t => t.GetCustomAttribute<CmdletAttribute>() is not null))
            {
                Assert.True(typeof(Commands.SmtpAuthCmdletBase).IsAssignableFrom(t), t.Name);
            }
        }

        private static string RepositoryRoot()
        {
            string root = AppContext.BaseDirectory;
            while (!System.IO.File.Exists(System.IO.Path.Combine(root, "SmtpAuthTroubleshooter.sln")))
            {
                root = System.IO.Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
            }

            return root;
        }

        /// <summary>
        /// The assemblies that a shipped DLL references, read from its project's build output (src/.../bin), not from
        /// the copy loaded here: a coverage run (coverlet) rewrites the test's copies and adds references of its own.
        /// </summary>
        private static string[] BuiltReferences(Assembly assembly)
        {
            string name = assembly.GetName().Name!;
            string configuration = typeof(ArchitectureTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            string dll = System.IO.Path.Combine(RepositoryRoot(), "src", name, "bin", configuration, "netstandard2.0", name + ".dll");
            using System.IO.FileStream stream = System.IO.File.OpenRead(dll);
            using var pe = new PEReader(stream);
            MetadataReader metadata = pe.GetMetadataReader();
            return metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToArray();
        }

        private static IEnumerable<Type> Flatten(Type t)
        {
            yield return t;
            if (t.HasElementType)
            {
                foreach (Type e in Flatten(t.GetElementType()!))
                {
                    yield return e;
                }
            }

            if (t.IsGenericType)
            {
                foreach (Type a in t.GetGenericArguments().SelectMany(Flatten))
                {
                    yield return a;
                }
            }
        }

        private static bool IsFramework(Assembly a)
        {
            string name = a.GetName().Name ?? string.Empty;
            return name == "netstandard" || name == "mscorlib" || name == "System.Private.CoreLib" || name.StartsWith("System.", StringComparison.Ordinal) || name.StartsWith("Microsoft.Win32", StringComparison.Ordinal);
        }
    }
}
