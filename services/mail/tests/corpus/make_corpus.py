#!/usr/bin/env python3
"""Writes the malformed and exotic messages of this folder (deterministic: run it again and
nothing changes). Every file it writes needs a row in tests/parse_corpus.rs.

    python3 services/mail/tests/corpus/make_corpus.py
"""

import base64
import binascii
import io
import os
import random
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def wrap64(data):
    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


HEAD = (
    "From: Ada Lovelace <ada@example.com>\n"
    "To: support@docket.test\n"
    "Date: Sun, 22 Nov 2026 10:00:00 +0100\n"
    "MIME-Version: 1.0\n"
)


def text_and_base64_part(subject, boundary, text, part_headers, payload):
    """A multipart/mixed message: a plain text part, then `payload` base64-encoded under
    `part_headers`."""
    return crlf(
        HEAD + "Subject: %s\n" % subject
        + "Content-Type: multipart/mixed; boundary=\"%s\"\n\n" % boundary
        + "--%s\nContent-Type: text/plain\n\n%s\n" % (boundary, text)
        + "--%s\n%sContent-Transfer-Encoding: base64\n\n" % (boundary, part_headers)
        + wrap64(payload) + "\n--%s--\n" % boundary)


def unknown_charset():
    write("unknown_charset.eml", crlf(
        HEAD + "Subject: unknown charset\n"
        "Content-Type: text/plain; charset=x-klingon-1\n\n"
        "Qapla' - success in an unknown charset\n"))


def charset_lie():
    write("charset_lie_latin1_as_utf8.eml", crlf(HEAD).encode() + (
        b"Subject: charset lie\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Sch\xf6ne Gr\xfc\xdfe aus K\xf6ln\r\n"))


def missing_boundary():
    write("missing_boundary.eml", crlf(
        HEAD + "Subject: missing boundary\n"
        "Content-Type: multipart/mixed\n\n"
        "This multipart has no boundary parameter at all.\n"))


def wrong_boundary():
    write("wrong_boundary.eml", crlf(
        HEAD + "Subject: wrong boundary\n"
        "Content-Type: multipart/mixed; boundary=\"declared\"\n\n"
        "--actual\n"
        "Content-Type: text/plain\n\n"
        "The boundary in the header is not the one used.\n"
        "--actual--\n"))


def boundary_never_closed():
    write("boundary_never_closed.eml", crlf(
        HEAD + "Subject: boundary never closed\n"
        "Content-Type: multipart/mixed; boundary=\"open\"\n\n"
        "--open\n"
        "Content-Type: text/plain\n\n"
        "First part text.\n"
        "--open\n"
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename=\"report.pdf\"\n"
        "Content-Transfer-Encoding: base64\n\n"
        + wrap64(b"%PDF-1.4 fake report\n") + "\n"))


def nested_multipart(depth=50):
    out = HEAD + "Subject: nested multipart %d deep\n" % depth
    for level in range(depth):
        out += "Content-Type: multipart/mixed; boundary=\"n%d\"\n\n--n%d\n" % (level, level)
    out += "Content-Type: text/plain\n\nthe bottom of the nest\n"
    for level in reversed(range(depth)):
        out += "--n%d--\n" % level
    write("nested_multipart_50.eml", crlf(out))


def nested_rfc822(depth=30):
    def level(i):
        head = "From: level%d@example.com\nSubject: level %d\nMessage-ID: <level-%d@example.com>\n" % (i, i, i)
        if i == depth:
            return head + "Content-Type: text/plain\n\ninnermost text\n"
        return (head + "Content-Type: multipart/mixed; boundary=\"l%d\"\n\n"
                "--l%d\nContent-Type: text/plain\n\nlevel %d\n"
                "--l%d\nContent-Type: message/rfc822\n\n%s"
                "--l%d--\n") % (i, i, i, i, level(i + 1), i)
    write("nested_rfc822_30.eml", crlf("To: support@docket.test\nMIME-Version: 1.0\n" + level(0)))


def long_header_line():
    write("header_line_100k.eml", crlf(
        HEAD + "Subject: " + "long subject " * 8000 + "\n"
        "X-Long: " + "x" * 100000 + "\n\n"
        "Body after a 100 KB header line.\n"))


def many_headers():
    headers = "".join("X-Header-%d: value %d\n" % (i, i) for i in range(5000))
    write("headers_5000.eml", crlf(HEAD + headers + "Subject: 5000 headers\n\nBody after 5000 headers.\n"))


def no_body():
    write("no_body.eml", crlf(HEAD + "Subject: no body\n\n"))


def only_headers():
    write("only_headers.eml", crlf(HEAD + "Subject: only headers, no separator\n"))


def bare_lf():
    write("bare_lf.eml", (
        HEAD + "Subject: bare LF line endings\n"
        "Content-Type: multipart/mixed; boundary=\"lf\"\n\n"
        "--lf\nContent-Type: text/plain\n\nUnix line endings only.\n"
        "--lf\nContent-Type: text/plain; name=\"notes.txt\"\n"
        "Content-Disposition: attachment; filename=\"notes.txt\"\n\nsome notes\n"
        "--lf--\n"))


def cr_only():
    write("cr_only.eml", (HEAD + "Subject: old Mac line endings\n\nCR only\nsecond line\n").replace("\n", "\r"))


def nul_bytes():
    write("nul_bytes.eml", crlf(HEAD + "Subject: NUL\x00 bytes\n\nbefore\x00after\nnext\x00\x00line\n"))


def truncated_base64():
    payload = wrap64(bytes(range(256)) * 4)
    write("truncated_base64.eml", crlf(
        HEAD + "Subject: truncated base64\n"
        "Content-Type: multipart/mixed; boundary=\"t\"\n\n"
        "--t\nContent-Type: text/plain\n\nSee the attachment.\n"
        "--t\nContent-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename=\"data.bin\"\n"
        "Content-Transfer-Encoding: base64\n\n"
        + payload[:len(payload) // 2 - 3] + "\n"))


def invalid_base64_chars():
    good = base64.b64encode("Hallo Welt, dies ist base64 mit Fehlern.".encode()).decode()
    broken = good[:10] + "!!**" + good[10:20] + "\u00e9" + good[20:]
    write("invalid_base64_chars.eml", crlf(
        HEAD + "Subject: invalid base64 characters\n"
        "Content-Type: multipart/mixed; boundary=\"i\"\n\n"
        "--i\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + broken + "\n--i--\n"))


def qp_broken():
    write("qp_broken_soft_breaks.eml", crlf(
        HEAD + "Subject: broken quoted-printable\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "Gr=FC=DFe, a soft break =\n"
        "with spaces after it =   \n"
        "and a bad escape =ZZ and a lone = sign and =4 half escape==\n"
        "end=\n"))


def encoded_word_bad_base64():
    write("encoded_word_bad_base64.eml", crlf(
        HEAD + "Subject: =?UTF-8?B?SGVsbG8g!!!V29ybGQ?= Hello plain\n"
        "Content-Type: text/plain\n\nBody of a mail with a broken encoded word.\n"))


def raw_utf8_headers():
    write("raw_utf8_headers.eml", crlf(
        "From: Jürgen Müller <juergen@example.de>\n"
        "To: Süpport <support@docket.test>\n"
        "Subject: Grüße aus Zürich – 東京\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Raw UTF-8 in headers, no encoded words.\n"))


def zip_attachment():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("logs/app.log", date_time=(2026, 11, 22, 10, 0, 0))
        archive.writestr(info, "2026-11-22 ERROR printer on fire\n" * 20)
    write("zip_attachment.eml", text_and_base64_part(
        "logs attached", "z", "The logs are attached.",
        "Content-Type: application/zip; name=\"logs.zip\"\n"
        "Content-Disposition: attachment; filename=\"logs.zip\"\n",
        buffer.getvalue()))


def thirty_attachments():
    parts = "".join(
        "--many\nContent-Type: text/plain; name=\"file-%02d.txt\"\n"
        "Content-Disposition: attachment; filename=\"file-%02d.txt\"\n\ncontent %d\n" % (i, i, i)
        for i in range(30))
    write("thirty_attachments.eml", crlf(
        HEAD + "Subject: 30 attachments\n"
        "Content-Type: multipart/mixed; boundary=\"many\"\n\n"
        "--many\nContent-Type: text/plain\n\nThirty files.\n" + parts + "--many--\n"))


def dsn_postfix():
    write("dsn_postfix.eml", crlf(
        "Return-Path: <>\n"
        "Delivered-To: support@docket.test\n"
        "Date: Sun, 22 Nov 2026 10:05:00 +0100 (CET)\n"
        "From: MAILER-DAEMON@mx.docket.test (Mail Delivery System)\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "To: support@docket.test\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        "\tboundary=\"4F2B0123AB.1795338300/mx.docket.test\"\n"
        "Message-Id: <20261122090500.9A1B2C3D4E@mx.docket.test>\n\n"
        "This is a MIME-encapsulated message.\n\n"
        "--4F2B0123AB.1795338300/mx.docket.test\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host mx.docket.test.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "<nobody@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1\n"
        "    <nobody@example.org>: Recipient address rejected: User unknown\n\n"
        "--4F2B0123AB.1795338300/mx.docket.test\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.docket.test\n"
        "X-Postfix-Queue-ID: 4F2B0123AB\n"
        "X-Postfix-Sender: rfc822; support@docket.test\n"
        "Arrival-Date: Sun, 22 Nov 2026 10:04:58 +0100 (CET)\n\n"
        "Final-Recipient: rfc822; nobody@example.org\n"
        "Original-Recipient: rfc822;nobody@example.org\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Remote-MTA: dns; mx.example.org\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address\n"
        "    rejected: User unknown\n\n"
        "--4F2B0123AB.1795338300/mx.docket.test\n"
        "Content-Description: Undelivered Message\n"
        "Content-Type: message/rfc822\n\n"
        "Return-Path: <support@docket.test>\n"
        "From: Docket Support <support@docket.test>\n"
        "To: nobody@example.org\n"
        "Subject: [Ticket#2026112210000017] Your printer\n"
        "Message-ID: <ticket-2026112210000017.a3@docket.test>\n"
        "Date: Sun, 22 Nov 2026 10:04:58 +0100\n\n"
        "Hello, we are looking into it.\n\n"
        "--4F2B0123AB.1795338300/mx.docket.test--\n"))


def ndr_exchange():
    write("ndr_exchange.eml", crlf(
        "From: Microsoft Outlook <postmaster@contoso.com>\n"
        "To: <support@docket.test>\n"
        "Date: Sun, 22 Nov 2026 09:10:00 +0000\n"
        "Subject: Undeliverable: Your printer\n"
        "Content-Type: multipart/report; report-type=\"Delivery-Status\";\n"
        "\tboundary=\"_000_NDR_contoso_\"\n"
        "Message-ID: <ndr-1@contoso.com>\n"
        "MIME-Version: 1.0\n"
        "X-MS-Exchange-Message-Is-Ndr:\n\n"
        "--_000_NDR_contoso_\n"
        "Content-Type: multipart/alternative; differences=Content-Type;\n"
        "\tboundary=\"_001_NDR_contoso_\"\n\n"
        "--_001_NDR_contoso_\n"
        "Content-Type: text/plain; charset=\"us-ascii\"\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "Your message to jane@contoso.com couldn't be delivered.\n"
        "jane wasn't found at contoso.com.\n\n"
        "--_001_NDR_contoso_\n"
        "Content-Type: text/html; charset=\"us-ascii\"\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "<html><body><p>Your message to <b>jane@contoso.com</b> couldn=27t be delivered.</p></body></html>\n\n"
        "--_001_NDR_contoso_--\n\n"
        "--_000_NDR_contoso_\n"
        "Content-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\n"
        "Received-From-MTA: dns;mx.docket.test\n"
        "Arrival-Date: Sun, 22 Nov 2026 09:09:58 +0000\n\n"
        "Final-Recipient: rfc822;Jane@Contoso.com\n"
        "Action: failed\n"
        "Status: 5.1.10\n"
        "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\n\n"
        "--_000_NDR_contoso_\n"
        "Content-Type: text/rfc822-headers\n\n"
        "From: Docket Support <support@docket.test>\n"
        "To: jane@contoso.com\n"
        "Subject: Your printer\n"
        "Message-ID:\n"
        "\t<ticket-42.reply-1@docket.test>\n"
        "Date: Sun, 22 Nov 2026 09:09:50 +0000\n\n"
        "--_000_NDR_contoso_--\n"))


def out_of_office():
    write("out_of_office.eml", crlf(
        "From: Bob <bob@example.com>\n"
        "To: support@docket.test\n"
        "Subject: Automatische Antwort: Your printer\n"
        "Auto-Submitted: auto-replied\n"
        "X-Auto-Response-Suppress: All\n"
        "Content-Language: de-DE\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "Ich bin bis Montag nicht im B=FCro.\n"))


def mailing_list():
    write("mailing_list.eml", crlf(
        "From: Carol <carol@example.net>\n"
        "To: docket-users@lists.example.org\n"
        "Subject: [docket-users] Release 2.0\n"
        "List-Id: Docket users <docket-users.lists.example.org>\n"
        "List-Unsubscribe: <mailto:docket-users-leave@lists.example.org>,\n"
        " <https://lists.example.org/unsubscribe>\n"
        "List-Post: <mailto:docket-users@lists.example.org>\n"
        "Message-ID: <list-1@example.net>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Release 2.0 is out.\n"
        "-- \n"
        "docket-users mailing list\n"))


def calendar_invite():
    write("calendar_invite.eml", crlf(
        HEAD + "Subject: Invitation: printer review\n"
        "Content-Type: multipart/mixed; boundary=\"cal-mixed\"\n\n"
        "--cal-mixed\n"
        "Content-Type: multipart/alternative; boundary=\"cal-alt\"\n\n"
        "--cal-alt\nContent-Type: text/plain; charset=utf-8\n\nYou have been invited to a printer review.\n"
        "--cal-alt\nContent-Type: text/html; charset=utf-8\n\n<p>You have been invited to a <b>printer review</b>.</p>\n"
        "--cal-alt\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"
        "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:review-1@example.com\n"
        "DTSTART:20261123T090000Z\nSUMMARY:Printer review\nEND:VEVENT\nEND:VCALENDAR\n"
        "--cal-alt--\n"
        "--cal-mixed\n"
        "Content-Type: application/ics; name=\"invite.ics\"\n"
        "Content-Disposition: attachment; filename=\"invite.ics\"\n"
        "Content-Transfer-Encoding: base64\n\n"
        + wrap64(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") + "\n"
        "--cal-mixed--\n"))


def tnef():
    data = b"\x78\x9f\x3e\x22" + b"\x01\x00" + bytes(random.Random(7).randrange(256) for _ in range(300))
    write("tnef_winmail.eml", crlf(
        HEAD + "Subject: winmail.dat from Outlook\n"
        "Content-Type: multipart/mixed; boundary=\"tnef\"\n\n"
        "--tnef\nContent-Type: text/plain\n\nSee attached.\n"
        "--tnef\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n"
        "Content-Disposition: attachment; filename=\"winmail.dat\"\n"
        "Content-Transfer-Encoding: base64\n\n"
        + wrap64(data) + "\n--tnef--\n"))


def smime_signed():
    signature = b"0\x82\x05\x00\x06\x09*\x86H\x86\xf7\r\x01\x07\x02" + b"fake signature" * 10
    write("smime_signed.eml", crlf(
        HEAD + "Subject: signed message\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\n"
        " micalg=sha-256; boundary=\"signed\"\n\n"
        "This is a cryptographically signed message in MIME format.\n\n"
        "--signed\nContent-Type: text/plain; charset=utf-8\n\nThis body is signed.\n\n"
        "--signed\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"smime.p7s\"\n\n"
        + wrap64(signature) + "\n\n--signed--\n"))


def empty():
    write("empty.eml", b"")


def random_binary():
    rng = random.Random(1234)
    data = bytes([0x00, 0xFF]) + bytes(rng.randrange(256) for _ in range(4096))
    write("random.bin", data)


def html_tracking():
    write("html_tracking.eml", crlf(
        HEAD + "Subject: newsletter with tracking\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        "<html><head><style>.x{}</style><script>track()</script></head>"
        "<body onload=\"track()\"><p>Hallo&nbsp;Welt</p>"
        "<img src=\"https://tracker.example/open.gif\" width=1 height=1>"
        "<a href=\"https://example.com/\" onclick=\"track()\">read more</a>"
        "<iframe src=\"https://evil.example/\"></iframe></body></html>\n"))


def deep_html():
    write("deep_html.eml", crlf(
        HEAD + "Subject: deeply nested HTML\nContent-Type: text/html\n\n"
        + "<div>" * 20000 + "deep text" + "</div>" * 20000 + "\n"))


def iso_2022_jp():
    body = "ハロー・ワールド".encode("iso2022_jp")
    subject = base64.b64encode("日本語の件名".encode("iso2022_jp")).decode()
    write("iso_2022_jp.eml", crlf(HEAD).encode() + (
        "Subject: =?ISO-2022-JP?B?%s?=\r\n"
        "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n" % subject).encode() + body + b"\r\n")


def mbox_from_line():
    write("mbox_from_line.eml", "From ada@example.com Sun Nov 22 10:00:00 2026\n" + HEAD
          + "Subject: mbox export\n\nExported from an mbox file.\n")


def base64_nested_message():
    inner = crlf("From: inner@example.com\nSubject: encoded inner\nMessage-ID: <enc-inner@example.com>\n\nInner text.\n")
    write("base64_rfc822.eml", text_and_base64_part(
        "base64 encoded message/rfc822", "e", "Outer text.",
        "Content-Type: message/rfc822\n", inner.encode()))


def digest():
    messages = "".join(
        "--d\n\nFrom: member%d@example.com\nSubject: digest item %d\n\nItem %d text.\n" % (i, i, i)
        for i in (1, 2))
    write("digest.eml", crlf(
        HEAD + "Subject: list digest\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
        "--outer\nContent-Type: text/plain\n\nToday's digest.\n"
        "--outer\nContent-Type: multipart/digest; boundary=\"d\"\n\n"
        + messages + "--d--\n--outer--\n"))


def qmail_bounce():
    write("qmail_bounce.eml", crlf(
        "From: MAILER-DAEMON@mail.example.net\n"
        "To: support@docket.test\n"
        "Subject: failure notice\n\n"
        "Hi. This is the qmail-send program at mail.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<gone@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Return-Path: <support@docket.test>\n"
        "From: support@docket.test\n"
        "Message-ID: <ticket-7.reply-2@docket.test>\n"
        "Subject: [Ticket#2026112210000007] hello\n\n"
        "hello\n"))


def rfc822_in_rfc822():
    # mail-parser 0.11.9 trips a debug assertion on this nesting (debug builds only).
    write("rfc822_in_rfc822.eml", crlf(
        HEAD + "Subject: message/rfc822 directly inside message/rfc822\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
        "--outer\nContent-Type: text/plain\n\nouter text\n"
        "--outer\nContent-Type: message/rfc822\n\n"
        "Content-Type: message/rfc822\n\n\n"
        "--outer--\n"))


def traversal_filename():
    write("traversal_filename.eml", crlf(
        HEAD + "Subject: hostile file names\n"
        "Content-Type: multipart/mixed; boundary=\"f\"\n\n"
        "--f\nContent-Type: text/plain\n\nFiles.\n"
        "--f\nContent-Type: application/octet-stream\n"
        "Content-Disposition: attachment;\n"
        " filename*0*=UTF-8''..%2F..%2F;\n"
        " filename*1*=etc%2Fpasswd%0D%0A.txt\n\n"
        "root:x:0:0\n"
        "--f\nContent-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename=\"" + "a" * 400 + ".tar.gz\"\n\n"
        "x\n"
        "--f--\n"))


def uuencode_in_text():
    # A 1x1 PNG, uuencoded in the body as old mailers and scripts send files.
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    lines = [binascii.b2a_uu(png[i:i + 45], backtick=True).decode("ascii") for i in range(0, len(png), 45)]
    write("uuencode_in_text.eml", crlf(
        HEAD + "Subject: uuencoded greenball\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "Here is the picture.\n\n"
        "begin 644 greenball.png\n" + "".join(lines) + "`\nend\n\n"
        "Regards, Ada\n"))


def latin1_text_attachment():
    write("latin1_text_attachment.eml", crlf(
        HEAD + "Subject: Latin-1 text attachment\n"
        "Content-Type: multipart/mixed; boundary=\"l1\"\n\n"
        "--l1\nContent-Type: text/plain; charset=utf-8\n\nThe list is attached.\n"
        "--l1\nContent-Type: text/plain; charset=iso-8859-1; name=\"liste.txt\"\n"
        "Content-Disposition: attachment; filename=\"liste.txt\"\n"
        "Content-Transfer-Encoding: 8bit\n\n").encode() + (
        "K\u00e4se\r\nM\u00fcsli\r\nGr\u00fc\u00dfe\r\n".encode("latin-1")) + crlf(
        "--l1--\n").encode())


def content_type_text():
    write("content_type_text.eml", crlf(
        HEAD + "Subject: Content-Type text without subtype\n"
        "Content-Type: text\n\n"
        "Text without a subtype is still text.\n"))


def named_text_only():
    write("named_text_only.eml", crlf(
        HEAD + "Subject: only a named text part\n"
        "Content-Type: multipart/mixed; boundary=\"n\"\n\n"
        "--n\nContent-Type: text/plain; charset=utf-8; name=\"message.txt\"\n\n"
        "The text is in a part with a name.\n"
        "--n\nContent-Type: application/pdf; name=\"scan.pdf\"\n"
        "Content-Transfer-Encoding: base64\n\n" + wrap64(b"%PDF-1.4 scan\n") + "\n"
        "--n--\n"))


def broken_base64_text():
    good = wrap64("Der Drucker im zweiten Stock druckt nur noch leere Seiten.".encode())
    write("broken_base64_text.eml", crlf(
        HEAD + "Subject: broken base64 text\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\n"
        + good + "\n"
        "--\n"
        "Sent from my phone: this footer is not base64!\n").encode() + b"\x00\xff\xfe garbage\r\n")


def latin1_display_name():
    write("latin1_display_name.eml", crlf(
        "From: J\u00fcrgen M\u00fcller <juergen@example.com>\n"
        "To: support@docket.test\n"
        "Subject: Gr\u00fc\u00dfe\n"
        "Date: Sun, 22 Nov 2026 10:00:00 +0100\n\n"
        "Raw Latin-1 in the headers.\n").encode("latin-1"))


def cr_only_lmtp():
    # CR line endings, plus the CRLF the LMTP terminator adds.
    write("cr_only_lmtp.eml", (HEAD + "Subject: CR only over LMTP\n\nfirst line\nsecond line\n")
          .replace("\n", "\r") + "\r\n")


def html_empty_after_sanitising():
    write("html_empty_after_sanitising.eml", crlf(
        HEAD + "Subject: HTML with nothing to show\n"
        "Content-Type: multipart/alternative; boundary=\"e\"\n\n"
        "--e\nContent-Type: text/plain; charset=utf-8\n\nThe plain text.\n"
        "--e\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><style>p{}</style><script>track()</script></head>"
        "<body><img src=\"https://tracker.example/o.gif\"></body></html>\n"
        "--e--\n"))


def thread_tags():
    write("thread_tags.eml", crlf(
        HEAD + "Subject: =?UTF-8?B?" + base64.b64encode(
            "AW: [Ticket#2026010110000001] [Ticket＃2026112210000017] [#2026112210000018] Drucker"
            .encode()).decode() + "?=\n\n"
        "A reply with several ticket tags.\n"))


def spam_spamassassin():
    write("spam_spamassassin.eml", crlf(
        "Return-Path: <winner@lottery.example>\n"
        "X-Spam-Checker-Version: SpamAssassin 4.0.1 on mx.uni.example\n"
        "X-Spam-Flag: YES\n"
        "X-Spam-Level: *******\n"
        "X-Spam-Status: Yes, score=7.3 required=5.0 tests=BAYES_99,FREEMAIL_FROM,\n"
        "\tURIBL_BLACK autolearn=no autolearn_force=no version=4.0.1\n"
        "From: Lottery <winner@lottery.example>\n"
        "To: support@docket.test\n"
        "Subject: Re: [Ticket#2026112210000017] You have won\n"
        "Message-ID: <spam-sa-1@lottery.example>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Claim your prize now.\n"))


def spam_rspamd_over():
    write("spam_rspamd_over.eml", crlf(
        "X-Spamd-Result: default: True [12.30 / 15.00];\n"
        "\tR_SPF_FAIL(1.00)[-all]; BAYES_SPAM(5.10)[99.99%];\n"
        "\tURIBL_BLACK(7.50)[pharmacy.example:url]\n"
        "X-Rspamd-Score: 12.3\n"
        "X-Rspamd-Server: mx1\n"
        "From: Pharmacy <offers@pharmacy.example>\n"
        "To: support@docket.test\n"
        "Subject: Cheap pills\n"
        "Message-ID: <spam-rspamd-1@pharmacy.example>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Best prices.\n"))


def spam_rspamd_under():
    write("spam_rspamd_under.eml", crlf(
        "X-Spamd-Result: default: False [2.10 / 15.00];\n"
        "\tR_SPF_ALLOW(-0.20)[+ip4:192.0.2.1]; MIME_GOOD(-0.10)[text/plain]\n"
        "X-Rspamd-Score: 2.1\n"
        "From: Jane Doe <jane@example.com>\n"
        "To: support@docket.test\n"
        "Subject: Printer again\n"
        "Message-ID: <ham-rspamd-1@example.com>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "The printer jams again.\n"))


def ham_spam_flag_no():
    write("ham_spam_flag_no.eml", crlf(
        "X-Spam-Flag: NO\n"
        "X-Spam-Score: -0.4\n"
        "X-Spam-Status: No, score=-0.4 required=5.0 tests=DKIM_VALID autolearn=ham\n"
        "From: Jane Doe <jane@example.com>\n"
        "To: support@docket.test\n"
        "Subject: Toner\n"
        "Message-ID: <ham-sa-1@example.com>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "We need toner.\n"))


def main():
    for make in [
        unknown_charset, charset_lie, missing_boundary, wrong_boundary, boundary_never_closed,
        nested_multipart, nested_rfc822, long_header_line, many_headers, no_body, only_headers,
        bare_lf, cr_only, nul_bytes, truncated_base64, invalid_base64_chars, qp_broken,
        encoded_word_bad_base64, raw_utf8_headers, zip_attachment, thirty_attachments,
        dsn_postfix, ndr_exchange, out_of_office, mailing_list, calendar_invite, tnef,
        smime_signed, empty, random_binary, html_tracking, deep_html, iso_2022_jp,
        mbox_from_line, base64_nested_message, digest, qmail_bounce, traversal_filename,
        rfc822_in_rfc822, uuencode_in_text, latin1_text_attachment, content_type_text,
        named_text_only, broken_base64_text, latin1_display_name, cr_only_lmtp,
        html_empty_after_sanitising, thread_tags, spam_spamassassin, spam_rspamd_over,
        spam_rspamd_under, ham_spam_flag_no,
    ]:
        make()


if __name__ == "__main__":
    main()
