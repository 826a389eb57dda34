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

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
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

/// The schema of a vocabulary defined elsewhere (a protobuf enum, `docket_auth`): its names, as
/// a string enum.
pub(crate) fn names_schema(description: &str, names: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
        .description(Some(description))
        .into()
}

/// The values of a protobuf enum but `UNSPECIFIED`, in its order, each with its REST name: the
/// protobuf's own without `prefix`, in lower case (`TICKET_STATE_PENDING_REMINDER` is
/// `pending_reminder`). Called once per enum, for a static.
pub(crate) fn proto_names<P: TryFrom<i32>>(
    prefix: &str,
    name: fn(&P) -> &'static str,
) -> Vec<(P, &'static str)> {
    (1..)
        .map_while(|i| P::try_from(i).ok())
        .map(|p| {
            let rest = name(&p).trim_start_matches(prefix).to_ascii_lowercase();
            (p, &*rest.leak())
        })
        .collect()
}

/// Reads one of a vocabulary's `names`, refusing others as serde refuses an unknown variant.
pub(crate) fn deserialize_name<'de, D: Deserializer<'de>>(
    deserializer: D,
    names: &'static [&'static str],
) -> Result<&'static str, D::Error> {
    let name = String::deserialize(deserializer)?;
    names
        .iter()
        .copied()
        .find(|n| *n == name)
        .ok_or_else(|| D::Error::unknown_variant(&name, names))
}
