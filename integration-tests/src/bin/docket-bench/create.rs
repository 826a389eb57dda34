//! The `create` scenario: tickets created through the REST API by concurrent clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;

use crate::Args;
use crate::report::{Column, percentile};
use crate::suite::{peak_rss_kib, session};

/// The figures of the per-mode table, before the peak RSS.
pub const COLUMNS: [Column; 4] = [
    Column::new("tickets/s", "tickets_per_second", 10, 1),
    Column::new("p50 ms", "p50_ms", 10, 2),
    Column::new("p95 ms", "p95_ms", 10, 2),
    Column::new("p99 ms", "p99_ms", 10, 2),
];

pub async fn run(args: &Args, mode: &str) -> Result<serde_json::Value, String> {
    let started_suite = session(args, mode).await?;
    let (suite, client) = (&started_suite.suite, &started_suite.client);
    let queue = started_suite.queues[0].1.clone();

    let create = |client: reqwest::Client, api: String, queue: String, i: usize| async move {
        let started = Instant::now();
        let r = client
            .post(format!("{api}/tickets"))
            .json(&json!({"queue_id": queue, "title": format!("bench ticket {i}"), "customer": "bench@uni.example",
                          "article": {"sender": "customer", "channel": "portal", "visible_to_customer": true,
                                      "subject": "bench", "body": "A realistic description of a problem, a few lines long."}}))
            .send()
            .await;
        match r {
            Ok(r) if r.status().as_u16() == 201 => Ok(started.elapsed()),
            Ok(r) => Err(format!("status {}", r.status())),
            Err(e) => Err(e.to_string()),
        }
    };
    // Warm-up: connections, caches, the SQLite file.
    for i in 0..50 {
        create(client.clone(), suite.api.clone(), queue.clone(), i).await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, api, queue, next, total) = (
            client.clone(),
            suite.api.clone(),
            queue.clone(),
            next.clone(),
            args.tickets,
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                latencies.push(create(client.clone(), api.clone(), queue.clone(), i).await?);
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(args.tickets);
    for w in workers {
        latencies.extend(w.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let rss = peak_rss_kib(suite.child.id()).unwrap_or(0);
    drop(started_suite);
    Ok(json!({
        "scenario": "ticket-create",
        "mode": mode,
        "tickets": args.tickets,
        "concurrency": args.concurrency,
        "seconds": elapsed.as_secs_f64(),
        "tickets_per_second": args.tickets as f64 / elapsed.as_secs_f64(),
        "p50_ms": percentile(&latencies, 50.0),
        "p95_ms": percentile(&latencies, 95.0),
        "p99_ms": percentile(&latencies, 99.0),
        "peak_rss_mib": rss as f64 / 1024.0,
    }))
}
