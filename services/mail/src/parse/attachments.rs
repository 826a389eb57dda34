//! Attachments and inline images, in the order they appear: a nested message becomes a `.eml`
//! file with its raw bytes (its text is not merged into the body); file names are sanitised, or
//! made up from the number and the content type. However many and however large, all are
//! collected: ingestion decides what one article takes.

use mail_parser::{Encoding, HeaderName, HeaderValue, Message, MessagePart, PartType};

use super::extract::Extractor;
use super::headers::{first_value, nested_subject};
use super::mime::{Declared, Disposition};
use super::{Part, collapse_whitespace};

/// Longest attachment file name kept, in characters.
const MAX_FILENAME_CHARS: usize = 200;

impl<'x> Extractor<'_, 'x> {
    pub(super) fn attach_leaf(&mut self, id: usize, part: &MessagePart<'x>, declared: &Declared) {
        let (content, content_type) = match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if declared.ctype == "text" => {
                (
                    bytes.to_vec(),
                    text_content_type(&declared.mime(), declared.charset.as_deref(), bytes),
                )
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                (bytes.to_vec(), declared.mime())
            }
            PartType::Text(_) | PartType::Html(_) => {
                // mail-parser's text is re-encoded to UTF-8 (and it keeps the raw text when a
                // transfer encoding is broken): the file is the bytes that were sent.
                let bytes = self.redecode(id, part, declared);
                let content_type = if declared.ctype == "text" {
                    text_content_type(&declared.mime(), declared.charset.as_deref(), &bytes)
                } else {
                    declared.mime()
                };
                (bytes, content_type)
            }
            PartType::Message(_) | PartType::Multipart(_) => (Vec::new(), declared.mime()),
        };
        let inline = declared.disposition == Disposition::Inline
            || (declared.disposition == Disposition::None && declared.content_id.is_some());
        self.push_attachment(
            declared.filename.as_deref(),
            content_type,
            content,
            inline,
            declared.content_id.clone(),
        );
    }

    /// A nested message becomes a `.eml` attachment with its raw bytes; its text is not merged.
    pub(super) fn attach_message(&mut self, part: &MessagePart<'x>, nested: Option<&Message<'_>>) {
        let parent_slice = self
            .raw()
            .get(part.offset_body as usize..part.offset_end as usize);
        let content: Vec<u8> = match (nested, part.encoding, parent_slice) {
            (Some(_), Encoding::None, Some(slice)) if !slice.is_empty() => slice.to_vec(),
            (Some(nested), _, _) => nested.raw_message.to_vec(),
            (None, _, _) => part.contents().to_vec(),
        };
        let subject = match nested {
            Some(nested) => nested
                .parts
                .first()
                .and_then(|root| first_value(root, &HeaderName::Subject))
                .and_then(HeaderValue::as_text)
                .map(str::to_owned),
            None => nested_subject(&content),
        };
        let stem = subject
            .map(|s| sanitize_filename(&s, MAX_FILENAME_CHARS - 4))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "message".to_owned());
        let declared = Declared::of(part);
        let content_type = if declared.is_message() {
            declared.mime()
        } else {
            "message/rfc822".to_owned()
        };
        self.push_attachment(
            Some(&format!("{stem}.eml")),
            content_type,
            content,
            false,
            declared.content_id,
        );
    }

    pub(super) fn push_attachment(
        &mut self,
        filename: Option<&str>,
        content_type: String,
        content: Vec<u8>,
        inline: bool,
        content_id: Option<String>,
    ) {
        let number = self.attachments.len() + 1;
        let filename = filename
            .map(|name| sanitize_filename(name, MAX_FILENAME_CHARS))
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| format!("attachment-{number}{}", extension_for(&content_type)));
        self.attachments.push(Part {
            filename,
            content_type,
            content,
            inline,
            content_id,
        });
    }
}

/// A file name without path separators, control characters or leading dots, at most `max`
/// characters (keeping the extension when it has to cut).
fn sanitize_filename(name: &str, max: usize) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' => '_',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let cleaned = collapse_whitespace(&cleaned);
    let cleaned = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if cleaned.chars().count() <= max {
        return cleaned.to_owned();
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= 16);
    match extension {
        Some(ext) => {
            let keep = max.saturating_sub(ext.chars().count() + 1);
            let stem: String = cleaned.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => cleaned.chars().take(max).collect(),
    }
}

/// A text attachment's content type with the charset its bytes are in: the declared one (a
/// label that is a plain token), else `utf-8` when they are UTF-8, else none.
pub(super) fn text_content_type(mime: &str, declared: Option<&str>, bytes: &[u8]) -> String {
    let token = |label: &&str| {
        (1..=40).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b))
    };
    match declared.filter(token) {
        Some(label) => format!("{mime}; charset={label}"),
        None if std::str::from_utf8(bytes).is_ok() => format!("{mime}; charset=utf-8"),
        None => mime.to_owned(),
    }
}

/// The content type of a file known only by its name (a uuencoded one), from its extension.
pub(super) fn content_type_for_name(name: &str, content: &[u8]) -> String {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    let mime = match extension.as_str() {
        "txt" | "text" | "log" | "asc" => "text/plain",
        "htm" | "html" => "text/html",
        "ics" => "text/calendar",
        "csv" => "text/csv",
        "vcf" => "text/vcard",
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "eml" => "message/rfc822",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    };
    if mime.starts_with("text/") {
        text_content_type(mime, None, content)
    } else {
        mime.to_owned()
    }
}

fn extension_for(content_type: &str) -> &'static str {
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    match mime {
        "text/plain"
        | "text/rfc822-headers"
        | "message/delivery-status"
        | "message/global-delivery-status"
        | "message/disposition-notification" => ".txt",
        "text/html" => ".html",
        "text/calendar" => ".ics",
        "text/csv" => ".csv",
        "text/vcard" | "text/x-vcard" => ".vcf",
        "text/xml" | "application/xml" => ".xml",
        "application/json" => ".json",
        "application/pdf" => ".pdf",
        "application/zip" | "application/x-zip-compressed" => ".zip",
        "application/ms-tnef" | "application/vnd.ms-tnef" => ".dat",
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => ".p7s",
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => ".p7m",
        "application/pgp-signature" => ".asc",
        "message/rfc822" | "message/global" => ".eml",
        "image/png" => ".png",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/svg+xml" => ".svg",
        "image/bmp" => ".bmp",
        "image/tiff" => ".tif",
        "audio/mpeg" => ".mp3",
        "audio/wav" | "audio/x-wav" => ".wav",
        "video/mp4" => ".mp4",
        _ => ".bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::{attachment_names, parse_ok};

    #[test]
    fn nested_message_is_attached_not_merged() {
        let raw = "Subject: Fwd: original\n\
            Content-Type: multipart/mixed; boundary=outer\n\
            \n\
            --outer\n\
            Content-Type: text/plain\n\
            \n\
            See below.\n\
            --outer\n\
            Content-Type: message/rfc822\n\
            \n\
            From: inner@example.com\n\
            Subject: The inner/one\n\
            Message-ID: <inner@example.com>\n\
            \n\
            Inner body text.\n\
            --outer--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "See below.");
        assert!(!mail.text.contains("Inner body"));
        assert_eq!(mail.attachments.len(), 1);
        let eml = &mail.attachments[0];
        assert_eq!(eml.filename, "The inner_one.eml");
        assert_eq!(eml.content_type, "message/rfc822");
        assert!(!eml.inline);
        let content = String::from_utf8(eml.content.clone()).unwrap();
        assert!(
            content.starts_with("From: inner@example.com\n"),
            "{content:?}"
        );
        assert!(
            content.trim_end().ends_with("Inner body text."),
            "{content:?}"
        );
    }

    #[test]
    fn inline_image_with_content_id() {
        let raw = "Subject: logo\n\
            Content-Type: multipart/related; boundary=rel\n\
            \n\
            --rel\n\
            Content-Type: text/html\n\
            \n\
            <p>Logo: <img src=\"cid:logo@docket\"></p>\n\
            --rel\n\
            Content-Type: image/png\n\
            Content-Transfer-Encoding: base64\n\
            Content-ID: <logo@docket>\n\
            Content-Disposition: inline\n\
            \n\
            iVBORw0KGgowMDAw\n\
            --rel--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "Logo:");
        assert!(mail.html.unwrap().contains("cid:logo@docket"));
        assert_eq!(mail.attachments.len(), 1);
        let image = &mail.attachments[0];
        assert!(image.inline);
        assert_eq!(image.content_id.as_deref(), Some("logo@docket"));
        assert_eq!(image.content_type, "image/png");
        assert_eq!(image.filename, "attachment-1.png");
        assert_eq!(image.content, b"\x89PNG\r\n\x1a\n0000");
    }

    #[test]
    fn attachment_file_names() {
        let raw = "Subject: files\n\
            Content-Type: multipart/mixed; boundary=m\n\
            \n\
            --m\n\
            Content-Type: text/plain\n\
            \n\
            Body\n\
            --m\n\
            Content-Type: application/pdf\n\
            Content-Disposition: attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf\n\
            \n\
            %PDF-1\n\
            --m\n\
            Content-Type: application/pdf; name=\"=?UTF-8?B?QmVyaWNodCBmw7xyIErDvHJnZW4ucGRm?=\"\n\
            Content-Disposition: attachment\n\
            \n\
            %PDF-2\n\
            --m\n\
            Content-Type: application/octet-stream\n\
            Content-Disposition: attachment; filename=\"../../etc/pass\x07wd\"\n\
            \n\
            x\n\
            --m\n\
            Content-Type: text/csv; charset=utf-8\n\
            Content-Disposition: attachment\n\
            \n\
            a;b\n\
            --m--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "Body");
        assert_eq!(
            attachment_names(&mail),
            [
                "Grüße.pdf",
                "Bericht für Jürgen.pdf",
                "_.._etc_pass wd",
                "attachment-4.csv"
            ]
        );
        assert_eq!(mail.attachments[0].content, b"%PDF-1");
        assert_eq!(mail.attachments[0].content_type, "application/pdf");
        assert_eq!(mail.attachments[3].content_type, "text/csv; charset=utf-8");
        assert_eq!(mail.attachments[3].content, b"a;b");
    }

    #[test]
    fn text_attachments_keep_their_bytes_and_charset() {
        let raw = b"Subject: files\n\
            Content-Type: multipart/mixed; boundary=m\n\
            \n\
            --m\n\
            Content-Type: text/plain\n\
            \n\
            Body\n\
            --m\n\
            Content-Type: text/plain; charset=ISO-8859-1\n\
            Content-Disposition: attachment; filename=latin.txt\n\
            \n\
            Gr\xfc\xdfe\r\nZeile 2\n\
            --m\n\
            Content-Type: text/csv; charset=windows-1252\n\
            Content-Disposition: attachment; filename=euro.csv\n\
            Content-Transfer-Encoding: base64\n\
            \n\
            gCA1O0vkc2UK\n\
            --m\n\
            Content-Type: text/html; charset=iso-8859-15\n\
            Content-Disposition: attachment; filename=page.html\n\
            Content-Transfer-Encoding: quoted-printable\n\
            \n\
            <p>=A4 K=E4se</p>\n\
            --m\n\
            Content-Type: text/plain; charset=\"bad label; x=1\"\n\
            Content-Disposition: attachment; filename=odd.txt\n\
            \n\
            \xff\xfe\n\
            --m--\n";
        let mail = parse_ok(raw);
        assert_eq!(mail.text, "Body");
        assert_eq!(
            attachment_names(&mail),
            ["latin.txt", "euro.csv", "page.html", "odd.txt"]
        );
        let [latin, euro, page, odd] = &mail.attachments[..] else {
            panic!("{:?}", mail.attachments)
        };
        assert_eq!(latin.content, b"Gr\xfc\xdfe\r\nZeile 2");
        assert_eq!(latin.content_type, "text/plain; charset=iso-8859-1");
        assert_eq!(euro.content, b"\x80 5;K\xe4se\n");
        assert_eq!(euro.content_type, "text/csv; charset=windows-1252");
        assert_eq!(page.content, b"<p>\xa4 K\xe4se</p>");
        assert_eq!(page.content_type, "text/html; charset=iso-8859-15");
        assert_eq!(odd.content, b"\xff\xfe");
        assert_eq!(odd.content_type, "text/plain");
    }

    #[test]
    fn content_types_from_names() {
        assert_eq!(
            content_type_for_name("greenball.png", b"\x89PNG"),
            "image/png"
        );
        assert_eq!(
            content_type_for_name("REPORT.PDF", b"%PDF"),
            "application/pdf"
        );
        assert_eq!(
            content_type_for_name("notes.txt", b"plain"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type_for_name("latin.txt", b"\xfc"), "text/plain");
        assert_eq!(
            content_type_for_name("no-extension", b"x"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type_for_name("archive.tar.gz", b"x"),
            "application/gzip"
        );
    }

    #[test]
    fn sanitize_filename_cases() {
        assert_eq!(sanitize_filename("a/b\\c:d", 200), "a_b_c_d");
        assert_eq!(sanitize_filename("..", 200), "");
        assert_eq!(sanitize_filename("  .hidden ", 200), "hidden");
        assert_eq!(sanitize_filename("tab\there\r\n", 200), "tab here");
        let long = format!("{}.pdf", "x".repeat(300));
        let cut = sanitize_filename(&long, 200);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with("xx.pdf"));
        assert_eq!(
            sanitize_filename(&"ü".repeat(300), 200).chars().count(),
            200
        );
    }

    #[test]
    fn text_calendar_and_non_text_parts_are_attachments() {
        let raw = "Subject: invite\n\
            Content-Type: multipart/alternative; boundary=a\n\
            \n\
            --a\n\
            Content-Type: text/plain\n\
            \n\
            You are invited.\n\
            --a\n\
            Content-Type: text/calendar; method=REQUEST; charset=utf-8\n\
            \n\
            BEGIN:VCALENDAR\n\
            END:VCALENDAR\n\
            --a--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "You are invited.");
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename, "attachment-1.ics");
        assert_eq!(
            mail.attachments[0].content_type,
            "text/calendar; charset=utf-8"
        );
    }
}
