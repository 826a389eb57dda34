//! The mail corpus (`services/mail/tests/corpus`) through the whole intake, as a script delivers
//! it (the REST upload), each file with what the desk must then show: the messages of issue 13
//! that were refused or mangled. Attachments byte for byte with their type and charset, text
//! found wherever a mail client shows it, names repaired, no HTML copy with nothing in it,
//! robots unanswered, copies recognised, every ticket number in a subject tried, and a mail
//! with more parts than an article takes kept whole. Embedded and on PostgreSQL + RabbitMQ.
//! (Over LMTP, `mail::round_trip` and `mail_parts` deliver the loop, the out-of-office reply to
//! a closed ticket, spam and the Outlook mail.)

use std::time::Duration;

use base64::Engine as _;
use docket_integration_tests::{Mode, TestApp, send, test_settings, wait_until, when};
use serde_json::Value;

const QUEUE_ADDRESS: &str = "corpus@uni.example";

use super::mail::queue_with_address;

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/mail/tests/corpus")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What became of one uploaded message.
struct Seen {
    message: Value,
    ticket: Value,
    articles: Vec<Value>,
    /// The first article's attachments: (metadata, Content-Type served, bytes).
    files: Vec<(Value, String, Vec<u8>)>,
}

impl Seen {
    fn body(&self) -> &str {
        self.articles[0]["body"].as_str().unwrap()
    }

    fn file(&self, name: &str) -> &(Value, String, Vec<u8>) {
        self.files
            .iter()
            .find(|(meta, _, _)| meta["filename"] == name)
            .unwrap_or_else(|| panic!("no {name}: {:?}", self.names()))
    }

    fn names(&self) -> Vec<&str> {
        self.files
            .iter()
            .map(|(meta, _, _)| meta["filename"].as_str().unwrap())
            .collect()
    }
}

/// Uploads `raw` to the queue's address and waits until it is processed.
async fn deliver(app: &TestApp, raw: Vec<u8>) -> Seen {
    let api = &app.api;
    let (status, stored) = send(
        app.client
            .post(format!("{api}/mail/messages?to={QUEUE_ADDRESS}"))
            .body(raw),
    )
    .await;
    assert!(status == 202 || status == 200, "{status} {stored}");
    let id = stored["id"].as_str().unwrap().to_owned();
    let message = wait_until(
        Duration::from_secs(30),
        &format!("message {id} processed"),
        || async {
            let m = app.get_json(&format!("/admin/mail/messages/{id}")).await;
            when(m["state"] != "pending", m)
        },
    )
    .await;
    assert_eq!(message["state"], "done", "{message}");
    let ticket_id = message["ticket_id"].as_str().unwrap();
    let ticket = app.get_json(&format!("/tickets/{ticket_id}")).await;
    let articles = app
        .get_json(&format!("/tickets/{ticket_id}/articles"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut files = Vec::new();
    for meta in articles[0]["attachments"].as_array().unwrap() {
        let response = app
            .client
            .get(format!(
                "{api}/attachments/{}",
                meta["id"].as_str().unwrap()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = response.bytes().await.unwrap().to_vec();
        files.push((meta.clone(), content_type, bytes));
    }
    Seen {
        message,
        ticket,
        articles,
        files,
    }
}

/// `raw` with the encoded-word subject's text changed by `edit`.
fn with_subject(raw: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let line = text.lines().find(|l| l.starts_with("Subject: ")).unwrap();
    let encoded = line
        .trim_start_matches("Subject: =?UTF-8?B?")
        .trim_end_matches("?=");
    let b64 = base64::engine::general_purpose::STANDARD;
    let subject = String::from_utf8(b64.decode(encoded).unwrap()).unwrap();
    let new = format!("Subject: =?UTF-8?B?{}?=", b64.encode(edit(&subject)));
    text.replace(line, &new).into_bytes()
}

async fn the_corpus_through_the_intake(mode: Mode) {
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(mode, data.path()).await;
    settings.mail.default_language = "en".into();
    let app = TestApp::spawn_with(settings, data, None).await;
    let api = app.api.clone();
    queue_with_address(&app, "Misc", QUEUE_ADDRESS).await;

    // 1. Thirty attachments: a ticket with twenty, the other ten named in a note, each there.
    let seen = deliver(&app, corpus("thirty_attachments.eml")).await;
    assert_eq!(seen.files.len(), 20, "{:?}", seen.names());
    let note = seen
        .articles
        .iter()
        .find(|a| a["visible_to_customer"] == false)
        .unwrap_or_else(|| panic!("a note: {:#?}", seen.articles));
    let body = note["body"].as_str().unwrap();
    let paths: Vec<&str> = body
        .split_whitespace()
        .filter(|w| w.starts_with("/api/v1/mail/messages/"))
        .collect();
    assert_eq!(paths.len(), 10, "{body}");
    let origin = api.trim_end_matches("/api/v1");
    for path in paths {
        let response = app
            .client
            .get(format!("{origin}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(!response.bytes().await.unwrap().is_empty());
    }

    // 2. An out-of-office reply opens no conversation: no confirmation goes back.
    let seen = deliver(&app, corpus("out_of_office.eml")).await;
    assert_eq!(seen.articles.len(), 1, "{:#?}", seen.articles);
    assert_eq!(seen.body(), "Ich bin bis Montag nicht im Büro.");

    // 3. Attachments are what was sent: uuencoded, and text in its own charset.
    let seen = deliver(&app, corpus("uuencode_in_text.eml")).await;
    let (_, content_type, bytes) = seen.file("greenball.png");
    assert_eq!(content_type, "image/png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{bytes:?}");
    assert!(!seen.body().contains("begin 644"), "{}", seen.body());
    let seen = deliver(&app, corpus("latin1_text_attachment.eml")).await;
    let (_, content_type, bytes) = seen.file("liste.txt");
    assert_eq!(content_type, "text/plain; charset=iso-8859-1");
    assert_eq!(bytes, b"K\xe4se\r\nM\xfcsli\r\nGr\xfc\xdfe");

    // 4. Text is found where a mail client shows it; names and line endings are repaired.
    let seen = deliver(&app, corpus("content_type_text.eml")).await;
    assert_eq!(seen.body(), "Text without a subtype is still text.");
    assert!(seen.files.is_empty(), "{:?}", seen.names());
    let named_text_only = [
        b"Message-ID: <named-text-only@example.com>\r\n".as_slice(),
        &corpus("named_text_only.eml"),
    ]
    .concat();
    let seen = deliver(&app, named_text_only.clone()).await;
    assert_eq!(seen.body(), "The text is in a part with a name.");
    assert_eq!(seen.names(), ["scan.pdf"]);
    let named = seen.ticket["id"].clone();
    let named_articles = seen.articles.len();
    let seen = deliver(&app, corpus("broken_base64_text.eml")).await;
    assert!(
        seen.body()
            .starts_with("Der Drucker im zweiten Stock druckt nur noch leere Seiten."),
        "{}",
        seen.body()
    );
    assert!(!seen.body().contains("garbage"), "{}", seen.body());
    let seen = deliver(&app, corpus("latin1_display_name.eml")).await;
    assert_eq!(seen.ticket["title"], "Grüße");
    assert_eq!(seen.ticket["contact"]["name"], "Jürgen Müller");
    let seen = deliver(&app, corpus("cr_only_lmtp.eml")).await;
    assert_eq!(seen.ticket["title"], "CR only over LMTP");
    assert_eq!(seen.body(), "first line\nsecond line");

    // 5. The same mail again through another relay (one more Received: line) is a copy.
    let mut again =
        b"Received: from mx2.example.com by mx.uni.example; Sun, 22 Nov 2026 10:00:09 +0100\r\n"
            .to_vec();
    again.extend(named_text_only);
    let copy = deliver(&app, again).await;
    assert_eq!(copy.message["outcome"], "duplicate", "{}", copy.message);
    assert_eq!(copy.ticket["id"], named);
    assert_eq!(copy.articles.len(), named_articles, "{:#?}", copy.articles);

    // 6. Every ticket number in the subject is tried: the first names no ticket, the second
    //    (after a full-width ＃) names the one just made.
    let number = copy.ticket["number"].as_str().unwrap().to_owned();
    let reply = with_subject(&corpus("thread_tags.eml"), |s| {
        s.replace("2026112210000017", &number)
    });
    let seen = deliver(&app, reply).await;
    assert_eq!(seen.message["outcome"], "follow_up", "{}", seen.message);
    assert_eq!(seen.ticket["id"], named);

    // 8. An HTML part with nothing to show gives no HTML copy; one with content is a download
    //    (active content is never served as a page) that names its charset itself.
    let seen = deliver(&app, corpus("html_empty_after_sanitising.eml")).await;
    assert!(seen.files.is_empty(), "{:?}", seen.names());
    let seen = deliver(&app, corpus("html_tracking.eml")).await;
    let (meta, content_type, html) = seen.file("message.html");
    assert_eq!(meta["content_type"], "text/html; charset=utf-8");
    assert_eq!(content_type, "application/octet-stream");
    let html = String::from_utf8_lossy(html);
    assert!(
        html.starts_with("<!DOCTYPE html>\n<meta charset=\"utf-8\">"),
        "{html}"
    );
    assert!(!html.contains("tracker"));
    app.stop().await;
}

in_both_modes!(the_corpus_through_the_intake: the_corpus_through_the_intake_embedded, the_corpus_through_the_intake_on_postgres_and_rabbitmq);
