//! `docket-bench`: two scenarios against a `docket run` process, figures printed and written to a
//! JSON file. `make bench` runs both.
//! - `create`: creates tickets through the REST API with concurrent clients and reports
//!   throughput, latency percentiles and the process's peak RSS, in the embedded mode and on
//!   PostgreSQL + RabbitMQ.
//! - `views`: seeds the PostgreSQL ticket database with `--seed` tickets (three articles each)
//!   in bulk, then times an agent's queue view (first page, oldest first) and a full-text search
//!   with two filters through the REST API, one request at a time.
//! - `mail`: delivers `--messages` realistic messages (20 % with attachments, 30 % replies to
//!   earlier ones) over LMTP with concurrent connections and measures until every one is
//!   processed: messages per second from delivery to the ticket readable through the API, and the
//!   delay of a sample of them from the LMTP acknowledgement to the article listed by the API.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

struct Args {
    docket: PathBuf,
    scenario: String,
    tickets: usize,
    concurrency: usize,
    /// Tickets seeded for the `views` scenario.
    seed: usize,
    /// Requests timed per measurement in the `views` scenario.
    requests: usize,
    /// Messages delivered in the `mail` scenario.
    messages: usize,
    out: PathBuf,
    modes: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        docket: PathBuf::from("target/release/docket"),
        scenario: "create".into(),
        seed: 1_000_000,
        requests: 200,
        messages: 10_000,
        tickets: 5000,
        concurrency: 16,
        out: PathBuf::from("bench-results/ticket-create.json"),
        modes: vec!["embedded".into(), "production".into()],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--docket" => args.docket = PathBuf::from(value()?),
            "--tickets" => {
                args.tickets = value()?.parse().map_err(|e| format!("--tickets: {e}"))?
            }
            "--concurrency" => {
                args.concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--out" => args.out = PathBuf::from(value()?),
            "--scenario" => args.scenario = value()?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--requests" => {
                args.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?
            }
            "--messages" => {
                args.messages = value()?.parse().map_err(|e| format!("--messages: {e}"))?
            }
            "--modes" => args.modes = value()?.split(',').map(str::to_owned).collect(),
            other => {
                return Err(format!(
                    "unknown argument {other}; see the Makefile's bench target"
                ));
            }
        }
    }
    if args.tickets == 0
        || args.concurrency == 0
        || args.seed == 0
        || args.requests == 0
        || args.messages == 0
    {
        return Err(
            "--tickets, --concurrency, --seed, --requests and --messages must be positive".into(),
        );
    }
    if !matches!(args.scenario.as_str(), "create" | "views" | "mail") {
        return Err(format!(
            "unknown scenario {}: create, views or mail",
            args.scenario
        ));
    }
    Ok(args)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The peak resident set of a process, in KiB (VmHWM).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

const BENCH_LOGIN: &str = "bench";
const BENCH_PASSWORD: &str = "benchmark password";

struct Suite {
    child: Child,
    api: String,
    ops: String,
    lmtp: u16,
}

impl Drop for Suite {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// Sends the request and reads its JSON body.
async fn json_of(request: reqwest::RequestBuilder) -> Result<serde_json::Value, String> {
    request
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

fn start_suite(docket: &PathBuf, mode: &str, data: &std::path::Path) -> Result<Suite, String> {
    let (gw, ticket, identity, ops) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let (mail, lmtp) = (free_port()?, free_port()?);
    let mut env = vec![
        ("DOCKET__DATA_DIR".to_owned(), data.display().to_string()),
        (
            "DOCKET__GATEWAY__LISTEN".to_owned(),
            format!("127.0.0.1:{gw}"),
        ),
        (
            "DOCKET__TICKET__LISTEN".to_owned(),
            format!("127.0.0.1:{ticket}"),
        ),
        (
            "DOCKET__IDENTITY__LISTEN".to_owned(),
            format!("127.0.0.1:{identity}"),
        ),
        ("DOCKET__OPS__LISTEN".to_owned(), format!("127.0.0.1:{ops}")),
        (
            "DOCKET__MAIL__LISTEN".to_owned(),
            format!("127.0.0.1:{mail}"),
        ),
        (
            "DOCKET__MAIL__LMTP_LISTEN".to_owned(),
            format!("127.0.0.1:{lmtp}"),
        ),
        // The bench's customers write more than a person does.
        (
            "DOCKET__MAIL__SENDER_LIMIT_PER_HOUR".to_owned(),
            "0".to_owned(),
        ),
        // Runs longer than an access token's default five minutes.
        (
            "DOCKET__IDENTITY__AUTH__ACCESS_TOKEN_SECS".to_owned(),
            "3600".to_owned(),
        ),
        (
            "DOCKET__TELEMETRY__LOG_FILTER".to_owned(),
            "warn".to_owned(),
        ),
    ];
    if mode == "production" {
        let db = format!("docket_bench_{}", std::process::id());
        env.push((
            "DOCKET__TICKET__DATABASE_URL".to_owned(),
            format!("postgres://postgres@127.0.0.1:5432/{db}"),
        ));
        env.push((
            "DOCKET__IDENTITY__DATABASE_URL".to_owned(),
            format!("postgres://postgres@127.0.0.1:5432/{db}_identity"),
        ));
        env.push((
            "DOCKET__MAIL__DATABASE_URL".to_owned(),
            format!("postgres://postgres@127.0.0.1:5432/{db}_mail"),
        ));
        env.push((
            "DOCKET__BUS__AMQP_URL".to_owned(),
            "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
        ));
        env.push((
            "DOCKET__BUS__EXCHANGE".to_owned(),
            "docket.bench".to_owned(),
        ));
        let migrated = Command::new(docket)
            .arg("migrate")
            .envs(env.clone())
            .status()
            .map_err(|e| e.to_string())?;
        if !migrated.success() {
            return Err("docket migrate failed".into());
        }
    } else if mode != "embedded" {
        return Err(format!("unknown mode {mode}: embedded or production"));
    }
    let bootstrapped = Command::new(docket)
        .args([
            "admin",
            "bootstrap",
            "--tenant",
            "bench",
            "--login",
            BENCH_LOGIN,
        ])
        .env("DOCKET_BOOTSTRAP_PASSWORD", BENCH_PASSWORD)
        .envs(env.clone())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !bootstrapped.success() {
        return Err("docket admin bootstrap failed".into());
    }
    let child = Command::new(docket)
        .arg("run")
        .envs(env)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", docket.display()))?;
    Ok(Suite {
        child,
        api: format!("http://127.0.0.1:{gw}/api/v1"),
        ops: format!("http://127.0.0.1:{ops}"),
        lmtp,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A started suite, logged in as the bench administrator, with its tenant's default queues.
struct Session {
    suite: Suite,
    client: reqwest::Client,
    /// Default queue names and ids.
    queues: Vec<(String, String)>,
    _data: tempfile::TempDir,
}

async fn session(args: &Args, mode: &str) -> Result<Session, String> {
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let suite = start_suite(&args.docket, mode, data.path())?;
    let client = reqwest::Client::new();
    let ready_by = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", suite.ops)).send().await
            && r.status().is_success()
        {
            break;
        }
        if Instant::now() > ready_by {
            return Err(format!("{mode}: the suite did not become ready"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = json_of(
        client
            .post(format!("{}/auth/login", suite.api))
            .json(&json!({"login": BENCH_LOGIN, "password": BENCH_PASSWORD})),
    )
    .await?;
    let token = login["access_token"].as_str().ok_or("login failed")?;
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {token}").parse().map_err(|_| "bad token")?;
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    // Access tokens live 5 minutes: longer runs than that need a larger BENCH window.
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .map_err(|e| e.to_string())?;
    // The tenant's default queues appear once ticket core has its `tenant.created` event.
    let deadline = Instant::now() + Duration::from_secs(30);
    let queues = loop {
        let queues = json_of(client.get(format!("{}/queues", suite.api))).await?;
        let found: Vec<(String, String)> = queues["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| Some((q["name"].as_str()?.to_owned(), q["id"].as_str()?.to_owned())))
            .collect();
        match found.len() {
            4 => break found,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return Err("the default queues did not appear within 30 s".into()),
        }
    };
    Ok(Session {
        suite,
        client,
        queues,
        _data: data,
    })
}

async fn run_mode(args: &Args, mode: &str) -> Result<serde_json::Value, String> {
    let Session {
        suite,
        client,
        queues,
        _data,
    } = session(args, mode).await?;
    let queue = queues[0].1.clone();

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
    drop(suite);
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

async fn run_views(args: &Args) -> Result<serde_json::Value, String> {
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

async fn run_mail(args: &Args, mode: &str) -> Result<serde_json::Value, String> {
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("docket-bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if args.scenario == "views" {
        return match run_views(&args).await {
            Ok(r) => {
                println!(
                    "\nScenario views: {} seeded tickets ({} articles) on PostgreSQL, {} requests each, one at a time",
                    args.seed,
                    3 * args.seed,
                    args.requests
                );
                println!("{:<44} {:>10} {:>10}", "request", "p50 ms", "p99 ms");
                for (name, key) in [
                    ("queue view (first page, oldest first)", "queue_view"),
                    ("full text + queue + state type", "search"),
                    ("one common word + queue + state type", "common_word_search"),
                ] {
                    println!(
                        "{:<44} {:>10.2} {:>10.2}",
                        name,
                        r[key]["p50_ms"].as_f64().unwrap_or(0.0),
                        r[key]["p99_ms"].as_f64().unwrap_or(0.0)
                    );
                }
                write_report(&args, vec![r])
            }
            Err(e) => {
                eprintln!("docket-bench: views: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.scenario == "mail" {
        let mut results = Vec::new();
        for mode in &args.modes {
            match run_mail(&args, mode).await {
                Ok(r) => results.push(r),
                Err(e) => {
                    eprintln!("docket-bench: mail: {mode}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
        }
        println!(
            "\nScenario mail: {} messages (20 % with attachments, 30 % replies) over LMTP, {} connections, until the article is readable through the API",
            args.messages, args.concurrency
        );
        println!(
            "{:<12} {:>12} {:>12} {:>14} {:>14} {:>14}",
            "mode", "accepted/s", "processed/s", "delay p50 ms", "delay p99 ms", "peak RSS MiB"
        );
        for r in &results {
            println!(
                "{:<12} {:>12.1} {:>12.1} {:>14.0} {:>14.0} {:>14.1}",
                r["mode"].as_str().unwrap_or("?"),
                r["accepted_per_second"].as_f64().unwrap_or(0.0),
                r["messages_per_second"].as_f64().unwrap_or(0.0),
                r["delay_p50_ms"].as_f64().unwrap_or(0.0),
                r["delay_p99_ms"].as_f64().unwrap_or(0.0),
                r["peak_rss_mib"].as_f64().unwrap_or(0.0),
            );
        }
        return write_report(&args, results);
    }
    let mut results = Vec::new();
    for mode in &args.modes {
        match run_mode(&args, mode).await {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("docket-bench: {mode}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!(
        "\nScenario ticket-create: {} tickets (each with a first article) through POST /api/v1/tickets, {} concurrent clients",
        args.tickets, args.concurrency
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>14}",
        "mode", "tickets/s", "p50 ms", "p95 ms", "p99 ms", "peak RSS MiB"
    );
    for r in &results {
        println!(
            "{:<12} {:>10.1} {:>10.2} {:>10.2} {:>10.2} {:>14.1}",
            r["mode"].as_str().unwrap_or("?"),
            r["tickets_per_second"].as_f64().unwrap_or(0.0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p95_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
            r["peak_rss_mib"].as_f64().unwrap_or(0.0),
        );
    }
    write_report(&args, results)
}

fn write_report(args: &Args, results: Vec<serde_json::Value>) -> std::process::ExitCode {
    let report = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "results": results,
    });
    if let Some(dir) = args.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match serde_json::to_string_pretty(&report).map(|s| std::fs::write(&args.out, s)) {
        Ok(Ok(())) => println!("\nfigures written to {}", args.out.display()),
        _ => {
            eprintln!("docket-bench: cannot write {}", args.out.display());
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
