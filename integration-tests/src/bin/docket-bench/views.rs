//! The `views` scenario: a seeded PostgreSQL ticket database, the queue view, full-text search
//! and the desk's pages timed one request at a time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Args;
use crate::report::percentile;
use crate::suite::{BENCH_LOGIN, BENCH_PASSWORD, Session, json_of, peak_rss_kib, session};

/// Words of the seeded titles and articles; `room<n>` words (2,000 of them) are the rare ones.
const WORDS: [&str; 30] = [
    "vpn",
    "printer",
    "mailbox",
    "password",
    "network",
    "laptop",
    "monitor",
    "license",
    "backup",
    "server",
    "drucker",
    "passwort",
    "netzwerk",
    "zugang",
    "konto",
    "wlan",
    "eduroam",
    "moodle",
    "exchange",
    "outlook",
    "certificate",
    "firewall",
    "quota",
    "kerberos",
    "shibboleth",
    "sso",
    "account",
    "phone",
    "headset",
    "projector",
];

/// SQL that seeds `n` tickets in the tenant's four queues over the past two years (states,
/// priorities and customers spread out; one in a thousand with a target date, most of them past
/// it), each with three articles, then rebuilds the full-text indexes and the queue counts. Rows are generated inside PostgreSQL; the ids are the bench's own.
fn seed_sql(n: usize, tenant: &str, queues: &[String]) -> String {
    let words = WORDS.map(|w| format!("'{w}'")).join(",");
    let queues = queues
        .iter()
        .map(|q| format!("'{q}'"))
        .collect::<Vec<_>>()
        .join(",");
    let pick = |expr: &str| format!("w[1 + (({expr}) % 30)]");
    format!(
        "\\set ON_ERROR_STOP on
DROP INDEX IF EXISTS articles_body_fts;
DROP INDEX IF EXISTS tickets_title_fts;
CREATE TEMP TABLE words AS SELECT ARRAY[{words}] AS w;
-- A bulk load: the per-row counter trigger is off, the counts are taken once afterwards.
ALTER TABLE tickets DISABLE TRIGGER tickets_count_insert_delete;
INSERT INTO tickets (id, tenant_id, number, queue_id, title, state, pending_until, locked, priority,
                     customer, created_at, updated_at, closed_at, target_at, version)
SELECT gen_random_uuid()::text, '{tenant}', '1999' || lpad(i::text, 12, '0'),
       (ARRAY[{queues}])[1 + i % 4],
       initcap({t1}) || ' ' || {t2} || ' in room' || (i % 2000),
       (ARRAY['closed_successful','closed_successful','closed_successful','open','open','new',
              'closed_unsuccessful','new','pending_reminder','closed_successful'])[1 + i % 10],
       CASE WHEN i % 10 = 8 THEN base + i * 60000000::bigint + 86400000000 END,
       0, 1 + (i * 3) % 5, 'user' || (i % 50000) || '@uni.example',
       base + i * 60000000::bigint, base + i * 60000000::bigint + 3600000000,
       CASE WHEN i % 10 IN (0, 1, 2, 6, 9) THEN base + i * 60000000::bigint + 3600000000 END,
       CASE WHEN i % 1000 = 3 THEN base + i * 60000000::bigint + 172800000000 END, 1
FROM generate_series(1, {n}) i, words,
     (SELECT (extract(epoch FROM now())::bigint - {n}::bigint * 60) * 1000000 AS base) b;
INSERT INTO articles (id, ticket_id, sender, channel, visible_to_customer, subject, body, author, created_at)
SELECT gen_random_uuid()::text, t.id, CASE WHEN k = 2 THEN 'agent' ELSE 'customer' END, 'email', 1,
       'Re: ' || t.title,
       'Hello, since this morning ' || {a1} || ' and ' || {a2} || ' fail in room' || ((t.n + k) % 2000)
       || '. We tried ' || {a3} || ' with ' || {a4} || ', then ' || {a5} || '. Please help, ' || {a6} || '.',
       'bench', t.created_at + k
FROM (SELECT id, title, created_at, substr(number, 5)::bigint AS n FROM tickets WHERE number LIKE '1999%') t,
     generate_series(1, 3) k, words;
ALTER TABLE tickets ENABLE TRIGGER tickets_count_insert_delete;
DELETE FROM queue_state_counts;
INSERT INTO queue_state_counts (queue_id, state, n)
    SELECT queue_id, state, COUNT(*) FROM tickets GROUP BY queue_id, state;
CREATE INDEX tickets_title_fts ON tickets USING GIN (to_tsvector('simple', title));
CREATE INDEX articles_body_fts ON articles USING GIN (to_tsvector('simple', left(subject || ' ' || body, 250000)));
ANALYZE;
",
        t1 = pick("i * 7"),
        t2 = pick("i * 13 + 3"),
        a1 = pick("t.n * 17 + k * 5"),
        a2 = pick("t.n * 19 + k * 7 + 1"),
        a3 = pick("t.n * 23 + k * 11 + 2"),
        a4 = pick("t.n * 29 + k * 13 + 3"),
        a5 = pick("t.n * 31 + k * 3 + 4"),
        a6 = pick("t.n * 37 + k + 5"),
    )
}

/// Times `requests` requests made one after another; the latencies sorted.
async fn timed<F, Fut>(requests: usize, mut send: F) -> Result<Vec<Duration>, String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
{
    let mut latencies = Vec::with_capacity(requests);
    for i in 0..requests + 10 {
        let started = Instant::now();
        let r = send(i).await.map_err(|e| e.to_string())?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        // The first ten warm connections and caches.
        if i >= 10 {
            latencies.push(started.elapsed());
        }
    }
    latencies.sort();
    Ok(latencies)
}

pub async fn run(args: &Args) -> Result<serde_json::Value, String> {
    let Session {
        suite,
        client,
        queues,
        _data,
    } = session(args, "production").await?;
    let tenants = json_of(client.get(format!("{}/tenants", suite.api))).await?;
    let tenant = tenants["items"][0]["id"]
        .as_str()
        .ok_or("no tenant")?
        .to_owned();
    let ids: Vec<String> = queues.iter().map(|(_, id)| id.clone()).collect();
    let raw = queues
        .iter()
        .find(|(name, _)| name == "Raw")
        .map(|(_, id)| id.clone())
        .ok_or("no queue Raw")?;
    let seeding = Instant::now();
    let mut psql = Command::new("psql")
        .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d"])
        .arg(format!("docket_bench_{}", std::process::id()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    {
        use std::io::Write as _;
        let stdin = psql.stdin.as_mut().ok_or("psql has no stdin")?;
        stdin
            .write_all(seed_sql(args.seed, &tenant, &ids).as_bytes())
            .map_err(|e| e.to_string())?;
    }
    if !psql.wait().map_err(|e| e.to_string())?.success() {
        return Err("seeding with psql failed".into());
    }
    let seed_seconds = seeding.elapsed().as_secs_f64();
    println!(
        "seeded {} tickets and {} articles in {seed_seconds:.0} s",
        args.seed,
        3 * args.seed
    );

    let api = suite.api.clone();
    let queue_view = timed(args.requests, |_| {
        client
            .get(format!(
                "{api}/queues/{raw}/tickets?sort=created_at&order=asc&page_size=25"
            ))
            .send()
    })
    .await?;
    let search = timed(args.requests, |i| {
        let body = json!({
            "filter": {"text": format!("{} room{}", WORDS[i % WORDS.len()], (i * 37) % 2000),
                       "queue_ids": [raw], "state_types": ["closed"]},
            "page_size": 25
        });
        client
            .post(format!("{api}/tickets/search"))
            .json(&body)
            .send()
    })
    .await?;
    // One common word: in about a quarter of all articles.
    let common = timed(args.requests, |i| {
        let body = json!({
            "filter": {"text": WORDS[i % WORDS.len()], "queue_ids": [raw], "state_types": ["closed"]},
            "page_size": 25
        });
        client.post(format!("{api}/tickets/search")).json(&body).send()
    })
    .await?;
    let desk = desk_pages(args, &suite.api, &client, &raw).await?;
    let rss = peak_rss_kib(suite.child.id()).unwrap_or(0);
    drop(suite);
    Ok(json!({
        "scenario": "views",
        "desk": desk,
        "common_word_search": {"p50_ms": percentile(&common, 50.0), "p99_ms": percentile(&common, 99.0)},
        "mode": "production",
        "seeded_tickets": args.seed,
        "seeded_articles": 3 * args.seed,
        "seed_seconds": seed_seconds,
        "requests": args.requests,
        "queue_view": {"p50_ms": percentile(&queue_view, 50.0), "p99_ms": percentile(&queue_view, 99.0)},
        "search": {"p50_ms": percentile(&search, 50.0), "p99_ms": percentile(&search, 99.0)},
        "peak_rss_mib": rss as f64 / 1024.0,
    }))
}

/// The desk's pages as a browser loads them (server-rendered HTML, one session cookie): the
/// queue overview with its counts, a queue's first page, and ticket pages of tickets with
/// three articles each.
async fn desk_pages(
    args: &Args,
    api: &str,
    client: &reqwest::Client,
    raw: &str,
) -> Result<serde_json::Value, String> {
    let site = api.trim_end_matches("/api/v1").to_owned();
    let login = reqwest::Client::new()
        .post(format!("{api}/auth/login"))
        .json(&json!({"login": BENCH_LOGIN, "password": BENCH_PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let session = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()?
                .strip_prefix("docket_session=")
                .map(str::to_owned)
        })
        .ok_or("no session cookie from the login")?;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let cookie = format!("docket_session={session}");
    let mut numbers = Vec::new();
    let mut page = String::new();
    while numbers.len() < args.requests {
        let listed = json_of(client.get(format!(
            "{api}/queues/{raw}/tickets?sort=created_at&order=desc&page_size=100&page_token={page}"
        )))
        .await?;
        numbers.extend(
            listed["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["number"].as_str().map(str::to_owned)),
        );
        match listed["next_page_token"].as_str() {
            Some(next) if !next.is_empty() => page = next.to_owned(),
            _ => break,
        }
    }
    if numbers.is_empty() {
        return Err("no tickets to open in the desk".into());
    }
    let get = |path: String| {
        browser
            .get(format!("{site}{path}"))
            .header("cookie", &cookie)
            .send()
    };
    let overview = timed(args.requests, |_| get("/desk/".to_owned())).await?;
    let queue = timed(args.requests, |_| {
        get(format!("/desk/queues/{raw}?sort=created&order=asc"))
    })
    .await?;
    let ticket = timed(args.requests, |i| {
        get(format!("/desk/tickets/{}", numbers[i % numbers.len()]))
    })
    .await?;
    let figures =
        |d: &[Duration]| json!({"p50_ms": percentile(d, 50.0), "p99_ms": percentile(d, 99.0)});
    println!(
        "desk: overview p50 {:.2} ms p99 {:.2} ms; queue view p50 {:.2} ms p99 {:.2} ms; ticket page p50 {:.2} ms p99 {:.2} ms",
        percentile(&overview, 50.0),
        percentile(&overview, 99.0),
        percentile(&queue, 50.0),
        percentile(&queue, 99.0),
        percentile(&ticket, 50.0),
        percentile(&ticket, 99.0),
    );
    Ok(json!({
        "overview": figures(&overview),
        "queue_view": figures(&queue),
        "ticket_page": figures(&ticket),
    }))
}
