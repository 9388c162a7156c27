# Perl Net::SMTP (libnet) with Authen::SASL for the client matrix (README.md). Settings come from SMTP_* environment
# variables; on failure it dies with the reply as scripts do ("... failed: " . $smtp->message), on success SENT.
use strict; use warnings;
use Net::SMTP;
use Authen::SASL;
my %e = %ENV;
my $tls = $e{SMTP_TLS} || 'starttls';
my $mech = $e{SMTP_MECH} || 'default';
my %ssl = (SSL_ca_file => $e{SMTP_CAFILE}, SSL_verifycn_name => 'localhost');
$| = 1;
my $smtp = Net::SMTP->new($e{SMTP_HOST}, Port => $e{SMTP_PORT}, Timeout => 20, ($tls eq 'implicit' ? (SSL => 1, %ssl) : ()))
    or do { print "Cannot connect to $e{SMTP_HOST}: $@\n"; exit 1 };
if ($tls eq 'starttls') {
    $smtp->starttls(%ssl) or do { print "STARTTLS failed: " . $smtp->message . "\n"; exit 1 };
}
if ($mech ne 'none') {
    my $sasl = Authen::SASL->new(mechanism => ($mech eq 'plain' ? 'PLAIN' : 'LOGIN'),
        callback => { user => $e{SMTP_USER}, pass => $e{SMTP_PASS} });
    $smtp->auth($sasl) or do { print "SMTP authentication failed: " . $smtp->message . "\n"; exit 1 };
}
$smtp->mail($e{SMTP_FROM}) or do { print "MAIL FROM failed: " . $smtp->message . "\n"; exit 1 };
$smtp->to($e{SMTP_TO}) or do { print "RCPT TO failed: " . $smtp->message . "\n"; exit 1 };
$smtp->data("From: $e{SMTP_FROM}\r\nTo: $e{SMTP_TO}\r\nSubject: client matrix\r\n\r\nhello\r\n") or do { print "DATA failed: " . $smtp->message . "\n"; exit 1 };
$smtp->quit;
print "SENT\n";
