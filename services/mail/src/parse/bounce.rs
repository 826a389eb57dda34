//! Delivery status notifications: the Message-ID of the mail that came back, the status and the
//! failed recipient. A bounce is a multipart/report with report-type delivery-status (RFC 3464),
//! or mail from a mailer-daemon or postmaster whose subject says it could not be delivered and
//! that quotes the Message-ID of the returned mail (in its text or a text or message part).

use mail_parser::{HeaderName, MessagePart, MimeHeaders, PartType};

use super::extract::Extractor;
use super::headers::{clean_id, ids};
use super::mime::Declared;
use super::{Address, Bounce, strip_prefix_ci};

impl<'x> Extractor<'_, 'x> {
    /// The bounce this mail is, if it is one (see the module docs).
    pub(super) fn bounce(
        &self,
        root: &MessagePart<'x>,
        from: Option<&Address>,
        subject: &str,
        text: &str,
    ) -> Option<Bounce> {
        let is_report = root.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
                && ct
                    .attribute("report-type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("delivery-status"))
        });
        if is_report {
            return Some(self.delivery_status_report());
        }
        let from_daemon = from.is_some_and(|a| {
            let local = a.email.split('@').next().unwrap_or_default();
            local == "mailer-daemon" || local == "postmaster"
        });
        let subject = subject.to_lowercase();
        let bounce_subject = [
            "undeliver",
            "delivery status notification",
            "returned mail",
            "unzustellbar",
            "delivery failure",
            "failure notice",
            "mail delivery failed",
        ]
        .iter()
        .any(|s| subject.contains(s));
        if !(from_daemon && bounce_subject) {
            return None;
        }
        let original_message_id = message_id_line(text).or_else(|| {
            self.attachments
                .iter()
                .filter(|a| {
                    a.content_type.starts_with("text/") || a.content_type.starts_with("message/")
                })
                .find_map(|a| message_id_line(&String::from_utf8_lossy(&a.content)))
        })?;
        Some(Bounce {
            original_message_id: Some(original_message_id),
            status: None,
            recipient: None,
        })
    }

    /// multipart/report; report-type=delivery-status (RFC 3464).
    fn delivery_status_report(&self) -> Bounce {
        let mut bounce = Bounce::default();
        for part in &self.message.parts {
            let declared = Declared::of(part);
            match (declared.ctype.as_str(), declared.subtype.as_str()) {
                ("message", "delivery-status" | "global-delivery-status")
                    if bounce.status.is_none() && bounce.recipient.is_none() =>
                {
                    let (status, recipient) =
                        delivery_status_fields(&String::from_utf8_lossy(part.contents()));
                    bounce.status = status;
                    bounce.recipient = recipient;
                }
                _ if bounce.original_message_id.is_some() => {}
                ("message", "rfc822" | "global") => {
                    bounce.original_message_id = match &part.body {
                        PartType::Message(nested) => nested
                            .parts
                            .first()
                            .and_then(|root| ids(root, &HeaderName::MessageId).into_iter().next()),
                        _ => message_id_line(&String::from_utf8_lossy(part.contents())),
                    };
                }
                ("text" | "message", "rfc822-headers" | "global-headers") => {
                    bounce.original_message_id =
                        message_id_line(&String::from_utf8_lossy(part.contents()));
                }
                _ => {}
            }
        }
        bounce
    }
}

/// The first `Message-ID:` line of a text (a quoted original message or its headers).
fn message_id_line(text: &str) -> Option<String> {
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_start_matches(['>', ' ', '\t']);
        let Some(value) = strip_prefix_ci(line, "message-id:") else {
            continue;
        };
        let value = if value.trim().is_empty() {
            lines.peek().copied().unwrap_or_default()
        } else {
            value
        };
        let id = match value.split_once('<') {
            Some((_, rest)) => rest.split('>').next().unwrap_or_default(),
            None => value.split_whitespace().next().unwrap_or_default(),
        };
        if let Some(id) = clean_id(id) {
            return Some(id);
        }
    }
    None
}

/// Status and Final-Recipient of a message/delivery-status body: the first recipient block
/// whose action failed, else the first that has either.
fn delivery_status_fields(body: &str) -> (Option<String>, Option<String>) {
    let mut first: Option<(Option<String>, Option<String>)> = None;
    for block in body.replace("\r\n", "\n").split("\n\n") {
        let mut status = None;
        let mut recipient = None;
        let mut failed = false;
        for line in unfold_lines(block) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "status" => {
                    status = value
                        .split_whitespace()
                        .next()
                        .filter(|code| is_status_code(code))
                        .map(str::to_owned);
                }
                "final-recipient" => {
                    let address = value.split_once(';').map_or(value, |(_, a)| a);
                    recipient = Some(
                        address
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_lowercase(),
                    )
                    .filter(|a| !a.is_empty());
                }
                "action" => failed = value.eq_ignore_ascii_case("failed"),
                _ => {}
            }
        }
        if status.is_none() && recipient.is_none() {
            continue;
        }
        if failed {
            return (status, recipient);
        }
        if first.is_none() {
            first = Some((status, recipient));
        }
    }
    first.unwrap_or((None, None))
}

fn unfold_lines(block: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in block.lines() {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

/// `class.subject.detail` of RFC 3463: 2, 4 or 5, then 1–3 and 1–3 digits.
fn is_status_code(code: &str) -> bool {
    let mut fields = code.split('.');
    let class_ok = fields.next().is_some_and(|c| matches!(c, "2" | "4" | "5"));
    let rest: Vec<&str> = fields.collect();
    class_ok
        && rest.len() == 2
        && rest
            .iter()
            .all(|f| (1..=3).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::AutoKind;
    use crate::parse::tests::{attachment_names, parse_ok};

    const DSN: &str = "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n\
        To: support@docket.test\n\
        Subject: Undelivered Mail Returned to Sender\n\
        Auto-Submitted: auto-replied\n\
        MIME-Version: 1.0\n\
        Content-Type: multipart/report; report-type=delivery-status;\n\
        \tboundary=\"DSN.b\"\n\
        \n\
        --DSN.b\n\
        Content-Type: text/plain; charset=us-ascii\n\
        \n\
        I'm sorry to have to inform you that your message could not be delivered.\n\
        \n\
        --DSN.b\n\
        Content-Type: message/delivery-status\n\
        \n\
        Reporting-MTA: dns; mx.example.com\n\
        Arrival-Date: Sun, 22 Nov 2026 10:00:00 +0100\n\
        \n\
        Final-Recipient: rfc822; Nobody@Example.org\n\
        Original-Recipient: rfc822;nobody@example.org\n\
        Action: failed\n\
        Status: 5.1.1\n\
        Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\
        \n\
        --DSN.b\n\
        Content-Type: message/rfc822\n\
        \n\
        From: support@docket.test\n\
        To: nobody@example.org\n\
        Subject: [Ticket#2026112210000017] Your request\n\
        Message-ID: <ticket-17.reply-3@docket.test>\n\
        \n\
        Hello.\n\
        \n\
        --DSN.b--\n";

    #[test]
    fn dsn_bounce() {
        let mail = parse_ok(DSN.as_bytes());
        assert_eq!(
            mail.bounce,
            Some(Bounce {
                original_message_id: Some("ticket-17.reply-3@docket.test".into()),
                status: Some("5.1.1".into()),
                recipient: Some("nobody@example.org".into()),
            })
        );
        assert_eq!(
            mail.auto,
            Some(AutoKind::AutoSubmitted("auto-replied".into()))
        );
        assert!(mail.text.starts_with("I'm sorry"));
        assert_eq!(
            attachment_names(&mail),
            [
                "attachment-1.txt",
                "[Ticket#2026112210000017] Your request.eml"
            ]
        );

        // A bounce without Auto-Submitted still sets auto.
        let quiet = DSN.replace("Auto-Submitted: auto-replied\n", "");
        let mail = parse_ok(quiet.as_bytes());
        assert_eq!(mail.auto, Some(AutoKind::AutoSubmitted("bounce".into())));

        // text/rfc822-headers instead of the whole message.
        let headers_only = DSN.replace(
            "Content-Type: message/rfc822\n",
            "Content-Type: text/rfc822-headers\n",
        );
        let bounce = parse_ok(headers_only.as_bytes()).bounce.unwrap();
        assert_eq!(
            bounce.original_message_id.as_deref(),
            Some("ticket-17.reply-3@docket.test")
        );
    }

    #[test]
    fn mailer_daemon_bounce_without_report() {
        let raw = "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\n\
            Subject: Returned mail: see transcript for details\n\
            \n\
            The original message was received at Sun, 22 Nov 2026.\n\
            \n\
            ----- Original message -----\n\
            Message-ID:\n <orig-1@docket.test>\n\
            Subject: hi\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(
            mail.bounce,
            Some(Bounce {
                original_message_id: Some("orig-1@docket.test".into()),
                status: None,
                recipient: None
            })
        );
        assert_eq!(mail.auto, Some(AutoKind::AutoSubmitted("bounce".into())));
        // Not from a mailer daemon: no bounce.
        let mail = parse_ok(raw.replace("MAILER-DAEMON", "someone").as_bytes());
        assert_eq!(mail.bounce, None);
        assert_eq!(mail.auto, None);
    }

    #[test]
    fn delivery_status_fields_pick_the_failed_recipient() {
        let body = "Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; ok@x\nAction: delivered\nStatus: 2.0.0\n\n\
            Final-Recipient: rfc822;\n <Bad@X>\nAction: failed\nStatus: 5.2.2 (mailbox full)\n";
        assert_eq!(
            delivery_status_fields(body),
            (Some("5.2.2".into()), Some("bad@x".into()))
        );
        assert_eq!(delivery_status_fields("nothing here"), (None, None));
        assert!(is_status_code("4.4.7"));
        assert!(!is_status_code("550"));
        assert!(!is_status_code("5.1"));
    }
}
