//! From the MIME tree to a [`ParsedMail`]: the [`Extractor`] walks one parsed message; its
//! parts are read by the sibling modules (`mime`, `attachments`, `decode`, `auto`, `bounce`, `spam`).

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, HeaderValue, Message, MessagePart};

use super::decode::windows_1252;
use super::headers::{
    address_values, address_values_8bit, date_us, first_value, ids, primary_language,
    raw_addresses, raw_values,
};
use super::{
    Address, AutoKind, Limits, ParseError, ParsedMail, Part, SpamRules, Warnings,
    collapse_whitespace, spam_verdict,
};

/// Longest subject kept, in characters; longer ones are cut with a warning.
const MAX_SUBJECT_CHARS: usize = 2000;

/// One message being read: what it has repaired and the attachments collected so far, in order.
pub(super) struct Extractor<'a, 'x> {
    pub(super) message: &'a Message<'x>,
    pub(super) limits: &'a Limits,
    pub(super) spam: &'a SpamRules,
    pub(super) warnings: Warnings,
    pub(super) attachments: Vec<Part>,
}

impl<'a, 'x> Extractor<'a, 'x> {
    pub(super) fn raw(&self) -> &'a [u8] {
        self.message.raw_message.as_ref()
    }

    pub(super) fn run(mut self) -> Result<ParsedMail, ParseError> {
        let message = self.message;
        let Some(root) = message.parts.first() else {
            return Err(ParseError::NotAMessage(
                "no header fields were found".into(),
            ));
        };
        let subject = self.subject(root);
        let from = self.addresses(root, &HeaderName::From).into_iter().next();
        let reply_to = self
            .addresses(root, &HeaderName::ReplyTo)
            .into_iter()
            .next();
        let to = self.addresses(root, &HeaderName::To);
        let cc = self.addresses(root, &HeaderName::Cc);
        let (text, html) = self.body();
        let bounce = self.bounce(root, from.as_ref(), &subject, &text);
        let auto = self.auto(root).or_else(|| {
            bounce
                .as_ref()
                .map(|_| AutoKind::AutoSubmitted("bounce".to_owned()))
        });
        let raw = self.raw();
        let spam = spam_verdict(|name| raw_values(raw, root, name), self.spam);
        Ok(ParsedMail {
            message_id: ids(root, &HeaderName::MessageId).into_iter().next(),
            in_reply_to: ids(root, &HeaderName::InReplyTo),
            references: ids(root, &HeaderName::References),
            subject,
            from,
            reply_to,
            to,
            cc,
            delivered_to: raw_addresses(raw, root, "Delivered-To"),
            x_original_to: raw_addresses(raw, root, "X-Original-To"),
            date_us: date_us(root),
            content_language: self.content_language(root),
            auto,
            bounce,
            spam,
            text,
            html,
            attachments: self.attachments,
            warnings: self.warnings.into_vec(),
        })
    }

    fn subject(&mut self, root: &MessagePart<'x>) -> String {
        let mut subject = first_value(root, &HeaderName::Subject)
            .and_then(HeaderValue::as_text)
            .map(str::to_owned)
            .unwrap_or_default();
        if subject.contains('\u{FFFD}') {
            // Raw 8-bit bytes that are not UTF-8: most often Latin-1 from old mailers.
            let raw_subject = root
                .headers
                .iter()
                .find(|h| h.name == HeaderName::Subject)
                .and_then(|h| {
                    self.raw()
                        .get(h.offset_start as usize..h.offset_end as usize)
                });
            if let Some(bytes) = raw_subject
                && std::str::from_utf8(bytes).is_err()
            {
                let latin = windows_1252(bytes);
                if let Some(text) = MessageStream::new(latin.as_bytes())
                    .parse_unstructured()
                    .as_text()
                {
                    subject = text.to_owned();
                    self.warnings.push(
                        "the subject had 8-bit bytes that are not UTF-8; read as windows-1252",
                    );
                }
            }
        }
        let mut subject = collapse_whitespace(&subject.replace(char::is_control, " "));
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            subject = subject.chars().take(MAX_SUBJECT_CHARS).collect();
            subject.truncate(subject.trim_end().len());
            self.warnings.push(format!(
                "the subject was cut to {MAX_SUBJECT_CHARS} characters"
            ));
        }
        subject
    }

    /// A header's mailboxes; display names in raw 8-bit bytes that are not UTF-8 are read as
    /// windows-1252, as the subject is.
    fn addresses(&mut self, root: &MessagePart<'x>, name: &HeaderName<'_>) -> Vec<Address> {
        let addresses = address_values(root, name);
        let garbled = addresses
            .iter()
            .any(|a| a.name.as_deref().is_some_and(|n| n.contains('\u{FFFD}')));
        if garbled && let Some(repaired) = address_values_8bit(self.raw(), root, name) {
            self.warnings.push(format!(
                "the {} header had 8-bit bytes that are not UTF-8; read as windows-1252",
                name.as_str()
            ));
            return repaired;
        }
        addresses
    }

    fn content_language(&self, root: &MessagePart<'x>) -> Option<String> {
        let header = HeaderName::ContentLanguage;
        first_value(root, &header)
            .or_else(|| {
                self.message
                    .parts
                    .iter()
                    .find_map(|part| first_value(part, &header))
            })
            .and_then(|v| v.as_text_list())
            .and_then(|tags| tags.first())
            .and_then(|tag| primary_language(tag))
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::tests::parse_ok;

    #[test]
    fn raw_latin1_subject_is_read_as_windows_1252() {
        let mail = parse_ok(b"Subject: Gr\xfc\xdfe\n\nx\n");
        assert_eq!(mail.subject, "Grüße");
        assert!(
            mail.warnings.iter().any(|w| w.contains("subject")),
            "{:?}",
            mail.warnings
        );
        let mail = parse_ok("Subject: Grüße roh\n\nx\n".as_bytes());
        assert_eq!(mail.subject, "Grüße roh");
        assert!(mail.warnings.is_empty());
    }
}
