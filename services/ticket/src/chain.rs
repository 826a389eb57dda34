//! The tamper-evident history: every entry of a ticket's history carries the hash of the entry
//! before it and its own hash over its content and that previous hash, so changing, removing or
//! reordering any stored entry breaks the chain from that entry on. Articles are covered through
//! their entry: an `article_added` entry records the SHA-256 of the article's body.

use sha2::{Digest, Sha256};

use crate::domain::TicketId;

/// The previous hash of a ticket's first entry.
pub const GENESIS: &str = "";

/// One history entry as stored, with the text of its details exactly as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub seq: u64,
    pub kind: String,
    pub actor: String,
    pub occurred_at: i64,
    pub details: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The result of checking a ticket's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        entries: u64,
    },
    /// The first entry that does not hold, and why.
    Broken {
        seq: u64,
        reason: String,
    },
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of an entry: SHA-256 over a version tag and every field, each length-prefixed so no
/// two different entries serialise alike.
pub fn entry_hash(
    prev_hash: &str,
    ticket: TicketId,
    seq: u64,
    kind: &str,
    actor: &str,
    occurred_at: i64,
    details: &str,
) -> String {
    let mut h = Sha256::new();
    let ticket = ticket.to_string();
    let (seq, at) = (seq.to_string(), occurred_at.to_string());
    for field in [
        "docket-history-v1",
        prev_hash,
        &ticket,
        &seq,
        kind,
        actor,
        &at,
        details,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
}

/// Checks the chain of one ticket's entries (in `seq` order). A ticket at version `version` has
/// exactly that many entries, so removing the newest ones shows too. `article_body` gives the
/// SHA-256 of an article's current body by its id, for the entries that recorded one.
pub fn verify(
    ticket: TicketId,
    version: u64,
    entries: &[StoredEntry],
    article_body: impl Fn(&str) -> Option<String>,
) -> Verdict {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let broken = |reason: &str| Verdict::Broken {
            seq: e.seq,
            reason: reason.to_owned(),
        };
        if e.seq != i as u64 + 1 {
            return Verdict::Broken {
                seq: i as u64 + 1,
                reason: "the entry is missing".into(),
            };
        }
        let (Some(stored_prev), Some(stored_hash)) = (&e.prev_hash, &e.hash) else {
            return broken("the entry carries no hash");
        };
        if *stored_prev != prev {
            return broken("it does not carry the previous entry's hash");
        }
        let expected = entry_hash(
            &prev,
            ticket,
            e.seq,
            &e.kind,
            &e.actor,
            e.occurred_at,
            &e.details,
        );
        if *stored_hash != expected {
            return broken("its content does not match its hash");
        }
        if let Ok(details) = serde_json::from_str::<serde_json::Value>(&e.details)
            && let (Some(article), Some(recorded)) = (
                details["article_id"].as_str(),
                details["body_sha256"].as_str(),
            )
            && article_body(article).as_deref() != Some(recorded)
        {
            return broken(&format!(
                "article {article} no longer has the body it was written with"
            ));
        }
        prev = expected;
    }
    if (entries.len() as u64) < version {
        return Verdict::Broken {
            seq: entries.len() as u64 + 1,
            reason: "the entry is missing".into(),
        };
    }
    Verdict::Intact {
        entries: entries.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(ticket: TicketId, n: u64) -> Vec<StoredEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let (kind, actor, at) = ("updated".to_owned(), format!("agent{seq}"), seq as i64);
                let details = format!(r#"{{"state":{{"old":"{seq}","new":"x"}}}}"#);
                let hash = entry_hash(&prev, ticket, seq, &kind, &actor, at, &details);
                let e = StoredEntry {
                    seq,
                    kind,
                    actor,
                    occurred_at: at,
                    details,
                    prev_hash: Some(prev.clone()),
                    hash: Some(hash.clone()),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        let t = TicketId::new();
        assert_eq!(
            verify(t, 5, &chain(t, 5), |_| None),
            Verdict::Intact { entries: 5 }
        );
        assert_eq!(verify(t, 0, &[], |_| None), Verdict::Intact { entries: 0 });
        // The same entries under another ticket's id do not verify.
        assert!(matches!(
            verify(TicketId::new(), 2, &chain(t, 2), |_| None),
            Verdict::Broken { seq: 1, .. }
        ));
    }

    #[test]
    fn a_removed_entry_is_named() {
        let t = TicketId::new();
        let mut c = chain(t, 4);
        c.remove(2);
        // The newest ones gone: the ticket's version still counts them.
        assert_eq!(
            verify(t, 4, &c[..2], |_| None),
            Verdict::Broken {
                seq: 3,
                reason: "the entry is missing".into()
            }
        );
        assert_eq!(
            verify(t, 4, &c, |_| None),
            Verdict::Broken {
                seq: 3,
                reason: "the entry is missing".into()
            }
        );
    }

    #[test]
    fn a_changed_article_body_is_named() {
        let t = TicketId::new();
        let details = format!(
            r#"{{"article_id":"a1","body_sha256":"{}"}}"#,
            sha256_hex(b"hello")
        );
        let hash = entry_hash(GENESIS, t, 1, "article_added", "x", 1, &details);
        let e = StoredEntry {
            seq: 1,
            kind: "article_added".into(),
            actor: "x".into(),
            occurred_at: 1,
            details,
            prev_hash: Some(GENESIS.into()),
            hash: Some(hash),
        };
        let body = |b: &'static [u8]| move |_: &str| Some(sha256_hex(b));
        assert_eq!(
            verify(t, 1, std::slice::from_ref(&e), body(b"hello")),
            Verdict::Intact { entries: 1 }
        );
        assert!(matches!(
            verify(t, 1, &[e], body(b"HELLO")),
            Verdict::Broken { seq: 1, .. }
        ));
    }

    proptest! {
        /// Whatever single field of whichever entry is changed, verification fails at that entry.
        #[test]
        fn any_change_breaks_the_chain_at_the_changed_entry(
            n in 1u64..12, at in 0usize..12, field in 0usize..6, junk in "[a-z0-9]{1,8}"
        ) {
            let t = TicketId::new();
            let mut c = chain(t, n);
            let i = at % c.len();
            let e = &mut c[i];
            match field {
                0 => e.kind.push_str(&junk),
                1 => e.actor.push_str(&junk),
                2 => e.occurred_at += 1,
                3 => e.details.push_str(&junk),
                4 => e.prev_hash = Some(junk.clone()),
                _ => e.hash = Some(junk.clone()),
            }
            let seq = e.seq;
            let verdict = verify(t, n, &c, |_| None);
            let at_changed = matches!(verdict, Verdict::Broken { seq: s, .. } if s == seq);
            prop_assert!(at_changed, "changed entry {}, got {:?}", seq, verdict);
        }
    }
}
