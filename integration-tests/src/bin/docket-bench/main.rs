//! `docket-bench`: three scenarios against a `docket run` process, figures printed and written to a
//! JSON file. `make bench` runs all three.
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

mod create;
mod mail;
mod report;
mod suite;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use report::{Column, print_modes, write_report};

pub struct Args {
    pub docket: PathBuf,
    pub scenario: String,
    pub tickets: usize,
    pub concurrency: usize,
    /// Tickets seeded for the `views` scenario.
    pub seed: usize,
    /// Requests timed per measurement in the `views` scenario.
    pub requests: usize,
    /// Messages delivered in the `mail` scenario.
    pub messages: usize,
    pub out: PathBuf,
    pub modes: Vec<String>,
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("docket-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match args.scenario.as_str() {
        "views" => match views::run(&args).await {
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
                ExitCode::FAILURE
            }
        },
        "mail" => {
            let title = format!(
                "Scenario mail: {} messages (20 % with attachments, 30 % replies) over LMTP, {} connections, until the article is readable through the API",
                args.messages, args.concurrency
            );
            in_each_mode(
                &args,
                "docket-bench: mail",
                mail::run,
                &title,
                &mail::COLUMNS,
            )
            .await
        }
        _ => {
            let title = format!(
                "Scenario ticket-create: {} tickets (each with a first article) through POST /api/v1/tickets, {} concurrent clients",
                args.tickets, args.concurrency
            );
            in_each_mode(&args, "docket-bench", create::run, &title, &create::COLUMNS).await
        }
    }
}

/// Runs a scenario once per `--modes` entry, then prints `title` and a table of the figures
/// `columns` name, a row per mode, and writes the report. The first failure is printed after
/// `label` and ends the bench.
async fn in_each_mode(
    args: &Args,
    label: &str,
    run: impl AsyncFn(&Args, &str) -> Result<serde_json::Value, String>,
    title: &str,
    columns: &[Column],
) -> ExitCode {
    let mut results = Vec::new();
    for mode in &args.modes {
        match run(args, mode).await {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("{label}: {mode}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("\n{title}");
    print_modes(&results, columns);
    write_report(args, results)
}
