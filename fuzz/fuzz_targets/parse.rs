//! Any bytes into `docket_mail::parse::parse` with the default limits, then the subject helpers on
//! whatever subject came out, and the parts filed onto an article as ingestion files them (every
//! part on the article, in the HTML copy or left over; the article within its limits). A panic,
//! a broken invariant or a timeout is a finding.
//!
//! One exception, the same as in `services/mail/tests/parse_corpus.rs`: mail-parser 0.11's
//! `debug_assert!(false, …)`s fire on some broken nesting when debug assertions are on (as
//! `cargo fuzz` builds by default). They are not bugs of ours, release builds go on past them,
//! and `parse` recovers when they unwind; so they unwind here instead of aborting.

#![no_main]

use std::panic::PanicHookInfo;

use docket_mail::domain::ArticleLimits;
use docket_mail::ingest::file_parts;
use docket_mail::parse::{Limits, TicketHooks, clean_subject, parse, ticket_numbers_in_subject};
use libfuzzer_sys::fuzz_target;

const MAIL_PARSER_DEBUG_ASSERTIONS: &[&str] = &[
    "Invalid part ID, could not find multipart.",
    "Invalid part ID, could not find message.",
    "Failed to restore parent message. Aborting.",
    "This should not have happened.",
];

fn is_known_mail_parser_assertion(info: &PanicHookInfo<'_>) -> bool {
    let in_mail_parser = info
        .location()
        .is_some_and(|l| l.file().contains("mail-parser-0.11."));
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default();
    in_mail_parser && MAIL_PARSER_DEBUG_ASSERTIONS.contains(&message)
}

fuzz_target!(
    init: {
        // libfuzzer-sys has just installed a hook that aborts on every panic: wrap it.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_known_mail_parser_assertion(info) {
                abort(info);
            }
        }));
    },
    |raw: &[u8]| {
        if let Ok(mail) = parse(raw, &Limits::default()) {
            let _ = ticket_numbers_in_subject(&mail.subject, &TicketHooks::default());
            let _ = clean_subject(&mail.subject);
            // Small limits, so that fuzzed mail reaches every branch of the filing.
            let limits = ArticleLimits {
                max_attachments: 3,
                max_attachment_bytes: 4096,
                max_total_bytes: 8192,
            };
            let filing = file_parts(&mail, &limits);
            assert!(filing.attachments.len() <= limits.max_attachments);
            let total: usize = filing.attachments.iter().map(|a| a.content.len()).sum();
            assert!(total <= limits.max_total_bytes);
            let html_copy = usize::from(mail.html.is_some() && filing.left_over.html_bytes.is_none());
            let filed = filing.attachments.len() - html_copy + filing.left_over.parts.len();
            assert!(filed <= mail.attachments.len());
            if mail.html.is_none() {
                assert_eq!(filed, mail.attachments.len());
            }
        }
    }
);
