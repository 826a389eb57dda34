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
pub mod timestamp;
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

/// A file's bytes as a download: served as what they are (`Content-Disposition: attachment`,
/// never sniffed by the browser), under its name; active content ([`served_type`]) only as
/// bytes to save.
pub(crate) fn download(
    filename: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> impl axum::response::IntoResponse + use<> {
    use axum::http::header;
    let content_type = header::HeaderValue::from_str(served_type(content_type))
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    let disposition = header::HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        percent_encode(filename)
    ))
    .unwrap_or(header::HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                header::HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
}

/// The type a file is served as: its own, except for content a browser would run or show as a
/// page of this origin if it ever opened it (HTML, SVG, XML, scripts), which is served as
/// `application/octet-stream`: whoever sent it, it is only ever saved.
fn served_type(content_type: &str) -> &str {
    const ACTIVE: &[&str] = &[
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "application/wasm",
        "multipart/x-mixed-replace",
    ];
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if ACTIVE.contains(&mime.as_str()) || mime.ends_with("+xml") || !mime.contains('/') {
        "application/octet-stream"
    } else {
        content_type
    }
}

/// Percent-encoding of a file name (RFC 8187) or a query value: unreserved characters as they
/// are, the rest as %XX.
pub(crate) fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl<T> Items<T> {
    /// The services' messages as a JSON list of their representations.
    pub(crate) fn of<M: Into<T>>(messages: Vec<M>) -> Reply<Self> {
        Ok(axum::Json(Self {
            items: messages.into_iter().map(Into::into).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_content_is_served_as_bytes_to_save() {
        for active in [
            "text/html",
            "text/html; charset=utf-8",
            "TEXT/HTML",
            "image/svg+xml",
            "application/xhtml+xml",
            "application/rss+xml",
            "text/xml",
            "text/javascript; charset=utf-8",
            "",
            "html",
        ] {
            assert_eq!(served_type(active), "application/octet-stream", "{active}");
        }
        for passive in [
            "text/plain; charset=iso-8859-1",
            "application/pdf",
            "image/png",
            "message/rfc822",
        ] {
            assert_eq!(served_type(passive), passive);
        }
    }
}
