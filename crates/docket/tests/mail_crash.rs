//! Exactly once across a crash: an LMTP client (as Postfix would) delivers 1,000 messages, 30 % of
//! them replies to earlier ones; the `docket` process is killed (SIGKILL) in the middle of the
//! batch and started again on the same data; the client delivers again what was not
//! acknowledged. Afterwards there are exactly 1,000 customer articles, each message once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;

const MESSAGES: usize = 1000;
const PASSWORD: &str = "the crash test's admin password";
const ADDRESS: &str = "helpdesk@uni.example";

mod common;

use common::{KillOnDrop, address_after, banner, succeeds};

fn docket(data: &std::path::Path, lmtp_port: u16) -> Command {
    let mut cmd = common::docket();
    cmd.env("DOCKET__TELEMETRY__LOG_FILTER", "error")
        .env("DOCKET__DATA_DIR", data)
        .env(
            "DOCKET__MAIL__LMTP_LISTEN",
            format!("127.0.0.1:{lmtp_port}"),
        );
    cmd
}

/// Starts `docket run`; returns the process and its REST API's base URL.
async fn start(data: &std::path::Path, lmtp_port: u16) -> (KillOnDrop, String) {
    let mut child = docket(data, lmtp_port)
        .arg("run")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = banner(&mut child).await;
    (KillOnDrop(child), address_after(&lines, "REST API"))
}

async fn admin(api: &str) -> reqwest::Client {
    let token: Value = reqwest::Client::new()
        .post(format!("{api}/auth/login"))
        .json(&json!({"login": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn get(client: &reqwest::Client, url: String) -> Value {
    let r = client.get(&url).send().await.unwrap();
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.unwrap()
}

/// Every item of a paged list; `url` already has a query (`?page_size=…`).
async fn all_pages(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = get(client, format!("{url}&page_token={token}")).await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_page_token"].as_str() {
            Some(t) => token = t.to_owned(),
            None => return all,
        }
    }
}

/// Message `i`: every tenth after the first 20 answers message `i - 7`, every third of the rest
/// carries the ticket number's stand-in (a reply by References), the rest are new requests.
fn message(i: usize) -> Vec<u8> {
    let mut head = format!(
        "From: Customer {c} <customer{c}@example.org>\r\nTo: {ADDRESS}\r\nMessage-ID: <crash-{i}@example.org>\r\n",
        c = i % 50
    );
    let reply = i >= 20 && i % 10 < 3;
    if reply {
        head.push_str(&format!(
            "Subject: Re: request {}\r\nIn-Reply-To: <crash-{}@example.org>\r\n",
            i - 7,
            i - 7
        ));
    } else {
        head.push_str(&format!("Subject: request {i}\r\n"));
    }
    format!("{head}\r\nBody of message {i}.\r\n..a line with a leading dot\r\n").into_bytes()
}

async fn expect_code(
    reader: &mut AsyncBufReader<tokio::net::tcp::OwnedReadHalf>,
    code: &str,
) -> std::io::Result<()> {
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if !line.starts_with(code) {
            return Err(std::io::Error::other(format!(
                "expected {code}, got {line}"
            )));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// Delivers messages `acked..` one by one over one LMTP connection, counting each acknowledged
/// one; returns at the first failure (the server went away).
async fn deliver(port: u16, acked: &AtomicUsize) -> std::io::Result<()> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let (read, mut write) = stream.into_split();
    let mut reader = AsyncBufReader::new(read);
    expect_code(&mut reader, "220").await?;
    write.write_all(b"LHLO client.test\r\n").await?;
    expect_code(&mut reader, "250").await?;
    while acked.load(Ordering::SeqCst) < MESSAGES {
        let i = acked.load(Ordering::SeqCst);
        write.write_all(b"MAIL FROM:<mta@example.org>\r\n").await?;
        expect_code(&mut reader, "250").await?;
        write
            .write_all(format!("RCPT TO:<{ADDRESS}>\r\n").as_bytes())
            .await?;
        expect_code(&mut reader, "250").await?;
        write.write_all(b"DATA\r\n").await?;
        expect_code(&mut reader, "354").await?;
        let mut data = Vec::new();
        for line in message(i).split_inclusive(|b| *b == b'\n') {
            if line.starts_with(b".") {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        data.extend_from_slice(b".\r\n");
        write.write_all(&data).await?;
        expect_code(&mut reader, "250").await?;
        acked.store(i + 1, Ordering::SeqCst);
    }
    write.write_all(b"QUIT\r\n").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_in_the_middle_of_a_batch_loses_and_duplicates_nothing() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    succeeds(
        docket(data.path(), port)
            .args(["admin", "bootstrap", "--tenant", "uni", "--login", "admin"])
            .env("DOCKET_BOOTSTRAP_PASSWORD", PASSWORD),
    );
    let (mut first, api) = start(data.path(), port).await;
    let client = admin(&api).await;
    let queue = loop {
        let queues = get(&client, format!("{api}/queues")).await;
        if let Some(q) = queues["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == "Raw")
        {
            break q["id"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let r = client
        .patch(format!("{api}/queues/{queue}"))
        .json(&json!({"addresses": [ADDRESS]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The client: delivers, and after a failure tries again until everything is acknowledged.
    let acked = Arc::new(AtomicUsize::new(0));
    let sender = {
        let acked = acked.clone();
        tokio::spawn(async move {
            let mut failures = 0;
            while acked.load(Ordering::SeqCst) < MESSAGES {
                if deliver(port, &acked).await.is_err() {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            failures
        })
    };
    while acked.load(Ordering::SeqCst) < 400 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let at_kill = acked.load(Ordering::SeqCst);
    let (_second, api) = start(data.path(), port).await;
    let failures = tokio::time::timeout(Duration::from_secs(300), sender)
        .await
        .expect("the client finishes")
        .unwrap();
    assert!(failures >= 1, "the client saw the crash");
    assert!(
        at_kill < MESSAGES,
        "killed in the middle ({at_kill} acknowledged)"
    );

    // Wait until every stored message is processed.
    let client = admin(&api).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let messages = loop {
        let all = all_pages(&client, &format!("{api}/admin/mail/messages?page_size=500")).await;
        if all.iter().all(|m| m["state"] == "done") && all.len() >= MESSAGES {
            break all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {} messages processed",
            all.iter().filter(|m| m["state"] == "done").count(),
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(messages.len(), MESSAGES, "each message stored once");
    let mut ids: Vec<_> = messages.iter().map(|m| m["message_id"].clone()).collect();
    ids.sort_by_key(|v| v.to_string());
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES);
    let replies = messages
        .iter()
        .filter(|m| m["outcome"] == "follow_up")
        .count();
    assert_eq!(replies, (20..MESSAGES).filter(|i| i % 10 < 3).count());

    // Exactly one customer article per message, across all tickets.
    let mut articles = 0;
    let mut tickets = 0;
    let queued = format!("{api}/queues/{queue}/tickets?page_size=100");
    for t in all_pages(&client, &queued).await {
        tickets += 1;
        let list = get(
            &client,
            format!("{api}/tickets/{}/articles", t["id"].as_str().unwrap()),
        )
        .await;
        let mine: Vec<_> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["sender"] == "customer")
            .collect();
        articles += mine.len();
        let mut bodies: Vec<_> = mine.iter().map(|a| a["body"].to_string()).collect();
        bodies.sort();
        let n = bodies.len();
        bodies.dedup();
        assert_eq!(
            bodies.len(),
            n,
            "an article twice on ticket {}",
            t["number"]
        );
    }
    assert_eq!(articles, MESSAGES);
    assert_eq!(tickets, MESSAGES - replies);
}
