//! Polling IMAP mailboxes: one task per configured account, over TLS or STARTTLS, waiting with
//! IDLE where the server offers it. A message is marked seen (or deleted) only after it is
//! stored; one the service refuses (too large) stays in the mailbox with the keyword
//! `$DocketRefused`, so nothing is lost and nothing is fetched again and again.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use docket_platform::Shutdown;
use futures::TryStreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{ImapAccount, Security};
use crate::error::MailError;
use crate::ingest::{Ingest, Receipt};

/// The keyword on messages the service refused.
pub const REFUSED_KEYWORD: &str = "$DocketRefused";

/// A connection, plain or encrypted.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<Stream>;

fn imap_error(account: &str, e: impl std::fmt::Display) -> MailError {
    MailError::Unavailable(format!("IMAP account {account}: {e}"))
}

/// The TLS settings of an account: the system's roots plus its own CA file.
pub fn tls_connector(ca_file: Option<&str>) -> Result<TlsConnector, MailError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(file) = ca_file {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| MailError::invalid(format!("CA file `{file}`: {e}")))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| MailError::invalid(format!("CA file `{file}`: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailError::invalid(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

pub struct Poller {
    account: ImapAccount,
    ingest: Arc<Ingest>,
    tls: TlsConnector,
}

impl Poller {
    pub fn new(account: ImapAccount, ingest: Arc<Ingest>) -> Result<Self, MailError> {
        let tls = tls_connector(account.ca_file.as_deref())?;
        Ok(Self {
            account,
            ingest,
            tls,
        })
    }

    fn source(&self) -> String {
        format!("imap:{}", self.account.name)
    }

    /// Polls until `shutdown`, reconnecting after failures (5 s, doubling, at most 5 min).
    pub async fn run(self, shutdown: Shutdown) {
        let mut wait = Duration::from_secs(5);
        loop {
            match self.session(&shutdown).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(account = %self.account.name, error = %e, retry_in_secs = wait.as_secs(), "IMAP polling failed; reconnecting");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(300));
        }
    }

    async fn connect(&self) -> Result<Session, MailError> {
        let a = &self.account;
        let name = a.name.as_str();
        let tcp = tokio::time::timeout(
            Duration::from_secs(30),
            TcpStream::connect((a.host.as_str(), a.port)),
        )
        .await
        .map_err(|_| imap_error(name, "connecting timed out"))?
        .map_err(|e| imap_error(name, e))?;
        let _ = tcp.set_nodelay(true);
        let server = ServerName::try_from(a.host.clone())
            .map_err(|e| MailError::invalid(format!("IMAP host `{}`: {e}", a.host)))?;
        // STARTTLS: the greeting and the upgrade in plain text, then TLS as on an IMAPS port.
        let tcp = if a.security == Security::Starttls {
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .map_err(|e| imap_error(name, e))?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| imap_error(name, format!("STARTTLS: {e}")))?;
            client.into_inner()
        } else {
            tcp
        };
        let stream = match a.security {
            Security::None => Stream::Plain(tcp),
            Security::Tls | Security::Starttls => {
                let tls = self
                    .tls
                    .connect(server, tcp)
                    .await
                    .map_err(|e| imap_error(name, e))?;
                Stream::Tls(Box::new(tls))
            }
        };
        let mut client = async_imap::Client::new(stream);
        if a.security != Security::Starttls {
            client
                .read_response()
                .await
                .map_err(|e| imap_error(name, e))?;
        }
        let session = client
            .login(&a.user, a.password.expose())
            .await
            .map_err(|(e, _)| imap_error(name, format!("login: {e}")))?;
        Ok(session)
    }

    async fn session(&self, shutdown: &Shutdown) -> Result<(), MailError> {
        let name = self.account.name.as_str();
        let mut session = self.connect().await?;
        session
            .select(&self.account.folder)
            .await
            .map_err(|e| imap_error(name, format!("folder {}: {e}", self.account.folder)))?;
        let idle = session
            .capabilities()
            .await
            .map_err(|e| imap_error(name, e))?
            .has_str("IDLE");
        tracing::info!(account = %name, idle, "IMAP mailbox open");
        let period = Duration::from_secs(self.account.poll_interval_secs.clamp(1, 29 * 60));
        loop {
            self.poll(&mut session).await?;
            if shutdown.is_triggered() {
                let _ = session.logout().await;
                return Ok(());
            }
            if idle {
                let mut handle = session.idle();
                handle.init().await.map_err(|e| imap_error(name, e))?;
                let woke = {
                    let (wait, interrupt) = handle.wait_with_timeout(period);
                    let mut interrupt = Some(interrupt);
                    tokio::pin!(wait);
                    tokio::select! {
                        r = &mut wait => r,
                        () = shutdown.cancelled() => {
                            drop(interrupt.take());
                            wait.await
                        }
                    }
                };
                match woke.map_err(|e| imap_error(name, e))? {
                    IdleResponse::NewData(_)
                    | IdleResponse::Timeout
                    | IdleResponse::ManualInterrupt => {}
                }
                session = handle.done().await.map_err(|e| imap_error(name, e))?;
            } else {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(period) => {}
                }
            }
        }
    }

    /// Imports every message waiting in the folder.
    async fn poll(&self, session: &mut Session) -> Result<(), MailError> {
        let name = self.account.name.as_str();
        let query = if self.account.delete_after_import {
            format!("UNDELETED UNKEYWORD {REFUSED_KEYWORD}")
        } else {
            format!("UNSEEN UNDELETED UNKEYWORD {REFUSED_KEYWORD}")
        };
        let mut uids: Vec<u32> = session
            .uid_search(&query)
            .await
            .map_err(|e| imap_error(name, e))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let mut deleted = false;
        let limit = self.ingest.limits().max_message_bytes;
        for uid in uids {
            let fetched: Vec<_> = session
                .uid_fetch(uid.to_string(), "(RFC822.SIZE BODY.PEEK[])")
                .await
                .map_err(|e| imap_error(name, e))?
                .try_collect()
                .await
                .map_err(|e| imap_error(name, e))?;
            let Some(message) = fetched.iter().find(|f| f.uid == Some(uid)) else {
                continue;
            };
            let size = message.size.map_or(0, |s| s as usize);
            let receipt = match message.body() {
                Some(_) if size > limit => Receipt::Refused(format!(
                    "the message is {size} bytes; at most {limit} are accepted"
                )),
                Some(raw) => {
                    self.ingest
                        .receive(raw.to_vec(), &self.source(), "", Vec::new())
                        .await?
                }
                None => continue,
            };
            let flag = match receipt {
                Receipt::Stored { .. } if self.account.delete_after_import => {
                    deleted = true;
                    "+FLAGS.SILENT (\\Deleted)".to_owned()
                }
                Receipt::Stored { .. } => "+FLAGS.SILENT (\\Seen)".to_owned(),
                Receipt::Refused(reason) => {
                    tracing::warn!(account = %name, uid, %reason, "message refused; it stays in the mailbox");
                    format!("+FLAGS.SILENT ({REFUSED_KEYWORD})")
                }
            };
            let _: Vec<_> = session
                .uid_store(uid.to_string(), &flag)
                .await
                .map_err(|e| imap_error(name, e))?
                .try_collect()
                .await
                .map_err(|e| imap_error(name, e))?;
        }
        if deleted {
            let _: Vec<_> = session
                .expunge()
                .await
                .map_err(|e| imap_error(name, e))?
                .try_collect()
                .await
                .map_err(|e| imap_error(name, e))?;
        }
        Ok(())
    }
}
