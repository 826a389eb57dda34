//! Clients that open a request and never finish it: 500 connections that sent half a request's
//! headers do not stop the gateway from answering others, and each is cut off once the header
//! read timeout has passed.

use std::time::{Duration, Instant};

use docket_integration_tests::{Mode, TestApp, test_settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOW_CLIENTS: usize = 500;
const HEADER_READ_TIMEOUT_SECS: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_sent_requests_are_cut_off_and_others_are_answered() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(Mode::Embedded, data.path()).await;
    settings.gateway.header_read_timeout_secs = HEADER_READ_TIMEOUT_SECS;
    settings.gateway.max_connections = SLOW_CLIENTS + 50;
    let app = TestApp::spawn_with(settings, data, None).await;
    let address = app
        .api
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();

    let opened = Instant::now();
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }

    // Meanwhile another client is answered, and at once (well before the slow ones time out).
    let answered = app
        .client
        .get(format!("{}/me", app.api))
        .timeout(Duration::from_secs(HEADER_READ_TIMEOUT_SECS))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);

    // Each slow connection is closed by the server: reading ends (EOF, or a 408 and then EOF)
    // within the timeout and some slack, none stays open.
    let deadline = Duration::from_secs(HEADER_READ_TIMEOUT_SECS + 10);
    let closed = futures::future::join_all(slow.into_iter().map(|mut stream| async move {
        let mut rest = Vec::new();
        tokio::time::timeout(deadline, stream.read_to_end(&mut rest))
            .await
            .is_ok()
    }))
    .await;
    let open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(
        open, 0,
        "{open} of {SLOW_CLIENTS} half-sent requests still open"
    );
    // Not before the timeout: they were given the time the setting says.
    assert!(opened.elapsed() >= Duration::from_secs(HEADER_READ_TIMEOUT_SECS));
    app.stop().await;
}
