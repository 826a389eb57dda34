//! Which of a mail's parts go on its article, and which stay with the received message only.
//! Nothing is refused or dropped for what a mail carries:
//!
//! - The HTML copy (`message.html`, sanitised) comes first. The inline images it shows by
//!   `cid:` are put into it as `data:` addresses, so it shows them wherever it is opened; they
//!   are not attachments of their own and do not count against the limits (as long as the copy
//!   stays within one attachment's size; an image that would not fit is filed like any part).
//! - Then every other part, in the mail's order, while the [`ArticleLimits`] allow: a part
//!   larger than one attachment may be stays with the message; once the article has as many
//!   attachments, or as many bytes, as it takes, so do the parts after it that do not fit.
//! - What stays is named in an internal note on the ticket ([`left_over_note`]), each part with
//!   the address it is downloaded from: [`part_path`], served from the received message to
//!   whoever may see the ticket.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;

use base64::Engine as _;
use docket_proto::ticket::v1 as pb;

use crate::domain::{ArticleLimits, InboundId};
use crate::parse::{ParsedMail, Part};

/// The HTML copy's file name on the article.
pub(crate) const HTML_COPY: &str = "message.html";
/// What the HTML copy starts with, so that it shows in UTF-8 wherever it is opened.
const HTML_PREFIX: &str = "<!DOCTYPE html>\n<meta charset=\"utf-8\">\n";

/// Why a part stayed with the received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Larger than one attachment may be.
    TooLarge,
    /// The article had as many attachments as it takes.
    TooMany,
    /// The article's attachments were as large together as it takes.
    TooMuch,
}

/// A part of the mail that is not on its article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Its place among the mail's parts ([`ParsedMail::attachments`]), from 0: what
    /// [`part_path`] names.
    pub index: usize,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    pub why: Why,
}

/// What stayed with the received message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftOver {
    pub parts: Vec<SetAside>,
    /// The size of the HTML copy when it is larger than one attachment may be.
    pub html_bytes: Option<usize>,
}

impl LeftOver {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.html_bytes.is_none()
    }

    /// For the received message's reason: what the note on the ticket names.
    pub fn summary(&self) -> Option<String> {
        match (self.parts.len(), self.html_bytes) {
            (0, None) => None,
            (0, Some(_)) => Some("the HTML copy is kept with the received message only".into()),
            (1, _) => Some("1 part is kept with the received message only (see the note)".into()),
            (n, _) => Some(format!(
                "{n} parts are kept with the received message only (see the note)"
            )),
        }
    }
}

/// A mail's parts, filed: what goes on the article, what stays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filing {
    pub attachments: Vec<pb::NewAttachment>,
    pub left_over: LeftOver,
}

/// Files `mail`'s HTML copy and parts within `limits` (see the module documentation).
pub fn file_parts(mail: &ParsedMail, limits: &ArticleLimits) -> Filing {
    let mut filing = Filing::default();
    let mut embedded = vec![false; mail.attachments.len()];
    let mut total = 0_usize;
    if let Some(html) = &mail.html {
        let room = limits
            .max_attachment_bytes
            .min(limits.max_total_bytes)
            .saturating_sub(HTML_PREFIX.len());
        if html.len() > room {
            filing.left_over.html_bytes = Some(html.len());
        } else {
            let (html, shown) = embed_inline_images(html, &mail.attachments, room);
            for index in shown {
                embedded[index] = true;
            }
            // Served as bytes to save (active content): the file says its own charset.
            let copy = format!("{HTML_PREFIX}{html}");
            total += copy.len();
            filing.attachments.push(pb::NewAttachment {
                filename: HTML_COPY.into(),
                content_type: "text/html; charset=utf-8".into(),
                content: copy.into_bytes(),
            });
        }
    }
    for (index, part) in mail.attachments.iter().enumerate() {
        if embedded[index] {
            continue;
        }
        let size = part.content.len();
        let why = if size > limits.max_attachment_bytes {
            Some(Why::TooLarge)
        } else if filing.attachments.len() >= limits.max_attachments {
            Some(Why::TooMany)
        } else if total + size > limits.max_total_bytes {
            Some(Why::TooMuch)
        } else {
            None
        };
        match why {
            Some(why) => filing.left_over.parts.push(SetAside {
                index,
                filename: part.filename.clone(),
                content_type: part.content_type.clone(),
                size,
                why,
            }),
            None => {
                total += size;
                filing.attachments.push(pb::NewAttachment {
                    filename: part.filename.clone(),
                    content_type: part.content_type.clone(),
                    content: part.content.clone(),
                });
            }
        }
    }
    filing
}

/// Where part `index` of received message `id` is downloaded from (REST, for agents who see
/// its ticket).
pub fn part_path(id: InboundId, index: usize) -> String {
    format!("/api/v1/mail/messages/{id}/parts/{index}")
}

/// The internal note naming what stayed with received message `id`; `None` when nothing did.
/// Ticket core stores it once per message.
pub fn left_over_note(
    id: InboundId,
    left_over: &LeftOver,
    limits: &ArticleLimits,
) -> Option<pb::NewArticle> {
    if left_over.is_empty() {
        return None;
    }
    let mut body = format!(
        "Not all of this mail fits on its article (at most {} attachments, each up to {} and {} \
         together). The received mail keeps the rest, byte for byte",
        limits.max_attachments,
        size_text(limits.max_attachment_bytes),
        size_text(limits.max_total_bytes),
    );
    if left_over.parts.is_empty() {
        body.push_str(".\n");
    } else {
        body.push_str("; download them here:\n\n");
    }
    for part in &left_over.parts {
        let why = match part.why {
            Why::TooLarge => "larger than one attachment may be",
            Why::TooMany => "more attachments than an article takes",
            Why::TooMuch => "more bytes than an article takes",
        };
        let _ = writeln!(
            body,
            "- {} ({}, {}; {why}): {}",
            part.filename,
            part.content_type,
            size_text(part.size),
            part_path(id, part.index),
        );
    }
    if let Some(bytes) = left_over.html_bytes {
        let _ = writeln!(
            body,
            "\nThe HTML copy of the mail ({}) is larger than one attachment may be; the text \
             above is the mail's text, and the received mail keeps the HTML.",
            size_text(bytes)
        );
    }
    Some(pb::NewArticle {
        sender: pb::SenderType::System.into(),
        channel: pb::Channel::Note.into(),
        visible_to_customer: false,
        subject: "Parts kept with the received mail".into(),
        body,
        attachments: Vec::new(),
        time_minutes: 0,
        idempotency_key: format!("mail:{id}:left-over"),
        automatic: true,
    })
}

/// `512 B`, `3.5 KiB`, `12.0 MiB`.
fn size_text(bytes: usize) -> String {
    const KIB: usize = 1024;
    // Shown with one decimal; exact enough for people.
    #[allow(clippy::cast_precision_loss)]
    let scaled = |unit: usize| bytes as f64 / unit as f64;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < KIB * KIB {
        format!("{:.1} KiB", scaled(KIB))
    } else {
        format!("{:.1} MiB", scaled(KIB * KIB))
    }
}

/// `html` with the images it shows by `cid:` put in as `data:` addresses, as long as it stays
/// within `room` bytes; and the indexes of the parts put in. Only images (`image/…`) are, and
/// only where a `src` names them (the sanitiser writes attributes in double quotes).
fn embed_inline_images(html: &str, parts: &[Part], room: usize) -> (String, Vec<usize>) {
    const SRC: &str = "src=\"";
    let by_cid: HashMap<&str, usize> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.content_type.starts_with("image/"))
        .filter_map(|(i, p)| p.content_id.as_deref().map(|cid| (cid, i)))
        .collect();
    // Every `src="cid:…"` value, in order, with the part it names.
    let mut references: Vec<(Range<usize>, usize)> = Vec::new();
    let mut from = 0;
    while let Some(at) = html[from..].find(SRC) {
        let start = from + at + SRC.len();
        let Some(len) = html[start..].find('"') else {
            break;
        };
        let value = &html[start..start + len];
        if let Some(cid) = value
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("cid:"))
            .and(value.get(4..))
            && let Some(&index) = by_cid.get(cid.replace("&amp;", "&").as_str())
        {
            references.push((start..start + len, index));
        }
        from = start + len;
    }
    let mut uris: HashMap<usize, String> = HashMap::new();
    let mut tried = HashSet::new();
    let mut size = html.len();
    for (_, index) in &references {
        if !tried.insert(*index) {
            continue;
        }
        let (uses, replaced) = references
            .iter()
            .filter(|(_, i)| i == index)
            .fold((0, 0), |(n, len), (r, _)| (n + 1, len + r.len()));
        let uri = data_uri(&parts[*index]);
        // An image that does not fit is put in nowhere (and is filed as a part).
        let grown = size - replaced + uri.len() * uses;
        if grown <= room {
            size = grown;
            uris.insert(*index, uri);
        }
    }
    if uris.is_empty() {
        return (html.to_owned(), Vec::new());
    }
    let mut out = String::with_capacity(size);
    let mut last = 0;
    for (range, index) in &references {
        if let Some(uri) = uris.get(index) {
            out.push_str(&html[last..range.start]);
            out.push_str(uri);
            last = range.end;
        }
    }
    out.push_str(&html[last..]);
    let mut shown: Vec<usize> = uris.into_keys().collect();
    shown.sort_unstable();
    (out, shown)
}

fn data_uri(part: &Part) -> String {
    let mime = part
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&part.content);
    format!("data:{mime};base64,{encoded}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn part(name: &str, content_type: &str, size: usize, cid: Option<&str>) -> Part {
        Part {
            filename: name.into(),
            content_type: content_type.into(),
            content: vec![b'x'; size],
            inline: cid.is_some(),
            content_id: cid.map(str::to_owned),
        }
    }

    fn names(filing: &Filing) -> Vec<&str> {
        filing
            .attachments
            .iter()
            .map(|a| a.filename.as_str())
            .collect()
    }

    /// Six signature logos shown inline and fifteen PDFs: the Outlook mail that was refused.
    fn outlook() -> ParsedMail {
        let mut html = String::from("<p>Regards</p>");
        let mut attachments = Vec::new();
        for n in 1..=6 {
            html.push_str(&format!("<img src=\"cid:image00{n}.png@01DA0000.0000\">"));
            attachments.push(part(
                &format!("image00{n}.png"),
                "image/png",
                2_000,
                Some(&format!("image00{n}.png@01DA0000.0000")),
            ));
        }
        for n in 1..=15 {
            attachments.push(part(
                &format!("invoice-{n}.pdf"),
                "application/pdf",
                100_000,
                None,
            ));
        }
        ParsedMail {
            html: Some(html),
            attachments,
            ..ParsedMail::default()
        }
    }

    #[test]
    fn inline_images_go_into_the_html_copy_and_do_not_count() {
        let filing = file_parts(&outlook(), &ArticleLimits::default());
        assert!(filing.left_over.is_empty(), "{:?}", filing.left_over);
        assert_eq!(filing.attachments.len(), 16);
        assert_eq!(names(&filing)[0], HTML_COPY);
        assert_eq!(names(&filing)[1], "invoice-1.pdf");
        let html = String::from_utf8(filing.attachments[0].content.clone()).unwrap();
        assert!(html.starts_with(HTML_PREFIX), "{html}");
        assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 6);
        assert!(!html.contains("cid:"), "{html}");
        assert!(
            left_over_note(
                InboundId::new(),
                &filing.left_over,
                &ArticleLimits::default()
            )
            .is_none()
        );
    }

    #[test]
    fn parts_beyond_the_count_stay_with_the_message_and_are_named_with_their_address() {
        let mut mail = outlook();
        for n in 16..=22 {
            mail.attachments.push(part(
                &format!("invoice-{n}.pdf"),
                "application/pdf",
                10,
                None,
            ));
        }
        let limits = ArticleLimits::default();
        let id = InboundId::new();
        let filing = file_parts(&mail, &limits);
        assert_eq!(filing.attachments.len(), 20);
        assert_eq!(names(&filing)[19], "invoice-19.pdf");
        let left: Vec<_> = filing
            .left_over
            .parts
            .iter()
            .map(|p| (p.index, p.why))
            .collect();
        // Parts 0-5 are the logos, 6-20 invoices 1-15, 21-27 invoices 16-22.
        assert_eq!(
            left,
            [(25, Why::TooMany), (26, Why::TooMany), (27, Why::TooMany)]
        );
        let note = left_over_note(id, &filing.left_over, &limits).unwrap();
        assert!(!note.visible_to_customer);
        assert!(note.automatic);
        assert_eq!(note.idempotency_key, format!("mail:{id}:left-over"));
        assert!(
            note.body.contains(&format!(
                "- invoice-20.pdf (application/pdf, 10 B; more attachments than an article \
                 takes): /api/v1/mail/messages/{id}/parts/25"
            )),
            "{}",
            note.body
        );
        assert_eq!(note.body.matches("/parts/").count(), 3);
        assert_eq!(
            filing.left_over.summary().unwrap(),
            "3 parts are kept with the received message only (see the note)"
        );
    }

    #[test]
    fn a_part_over_the_size_limit_stays_and_later_small_ones_still_fit() {
        let limits = ArticleLimits::new(20, 1_000, 1_500).unwrap();
        let mail = ParsedMail {
            attachments: vec![
                part("big.iso", "application/octet-stream", 1_001, None),
                part("a.pdf", "application/pdf", 900, None),
                part("b.pdf", "application/pdf", 700, None),
                part("c.txt", "text/plain; charset=utf-8", 600, None),
            ],
            ..ParsedMail::default()
        };
        let id = InboundId::new();
        let filing = file_parts(&mail, &limits);
        assert_eq!(names(&filing), ["a.pdf", "c.txt"]);
        let left: Vec<_> = filing
            .left_over
            .parts
            .iter()
            .map(|p| (p.index, p.why))
            .collect();
        assert_eq!(left, [(0, Why::TooLarge), (2, Why::TooMuch)]);
        let note = left_over_note(id, &filing.left_over, &limits).unwrap();
        assert!(
            note.body.contains(
                "big.iso (application/octet-stream, 1001 B; larger than one attachment may be)"
            ),
            "{}",
            note.body
        );
        assert!(
            note.body.contains("each up to 1000 B and 1.5 KiB together"),
            "{}",
            note.body
        );
    }

    #[test]
    fn an_html_copy_too_large_is_named_and_its_images_are_filed_as_parts() {
        let limits = ArticleLimits::new(20, 100, 1_000).unwrap();
        let mail = ParsedMail {
            html: Some(format!("<p>{}</p><img src=\"cid:logo\">", "x".repeat(200))),
            attachments: vec![part("logo.png", "image/png", 10, Some("logo"))],
            ..ParsedMail::default()
        };
        let id = InboundId::new();
        let filing = file_parts(&mail, &limits);
        assert_eq!(names(&filing), ["logo.png"]);
        assert_eq!(filing.left_over.html_bytes, Some(227));
        let note = left_over_note(id, &filing.left_over, &limits).unwrap();
        assert!(
            note.body.contains("The HTML copy of the mail (227 B)"),
            "{}",
            note.body
        );
        assert!(!note.body.contains("/parts/"));
    }

    #[test]
    fn only_images_that_fit_are_put_in_and_each_once_however_often_shown() {
        // Room for the HTML and one image (shown twice), not for the second.
        let html = "<p title=\"say \"cid:a\"\"></p><img src=\"cid:a\"><img src=\"CID:a\">\
                    <img src=\"cid:b\"><img src=\"cid:doc\">";
        let parts = [
            part("a.png", "image/png", 30, Some("a")),
            part("b.png", "image/png", 300, Some("b")),
            part("doc.pdf", "application/pdf", 10, Some("doc")),
        ];
        let (out, shown) = embed_inline_images(html, &parts, 250);
        assert_eq!(shown, [0]);
        assert_eq!(out.matches("data:image/png;base64,").count(), 2, "{out}");
        assert!(
            out.contains("src=\"cid:b\"") && out.contains("src=\"cid:doc\""),
            "{out}"
        );
        assert!(out.starts_with("<p title=\"say \"cid:a\"\">"), "{out}");
        assert!(out.len() <= 250);
        let (same, none) = embed_inline_images("<p>no images</p>", &parts, 10_000);
        assert_eq!((same.as_str(), none.len()), ("<p>no images</p>", 0));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(3_584), "3.5 KiB");
        assert_eq!(size_text(12 * 1024 * 1024), "12.0 MiB");
    }
}
