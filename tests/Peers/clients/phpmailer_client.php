<?php
// PHPMailer (Debian libphp-phpmailer) for the client matrix (README.md). Settings come from SMTP_* environment
// variables (SMTP_MECH plain is not offered: PHPMailer falls back to a mechanism the server lists, SMTP.php authenticate()); on failure it prints $e->getMessage() as PHPMailer's own examples do ("Mailer Error: ..." without the
// prefix), on success SENT. PHPMailer has XOAUTH2 only through league/oauth2-client providers, so none here.
use PHPMailer\PHPMailer\PHPMailer;
use PHPMailer\PHPMailer\Exception;
require '/usr/share/php/libphp-phpmailer/autoload.php';
$e = getenv();
$mail = new PHPMailer(true);
try {
    $mail->isSMTP();
    $mail->Host = $e['SMTP_HOST'];
    $mail->Port = (int)$e['SMTP_PORT'];
    $tls = $e['SMTP_TLS'] ?? 'starttls';
    $mech = $e['SMTP_MECH'] ?? 'default';
    if ($tls === 'implicit') { $mail->SMTPSecure = PHPMailer::ENCRYPTION_SMTPS; }
    elseif ($tls === 'starttls') { $mail->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS; }
    else { $mail->SMTPSecure = ''; $mail->SMTPAutoTLS = false; }
    $mail->SMTPOptions = ['ssl' => ['cafile' => $e['SMTP_CAFILE'], 'peer_name' => 'localhost']];
    if ($mech !== 'none') {
        $mail->SMTPAuth = true;
        $mail->Username = $e['SMTP_USER'];
        $mail->Password = $e['SMTP_PASS'];
        if ($mech === 'plain') { $mail->AuthType = 'PLAIN'; }
    }
    $mail->Timeout = 20;
    if (($e['SMTP_STYLE'] ?? '') === 'full') {
        // SMTP_STYLE=full: the SMTPDebug 2 transcript PHPMailer's troubleshooting guide asks for, then the message.
        $mail->SMTPDebug = \PHPMailer\PHPMailer\SMTP::DEBUG_SERVER;
        $mail->Debugoutput = 'echo';
    }
    $mail->setFrom($e['SMTP_FROM']);
    $mail->addAddress($e['SMTP_TO']);
    $mail->Subject = 'client matrix';
    $mail->Body = 'hello';
    $mail->send();
    echo "SENT\n";
} catch (Exception $ex) {
    echo $ex->getMessage(), "\n";
    exit(1);
}
