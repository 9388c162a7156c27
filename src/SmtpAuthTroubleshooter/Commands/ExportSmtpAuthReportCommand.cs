using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes the SMTP AUTH retirement readiness report: one self-contained HTML page from Get-SmtpAuthClient objects.</para>
    /// </summary>
    /// <remarks>
    /// Thin: it collects the senders, turns rows read back with Import-Csv into clients, and writes the file; the page
    /// itself is rendered by the engine (Engine.Reports.ReadinessReport), which is pure and unit-tested.
    /// </remarks>
    [Cmdlet(VerbsData.Export, "SmtpAuthReport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportSmtpAuthReportCommand : SmtpAuthCmdletBase
    {
        private readonly List<SmtpAuthClient> _clients = new List<SmtpAuthClient>();
        private string _fullPath = string.Empty;

        #region Parameters

        /// <summary>The HTML file to write, relative to the current PowerShell location.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        [Alias("FilePath")]
        public string Path { get; set; } = null!;

        /// <summary>The senders: Get-SmtpAuthClient objects, or objects with the same property names (Import-Csv rows).</summary>
        [Parameter(ValueFromPipeline = true)]
        [AllowNull]
        [AllowEmptyCollection]
        public PSObject?[]? InputObject { get; set; }

        /// <summary>The page's title and first heading.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Title { get; set; }

        /// <summary>Write the file's FileInfo to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>Replace an existing file (a read-only one too).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>The report's date and time (default: now); it decides the headline's tense.</summary>
        [Parameter]
        public DateTime AsOf { get; set; }

        #endregion

        #region Overrides

        /// <inheritdoc />
        protected override void Begin()
        {
            _fullPath = ResolvePath();
            if (Directory.Exists(_fullPath))
            {
                ThrowTerminatingError(CreateErrorRecord("ReportPathIsDirectory", ErrorCategory.InvalidArgument,
                    Strings.Format("ReportPathIsDirectory", _fullPath), Path, Strings.Format("ReportPathIsDirectoryAction", _fullPath)));
            }

            string? directory = System.IO.Path.GetDirectoryName(_fullPath);
            if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
            {
                ThrowTerminatingError(CreateErrorRecord("ReportDirectoryNotFound", ErrorCategory.ObjectNotFound,
                    Strings.Format("ReportDirectoryNotFound", directory), Path, Strings.Format("ReportDirectoryNotFoundAction", directory)));
            }

            if (File.Exists(_fullPath) && !Force)
            {
                ThrowTerminatingError(FileExistsError());
            }
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (InputObject is null)
            {
                return;
            }

            foreach (PSObject? item in InputObject)
            {
                if (item is null)
                {
                    continue;
                }

                // One level of unrolling: an array passed as one object (,$clients) is its elements.
                if (item.BaseObject is IEnumerable many && item.BaseObject is not string && item.BaseObject is not IDictionary)
                {
                    foreach (object? element in many)
                    {
                        if (element is not null)
                        {
                            Add(element);
                        }
                    }

                    continue;
                }

                Add(item);
            }
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            DateTime reportDate = MyInvocation.BoundParameters.ContainsKey(nameof(AsOf)) ? AsOf : DateTime.Now;
            int breaking = _clients.Count(c => c.ImpactAtDefaultOff == SmtpAuthImpact.Breaks);
            WriteVerbose(Strings.Format("VerboseReportRendering", _clients.Count, breaking));
            string generator = "SmtpAuthTroubleshooter" + (MyInvocation.MyCommand.Module?.Version is Version v ? " " + v.ToString(3) : string.Empty);
            string html = Render(_clients, Title, reportDate, generator);

            if (!ShouldProcess(_fullPath, Strings.Format("ReportWriteAction", _clients.Count)))
            {
                return;
            }

            byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(html);
            try
            {
                if (Force && File.Exists(_fullPath))
                {
                    FileAttributes attributes = File.GetAttributes(_fullPath);
                    if ((attributes & FileAttributes.ReadOnly) != 0)
                    {
                        File.SetAttributes(_fullPath, attributes & ~FileAttributes.ReadOnly);
                    }
                }

                // CreateNew without -Force: a file that appeared since BeginProcessing is not overwritten either.
                using var stream = new FileStream(_fullPath, Force ? FileMode.Create : FileMode.CreateNew, FileAccess.Write, FileShare.None);
                stream.Write(bytes, 0, bytes.Length);
            }
            catch (IOException) when (!Force && File.Exists(_fullPath))
            {
                ThrowTerminatingError(FileExistsError());
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is System.Security.SecurityException)
            {
                ThrowTerminatingError(CreateErrorRecord("ReportWriteFailed", ex is IOException ? ErrorCategory.WriteError : ErrorCategory.PermissionDenied,
                    Strings.Format("ReportWriteFailed", _fullPath, ex.Message), _fullPath, Strings.Get("ReportWriteFailedAction"), ex));
            }

            WriteVerbose(Strings.Format("VerboseReportWritten", bytes.Length, _fullPath));
            if (PassThru)
            {
                // Through the provider, as Get-Item gives it (PSPath and the file system view's columns), the FileInfo underneath.
                System.Collections.ObjectModel.Collection<PSObject> items = SessionState.InvokeProvider.Item.Get(new[] { _fullPath }, false, true);
                WriteObject(items.Count > 0 ? items[0] : PSObject.AsPSObject(new FileInfo(_fullPath)));
            }
        }

        #endregion

        #region Private

        private void Add(object input)
        {
            SmtpAuthClient? client = SmtpAuthClientInput.From(input, out SmtpAuthClientInput.Problem problem, out string? property, out string? value, out string? expected, out string? name);
            if (client is not null)
            {
                _clients.Add(client);
                return;
            }

            object baseObject = input is PSObject p ? p.BaseObject : input;
            if (problem == SmtpAuthClientInput.Problem.InvalidValue)
            {
                WriteInputError("ReportInputValueInvalid", ErrorCategory.InvalidData,
                    Strings.Format("ReportInputValueInvalid", name ?? string.Empty, property, value, expected), input, Strings.Get("ReportInputValueInvalidAction"));
                return;
            }

            WriteInputError("ReportInputNotClient", ErrorCategory.InvalidType,
                Strings.Format("ReportInputNotClient", baseObject.GetType().FullName, property), input, Strings.Get("ReportInputNotClientAction"));
        }

        /// <summary>-Path against the current PowerShell location, on the FileSystem provider only.</summary>
        private string ResolvePath()
        {
            string resolved;
            ProviderInfo provider;
            try
            {
                resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path, out provider, out _);
            }
            catch (Exception ex) when (ex is ItemNotFoundException || ex is System.Management.Automation.DriveNotFoundException || ex is ProviderNotFoundException || ex is PathTooLongException || ex is NotSupportedException || ex is ArgumentException || ex is PSInvalidOperationException)
            {
                ThrowTerminatingError(CreateErrorRecord("ReportPathInvalid", ErrorCategory.InvalidArgument,
                    Strings.Format("ReportPathInvalid", Path, ex.Message), Path, Strings.Get("ReportPathAction"), ex));
                throw; // not reached: ThrowTerminatingError always throws.
            }

            if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
            {
                ThrowTerminatingError(CreateErrorRecord("ReportPathNotFileSystem", ErrorCategory.InvalidArgument,
                    Strings.Format("ReportPathNotFileSystem", Path, provider.Name), Path, Strings.Get("ReportPathAction")));
            }

            return resolved;
        }

        // The suggested name's date is ISO 8601 in the Gregorian calendar, as the report's own dates are: a format with
        // the current culture would write 2569 under th-TH or a Hijri date under ar-SA.
        private ErrorRecord FileExistsError() => CreateErrorRecord("ReportFileExists", ErrorCategory.ResourceExists,
            Strings.Format("ReportFileExists", _fullPath), _fullPath,
            Strings.Format("ReportFileExistsAction", _fullPath, DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));

        // The engine is named only inside this method's body (STYLE rule 38).
        private static string Render(List<SmtpAuthClient> clients, string? title, DateTime reportDate, string generator)
        {
            var options = new Engine.Reports.ReadinessReportOptions { ReportDate = reportDate, Generator = generator };
            if (!string.IsNullOrWhiteSpace(title))
            {
                options.Title = title!;
            }

            return Engine.Reports.ReadinessReport.Render(clients, options);
        }

        #endregion
    }
}
