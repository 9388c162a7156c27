# The entry point both PowerShell clients of the matrix share (MailKit.client.ps1, SendMailMessage.client.ps1): one
# attempt from SMTP_* variables, or (SMTP_BATCH=1) one per job of a JSON array on stdin, answered as a JSON array of
# { Id, ExitCode, Text } (one process for all attempts: a pwsh start and Add-Type are the costly part). Dot-source it
# after defining Invoke-Attempt (a hashtable of SMTP_* settings in, @{ ExitCode; Text } out); it exits the process.
if ($env:SMTP_BATCH -eq '1') {
    $jobs = [Console]::In.ReadToEnd() | ConvertFrom-Json -AsHashtable
    @(foreach ($j in $jobs) { $r = Invoke-Attempt $j; @{ Id = $j.Id; ExitCode = $r.ExitCode; Text = $r.Text } }) | ConvertTo-Json -AsArray -Compress
    exit 0
}
$e = @{}; Get-ChildItem env:SMTP_* | ForEach-Object { $e[$_.Name] = $_.Value }
$r = Invoke-Attempt $e
$r.Text
exit $r.ExitCode
