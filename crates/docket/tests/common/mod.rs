//! What the binary's tests share: the `docket` command on free ports, its startup banner, and a
//! child process that ends with the test.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output};

/// Ends the child process when a test fails before it could stop it.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `docket` with every listener on a free port and quiet logs.
pub fn docket() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_docket"));
    cmd.env_remove("DOCKET_CONFIG")
        .env("DOCKET__TELEMETRY__LOG_FILTER", "warn")
        .env("DOCKET__GATEWAY__LISTEN", "127.0.0.1:0")
        .env("DOCKET__TICKET__LISTEN", "127.0.0.1:0")
        .env("DOCKET__IDENTITY__LISTEN", "127.0.0.1:0")
        .env("DOCKET__MAIL__LISTEN", "127.0.0.1:0")
        .env("DOCKET__OPS__LISTEN", "127.0.0.1:0");
    cmd
}

/// The startup lines of `docket run` (its stdout piped), up to the health line.
pub async fn banner(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.trim_start().starts_with("health");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .unwrap()
}

/// The first `http://…` or address after `label` in the startup lines.
pub fn address_after(lines: &[String], label: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {lines:?}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// Runs `cmd` to its end and asserts that it succeeded (its stderr in the failure message).
pub fn succeeds(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
