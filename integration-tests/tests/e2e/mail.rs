//! The mail channel with real peers: swaks delivers over SMTP and LMTP, an aiosmtpd server
//! receives what the desk sends, Dovecot holds a polled mailbox. A customer writes to a queue's
//! address, gets the confirmation with the ticket number, replies, and the reply lands on the
//! same ticket; an agent answers by mail; robots get no answers, bounces land on their ticket,
//! unreadable mail waits in the quarantine. Embedded and on PostgreSQL + RabbitMQ.

use std::time::Duration;

use docket_integration_tests::mail::{Dovecot, Sink, header, swaks};
use docket_integration_tests::{
    Mode, TestApp, eventually, expect, send, test_settings, text_of, wait_until, when,
};
use docket_mail::config::{ImapAccount, Security, SmtpRelay};
use docket_platform::config::Secret;
use serde_json::{Value, json};

pub(super) const QUEUE_ADDRESS: &str = "support@uni.example";

fn relay(sink: &Sink) -> SmtpRelay {
    SmtpRelay {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: Security::None,
        ca_file: None,
        user: None,
        password: None,
        max_attempts: 5,
        retry_secs: 1,
    }
}

/// The id of the queue named `name`, given `address` as its only mail address.
pub(super) async fn queue_with_address(app: &TestApp, name: &str, address: &str) -> String {
    let queue = app.queue_id(name).await;
    expect(
        200,
        app.client
            .patch(format!("{}/queues/{queue}", app.api))
            .json(&json!({"addresses": [address]})),
        "queue address",
    )
    .await;
    queue
}

/// The queue's tickets (at most a page).
async fn tickets(app: &TestApp, queue: &str) -> Vec<Value> {
    app.get_json(&format!("/queues/{queue}/tickets?page_size=100"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub(super) async fn articles(app: &TestApp, ticket: &str) -> Vec<Value> {
    app.get_json(&format!("/tickets/{ticket}/articles")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the queue has a ticket titled `title`; returns it.
pub(super) async fn ticket_titled(app: &TestApp, queue: &str, title: &str) -> Value {
    wait_until(
        Duration::from_secs(30),
        &format!("a ticket {title:?}"),
        || async {
            let list = tickets(app, queue).await;
            list.iter()
                .find(|t| t["title"] == title)
                .cloned()
                .ok_or(list)
        },
    )
    .await
}

/// Waits until the ticket has `n` articles; returns them.
pub(super) async fn articles_n(app: &TestApp, ticket: &str, n: usize) -> Vec<Value> {
    let list = wait_until(
        Duration::from_secs(30),
        &format!("{n} articles on ticket {ticket}"),
        || async {
            let list = articles(app, ticket).await;
            when(list.len() >= n, list)
        },
    )
    .await;
    assert_eq!(list.len(), n, "{list:#?}");
    list
}

/// Waits until an article's mail reached `state`.
async fn delivery(app: &TestApp, ticket: &str, article: &str, state: &str) -> Value {
    wait_until(
        Duration::from_secs(30),
        &format!("article {article}'s mail to be {state}"),
        || async {
            let list = articles(app, ticket).await;
            let a = list.iter().find(|a| a["id"] == article).unwrap();
            when(a["delivery"]["state"] == state, a["delivery"].clone())
        },
    )
    .await
}

/// Waits until the admin API lists the message with this Message-ID in `state`.
pub(super) async fn message_state(app: &TestApp, message_id: &str, state: &str) -> Value {
    wait_until(
        Duration::from_secs(30),
        &format!("message {message_id} to be {state}"),
        || async {
            let list = app.get_json("/admin/mail/messages?page_size=500").await;
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["message_id"] == message_id && m["state"] == state)
                .cloned()
                .ok_or(list)
        },
    )
    .await
}

async fn round_trip(mode: Mode) {
    let sink = Sink::start();
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(mode, data.path()).await;
    settings.mail.smtp = Some(relay(&sink));
    settings.mail.default_language = "en".into();
    settings.mail.max_message_bytes = 256 * 1024;
    settings.mail.sender_limit_per_hour = 5;
    let app = TestApp::spawn_with(settings, data, None).await;
    let (smtp, lmtp) = (app.smtp.unwrap().port(), app.lmtp.unwrap().port());
    let api = app.api.clone();
    let queue = app.queue_id("Raw").await;
    expect(
        200,
        app.client
            .patch(format!("{api}/queues/{queue}"))
            .json(&json!({
                "addresses": [QUEUE_ADDRESS], "signature": "IT Service Desk, Uni Example"
            })),
        "queue address",
    )
    .await;

    // Sam (2nd level) may read the queue and has a mail address: he is told what happens.
    let tenant = app.tenant_id.clone();
    let second_level = app
        .id_named(&format!("/admin/tenants/{tenant}/roles"), "2nd level")
        .await;
    let sam = expect(
        201,
        app.client
            .post(format!("{api}/admin/tenants/{tenant}/agents"))
            .json(&json!({"login": "sam", "name": "Sam", "email": "sam@uni.example",
                          "password": "a password for sam, long enough", "role_ids": [second_level]})),
        "agent",
    )
    .await;
    let sam_id = sam["id"].as_str().unwrap().to_owned();

    // A customer writes to the queue's address (SMTP, as a mail server next door would).
    let (ok, out) = swaks(
        smtp,
        "ESMTP",
        &[
            "--from",
            "jane@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            "Subject: Printer on fire",
            "--header",
            "Message-Id: <first-1@example.com>",
            "--header",
            "From: Jane Doe <jane@example.com>",
            "--body",
            "The printer in room 3 is on fire.",
        ],
    );
    assert!(ok, "{out}");
    let ticket = ticket_titled(&app, &queue, "Printer on fire").await;
    let ticket_id = ticket["id"].as_str().unwrap().to_owned();
    let number = ticket["number"].as_str().unwrap().to_owned();
    assert_eq!(ticket["contact"]["email"], "jane@example.com");
    assert_eq!(ticket["contact"]["name"], "Jane Doe");

    // She gets the confirmation, threaded to her mail and marked automatic.
    let tag = format!("[Ticket#{number}]");
    let confirmation = sink.wait_for(&["To: jane@example.com", &tag]).await;
    assert_eq!(
        header(&confirmation, "In-Reply-To").as_deref(),
        Some("<first-1@example.com>")
    );
    assert_eq!(
        header(&confirmation, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert!(
        header(&confirmation, "From")
            .unwrap()
            .contains(QUEUE_ADDRESS)
    );
    let confirmation_id = header(&confirmation, "Message-ID").unwrap();
    let notice = sink
        .wait_for(&["To: sam@uni.example", "New ticket: Printer on fire"])
        .await;
    assert!(
        header(&notice, "Subject").unwrap().contains(&tag),
        "{notice}"
    );
    assert_eq!(
        header(&notice, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    expect(
        200,
        app.client
            .patch(format!("{api}/tickets/{ticket_id}"))
            .json(&json!({"owner_id": sam_id, "state": "open"})),
        "assign to Sam",
    )
    .await;
    sink.wait_for(&["To: sam@uni.example", "Assigned to you: Printer on fire"])
        .await;
    let list = articles_n(&app, &ticket_id, 2).await;
    assert_eq!(list[0]["sender"], "customer");
    assert_eq!(list[0]["body"], "The printer in room 3 is on fire.");
    assert_eq!(list[1]["sender"], "system");
    let sent = delivery(&app, &ticket_id, list[1]["id"].as_str().unwrap(), "sent").await;
    assert_eq!(sent["to"], json!(["jane@example.com"]));
    assert_eq!(
        format!("<{}>", sent["message_id"].as_str().unwrap()),
        confirmation_id
    );

    // She replies to it (over LMTP, as her mail reaches us through Postfix): same ticket.
    let subject = format!("Subject: Re: {}", header(&confirmation, "Subject").unwrap());
    let in_reply_to = format!("In-Reply-To: {confirmation_id}");
    let (ok, out) = swaks(
        lmtp,
        "LMTP",
        &[
            "--from",
            "jane@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            &subject,
            "--header",
            &in_reply_to,
            "--header",
            "Message-Id: <reply-2@example.com>",
            "--body",
            "It is out now, but the printer is gone.",
        ],
    );
    assert!(ok, "{out}");
    let list = articles_n(&app, &ticket_id, 3).await;
    assert_eq!(list[2]["sender"], "customer");
    assert!(
        list[2]["body"]
            .as_str()
            .unwrap()
            .contains("printer is gone")
    );
    sink.wait_for(&[
        "To: sam@uni.example",
        "The customer replied: Printer on fire",
    ])
    .await;

    // A reply without the number in its subject threads by In-Reply-To alone.
    let (ok, out) = swaks(
        lmtp,
        "LMTP",
        &[
            "--from",
            "jane@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            "Subject: one more thing",
            "--header",
            "In-Reply-To: <reply-2@example.com>",
            "--body",
            "The fire alarm did not go off.",
        ],
    );
    assert!(ok, "{out}");
    articles_n(&app, &ticket_id, 4).await;
    assert_eq!(tickets(&app, &queue).await.len(), 1, "no second ticket");

    // The same message delivered twice (an MTA retry) is stored once.
    let twice = |extra: &[&str]| {
        let mut args = vec![
            "--from",
            "jane@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            "Subject: one more thing",
            "--header",
            "In-Reply-To: <reply-2@example.com>",
            "--header",
            "Message-Id: <dup-3@example.com>",
            "--header",
            "Date: Mon, 30 Nov 2026 10:00:00 +0000",
            "--body",
            "Twice.",
        ];
        args.extend_from_slice(extra);
        swaks(lmtp, "LMTP", &args)
    };
    let (ok, out) = twice(&[]);
    assert!(ok, "{out}");
    let first = message_state(&app, "dup-3@example.com", "done").await;
    let first_id = first["id"].as_str().unwrap();
    let (ok, out) = twice(&[]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("stored as {first_id}")), "{out}");
    articles_n(&app, &ticket_id, 5).await;
    // Again through a second MX, one more Received: line (other bytes): kept, recorded as a
    // duplicate of the first, and no article, no ticket, no answer.
    let (ok, out) = twice(&[
        "--header",
        "Received: from mx2.example.com (mx2.example.com [192.0.2.7]) by mx.uni.example; \
         Mon, 30 Nov 2026 10:00:05 +0000",
    ]);
    assert!(ok, "{out}");
    let copy = wait_until(
        Duration::from_secs(30),
        "the second MX's copy to be a duplicate",
        || async {
            let list = app.get_json("/admin/mail/messages?page_size=500").await;
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["message_id"] == "dup-3@example.com" && m["id"] != first_id)
                .filter(|m| m["state"] == "done")
                .cloned()
                .ok_or(list)
        },
    )
    .await;
    assert_eq!(copy["outcome"], "duplicate", "{copy}");
    assert!(
        copy["reason"].as_str().unwrap().contains(first_id),
        "{copy}"
    );
    articles_n(&app, &ticket_id, 5).await;
    assert_eq!(tickets(&app, &queue).await.len(), 1, "no second ticket");

    // An agent answers by mail: from the queue's address, with its signature, in the thread.
    let answer = expect(
        201,
        app.client
            .post(format!("{api}/tickets/{ticket_id}/articles"))
            .json(&json!({"sender": "agent", "channel": "email", "visible_to_customer": true,
                          "subject": "Replacement printer", "body": "A new printer arrives tomorrow."})),
        "answer",
    )
    .await;
    let mail = sink
        .wait_for(&["A new printer arrives tomorrow.", "To: jane@example.com"])
        .await;
    assert!(header(&mail, "Subject").unwrap().contains(&tag), "{mail}");
    assert!(header(&mail, "From").unwrap().contains(QUEUE_ADDRESS));
    assert!(mail.contains("IT Service Desk, Uni Example"), "{mail}");
    let references = header(&mail, "References").unwrap();
    assert!(references.contains("<first-1@example.com>"), "{references}");
    assert!(references.contains("<reply-2@example.com>"), "{references}");
    assert_eq!(header(&mail, "Auto-Submitted"), None);
    let answer_id = answer["id"].as_str().unwrap();
    let sent = delivery(&app, &ticket_id, answer_id, "sent").await;
    let answer_message_id = sent["message_id"].as_str().unwrap().to_owned();
    assert!(
        sent["detail"].as_str().unwrap().starts_with("250"),
        "{sent}"
    );

    // Her mail server bounces it: a note on the ticket, tagged, the answer marked failed.
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.com\r\nTo: {QUEUE_ADDRESS}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <dsn-4@mx.example.com>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
Final-Recipient: rfc822; jane@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{answer_message_id}>\r\nSubject: x\r\n\r\n--b1--\r\n"
    );
    let uploaded = expect(
        202,
        app.client
            .post(format!("{api}/mail/messages"))
            .header("content-type", "message/rfc822")
            .body(dsn),
        "upload the bounce",
    )
    .await;
    assert_eq!(uploaded["source"], "upload");
    let bounced = message_state(&app, "dsn-4@mx.example.com", "done").await;
    assert_eq!(bounced["outcome"], "bounce");
    assert_eq!(bounced["ticket_id"].as_str(), Some(ticket_id.as_str()));
    let failed = delivery(&app, &ticket_id, answer_id, "failed").await;
    assert!(
        failed["detail"].as_str().unwrap().contains("5.1.1"),
        "{failed}"
    );
    let list = articles(&app, &ticket_id).await;
    let note = list.last().unwrap();
    assert_eq!(note["sender"], "system");
    assert_eq!(note["visible_to_customer"], false);
    let t = app.get_json(&format!("/tickets/{ticket_id}")).await;
    assert!(
        t["tags"].as_array().unwrap().contains(&json!("bounce")),
        "{t}"
    );

    // An HTML mail: its text is the article, its HTML (sanitised) is kept beside it.
    let html = format!(
        "From: jane@example.com\r\nTo: {QUEUE_ADDRESS}\r\nSubject: Re: {tag} photos\r\n\
Message-ID: <html-7@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nSee the photos.\r\n--alt\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>See the <b>photos</b>.</p>\
<script>alert(1)</script><img src=\"https://tracker.example/x.gif\">\r\n--alt--\r\n"
    );
    expect(
        202,
        app.client.post(format!("{api}/mail/messages")).body(html),
        "an HTML mail",
    )
    .await;
    let done_html = message_state(&app, "html-7@example.com", "done").await;
    assert_eq!(done_html["ticket_id"].as_str(), Some(ticket_id.as_str()));
    let list = articles(&app, &ticket_id).await;
    let article = list
        .iter()
        .find(|a| a["id"] == done_html["article_id"])
        .unwrap();
    assert_eq!(article["body"], "See the photos.");
    let html_part = &article["attachments"][0];
    assert_eq!(html_part["filename"], "message.html");
    let shown = text_of(app.client.get(format!(
        "{api}/attachments/{}",
        html_part["id"].as_str().unwrap()
    )))
    .await;
    assert!(shown.contains("<b>photos</b>"), "{shown}");
    let served = app
        .client
        .get(format!(
            "{api}/attachments/{}",
            html_part["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    // Active content is a download only; the copy names its charset itself.
    assert_eq!(served.headers()["content-type"], "application/octet-stream");
    assert!(
        shown.starts_with("<!DOCTYPE html>\n<meta charset=\"utf-8\">"),
        "{shown}"
    );
    assert!(
        !shown.contains("<script") && !shown.contains("tracker.example"),
        "{shown}"
    );

    // A robot's mail makes a ticket, but no answer goes back to it.
    let (ok, out) = swaks(
        smtp,
        "ESMTP",
        &[
            "--from",
            "monitor@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            "Subject: Disk full on srv1",
            "--header",
            "Auto-Submitted: auto-generated",
            "--header",
            "Message-Id: <robot-5@example.com>",
            "--body",
            "Disk /var is 100% full.",
        ],
    );
    assert!(ok, "{out}");
    let robot = message_state(&app, "robot-5@example.com", "done").await;
    assert_eq!(robot["outcome"], "new_ticket");
    let list = articles(&app, robot["ticket_id"].as_str().unwrap()).await;
    assert_eq!(list.len(), 1, "no confirmation for a robot: {list:#?}");

    // A sender writing more than the limit within an hour (a loop): the rest is held.
    for i in 0..7 {
        expect(
            202,
            app.client.post(format!("{api}/mail/messages")).body(format!(
                "From: robot@loop.example\r\nTo: {QUEUE_ADDRESS}\r\nSubject: Out of office {i}\r\n\
Message-ID: <loop-{i}@loop.example>\r\n\r\nI am away.\r\n"
            )),
            "a looping sender",
        )
        .await;
    }
    for i in 0..5 {
        message_state(&app, &format!("loop-{i}@loop.example"), "done").await;
    }
    for i in 5..7 {
        let held = message_state(&app, &format!("loop-{i}@loop.example"), "quarantined").await;
        assert!(
            held["reason"].as_str().unwrap().contains("a mail loop?"),
            "{held}"
        );
    }

    // SMTP takes mail only for the queues' addresses.
    let (ok, out) = swaks(
        smtp,
        "ESMTP",
        &[
            "--from",
            "jane@example.com",
            "--to",
            "nobody@uni.example",
            "--body",
            "x",
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("550 5.1.1"), "{out}");
    // Too large: refused with the reason, at the door.
    let big = "x".repeat(300 * 1024);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &big).unwrap();
    let body = format!("@{}", file.path().display());
    let (ok, out) = swaks(
        smtp,
        "ESMTP",
        &[
            "--from",
            "jane@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--body",
            &body,
        ],
    );
    assert!(!ok);
    assert!(out.contains("552 5.3.4"), "{}", &out[..out.len().min(2000)]);
    // Over the REST upload: refused with the same reason, just over the limit and far over it
    // (more than the mail service's gRPC messages would carry at its own limit: still the reason,
    // not a transport error).
    for body in [big, "x".repeat(1024 * 1024)] {
        let (status, problem) = send(
            app.client
                .post(format!("{api}/mail/messages"))
                .body(format!("Subject: big\r\n\r\n{body}")),
        )
        .await;
        assert_eq!(status, 413, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("at most 262144"),
            "{problem}"
        );
    }

    // Mail for no known address, with no default queue: kept in the quarantine, byte for byte,
    // and processed again on request.
    let stray = b"From: someone@example.net\r\nTo: nobody@elsewhere.example\r\nSubject: stray\r\n\
Message-ID: <stray-6@example.net>\r\n\r\nHello?\r\n"
        .to_vec();
    expect(
        202,
        app.client
            .post(format!("{api}/mail/messages"))
            .body(stray.clone()),
        "upload a stray mail",
    )
    .await;
    let held = message_state(&app, "stray-6@example.net", "quarantined").await;
    assert!(
        held["reason"]
            .as_str()
            .unwrap()
            .contains("nobody@elsewhere.example"),
        "{held}"
    );
    let id = held["id"].as_str().unwrap();
    let raw = app
        .client
        .get(format!("{api}/admin/mail/messages/{id}/raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.bytes().await.unwrap().to_vec(), stray);
    expect(
        202,
        app.client
            .post(format!("{api}/admin/mail/messages/{id}/reprocess")),
        "reprocess",
    )
    .await;
    message_state(&app, "stray-6@example.net", "quarantined").await;
    let done = bounced["id"].as_str().unwrap();
    expect(
        409,
        app.client
            .post(format!("{api}/admin/mail/messages/{done}/reprocess")),
        "reprocess a processed message",
    )
    .await;
    let quarantine = app.get_json("/admin/mail/messages?state=quarantined").await;
    assert_eq!(
        quarantine["items"].as_array().unwrap().len(),
        3,
        "{quarantine}"
    );

    // Sam's ticket waits for a day that comes in a second: he is reminded. Its target date
    // passes: he (and everyone in the queue) hears it is escalated. Each once.
    let in_a_second = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    expect(
        200,
        app.client
            .patch(format!("{api}/tickets/{ticket_id}"))
            .json(&json!({"state": "pending_reminder", "pending_until": in_a_second})),
        "pending",
    )
    .await;
    let reminder = sink
        .wait_for(&["To: sam@uni.example", "Reminder: Printer on fire"])
        .await;
    assert!(
        header(&reminder, "Subject").unwrap().contains(&tag),
        "{reminder}"
    );
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    expect(
        200,
        app.client
            .patch(format!("{api}/tickets/{ticket_id}"))
            .json(&json!({"state": "open", "target_at": an_hour_ago})),
        "target date",
    )
    .await;
    sink.wait_for(&["To: sam@uni.example", "Escalated: Printer on fire"])
        .await;
    // Deliberately a fixed time: nothing must happen in it. Two more seconds of looking (the
    // due check runs every second) tell nobody again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let told = sink
        .messages()
        .iter()
        .filter(|m| {
            m.contains("Reminder: Printer on fire") || m.contains("Escalated: Printer on fire")
        })
        .count();
    assert_eq!(told, 2, "one reminder, one escalation");
    // The looping sender got as many confirmations as the answer limit allows (3 an hour), not
    // one for each of its five tickets.
    let answered_loop = sink
        .messages()
        .iter()
        .filter(|m| m.contains("To: robot@loop.example"))
        .count();
    assert_eq!(answered_loop, 3, "confirmations to the looping sender");

    // An out-of-office reply to the closed ticket (from a colleague she copied; Jane herself has
    // written the most this test's limit takes within the hour): kept on it as an internal note,
    // the ticket stays closed, nobody is answered.
    expect(
        200,
        app.client
            .patch(format!("{api}/tickets/{ticket_id}"))
            .json(&json!({"state": "closed_successful"})),
        "close",
    )
    .await;
    let subject = format!("Subject: Out of office: Re: {tag} Printer on fire");
    let (ok, out) = swaks(
        lmtp,
        "LMTP",
        &[
            "--from",
            "max@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            &subject,
            "--header",
            "Auto-Submitted: auto-replied",
            "--header",
            "Message-Id: <ooo-9@example.com>",
            "--body",
            "I am out of the office until Monday.",
        ],
    );
    assert!(ok, "{out}");
    let away = message_state(&app, "ooo-9@example.com", "done").await;
    assert_eq!(
        (away["outcome"].as_str(), away["ticket_id"].as_str()),
        (Some("follow_up"), Some(ticket_id.as_str())),
        "{away}"
    );
    let list = articles(&app, &ticket_id).await;
    let note = list.iter().find(|a| a["id"] == away["article_id"]).unwrap();
    assert_eq!(
        (&note["sender"], &note["visible_to_customer"]),
        (&json!("customer"), &json!(false)),
        "{note}"
    );
    let t = app.get_json(&format!("/tickets/{ticket_id}")).await;
    assert_eq!(t["state"], "closed_successful", "{t}");

    // Spam the upstream filter flagged, from Jane (over her hourly limit) and naming her ticket:
    // a new ticket in the tenant's Junk queue (every tenant starts with one), not on hers, and
    // no confirmation (whose article would be on the new ticket before the message is done).
    let junk_id = app.queue_id("Junk").await;
    let subject = format!("Subject: Re: {tag} You have won");
    let (ok, out) = swaks(
        lmtp,
        "LMTP",
        &[
            "--from",
            "jane@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--header",
            &subject,
            "--header",
            "X-Spam-Flag: YES",
            "--header",
            "X-Spam-Status: Yes, score=7.3 required=5.0 tests=BAYES_99",
            "--header",
            "Message-Id: <spam-10@example.com>",
            "--body",
            "Claim your prize now.",
        ],
    );
    assert!(ok, "{out}");
    let spam = message_state(&app, "spam-10@example.com", "done").await;
    assert_eq!(spam["outcome"], "spam", "{spam}");
    let junk_ticket = ticket_titled(&app, &junk_id, "You have won").await;
    assert_eq!(spam["ticket_id"], junk_ticket["id"], "{spam}");
    articles_n(&app, junk_ticket["id"].as_str().unwrap(), 1).await;
    let junk_tag = format!("[Ticket#{}]", junk_ticket["number"].as_str().unwrap());
    let answered = sink
        .messages()
        .iter()
        .filter(|m| m.contains("To: jane@example.com") && m.contains(&junk_tag))
        .count();
    assert_eq!(answered, 0, "no confirmation of spam");
    app.stop().await;
}

in_both_modes!(round_trip: round_trip_embedded, round_trip_on_postgres_and_rabbitmq);

/// The relay is down at first: the answer waits, its article showing the attempts and the error,
/// and goes out once the relay answers, over STARTTLS with authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_wait_for_the_relay_and_go_out_over_starttls_with_auth() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(Mode::Embedded, data.path()).await;
    settings.mail.smtp = Some(SmtpRelay {
        host: "localhost".into(),
        port,
        security: Security::Starttls,
        ca_file: Some(Dovecot::ca_file()),
        user: Some("desk".into()),
        password: Some(Secret::new("relay-secret")),
        max_attempts: 20,
        retry_secs: 1,
    });
    let app = TestApp::spawn_with(settings, data, None).await;
    let api = app.api.clone();
    let queue = queue_with_address(&app, "Raw", QUEUE_ADDRESS).await;
    let ticket = expect(
        201,
        app.client.post(format!("{api}/tickets")).json(&json!({
            "queue_id": queue, "title": "Account locked",
            "contact": {"name": "Jane Doe", "email": "jane@example.com"},
            "article": {"sender": "customer", "channel": "phone", "visible_to_customer": true,
                        "body": "I am locked out."}})),
        "ticket",
    )
    .await;
    let ticket_id = ticket["id"].as_str().unwrap().to_owned();
    let answer = expect(
        201,
        app.client
            .post(format!("{api}/tickets/{ticket_id}/articles"))
            .json(
                &json!({"sender": "agent", "channel": "email", "visible_to_customer": true,
                          "subject": "Unlocked", "body": "Your account is unlocked again."}),
            ),
        "answer",
    )
    .await;
    let answer_id = answer["id"].as_str().unwrap();
    let waiting = delivery(&app, &ticket_id, answer_id, "retrying").await;
    assert!(waiting["attempts"].as_u64().unwrap() >= 1, "{waiting}");
    assert!(!waiting["detail"].as_str().unwrap().is_empty(), "{waiting}");

    let (cert, key) = (Dovecot::ca_file(), Dovecot::key_file());
    let sink = Sink::start_with(
        port,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--auth-user",
            "desk",
            "--auth-password",
            "relay-secret",
        ],
    );
    let sent = delivery(&app, &ticket_id, answer_id, "sent").await;
    assert!(sent["attempts"].as_u64().unwrap() >= 2, "{sent}");
    sink.wait_for(&["Your account is unlocked again.", "To: jane@example.com"])
        .await;
    let envelope = sink.envelopes().pop().unwrap();
    assert_eq!(envelope["tls"], true, "{envelope}");
    assert_eq!(envelope["auth_user"], "desk", "{envelope}");
    assert_eq!(envelope["rcpt_tos"], json!(["jane@example.com"]));
    app.stop().await;
}

/// A mailbox polled over IMAP (STARTTLS, IDLE): a message placed there becomes a ticket, the
/// customer gets the confirmation at the SMTP receiver in her language, and her reply placed
/// there lands on the same ticket. Messages are marked seen once stored. Each mode has its own
/// Dovecot account (so both run at once) and its own way in: STARTTLS, and IMAPS.
async fn polled_mailbox(mode: Mode, user: &str, password: &str, security: Security, port: u16) {
    Dovecot::clear(user, password);
    let sink = Sink::start();
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(mode, data.path()).await;
    settings.mail.smtp = Some(relay(&sink));
    settings.mail.default_language = "en".into();
    settings.mail.imap = vec![ImapAccount {
        name: "support".into(),
        host: "127.0.0.1".into(),
        port,
        security,
        ca_file: Some(Dovecot::ca_file()),
        user: user.into(),
        password: Secret::new(password),
        folder: "INBOX".into(),
        queue: None,
        // Longer than the test waits: only IDLE brings the messages in time.
        poll_interval_secs: 600,
        delete_after_import: false,
    }];
    let app = TestApp::spawn_with(settings, data, None).await;
    let queue = app.queue_id("Raw").await;
    let api = app.api.clone();
    expect(
        200,
        app.client
            .patch(format!("{api}/queues/{queue}"))
            .json(&json!({"addresses": [user]})),
        "queue address",
    )
    .await;
    // Give the poller time to open the mailbox and start waiting (IDLE). It stays a sleep: the
    // suite shows no sign of being in IDLE, and a message appended between the poller's first
    // look and its IDLE would wait for the 600-second poll.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let first = format!(
        "From: Max Mustermann <max@example.org>\r\nTo: {user}\r\n\
Subject: =?UTF-8?Q?Drucker_st=C3=B6rt?=\r\nMessage-ID: <imap-1@example.org>\r\n\
Content-Language: de\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\nDer Drucker im Raum 3 druckt nicht.\r\n"
    );
    Dovecot::append(user, password, first.as_bytes());
    let ticket = ticket_titled(&app, &queue, "Drucker stört").await;
    let ticket_id = ticket["id"].as_str().unwrap().to_owned();
    let number = ticket["number"].as_str().unwrap().to_owned();
    let tag = format!("[Ticket#{number}]");
    let confirmation = sink.wait_for(&["To: max@example.org", &tag]).await;
    assert_eq!(
        header(&confirmation, "Content-Language").as_deref(),
        Some("de")
    );
    assert_eq!(
        header(&confirmation, "In-Reply-To").as_deref(),
        Some("<imap-1@example.org>")
    );
    eventually(
        "the message is marked seen",
        Duration::from_secs(30),
        || async {
            Dovecot::flags(user, password)
                .iter()
                .any(|f| f.contains("\\Seen"))
        },
    )
    .await;

    let reply = format!(
        "From: max@example.org\r\nTo: {user}\r\nSubject: AW: {tag} Drucker\r\n\
Message-ID: <imap-2@example.org>\r\nIn-Reply-To: {}\r\n\r\nJetzt geht er wieder.\r\n",
        header(&confirmation, "Message-ID").unwrap()
    );
    Dovecot::append(user, password, reply.as_bytes());
    let list = articles_n(&app, &ticket_id, 3).await;
    assert_eq!(list[2]["sender"], "customer");
    assert!(
        list[2]["body"]
            .as_str()
            .unwrap()
            .contains("Jetzt geht er wieder.")
    );
    assert_eq!(tickets(&app, &queue).await.len(), 1);
    eventually(
        "both messages are marked seen",
        Duration::from_secs(30),
        || async {
            let flags = Dovecot::flags(user, password);
            flags.len() == 2 && flags.iter().all(|f| f.contains("\\Seen"))
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn polled_mailbox_embedded() {
    polled_mailbox(
        Mode::Embedded,
        "support@docket.test",
        "support-secret",
        Security::Starttls,
        Dovecot::STARTTLS_PORT,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn polled_mailbox_on_postgres_and_rabbitmq() {
    polled_mailbox(
        Mode::Production,
        "cert@docket.test",
        "cert-secret",
        Security::Tls,
        Dovecot::TLS_PORT,
    )
    .await;
}
