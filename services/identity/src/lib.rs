//! Identity and access: who may log in, how, and what each agent and customer may see and do.
//!
//! - [`domain`]: tenants, groups, roles, agents, customers, sessions, the audit log;
//! - [`storage`]: the repository traits (one per feature) and their implementation on PostgreSQL
//!   and SQLite;
//! - [`password`]: argon2id hashing of local passwords;
//! - [`ldap`]: LDAP / Active Directory authentication;
//! - [`totp`]: the optional second factor of agents;
//! - [`grpc`]: logging in and tokens over gRPC; [`admin`]: the administration API and each
//!   agent's self-service, authorised from the caller's access token.

pub mod admin;
pub mod authority;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod ldap;
pub mod password;
pub mod server;
pub mod storage;
pub mod totp;

pub use error::IdentityError;
pub use storage::{IdentityStore, SqlIdentityStore};
