//! Mail that carries more than one article takes, delivered over LMTP as a mail server would:
//! nothing is refused. Outlook's signature logos are shown in the HTML copy instead of counting
//! as attachments; what an article cannot take (too many, too large) stays with the received
//! message, is named in an internal note, and is downloaded from there by the agents who see
//! the ticket, byte for byte. Embedded and on PostgreSQL + RabbitMQ.

use std::io::Write as _;

use base64::Engine as _;
use docket_integration_tests::mail::swaks;
use docket_integration_tests::{
    Mode, TestApp, customer_client, expect, login_client, send, test_settings,
};
use serde_json::{Value, json};

use super::mail::{
    QUEUE_ADDRESS, articles, articles_n, message_state, queue_with_address, ticket_titled,
};

/// One file of a mail: name, type, bytes, and the Content-ID it is shown by in the HTML.
struct File {
    name: String,
    content_type: &'static str,
    bytes: Vec<u8>,
    cid: Option<String>,
}

fn file(name: &str, content_type: &'static str, bytes: Vec<u8>) -> File {
    File {
        name: name.into(),
        content_type,
        bytes,
        cid: None,
    }
}

/// Distinct bytes for file `n` of `len` (so no two are stored as one).
fn bytes(n: usize, head: &[u8], len: usize) -> Vec<u8> {
    let mut out = head.to_vec();
    out.extend((0..len).map(|i| ((i * 31 + n * 7) % 251) as u8));
    out
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\r\n", String::from_utf8_lossy(line)))
        .collect()
}

/// A mail as Outlook sends it: multipart/mixed around multipart/related (the text and HTML
/// alternatives with the inline images they show) and the attached files.
fn outlook_mail(message_id: &str, subject: &str, inline: &[File], attached: &[File]) -> Vec<u8> {
    let mut html = String::from("<html><body><p>Please find the files attached.</p>");
    for image in inline {
        html.push_str(&format!(
            "<img src=\"cid:{}\" alt=\"{}\">",
            image.cid.as_deref().unwrap_or_default(),
            image.name
        ));
    }
    html.push_str("</body></html>");
    let mut m = format!(
        "From: Kim Example <kim@example.com>\r\nTo: {QUEUE_ADDRESS}\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mixed\"\r\n\r\n\
         --mixed\r\nContent-Type: multipart/related; boundary=\"related\"; type=\"multipart/alternative\"\r\n\r\n\
         --related\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease find the files attached.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n"
    );
    for image in inline {
        m.push_str(&format!(
            "--related\r\nContent-Type: {}; name=\"{}\"\r\nContent-Disposition: inline; filename=\"{}\"\r\n\
             Content-ID: <{}>\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            image.content_type,
            image.name,
            image.name,
            image.cid.as_deref().unwrap_or_default(),
            base64_lines(&image.bytes)
        ));
    }
    m.push_str("--related--\r\n");
    for f in attached {
        m.push_str(&format!(
            "--mixed\r\nContent-Type: {}; name=\"{}\"\r\nContent-Disposition: attachment; filename=\"{}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}",
            f.content_type,
            f.name,
            f.name,
            base64_lines(&f.bytes)
        ));
    }
    m.push_str("--mixed--\r\n");
    m.into_bytes()
}

/// Delivers `raw` over LMTP, byte for byte.
fn deliver(lmtp: u16, raw: &[u8]) {
    let mut data = tempfile::NamedTempFile::new().unwrap();
    data.write_all(raw).unwrap();
    let path = format!("@{}", data.path().display());
    let (ok, out) = swaks(
        lmtp,
        "LMTP",
        &[
            "--from",
            "kim@example.com",
            "--to",
            QUEUE_ADDRESS,
            "--data",
            &path,
        ],
    );
    assert!(ok, "{out}");
}

fn names(article: &Value) -> Vec<&str> {
    article["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect()
}

fn pdfs(from: usize, to: usize) -> Vec<File> {
    (from..=to)
        .map(|n| {
            file(
                &format!("invoice-{n}.pdf"),
                "application/pdf",
                bytes(n, b"%PDF-1.4\n", 2_000),
            )
        })
        .collect()
}

async fn attachments_beyond_an_article(mode: Mode) {
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(mode, data.path()).await;
    settings.mail.default_language = "en".into();
    // The limits are settings: one attachment at most 64 KiB here.
    settings.mail.max_attachment_bytes = 64 * 1024;
    let app = TestApp::spawn_with(settings, data, None).await;
    let lmtp = app.lmtp.unwrap().port();
    let api = app.api.clone();
    let queue = queue_with_address(&app, "Raw", QUEUE_ADDRESS).await;

    // Six signature logos shown in the HTML and fifteen PDFs: 21 parts, once refused whole.
    let logos: Vec<File> = (1..=6)
        .map(|n| File {
            cid: Some(format!("image00{n}.png@01DB4C2A.5F3E1B20")),
            ..file(
                &format!("image00{n}.png"),
                "image/png",
                bytes(n, b"\x89PNG\r\n\x1a\n", 1_500),
            )
        })
        .collect();
    deliver(
        lmtp,
        &outlook_mail(
            "outlook-21@example.com",
            "Invoices for November",
            &logos,
            &pdfs(1, 15),
        ),
    );
    let ticket = ticket_titled(&app, &queue, "Invoices for November").await;
    let ticket_id = ticket["id"].as_str().unwrap();
    message_state(&app, "outlook-21@example.com", "done").await;
    let list = articles(&app, ticket_id).await;
    let mail = &list[0];
    let mut expected = vec!["message.html".to_owned()];
    expected.extend((1..=15).map(|n| format!("invoice-{n}.pdf")));
    assert_eq!(names(mail), expected);
    assert!(
        list.iter().all(|a| a["visible_to_customer"] == true),
        "nothing was left over: {list:#?}"
    );
    let html_id = mail["attachments"][0]["id"].as_str().unwrap();
    let response = app
        .client
        .get(format!("{api}/attachments/{html_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        6,
        "{html}"
    );
    assert!(!html.contains("cid:"), "{html}");

    // 22 PDFs and a scan over the size limit: the article takes the HTML copy and 19 PDFs; the
    // rest stays with the received message, named in an internal note.
    let scan = bytes(99, b"II*\0", 100 * 1024);
    let mut attached = pdfs(1, 22);
    attached.push(file("scan.tiff", "image/tiff", scan.clone()));
    deliver(
        lmtp,
        &outlook_mail("many-23@example.com", "Scans", &[], &attached),
    );
    let ticket = ticket_titled(&app, &queue, "Scans").await;
    let ticket_id = ticket["id"].as_str().unwrap();
    let message = message_state(&app, "many-23@example.com", "done").await;
    assert!(
        message["reason"]
            .as_str()
            .unwrap()
            .contains("4 parts are kept with the received message only"),
        "{message}"
    );
    let list = articles_n(&app, ticket_id, 3).await;
    assert_eq!(names(&list[0]).len(), 20);
    assert_eq!(names(&list[0])[19], "invoice-19.pdf");
    let note = list
        .iter()
        .find(|a| a["visible_to_customer"] == false)
        .unwrap_or_else(|| panic!("a note: {list:#?}"));
    let body = note["body"].as_str().unwrap();
    let paths: Vec<&str> = body
        .split_whitespace()
        .filter(|w| w.starts_with("/api/v1/mail/messages/"))
        .collect();
    assert_eq!(paths.len(), 4, "{body}");
    for name in [
        "invoice-20.pdf",
        "invoice-21.pdf",
        "invoice-22.pdf",
        "scan.tiff",
    ] {
        assert!(body.contains(&format!("- {name} (")), "{body}");
    }
    let origin = api.trim_end_matches("/api/v1");
    let scan_path = paths[3];
    let response = app
        .client
        .get(format!("{origin}{scan_path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("scan.tiff"), "{disposition}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), scan.as_slice());
    let (status, problem) = send(app.client.get(format!(
        "{api}/mail/messages/{}/parts/999",
        message["id"].as_str().unwrap()
    )))
    .await;
    assert_eq!(status, 404, "{problem}");

    // An agent who sees the queue downloads it; one who does not, and a customer, do not.
    let tenant = app.tenant_id.clone();
    let second_level = app
        .id_named(&format!("/admin/tenants/{tenant}/roles"), "2nd level")
        .await;
    for (login, roles) in [("sam", json!([second_level])), ("nobody", json!([]))] {
        expect(
            201,
            app.client
                .post(format!("{api}/admin/tenants/{tenant}/agents"))
                .json(
                    &json!({"login": login, "name": login, "email": format!("{login}@uni.example"),
                              "password": "a password long enough for tests", "role_ids": roles}),
                ),
            "agent",
        )
        .await;
    }
    let sam = login_client(&api, "sam", "a password long enough for tests")
        .await
        .unwrap();
    let response = sam
        .get(format!("{origin}{}", paths[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        bytes(20, b"%PDF-1.4\n", 2_000).as_slice()
    );
    let nobody = login_client(&api, "nobody", "a password long enough for tests")
        .await
        .unwrap();
    let (status, problem) = send(nobody.get(format!("{origin}{}", paths[0]))).await;
    assert_eq!(status, 404, "{problem}");
    app.customer_with_ticket("kim", "a customer password, long enough", "Anything")
        .await;
    let kim = customer_client(&api, "kim", "a customer password, long enough").await;
    let (status, problem) = send(kim.get(format!("{origin}{}", paths[0]))).await;
    assert_eq!(status, 403, "{problem}");
    app.stop().await;
}

in_both_modes!(attachments_beyond_an_article: attachments_beyond_an_article_embedded, attachments_beyond_an_article_on_postgres_and_rabbitmq);
