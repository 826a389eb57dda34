//! Subjects: the ticket number in them, and a new ticket's title made from them.

use super::{collapse_whitespace, strip_prefix_ci};

/// The ticket number in a subject: `[Ticket#2026112210000017]` or `Ticket#2026112210000017`
/// anywhere (so after any `RE: AW: WG: Fwd:`), case-insensitive, 8 to 20 digits. Returns the
/// digits.
pub fn ticket_number_in_subject(subject: &str) -> Option<String> {
    const TAG: &[u8] = b"ticket#";
    let bytes = subject.as_bytes();
    let mut from = 0;
    while let Some(pos) = find_ascii_ci(bytes, TAG, from) {
        let before_ok = pos
            .checked_sub(1)
            .and_then(|i| bytes.get(i))
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        let start = pos + TAG.len();
        let digits = bytes.get(start..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        });
        let after_ok = bytes
            .get(start + digits)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if before_ok && after_ok && (8..=20).contains(&digits) {
            return subject.get(start..start + digits).map(str::to_owned);
        }
        from = pos + 1;
    }
    None
}

/// A new ticket's title from a subject: reply and forward prefixes (`Re:`, `AW:`, `WG:`, `Fwd:`,
/// `FW:`, `SV:`, `Antw:`, any case, repeated, with counters like `Re[2]:`) and `[Ticket#…]` tags
/// removed, white space collapsed.
pub fn clean_subject(subject: &str) -> String {
    let untagged = remove_ticket_tags(subject);
    let mut rest = untagged.trim();
    while let Some(stripped) = strip_reply_prefix(rest) {
        rest = stripped.trim_start();
    }
    collapse_whitespace(rest)
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = haystack.get(from..)?;
    rest.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// Removes `[Ticket#…]` tags anywhere in a subject.
fn remove_ticket_tags(subject: &str) -> String {
    let mut out = String::with_capacity(subject.len());
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        let (before, tag) = rest.split_at_checked(open).unwrap_or((rest, ""));
        let inner = tag.get(1..).unwrap_or_default();
        // Look for the `]` nearby only: a subject full of unclosed `[` stays linear.
        let close = inner.bytes().take(41).position(|b| b == b']');
        match close {
            Some(close) if strip_prefix_ci(inner, "ticket#").is_some() => {
                out.push_str(before);
                out.push(' ');
                rest = inner.get(close + 1..).unwrap_or_default();
            }
            _ => {
                out.push_str(before);
                out.push('[');
                rest = inner;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Strips one reply or forward prefix (`Re:`, `AW:`, `Re[2]:`, `Fwd :`, `Re：`) from the start.
fn strip_reply_prefix(subject: &str) -> Option<&str> {
    const PREFIXES: [&str; 8] = ["antw", "fwd", "re", "aw", "wg", "fw", "sv", "rif"];
    for prefix in PREFIXES {
        let Some(mut rest) = strip_prefix_ci(subject, prefix) else {
            continue;
        };
        // A counter: Re[2]: or Re(2): or Re^2:
        for (open, close) in [('[', ']'), ('(', ')')] {
            if let Some(inner) = rest.strip_prefix(open)
                && let Some((digits, after)) = inner.split_once(close)
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
            {
                rest = after;
            }
        }
        if let Some(after) = rest.strip_prefix('^') {
            rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')) {
            return Some(after);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "[Ticket#2026112210000017] Printer",
                Some("2026112210000017"),
            ),
            (
                "RE: AW: WG: Fwd: [Ticket#2026112210000017] Printer",
                Some("2026112210000017"),
            ),
            ("Printer Ticket#12345678", Some("12345678")),
            (
                "re: [ticket#12345678901234567890]",
                Some("12345678901234567890"),
            ),
            ("AW:[TICKET#2026112210000017]", Some("2026112210000017")),
            ("Ticket#12 too short", None),
            ("[Ticket#abc]", None),
            ("Ticket#123456789012345678901 too long", None),
            ("[Ticket#20261122abc]", None),
            ("MyTicket#2026112210000017", None),
            ("Ticket #2026112210000017", None),
            ("no number here", None),
            ("", None),
            ("Ticket#12 and later Ticket#87654321", Some("87654321")),
            ("Grüße [Ticket#2026112210000017]", Some("2026112210000017")),
        ];
        for (subject, expected) in cases {
            assert_eq!(
                ticket_number_in_subject(subject).as_deref(),
                *expected,
                "{subject:?}"
            );
        }
    }

    #[test]
    fn clean_subjects() {
        let cases = [
            ("Re: Printer", "Printer"),
            ("RE: AW: WG: Fwd: FW: SV: Antw: Printer", "Printer"),
            ("Aw: aw:Printer", "Printer"),
            ("[Ticket#2026112210000017] Printer", "Printer"),
            (
                "RE: [Ticket#2026112210000017] AW: Printer  on   fire",
                "Printer on fire",
            ),
            ("Re[2]: Re(3): Fwd : Printer", "Printer"),
            ("Re：Printer", "Printer"),
            ("Printer [Ticket#2026112210000017]", "Printer"),
            ("Reorder toner", "Reorder toner"),
            ("Re: Re: ", ""),
            ("[Other] tag stays", "[Other] tag stays"),
            ("Summary: Q3", "Summary: Q3"),
            ("Fwd: [ticket#x] odd", "odd"),
            ("", ""),
        ];
        for (subject, expected) in cases {
            assert_eq!(clean_subject(subject), expected, "{subject:?}");
        }
    }

    #[test]
    fn subject_helpers_stay_linear() {
        let hostile = "[Ticket#1".repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(clean_subject(&hostile), hostile);
        assert_eq!(ticket_number_in_subject(&hostile), None);
        let digits = format!("Ticket#{}", "1".repeat(100_000)).repeat(5);
        assert_eq!(ticket_number_in_subject(&digits), None);
        // Generous even for a debug build on a busy machine; quadratic took minutes.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
