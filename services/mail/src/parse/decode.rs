//! A part's text: transfer encodings decoded leniently (mail-parser's own decoders give up on
//! the first bad byte) and charsets that lie read as windows-1252, with a warning.

use std::sync::OnceLock;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{MessagePart, PartType};

use super::extract::Extractor;
use super::mime::Declared;

impl<'x> Extractor<'_, 'x> {
    /// The text of a text part, repaired where mail-parser had to guess.
    pub(super) fn part_text(
        &mut self,
        id: usize,
        part: &MessagePart<'x>,
        declared: &Declared,
    ) -> String {
        self.note_charset(declared);
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => {
                if part.is_encoding_problem || text.contains('\u{FFFD}') {
                    let bytes = self.redecode(id, part, declared);
                    self.decode_charset(&bytes, id, declared)
                } else {
                    text.to_string()
                }
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                self.decode_charset(bytes, id, declared)
            }
            PartType::Message(nested) => String::from_utf8_lossy(&nested.raw_message).into_owned(),
            PartType::Multipart(_) => String::new(),
        }
    }

    /// The part's raw body with its transfer encoding removed leniently.
    pub(super) fn redecode(
        &mut self,
        id: usize,
        part: &MessagePart<'x>,
        declared: &Declared,
    ) -> Vec<u8> {
        let raw = self
            .raw()
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default();
        let what = declared.describe(id);
        match declared.transfer_encoding.as_str() {
            "base64" => {
                let decoded = decode_base64_lenient(raw);
                if decoded.junk || part.is_encoding_problem {
                    self.warnings
                        .push(format!("{what}: broken base64 was decoded leniently"));
                }
                if decoded.lines_left_out > 0 {
                    self.warnings.push(format!(
                        "{what}: {} lines that are not base64 were left out",
                        decoded.lines_left_out
                    ));
                }
                decoded.bytes
            }
            "quoted-printable" => {
                if part.is_encoding_problem {
                    self.warnings.push(format!(
                        "{what}: broken quoted-printable was decoded leniently"
                    ));
                }
                decode_quoted_printable_lenient(raw)
            }
            _ => raw.to_vec(),
        }
    }

    fn decode_charset(&mut self, bytes: &[u8], id: usize, declared: &Declared) -> String {
        let label = declared.charset.as_deref().unwrap_or("");
        let decoder = if label.is_empty() || is_utf8_label(label) {
            None
        } else {
            charset_decoder(label.as_bytes())
        };
        match decoder {
            Some(decode) => decode(bytes),
            None => match std::str::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => {
                    let named = if label.is_empty() {
                        "no charset".to_owned()
                    } else {
                        format!("charset {label}")
                    };
                    self.warnings.push(format!(
                        "{}: declared {named} but is not UTF-8; read as windows-1252",
                        declared.describe(id)
                    ));
                    windows_1252(bytes)
                }
            },
        }
    }

    fn note_charset(&mut self, declared: &Declared) {
        let Some(label) = declared.charset.as_deref() else {
            return;
        };
        if is_utf8_label(label) {
            return;
        }
        if charset_decoder(label.as_bytes()).is_none() {
            self.warnings.push(format!(
                "unknown charset {label:?}; the text was read as UTF-8"
            ));
        } else if is_multibyte_label(label) && !multibyte_charsets_supported() {
            self.warnings.push(format!(
                "charset {label} is not supported by this build; the text may be garbled"
            ));
        }
    }
}

fn is_utf8_label(label: &str) -> bool {
    matches!(
        label,
        "utf-8" | "utf8" | "us-ascii" | "ascii" | "ansi_x3.4-1968" | "unicode-1-1-utf-8"
    )
}

fn is_multibyte_label(label: &str) -> bool {
    let label = label.replace('_', "-");
    [
        "shift-jis",
        "shift_jis",
        "sjis",
        "x-sjis",
        "ms932",
        "windows-31j",
        "cp932",
        "euc-jp",
        "iso-2022-jp",
        "euc-kr",
        "ks-c-5601",
        "cp949",
        "big5",
        "gb2312",
        "gbk",
        "gb18030",
        "cp936",
        "hz-gb-2312",
        "iso-2022-kr",
    ]
    .iter()
    .any(|known| label.starts_with(known))
}

/// Whether mail-parser was built with its `full_encoding` feature (multi-byte charsets such as
/// Shift_JIS, ISO-2022-JP, GB2312, Big5); without it they come out as lossy UTF-8.
fn multibyte_charsets_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        charset_decoder(b"shift_jis").is_some_and(|decode| decode(b"\x83n") == "\u{30CF}")
    })
}

pub(super) fn windows_1252(bytes: &[u8]) -> String {
    match charset_decoder(b"windows-1252") {
        Some(decode) => decode(bytes),
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// What [`decode_base64_lenient`] made of a part.
#[derive(Debug, PartialEq, Eq)]
struct Base64 {
    bytes: Vec<u8>,
    /// Characters outside the alphabet were skipped.
    junk: bool,
    /// Lines that are not base64 at all (text a mailer added, a signature): decoding them
    /// would put binary garbage into the text.
    lines_left_out: usize,
}

/// Base64 that skips characters outside the alphabet and lines that are not base64, and keeps
/// a truncated last group.
fn decode_base64_lenient(input: &[u8]) -> Base64 {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut count = 0u8;
    let mut junk = false;
    let mut lines_left_out = 0usize;
    let flush = |out: &mut Vec<u8>, acc: u32, count: u8| match count {
        2 => out.push((acc >> 4) as u8),
        3 => {
            out.push((acc >> 10) as u8);
            out.push((acc >> 2) as u8);
        }
        _ => {}
    };
    for line in input.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if !looks_like_base64(line) {
            lines_left_out += 1;
            continue;
        }
        for &byte in line {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                b'=' => {
                    flush(&mut out, acc, count);
                    acc = 0;
                    count = 0;
                    continue;
                }
                b' ' | b'\t' | b'\r' | b'\n' => continue,
                _ => {
                    junk = true;
                    continue;
                }
            };
            acc = (acc << 6) | u32::from(value);
            count += 1;
            if count == 4 {
                out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                acc = 0;
                count = 0;
            }
        }
    }
    flush(&mut out, acc, count);
    Base64 {
        bytes: out,
        junk,
        lines_left_out,
    }
}

/// A line of base64 has no white space inside and few characters outside the alphabet.
fn looks_like_base64(line: &[u8]) -> bool {
    let in_alphabet = line
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b))
        .count();
    !line.iter().any(|&b| b == b' ' || b == b'\t') && in_alphabet * 4 >= line.len() * 3
}

/// Quoted-printable that keeps a `=` not followed by two hex digits or a line break as it is.
fn decode_quoted_printable_lenient(input: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&byte) = input.get(i) {
        if byte == b'=' {
            let after = input.get(i + 1..).unwrap_or_default();
            let blanks = after
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            let rest = after.get(blanks..).unwrap_or_default();
            if rest.starts_with(b"\r\n") {
                i += 1 + blanks + 2;
                continue;
            }
            if rest.starts_with(b"\n") || (rest.is_empty() && blanks == 0 && i + 1 == input.len()) {
                i += 1 + blanks + 1;
                continue;
            }
            if let (Some(high), Some(low)) = (
                after.first().copied().and_then(hex),
                after.get(1).copied().and_then(hex),
            ) {
                out.push((high << 4) | low);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::parse_ok;

    #[test]
    fn latin1_body_and_encoded_subjects() {
        let raw = b"From: a@example.com\n\
            Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=\n\
            Content-Type: text/plain; charset=ISO-8859-1\n\
            Content-Transfer-Encoding: 8bit\n\
            \n\
            Sch\xf6ne Gr\xfc\xdfe, \xc4rger \xfcber \xd6l\n";
        let mail = parse_ok(raw);
        assert_eq!(mail.subject, "Grüße aus München");
        assert_eq!(mail.text, "Schöne Grüße, Ärger über Öl");

        let mail = parse_ok(b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n\nx\n");
        assert_eq!(mail.subject, "Grüße aus Köln");

        let qp = b"Subject: AW: =?iso-8859-1?q?=DCberweisung?= erhalten\n\
            Content-Type: text/plain; charset=iso-8859-1\n\
            Content-Transfer-Encoding: quoted-printable\n\
            \n\
            Die =DCberweisung ist da. Sch=F6n=\n\
            e Gr=FC=DFe\n";
        let mail = parse_ok(qp);
        assert_eq!(mail.subject, "AW: Überweisung erhalten");
        assert_eq!(mail.text, "Die Überweisung ist da. Schöne Grüße");
    }

    #[test]
    fn japanese_bodies() {
        let sjis = b"Subject: sjis\n\
            Content-Type: text/plain; charset=Shift_JIS\n\
            \n\
            \x83n\x83\x8d\x81[\x81E\x83\x8f\x81[\x83\x8b\x83h\n";
        let jis = b"Subject: jis\n\
            Content-Type: text/plain; charset=ISO-2022-JP\n\
            Content-Transfer-Encoding: 7bit\n\
            \n\
            \x1b$B%O%m!<!&%o!<%k%I\x1b(B\n";
        for raw in [&sjis[..], &jis[..]] {
            let mail = parse_ok(raw);
            if multibyte_charsets_supported() {
                assert_eq!(mail.text, "ハロー・ワールド");
                assert!(mail.warnings.is_empty(), "{:?}", mail.warnings);
            } else {
                // mail-parser without its full_encoding feature: say so instead of hiding it.
                assert!(
                    mail.warnings
                        .iter()
                        .any(|w| w.contains("not supported by this build")),
                    "{:?}",
                    mail.warnings
                );
            }
        }
    }

    #[test]
    fn latin1_declared_as_utf8_is_read_as_windows_1252() {
        let raw = b"Subject: liar\n\
            Content-Type: text/plain; charset=utf-8\n\
            \n\
            Gr\xfc\xdfe \x80 5\n";
        let mail = parse_ok(raw);
        assert_eq!(mail.text, "Grüße € 5");
        assert!(
            mail.warnings.iter().any(|w| w.contains("windows-1252")),
            "{:?}",
            mail.warnings
        );
    }

    #[test]
    fn unknown_charset_is_read_as_utf8_with_a_warning() {
        let raw = "Subject: x\nContent-Type: text/plain; charset=x-klingon\n\nQapla’\n";
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "Qapla’");
        assert!(
            mail.warnings.iter().any(|w| w.contains("x-klingon")),
            "{:?}",
            mail.warnings
        );
    }

    #[test]
    fn broken_base64_text_keeps_what_decodes() {
        let raw = b"Subject: t\n\
            Content-Type: text/plain; charset=utf-8\n\
            Content-Transfer-Encoding: base64\n\
            \n\
            R3LDvMOfZSBhdXMg\n\
            S8O2bG4=\n\
            Sent from my phone, this line is not base64!\n";
        let mail = parse_ok(raw);
        assert_eq!(mail.text, "Grüße aus Köln");
        assert!(
            mail.warnings.iter().any(|w| w.contains("not base64")),
            "{:?}",
            mail.warnings
        );
    }

    #[test]
    fn lenient_decoders() {
        let decoded = |bytes: &[u8], junk: bool, lines_left_out: usize| Base64 {
            bytes: bytes.to_vec(),
            junk,
            lines_left_out,
        };
        assert_eq!(decode_base64_lenient(b"SGVsbG8=").bytes, b"Hello");
        assert_eq!(decode_base64_lenient(b"SGVsbG"), decoded(b"Hell", false, 0));
        assert_eq!(
            decode_base64_lenient(b"SGV\x00sbG8"),
            decoded(b"Hello", true, 0)
        );
        assert_eq!(
            decode_base64_lenient(b"SGVs\r\nbG8=\r\n"),
            decoded(b"Hello", false, 0)
        );
        // Text after the data, or inside it, is not decoded into garbage.
        assert_eq!(
            decode_base64_lenient(b"SGVsbG8gd29ybGQ=\nThis is not base64 at all!\n"),
            decoded(b"Hello world", false, 1)
        );
        assert_eq!(
            decode_base64_lenient(b"SGVsbG8g\n-- \n%%%\x80\x81\xff\nd29ybGQ=\n"),
            decoded(b"Hello world", false, 2)
        );
        assert_eq!(
            decode_quoted_printable_lenient(b"a=3Db=\r\nc=\nd"),
            b"a=bcd"
        );
        assert_eq!(
            decode_quoted_printable_lenient(b"50=% off=ZZ="),
            b"50=% off=ZZ"
        );
        assert_eq!(
            decode_quoted_printable_lenient(b"soft=  \nbreak"),
            b"softbreak"
        );
    }
}
