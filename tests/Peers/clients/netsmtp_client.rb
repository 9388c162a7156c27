# Ruby net/smtp for the client matrix (README.md). Settings come from SMTP_* environment variables; on failure it
# prints e.message as scripts do (puts e.message), on success SENT. net-smtp has no XOAUTH2.
require 'net/smtp'
require 'openssl'
e = ENV
tls = e.fetch('SMTP_TLS', 'starttls')
mech = e.fetch('SMTP_MECH', 'default')
ctx = OpenSSL::SSL::SSLContext.new
ctx.set_params(ca_file: e['SMTP_CAFILE'], verify_mode: OpenSSL::SSL::VERIFY_PEER, verify_hostname: false)
begin
  smtp = Net::SMTP.new(e['SMTP_HOST'], Integer(e['SMTP_PORT']))
  smtp.open_timeout = 20
  smtp.read_timeout = 20
  if tls == 'implicit' then smtp.enable_tls(ctx) elsif tls == 'starttls' then smtp.enable_starttls(ctx) end
  msg = "From: #{e['SMTP_FROM']}\r\nTo: #{e['SMTP_TO']}\r\nSubject: client matrix\r\n\r\nhello\r\n"
  if mech == 'none'
    smtp.start('localhost') { |s| s.send_message(msg, e['SMTP_FROM'], e['SMTP_TO']) }
  else
    smtp.start('localhost', e['SMTP_USER'], e['SMTP_PASS'], mech == 'plain' ? :plain : :login) { |s| s.send_message(msg, e['SMTP_FROM'], e['SMTP_TO']) }
  end
  puts 'SENT'
rescue StandardError => ex
  # SMTP_STYLE=full: what an uncaught exception prints (message, class, backtrace).
  puts(e['SMTP_STYLE'] == 'full' ? ex.full_message(highlight: false) : ex.message)
  exit 1
end
