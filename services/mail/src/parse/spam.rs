//! Whether the upstream filter marked a mail as spam: the first of these on the root part, in
//! this order, becomes the [`SpamVerdict`] naming the header and value that decided.
//!
//! - `X-Spam-Flag: YES` (SpamAssassin; any case);
//! - `X-Spam-Status: Yes, score=…` (SpamAssassin; any case);
//! - `X-Spam: Yes` (rspamd's milter; any case);
//! - a score at or over the threshold (`>=`, as SpamAssassin's `required_score`): in the
//!   configured score header (default `X-Spam-Score: 7.3`), in rspamd's
//!   `X-Spamd-Result: default: True [12.30 / 15.00]` (the first number in the brackets) and in
//!   `X-Rspamd-Score: 12.3`.
//!
//! A mail is spam if any of them says so; `X-Spam-Flag: NO` says nothing against a score over
//! the threshold. A score that is not a finite number decides nothing. With detection off no
//! mail is spam.

use std::fmt;

use super::collapse_whitespace;

/// The header a score is read from unless the settings name another.
pub const DEFAULT_SCORE_HEADER: &str = "X-Spam-Score";

/// How spam is recognised (`mail.spam_detection`, `mail.spam_score_header`,
/// `mail.spam_threshold`).
#[derive(Debug, Clone, PartialEq)]
pub struct SpamRules {
    /// Off: no mail is spam.
    pub enabled: bool,
    /// The header holding a score (SpamAssassin's `X-Spam-Score` by default); empty: none.
    pub score_header: String,
    /// A score at or over this is spam.
    pub threshold: f64,
}

impl Default for SpamRules {
    fn default() -> Self {
        Self {
            enabled: true,
            score_header: DEFAULT_SCORE_HEADER.to_owned(),
            threshold: 5.0,
        }
    }
}

/// Why a mail is spam: the header and its value (white space collapsed, shortened) that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamVerdict {
    pub header: String,
    pub value: String,
}

impl fmt::Display for SpamVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.header, self.value)
    }
}

/// The longest value a verdict quotes, in characters.
const MAX_VALUE_CHARS: usize = 80;

/// The verdict on a mail whose header values `values(name)` gives (every value of that header,
/// case-insensitive name, in order), by the rules of the module docs.
pub fn spam_verdict<F>(values: F, rules: &SpamRules) -> Option<SpamVerdict>
where
    F: Fn(&str) -> Vec<String>,
{
    if !rules.enabled {
        return None;
    }
    let score_header = rules.score_header.trim();
    let checks = [
        ("X-Spam-Flag", Reading::Flag),
        ("X-Spam-Status", Reading::Flag),
        ("X-Spam", Reading::Flag),
        (score_header, Reading::Score),
        ("X-Spamd-Result", Reading::Bracketed),
        ("X-Rspamd-Score", Reading::Score),
    ];
    checks
        .into_iter()
        .filter(|(header, _)| !header.is_empty())
        .find_map(|(header, reading)| {
            values(header)
                .into_iter()
                .map(|v| collapse_whitespace(&v))
                .find(|v| reading.says_spam(v, rules.threshold))
                .map(|value| SpamVerdict {
                    header: header.to_owned(),
                    value: quoted(&value),
                })
        })
}

/// How a header's value is read.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Its first word is `yes` (`Yes, score=7.3 …`).
    Flag,
    /// It starts with a score.
    Score,
    /// Its first number in brackets is a score (rspamd's `default: True [12.30 / 15.00]`).
    Bracketed,
}

impl Reading {
    fn says_spam(self, value: &str, threshold: f64) -> bool {
        let over = |score: Option<f64>| score.is_some_and(|s| s >= threshold);
        match self {
            Self::Flag => value
                .split([',', ';', ' ', '\t'])
                .next()
                .is_some_and(|word| word.eq_ignore_ascii_case("yes")),
            Self::Score => over(leading_score(value)),
            Self::Bracketed => over(bracketed_score(value)),
        }
    }
}

/// A number at the start of `text` (`7.3`, `-0.4`, `12.30 / 15.00`); `None` unless finite.
fn leading_score(text: &str) -> Option<f64> {
    let text = text.trim_start();
    let end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && matches!(c, '-' | '+'))))
        .map_or(text.len(), |(i, _)| i);
    text.get(..end)?
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
}

/// rspamd's score: the first number inside the brackets (`default: True [12.30 / 15.00]`).
fn bracketed_score(text: &str) -> Option<f64> {
    let (_, inside) = text.split_once('[')?;
    leading_score(inside)
}

/// The part of a value worth quoting: up to rspamd's closing bracket, before SpamAssassin's
/// list of tests, at most [`MAX_VALUE_CHARS`] characters.
fn quoted(value: &str) -> String {
    let value = match value.find(']') {
        Some(end) if value.contains('[') => &value[..=end],
        _ => value,
    };
    let value = value.split(" tests=").next().unwrap_or(value).trim();
    if value.chars().count() <= MAX_VALUE_CHARS {
        return value.to_owned();
    }
    let mut short: String = value.chars().take(MAX_VALUE_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::parse_ok;
    use crate::parse::{Limits, parse_with};

    /// The verdict on a mail with these header lines, by `rules`.
    fn verdict_with(headers: &str, rules: &SpamRules) -> Option<SpamVerdict> {
        let raw = format!("Subject: x\n{headers}\n\nbody\n");
        parse_with(raw.as_bytes(), &Limits::default(), rules)
            .unwrap()
            .spam
    }

    fn verdict(headers: &str) -> Option<SpamVerdict> {
        verdict_with(headers, &SpamRules::default())
    }

    fn spam(header: &str, value: &str) -> Option<SpamVerdict> {
        Some(SpamVerdict {
            header: header.into(),
            value: value.into(),
        })
    }

    #[test]
    fn flags_of_spamassassin_and_rspamd() {
        assert_eq!(verdict("X-Other: 1"), None);
        assert_eq!(verdict("X-Spam-Flag: YES"), spam("X-Spam-Flag", "YES"));
        assert_eq!(verdict("x-spam-flag: yes"), spam("X-Spam-Flag", "yes"));
        assert_eq!(verdict("X-Spam-Flag: NO"), None);
        assert_eq!(verdict("X-Spam-Flag: YESTERDAY"), None);
        assert_eq!(
            verdict(
                "X-Spam-Status: Yes, score=7.3 required=5.0\n\ttests=BAYES_99,URIBL_BLACK\n\tautolearn=no"
            ),
            spam("X-Spam-Status", "Yes, score=7.3 required=5.0")
        );
        assert_eq!(
            verdict("X-Spam-Status: No, score=1.2 required=5.0 tests=NONE"),
            None
        );
        assert_eq!(verdict("X-Spam: Yes"), spam("X-Spam", "Yes"));
        assert_eq!(verdict("X-Spam: No"), None);
        // The first rule that decides names the verdict; any header of the name may say yes.
        assert_eq!(
            verdict("X-Spam-Score: 9\nX-Spam-Flag: NO\nX-Spam-Flag: YES"),
            spam("X-Spam-Flag", "YES")
        );
    }

    #[test]
    fn scores_at_or_over_the_threshold() {
        assert_eq!(verdict("X-Spam-Score: 7.3"), spam("X-Spam-Score", "7.3"));
        assert_eq!(verdict("X-Spam-Score: 5.0"), spam("X-Spam-Score", "5.0"));
        assert_eq!(verdict("X-Spam-Score: 4.9"), None);
        assert_eq!(verdict("X-Spam-Score: -12"), None);
        assert_eq!(verdict("X-Spam-Score: lots"), None);
        assert_eq!(verdict("X-Spam-Score: NaN"), None);
        assert_eq!(verdict("X-Spam-Score: inf"), None);
        assert_eq!(verdict("X-Spam-Score: 1e400"), None);
        assert_eq!(
            verdict("X-Spamd-Result: default: True [12.30 / 15.00];\n R_SPF_FAIL(1.00)[-all]"),
            spam("X-Spamd-Result", "default: True [12.30 / 15.00]")
        );
        assert_eq!(
            verdict("X-Spamd-Result: default: False [2.10 / 15.00]; R_SPF_ALLOW(-0.20)[+ip4]"),
            None
        );
        assert_eq!(verdict("X-Spamd-Result: default: True"), None);
        assert_eq!(
            verdict("X-Rspamd-Score: 12.3"),
            spam("X-Rspamd-Score", "12.3")
        );
        assert_eq!(verdict("X-Rspamd-Score: 0.5"), None);
    }

    #[test]
    fn the_score_header_and_threshold_are_settings() {
        let strict = SpamRules {
            score_header: "X-Filter-Score".into(),
            threshold: 3.0,
            ..SpamRules::default()
        };
        assert_eq!(
            verdict_with("X-Filter-Score: 3.5", &strict),
            spam("X-Filter-Score", "3.5")
        );
        assert_eq!(verdict("X-Filter-Score: 3.5"), None);
        // The default header is no longer read; rspamd's still are, against this threshold.
        assert_eq!(verdict_with("X-Spam-Score: 9", &strict), None);
        assert_eq!(
            verdict_with("X-Rspamd-Score: 4", &strict),
            spam("X-Rspamd-Score", "4")
        );
        let no_header = SpamRules {
            score_header: " ".into(),
            ..SpamRules::default()
        };
        assert_eq!(verdict_with("X-Spam-Score: 9", &no_header), None);
        let off = SpamRules {
            enabled: false,
            ..SpamRules::default()
        };
        assert_eq!(verdict_with("X-Spam-Flag: YES", &off), None);
        // The default rules are those of `parse`.
        assert_eq!(
            parse_ok(b"Subject: x\nX-Spam-Flag: YES\n\nbody\n").spam,
            spam("X-Spam-Flag", "YES")
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let long = format!("Yes, {}", "x".repeat(200));
        let found = verdict(&format!("X-Spam-Status: {long}")).unwrap();
        assert_eq!(found.value.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(found.value.ends_with('…'));
        assert_eq!(
            spam("X-Spam-Flag", "YES").unwrap().to_string(),
            "X-Spam-Flag: YES"
        );
    }

    #[test]
    fn scores_are_read_from_the_start() {
        assert_eq!(leading_score(" 7.3"), Some(7.3));
        assert_eq!(leading_score("+2 (high)"), Some(2.0));
        assert_eq!(leading_score("12.30 / 15.00"), Some(12.3));
        assert_eq!(leading_score("-"), None);
        assert_eq!(leading_score(""), None);
        assert_eq!(leading_score("1-2"), Some(1.0));
        assert_eq!(bracketed_score("default: True [ 8 / 15 ]"), Some(8.0));
        assert_eq!(bracketed_score("default: True"), None);
    }
}
