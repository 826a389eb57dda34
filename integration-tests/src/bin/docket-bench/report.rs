//! The figures: percentiles, the tables printed per scenario and the JSON report.

use std::time::Duration;

use serde_json::json;

use crate::Args;

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// One figure of a per-mode table: its title, the result's key, the width and the decimals.
pub struct Column {
    title: &'static str,
    key: &'static str,
    width: usize,
    decimals: usize,
}

impl Column {
    pub const fn new(
        title: &'static str,
        key: &'static str,
        width: usize,
        decimals: usize,
    ) -> Self {
        Self {
            title,
            key,
            width,
            decimals,
        }
    }
}

/// The last column of every per-mode table.
const PEAK_RSS: Column = Column::new("peak RSS MiB", "peak_rss_mib", 14, 1);

/// Prints a table with a row per mode: the mode, each column's figure, then the peak RSS.
pub fn print_modes(results: &[serde_json::Value], columns: &[Column]) {
    let columns: Vec<&Column> = columns.iter().chain([&PEAK_RSS]).collect();
    let mut header = format!("{:<12}", "mode");
    for c in &columns {
        header += &format!(" {:>w$}", c.title, w = c.width);
    }
    println!("{header}");
    for r in results {
        let mut row = format!("{:<12}", r["mode"].as_str().unwrap_or("?"));
        for c in &columns {
            let figure = r[c.key].as_f64().unwrap_or(0.0);
            row += &format!(" {figure:>w$.p$}", w = c.width, p = c.decimals);
        }
        println!("{row}");
    }
}

pub fn write_report(args: &Args, results: Vec<serde_json::Value>) -> std::process::ExitCode {
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
