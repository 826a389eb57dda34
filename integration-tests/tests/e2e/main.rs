//! The end-to-end tests, one binary with a module per area (one link step instead of one per
//! file): `cargo test -p docket-integration-tests --test e2e -- auth::` runs one area. They need
//! PostgreSQL, RabbitMQ and the mail and browser peers that `make services` starts; without them
//! they fail, never skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod actions;
mod admin;
mod auth;
mod broker_outage;
mod browser;
mod case_walk;
mod desk;
mod mail;
mod portal;
mod retention;
mod scenario;
mod search;
