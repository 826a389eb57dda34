//! `docket-bench`: two scenarios against a `docket run` process, figures printed and written to a
//! JSON file. `make bench` runs both.
//! - `create`: creates tickets through the REST API with concurrent clients and reports
//!   throughput, latency percentiles and the process's peak RSS, in the embedded mode and on
//!   PostgreSQL + RabbitMQ.
//! - `views`: seeds the PostgreSQL ticket database with `--seed` tickets (three articles each)
//!   in bulk, then times an agent's queue view (first page, oldest first) and a full-text search
//!   with two filters through the REST API, one request at a time.

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
    out: PathBuf,
    modes: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        docket: PathBuf::from("target/release/docket"),
        scenario: "create".into(),
        seed: 1_000_000,
        requests: 200,
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
            "--modes" => args.modes = value()?.split(',').map(str::to_owned).collect(),
            other => {
                return Err(format!(
                    "unknown argument {other}; see the Makefile's bench target"
                ));
            }
        }
    }
    if args.tickets == 0 || args.concurrency == 0 || args.seed == 0 || args.requests == 0 {
        return Err("--tickets, --concurrency, --seed and --requests must be positive".into());
    }
    if !matches!(args.scenario.as_str(), "create" | "views") {
        return Err(format!(
            "unknown scenario {}: create or views",
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
/// priorities and customers spread out), each with three articles, then rebuilds the full-text
/// indexes. Rows are generated inside PostgreSQL; the ids are the bench's own.
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
INSERT INTO tickets (id, tenant_id, number, queue_id, title, state, pending_until, locked, priority,
                     customer, created_at, updated_at, closed_at, version)
SELECT gen_random_uuid()::text, '{tenant}', '1999' || lpad(i::text, 12, '0'),
       (ARRAY[{queues}])[1 + i % 4],
       initcap({t1}) || ' ' || {t2} || ' in room' || (i % 2000),
       (ARRAY['closed_successful','closed_successful','closed_successful','open','open','new',
              'closed_unsuccessful','new','pending_reminder','closed_successful'])[1 + i % 10],
       CASE WHEN i % 10 = 8 THEN base + i * 60000000::bigint + 86400000000 END,
       0, 1 + (i * 3) % 5, 'user' || (i % 50000) || '@uni.example',
       base + i * 60000000::bigint, base + i * 60000000::bigint + 3600000000,
       CASE WHEN i % 10 IN (0, 1, 2, 6, 9) THEN base + i * 60000000::bigint + 3600000000 END, 1
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
    let rss = peak_rss_kib(suite.child.id()).unwrap_or(0);
    drop(suite);
    Ok(json!({
        "scenario": "views",
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
