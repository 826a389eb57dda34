//! The end-to-end tests, one binary with a module per area (one link step instead of one per
//! file): `cargo test -p docket-integration-tests --test e2e -- auth::` runs one area. They need
//! PostgreSQL, RabbitMQ and the mail and browser peers that `make services` starts; without them
//! they fail, never skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// A scenario that takes a [`docket_integration_tests::Mode`], run as two tests: on the embedded
/// default and on PostgreSQL + RabbitMQ.
macro_rules! in_both_modes {
    ($scenario:ident: $embedded:ident, $production:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $embedded() {
            $scenario(docket_integration_tests::Mode::Embedded).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $production() {
            $scenario(docket_integration_tests::Mode::Production).await;
        }
    };
}

mod access;
mod actions;
mod admin;
mod auth;
mod broker_outage;
mod browser;
mod case_walk;
mod desk;
mod mail;
mod mail_corpus;
mod mail_parts;
mod portal;
mod retention;
mod scenario;
mod search;
mod slow_clients;
