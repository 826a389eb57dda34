//! The mail service's store behaves the same on PostgreSQL and SQLite: received messages kept
//! byte for byte and once, leases, what processing records together, thread ids, the quarantine
//! and the outgoing queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use docket_mail::storage::*;
use docket_store::{Backend, Db};

async fn setup(backend: Backend) -> (MailStore, Db) {
    let db = docket_store::testing::fresh_db(backend).await.unwrap();
    MailStore::migrate(&db).await.unwrap();
    (MailStore::new(db.clone()), db)
}

fn inbound(message_id: &str, raw: &[u8]) -> NewInbound {
    NewInbound {
        source: "lmtp".into(),
        envelope_from: "jane@example.com".into(),
        recipients: vec!["support@uni.example".into()],
        raw: raw.to_vec(),
        message_id: message_id.into(),
        sha256: docket_mail::parse::content_hash(raw),
        sender: "jane@example.com".into(),
        subject: "Printer".into(),
        state: InboundState::Pending,
        reason: String::new(),
    }
}

fn done(ticket: &str, thread_ids: &[&str], outgoing: Option<NewOutgoing>) -> Finish {
    Finish {
        state: InboundState::Done,
        reason: String::new(),
        outcome: Some(Outcome::NewTicket),
        ticket_id: ticket.into(),
        article_id: "a1".into(),
        thread_ids: thread_ids.iter().map(|s| (*s).to_owned()).collect(),
        outgoing,
    }
}

fn outgoing(key: &str, message_id: &str) -> NewOutgoing {
    NewOutgoing {
        kind: OutgoingKind::Confirmation,
        source_key: key.into(),
        ticket_id: "t1".into(),
        article_id: "a2".into(),
        mail_from: "support@uni.example".into(),
        recipients: vec!["jane@example.com".into()],
        message_id: message_id.into(),
        raw: b"Subject: x\r\n\r\ny\r\n".to_vec(),
    }
}

async fn messages_are_kept_byte_for_byte_and_once(store: &MailStore, _db: &Db) {
    // Bytes that are not UTF-8 (an 8-bit body) survive unchanged.
    let raw = b"Subject: caf\xe9\r\n\r\n\x00\xff binary\r\n".to_vec();
    let (id, duplicate) = store.store_inbound(inbound("m1@x", &raw)).await.unwrap();
    assert!(!duplicate);
    let stored = store.get_inbound(id).await.unwrap();
    assert_eq!(stored.raw, raw);
    assert_eq!(stored.size, raw.len() as u64);
    assert_eq!(stored.state, InboundState::Pending);
    assert_eq!(stored.recipients, vec!["support@uni.example"]);
    // The same message again: the same row.
    let (again, duplicate) = store.store_inbound(inbound("m1@x", &raw)).await.unwrap();
    assert_eq!((again, duplicate), (id, true));
    // The same Message-ID with other content is another message (a resend with changes).
    let (other, duplicate) = store
        .store_inbound(inbound("m1@x", b"Subject: other\r\n\r\n"))
        .await
        .unwrap();
    assert!(!duplicate && other != id);
    // Without a Message-ID the content alone decides.
    let (a, _) = store.store_inbound(inbound("", b"no id")).await.unwrap();
    let (b, duplicate) = store.store_inbound(inbound("", b"no id")).await.unwrap();
    assert_eq!((a, duplicate), (b, true));
    let page = store.list_inbound(None, 10, None).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(
        page.items.iter().all(|m| m.raw.is_empty()),
        "listings carry no bytes"
    );
}

async fn claims_lease_and_deferred_messages_wait(store: &MailStore, _db: &Db) {
    let (first, _) = store.store_inbound(inbound("c1@x", b"one")).await.unwrap();
    let (second, _) = store.store_inbound(inbound("c2@x", b"two")).await.unwrap();
    let claimed = store.claim_due(1, 60).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, first, "oldest first");
    assert_eq!(claimed[0].raw, b"one");
    assert_eq!(claimed[0].attempts, 1);
    // Leased: the next claim takes the other one, then nothing.
    let next = store.claim_due(5, 60).await.unwrap();
    assert_eq!(next.iter().map(|m| m.id).collect::<Vec<_>>(), vec![second]);
    assert!(store.claim_due(5, 60).await.unwrap().is_empty());
    // Deferred into the future: not due; deferred to now: due again.
    let later = docket_platform::time::now_micros() + 60_000_000;
    store.defer(first, later, "peer unavailable").await.unwrap();
    assert!(store.claim_due(5, 60).await.unwrap().is_empty());
    store.defer(second, 0, "retry").await.unwrap();
    let again = store.claim_due(5, 60).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (second, 2));
    assert_eq!(again[0].reason, "retry");
}

async fn finishing_records_ticket_thread_and_answer_together(store: &MailStore, _db: &Db) {
    let (id, _) = store.store_inbound(inbound("f1@x", b"f1")).await.unwrap();
    assert!(
        store
            .earlier_pending(InboundId::new(), &["f1@x".into()])
            .await
            .unwrap()
    );
    store
        .finish(
            id,
            done(
                "t1",
                &["f1@x"],
                Some(outgoing("confirmation:f1", "out1@desk")),
            ),
        )
        .await
        .unwrap();
    let m = store.get_inbound(id).await.unwrap();
    assert_eq!(m.state, InboundState::Done);
    assert_eq!(m.outcome, Some(Outcome::NewTicket));
    assert_eq!((m.ticket_id.as_str(), m.article_id.as_str()), ("t1", "a1"));
    assert!(
        !store
            .earlier_pending(InboundId::new(), &["f1@x".into()])
            .await
            .unwrap()
    );
    // Both the received and the sent Message-ID lead to the ticket.
    assert_eq!(
        store.ticket_of(&["f1@x".into()]).await.unwrap().as_deref(),
        Some("t1")
    );
    assert_eq!(
        store
            .ticket_of(&["nope".into(), "out1@desk".into()])
            .await
            .unwrap()
            .as_deref(),
        Some("t1")
    );
    assert_eq!(store.ticket_of(&["nope".into()]).await.unwrap(), None);
    let thread = store.thread_of("t1", 20).await.unwrap();
    assert_eq!(thread.len(), 2);
    assert!(thread.contains(&"f1@x".to_owned()) && thread.contains(&"out1@desk".to_owned()));
    // The answer is queued.
    let due = store.claim_due_outgoing(10, 60).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message_id, "out1@desk");
    assert_eq!(due[0].kind, OutgoingKind::Confirmation);
}

async fn long_threads_keep_their_first_and_newest_ids(store: &MailStore, _db: &Db) {
    for i in 0..30 {
        let (id, _) = store
            .store_inbound(inbound(&format!("t{i:02}@x"), format!("{i}").as_bytes()))
            .await
            .unwrap();
        store
            .finish(id, done("long", &[&format!("t{i:02}@x")], None))
            .await
            .unwrap();
    }
    let thread = store.thread_of("long", 5).await.unwrap();
    assert_eq!(thread.len(), 5);
    assert_eq!(thread[0], "t00@x");
    assert_eq!(thread[4], "t29@x");
}

async fn only_held_messages_are_processed_again(store: &MailStore, _db: &Db) {
    let (held, _) = store
        .store_inbound(NewInbound {
            state: InboundState::Quarantined,
            reason: "this is not a mail message".into(),
            ..inbound("q1@x", b"garbage")
        })
        .await
        .unwrap();
    let (finished, _) = store.store_inbound(inbound("q2@x", b"fine")).await.unwrap();
    store.finish(finished, done("t9", &[], None)).await.unwrap();
    let quarantine = store
        .list_inbound(Some(InboundState::Quarantined), 10, None)
        .await
        .unwrap();
    assert_eq!(quarantine.items.len(), 1);
    assert_eq!(quarantine.items[0].reason, "this is not a mail message");
    let again = store.reprocess(held, "reprocessed").await.unwrap();
    assert_eq!(again.state, InboundState::Pending);
    assert_eq!(again.reason, "reprocessed");
    assert_eq!(again.attempts, 0);
    let err = store.reprocess(finished, "x").await.unwrap_err();
    assert!(err.to_string().contains("is done"), "{err}");
    assert!(store.reprocess(InboundId::new(), "x").await.is_err());
}

async fn listings_page_newest_first(store: &MailStore, _db: &Db) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .store_inbound(inbound(&format!("p{i}@x"), format!("p{i}").as_bytes()))
                .await
                .unwrap()
                .0,
        );
    }
    let first = store.list_inbound(None, 2, None).await.unwrap();
    assert_eq!(
        first.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let token = first.next_page_token.unwrap();
    let second = store.list_inbound(None, 2, Some(&token)).await.unwrap();
    assert_eq!(
        second.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    let last = store
        .list_inbound(None, 2, second.next_page_token.as_deref())
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
    assert!(last.next_page_token.is_none());
    assert!(
        store
            .list_inbound(None, 2, Some("not-an-id"))
            .await
            .is_err()
    );
    let last = InboundId::new();
    assert_eq!(
        store
            .sender_count("jane@example.com", 0, last)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        store
            .sender_count("jane@example.com", 0, ids[2])
            .await
            .unwrap(),
        3,
        "up to the third"
    );
    assert_eq!(
        store
            .sender_count("nobody@example.com", 0, last)
            .await
            .unwrap(),
        0
    );
}

async fn outgoing_mail_is_queued_once_and_retried_later(store: &MailStore, _db: &Db) {
    let (id, created) = store
        .queue_outgoing(outgoing("reply:a9", "o1@desk"))
        .await
        .unwrap();
    assert!(created);
    let (same, created) = store
        .queue_outgoing(outgoing("reply:a9", "o2@desk"))
        .await
        .unwrap();
    assert_eq!((same, created), (id, false));
    let due = store.claim_due_outgoing(10, 60).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(
        store.claim_due_outgoing(10, 60).await.unwrap().is_empty(),
        "leased"
    );
    let later = docket_platform::time::now_micros() + 60_000_000;
    let retrying = store
        .record_attempt(id, OutgoingState::Retrying, "421 try later", Some(later))
        .await
        .unwrap();
    assert_eq!(
        (retrying.state, retrying.attempts),
        (OutgoingState::Retrying, 1)
    );
    assert!(
        store.claim_due_outgoing(10, 60).await.unwrap().is_empty(),
        "not due yet"
    );
    store
        .record_attempt(id, OutgoingState::Retrying, "421 again", Some(0))
        .await
        .unwrap();
    assert_eq!(store.claim_due_outgoing(10, 60).await.unwrap().len(), 1);
    let sent = store
        .record_attempt(id, OutgoingState::Sent, "250 ok", None)
        .await
        .unwrap();
    assert_eq!(
        (sent.state, sent.attempts, sent.detail.as_str()),
        (OutgoingState::Sent, 3, "250 ok")
    );
    assert!(
        store.claim_due_outgoing(10, 0).await.unwrap().is_empty(),
        "sent is done"
    );
    let found = store
        .outgoing_by_message_id("o1@desk")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert!(
        store
            .outgoing_by_message_id("o2@desk")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.outgoing_of_ticket("t1").await.unwrap().len(), 1);
}

async fn a_removed_tickets_mail_is_forgotten(store: &MailStore, _db: &Db) {
    let (gone, _) = store.store_inbound(inbound("r1@x", b"r1")).await.unwrap();
    store
        .finish(
            gone,
            done(
                "t-gone",
                &["r1@x"],
                Some(outgoing("confirmation:r1", "o-r1@desk")),
            ),
        )
        .await
        .unwrap();
    let (kept, _) = store.store_inbound(inbound("r2@x", b"r2")).await.unwrap();
    store
        .finish(kept, done("t-kept", &["r2@x"], None))
        .await
        .unwrap();
    assert_eq!(store.forget_ticket("t-gone").await.unwrap(), 1);
    assert!(store.get_inbound(gone).await.is_err());
    assert_eq!(store.ticket_of(&["r1@x".into()]).await.unwrap(), None);
    assert!(store.outgoing_of_ticket("t-gone").await.unwrap().is_empty());
    assert_eq!(store.get_inbound(kept).await.unwrap().ticket_id, "t-kept");
    assert_eq!(
        store.ticket_of(&["r2@x".into()]).await.unwrap().as_deref(),
        Some("t-kept")
    );
    assert_eq!(
        store.forget_ticket("t-gone").await.unwrap(),
        0,
        "idempotent"
    );
}

fn key(tenant: &str, message_id: &str, sender: &str, sent_at: Option<Micros>) -> CopyKey {
    CopyKey {
        tenant_id: tenant.into(),
        message_id: message_id.into(),
        sender: sender.into(),
        sent_at,
    }
}

async fn copies_are_claimed_once_per_tenant(store: &MailStore, db: &Db) {
    let (first, _) = store
        .store_inbound(inbound("d1@x", b"copy 1"))
        .await
        .unwrap();
    let (second, _) = store
        .store_inbound(inbound("d1@x", b"Received: mx2\r\ncopy 1"))
        .await
        .unwrap();
    assert_ne!(first, second, "other bytes: stored twice");
    let k = key("tenant-a", "d1@x", "jane@example.com", Some(1_000));
    assert_eq!(store.claim_copy(&k, first).await.unwrap(), Claim::Ours);
    assert_eq!(
        store.claim_copy(&k, second).await.unwrap(),
        Claim::First {
            id: first,
            state: InboundState::Pending,
            ticket_id: String::new()
        }
    );
    // A retry of the first keeps its claim.
    assert_eq!(store.claim_copy(&k, first).await.unwrap(), Claim::Ours);
    // Another tenant, sender or date, or no date: another key.
    for other in [
        key("tenant-b", "d1@x", "jane@example.com", Some(1_000)),
        key("tenant-a", "d1@x", "john@example.com", Some(1_000)),
        key("tenant-a", "d1@x", "jane@example.com", Some(2_000)),
        key("tenant-a", "d1@x", "jane@example.com", None),
    ] {
        assert_eq!(
            store.claim_copy(&other, second).await.unwrap(),
            Claim::Ours,
            "{other:?}"
        );
    }
    // Once the first is processed its ticket is known to later copies.
    store
        .finish(first, done("t-copy", &["d1@x"], None))
        .await
        .unwrap();
    assert_eq!(
        store.claim_copy(&k, second).await.unwrap(),
        Claim::First {
            id: first,
            state: InboundState::Done,
            ticket_id: "t-copy".into()
        }
    );
    // The duplicate is kept and listed with its outcome; it changes nobody's claim.
    store
        .finish(
            second,
            Finish {
                outcome: Some(Outcome::Duplicate),
                reason: "a copy".into(),
                ..done("t-copy", &[], None)
            },
        )
        .await
        .unwrap();
    let listed = store.list_inbound(None, 10, None).await.unwrap();
    let duplicate = listed.items.iter().find(|m| m.id == second).unwrap();
    assert_eq!(
        (duplicate.outcome, duplicate.reason.as_str()),
        (Some(Outcome::Duplicate), "a copy")
    );
    let (third, _) = store
        .store_inbound(inbound("d1@x", b"copy 3"))
        .await
        .unwrap();
    let other_tenant = key("tenant-b", "d1@x", "jane@example.com", Some(1_000));
    assert!(matches!(
        store.claim_copy(&other_tenant, third).await.unwrap(),
        Claim::First { id, ticket_id, .. } if id == second && ticket_id.is_empty()
    ));
    // A claim whose message is no longer kept passes on.
    sqlx::query("DELETE FROM inbound_messages WHERE id = $1")
        .bind(second.to_string())
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(
        store.claim_copy(&other_tenant, third).await.unwrap(),
        Claim::Ours
    );
    // When retention forgets the ticket, a copy that comes later makes a new one.
    store.forget_ticket("t-copy").await.unwrap();
    assert_eq!(store.claim_copy(&k, third).await.unwrap(), Claim::Ours);
}

async fn copies_processed_at_once_make_one_claim(store: &MailStore, _db: &Db) {
    let mut ids = Vec::new();
    for i in 0..8 {
        let raw = format!("Received: mx{i}\r\nsame message");
        ids.push(
            store
                .store_inbound(inbound("race@x", raw.as_bytes()))
                .await
                .unwrap()
                .0,
        );
    }
    let k = key("tenant-a", "race@x", "jane@example.com", Some(5));
    let claims = futures::future::join_all(ids.iter().map(|&id| {
        let store = store.clone();
        let k = k.clone();
        tokio::spawn(async move { (id, store.claim_copy(&k, id).await.unwrap()) })
    }))
    .await;
    let winners: Vec<_> = claims
        .into_iter()
        .map(Result::unwrap)
        .filter(|(_, claim)| *claim == Claim::Ours)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one copy holds the claim");
    for id in ids.iter().filter(|&&id| id != winners[0]) {
        assert!(matches!(
            store.claim_copy(&k, *id).await.unwrap(),
            Claim::First { id: first, .. } if first == winners[0]
        ));
    }
}

async fn automatic_answers_are_counted_per_sender_at_once(store: &MailStore, _db: &Db) {
    // The rule here: at most 3 kept; the store must hand each writer what the last one wrote.
    let take = |store: MailStore, sender: &'static str, key: String| async move {
        store
            .auto_answers(sender, 0, move |mut earlier| {
                let allowed = earlier.len() < 3;
                if allowed {
                    earlier.push(AutoAnswer { at: 1, key });
                }
                (earlier, allowed)
            })
            .await
            .unwrap()
    };
    let results = futures::future::join_all(
        (0..10).map(|i| tokio::spawn(take(store.clone(), "loop@example.com", format!("k{i}")))),
    )
    .await;
    let allowed = results.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(allowed, 3);
    assert!(!take(store.clone(), "loop@example.com", "k10".into()).await);
    assert!(take(store.clone(), "jane@example.com", "k0".into()).await);
    let kept = store
        .auto_answers("loop@example.com", 0, |earlier| (earlier.clone(), earlier))
        .await
        .unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|a| a.at == 1 && a.key.starts_with('k')));
    // Senders nobody answered since a moment are forgotten, the others kept.
    let now = docket_platform::time::now_micros();
    assert_eq!(
        store
            .forget_auto_answers(now - 3_600_000_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.forget_auto_answers(now + 1).await.unwrap(), 2);
    let after = store
        .auto_answers("loop@example.com", 0, |earlier| (earlier.clone(), earlier))
        .await
        .unwrap();
    assert!(after.is_empty(), "{after:?}");
}

async fn spam_and_copies_do_not_count_towards_the_sender_limit(store: &MailStore, _db: &Db) {
    let mut ids = Vec::new();
    for (n, outcome) in [
        Some(Outcome::NewTicket),
        Some(Outcome::Spam),
        Some(Outcome::Duplicate),
        Some(Outcome::FollowUp),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let (id, _) = store
            .store_inbound(inbound(&format!("s{n}@x"), format!("mail {n}").as_bytes()))
            .await
            .unwrap();
        if let Some(outcome) = outcome {
            store
                .finish(
                    id,
                    Finish {
                        outcome: Some(outcome),
                        ..done("", &[], None)
                    },
                )
                .await
                .unwrap();
        }
        ids.push(id);
    }
    // The new ticket, the follow-up and the message not processed yet count.
    let last = *ids.last().unwrap();
    assert_eq!(
        store
            .sender_count("jane@example.com", 0, last)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .sender_count("jane@example.com", 0, ids[2])
            .await
            .unwrap(),
        1,
        "up to the duplicate: the first only"
    );
}

/// Every static statement of the service prepares on this engine: a misspelt column fails here,
/// in a second, not in the scenario that runs it. (The bus tables' statements are checked in
/// ticket core's suite, whose store migrates them.)
async fn every_statement_prepares(_store: &MailStore, db: &Db) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    docket_store::statements::assert_every_statement_prepares(db, &[src]).await;
}

docket_store::conformance!(
    every_statement_prepares,
    copies_are_claimed_once_per_tenant,
    copies_processed_at_once_make_one_claim,
    automatic_answers_are_counted_per_sender_at_once,
    spam_and_copies_do_not_count_towards_the_sender_limit,
    a_removed_tickets_mail_is_forgotten,
    messages_are_kept_byte_for_byte_and_once,
    claims_lease_and_deferred_messages_wait,
    finishing_records_ticket_thread_and_answer_together,
    long_threads_keep_their_first_and_newest_ids,
    only_held_messages_are_processed_again,
    listings_page_newest_first,
    outgoing_mail_is_queued_once_and_retried_later,
);
