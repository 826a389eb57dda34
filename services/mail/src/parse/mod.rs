//! Raw RFC 822 bytes into what a ticket needs.
//!
//! [`parse`] reads whatever arrives by LMTP, IMAP or upload and never panics: real mail is often
//! broken (missing or wrong MIME boundaries, charsets that lie, truncated base64, bare CR line
//! endings, huge headers), so it repairs what it can and says what it repaired in
//! [`ParsedMail::warnings`]. It refuses a mail only for the reasons in [`ParseError`]: too large,
//! or not a message at all. However many attachments a mail has and however large they are, all
//! come out: what one article takes is decided at ingestion, which keeps the rest with the
//! received message.
//!
//! MIME structure comes from `mail-parser`; this module decides what is the body, what is an
//! attachment, whether an automatic answer may be sent and whether the mail is a bounce.
//!
//! The way through, one module each: `prepare` checks the bytes are a message and repairs what
//! would hide its headers; `extract` walks mail-parser's tree into a [`ParsedMail`], reading
//! `headers`, choosing the body in `mime`, collecting `attachments`, decoding text in
//! `decode` and HTML in `html`, and noticing robots (`auto`), bounces (`bounce`) and what the
//! upstream filter marked as spam (`spam`, by the [`SpamRules`] the settings give).
//! `subject` holds what ingestion asks of a subject afterwards: its ticket numbers, a title.

mod attachments;
mod auto;
mod bounce;
mod decode;
mod extract;
mod headers;
mod html;
mod mime;
mod prepare;
mod spam;
mod subject;
mod uuencode;

use std::fmt::Write as _;

use mail_parser::Message;
use sha2::{Digest, Sha256};

pub use spam::{DEFAULT_SCORE_HEADER, SpamRules, SpamVerdict, spam_verdict};
pub use subject::{TicketHooks, clean_subject, clean_subject_with, ticket_numbers_in_subject};

use extract::Extractor;
use prepare::{
    MimeFailure, header_block_end, insert_header_fields, parse_mime, prepare, repair_root_boundary,
};

const MIB: usize = 1024 * 1024;

/// At most this many warnings are listed; the rest are counted in one last warning.
const MAX_WARNINGS: usize = 50;

/// What a mail may be at most before it is refused, and how deep it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole raw message, in bytes.
    pub max_message_bytes: usize,
    /// Multipart levels descended into; parts below are skipped with a warning.
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 25 * MIB,
            max_nesting: 10,
        }
    }
}

/// A mailbox: the email is lowercased and trimmed and always contains an `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

/// Why no automatic answer may be sent to a mail: the first reason found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoKind {
    /// `Auto-Submitted` with any value but `no` (lowercased), or `return-path <>`, or `bounce`.
    AutoSubmitted(String),
    /// `Precedence: bulk|junk|list|auto_reply` (lowercased).
    Precedence(String),
    /// `X-Auto-Response-Suppress` with any value.
    AutoResponseSuppress,
    /// `List-Id`: the id inside the angle brackets.
    ListId(String),
    /// `List-Unsubscribe`.
    ListUnsubscribe,
}

/// A delivery status notification about a mail we sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounce {
    /// Message-ID of the returned mail, without angle brackets.
    pub original_message_id: Option<String>,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// The recipient that failed, lowercased.
    pub recipient: Option<String>,
}

/// An attachment or an inline image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Decoded and sanitised: no path separators, no control characters, at most 200 characters.
    pub filename: String,
    /// `type/subtype`, lowercased; a text part's with the charset its bytes are in
    /// (`text/plain; charset=iso-8859-1`) when it declared one or is UTF-8.
    pub content_type: String,
    /// Decoded content (transfer encoding removed), byte for byte what was sent: text is not
    /// converted to UTF-8.
    pub content: Vec<u8>,
    pub inline: bool,
    /// Content-ID without angle brackets.
    pub content_id: Option<String>,
}

/// What the ticket system needs of one mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMail {
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Ids without angle brackets.
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Decoded (encoded words, any charset) and trimmed; empty if there is none.
    pub subject: String,
    /// The first `From` mailbox.
    pub from: Option<Address>,
    pub reply_to: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Every `Delivered-To` header.
    pub delivered_to: Vec<Address>,
    pub x_original_to: Vec<Address>,
    /// The `Date` header as unix microseconds.
    pub date_us: Option<i64>,
    /// Primary subtag of the first `Content-Language` tag, lowercased (`de` of `de-CH`).
    pub content_language: Option<String>,
    /// Why no automatic answer may be sent.
    pub auto: Option<AutoKind>,
    pub bounce: Option<Bounce>,
    /// Marked as spam by the upstream filter: the header and value that decided.
    pub spam: Option<SpamVerdict>,
    /// The body as plain text: the text/plain alternative, else text derived from the HTML.
    pub text: String,
    /// The HTML body, sanitised, in UTF-8 whatever the mail's charset (so stored and served as
    /// `text/html; charset=utf-8`); `None` when the mail had no HTML body or nothing of it is left
    /// to show once sanitised.
    pub html: Option<String>,
    /// Attachments and inline images, in the order they appear.
    pub attachments: Vec<Part>,
    /// What was repaired or dropped, for people to read.
    pub warnings: Vec<String>,
}

/// Why a mail is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("this is not a mail message: {0}")]
    NotAMessage(String),
}

/// Parses one raw message with the default [`SpamRules`]. Never panics; see the module
/// documentation for what is repaired.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedMail, ParseError> {
    parse_with(raw, limits, &SpamRules::default())
}

/// Parses one raw message, recognising spam by `spam`. Never panics.
pub fn parse_with(raw: &[u8], limits: &Limits, spam: &SpamRules) -> Result<ParsedMail, ParseError> {
    if raw.len() > limits.max_message_bytes {
        return Err(ParseError::TooLarge {
            size: raw.len(),
            limit: limits.max_message_bytes,
        });
    }
    let mut warnings = Warnings::default();
    let input = prepare(raw, &mut warnings)?;
    let plain: Vec<u8>;
    let message = match parse_mime(&input) {
        Ok(message) => message,
        Err(MimeFailure::NoHeaders) => {
            return Err(ParseError::NotAMessage(
                "no header fields were found".into(),
            ));
        }
        Err(MimeFailure::Panicked) => {
            // Read it again as one text/plain part: the headers stay, the body is raw text.
            plain = insert_header_fields(
                &input,
                header_block_end(&input),
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
            );
            warnings.push("the MIME structure could not be read; the body is shown as raw text");
            parse_mime(&plain).map_err(|_| {
                ParseError::NotAMessage("the MIME structure could not be read".into())
            })?
        }
    };
    if let Some((repaired, boundary)) = repair_root_boundary(&message)
        && let Ok(fixed) = parse_mime(&repaired)
    {
        warnings.push(format!(
            "the multipart boundary named in the header is not in the body; the delimiter \
             \"{boundary}\" found there was used"
        ));
        return extract(&fixed, limits, spam, warnings);
    }
    extract(&message, limits, spam, warnings)
}

fn extract(
    message: &Message<'_>,
    limits: &Limits,
    spam: &SpamRules,
    warnings: Warnings,
) -> Result<ParsedMail, ParseError> {
    Extractor {
        message,
        limits,
        spam,
        warnings,
        attachments: Vec::new(),
    }
    .run()
}

/// SHA-256 of the raw bytes, lowercase hex.
pub fn content_hash(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// What was repaired or dropped, each said once and at most [`MAX_WARNINGS`] of them.
#[derive(Debug, Default)]
struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    fn push(&mut self, warning: impl Into<String>) {
        let warning = warning.into();
        if self.list.contains(&warning) {
            return;
        }
        if self.list.len() < MAX_WARNINGS {
            self.list.push(warning);
        } else {
            self.dropped += 1;
        }
    }

    fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("{} more warnings were left out", self.dropped));
        }
        self.list
    }
}

/// `text` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ci<'s>(text: &'s str, prefix: &str) -> Option<&'s str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Runs of white space as one space, none at the ends.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shared with the submodules' tests.
    pub(super) fn parse_ok(raw: &[u8]) -> ParsedMail {
        parse(raw, &Limits::default()).unwrap()
    }

    /// The file names of a mail's attachments, in order.
    pub(super) fn attachment_names(mail: &ParsedMail) -> Vec<&str> {
        mail.attachments
            .iter()
            .map(|a| a.filename.as_str())
            .collect()
    }

    pub(super) fn addr(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        }
    }

    #[test]
    fn size_limits() {
        let limits = Limits::default();
        assert_eq!(limits.max_message_bytes, 26_214_400);
        let big = vec![b'a'; 30 * MIB];
        let err = parse(&big, &limits).unwrap_err();
        assert_eq!(
            err,
            ParseError::TooLarge {
                size: 31_457_280,
                limit: 26_214_400
            }
        );
        assert_eq!(
            err.to_string(),
            "the message is 31457280 bytes; at most 26214400 are accepted"
        );

        // However many attachments and however large: all come out, none refuses the mail.
        let mut raw = String::from("Subject: many\nContent-Type: multipart/mixed; boundary=m\n\n");
        for n in 0..30 {
            raw.push_str(&format!(
                "--m\nContent-Type: application/pdf\nContent-Disposition: attachment; filename={n}.pdf\n\n%PDF\n"
            ));
        }
        raw.push_str(
            "--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; \
                      filename=big.bin\nContent-Transfer-Encoding: base64\n\n",
        );
        let big = vec![7_u8; 11 * MIB];
        raw.push_str(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &big,
        ));
        raw.push_str("\n--m--\n");
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.attachments.len(), 31);
        assert_eq!(mail.attachments[30].content, big);
    }

    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(
            content_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            content_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
