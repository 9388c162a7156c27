using System;
using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Turns what an admin pipes into Export-SmtpAuthReport into <see cref="SmtpAuthClient"/> objects: the objects of
    /// Get-SmtpAuthClient as they are, and anything with the same property names (the rows of its CSV read back with
    /// Import-Csv, values as strings; Import-Clixml's deserialized objects; a hashtable) bound by property name. Only
    /// the properties SmtpAuthClient declares are read, so an extra column (a token, a password) is never carried into
    /// the report. Only BCL and Models types.
    /// </summary>
    internal static class SmtpAuthClientInput
    {
        /// <summary>The properties every client has; an object without them is not one.</summary>
        internal static readonly string[] RequiredProperties = { nameof(SmtpAuthClient.UserPrincipalName), nameof(SmtpAuthClient.ImpactAtDefaultOff) };

        private static readonly PropertyInfo[] s_properties = typeof(SmtpAuthClient).GetProperties(BindingFlags.Instance | BindingFlags.Public);

        /// <summary>What went wrong with one input.</summary>
        internal enum Problem
        {
            None,
            NotClient,
            InvalidValue,
        }

        /// <summary>
        /// Reads one input. On failure returns null with <paramref name="problem"/> set, and for
        /// <see cref="Problem.NotClient"/> the missing property in <paramref name="property"/>, for
        /// <see cref="Problem.InvalidValue"/> the property, its text and the type it should have.
        /// </summary>
        internal static SmtpAuthClient? From(object input, out Problem problem, out string? property, out string? value, out string? expected, out string? name)
        {
            problem = Problem.None;
            property = value = expected = name = null;
            object baseObject = input is PSObject wrapped ? wrapped.BaseObject : input;
            if (baseObject is SmtpAuthClient client)
            {
                return client;
            }

            PSObject pso = input as PSObject ?? PSObject.AsPSObject(input);
            var dictionary = baseObject as IDictionary;
            foreach (string required in RequiredProperties)
            {
                if (!TryRead(pso, dictionary, required, out _))
                {
                    problem = Problem.NotClient;
                    property = required;
                    return null;
                }
            }

            var result = new SmtpAuthClient();
            TryRead(pso, dictionary, nameof(SmtpAuthClient.UserPrincipalName), out object? upn);
            name = upn?.ToString();
            foreach (PropertyInfo target in s_properties)
            {
                if (!target.CanWrite || !TryRead(pso, dictionary, target.Name, out object? raw) || IsEmpty(raw))
                {
                    continue;
                }

                if (!TryConvert(raw!, target.PropertyType, out object? converted))
                {
                    problem = Problem.InvalidValue;
                    property = target.Name;
                    value = Text(raw);
                    Type type = Nullable.GetUnderlyingType(target.PropertyType) ?? target.PropertyType;
                    expected = type.IsEnum ? string.Join(", ", Enum.GetNames(type)) : type.Name;
                    return null;
                }

                target.SetValue(result, converted);
            }

            return result;
        }

        private static bool TryRead(PSObject pso, IDictionary? dictionary, string name, out object? value)
        {
            value = null;
            if (dictionary is not null)
            {
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (string.Equals(entry.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                    {
                        value = entry.Value is PSObject p ? p.BaseObject : entry.Value;
                        return true;
                    }
                }

                return false;
            }

            PSPropertyInfo? found = pso.Properties[name];
            if (found is null)
            {
                return false;
            }

            try
            {
                value = found.Value is PSObject p ? p.BaseObject : found.Value;
            }
            catch (GetValueException)
            {
                value = null;
            }

            return true;
        }

        private static bool IsEmpty(object? value) => value is null || (value is string s && s.Trim().Length == 0);

        private static string Text(object? value) => value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value?.ToString() ?? string.Empty;

        private static bool TryConvert(object raw, Type propertyType, out object? converted)
        {
            Type type = Nullable.GetUnderlyingType(propertyType) ?? propertyType;
            converted = null;
            if (type == typeof(string))
            {
                converted = Text(raw);
                return true;
            }

            string? text = raw as string;
            if (text is not null)
            {
                text = text.Trim();
            }

            if (type == typeof(bool))
            {
                // PowerShell would make any non-empty string $true, "False" included: a CSV cell is parsed instead.
                if (raw is bool b)
                {
                    converted = b;
                    return true;
                }

                if (text is not null && bool.TryParse(text, out bool parsed))
                {
                    converted = parsed;
                    return true;
                }

                return false;
            }

            if (type.IsEnum)
            {
                if (text is not null)
                {
                    if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                    {
                        // Only names: a bare number is not how Export-Csv writes an enum.
                        return false;
                    }

                    try
                    {
                        converted = Enum.Parse(type, text, ignoreCase: true);
                    }
                    catch (ArgumentException)
                    {
                        return false;
                    }
                }
                else if (!LanguagePrimitives.TryConvertTo(raw, type, CultureInfo.InvariantCulture, out converted))
                {
                    return false;
                }

                return converted is not null && Enum.IsDefined(type, converted);
            }

            if (type == typeof(DateTime) && text is not null)
            {
                // Export-Csv writes dates in the culture of the session that wrote them; without a zone they are UTC (the *Utc properties).
                if (ReadBackDate.TryParseUtc(text, out DateTime utc))
                {
                    converted = utc;
                    return true;
                }

                return false;
            }

            return LanguagePrimitives.TryConvertTo(raw, type, CultureInfo.InvariantCulture, out converted);
        }
    }
}
