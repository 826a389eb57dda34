//! Header fields: ids without angle brackets, mailboxes lowercased, the date, the language.

use mail_parser::parsers::MessageStream;
use mail_parser::{
    Addr, Address as MimeAddress, HeaderName, HeaderValue, MessageParser, MessagePart,
};

use super::decode::windows_1252;
use super::{Address, collapse_whitespace};

pub(super) fn first_value<'a, 'x>(
    part: &'a MessagePart<'x>,
    name: &HeaderName<'_>,
) -> Option<&'a HeaderValue<'x>> {
    part.headers
        .iter()
        .find(|h| h.name == *name)
        .map(|h| &h.value)
}

/// Every value of a header, raw (unfolded, trimmed, lossy UTF-8).
pub(super) fn raw_values(raw: &[u8], part: &MessagePart<'_>, name: &str) -> Vec<String> {
    part.headers
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .map(|bytes| {
            String::from_utf8_lossy(bytes)
                .replace(['\r', '\n'], "")
                .trim()
                .to_owned()
        })
        .collect()
}

pub(super) fn ids(part: &MessagePart<'_>, name: &HeaderName<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for header in part.headers.iter().filter(|h| h.name == *name) {
        for id in header.value.as_text_list().unwrap_or_default() {
            if let Some(id) = clean_id(id)
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
    }
    out
}

/// An id without angle brackets, white space or control characters; `None` if empty.
pub(super) fn clean_id(id: &str) -> Option<String> {
    let id: String = id
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && *c != '<' && *c != '>')
        .collect();
    (!id.is_empty()).then_some(id)
}

pub(super) fn address_values(part: &MessagePart<'_>, name: &HeaderName<'_>) -> Vec<Address> {
    let mut out = Vec::new();
    for header in part.headers.iter().filter(|h| h.name == *name) {
        collect_addresses(&header.value, &mut out);
    }
    out
}

/// The addresses of a header whose raw bytes are not UTF-8 (8-bit Latin-1 from old mailers),
/// read as windows-1252 as the subject is; `None` if every such header is UTF-8.
pub(super) fn address_values_8bit(
    raw: &[u8],
    part: &MessagePart<'_>,
    name: &HeaderName<'_>,
) -> Option<Vec<Address>> {
    let mut repaired = false;
    let mut out = Vec::new();
    for header in part.headers.iter().filter(|h| h.name == *name) {
        let bytes = raw.get(header.offset_start as usize..header.offset_end as usize)?;
        if std::str::from_utf8(bytes).is_ok() {
            collect_addresses(&header.value, &mut out);
            continue;
        }
        repaired = true;
        let mut value = windows_1252(bytes);
        if !value.ends_with('\n') {
            value.push('\n');
        }
        collect_addresses(
            &MessageStream::new(value.as_bytes()).parse_address(),
            &mut out,
        );
    }
    repaired.then_some(out)
}

/// Address headers mail-parser keeps raw (Delivered-To, X-Original-To).
pub(super) fn raw_addresses(raw: &[u8], part: &MessagePart<'_>, name: &str) -> Vec<Address> {
    let mut out = Vec::new();
    for value in raw_values(raw, part, name) {
        let value = format!("{value}\n");
        collect_addresses(
            &MessageStream::new(value.as_bytes()).parse_address(),
            &mut out,
        );
    }
    out
}

fn collect_addresses(value: &HeaderValue<'_>, out: &mut Vec<Address>) {
    let HeaderValue::Address(address) = value else {
        return;
    };
    let mut push = |addr: &Addr<'_>| {
        if let Some(address) = to_address(addr) {
            out.push(address);
        }
    };
    match address {
        MimeAddress::List(list) => list.iter().for_each(&mut push),
        MimeAddress::Group(groups) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .for_each(&mut push),
    }
}

fn to_address(addr: &Addr<'_>) -> Option<Address> {
    let email: String = addr
        .address
        .as_deref()?
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_lowercase();
    if !email.contains('@') {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(|n| collapse_whitespace(&n.replace(char::is_control, " ")))
        .filter(|n| !n.is_empty());
    Some(Address { name, email })
}

pub(super) fn date_us(part: &MessagePart<'_>) -> Option<i64> {
    part.headers
        .iter()
        .filter(|h| h.name == HeaderName::Date)
        .find_map(|h| h.value.as_datetime())
        .filter(|d| d.is_valid())
        .and_then(|d| d.to_timestamp().checked_mul(1_000_000))
}

/// `de` of `de-CH`; `None` unless it looks like a language subtag.
pub(super) fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    ((1..=8).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some(primary)
}

/// The subject of a message given as bytes (a nested message mail-parser did not open).
pub(super) fn nested_subject(bytes: &[u8]) -> Option<String> {
    let parsed = std::panic::catch_unwind(|| {
        MessageParser::default().parse_headers(bytes).and_then(|m| {
            m.parts
                .first()
                .and_then(|root| first_value(root, &HeaderName::Subject))
                .and_then(HeaderValue::as_text)
                .map(str::to_owned)
        })
    });
    parsed.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::addr;
    use crate::parse::tests::parse_ok;

    const SIMPLE: &str = "From: \"Ada Lovelace\" <Ada@Example.COM>\n\
        To: support@docket.test, \"Bob\" <BOB@docket.test>, not-an-address\n\
        Cc: Team: carol@example.com, Dan <dan@example.com>;\n\
        Reply-To: replies@example.com\n\
        Subject:   Printer  on fire  \n\
        Message-ID: <abc@example.com>\n\
        In-Reply-To: <one@example.com>\n\
        References: <zero@example.com>\n <one@example.com>\n\
        Date: Sun, 22 Nov 2026 10:00:00 +0100\n\
        Delivered-To: Support@Docket.test\n\
        Delivered-To: inbox@docket.test\n\
        X-Original-To: help@docket.test\n\
        Content-Language: de-CH\n\
        \n\
        Hello,\nthe printer is on fire.\n";

    #[test]
    fn headers_addresses_ids_and_date() {
        let mail = parse_ok(SIMPLE.as_bytes());
        assert_eq!(mail.subject, "Printer on fire");
        assert_eq!(mail.message_id.as_deref(), Some("abc@example.com"));
        assert_eq!(mail.in_reply_to, vec!["one@example.com"]);
        assert_eq!(mail.references, vec!["zero@example.com", "one@example.com"]);
        assert_eq!(
            mail.from,
            Some(addr(Some("Ada Lovelace"), "ada@example.com"))
        );
        assert_eq!(mail.reply_to, Some(addr(None, "replies@example.com")));
        assert_eq!(
            mail.to,
            vec![
                addr(None, "support@docket.test"),
                addr(Some("Bob"), "bob@docket.test")
            ]
        );
        assert_eq!(
            mail.cc,
            vec![
                addr(None, "carol@example.com"),
                addr(Some("Dan"), "dan@example.com")
            ]
        );
        assert_eq!(
            mail.delivered_to,
            vec![
                addr(None, "support@docket.test"),
                addr(None, "inbox@docket.test")
            ]
        );
        assert_eq!(mail.x_original_to, vec![addr(None, "help@docket.test")]);
        // 2026-11-22T09:00:00Z
        assert_eq!(mail.date_us, Some(1_795_338_000_000_000));
        assert_eq!(mail.content_language.as_deref(), Some("de"));
        assert_eq!(mail.text, "Hello,\nthe printer is on fire.");
        assert_eq!(mail.html, None);
        assert!(mail.attachments.is_empty());
        assert_eq!(mail.auto, None);
        assert_eq!(mail.bounce, None);
        assert!(mail.warnings.is_empty(), "{:?}", mail.warnings);
    }

    #[test]
    fn raw_latin1_display_names_are_read_as_windows_1252() {
        let raw = b"From: J\xfcrgen M\xfcller <J@Example.com>\n\
            To: \"B\xe4rbel\" <b@example.com>, plain@example.com\n\
            Cc: =?utf-8?q?J=C3=BCrgen?= <c@example.com>\n\
            Subject: Gr\xfc\xdfe\n\nx\n";
        let mail = parse_ok(raw);
        assert_eq!(
            mail.from,
            Some(addr(Some("Jürgen Müller"), "j@example.com"))
        );
        assert_eq!(
            mail.to,
            vec![
                addr(Some("Bärbel"), "b@example.com"),
                addr(None, "plain@example.com")
            ]
        );
        assert_eq!(mail.cc, vec![addr(Some("Jürgen"), "c@example.com")]);
        assert_eq!(mail.subject, "Grüße");
        assert!(
            mail.warnings.iter().any(|w| w.contains("From")),
            "{:?}",
            mail.warnings
        );
        // Raw UTF-8 is UTF-8.
        let mail = parse_ok("From: Jürgen <j@example.com>\n\nx\n".as_bytes());
        assert_eq!(mail.from, Some(addr(Some("Jürgen"), "j@example.com")));
        assert!(mail.warnings.is_empty(), "{:?}", mail.warnings);
    }

    #[test]
    fn missing_headers_give_empty_values() {
        let mail = parse_ok(b"X-Nothing: here\n\nbody\n");
        assert_eq!(mail.subject, "");
        assert_eq!(mail.message_id, None);
        assert_eq!(mail.from, None);
        assert_eq!(mail.date_us, None);
        assert_eq!(mail.content_language, None);
        assert_eq!(mail.text, "body");
    }

    #[test]
    fn invalid_date_is_none() {
        let mail = parse_ok(b"Date: Blursday, 45 Smarch 20\nSubject: x\n\nbody\n");
        assert_eq!(mail.date_us, None);
    }

    #[test]
    fn language_tags() {
        assert_eq!(primary_language("de-CH").as_deref(), Some("de"));
        assert_eq!(primary_language(" EN_us ").as_deref(), Some("en"));
        assert_eq!(primary_language("x-klingon").as_deref(), Some("x"));
        assert_eq!(primary_language("12"), None);
        assert_eq!(primary_language(""), None);
    }
}
