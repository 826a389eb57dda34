//! The `mail` scenario: realistic messages delivered over LMTP until each is readable through
//! the API.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Args;
use crate::report::{Column, percentile};
use crate::suite::{Session, json_of, peak_rss_kib, session};

/// Words for the bench's message bodies.
const SENTENCES: [&str; 8] = [
    "Since this morning I cannot connect to the VPN from home; the client says the certificate expired.",
    "Seit heute früh druckt der Drucker im Raum 3.14 nur noch leere Seiten, bitte um Hilfe.",
    "My mailbox is over quota and I cannot send mail any more; could you raise the limit?",
    "Das WLAN eduroam im Hörsaalgebäude bricht alle paar Minuten ab.",
    "Please create an account for our new colleague, who starts on Monday in the chemistry department.",
    "Beim Login in Moodle erscheint die Meldung, dass mein Passwort abgelaufen ist.",
    "The projector in seminar room B does not find the laptop's HDMI signal.",
    "Bitte installieren Sie die Lizenz für das Statistikprogramm auf meinem Rechner.",
];

/// Message `i` of the mail scenario: every fifth with a PDF-like attachment (30 to 200 KiB), 30 %
/// (after the first 50) replies to the message 17 before, a third with an HTML alternative.
fn bench_message(i: usize) -> Vec<u8> {
    use base64::Engine as _;
    let reply = i >= 50 && i % 10 < 3;
    let customer = i % 400;
    let subject = if reply {
        format!("Re: request {}", i - 17)
    } else {
        format!("request {i}: {}", &SENTENCES[i % 8][..40])
    };
    let mut head = format!(
        "From: Customer {customer} <customer{customer}@uni.example>\r\nTo: helpdesk@uni.example\r\n\
Subject: {subject}\r\nMessage-ID: <bench-{i}@uni.example>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\n\
MIME-Version: 1.0\r\n"
    );
    if reply {
        head.push_str(&format!("In-Reply-To: <bench-{}@uni.example>\r\n", i - 17));
    }
    let text = (0..4)
        .map(|k| SENTENCES[(i + k) % 8])
        .collect::<Vec<_>>()
        .join("\r\n\r\n");
    let body = if i.is_multiple_of(3) {
        format!(
            "--alt{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\
--alt{i}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body><p>{}</p></body></html>\r\n--alt{i}--\r\n",
            text.replace("\r\n\r\n", "</p><p>")
        )
    } else {
        format!("{text}\r\n")
    };
    let body_type = if i.is_multiple_of(3) {
        format!("multipart/alternative; boundary=\"alt{i}\"")
    } else {
        "text/plain; charset=utf-8".to_owned()
    };
    if !i.is_multiple_of(5) {
        let encoding = if i.is_multiple_of(3) {
            ""
        } else {
            "Content-Transfer-Encoding: 8bit\r\n"
        };
        return format!("{head}Content-Type: {body_type}\r\n{encoding}\r\n{body}").into_bytes();
    }
    let size = 30 * 1024 + (i * 7919) % (170 * 1024);
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut x = i as u32 | 1;
    while pdf.len() < size {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pdf.push(x as u8);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "{head}Content-Type: multipart/mixed; boundary=\"mix{i}\"\r\n\r\n--mix{i}\r\nContent-Type: {body_type}\r\n\r\n{body}\r\n\
--mix{i}\r\nContent-Type: application/pdf; name=\"scan-{i}.pdf\"\r\nContent-Disposition: attachment; filename=\"scan-{i}.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--mix{i}--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// Reads one SMTP/LMTP reply (all its lines); the last line.
async fn lmtp_reply(
    reader: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Result<String, String> {
    use tokio::io::AsyncBufReadExt as _;
    loop {
        let mut line = String::new();
        if reader
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?
            == 0
        {
            return Err("the LMTP server closed the connection".into());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(line.trim_end().to_owned());
        }
    }
}

async fn expect_reply(
    reader: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    code: &str,
) -> Result<String, String> {
    let line = lmtp_reply(reader).await?;
    if line.starts_with(code) {
        Ok(line)
    } else {
        Err(format!("expected {code}, got {line}"))
    }
}

/// Delivers messages over one LMTP connection, taking the next index until all are sent;
/// returns (index, acknowledged at, stored id) of each.
async fn lmtp_client(
    port: u16,
    next: Arc<AtomicUsize>,
    total: usize,
) -> Result<Vec<(usize, Instant, String)>, String> {
    use tokio::io::AsyncWriteExt as _;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read);
    expect_reply(&mut reader, "220").await?;
    write
        .write_all(b"LHLO bench.test\r\n")
        .await
        .map_err(|e| e.to_string())?;
    expect_reply(&mut reader, "250").await?;
    let mut acked = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= total {
            break;
        }
        let mut data = Vec::new();
        for line in bench_message(i).split_inclusive(|b| *b == b'\n') {
            if line.starts_with(b".") {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        data.extend_from_slice(b".\r\n");
        let envelope = b"MAIL FROM:<mta@uni.example>\r\nRCPT TO:<helpdesk@uni.example>\r\nDATA\r\n";
        write.write_all(envelope).await.map_err(|e| e.to_string())?;
        expect_reply(&mut reader, "250").await?;
        expect_reply(&mut reader, "250").await?;
        expect_reply(&mut reader, "354").await?;
        write.write_all(&data).await.map_err(|e| e.to_string())?;
        let line = expect_reply(&mut reader, "250").await?;
        let id = line.rsplit(' ').next().unwrap_or_default().to_owned();
        acked.push((i, Instant::now(), id));
    }
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(acked)
}

/// The figures of the per-mode table, before the peak RSS.
pub const COLUMNS: [Column; 4] = [
    Column::new("accepted/s", "accepted_per_second", 12, 1),
    Column::new("processed/s", "messages_per_second", 12, 1),
    Column::new("delay p50 ms", "delay_p50_ms", 14, 0),
    Column::new("delay p99 ms", "delay_p99_ms", 14, 0),
];

pub async fn run(args: &Args, mode: &str) -> Result<serde_json::Value, String> {
    let Session {
        suite,
        client,
        queues,
        _data,
    } = session(args, mode).await?;
    let api = suite.api.clone();
    let raw = queues
        .iter()
        .find(|(name, _)| name == "Raw")
        .map(|(_, id)| id.clone())
        .ok_or("no Raw queue")?;
    let r = client
        .patch(format!("{api}/queues/{raw}"))
        .json(&json!({"addresses": ["helpdesk@uni.example"]}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("setting the queue's address: {}", r.status()));
    }
    let total = args.messages;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.concurrency {
        clients.push(tokio::spawn(lmtp_client(suite.lmtp, next.clone(), total)));
    }
    // The sample whose delay is measured: every 50th message, watched through the API.
    let (sample_tx, mut sample_rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, String)>();
    let sampler = {
        let (client, api) = (client.clone(), api.clone());
        tokio::spawn(async move {
            let mut waiting: Vec<(Instant, String)> = Vec::new();
            let mut delays = Vec::new();
            let mut open = true;
            while open || !waiting.is_empty() {
                while let Ok(s) = sample_rx.try_recv() {
                    waiting.push(s);
                }
                if sample_rx.is_closed() && sample_rx.is_empty() {
                    open = false;
                }
                let mut still = Vec::new();
                for (acked, id) in waiting.drain(..) {
                    let m = json_of(client.get(format!("{api}/admin/mail/messages/{id}"))).await?;
                    let readable = match (m["state"].as_str(), m["ticket_id"].as_str()) {
                        (Some("done"), Some(ticket)) => {
                            let list =
                                json_of(client.get(format!("{api}/tickets/{ticket}/articles")))
                                    .await?;
                            list["items"].as_array().is_some_and(|items| {
                                items.iter().any(|a| a["id"] == m["article_id"])
                            })
                        }
                        (Some("pending"), _) => false,
                        (state, _) => return Err(format!("message {id} is {state:?}: {m}")),
                    };
                    if readable {
                        delays.push(acked.elapsed());
                    } else {
                        still.push((acked, id));
                    }
                }
                waiting = still;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<_, String>(delays)
        })
    };
    let mut acked = 0;
    for c in clients {
        for (i, at, id) in c.await.map_err(|e| e.to_string())?? {
            acked += 1;
            if i % 50 == 0 {
                let _ = sample_tx.send((at, id));
            }
        }
    }
    drop(sample_tx);
    let delivered = started.elapsed();
    // Every message processed: none pending any more.
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let pending = json_of(client.get(format!(
            "{api}/admin/mail/messages?state=pending&page_size=1"
        )))
        .await?;
        if pending["items"].as_array().is_some_and(|a| a.is_empty()) {
            break;
        }
        if Instant::now() > deadline {
            return Err("messages still pending after an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let mut delays = sampler.await.map_err(|e| e.to_string())??;
    delays.sort();
    // Count what became of them.
    let (mut done, mut new_tickets, mut follow_ups, mut token) = (0, 0, 0, String::new());
    loop {
        let page = json_of(client.get(format!(
            "{api}/admin/mail/messages?page_size=500&page_token={token}"
        )))
        .await?;
        for m in page["items"].as_array().into_iter().flatten() {
            if m["state"] == "done" {
                done += 1;
            }
            match m["outcome"].as_str() {
                Some("new_ticket") => new_tickets += 1,
                Some("follow_up") => follow_ups += 1,
                _ => {}
            }
        }
        match page["next_page_token"].as_str() {
            Some(t) => token = t.to_owned(),
            None => break,
        }
    }
    if acked != total || done != total {
        return Err(format!("{acked} of {total} acknowledged, {done} processed"));
    }
    let rss = peak_rss_kib(suite.child.id()).unwrap_or(0);
    drop(suite);
    Ok(json!({
        "scenario": "mail",
        "mode": mode,
        "messages": total,
        "new_tickets": new_tickets,
        "follow_ups": follow_ups,
        "connections": args.concurrency,
        "lmtp_seconds": delivered.as_secs_f64(),
        "accepted_per_second": total as f64 / delivered.as_secs_f64(),
        "seconds": elapsed.as_secs_f64(),
        "messages_per_second": total as f64 / elapsed.as_secs_f64(),
        "sampled": delays.len(),
        "delay_p50_ms": percentile(&delays, 50.0),
        "delay_p99_ms": percentile(&delays, 99.0),
        "peak_rss_mib": rss as f64 / 1024.0,
    }))
}
