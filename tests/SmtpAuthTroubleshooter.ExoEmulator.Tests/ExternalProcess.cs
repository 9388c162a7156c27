using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>Runs the emulator's console host (and other tools) as child processes.</summary>
internal static class ExternalProcess
{
    public static string EmulatorDll => Path.Combine(AppContext.BaseDirectory, "SmtpAuthTroubleshooter.ExoEmulator.dll");

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH for test runs).</summary>
    public static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";

    public static Process StartEmulator(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(DotNet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(EmulatorDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
    }

    /// <summary>Runs to completion with <paramref name="input"/> on stdin; returns exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Out, string Err)> RunAsync(string fileName, IEnumerable<string> args, string input = "", IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        await process.WaitForExitAsync(Harness.Token());
        return (process.ExitCode, await stdout, await stderr);
    }

    public static Task<(int ExitCode, string Out, string Err)> RunEmulatorAsync(params string[] args) =>
        RunAsync(DotNet, [EmulatorDll, .. args]);

    /// <summary>Reads the one "LISTENING 127.0.0.1:port" line and returns the port.</summary>
    public static async Task<int> ReadListeningPortAsync(Process process)
    {
        string? line = await process.StandardOutput.ReadLineAsync(Harness.Token());
        Assert.NotNull(line);
        Assert.Matches(@"^LISTENING 127\.0\.0\.1:\d{1,5}$", line);
        return int.Parse(line[(line.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Closes stdin (the documented way to stop the host) and waits for a clean exit.</summary>
    public static async Task StopAsync(Process process)
    {
        process.StandardInput.Close();
        await process.WaitForExitAsync(Harness.Token());
        Assert.Equal(0, process.ExitCode);
    }

    public static string TempFile(string name) => Path.Combine(Path.GetTempPath(), $"exoemu-{Guid.NewGuid():N}-{name}");
}
