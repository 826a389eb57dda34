//! Attachments of articles: checked once here (name, size, what the bytes really are), stored
//! outside the article rows — content-addressed by SHA-256, once however often attached — and
//! their text parts made searchable.

use serde::Serialize;

use crate::chain::sha256_hex;
use crate::domain::Micros;
use crate::error::TicketError;

docket_platform::typed_id!(pub AttachmentId, "attachment");

/// Largest attachment accepted, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = docket_proto::article_limits::MAX_ATTACHMENT_BYTES;
/// Largest sum of one article's attachments, in bytes.
pub const MAX_ARTICLE_ATTACHMENT_BYTES: usize = docket_proto::article_limits::MAX_TOTAL_BYTES;
/// Most attachments on one article.
pub const MAX_ATTACHMENTS: usize = docket_proto::article_limits::MAX_ATTACHMENTS;
/// Characters of an attachment's text that full-text search sees.
pub const MAX_INDEXED_CHARS: usize = 250_000;

/// Where an attachment's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Uploaded now.
    Bytes(Vec<u8>),
    /// Stored already (an article copied by a merge or split): its hash and the text found in it.
    Stored {
        sha256: String,
        size: u64,
        text: String,
    },
}

/// An attachment to store with a new article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub filename: String,
    /// What the sender said it is.
    pub declared_type: String,
    /// What the bytes are, as far as they tell: served with this type.
    pub content_type: String,
    pub content: Content,
}

impl NewAttachment {
    /// Checks an upload: a plain file name, at most [`MAX_ATTACHMENT_BYTES`], and sniffs its type.
    pub fn parse(filename: &str, declared_type: &str, bytes: Vec<u8>) -> Result<Self, TicketError> {
        let filename = file_name(filename)?;
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(TicketError::TooLarge(format!(
                "attachment `{filename}` is larger than {MAX_ATTACHMENT_BYTES} bytes"
            )));
        }
        let declared_type = declared_type.trim().to_ascii_lowercase();
        if declared_type.len() > 200 || declared_type.chars().any(char::is_control) {
            return Err(TicketError::invalid(format!(
                "attachment `{filename}`: the content type is not valid"
            )));
        }
        let content_type = sniff(&bytes, &declared_type);
        Ok(Self {
            filename,
            declared_type,
            content_type,
            content: Content::Bytes(bytes),
        })
    }

    pub fn size(&self) -> u64 {
        match &self.content {
            Content::Bytes(b) => b.len() as u64,
            Content::Stored { size, .. } => *size,
        }
    }

    pub fn sha256(&self) -> String {
        match &self.content {
            Content::Bytes(b) => sha256_hex(b),
            Content::Stored { sha256, .. } => sha256.clone(),
        }
    }

    /// The text full-text search sees: the content of text attachments, else nothing.
    pub fn text(&self) -> String {
        match &self.content {
            Content::Stored { text, .. } => text.clone(),
            Content::Bytes(b) if self.content_type.starts_with("text/") => {
                String::from_utf8_lossy(b)
                    .chars()
                    .take(MAX_INDEXED_CHARS)
                    .collect()
            }
            Content::Bytes(_) => String::new(),
        }
    }
}

/// Checks the attachments of one article together.
pub fn check_all(list: &[NewAttachment]) -> Result<(), TicketError> {
    if list.len() > MAX_ATTACHMENTS {
        return Err(TicketError::invalid(format!(
            "an article has at most {MAX_ATTACHMENTS} attachments"
        )));
    }
    let total: u64 = list.iter().map(NewAttachment::size).sum();
    if total > MAX_ARTICLE_ATTACHMENT_BYTES as u64 {
        return Err(TicketError::TooLarge(format!(
            "an article's attachments are larger than {MAX_ARTICLE_ATTACHMENT_BYTES} bytes together"
        )));
    }
    Ok(())
}

/// A stored attachment, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub declared_type: String,
    pub size: u64,
    pub sha256: String,
    pub created_at: Micros,
}

/// A file name without path parts or control characters, at most 255 characters.
fn file_name(name: &str) -> Result<String, TicketError> {
    // Whatever a client sends, only the last path part is a name.
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err(TicketError::invalid("an attachment needs a file name"));
    }
    if base.chars().count() > 255 || base.chars().any(char::is_control) {
        return Err(TicketError::invalid(format!(
            "`{}` is not a valid file name",
            base.chars().take(80).collect::<String>()
        )));
    }
    Ok(base.to_owned())
}

/// What `bytes` are: their magic number decides; text without one keeps a declared `text/*`
/// type (else `text/plain`) with its charset: UTF-8, or the charset a `text/*` type declares for
/// bytes that are not UTF-8 (a Latin-1 file stays the file that was sent); anything else is
/// `application/octet-stream`.
pub fn sniff(bytes: &[u8], declared: &str) -> String {
    // A text type the magic numbers find (HTML, XML) is text like any other: it gets its charset.
    let inferred = infer::get(bytes).map(|kind| kind.mime_type());
    if let Some(mime) = inferred
        && !mime.starts_with("text/")
    {
        return mime.to_owned();
    }
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return "application/octet-stream".to_owned();
    }
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is still text.
        Err(e) => e.error_len().is_none(),
    };
    let mut parts = declared.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let kind = if let Some(mime) = inferred {
        mime
    } else if essence.starts_with("text/")
        && essence
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/+.-".contains(c))
    {
        essence
    } else {
        "text/plain"
    };
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|cs| {
            !cs.is_empty()
                && cs.len() <= 40
                && cs
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        });
    match (utf8, charset) {
        (true, _) => format!("{kind}; charset=utf-8"),
        // Text in the charset its sender declared (Latin-1, say), served as such.
        (false, Some(charset)) if kind.starts_with("text/") && essence.starts_with("text/") => {
            format!("{kind}; charset={}", charset.to_ascii_lowercase())
        }
        _ => "application/octet-stream".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_the_type() {
        let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj".to_vec();
        assert_eq!(sniff(&pdf, "image/png"), "application/pdf");
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        assert_eq!(sniff(&png, "text/plain"), "image/png");
        assert_eq!(
            sniff("Grüße\n".as_bytes(), "text/csv"),
            "text/csv; charset=utf-8"
        );
        assert_eq!(
            sniff(b"plain words", "application/pdf"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(sniff(b"a\0b", "text/plain"), "application/octet-stream");
        assert_eq!(
            sniff(b"<p>x</p>", "text/html; charset=utf-8"),
            "text/html; charset=utf-8"
        );
        // Latin-1 text keeps its bytes and is served in its declared charset.
        assert_eq!(
            sniff(b"Gr\xfc\xdfe", "text/plain; charset=\"ISO-8859-1\""),
            "text/plain; charset=iso-8859-1"
        );
        assert_eq!(
            sniff(b"Gr\xfc\xdfe", "text/plain"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff(b"Gr\xfc\xdfe", "application/pdf; charset=latin1"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff(b"x\xfc", "text/plain; charset=\"a b\""),
            "application/octet-stream"
        );
    }

    #[test]
    fn names_are_plain_and_sizes_bounded() {
        let a = NewAttachment::parse("C:\\Users\\x\\report.txt", "Text/Plain", b"hello".to_vec())
            .unwrap();
        assert_eq!(
            (a.filename.as_str(), a.declared_type.as_str()),
            ("report.txt", "text/plain")
        );
        assert_eq!(a.text(), "hello");
        assert_eq!(a.sha256(), sha256_hex(b"hello"));
        assert_eq!(
            NewAttachment::parse("../../etc/passwd", "", vec![])
                .unwrap()
                .filename,
            "passwd"
        );
        for bad in ["", "  ", "dir/", "..", "a\u{7}b"] {
            assert!(NewAttachment::parse(bad, "", vec![]).is_err(), "{bad:?}");
        }
        let big = vec![b'x'; MAX_ATTACHMENT_BYTES + 1];
        assert!(matches!(
            NewAttachment::parse("big.txt", "text/plain", big),
            Err(TicketError::TooLarge(_))
        ));
        let half = vec![b'x'; MAX_ATTACHMENT_BYTES];
        let three: Vec<_> = (0..3)
            .map(|i| NewAttachment::parse(&format!("{i}.txt"), "", half.clone()).unwrap())
            .collect();
        assert!(matches!(check_all(&three), Err(TicketError::TooLarge(_))));
        assert!(check_all(&three[..2]).is_ok());
    }

    #[test]
    fn binary_attachments_have_no_text() {
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        assert_eq!(
            NewAttachment::parse("a.png", "", png.to_vec())
                .unwrap()
                .text(),
            ""
        );
    }
}
