// nodemailer client for the client matrix (../README.md). Settings come from SMTP_* environment variables; on
// failure it prints err.message as apps log it (SMTP_STYLE=full: console.log(err), the whole error object), on success SENT.
'use strict';
const fs = require('fs');
const nodemailer = require('nodemailer');
const env = process.env;
const tls = env.SMTP_TLS || 'starttls';
const mech = env.SMTP_MECH || 'default';
const options = {
  host: env.SMTP_HOST || '127.0.0.1',
  port: Number(env.SMTP_PORT),
  secure: tls === 'implicit',
  requireTLS: tls === 'starttls',
  ignoreTLS: tls === 'none',
  tls: { ca: env.SMTP_CAFILE ? fs.readFileSync(env.SMTP_CAFILE) : undefined, servername: 'localhost' },
  connectionTimeout: 20000, greetingTimeout: 20000, socketTimeout: 20000,
};
if (mech === 'xoauth2') options.auth = { type: 'OAuth2', user: env.SMTP_USER, accessToken: env.SMTP_TOKEN };
else if (mech !== 'none') options.auth = { user: env.SMTP_USER, pass: env.SMTP_PASS };
if (mech === 'plain') options.authMethod = 'PLAIN';
const transporter = nodemailer.createTransport(options);
transporter.sendMail({ from: env.SMTP_FROM, to: env.SMTP_TO, subject: 'client matrix', text: 'hello' })
  .then(() => { console.log('SENT'); })
  .catch((err) => { console.log(env.SMTP_STYLE === 'full' ? err : err.message); process.exitCode = 1; });
