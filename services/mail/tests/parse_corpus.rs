//! Every file in `tests/corpus/` (malformed and exotic mail, most written by `make_corpus.py`
//! there) is parsed with the default limits: it must not panic, it must meet the expectation in
//! [`expectations`] (a file without one fails the test), and what comes out must hold the
//! invariants every `ParsedMail` promises. Proptests then feed arbitrary bytes and mutated corpus
//! files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, OnceLock};

use docket_mail::parse::{
    AutoKind, Bounce, Limits, ParseError, ParsedMail, SpamRules, SpamVerdict, TicketHooks,
    clean_subject, parse, parse_with, ticket_numbers_in_subject,
};
use proptest::prelude::*;

type Outcome = Result<ParsedMail, ParseError>;
type Check = fn(&Outcome);

/// Files in the corpus folder that are not messages to parse.
const NOT_CORPUS: &[&str] = &["make_corpus.py"];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// (file name, bytes) of every corpus file, sorted by name.
fn corpus() -> &'static [(String, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .filter(|(name, _)| !NOT_CORPUS.contains(&name.as_str()))
            .collect();
        files.sort();
        files
    })
}

/// Every panic in this test process, even those `parse` catches around mail-parser: a panic that
/// is caught is still a bug.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut panics) = PANICS.lock() {
                panics.push(info.to_string());
            }
            default(info);
        }));
    });
}

fn panics_so_far() -> Vec<String> {
    PANICS.lock().map(|p| p.clone()).unwrap_or_default()
}

/// mail-parser 0.11's `debug_assert!(false, …)`s: they fire in debug builds only, on broken
/// nesting, and `parse` recovers from them (the body is then read as raw text). Any other panic,
/// caught or not, fails.
const MAIL_PARSER_DEBUG_ASSERTIONS: &[&str] = &[
    "Invalid part ID, could not find multipart.",
    "Invalid part ID, could not find message.",
    "Failed to restore parent message. Aborting.",
    "This should not have happened.",
];

fn is_known_mail_parser_assertion(panic: &str) -> bool {
    panic.contains("/mail-parser-0.11.")
        && MAIL_PARSER_DEBUG_ASSERTIONS
            .iter()
            .any(|message| panic.contains(message))
}

/// Parses without letting a panic escape; `Err` carries the panic message. Tests run in
/// parallel, so a panic elsewhere may be blamed here too: only when something fails anyway.
fn guarded_parse(raw: &[u8], limits: &Limits) -> Result<Outcome, String> {
    record_panics();
    let before = panics_so_far().len();
    let outcome = catch_unwind(AssertUnwindSafe(|| parse(raw, limits)))
        .map_err(|payload| panic_message(payload.as_ref()))?;
    let caught: Vec<String> = panics_so_far()
        .get(before..)
        .unwrap_or_default()
        .iter()
        .filter(|panic| !is_known_mail_parser_assertion(panic))
        .cloned()
        .collect();
    if caught.is_empty() {
        Ok(outcome)
    } else {
        Err(format!("a panic was caught inside parse: {caught:?}"))
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// What every parsed mail promises, whatever went in.
fn check_invariants(mail: &ParsedMail) {
    for text in [&mail.subject, &mail.text] {
        assert!(!text.contains('\0'), "NUL in {text:?}");
    }
    assert!(
        !mail.subject.contains(['\r', '\n']),
        "line break in the subject"
    );
    assert_eq!(mail.subject, mail.subject.trim());
    if let Some(html) = &mail.html {
        assert!(!html.contains('\0'));
        assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    }
    let addresses = mail
        .from
        .iter()
        .chain(&mail.reply_to)
        .chain(&mail.to)
        .chain(&mail.cc)
        .chain(&mail.delivered_to)
        .chain(&mail.x_original_to);
    for address in addresses {
        assert!(address.email.contains('@'), "{address:?}");
        assert_eq!(address.email, address.email.to_lowercase(), "{address:?}");
        assert_eq!(address.email, address.email.trim(), "{address:?}");
    }
    for id in mail
        .message_id
        .iter()
        .chain(&mail.in_reply_to)
        .chain(&mail.references)
    {
        assert!(!id.is_empty() && !id.contains(['<', '>']), "{id:?}");
    }
    for part in &mail.attachments {
        assert!(!part.filename.is_empty());
        assert!(part.filename.chars().count() <= 200, "{:?}", part.filename);
        assert!(
            !part.filename.contains(['/', '\\']) && !part.filename.contains(char::is_control),
            "{:?}",
            part.filename
        );
        assert!(part.content.len() <= Limits::default().max_message_bytes);
        assert!(part.content_type.contains('/'), "{:?}", part.content_type);
    }
    assert!(mail.warnings.len() <= 51);
    if mail.bounce.is_some() {
        assert!(mail.auto.is_some());
    }
    if let Some(spam) = &mail.spam {
        assert!(spam.header.starts_with("X-"), "{spam:?}");
        assert!(
            !spam.value.is_empty() && spam.value.chars().count() <= 81,
            "{spam:?}"
        );
        assert!(!spam.value.contains(['\r', '\n', '\t']), "{spam:?}");
    }
    if let Some(lang) = &mail.content_language {
        assert!(lang.bytes().all(|b| b.is_ascii_lowercase()), "{lang:?}");
    }
    // The subject helpers take whatever the parser gives them.
    for number in ticket_numbers_in_subject(&mail.subject, &TicketHooks::default()) {
        assert!((8..=20).contains(&number.len()), "{number:?}");
        assert!(number.bytes().all(|b| b.is_ascii_digit()), "{number:?}");
    }
    let _ = clean_subject(&mail.subject);
}

fn ok(outcome: &Outcome) -> &ParsedMail {
    match outcome {
        Ok(mail) => mail,
        Err(error) => panic!("expected a parsed mail, got {error:?}"),
    }
}

fn not_a_message(outcome: &Outcome) {
    assert!(
        matches!(outcome, Err(ParseError::NotAMessage(reason)) if !reason.is_empty()),
        "{outcome:?}"
    );
}

fn warned(mail: &ParsedMail, needle: &str) {
    assert!(
        mail.warnings.iter().any(|w| w.contains(needle)),
        "no warning containing {needle:?} in {:?}",
        mail.warnings
    );
}

fn names(mail: &ParsedMail) -> Vec<&str> {
    mail.attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect()
}

/// One row per corpus file.
fn expectations() -> Vec<(&'static str, Check)> {
    vec![
        ("bare_lf.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Unix line endings only.");
            assert_eq!(names(m), ["notes.txt"]);
            assert_eq!(m.attachments[0].content, b"some notes");
        }),
        ("base64_rfc822.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Outer text.");
            assert_eq!(names(m), ["encoded inner.eml"]);
            let inner = parse(&m.attachments[0].content, &Limits::default()).unwrap();
            assert_eq!(inner.message_id.as_deref(), Some("enc-inner@example.com"));
            assert_eq!(inner.text, "Inner text.");
        }),
        ("boundary_never_closed.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "First part text.");
            assert_eq!(names(m), ["report.pdf"]);
            assert_eq!(m.attachments[0].content, b"%PDF-1.4 fake report\n");
            warned(m, "base64");
        }),
        ("broken_base64_text.eml", |o| {
            let m = ok(o);
            // What decodes is the text; the footer and the garbage after it are not decoded
            // into it.
            assert_eq!(
                m.text,
                "Der Drucker im zweiten Stock druckt nur noch leere Seiten."
            );
            warned(m, "not base64");
        }),
        ("calendar_invite.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "You have been invited to a printer review.");
            assert!(m.html.as_deref().unwrap().contains("<b>printer review</b>"));
            assert_eq!(names(m), ["attachment-1.ics", "invite.ics"]);
            assert_eq!(
                m.attachments[0].content_type,
                "text/calendar; charset=utf-8"
            );
            assert!(m.attachments[0].content.starts_with(b"BEGIN:VCALENDAR"));
        }),
        ("charset_lie_latin1_as_utf8.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Schöne Grüße aus Köln");
            warned(m, "windows-1252");
        }),
        ("content_type_text.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Text without a subtype is still text.");
            assert!(m.attachments.is_empty(), "{:?}", names(m));
        }),
        ("cr_only.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "old Mac line endings");
            assert_eq!(m.text, "CR only\nsecond line");
            warned(m, "bare CR");
        }),
        ("cr_only_lmtp.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "CR only over LMTP");
            assert_eq!(m.from.as_ref().unwrap().email, "ada@example.com");
            assert_eq!(m.text, "first line\nsecond line");
            warned(m, "bare CR");
        }),
        ("deep_html.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "deep text");
            assert_eq!(m.html.as_deref(), Some("<pre>deep text</pre>"));
            warned(m, "nested deeper");
        }),
        ("digest.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Today's digest.");
            assert_eq!(names(m), ["digest item 1.eml", "digest item 2.eml"]);
        }),
        ("dsn_postfix.eml", |o| {
            let m = ok(o);
            assert_eq!(
                m.bounce,
                Some(Bounce {
                    original_message_id: Some("ticket-2026112210000017.a3@docket.test".into()),
                    status: Some("5.1.1".into()),
                    recipient: Some("nobody@example.org".into()),
                })
            );
            assert_eq!(m.auto, Some(AutoKind::AutoSubmitted("auto-replied".into())));
            assert_eq!(m.delivered_to[0].email, "support@docket.test");
            assert_eq!(
                names(m),
                [
                    "attachment-1.txt",
                    "[Ticket#2026112210000017] Your printer.eml"
                ]
            );
            assert!(m.text.contains("could not\nbe delivered"));
        }),
        ("empty.eml", not_a_message),
        ("encoded_word_bad_base64.eml", |o| {
            let m = ok(o);
            assert!(m.subject.ends_with("Hello plain"), "{:?}", m.subject);
            assert_eq!(m.text, "Body of a mail with a broken encoded word.");
        }),
        ("ham_spam_flag_no.eml", |o| {
            let m = ok(o);
            assert_eq!(m.spam, None);
            assert_eq!(m.text, "We need toner.");
        }),
        ("header_line_100k.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject.chars().count(), 2000);
            assert!(m.subject.starts_with("long subject long subject"));
            assert_eq!(m.text, "Body after a 100 KB header line.");
            warned(m, "cut to 2000");
        }),
        ("headers_5000.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "5000 headers");
            assert_eq!(m.text, "Body after 5000 headers.");
        }),
        ("html_empty_after_sanitising.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "The plain text.");
            assert_eq!(m.html, None);
            warned(m, "HTML body has nothing to show");
        }),
        ("html_tracking.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Hallo Welt\n\nread more");
            let html = m.html.as_deref().unwrap();
            for banned in [
                "tracker", "script", "track()", "onload", "onclick", "iframe", "evil",
            ] {
                assert!(!html.contains(banned), "{banned} in {html}");
            }
            assert!(html.contains("href=\"https://example.com/\""), "{html}");
        }),
        ("invalid_base64_chars.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Hallo Welt, dies ist base64 mit Fehlern.");
            warned(m, "base64");
        }),
        ("iso_2022_jp.eml", |o| {
            let m = ok(o);
            // Decoded when mail-parser has its full_encoding feature; otherwise said so.
            if m.text == "ハロー・ワールド" {
                assert_eq!(m.subject, "日本語の件名");
                assert!(m.warnings.is_empty(), "{:?}", m.warnings);
            } else {
                warned(m, "not supported by this build");
            }
        }),
        ("latin1_display_name.eml", |o| {
            let m = ok(o);
            let from = m.from.as_ref().unwrap();
            assert_eq!(from.name.as_deref(), Some("Jürgen Müller"));
            assert_eq!(from.email, "juergen@example.com");
            assert_eq!(m.subject, "Grüße");
            warned(m, "From header");
        }),
        ("latin1_text_attachment.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "The list is attached.");
            assert_eq!(names(m), ["liste.txt"]);
            let list = &m.attachments[0];
            // The file as it was sent, with its charset to be served with.
            assert_eq!(list.content, b"K\xe4se\r\nM\xfcsli\r\nGr\xfc\xdfe");
            assert_eq!(list.content_type, "text/plain; charset=iso-8859-1");
        }),
        ("mailing_list.eml", |o| {
            let m = ok(o);
            assert_eq!(
                m.auto,
                Some(AutoKind::ListId("docket-users.lists.example.org".into()))
            );
            assert_eq!(m.message_id.as_deref(), Some("list-1@example.net"));
        }),
        ("mbox_from_line.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "mbox export");
            assert_eq!(m.text, "Exported from an mbox file.");
            warned(m, "mbox");
        }),
        ("missing_boundary.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "This multipart has no boundary parameter at all.");
            warned(m, "no usable boundary");
        }),
        ("named_text_only.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "The text is in a part with a name.");
            assert_eq!(names(m), ["scan.pdf"]);
        }),
        ("ndr_exchange.eml", |o| {
            let m = ok(o);
            assert_eq!(
                m.bounce,
                Some(Bounce {
                    original_message_id: Some("ticket-42.reply-1@docket.test".into()),
                    status: Some("5.1.10".into()),
                    recipient: Some("jane@contoso.com".into()),
                })
            );
            assert_eq!(m.auto, Some(AutoKind::AutoSubmitted("bounce".into())));
            assert!(
                m.text
                    .starts_with("Your message to jane@contoso.com couldn't be delivered.")
            );
            assert!(m.html.is_some());
        }),
        ("nested_multipart_50.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "");
            warned(m, "deeper than 10 levels");
        }),
        ("nested_rfc822_30.eml", |o| {
            let mut m = ok(o).clone();
            // Each level is attached with its raw bytes: parse them in turn down to the bottom.
            for level in 0..30 {
                assert_eq!(m.subject, format!("level {level}"));
                assert_eq!(m.text, format!("level {level}"));
                assert_eq!(m.message_id, Some(format!("level-{level}@example.com")));
                assert_eq!(names(&m), [format!("level {}.eml", level + 1)]);
                m = parse(&m.attachments[0].content, &Limits::default()).unwrap();
            }
            assert_eq!(m.subject, "level 30");
            assert_eq!(m.text, "innermost text");
        }),
        ("no_body.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "no body");
            assert_eq!(m.text, "");
        }),
        ("nul_bytes.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "NUL bytes");
            assert_eq!(m.text, "beforeafter\nnextline");
            warned(m, "NUL");
        }),
        ("only_headers.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "only headers, no separator");
            assert_eq!(m.text, "");
        }),
        ("out_of_office.eml", |o| {
            let m = ok(o);
            assert_eq!(m.auto, Some(AutoKind::AutoSubmitted("auto-replied".into())));
            assert_eq!(m.content_language.as_deref(), Some("de"));
            assert_eq!(m.text, "Ich bin bis Montag nicht im Büro.");
        }),
        ("qmail_bounce.eml", |o| {
            let m = ok(o);
            assert_eq!(
                m.bounce,
                Some(Bounce {
                    original_message_id: Some("ticket-7.reply-2@docket.test".into()),
                    status: None,
                    recipient: None,
                })
            );
            assert_eq!(m.auto, Some(AutoKind::AutoSubmitted("bounce".into())));
        }),
        ("qp_broken_soft_breaks.eml", |o| {
            let m = ok(o);
            assert!(
                m.text
                    .starts_with("Grüße, a soft break with spaces after it and a bad escape =ZZ"),
                "{:?}",
                m.text
            );
            warned(m, "quoted-printable");
        }),
        ("random.bin", not_a_message),
        ("rfc822_in_rfc822.eml", |o| {
            // mail-parser's debug assertion fires here in debug builds: the body is then raw.
            let m = ok(o);
            assert_eq!(m.subject, "message/rfc822 directly inside message/rfc822");
            if m.attachments.is_empty() {
                warned(m, "MIME structure could not be read");
                assert!(m.text.contains("--outer"), "{:?}", m.text);
            }
        }),
        ("raw_utf8_headers.eml", |o| {
            let m = ok(o);
            assert_eq!(m.subject, "Grüße aus Zürich – 東京");
            assert_eq!(
                m.from.as_ref().unwrap().name.as_deref(),
                Some("Jürgen Müller")
            );
            assert_eq!(m.to[0].name.as_deref(), Some("Süpport"));
        }),
        ("smime_signed.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "This body is signed.");
            assert_eq!(names(m), ["smime.p7s"]);
            assert_eq!(m.attachments[0].content_type, "application/pkcs7-signature");
        }),
        ("spam_rspamd_over.eml", |o| {
            let m = ok(o);
            assert_eq!(
                m.spam,
                Some(SpamVerdict {
                    header: "X-Spamd-Result".into(),
                    value: "default: True [12.30 / 15.00]".into(),
                })
            );
            assert_eq!(m.auto, None, "spam is not an automatic mail");
        }),
        ("spam_rspamd_under.eml", |o| {
            let m = ok(o);
            assert_eq!(m.spam, None);
            assert_eq!(m.text, "The printer jams again.");
        }),
        ("spam_spamassassin.eml", |o| {
            let m = ok(o);
            assert_eq!(
                m.spam,
                Some(SpamVerdict {
                    header: "X-Spam-Flag".into(),
                    value: "YES".into(),
                })
            );
            assert_eq!(m.subject, "Re: [Ticket#2026112210000017] You have won");
        }),
        ("thirty_attachments.eml", |o| {
            // Never refused for its attachments: ingestion files what one article takes.
            let m = ok(o);
            assert_eq!(m.attachments.len(), 30);
            assert!(m.attachments.iter().all(|a| !a.content.is_empty()));
        }),
        ("thread_tags.eml", |o| {
            let m = ok(o);
            assert_eq!(
                ticket_numbers_in_subject(&m.subject, &TicketHooks::default()),
                ["2026010110000001", "2026112210000017", "2026112210000018"]
            );
            assert_eq!(clean_subject(&m.subject), "Drucker");
        }),
        ("tnef_winmail.eml", |o| {
            let m = ok(o);
            assert_eq!(names(m), ["winmail.dat"]);
            assert_eq!(m.attachments[0].content_type, "application/ms-tnef");
            assert!(
                m.attachments[0]
                    .content
                    .starts_with(&[0x78, 0x9f, 0x3e, 0x22])
            );
        }),
        ("traversal_filename.eml", |o| {
            let m = ok(o);
            let names = names(m);
            assert_eq!(names[0], "_.._etc_passwd .txt");
            assert_eq!(names[1].chars().count(), 200);
            assert!(names[1].ends_with("aaa.gz"), "{}", names[1]);
        }),
        ("truncated_base64.eml", |o| {
            let m = ok(o);
            assert_eq!(names(m), ["data.bin"]);
            let expected: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
            let content = &m.attachments[0].content;
            assert!(content.len() > 400, "{}", content.len());
            assert!(expected.starts_with(content));
            warned(m, "base64");
        }),
        ("unknown_charset.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Qapla' - success in an unknown charset");
            warned(m, "x-klingon-1");
        }),
        ("uuencode_in_text.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "Here is the picture.\n\nRegards, Ada");
            assert_eq!(names(m), ["greenball.png"]);
            let png = &m.attachments[0];
            assert_eq!(png.content_type, "image/png");
            assert_eq!(png.content.len(), 70);
            assert!(png.content.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(png.content.ends_with(b"IEND\xaeB`\x82"));
        }),
        ("wrong_boundary.eml", |o| {
            let m = ok(o);
            assert_eq!(m.text, "The boundary in the header is not the one used.");
            warned(m, "\"actual\"");
        }),
        ("zip_attachment.eml", |o| {
            let m = ok(o);
            assert_eq!(names(m), ["logs.zip"]);
            let zip = &m.attachments[0];
            assert_eq!(zip.content_type, "application/zip");
            assert!(zip.content.starts_with(b"PK\x03\x04"));
            // The central directory at the end names the file inside.
            assert!(zip.content.windows(12).any(|w| w == b"logs/app.log"));
            assert!(zip.content.windows(4).any(|w| w == b"PK\x05\x06"));
        }),
    ]
}

#[test]
fn every_corpus_file_parses_as_expected() {
    let table = expectations();
    let files = corpus();
    assert!(files.len() >= 25, "only {} corpus files", files.len());
    let mut failures = Vec::new();
    for (name, raw) in files {
        let outcome = match guarded_parse(raw, &Limits::default()) {
            Ok(outcome) => outcome,
            Err(panic) => {
                failures.push(format!("{name}: panicked: {panic}"));
                continue;
            }
        };
        let Some((_, check)) = table.iter().find(|(file, _)| file == name) else {
            failures.push(format!("{name}: no expectation in the table"));
            continue;
        };
        let checked = catch_unwind(AssertUnwindSafe(|| {
            check(&outcome);
            if let Ok(mail) = &outcome {
                check_invariants(mail);
            }
        }));
        if let Err(payload) = checked {
            failures.push(format!("{name}: {}", panic_message(payload.as_ref())));
        }
    }
    for (file, _) in &table {
        if !files.iter().any(|(name, _)| name == file) {
            failures.push(format!("{file}: in the table but not in the corpus"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_under_tight_limits_never_panics() {
    let tight = [
        Limits {
            max_message_bytes: 1024,
            ..Limits::default()
        },
        Limits {
            max_nesting: 0,
            ..Limits::default()
        },
        Limits {
            max_nesting: 1,
            ..Limits::default()
        },
    ];
    for (name, raw) in corpus() {
        for limits in &tight {
            match guarded_parse(raw, limits) {
                Ok(Ok(mail)) => check_invariants(&mail),
                Ok(Err(ParseError::TooLarge { size, limit })) => {
                    assert_eq!((size, limit), (raw.len(), limits.max_message_bytes))
                }
                Ok(Err(_)) => {}
                Err(panic) => panic!("{name} with {limits:?}: {panic}"),
            }
        }
    }
}

/// The spam settings decide: a lower threshold makes the rspamd message under the default one
/// spam, detection off makes nothing spam, and a ham message stays ham under any threshold.
#[test]
fn corpus_spam_by_the_settings() {
    let file = |name: &str| {
        &corpus()
            .iter()
            .find(|(file, _)| file == name)
            .unwrap_or_else(|| panic!("{name} is in the corpus"))
            .1
    };
    let with = |name: &str, rules: &SpamRules| {
        parse_with(file(name), &Limits::default(), rules)
            .unwrap()
            .spam
            .map(|v| v.to_string())
    };
    let strict = SpamRules {
        threshold: 2.0,
        ..SpamRules::default()
    };
    assert_eq!(
        with("spam_rspamd_under.eml", &strict).as_deref(),
        Some("X-Spamd-Result: default: False [2.10 / 15.00]")
    );
    assert_eq!(with("ham_spam_flag_no.eml", &strict), None);
    let off = SpamRules {
        enabled: false,
        ..SpamRules::default()
    };
    for name in ["spam_spamassassin.eml", "spam_rspamd_over.eml"] {
        assert!(with(name, &SpamRules::default()).is_some(), "{name}");
        assert_eq!(with(name, &off), None, "{name}");
    }
    let other_header = SpamRules {
        score_header: "X-Rspamd-Score".into(),
        threshold: 2.1,
        ..SpamRules::default()
    };
    assert_eq!(
        with("spam_rspamd_under.eml", &other_header).as_deref(),
        Some("X-Rspamd-Score: 2.1")
    );
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Duplicate(prop::sample::Index, prop::sample::Index),
}

fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..16),
        prop::sample::select(vec![
            b"\r\n".to_vec(),
            b"\n\n".to_vec(),
            b"\r".to_vec(),
            b"\0".to_vec(),
            b"\xff\xfe".to_vec(),
            b"--".to_vec(),
            b"\n--b\n".to_vec(),
            b"=?utf-8?b?".to_vec(),
            b"=?iso-8859-1?q?=FC".to_vec(),
            b"?=".to_vec(),
            b"=\n".to_vec(),
            b"=Z".to_vec(),
            b"<div>".to_vec(),
            b"<script>".to_vec(),
            b"&#x".to_vec(),
            b"Content-Type: multipart/mixed; boundary=b\n".to_vec(),
            b"Content-Type: message/rfc822\n\n".to_vec(),
            b"Content-Transfer-Encoding: base64\n".to_vec(),
            b"Content-Transfer-Encoding: quoted-printable\n".to_vec(),
            b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1=x\n".to_vec(),
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n".to_vec(),
            b"Subject: [Ticket#2026112210000017] x\n".to_vec(),
        ]),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), interesting_bytes())
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<prop::sample::Index>(), 1usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(from, to)| Mutation::Duplicate(from, to)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::Flip(at, b) if len > 0 => {
                let i = at.index(len);
                bytes[i] ^= b | 1;
            }
            Mutation::Truncate(at) if len > 0 => bytes.truncate(at.index(len)),
            Mutation::Insert(at, extra) => {
                let i = at.index(len + 1);
                bytes.splice(i..i, extra.iter().copied());
            }
            Mutation::Delete(at, n) if len > 0 => {
                let i = at.index(len);
                bytes.drain(i..(i + n).min(len));
            }
            Mutation::Duplicate(from, to) if len > 0 => {
                // Copy up to 256 bytes from one place to another: repeats boundaries and headers.
                let start = from.index(len);
                let chunk: Vec<u8> = bytes[start..(start + 256).min(len)].to_vec();
                let i = to.index(len + 1);
                bytes.splice(i..i, chunk);
            }
            _ => {}
        }
    }
    bytes
}

fn assert_no_panic(raw: &[u8]) -> Result<(), TestCaseError> {
    match guarded_parse(raw, &Limits::default()) {
        Ok(Ok(mail)) => {
            check_invariants(&mail);
            Ok(())
        }
        Ok(Err(_)) => Ok(()),
        Err(panic) => Err(TestCaseError::fail(panic)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        assert_no_panic(&raw)?;
    }

    #[test]
    fn header_shaped_bytes_never_panic(
        lines in prop::collection::vec(
            ("[A-Za-z-]{1,20}", prop::collection::vec(any::<u8>(), 0..80)),
            1..20,
        ),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut raw = Vec::new();
        for (name, value) in lines {
            raw.extend_from_slice(name.as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(&value);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        assert_no_panic(&raw)?;
    }

    #[test]
    fn mutated_corpus_files_never_panic(
        file in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..10),
    ) {
        let files = corpus();
        let (_, raw) = &files[file.index(files.len())];
        assert_no_panic(&mutate(raw.clone(), &mutations))?;
    }
}
