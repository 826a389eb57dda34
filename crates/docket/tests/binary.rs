//! The `docket` binary as an operator meets it: it says where it listens, answers health checks
//! (HTTP and gRPC), stops cleanly on SIGTERM, and refuses a bad configuration with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{KillOnDrop, address_after, banner, docket, succeeds};

#[tokio::test]
async fn runs_answers_health_checks_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = docket()
        .arg("run")
        .env("DOCKET__DATA_DIR", data.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = banner(&mut child).await;
    let mut child = KillOnDrop(child);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("docket is running: identity, ticket, mail, gateway")),
        "{lines:?}"
    );
    let api = address_after(&lines, "REST API");
    let grpc = address_after(&lines, "ticket gRPC");
    let health = address_after(&lines, "health");

    let ready = reqwest::get(health.replace("/healthz", "/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    // Nobody is logged in: the API refuses, health answers.
    let queues = reqwest::get(format!("{api}/queues")).await.unwrap();
    assert_eq!(queues.status(), 401);

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: "docket.ticket.v1.TicketService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // The ticket service itself refuses a caller without a token: no service trusts the network.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut tickets =
        docket_proto::ticket::v1::ticket_service_client::TicketServiceClient::new(channel);
    let anonymous = tickets
        .list_tenants(docket_proto::ticket::v1::ListTenantsRequest {})
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let mut forged = tonic::Request::new(docket_proto::ticket::v1::ListTenantsRequest {});
    forged.metadata_mut().insert(
        "authorization",
        "Bearer eyJhbGciOiJub25lIn0.e30.".parse().unwrap(),
    );
    forged
        .metadata_mut()
        .insert("x-docket-actor", "admin".parse().unwrap());
    assert_eq!(
        tickets.list_tenants(forged).await.unwrap_err().code(),
        tonic::Code::Unauthenticated
    );

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "docket did not stop within 20s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    assert!(
        data.path().join("ticket.db").exists(),
        "the embedded store lives under data_dir"
    );
}

#[test]
fn a_bad_configuration_is_refused_with_a_clear_message() {
    let out = docket()
        .arg("run")
        .env("DOCKET__GATEWAY__LISTEN", "eighty")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`eighty` is not a socket address"), "{err}");

    let out = docket().args(["run", "--only", "ticket"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bus.amqp_url"), "{err}");

    let out = docket().args(["run", "--only", "mailer"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service `mailer`"));
}

#[tokio::test]
async fn migrate_creates_the_postgres_database_and_its_tables() {
    let server = docket_store::testing::postgres_server();
    let url = format!("{server}/docket_test_migrate_{}", std::process::id());
    succeeds(
        docket()
            .args(["migrate", "--only", "ticket"])
            .env("DOCKET__TICKET__DATABASE_URL", &url),
    );
    let db = docket_store::Db::connect(&url, docket_store::PoolSize { max_connections: 1 })
        .await
        .unwrap();
    for table in [
        "tickets",
        "articles",
        "ticket_history",
        "bus_outbox",
        "bus_inbox",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    db.close().await;
    // Running it again changes nothing and succeeds.
    let again = docket()
        .args(["migrate", "--only", "ticket"])
        .env("DOCKET__TICKET__DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(again.status.success());
}

#[tokio::test]
async fn bootstrap_creates_an_administrator_who_can_log_in() {
    let data = tempfile::tempdir().unwrap();
    let out = succeeds(
        docket()
            .args([
                "admin",
                "bootstrap",
                "--tenant",
                "it-centre",
                "--tenant-name",
                "IT Centre",
                "--login",
                "root",
            ])
            .env("DOCKET__DATA_DIR", data.path())
            .env("DOCKET_BOOTSTRAP_PASSWORD", "the first admin password"),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("tenant `it-centre`"));
    for (login, password, refusal) in [
        // Too short a password is refused with the policy named.
        ("root2", "short", "at least 10 characters"),
        // The same login twice is refused.
        ("root", "the first admin password", "exists already"),
    ] {
        let refused = docket()
            .args([
                "admin",
                "bootstrap",
                "--tenant",
                "it-centre",
                "--login",
                login,
            ])
            .env("DOCKET__DATA_DIR", data.path())
            .env("DOCKET_BOOTSTRAP_PASSWORD", password)
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{login} with {password}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(refusal),
            "{login} with {password}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
}

/// Writes two tickets with a few changes each into the ticket database at `url`; returns the first.
async fn tickets_with_history(url: &str) -> (docket_store::Db, docket_ticket::domain::Ticket) {
    use docket_ticket::domain::*;
    use docket_ticket::storage::prelude::*;
    let db = docket_store::Db::connect(url, docket_store::PoolSize { max_connections: 2 })
        .await
        .unwrap();
    docket_ticket::SqlTicketStore::migrate(&db).await.unwrap();
    let store = docket_ticket::SqlTicketStore::new(
        db.clone(),
        docket_bus::outbox::OutboxSignal::new(),
        SystemId::new(10).unwrap(),
    );
    let tenant = Tenant {
        id: TenantId::new(),
        slug: "uni".into(),
        name: "University".into(),
        created_at: 1,
    };
    let users = Group {
        id: GroupId::new(),
        tenant_id: tenant.id,
        name: "users".into(),
    };
    let event = uuid::Uuid::now_v7().to_string();
    store
        .project_tenant(&event, tenant.clone(), vec![users])
        .await
        .unwrap();
    let queue = store.list_queues(Some(tenant.id)).await.unwrap()[0].clone();
    let actor = Actor::new("helpdesk").unwrap();
    let mut first = None;
    for title in ["Printer", "VPN"] {
        let body =
            NewArticle::parse(SenderType::Customer, Channel::Phone, true, "", "Broken.").unwrap();
        let t = store
            .create_ticket(
                NewTicket::parse(queue.id, title, None, "", None, Some(body)).unwrap(),
                &actor,
            )
            .await
            .unwrap();
        let open = TicketUpdate {
            state: Some(TicketState::Open),
            ..TicketUpdate::default()
        };
        store.update_ticket(t.id, open, &actor).await.unwrap();
        first.get_or_insert(t);
    }
    (db, first.unwrap())
}

/// `docket admin verify-history` against the database at `url` (set through `env`).
fn verify_history(env: (&str, &str), ticket: Option<&str>) -> (bool, String) {
    let mut cmd = docket();
    cmd.args(["admin", "verify-history"]).env(env.0, env.1);
    if let Some(t) = ticket {
        cmd.args(["--ticket", t]);
    }
    outcome(&mut cmd)
}

/// Runs a `docket` command: whether it succeeded, and what it printed (stdout, then stderr).
fn outcome(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn history_edited_in_the_database_is_named(url: &str, env: (&str, &str)) {
    let (db, ticket) = tickets_with_history(url).await;
    let (ok, text) = verify_history(env, None);
    assert!(ok, "{text}");
    assert!(
        text.contains("2 ticket histories checked: 2 intact (6 entries), 0 broken"),
        "{text}"
    );

    // Somebody with database access gets past the append-only triggers and edits entry 2.
    let lift: &[&str] = match db.backend() {
        docket_store::Backend::Postgres => {
            &["ALTER TABLE ticket_history DISABLE TRIGGER ticket_history_no_update"]
        }
        docket_store::Backend::Sqlite => &["DROP TRIGGER ticket_history_no_update"],
    };
    for statement in lift {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(db.pool())
            .await
            .unwrap();
    }
    sqlx::query("UPDATE ticket_history SET actor = 'nobody' WHERE ticket_id = $1 AND seq = 2")
        .bind(ticket.id.to_string())
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;

    let (ok, text) = verify_history(env, None);
    assert!(!ok, "{text}");
    let named = format!(
        "ticket {} ({}): entry 2 is broken: its content does not match its hash",
        ticket.number, ticket.id
    );
    assert!(text.contains(&named), "{text}");
    assert!(
        text.contains("2 ticket histories checked: 1 intact (3 entries), 1 broken"),
        "{text}"
    );
    // One ticket, by its number.
    let (ok, text) = verify_history(env, Some(ticket.number.as_str()));
    assert!(!ok && text.contains(&named), "{text}");
}

#[tokio::test]
async fn verify_history_names_an_entry_edited_in_sqlite() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", data.path().join("ticket.db").display());
    let dir = data.path().display().to_string();
    history_edited_in_the_database_is_named(&url, ("DOCKET__DATA_DIR", &dir)).await;
}

#[tokio::test]
async fn verify_history_names_an_entry_edited_in_postgres() {
    let url = docket_store::testing::fresh_database_url(docket_store::Backend::Postgres)
        .await
        .unwrap();
    history_edited_in_the_database_is_named(&url, ("DOCKET__TICKET__DATABASE_URL", &url)).await;
}

/// `docket admin retention` removes what is due and says so; `--dry-run` only lists it.
#[tokio::test]
async fn retention_runs_from_the_command_line() {
    use docket_ticket::storage::prelude::*;
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", data.path().join("ticket.db").display());
    let dir = data.path().display().to_string();
    let (db, ticket) = tickets_with_history(&url).await;
    let store = docket_ticket::SqlTicketStore::new(
        db.clone(),
        docket_bus::outbox::OutboxSignal::new(),
        docket_ticket::domain::SystemId::new(10).unwrap(),
    );
    let closed = docket_ticket::domain::TicketUpdate {
        state: Some(docket_ticket::domain::TicketState::ClosedSuccessful),
        ..Default::default()
    };
    let actor = docket_ticket::domain::Actor::new("helpdesk").unwrap();
    store
        .update_ticket(ticket.id, closed, &actor)
        .await
        .unwrap();
    // Closed three years ago, as far as retention can tell.
    sqlx::query("UPDATE tickets SET closed_at = closed_at - $1 WHERE id = $2")
        .bind(3 * 365 * 86_400_000_000_i64)
        .bind(ticket.id.to_string())
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
    let run = |dry: bool| {
        let mut cmd = docket();
        cmd.args(["admin", "retention"])
            .env("DOCKET__DATA_DIR", &dir);
        if dry {
            cmd.arg("--dry-run");
        }
        outcome(&mut cmd)
    };
    let (ok, text) = run(true);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("ticket {}: deleted", ticket.number)),
        "{text}"
    );
    assert!(
        text.contains("1 tickets would be deleted, 0 anonymised"),
        "{text}"
    );
    let (ok, text) = run(false);
    assert!(ok && text.contains("1 tickets were deleted"), "{text}");
    let (ok, text) = run(false);
    assert!(ok && text.contains("0 tickets were deleted"), "{text}");
    let (ok, text) = verify_history(("DOCKET__DATA_DIR", &dir), None);
    assert!(ok && text.contains("1 ticket histories checked"), "{text}");
}
