//! The LMTP listener an MTA delivers to (RFC 2033), and the same dialogue as SMTP for direct
//! delivery (RFC 5321), which takes mail only for the queues' addresses.
//!
//! A message is acknowledged (250) only once it is stored: an MTA that gets no answer (a crash,
//! a dropped connection) delivers it again, and the store keeps it once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use docket_platform::Shutdown;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::MailError;
use crate::ingest::{Ingest, Receipt};

/// Which dialogue a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Lmtp,
    Smtp,
}

impl Protocol {
    fn source(self) -> &'static str {
        match self {
            Self::Lmtp => "lmtp",
            Self::Smtp => "smtp",
        }
    }
}

/// Longest command line accepted (RFC 5321 allows 512; some clients send long parameters).
const MAX_LINE: usize = 4096;
/// Recipients per transaction.
const MAX_RECIPIENTS: usize = 100;
/// Connections served at once; more wait.
const MAX_CONNECTIONS: usize = 256;
/// How long a client may stay silent.
const IDLE: Duration = Duration::from_secs(300);

pub struct Listener {
    pub protocol: Protocol,
    pub hostname: String,
    pub ingest: Arc<Ingest>,
}

impl Listener {
    /// Serves connections until `shutdown`; a connection in the middle of a message finishes it.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: Shutdown) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a mail connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let this = self.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let (read, write) = stream.into_split();
                if let Err(e) = this.session(read, write, peer, stop).await {
                    tracing::debug!(%peer, error = %e, "mail session ended");
                }
                drop(slot);
            });
        }
    }

    /// One client's session.
    pub async fn session<R, W>(
        &self,
        read: R,
        mut write: W,
        peer: SocketAddr,
        shutdown: Shutdown,
    ) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut reader = BufReader::new(read);
        let name = match self.protocol {
            Protocol::Lmtp => "LMTP",
            Protocol::Smtp => "ESMTP",
        };
        reply(
            &mut write,
            &format!("220 {} Docket {name} ready", self.hostname),
        )
        .await?;
        let mut greeted = false;
        let mut from: Option<String> = None;
        let mut to: Vec<String> = Vec::new();
        let mut line = Vec::with_capacity(256);
        loop {
            line.clear();
            let read = tokio::select! {
                () = shutdown.cancelled() => {
                    reply(&mut write, "421 4.3.2 shutting down, try again later").await?;
                    return Ok(());
                }
                r = tokio::time::timeout(IDLE, read_line(&mut reader, &mut line, MAX_LINE)) => r,
            };
            let Ok(read) = read else {
                reply(&mut write, "421 4.4.2 idle for too long").await?;
                return Ok(());
            };
            match read? {
                Line::Eof => return Ok(()),
                Line::TooLong => {
                    reply(&mut write, "500 5.5.2 line too long").await?;
                    continue;
                }
                Line::Complete => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let (verb, rest) = match text.split_once(' ') {
                Some((v, r)) => (v.to_ascii_uppercase(), r.trim()),
                None => (text.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "LHLO" | "EHLO" | "HELO" => {
                    let expected = match self.protocol {
                        Protocol::Lmtp => "LHLO",
                        Protocol::Smtp => "EHLO",
                    };
                    if verb != expected && !(self.protocol == Protocol::Smtp && verb == "HELO") {
                        reply(
                            &mut write,
                            &format!("500 5.5.1 this is {name}: say {expected}"),
                        )
                        .await?;
                        continue;
                    }
                    greeted = true;
                    from = None;
                    to.clear();
                    if verb == "HELO" {
                        reply(&mut write, &format!("250 {}", self.hostname)).await?;
                    } else {
                        let size = self.ingest.limits().max_message_bytes;
                        reply(
                            &mut write,
                            &format!(
                                "250-{}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE {size}",
                                self.hostname
                            ),
                        )
                        .await?;
                    }
                }
                "MAIL" if !greeted => reply(&mut write, "503 5.5.1 say hello first").await?,
                "MAIL" => match path(rest, "FROM:") {
                    Some((address, params)) => {
                        if let Some(size) = declared_size(&params)
                            && size > self.ingest.limits().max_message_bytes
                        {
                            let limit = self.ingest.limits().max_message_bytes;
                            reply(
                                &mut write,
                                &format!("552 5.3.4 the message is {size} bytes; at most {limit} are accepted"),
                            )
                            .await?;
                            continue;
                        }
                        from = Some(address);
                        to.clear();
                        reply(&mut write, "250 2.1.0 sender ok").await?;
                    }
                    None => reply(&mut write, "501 5.5.4 syntax: MAIL FROM:<address>").await?,
                },
                "RCPT" if from.is_none() => reply(&mut write, "503 5.5.1 MAIL first").await?,
                "RCPT" => {
                    match path(rest, "TO:") {
                        Some((address, _)) if address.contains('@') => {
                            if to.len() >= MAX_RECIPIENTS {
                                reply(&mut write, "452 4.5.3 too many recipients").await?;
                            } else {
                                match self.accepts(&address).await {
                                    Ok(true) => {
                                        to.push(address);
                                        reply(&mut write, "250 2.1.5 recipient ok").await?;
                                    }
                                    Ok(false) => {
                                        reply(
                                            &mut write,
                                            &format!(
                                                "550 5.1.1 <{address}>: no such queue address here"
                                            ),
                                        )
                                        .await?;
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "recipient check failed");
                                        reply(&mut write, "451 4.3.0 cannot check the recipient now, try again later").await?;
                                    }
                                }
                            }
                        }
                        _ => reply(&mut write, "501 5.5.4 syntax: RCPT TO:<address>").await?,
                    }
                }
                "DATA" if to.is_empty() => {
                    reply(&mut write, "503 5.5.1 no valid recipients").await?
                }
                "DATA" => {
                    reply(&mut write, "354 end data with <CR><LF>.<CR><LF>").await?;
                    let limit = self.ingest.limits().max_message_bytes;
                    let body = read_data(&mut reader, limit).await?;
                    let answer = match body {
                        Data::Eof => return Ok(()),
                        Data::TooLarge(size) => format!(
                            "552 5.3.4 the message is more than {size} bytes; at most {limit} are accepted"
                        ),
                        Data::Message(raw) => {
                            let envelope_from = from.clone().unwrap_or_default();
                            match self
                                .ingest
                                .receive(raw, self.protocol.source(), &envelope_from, to.clone())
                                .await
                            {
                                Ok(Receipt::Stored { id, .. }) => {
                                    format!("250 2.0.0 stored as {id}")
                                }
                                Ok(Receipt::Refused(reason)) => {
                                    format!("552 5.3.4 {}", one_line(&reason))
                                }
                                Err(e) => {
                                    tracing::error!(%peer, error = %e, "cannot store a received message");
                                    "451 4.3.0 cannot store the message now, try again later"
                                        .to_owned()
                                }
                            }
                        }
                    };
                    // LMTP answers once per recipient, SMTP once.
                    let times = match self.protocol {
                        Protocol::Lmtp => to.len(),
                        Protocol::Smtp => 1,
                    };
                    let mut all = Vec::with_capacity(times);
                    for _ in 0..times {
                        all.push(answer.as_str());
                    }
                    reply(&mut write, &all.join("\r\n")).await?;
                    from = None;
                    to.clear();
                }
                "RSET" => {
                    from = None;
                    to.clear();
                    reply(&mut write, "250 2.0.0 ok").await?;
                }
                "NOOP" => reply(&mut write, "250 2.0.0 ok").await?,
                "VRFY" => reply(&mut write, "252 2.1.5 cannot verify, send and see").await?,
                "QUIT" => {
                    reply(&mut write, "221 2.0.0 bye").await?;
                    return Ok(());
                }
                "STARTTLS" | "AUTH" => reply(&mut write, "502 5.5.1 not offered here").await?,
                _ => reply(&mut write, "500 5.5.2 unknown command").await?,
            }
        }
    }

    /// Whether mail to `address` is taken: LMTP takes every address (the MTA chose to deliver
    /// it; unknown ones go to the default queue), SMTP only a queue's.
    async fn accepts(&self, address: &str) -> Result<bool, MailError> {
        match self.protocol {
            Protocol::Lmtp => Ok(true),
            Protocol::Smtp => Ok(self
                .ingest
                .tickets()
                .queue_by_address(address)
                .await?
                .is_some()),
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(write: &mut W, text: &str) -> std::io::Result<()> {
    write.write_all(text.as_bytes()).await?;
    write.write_all(b"\r\n").await?;
    write.flush().await
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one line (up to LF) into `buf`; a longer line than `max` is consumed and reported.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                Line::Eof
            } else {
                Line::Complete
            });
        }
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if buf.len() + take <= max {
            buf.extend_from_slice(&available[..take]);
        } else {
            too_long = true;
        }
        reader.consume(take);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

enum Data {
    Message(Vec<u8>),
    /// More than the limit arrived (read to its end and dropped); the bytes seen.
    TooLarge(usize),
    Eof,
}

/// Reads DATA up to the lone dot, undoing dot-stuffing; the message keeps its line endings as
/// sent (CRLF from any conforming client).
async fn read_data<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    limit: usize,
) -> std::io::Result<Data> {
    let mut message = Vec::with_capacity(16 * 1024);
    let mut seen = 0_usize;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        // Lines of any length: the whole message is what is limited.
        match read_line(reader, &mut line, usize::MAX).await? {
            Line::Eof => return Ok(Data::Eof),
            Line::TooLong | Line::Complete => {}
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        if !line.ends_with(b"\n") {
            // The connection ended in the middle of the message.
            return Ok(Data::Eof);
        }
        let content = if line.starts_with(b".") {
            &line[1..]
        } else {
            &line[..]
        };
        seen += content.len();
        if seen <= limit {
            message.extend_from_slice(content);
        } else {
            message = Vec::new();
        }
    }
    Ok(if seen > limit {
        Data::TooLarge(seen)
    } else {
        Data::Message(message)
    })
}

/// `FROM:<a@b> SIZE=10` → (`a@b`, `SIZE=10`). The empty reverse path `<>` gives ''.
fn path(rest: &str, prefix: &str) -> Option<(String, String)> {
    let upper = rest.get(..prefix.len())?.to_ascii_uppercase();
    if upper != prefix {
        return None;
    }
    let rest = rest[prefix.len()..].trim_start();
    let (address, params) = if let Some(stripped) = rest.strip_prefix('<') {
        let end = stripped.find('>')?;
        (&stripped[..end], stripped[end + 1..].trim())
    } else {
        match rest.split_once(' ') {
            Some((a, p)) => (a, p.trim()),
            None => (rest, ""),
        }
    };
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    Some((address.to_ascii_lowercase(), params.to_owned()))
}

/// The `SIZE=` a client declares, if any.
fn declared_size(params: &str) -> Option<usize> {
    params.split_whitespace().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case("SIZE").then(|| v.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_parameters() {
        assert_eq!(
            path("FROM:<Jane@Example.com> SIZE=1200", "FROM:"),
            Some(("jane@example.com".into(), "SIZE=1200".into()))
        );
        assert_eq!(
            path("from: <>", "FROM:"),
            Some((String::new(), String::new()))
        );
        assert_eq!(
            path("TO:support@uni.example", "TO:"),
            Some(("support@uni.example".into(), String::new()))
        );
        assert_eq!(path("TO:<a b@c>", "TO:"), None);
        assert_eq!(path("TO", "TO:"), None);
        assert_eq!(path("TO:<unclosed", "TO:"), None);
        assert_eq!(declared_size("BODY=8BITMIME SIZE=42"), Some(42));
        assert_eq!(declared_size("size=x"), None);
        assert_eq!(declared_size(""), None);
    }

    #[tokio::test]
    async fn data_is_unstuffed_and_limited() {
        let input = b"Subject: x\r\n\r\n..leading dot\r\nline\r\n.\r\nNEXT".to_vec();
        let mut reader = BufReader::new(input.as_slice());
        match read_data(&mut reader, 1000).await.unwrap() {
            Data::Message(m) => assert_eq!(m, b"Subject: x\r\n\r\n.leading dot\r\nline\r\n"),
            _ => panic!("expected a message"),
        }
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut rest)
            .await
            .unwrap();
        assert_eq!(rest, "NEXT");

        let big = [b"x".repeat(100), b"\r\n.\r\n".to_vec()].concat();
        let mut reader = BufReader::new(big.as_slice());
        assert!(matches!(
            read_data(&mut reader, 50).await.unwrap(),
            Data::TooLarge(102)
        ));

        let cut = b"Subject: x\r\n\r\nno end".to_vec();
        let mut reader = BufReader::new(cut.as_slice());
        assert!(matches!(
            read_data(&mut reader, 1000).await.unwrap(),
            Data::Eof
        ));
    }
}
