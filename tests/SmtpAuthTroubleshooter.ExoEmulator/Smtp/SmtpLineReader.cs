using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>One line read from the client, without its CRLF (or bare LF).</summary>
internal readonly record struct SmtpLine(byte[] Bytes, bool TooLong, bool EndOfStream)
{
    public static readonly SmtpLine Eof = new([], false, true);
}

/// <summary>Buffered CRLF line reader with a length limit; over-long lines are consumed and flagged, never buffered whole.</summary>
internal sealed class SmtpLineReader
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _pos;
    private int _len;

    public SmtpLineReader(Stream stream) => _stream = stream;

    /// <summary>Bytes already received but not yet consumed (pipelined commands).</summary>
    public int BufferedCount => _len - _pos;

    /// <summary>Drops what was pipelined after STARTTLS (RFC 3207 section 4.2: it must not be carried into TLS).</summary>
    public void DiscardBuffered() => _pos = _len = 0;

    public async ValueTask<SmtpLine> ReadLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        using var line = new MemoryStream();
        bool tooLong = false;
        while (true)
        {
            if (_pos == _len)
            {
                int n = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return SmtpLine.Eof;
                }

                _pos = 0;
                _len = n;
            }

            int newline = Array.IndexOf(_buffer, (byte)'\n', _pos, _len - _pos);
            int end = newline < 0 ? _len : newline;
            int count = end - _pos;
            if (!tooLong)
            {
                // +1 leaves room for the CR of the CRLF, stripped below.
                if (line.Length + count > maxLength + 1)
                {
                    tooLong = true;
                }
                else
                {
                    line.Write(_buffer, _pos, count);
                }
            }

            _pos = newline < 0 ? _len : newline + 1;
            if (newline >= 0)
            {
                byte[] bytes = tooLong ? [] : line.ToArray();
                if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
                {
                    bytes = bytes[..^1];
                }

                return new SmtpLine(bytes, tooLong || bytes.Length > maxLength, false);
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (a BDAT chunk) into <paramref name="sink"/>, or discards them when it is null.</summary>
    /// <returns>False if the stream ended first.</returns>
    public async ValueTask<bool> ReadExactAsync(long count, Stream? sink, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_pos == _len)
            {
                int n = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return false;
                }

                _pos = 0;
                _len = n;
            }

            int take = (int)Math.Min(count, _len - _pos);
            sink?.Write(_buffer, _pos, take);
            _pos += take;
            count -= take;
        }

        return true;
    }
}
