//! Before MIME: is this a message at all, and the repairs mail-parser cannot do itself.

use std::borrow::Cow;

use mail_parser::{Message, MessageParser};

use super::mime::Declared;
use super::{ParseError, Warnings};

/// Checks that the input starts with a header field and repairs what would hide the headers
/// from mail-parser: a byte order mark, leading blank lines, an mbox `From ` line, bare CR line
/// endings.
pub(super) fn prepare<'r>(
    raw: &'r [u8],
    warnings: &mut Warnings,
) -> Result<Cow<'r, [u8]>, ParseError> {
    if raw.is_empty() {
        return Err(ParseError::NotAMessage("the input is empty".into()));
    }
    let mut rest = raw;
    if let Some(stripped) = rest.strip_prefix(b"\xEF\xBB\xBF") {
        rest = stripped;
        warnings.push("a byte order mark before the headers was removed");
    }
    let blank = rest
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if blank > 0 {
        rest = rest.get(blank..).unwrap_or_default();
        warnings.push("blank lines before the headers were removed");
    }
    if rest.starts_with(b"From ") {
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        rest = rest.get(line_end..).unwrap_or_default();
        warnings.push("an mbox \"From \" line before the headers was removed");
    }
    if rest.is_empty() {
        return Err(ParseError::NotAMessage(
            "the input has no header fields".into(),
        ));
    }
    if !starts_with_header_field(rest) {
        return Err(ParseError::NotAMessage(
            "the input does not start with a header field (\"Name: value\")".into(),
        ));
    }
    let mut input = Cow::Borrowed(rest);
    if bare_cr_line_endings(rest) {
        warnings.push("bare CR line endings were read as line breaks");
        input = Cow::Owned(cr_to_lf(rest));
    }
    if !input.ends_with(b"\n") {
        // mail-parser drops a last header field that no line break ends.
        input.to_mut().push(b'\n');
    }
    Ok(input)
}

/// Whether bare CRs (not followed by LF) are the line endings: they outnumber the LFs. A
/// message written with CR line endings may still end in CRLF or LF (the LMTP terminator, an
/// upload that added one), so "no LF at all" is not the test.
fn bare_cr_line_endings(bytes: &[u8]) -> bool {
    let mut bare_cr = 0usize;
    let mut lf = 0usize;
    let mut after_cr = false;
    for &b in bytes {
        match b {
            b'\n' => {
                lf += 1;
                after_cr = false;
            }
            b'\r' => {
                if after_cr {
                    bare_cr += 1;
                }
                after_cr = true;
            }
            _ => {
                if after_cr {
                    bare_cr += 1;
                }
                after_cr = false;
            }
        }
    }
    if after_cr {
        bare_cr += 1;
    }
    bare_cr > lf
}

/// Every line ending (CRLF, bare CR, LF) as LF.
fn cr_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        if b == b'\r' {
            if iter.peek() == Some(&&b'\n') {
                iter.next();
            }
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

/// `Name:` or `Name :` with a name of printable ASCII, as RFC 5322 (and its obsolete syntax)
/// allows.
fn starts_with_header_field(bytes: &[u8]) -> bool {
    let name_len = bytes
        .iter()
        .take_while(|&&b| (33..=126).contains(&b) && b != b':')
        .count();
    if name_len == 0 || name_len > 998 {
        return false;
    }
    bytes
        .get(name_len..)
        .unwrap_or_default()
        .iter()
        .find(|&&b| b != b' ' && b != b'\t')
        == Some(&b':')
}

pub(super) enum MimeFailure {
    NoHeaders,
    Panicked,
}

/// mail-parser is meant never to panic, but its debug assertions do fire on some broken nesting
/// (0.11.9: a message/rfc822 directly inside another, in a multipart); release builds go on.
pub(super) fn parse_mime(input: &[u8]) -> Result<Message<'_>, MimeFailure> {
    match std::panic::catch_unwind(|| MessageParser::default().parse(input)) {
        Ok(Some(message)) if !message.parts.is_empty() => Ok(message),
        Ok(_) => Err(MimeFailure::NoHeaders),
        Err(_) => {
            tracing::warn!(bytes = input.len(), "mail-parser panicked on a message");
            Err(MimeFailure::Panicked)
        }
    }
}

/// Where the blank line after the header fields starts (the input's end if there is none).
pub(super) fn header_block_end(input: &[u8]) -> usize {
    let mut start = 0;
    for line in input.split_inclusive(|&b| b == b'\n') {
        if matches!(line, b"\n" | b"\r\n") {
            return start;
        }
        start += line.len();
    }
    input.len()
}

/// The input with header fields (each ending in a line break) inserted at `at`.
pub(super) fn insert_header_fields(input: &[u8], at: usize, fields: &str) -> Vec<u8> {
    let (head, rest) = input.split_at_checked(at).unwrap_or((input, &[]));
    let mut out = Vec::with_capacity(input.len() + fields.len() + 1);
    out.extend_from_slice(head);
    if !head.is_empty() && !head.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(fields.as_bytes());
    out.extend_from_slice(rest);
    out
}

/// A root multipart whose boundary is missing or wrong, but whose body has a delimiter line
/// followed by a part header: the message again with a Content-Type that names that boundary,
/// and the boundary.
pub(super) fn repair_root_boundary(message: &Message<'_>) -> Option<(Vec<u8>, String)> {
    let input = message.raw_message.as_ref();
    let root = message.parts.first()?;
    let declared = Declared::of(root);
    if declared.ctype != "multipart" || root.is_multipart() {
        return None;
    }
    let body = input.get(root.offset_body as usize..)?;
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let boundary = loop {
        let line = lines.next()?;
        let Some(token) = line.strip_prefix(b"--") else {
            continue;
        };
        let is_boundary = (1..=70).contains(&token.len())
            && !token.ends_with(b" ")
            && token
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(b));
        let next = lines.clone().next().unwrap_or_default();
        if is_boundary && (next.is_empty() || starts_with_header_field(next)) {
            break String::from_utf8_lossy(token).into_owned();
        }
    };
    // mail-parser lets the last Content-Type win: put ours at the end of the header block.
    let fields = format!(
        "Content-Type: {}; boundary=\"{boundary}\"\n",
        declared.mime()
    );
    let at = header_block_end(input).min(root.offset_body as usize);
    Some((insert_header_fields(input, at, &fields), boundary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::parse_ok;
    use crate::parse::{Limits, parse};

    #[test]
    fn line_ending_repairs() {
        let mail = parse_ok(b"Subject: cr only\rFrom: a@b.c\r\rbody line\r");
        assert_eq!(mail.subject, "cr only");
        assert_eq!(mail.text, "body line");
        assert!(mail.warnings.iter().any(|w| w.contains("CR")));

        let mail = parse_ok(b"Subject: crlf\r\n\r\nline 1\r\nline 2\r\n");
        assert_eq!(mail.text, "line 1\nline 2");

        let mail =
            parse_ok(b"From someone@example.com Sat Jan  3 01:05:34 1996\nSubject: mbox\n\nx\n");
        assert_eq!(mail.subject, "mbox");
        assert!(mail.warnings.iter().any(|w| w.contains("mbox")));

        let mail = parse_ok(b"Subject: nul\n\na\0b\n");
        assert_eq!(mail.text, "ab");
        assert!(mail.warnings.iter().any(|w| w.contains("NUL")));
    }

    #[test]
    fn bare_cr_detection() {
        assert!(bare_cr_line_endings(b"A: 1\rB: 2\r\rbody\r"));
        // The LMTP terminator (or an upload) adds a CRLF to a CR-only message.
        assert!(bare_cr_line_endings(b"A: 1\rB: 2\r\rbody\r\r\n"));
        assert!(!bare_cr_line_endings(b"A: 1\r\nB: 2\r\n\r\nbody\r\n"));
        assert!(!bare_cr_line_endings(b"A: 1\nB: 2\n\nbody\n"));
        // A stray CR in an otherwise LF message is left alone.
        assert!(!bare_cr_line_endings(b"A: 1\nB: 2\r\n\nx\ry\n"));
        assert!(!bare_cr_line_endings(b""));
        assert_eq!(cr_to_lf(b"a\rb\r\nc\nd\r"), b"a\nb\nc\nd\n");
    }

    #[test]
    fn cr_only_message_with_an_lmtp_terminator() {
        let mail = parse_ok(b"Subject: cr only\rFrom: a@b.c\r\rbody\rline 2\r\r\n");
        assert_eq!(mail.subject, "cr only");
        assert_eq!(mail.from, Some(crate::parse::tests::addr(None, "a@b.c")));
        assert_eq!(mail.text, "body\nline 2");
        assert!(mail.warnings.iter().any(|w| w.contains("CR")));
    }

    /// One message written with `eol` line endings.
    fn message_with(
        eol: &str,
        subject: &str,
        name: &str,
        lines: &[String],
        multipart: bool,
    ) -> Vec<u8> {
        let mut head = vec![
            format!("Subject: {subject}"),
            format!("From: {name} <sender@example.com>"),
        ];
        let mut body: Vec<String> = Vec::new();
        if multipart {
            head.push("Content-Type: multipart/mixed; boundary=\"b\"".to_owned());
            body.push("--b".to_owned());
            body.push("Content-Type: text/plain; charset=utf-8".to_owned());
            body.push(String::new());
            body.extend(lines.iter().cloned());
            body.push("--b--".to_owned());
        } else {
            body.extend(lines.iter().cloned());
        }
        let mut out = head.join(eol);
        out.push_str(eol);
        out.push_str(eol);
        for line in body {
            out.push_str(&line);
            out.push_str(eol);
        }
        out.into_bytes()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The same message with CR, LF or CRLF line endings, and with the CRLF an LMTP
        /// terminator adds, reads the same.
        #[test]
        fn line_endings_do_not_change_what_is_read(
            subject in "[A-Za-z0-9]{1,8}( [A-Za-z0-9]{1,8}){0,4}",
            name in "[A-Za-z]{1,12}",
            lines in proptest::collection::vec("[A-Za-z0-9.,!?]([A-Za-z0-9 .,!?]{0,30}[A-Za-z0-9.,!?])?", 1..6),
            multipart in proptest::prelude::any::<bool>(),
        ) {
            let reference = parse_ok(&message_with("\n", &subject, &name, &lines, multipart));
            proptest::prop_assert_eq!(&reference.subject, &subject);
            proptest::prop_assert_eq!(reference.text.clone(), lines.join("\n"));
            for eol in ["\r", "\r\n"] {
                let mut raw = message_with(eol, &subject, &name, &lines, multipart);
                for terminated in [false, true] {
                    if terminated {
                        raw.extend_from_slice(b"\r\n");
                    }
                    let mail = parse_ok(&raw);
                    proptest::prop_assert_eq!(&mail.subject, &reference.subject);
                    proptest::prop_assert_eq!(&mail.from, &reference.from);
                    proptest::prop_assert_eq!(&mail.text, &reference.text);
                }
            }
        }
    }

    #[test]
    fn not_a_message() {
        let limits = Limits::default();
        for raw in [
            &b""[..],
            b"\n\n\n",
            b"\x00\x01\x02binary:garbage",
            b"hello world\nno headers\n",
        ] {
            match parse(raw, &limits) {
                Err(ParseError::NotAMessage(reason)) => assert!(!reason.is_empty()),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
        assert_eq!(
            parse(b"", &limits).unwrap_err().to_string(),
            "this is not a mail message: the input is empty"
        );
        // Only headers, no body: still a message.
        assert_eq!(parse_ok(b"Subject: only headers").subject, "only headers");
    }

    #[test]
    fn wrong_root_boundary_is_repaired_from_the_body() {
        let raw = "Subject: wrong\n\
            Content-Type: multipart/alternative; boundary=\"declared\"\n\
            \n\
            preamble\n\
            --actual\n\
            Content-Type: text/plain\n\
            \n\
            Plain.\n\
            --actual\n\
            Content-Type: text/html\n\
            \n\
            <p>HTML</p>\n\
            --actual--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.subject, "wrong");
        assert_eq!(mail.text, "Plain.");
        assert_eq!(mail.html.as_deref(), Some("<p>HTML</p>"));
        assert!(
            mail.warnings.iter().any(|w| w.contains("\"actual\"")),
            "{:?}",
            mail.warnings
        );
        // A delimiter-like line that is not followed by a part header is left alone.
        let text = "Subject: t\nContent-Type: multipart/mixed\n\n-----Original Message-----\nhi\n";
        let mail = parse_ok(text.as_bytes());
        assert!(mail.text.contains("Original Message"));
    }

    #[test]
    fn mail_parser_panics_fall_back_to_raw_text() {
        // mail-parser 0.11.9's debug assertion fires on this (debug builds only).
        let raw = "Subject: nested\n\
            Content-Type: multipart/mixed; boundary=\"l0\"\n\
            \n\
            --l0\n\
            Content-Type: message/rfc822\n\
            \n\
            Content-Type: message/rfc822\n\
            \n\
            \n\
            --l0--\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.subject, "nested");
        if cfg!(debug_assertions) {
            assert!(
                mail.warnings.iter().any(|w| w.contains("MIME structure")),
                "{:?}",
                mail.warnings
            );
            assert!(mail.text.contains("--l0"), "{:?}", mail.text);
        }
    }

    #[test]
    fn header_block_helpers() {
        assert_eq!(header_block_end(b"A: 1\nB: 2\n\nbody"), 10);
        assert_eq!(header_block_end(b"A: 1\r\n\r\nbody"), 6);
        assert_eq!(header_block_end(b"A: 1\n"), 5);
        assert_eq!(
            insert_header_fields(b"A: 1\n\nx", 5, "B: 2\n"),
            b"A: 1\nB: 2\n\nx"
        );
        assert_eq!(insert_header_fields(b"A: 1", 4, "B: 2\n"), b"A: 1\nB: 2\n");
    }
}
