//! Starting a `docket run` process for a scenario and logging in as the bench administrator.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Args;

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The peak resident set of a process, in KiB (VmHWM).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub const BENCH_LOGIN: &str = "bench";
pub const BENCH_PASSWORD: &str = "benchmark password";

pub struct Suite {
    pub child: Child,
    pub api: String,
    pub ops: String,
    pub lmtp: u16,
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
pub async fn json_of(request: reqwest::RequestBuilder) -> Result<serde_json::Value, String> {
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

/// A started suite, logged in as the bench administrator, with its tenant's default queues.
pub struct Session {
    pub suite: Suite,
    pub client: reqwest::Client,
    /// Default queue names and ids.
    pub queues: Vec<(String, String)>,
    pub _data: tempfile::TempDir,
}

pub async fn session(args: &Args, mode: &str) -> Result<Session, String> {
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
