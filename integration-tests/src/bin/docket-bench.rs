//! `docket-bench`: creates tickets through the REST API of a `docket run` process with concurrent
//! clients and reports throughput, latency percentiles and the process's peak RSS, in the embedded
//! mode and on PostgreSQL + RabbitMQ. `make bench` runs it; figures go to a JSON file too.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

struct Args {
    docket: PathBuf,
    tickets: usize,
    concurrency: usize,
    out: PathBuf,
    modes: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        docket: PathBuf::from("target/release/docket"),
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
            "--modes" => args.modes = value()?.split(',').map(str::to_owned).collect(),
            other => {
                return Err(format!(
                    "unknown argument {other}; see the Makefile's bench target"
                ));
            }
        }
    }
    if args.tickets == 0 || args.concurrency == 0 {
        return Err("--tickets and --concurrency must be positive".into());
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

async fn run_mode(args: &Args, mode: &str) -> Result<serde_json::Value, String> {
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
    let queue = loop {
        let queues = json_of(client.get(format!("{}/queues", suite.api))).await?;
        match queues["items"][0]["id"].as_str() {
            Some(id) => break id.to_owned(),
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            None => return Err("no queue appeared within 30 s".into()),
        }
    };

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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("docket-bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
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
