//! The MIME tree: which leaves are the body (text/plain preferred in multipart/alternative,
//! the last HTML alternative kept), which are attachments, and what each part declares.

use std::borrow::Cow;

use mail_parser::{MessagePart, MimeHeaders, PartType};

use super::MIB;
use super::extract::Extractor;
use super::headers::clean_id;
use super::html::{
    MAX_HTML_BYTES, MAX_HTML_DEPTH, escape_html, has_visible_content, html_nesting_depth,
    html_to_text, sanitize_html,
};

/// What a leaf contributes to the body.
enum Body {
    Plain(String),
    Html(String),
}

enum NodeKind {
    Leaf(Option<Body>),
    Alternative,
    Mixed,
}

struct Node {
    kind: NodeKind,
    children: Vec<usize>,
}

/// Text of a subtree: node indices of its text leaves.
#[derive(Debug, Default, Clone)]
struct Pieces {
    text: Vec<TextRef>,
    html: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
enum TextRef {
    Plain(usize),
    FromHtml(usize),
}

/// The MIME headers of a part that decide what it is, lowercased.
pub(super) struct Declared {
    pub(super) ctype: String,
    pub(super) subtype: String,
    pub(super) charset: Option<String>,
    pub(super) disposition: Disposition,
    pub(super) filename: Option<String>,
    pub(super) transfer_encoding: String,
    pub(super) content_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disposition {
    None,
    Inline,
    Attachment,
}

impl Declared {
    pub(super) fn of(part: &MessagePart<'_>) -> Self {
        let (ctype, mut subtype, charset) = match part.content_type() {
            Some(ct) => (
                ct.ctype().trim().to_ascii_lowercase(),
                ct.subtype()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .unwrap_or_default(),
                ct.attribute("charset")
                    .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
                    .filter(|c| !c.is_empty()),
            ),
            None => ("text".to_owned(), "plain".to_owned(), None),
        };
        if ctype == "text" && subtype.is_empty() {
            // `Content-Type: text` alone: RFC 2045 has no default subtype, mail clients read
            // it as text/plain.
            subtype = "plain".to_owned();
        }
        let disposition = match part.content_disposition() {
            Some(d) if d.is_attachment() => Disposition::Attachment,
            Some(d) if d.is_inline() => Disposition::Inline,
            _ => Disposition::None,
        };
        Self {
            ctype,
            subtype,
            charset,
            disposition,
            filename: part
                .attachment_name()
                .map(str::to_owned)
                .filter(|n| !n.trim().is_empty()),
            transfer_encoding: part
                .content_transfer_encoding()
                .map(|e| e.trim().to_ascii_lowercase())
                .unwrap_or_default(),
            content_id: part.content_id().and_then(clean_id),
        }
    }

    pub(super) fn mime(&self) -> String {
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 127
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        if valid(&self.ctype) && valid(&self.subtype) {
            format!("{}/{}", self.ctype, self.subtype)
        } else {
            "application/octet-stream".to_owned()
        }
    }

    pub(super) fn is_message(&self) -> bool {
        self.ctype == "message" && matches!(self.subtype.as_str(), "rfc822" | "global")
    }

    /// text/plain or text/html that is meant to be read as the body. A named part without a
    /// disposition is a file, unless `named_is_body`: the mail has no other text, and a mail
    /// client shows such a part inline.
    fn is_body_text(&self, is_root: bool, named_is_body: bool) -> bool {
        self.ctype == "text"
            && matches!(self.subtype.as_str(), "plain" | "html")
            && match self.disposition {
                Disposition::Inline => true,
                Disposition::Attachment => false,
                Disposition::None => is_root || self.filename.is_none() || named_is_body,
            }
    }

    pub(super) fn describe(&self, id: usize) -> String {
        format!("part {id} ({})", self.mime())
    }
}

impl<'x> Extractor<'_, 'x> {
    /// Walks the MIME tree (iteratively: nesting can be deep), collecting attachments in order
    /// and the text leaves, then picks the body from them.
    pub(super) fn body(&mut self) -> (String, Option<String>) {
        let message = self.message;
        let parts = &message.parts;
        let mut visited = vec![false; parts.len()];
        let mut nodes: Vec<Node> = Vec::new();
        let mut stack: Vec<(usize, usize, Option<usize>)> = vec![(0, 0, None)];
        let mut skipped = 0usize;
        let named_is_body = !parts.iter().enumerate().any(|(id, part)| {
            !matches!(part.body, PartType::Message(_) | PartType::Multipart(_))
                && Declared::of(part).is_body_text(id == 0, false)
        });
        while let Some((id, depth, parent)) = stack.pop() {
            let Some(part) = parts.get(id) else { continue };
            match visited.get_mut(id) {
                Some(seen) if !*seen => *seen = true,
                _ => continue,
            }
            let index = nodes.len();
            let kind = match &part.body {
                PartType::Multipart(children) if depth >= self.limits.max_nesting => {
                    skipped += mark_subtree(parts, children, &mut visited);
                    NodeKind::Mixed
                }
                PartType::Multipart(children) => {
                    for &child in children.iter().rev() {
                        stack.push((child as usize, depth + 1, Some(index)));
                    }
                    if part.is_content_type("multipart", "alternative") {
                        NodeKind::Alternative
                    } else {
                        NodeKind::Mixed
                    }
                }
                _ => NodeKind::Leaf(self.leaf(id, part, named_is_body)),
            };
            nodes.push(Node {
                kind,
                children: Vec::new(),
            });
            if let Some(parent) = parent.and_then(|p| nodes.get_mut(p)) {
                parent.children.push(index);
            }
        }
        if skipped > 0 {
            self.warnings.push(format!(
                "MIME parts nested deeper than {} levels were not read ({skipped} parts)",
                self.limits.max_nesting
            ));
        }

        // Leaves that no multipart lists (possible after mail-parser's repairs) still count.
        let root_index = 0;
        let mut orphans = 0usize;
        for (id, part) in parts.iter().enumerate() {
            if visited.get(id).copied().unwrap_or(true) || part.is_multipart() {
                continue;
            }
            orphans += 1;
            let kind = NodeKind::Leaf(self.leaf(id, part, named_is_body));
            let index = nodes.len();
            nodes.push(Node {
                kind,
                children: Vec::new(),
            });
            if let Some(root) = nodes.get_mut(root_index) {
                root.children.push(index);
            }
        }
        if orphans > 0 {
            self.warnings.push(format!(
                "{orphans} MIME parts outside the multipart structure were recovered"
            ));
        }

        let pieces = body_pieces(&nodes);
        let leaf_text = |index: usize| match nodes.get(index).map(|n| &n.kind) {
            Some(NodeKind::Leaf(Some(Body::Plain(text) | Body::Html(text)))) => text.as_str(),
            _ => "",
        };
        let mut text = String::new();
        for piece in &pieces.text {
            let piece = match *piece {
                TextRef::Plain(index) => Cow::Borrowed(leaf_text(index)),
                TextRef::FromHtml(index) => Cow::Owned(html_to_text(leaf_text(index))),
            };
            let piece = piece.trim_end();
            if piece.trim().is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(piece);
        }
        let text = self.clean_body_text(&text);
        let html = if pieces.html.is_empty() {
            None
        } else {
            let joined: String = pieces.html.iter().map(|&i| leaf_text(i)).collect();
            let joined = self.strip_nul(joined);
            let html =
                if joined.len() > MAX_HTML_BYTES || html_nesting_depth(&joined) > MAX_HTML_DEPTH {
                    self.warnings.push(format!(
                    "the HTML body is larger than {} MiB or nested deeper than {MAX_HTML_DEPTH} \
                     levels; it is shown as plain text",
                    MAX_HTML_BYTES / MIB
                ));
                    format!("<pre>{}</pre>", escape_html(&text))
                } else {
                    sanitize_html(&joined)
                };
            if has_visible_content(&html) {
                Some(html)
            } else {
                self.warnings.push(
                    "the HTML body has nothing to show once sanitised; only its text is kept",
                );
                None
            }
        };
        (text, html)
    }

    fn strip_nul(&mut self, text: String) -> String {
        if text.contains('\0') {
            self.warnings
                .push("NUL characters were removed from the text");
            text.replace('\0', "")
        } else {
            text
        }
    }

    fn clean_body_text(&mut self, text: &str) -> String {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = self.strip_nul(text);
        text.trim_start_matches('\n').trim_end().to_owned()
    }

    /// A leaf: either body text, or an attachment (stored right away, so attachments keep their
    /// order).
    fn leaf(&mut self, id: usize, part: &MessagePart<'x>, named_is_body: bool) -> Option<Body> {
        let declared = Declared::of(part);
        if let PartType::Message(nested) = &part.body {
            self.attach_message(part, Some(nested));
            return None;
        }
        if declared.is_message() {
            self.attach_message(part, None);
            return None;
        }
        if declared.ctype == "multipart" {
            self.warnings.push(format!(
                "{} has no usable boundary; its content is shown as plain text",
                declared.describe(id)
            ));
            return Some(Body::Plain(self.part_text(id, part, &declared)));
        }
        if declared.is_body_text(id == 0, named_is_body) {
            let text = self.part_text(id, part, &declared);
            return Some(if declared.subtype == "html" {
                Body::Html(text)
            } else {
                Body::Plain(self.take_uuencoded(text))
            });
        }
        self.attach_leaf(id, part, &declared);
        None
    }
}

/// Marks every part below `children` as visited without reading it; returns how many.
fn mark_subtree(parts: &[MessagePart<'_>], children: &[u32], visited: &mut [bool]) -> usize {
    let mut count = 0;
    let mut stack: Vec<usize> = children.iter().map(|&c| c as usize).collect();
    while let Some(id) = stack.pop() {
        match visited.get_mut(id) {
            Some(seen) if !*seen => *seen = true,
            _ => continue,
        }
        count += 1;
        if let Some(PartType::Multipart(grandchildren)) = parts.get(id).map(|p| &p.body) {
            stack.extend(grandchildren.iter().map(|&c| c as usize));
        }
    }
    count
}

/// The body of each node, children before parents (nodes are in preorder, so backwards).
/// multipart/alternative prefers a text/plain alternative for the text and the last HTML one for
/// the HTML; other multiparts concatenate.
fn body_pieces(nodes: &[Node]) -> Pieces {
    let mut pieces: Vec<Pieces> = vec![Pieces::default(); nodes.len()];
    for (index, node) in nodes.iter().enumerate().rev() {
        let mut children: Vec<Pieces> = node
            .children
            .iter()
            .map(|&c| pieces.get_mut(c).map(std::mem::take).unwrap_or_default())
            .collect();
        let result = match &node.kind {
            NodeKind::Leaf(Some(Body::Plain(_))) => Pieces {
                text: vec![TextRef::Plain(index)],
                html: Vec::new(),
            },
            NodeKind::Leaf(Some(Body::Html(_))) => Pieces {
                text: vec![TextRef::FromHtml(index)],
                html: vec![index],
            },
            NodeKind::Leaf(None) => Pieces::default(),
            NodeKind::Mixed => {
                let mut all = Pieces::default();
                for child in &mut children {
                    all.text.append(&mut child.text);
                    all.html.append(&mut child.html);
                }
                all
            }
            NodeKind::Alternative => {
                let has_plain = |p: &Pieces| p.text.iter().any(|t| matches!(t, TextRef::Plain(_)));
                let text = children
                    .iter()
                    .find(|p| has_plain(p))
                    .or_else(|| children.iter().find(|p| !p.text.is_empty()))
                    .map(|p| p.text.clone())
                    .unwrap_or_default();
                let html = children
                    .iter()
                    .rev()
                    .find(|p| !p.html.is_empty())
                    .map(|p| p.html.clone())
                    .unwrap_or_default();
                Pieces { text, html }
            }
        };
        if let Some(slot) = pieces.get_mut(index) {
            *slot = result;
        }
    }
    pieces.into_iter().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::parse::tests::parse_ok;
    use crate::parse::{Limits, parse};

    const ALTERNATIVE: &str = "Subject: alt\n\
        MIME-Version: 1.0\n\
        Content-Type: multipart/alternative; boundary=\"b1\"\n\
        \n\
        --b1\n\
        Content-Type: text/plain; charset=utf-8\n\
        \n\
        Plain version\n\
        --b1\n\
        Content-Type: text/html; charset=utf-8\n\
        \n\
        <p>HTML <b>version</b></p>\n\
        --b1--\n";

    #[test]
    fn multipart_alternative_prefers_plain() {
        let mail = parse_ok(ALTERNATIVE.as_bytes());
        assert_eq!(mail.text, "Plain version");
        assert_eq!(mail.html.as_deref(), Some("<p>HTML <b>version</b></p>"));
        assert!(mail.attachments.is_empty());
        assert!(mail.warnings.is_empty(), "{:?}", mail.warnings);
        // The same with the HTML first.
        let swapped = ALTERNATIVE
            .replace("text/plain", "text/TEMP")
            .replace("text/html", "text/plain")
            .replace("text/TEMP", "text/html")
            .replace("Plain version", "<i>x</i>")
            .replace("<p>HTML <b>version</b></p>", "Plain again");
        assert_eq!(parse_ok(swapped.as_bytes()).text, "Plain again");
    }

    #[test]
    fn broken_mime_is_repaired_with_warnings() {
        // A multipart without a boundary parameter.
        let mail = parse_ok(b"Subject: nb\nContent-Type: multipart/mixed\n\nJust text\n");
        assert_eq!(mail.text, "Just text");
        assert!(
            mail.warnings.iter().any(|w| w.contains("boundary")),
            "{:?}",
            mail.warnings
        );

        // Base64 with junk in it.
        let raw = b"Subject: b64\n\
            Content-Type: multipart/mixed; boundary=z\n\
            \n\
            --z\n\
            Content-Type: text/plain\n\
            Content-Transfer-Encoding: base64\n\
            \n\
            SGVs!!bG8g*d29ybGQ=\n\
            --z--\n";
        let mail = parse_ok(raw);
        assert_eq!(mail.text, "Hello world");
        assert!(
            mail.warnings.iter().any(|w| w.contains("base64")),
            "{:?}",
            mail.warnings
        );
    }

    #[test]
    fn content_type_text_without_subtype_is_plain_text() {
        let mail = parse_ok(b"Subject: t\nContent-Type: text\n\nhello\n");
        assert_eq!(mail.text, "hello");
        assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
        let raw = "Subject: t\nContent-Type: multipart/mixed; boundary=m\n\n\
            --m\nContent-Type: text; charset=utf-8\n\nGrüße\n--m--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "Grüße");
        assert!(mail.attachments.is_empty());
    }

    #[test]
    fn named_text_parts_are_the_body_when_there_is_no_other_text() {
        let only_named = "Subject: t\nContent-Type: multipart/mixed; boundary=m\n\n\
            --m\nContent-Type: text/plain; name=\"note.txt\"\n\nnamed text\n\
            --m\nContent-Type: application/pdf; name=\"a.pdf\"\n\n%PDF\n--m--\n";
        let mail = parse_ok(only_named.as_bytes());
        assert_eq!(mail.text, "named text");
        assert_eq!(crate::parse::tests::attachment_names(&mail), ["a.pdf"]);

        // With a body beside it, a named part is a file.
        let with_body = "Subject: t\nContent-Type: multipart/mixed; boundary=m\n\n\
            --m\nContent-Type: text/plain\n\nthe body\n\
            --m\nContent-Type: text/plain; name=\"note.txt\"\n\nnamed text\n--m--\n";
        let mail = parse_ok(with_body.as_bytes());
        assert_eq!(mail.text, "the body");
        assert_eq!(crate::parse::tests::attachment_names(&mail), ["note.txt"]);

        // Content-Disposition: attachment stays a file even with no other text.
        let attached = "Subject: t\nContent-Type: multipart/mixed; boundary=m\n\n\
            --m\nContent-Type: text/plain; name=\"note.txt\"\n\
            Content-Disposition: attachment\n\nnamed text\n--m--\n";
        let mail = parse_ok(attached.as_bytes());
        assert_eq!(mail.text, "");
        assert_eq!(crate::parse::tests::attachment_names(&mail), ["note.txt"]);
    }

    #[test]
    fn deep_nesting_stops_with_a_warning() {
        let mut raw = String::from("Subject: deep\n");
        for level in 0..15 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{level}\"\n\n--b{level}\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\n\nbottom\n");
        for level in (0..15).rev() {
            raw.push_str(&format!("--b{level}--\n"));
        }
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "");
        assert!(
            mail.warnings.iter().any(|w| w.contains("deeper than 10")),
            "{:?}",
            mail.warnings
        );
        let limits = Limits {
            max_nesting: 20,
            ..Limits::default()
        };
        let mail = parse(raw.as_bytes(), &limits).unwrap();
        assert_eq!(mail.text, "bottom");
    }
}
