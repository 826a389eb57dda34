//! The REST resources under `/api/v1`, a module each, each with its own `router()` and its
//! representations. Ticket core and the identity service decide what the caller sees and may
//! change; this edge only translates between JSON and their messages.

pub mod admin;
pub mod articles;
pub mod fields;
pub mod links;
pub mod mail;
pub mod me;
pub mod people;
pub mod queues;
pub mod retention;
pub mod search;
pub mod templates;
pub mod tenants;
pub mod tickets;
pub mod vocabulary;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::ApiError;

/// Every resource of the REST API but logging in (`auth`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::router())
        .merge(queues::router())
        .merge(tickets::router())
        .merge(articles::router())
        .merge(links::router())
        .merge(people::router())
        .merge(search::router())
        .merge(fields::router())
        .merge(templates::router())
        .merge(retention::router())
        .merge(mail::router())
        .merge(admin::router())
        .merge(me::router())
}

/// A time the services give in microseconds since the epoch.
pub(crate) fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A list of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// An optional text the services send as empty when it is absent.
pub(crate) fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// What most handlers answer: a JSON body, or a problem.
pub(crate) type Reply<T> = Result<axum::Json<T>, ApiError>;

impl<T> Items<T> {
    /// The services' messages as a JSON list of their representations.
    pub(crate) fn of<M: Into<T>>(messages: Vec<M>) -> Reply<Self> {
        Ok(axum::Json(Self {
            items: messages.into_iter().map(Into::into).collect(),
        }))
    }
}
