use super::*;
use crate::parse::Address;

fn inbound(recipients: &[&str]) -> InboundMessage {
    InboundMessage {
        id: InboundId::new(),
        received_at: 0,
        source: "lmtp".into(),
        envelope_from: String::new(),
        recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
        message_id: String::new(),
        sha256: String::new(),
        size: 0,
        sender: String::new(),
        subject: String::new(),
        state: InboundState::Pending,
        reason: String::new(),
        outcome: None,
        ticket_id: String::new(),
        article_id: String::new(),
        attempts: 0,
        raw: Vec::new(),
    }
}

fn address(email: &str) -> Address {
    Address {
        name: None,
        email: email.into(),
    }
}

#[test]
fn envelope_recipients_decide_before_headers() {
    let mail = ParsedMail {
        delivered_to: vec![address("support@uni.example")],
        to: vec![
            address("someone@uni.example"),
            address("support@uni.example"),
        ],
        cc: vec![address("cert@uni.example")],
        ..Default::default()
    };
    assert_eq!(
        recipients(&inbound(&["Helpdesk@Uni.Example", "not-an-address"]), &mail),
        vec![
            "helpdesk@uni.example",
            "support@uni.example",
            "someone@uni.example",
            "cert@uni.example"
        ]
    );
}

#[test]
fn bodies_are_never_empty_and_never_too_long() {
    let empty = ParsedMail::default();
    assert_eq!(article_body(&empty), "(the message has no text)");
    let long = ParsedMail {
        text: "ä".repeat(700_000),
        ..Default::default()
    };
    let body = article_body(&long);
    assert!(body.len() <= 1024 * 1024);
    assert!(body.ends_with("kept with the received mail]"));
}

fn from(email: &str) -> ParsedMail {
    ParsedMail {
        from: Some(address(email)),
        ..Default::default()
    }
}

fn queue(addresses: &[&str]) -> pb::Queue {
    pb::Queue {
        id: "q1".into(),
        addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
        ..Default::default()
    }
}

#[test]
fn mail_is_kept_quarantined_or_refused_at_the_door() {
    let mail = ParsedMail {
        message_id: Some("m1@x".into()),
        subject: "ä".repeat(600),
        ..from("jane@example.com")
    };
    let kept = admission(Ok(mail)).unwrap();
    assert_eq!(kept.state, InboundState::Pending);
    assert_eq!(
        (kept.message_id.as_str(), kept.sender.as_str()),
        ("m1@x", "jane@example.com")
    );
    assert_eq!(kept.subject.chars().count(), 500);

    let not_mail = ParseError::NotAMessage("the input is empty".into());
    let held = admission(Err(not_mail.clone())).unwrap();
    assert_eq!(held.state, InboundState::Quarantined);
    assert_eq!(held.reason, not_mail.to_string());
    assert_eq!(held_state(&not_mail), InboundState::Quarantined);

    let too_large = ParseError::TooLarge { size: 2, limit: 1 };
    assert_eq!(
        admission(Err(too_large.clone())),
        Err(too_large.to_string())
    );
    assert_eq!(held_state(&too_large), InboundState::Refused);
}

#[test]
fn answers_name_references_then_in_reply_to() {
    let mail = ParsedMail {
        references: vec!["a".into(), "b".into()],
        in_reply_to: vec!["c".into()],
        ..Default::default()
    };
    assert_eq!(answered_ids(&mail), ["a", "b", "c"]);
}

#[test]
fn the_sender_limit_counts_the_last_hour_unless_lifted() {
    let message = InboundMessage {
        received_at: 10_000_000_000,
        ..inbound(&[])
    };
    assert_eq!(
        sender_limit_window(&message, "jane@example.com", 30),
        Some(6_400_000_000)
    );
    assert_eq!(sender_limit_window(&message, "", 30), None);
    assert_eq!(sender_limit_window(&message, "jane@example.com", 0), None);
    let again = InboundMessage {
        reason: REPROCESSED.into(),
        ..message
    };
    assert_eq!(sender_limit_window(&again, "jane@example.com", 30), None);

    assert_eq!(sender_limit_exceeded("jane@example.com", 30, 30), None);
    let reason = sender_limit_exceeded("jane@example.com", 31, 30).unwrap();
    assert!(
        reason.starts_with("jane@example.com sent 31 messages within an hour, more than the 30")
    );
}

#[test]
fn mail_without_a_queue_address_goes_to_its_account_else_the_default() {
    let settings = IngestSettings {
        limits: parse::Limits::default(),
        article: crate::domain::ArticleLimits::default(),
        default_queue: Some("default".into()),
        account_queues: vec![("imap:sales".into(), "sales".into())],
        default_language: "en".into(),
        sender_limit_per_hour: 0,
        auto_answers: AnswerLimit {
            limit: 3,
            window_secs: 3600,
        },
        spam: parse::SpamRules::default(),
        junk_queue: "Junk".into(),
    };
    assert_eq!(
        settings.fallback_queue("imap:sales").as_deref(),
        Some("sales")
    );
    assert_eq!(settings.fallback_queue("lmtp").as_deref(), Some("default"));
    let none = IngestSettings {
        default_queue: None,
        ..settings
    };
    assert_eq!(none.fallback_queue("lmtp"), None);
}

#[test]
fn new_tickets_are_titled_by_the_cleaned_subject() {
    let mail = ParsedMail {
        subject: "AW: [Ticket#2026112210000017] Printer".into(),
        from: Some(Address {
            name: Some("Jane".into()),
            email: "jane@example.com".into(),
        }),
        ..Default::default()
    };
    let id = InboundId::new();
    let article = customer_article(id, &mail, Vec::new());
    assert_eq!(article.subject, mail.subject);
    assert_eq!(article.idempotency_key, format!("mail:{id}"));
    let hooks = parse::TicketHooks::default();
    let ticket = new_ticket(&queue(&[]), &mail, "jane@example.com", article, &hooks);
    assert_eq!(ticket.title, "Printer");
    assert_eq!(ticket.queue_id, "q1");
    let contact = ticket.contact.unwrap();
    assert_eq!(
        (contact.name.as_str(), contact.email.as_str()),
        ("Jane", "jane@example.com")
    );

    let untitled = ParsedMail::default();
    assert_eq!(
        customer_article(id, &untitled, Vec::new()).subject,
        NO_SUBJECT
    );
    let ticket = new_ticket(
        &queue(&[]),
        &untitled,
        "",
        customer_article(id, &untitled, Vec::new()),
        &hooks,
    );
    assert_eq!(ticket.title, NO_SUBJECT);
    assert_eq!(ticket.contact, None);

    let legacy = parse::TicketHooks::new("Ticket#", &["KIX#".to_owned()]);
    let tagged = ParsedMail {
        subject: "AW: [KIX#2026113010000017] Drucker".into(),
        ..untitled.clone()
    };
    let article = customer_article(id, &tagged, Vec::new());
    assert_eq!(
        new_ticket(&queue(&[]), &tagged, "", article, &legacy).title,
        "Drucker",
        "a legacy hook's tag is no part of the title"
    );
}

#[test]
fn automatic_answers_go_to_people_only() {
    let support = queue(&["Support@Uni.Example"]);
    assert!(may_answer(&from("jane@example.com"), &support));
    assert!(!may_answer(&ParsedMail::default(), &support));
    for robot in ["mailer-daemon@x", "postmaster@x", "noreply@x", "no-reply@x"] {
        assert!(!may_answer(&from(robot), &support), "{robot}");
    }
    assert!(!may_answer(&from("support@uni.example"), &support));
    let automatic = ParsedMail {
        auto: Some(parse::AutoKind::ListUnsubscribe),
        ..from("jane@example.com")
    };
    assert!(!may_answer(&automatic, &support));
    let bounce = ParsedMail {
        bounce: Some(Bounce::default()),
        ..from("jane@example.com")
    };
    assert!(!may_answer(&bounce, &support));
    let spam = ParsedMail {
        spam: Some(flagged()),
        ..from("jane@example.com")
    };
    assert!(!may_answer(&spam, &support));
}

fn flagged() -> SpamVerdict {
    SpamVerdict {
        header: "X-Spam-Flag".into(),
        value: "YES".into(),
    }
}

#[test]
fn spam_goes_to_the_tenants_junk_queue_else_the_quarantine() {
    let named = |id: &str, tenant: &str, name: &str| pb::Queue {
        id: id.into(),
        tenant_id: tenant.into(),
        name: name.into(),
        ..Default::default()
    };
    let queues = [
        named("raw-a", "tenant-a", "Raw"),
        named("junk-b", "tenant-b", "Junk"),
        named("junk-a-mail", "tenant-a", "Mail::Junk"),
        named("junk-a", "tenant-a", "Junk"),
    ];
    let verdict = flagged();
    let to = |tenant: &str, name: &str| {
        junk_destination(&verdict, tenant, &queues, name).map(|q| q.id.as_str())
    };
    assert_eq!(to("tenant-a", "Junk"), Ok("junk-a"));
    assert_eq!(to("tenant-b", "Junk"), Ok("junk-b"));
    assert_eq!(to("tenant-a", "Mail::Junk"), Ok("junk-a-mail"));
    // Another tenant's Junk queue is never used, nor one named only alike.
    assert_eq!(
        to("tenant-c", "Junk"),
        Err("spam (X-Spam-Flag: YES) and tenant tenant-c has no queue named Junk".into())
    );
    assert_eq!(
        to("tenant-a", "junk"),
        Err("spam (X-Spam-Flag: YES) and tenant tenant-a has no queue named junk".into())
    );
    assert_eq!(
        to("tenant-a", ""),
        Err("spam (X-Spam-Flag: YES) and no junk queue is set (mail.junk_queue)".into())
    );
    assert_eq!(spam_note(&verdict), "spam (X-Spam-Flag: YES)");
}

#[test]
fn answers_are_in_the_mails_language_from_its_template() {
    let in_language = |l: Option<&str>| ParsedMail {
        content_language: l.map(str::to_owned),
        ..Default::default()
    };
    assert_eq!(answer_language(&in_language(Some("de")), "en"), "de");
    assert_eq!(answer_language(&in_language(Some("fr")), "en"), "en");
    assert_eq!(answer_language(&in_language(None), "de"), "de");

    let template = |id: &str, kind: pb::TemplateKind, language: &str| pb::Template {
        id: id.into(),
        kind: kind.into(),
        language: language.into(),
        ..Default::default()
    };
    let templates = [
        template("any", pb::TemplateKind::Acceptance, ""),
        template("reply-de", pb::TemplateKind::Answer, "de"),
        template("de", pb::TemplateKind::Acceptance, "de"),
    ];
    let chosen = |language: &str| acceptance_template(&templates, language).map(|t| t.id.as_str());
    assert_eq!(chosen("de"), Some("de"));
    assert_eq!(chosen("en"), Some("any"));
    assert_eq!(acceptance_template(&templates[1..], "en"), None);
}

#[test]
fn copies_are_known_by_message_id_sender_and_date_within_a_tenant() {
    let mail = ParsedMail {
        message_id: Some(" m1@x ".into()),
        date_us: Some(1_795_338_000_000_000),
        ..from("Jane@Example.COM")
    };
    let key = copy_key("tenant-a", &mail).unwrap();
    assert_eq!(
        key,
        CopyKey {
            tenant_id: "tenant-a".into(),
            message_id: "m1@x".into(),
            sender: "jane@example.com".into(),
            sent_at: Some(1_795_338_000_000_000),
        }
    );
    // The same mail to another tenant is another message there.
    assert_ne!(copy_key("tenant-b", &mail), Some(key.clone()));
    // Another sender or another date: not a copy.
    let other_sender = ParsedMail {
        from: Some(address("john@example.com")),
        ..mail.clone()
    };
    assert_ne!(copy_key("tenant-a", &other_sender), Some(key.clone()));
    let other_date = ParsedMail {
        date_us: Some(1),
        ..mail.clone()
    };
    assert_ne!(copy_key("tenant-a", &other_date), Some(key.clone()));
    let no_date = ParsedMail {
        date_us: None,
        ..mail.clone()
    };
    assert_eq!(copy_key("tenant-a", &no_date).unwrap().sent_at, None);
    // Without a Message-ID a mail is never a copy by this rule.
    for message_id in [None, Some(String::new()), Some("  ".into())] {
        let anonymous = ParsedMail {
            message_id,
            ..mail.clone()
        };
        assert_eq!(copy_key("tenant-a", &anonymous), None);
    }
}

#[test]
fn a_copy_waits_for_the_first_then_is_its_duplicate() {
    assert_eq!(copy_verdict(&Claim::Ours, "m1@x"), CopyVerdict::Process);
    let first = InboundId::new();
    let claim = |state, ticket: &str| Claim::First {
        id: first,
        state,
        ticket_id: ticket.into(),
    };
    let CopyVerdict::Wait(reason) = copy_verdict(&claim(InboundState::Pending, ""), "m1@x") else {
        panic!("a pending first copy is waited for");
    };
    assert_eq!(
        reason,
        format!("waits for message {first}, an earlier copy of m1@x")
    );
    assert_eq!(
        copy_verdict(&claim(InboundState::Done, "t7"), "m1@x"),
        CopyVerdict::Duplicate {
            ticket_id: "t7".into(),
            reason: format!(
                "a copy of message {first} (Message-ID m1@x), which went to ticket t7; \
                 nothing done"
            ),
        }
    );
    for held in InboundState::HELD {
        let CopyVerdict::Duplicate { ticket_id, reason } = copy_verdict(&claim(held, ""), "m1@x")
        else {
            panic!("a held first copy makes this one a duplicate");
        };
        assert_eq!(ticket_id, "");
        assert!(reason.contains(&format!("which is {held}")), "{reason}");
        assert!(reason.ends_with("reprocess that one"), "{reason}");
    }
}

const HOUR: AnswerLimit = AnswerLimit {
    limit: 3,
    window_secs: 3600,
};

fn answer(at: Micros, key: &str) -> AutoAnswer {
    AutoAnswer {
        at,
        key: key.into(),
    }
}

#[test]
fn a_sender_gets_a_few_automatic_answers_per_window() {
    let sender = "loop@example.com";
    let mut log = Vec::new();
    let mut allowed = 0;
    for i in 0..30 {
        let (kept, verdict) = auto_answer(HOUR, log, &format!("k{i}"), sender, i * 1_000_000);
        log = kept;
        allowed += usize::from(verdict.is_ok());
    }
    assert_eq!(
        allowed, 3,
        "a loop of 30 mails within a minute gets 3 answers"
    );
    assert_eq!(log.len(), 3);
    let (_, refused) = auto_answer(HOUR, log.clone(), "k30", sender, 60_000_000);
    assert_eq!(
        refused,
        Err(
            "no automatic answer: loop@example.com got 3 within 3600 seconds, the most \
             mail.auto_answer_limit allows (a mail loop?)"
                .into()
        )
    );
    // A retry of an answer that was allowed is allowed again, and counted once.
    let (again, verdict) = auto_answer(HOUR, log.clone(), "k1", sender, 60_000_000);
    assert_eq!((again.len(), verdict), (3, Ok(())));
    // An hour after the first answer went, it no longer counts.
    let (kept, verdict) = auto_answer(HOUR, log, "k31", sender, 3_600_000_000);
    assert_eq!(verdict, Ok(()));
    assert_eq!(
        kept.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["k1", "k2", "k31"]
    );
    // No limit: always allowed, nothing counted.
    let none = AnswerLimit { limit: 0, ..HOUR };
    let (kept, verdict) = auto_answer(none, vec![answer(0, "a"); 5], "b", sender, 1);
    assert_eq!((kept.len(), verdict), (5, Ok(())));
    // Extreme values neither panic nor let old answers count forever.
    let forever = AnswerLimit {
        limit: 1,
        window_secs: u64::MAX,
    };
    let (_, verdict) = auto_answer(forever, vec![answer(-1_000_000, "a")], "b", sender, 0);
    assert!(verdict.is_err());
    let (_, verdict) = auto_answer(HOUR, vec![answer(i64::MAX, "a")], "b", sender, i64::MIN);
    assert_eq!(verdict, Ok(()), "one of 3");
}

mod answer_window {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the arrivals, no window holds more allowed answers than the limit, an
        /// answer is refused only when the window is full, and what is kept never grows
        /// beyond the limit.
        #[test]
        fn never_more_than_the_limit_within_any_window(
            limit in 1_u32..6,
            window_secs in 1_u64..20,
            gaps in proptest::collection::vec(0_i64..15_000_000, 1..60),
        ) {
            let limit = AnswerLimit { limit, window_secs };
            let window = i64::try_from(window_secs).unwrap() * 1_000_000;
            let mut log = Vec::new();
            let mut allowed: Vec<Micros> = Vec::new();
            let mut now = 1_000_000_000;
            for (i, gap) in gaps.iter().enumerate() {
                now += gap;
                let key = format!("k{i}");
                let in_window = allowed.iter().filter(|&&at| at > now - window).count();
                let (kept, verdict) = auto_answer(limit, log, &key, "s@x", now);
                prop_assert_eq!(verdict.is_ok(), in_window < limit.limit as usize);
                prop_assert!(kept.len() <= limit.limit as usize);
                if verdict.is_ok() {
                    allowed.push(now);
                    // A retry of this one changes nothing.
                    let (same, again) = auto_answer(limit, kept.clone(), &key, "s@x", now);
                    prop_assert_eq!(again, Ok(()));
                    prop_assert_eq!(&same, &kept);
                }
                log = kept;
                for &at in &allowed {
                    let within = allowed.iter().filter(|&&b| b >= at && b < at + window).count();
                    prop_assert!(within <= limit.limit as usize);
                }
            }
        }
    }
}

#[test]
fn bounces_become_internal_notes() {
    let mail = ParsedMail {
        subject: "Undelivered Mail".into(),
        text: "x".repeat(1_000_000),
        ..Default::default()
    };
    let bounce = Bounce {
        original_message_id: Some("orig@docket".into()),
        status: Some("5.1.1".into()),
        recipient: Some("nobody@example.org".into()),
    };
    let id = InboundId::new();
    let note = bounce_note(id, &mail, &bounce, "orig@docket", Vec::new());
    assert!(!note.article.visible_to_customer);
    assert_eq!(note.article.subject, "[Bounce] Undelivered Mail");
    assert!(note.article.body.starts_with(
        "Undeliverable: the mail orig@docket to nobody@example.org bounced (status 5.1.1)."
    ));
    assert_eq!(note.article.body.len(), 900_000);
    assert_eq!(note.detail, "bounced: 5.1.1 nobody@example.org");
    let unknown = bounce_note(id, &mail, &Bounce::default(), "orig@docket", Vec::new());
    assert_eq!(unknown.detail, "bounced: unknown");
}
