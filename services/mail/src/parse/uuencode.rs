//! uuencoded files inside a text body (`begin 644 name` … `end`, as old mailers and scripts
//! still send them): each becomes an attachment with its name and a content type guessed from
//! it, and the body keeps the text around them. A block that does not decode (a line outside the
//! uuencode alphabet, no `end`) stays text.

use super::attachments::content_type_for_name;
use super::extract::Extractor;

/// A file found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UuFile {
    pub(super) name: String,
    pub(super) content: Vec<u8>,
}

/// What [`split_uuencoded`] found: the text without the blocks, the files in order, and whether
/// a `begin` line was followed by something that is not uuencode.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) text: String,
    pub(super) files: Vec<UuFile>,
    pub(super) left_as_text: bool,
}

impl<'x> Extractor<'_, 'x> {
    /// The text with its uuencoded files taken out and attached.
    pub(super) fn take_uuencoded(&mut self, text: String) -> String {
        if !text.contains("begin ") {
            return text;
        }
        let split = split_uuencoded(&text);
        if split.left_as_text {
            self.warnings
                .push("a \"begin\" line not followed by uuencoded data was left in the text");
        }
        if split.files.is_empty() {
            return text;
        }
        self.warnings.push(format!(
            "{} uuencoded files in the text were taken out as attachments",
            split.files.len()
        ));
        for file in split.files {
            let content_type = content_type_for_name(&file.name, &file.content);
            self.push_attachment(Some(&file.name), content_type, file.content, false, None);
        }
        split.text
    }
}

/// Splits a text into the text outside uuencoded blocks and the files inside them. One pass over
/// the lines: a block's lines are held until its `end` decides whether it was one.
pub(super) fn split_uuencoded(text: &str) -> Split {
    let mut split = Split::default();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let Some(name) = begin_line(line) else {
            split.text.push_str(line);
            continue;
        };
        let mut block: Vec<&str> = vec![line];
        let mut content = Vec::new();
        let mut finished = false;
        let mut data_ended = false;
        while let Some(&next) = lines.peek() {
            let trimmed = next.trim_end();
            if trimmed == "end" {
                block.push(next);
                lines.next();
                finished = true;
                break;
            }
            if data_ended && !trimmed.is_empty() {
                break;
            }
            match decode_line(trimmed) {
                Some(bytes) => {
                    if bytes.is_empty() {
                        data_ended = true;
                    }
                    content.extend_from_slice(&bytes);
                    block.push(next);
                    lines.next();
                }
                None => break,
            }
        }
        if finished {
            split.files.push(UuFile {
                name: name.to_owned(),
                content,
            });
            // A block set apart by blank lines leaves one, not two.
            let blank_before = split.text.is_empty()
                || split.text.ends_with("\n\n")
                || split.text.ends_with("\n\r\n");
            if blank_before && lines.peek().is_some_and(|next| next.trim().is_empty()) {
                lines.next();
            }
        } else {
            split.left_as_text = true;
            for held in block {
                split.text.push_str(held);
            }
        }
    }
    split
}

/// The file name of a `begin <mode> <name>` line (mode: three or four octal digits).
fn begin_line(line: &str) -> Option<&str> {
    let rest = line.trim_end().strip_prefix("begin ")?;
    let (mode, name) = rest.split_once(' ')?;
    let name = name.trim();
    ((3..=4).contains(&mode.len())
        && mode.bytes().all(|b| (b'0'..=b'7').contains(&b))
        && !name.is_empty())
    .then_some(name)
}

/// One data line: a length character, then groups of four characters for three bytes each.
/// Missing trailing characters (stripped spaces) count as zero; characters beyond the length
/// (a checksum some encoders add) are ignored. `None` if it is not a uuencoded line.
fn decode_line(line: &str) -> Option<Vec<u8>> {
    let bytes = line.as_bytes();
    let value = |b: u8| (0x20..=0x60).contains(&b).then(|| (b - 0x20) & 0x3f);
    let (&first, data) = bytes.split_first()?;
    let length = usize::from(value(first)?);
    if data.iter().any(|&b| value(b).is_none()) {
        return None;
    }
    let groups = length.div_ceil(3);
    // A line much shorter than it says is not uuencode (prose that starts with a letter).
    if data.len() + 2 < groups * 4 {
        return None;
    }
    let mut out = Vec::with_capacity(groups * 3);
    for group in 0..groups {
        let at = |i: usize| {
            data.get(group * 4 + i)
                .copied()
                .and_then(value)
                .map_or(0u32, u32::from)
        };
        let word = (at(0) << 18) | (at(1) << 12) | (at(2) << 6) | at(3);
        out.extend_from_slice(&[(word >> 16) as u8, (word >> 8) as u8, word as u8]);
    }
    out.truncate(length);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::{attachment_names, parse_ok};

    /// `uuencode` of "Cat" and of the 13 bytes "Hello, world!".
    const CAT: &str = "begin 644 cat.txt\n#0V%T\n`\nend\n";
    const HELLO: &str = "begin 600 hello.txt\n-2&5L;&\\L('=O<FQD(0``\n`\nend\n";

    #[test]
    fn lines_decode() {
        assert_eq!(decode_line("#0V%T").as_deref(), Some(&b"Cat"[..]));
        assert_eq!(
            decode_line("-2&5L;&\\L('=O<FQD(0``").as_deref(),
            Some(&b"Hello, world!"[..])
        );
        // Trailing spaces stripped by a mailer: read as zeros.
        assert_eq!(decode_line("!80").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode_line("`").as_deref(), Some(&b""[..]));
        assert_eq!(decode_line("Dear customer"), None);
        assert_eq!(decode_line("M{}"), None);
        assert_eq!(decode_line(""), None);
    }

    #[test]
    fn begin_lines() {
        assert_eq!(
            begin_line("begin 644 greenball.png\n"),
            Some("greenball.png")
        );
        assert_eq!(begin_line("begin 0644 a b.txt\r\n"), Some("a b.txt"));
        assert_eq!(begin_line("begin 999 x"), None);
        assert_eq!(begin_line("begin 644 "), None);
        assert_eq!(begin_line("begin the meeting at 10"), None);
        assert_eq!(begin_line(" begin 644 x"), None);
    }

    #[test]
    fn blocks_become_files_and_the_text_stays() {
        let text = format!("Hello,\n{CAT}in between\n{HELLO}Bye\n");
        let split = split_uuencoded(&text);
        assert_eq!(split.text, "Hello,\nin between\nBye\n");
        assert_eq!(
            split.files,
            [
                UuFile {
                    name: "cat.txt".into(),
                    content: b"Cat".to_vec()
                },
                UuFile {
                    name: "hello.txt".into(),
                    content: b"Hello, world!".to_vec()
                }
            ]
        );
        assert!(!split.left_as_text);
        let apart = format!("Hello,\n\n{CAT}\nBye\n");
        assert_eq!(split_uuencoded(&apart).text, "Hello,\n\nBye\n");
        // CRLF line endings.
        let split = split_uuencoded(&text.replace('\n', "\r\n"));
        assert_eq!(split.text, "Hello,\r\nin between\r\nBye\r\n");
        assert_eq!(split.files.len(), 2);
    }

    #[test]
    fn what_is_not_uuencode_stays_text() {
        for text in [
            "begin 644 notes.txt\nthese are my notes\nend\n",
            "begin 644 cat.txt\n#0V%T\n`\n",
            "begin 644 cat.txt\n#0V%T\n`\nmore text\nend\n",
        ] {
            let split = split_uuencoded(text);
            assert_eq!(split.text, text);
            assert!(split.files.is_empty());
            assert!(split.left_as_text);
        }
        let plain = "no blocks here\nbegin\n";
        assert_eq!(split_uuencoded(plain).text, plain);
        assert!(!split_uuencoded(plain).left_as_text);
    }

    #[test]
    fn uuencoded_files_in_a_mail_are_attachments() {
        let raw = format!("Subject: uu\nContent-Type: text/plain\n\nSee the file.\n{CAT}Thanks\n");
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "See the file.\nThanks");
        assert_eq!(attachment_names(&mail), ["cat.txt"]);
        assert_eq!(mail.attachments[0].content, b"Cat");
        assert_eq!(
            mail.attachments[0].content_type,
            "text/plain; charset=utf-8"
        );
        assert!(!mail.attachments[0].inline);
        // A text attachment is the file that was sent: not searched for uuencode.
        let raw = format!(
            "Subject: uu\nContent-Type: multipart/mixed; boundary=m\n\n--m\n\
             Content-Type: text/plain\n\nBody\n--m\nContent-Type: text/plain\n\
             Content-Disposition: attachment; filename=raw.txt\n\n{CAT}--m--\n"
        );
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(attachment_names(&mail), ["raw.txt"]);
        assert_eq!(mail.attachments[0].content, CAT.trim_end().as_bytes());
    }
}
