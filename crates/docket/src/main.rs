//! `docket`: the one binary of the Docket service desk.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use docket::{Settings, Suite, parse_services};
use docket_platform::Shutdown;

#[derive(Parser)]
#[command(
    name = "docket",
    version,
    about = "Docket, an open-source service desk"
)]
struct Cli {
    /// A TOML configuration file; `DOCKET__…` environment variables override it.
    #[arg(long, short, global = true, env = "DOCKET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts the services: all of them on the embedded default, or those named by --only.
    Run {
        /// Comma-separated services to run (identity, ticket, mail, gateway); default: all.
        #[arg(long)]
        only: Option<String>,
    },
    /// Applies the database migrations of the services (all, or those named by --only).
    Migrate {
        #[arg(long)]
        only: Option<String>,
    },
    /// Administration from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates the first tenant and its administrator (a local account). The password comes from
    /// DOCKET_BOOTSTRAP_PASSWORD or, if unset, the first line of standard input.
    Bootstrap {
        /// The tenant's short name (lowercase letters, digits, dashes).
        #[arg(long)]
        tenant: String,
        /// The tenant's display name (default: the slug).
        #[arg(long)]
        tenant_name: Option<String>,
        /// The administrator's login.
        #[arg(long)]
        login: String,
        /// The administrator's full name (default: the login).
        #[arg(long)]
        name: Option<String>,
    },
    /// Checks that ticket histories are intact: every entry still carries the hash chain it was
    /// written with, and every article the body it was written with. Names the first broken entry
    /// of each ticket; fails when any is broken.
    VerifyHistory {
        /// One ticket (id or number); default: every ticket.
        #[arg(long)]
        ticket: Option<String>,
    },
    /// Removes closed tickets past their tenant's retention period now (deleted or anonymised,
    /// except those on legal hold or whose requester objected) and logs the run, as the
    /// schedule does.
    Retention {
        /// Only list what a run would remove.
        #[arg(long)]
        dry_run: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("docket: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docket: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    let telemetry = docket_platform::telemetry::init(&settings.telemetry, "docket")?;
    let result = match cli.command {
        Command::Run { only } => {
            let services = parse_services(only.as_deref()).map_err(anyhow::Error::msg)?;
            let shutdown = Shutdown::new();
            shutdown.trigger_on_signals();
            let suite = Suite::start(&settings, &services, shutdown).await?;
            print_banner(&settings, &services, &suite);
            suite.wait().await;
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Bootstrap {
                    tenant,
                    tenant_name,
                    login,
                    name,
                },
        } => {
            let password = match std::env::var("DOCKET_BOOTSTRAP_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let (tenant, agent) = docket::bootstrap_admin(
                &settings,
                &tenant,
                tenant_name.as_deref().unwrap_or(&tenant),
                &login,
                name.as_deref().unwrap_or(&login),
                &password,
            )
            .await?;
            say(format_args!(
                "tenant `{}` ({}) has the administrator `{}` ({})",
                tenant.slug,
                tenant.id,
                agent.login.as_str(),
                agent.id
            ));
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Retention { dry_run },
        } => {
            let run = docket::run_retention(&settings, dry_run).await?;
            let verb = if dry_run { "would be" } else { "were" };
            for number in &run.deleted {
                say(format_args!("ticket {number}: deleted"));
            }
            for number in &run.anonymised {
                say(format_args!("ticket {number}: anonymised"));
            }
            say(format_args!(
                "{} tickets {verb} deleted, {} anonymised; {} kept for a legal hold or an objection",
                run.deleted.len(),
                run.anonymised.len(),
                run.kept
            ));
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::VerifyHistory { ticket },
        } => {
            let report = docket::verify_history(&settings, ticket.as_deref()).await?;
            for (id, number, seq, reason) in &report.broken {
                say(format_args!(
                    "ticket {number} ({id}): entry {seq} is broken: {reason}"
                ));
            }
            say(format_args!(
                "{} ticket histories checked: {} intact ({} entries), {} broken",
                report.tickets,
                report.tickets - report.broken.len() as u64,
                report.entries,
                report.broken.len()
            ));
            if report.broken.is_empty() {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "{} of {} ticket histories are broken",
                    report.broken.len(),
                    report.tickets
                ))
            }
        }
        Command::Migrate { only } => {
            let services = parse_services(only.as_deref()).map_err(anyhow::Error::msg)?;
            docket::migrate(&settings, &services).await?;
            say(format_args!("migrations applied"));
            Ok(())
        }
    };
    telemetry.shutdown();
    result
}

/// Prints a line to stdout; a closed stdout (a pipe whose reader left) is not a reason to stop.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Where the suite listens, for the operator.
fn print_banner(
    settings: &Settings,
    services: &std::collections::BTreeSet<docket::Service>,
    suite: &Suite,
) {
    let names: Vec<_> = services.iter().map(|s| s.as_str()).collect();
    say(format_args!("docket is running: {}", names.join(", ")));
    if let Some(addr) = suite.gateway_addr {
        say(format_args!(
            "  REST API      http://{addr}/api/v1  (OpenAPI: http://{addr}/api/v1/openapi.json)"
        ));
    }
    if let Some(addr) = suite.identity_addr {
        say(format_args!("  identity gRPC {addr}"));
    }
    if let Some(addr) = suite.ticket_addr {
        say(format_args!("  ticket gRPC   {addr}"));
    }
    if let Some(addr) = suite.mail_addr {
        say(format_args!("  mail gRPC     {addr}"));
    }
    if let Some(addr) = suite.lmtp_addr {
        say(format_args!("  LMTP          {addr}"));
    }
    if let Some(addr) = suite.smtp_addr {
        say(format_args!("  SMTP          {addr}"));
    }
    say(format_args!(
        "  health        http://{}/healthz  /readyz  /metrics",
        suite.ops_addr
    ));
    if settings.bus.amqp_url.is_none() {
        say(format_args!(
            "  data          {} (SQLite), in-process bus",
            settings.data_dir.display()
        ));
    }
}
