//! The mail channel over REST: a raw RFC 822 upload for scripts, the received messages with the
//! quarantine for installation administrators, and a received message's parts for the agents
//! who see its ticket.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::mail::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound, Unauthenticated};
use crate::error::{ApiBytes, ApiError, ApiPath, ApiQuery, Problem};
use crate::rest::{Reply, download, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_message))
        .routes(routes!(list_messages))
        .routes(routes!(get_message))
        .routes(routes!(get_raw))
        .routes(routes!(get_part))
        .routes(routes!(reprocess))
}

/// A received message and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundMessage {
    pub id: String,
    pub received_at: DateTime<Utc>,
    /// `lmtp`, `smtp`, `imap:<account>` or `upload`.
    pub source: String,
    pub message_id: String,
    pub sha256: String,
    pub size: u64,
    /// `pending`, `done`, `quarantined` or `refused`.
    pub state: String,
    /// Why it is quarantined or refused; for processed ones, what was repaired.
    pub reason: String,
    /// `new_ticket`, `follow_up` or `bounce`; empty until processed.
    pub outcome: String,
    pub ticket_id: String,
    pub article_id: String,
    pub sender: String,
    pub subject: String,
    pub attempts: u32,
    /// It was there before (the same Message-ID and content); nothing new was stored.
    pub duplicate: bool,
}

impl From<pb::InboundMessage> for InboundMessage {
    fn from(m: pb::InboundMessage) -> Self {
        Self {
            id: m.id,
            received_at: time(m.received_at_us),
            source: m.source,
            message_id: m.message_id,
            sha256: m.sha256,
            size: m.size,
            state: m.state,
            reason: m.reason,
            outcome: m.outcome,
            ticket_id: m.ticket_id,
            article_id: m.article_id,
            sender: m.sender,
            subject: m.subject,
            attempts: m.attempts,
            duplicate: m.duplicate,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SubmitQuery {
    /// Envelope recipients, comma-separated: they pick the queue before the headers do.
    pub to: Option<String>,
}

/// Takes a raw RFC 822 message as if it had arrived by mail (installation administrators; API
/// tokens need the `admin` scope). It is stored at once and processed in the background; the
/// same message twice is stored once.
#[utoipa::path(post, path = "/mail/messages", tag = "mail", params(SubmitQuery),
    request_body(content = Vec<u8>, content_type = "message/rfc822", description = "The message, byte for byte"),
    responses((status = 202, body = InboundMessage, description = "stored; processing follows"),
              (status = 200, body = InboundMessage, description = "stored before"),
              Unauthenticated, Forbidden, (status = 413, description = "larger than the mail service takes", body = Problem),
              Invalid))]
async fn submit_message(
    api: Api,
    ApiQuery(query): ApiQuery<SubmitQuery>,
    ApiBytes(raw): ApiBytes,
) -> Result<impl IntoResponse, ApiError> {
    let recipients = query
        .to
        .unwrap_or_default()
        .split(',')
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    let r = api
        .mail()
        .submit_message(pb::SubmitMessageRequest {
            raw: raw.to_vec(),
            recipients,
        })
        .await?
        .into_inner();
    let status = if r.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, axum::Json(InboundMessage::from(r))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessagePage {
    /// Only messages in this state: `pending`, `done`, `quarantined` or `refused`.
    pub state: Option<String>,
    /// 1 to 500; default 50.
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub items: Vec<InboundMessage>,
    /// Pass as `page_token` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// Received messages, newest first (installation administrators): `state=quarantined` is the
/// quarantine.
#[utoipa::path(get, path = "/admin/mail/messages", tag = "admin", params(MessagePage),
    responses((status = 200, body = MessageList), Unauthenticated, Forbidden, Invalid))]
async fn list_messages(api: Api, ApiQuery(page): ApiQuery<MessagePage>) -> Reply<MessageList> {
    let r = api
        .mail()
        .list_messages(pb::ListMessagesRequest {
            state: page.state.unwrap_or_default(),
            page_size: page.page_size.unwrap_or(0),
            page_token: page.page_token.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok(axum::Json(MessageList {
        items: r.messages.into_iter().map(InboundMessage::from).collect(),
        next_page_token: (!r.next_page_token.is_empty()).then_some(r.next_page_token),
    }))
}

async fn fetch(api: &Api, id: String) -> Result<pb::InboundMessage, ApiError> {
    Ok(api
        .mail()
        .get_message(pb::GetMessageRequest { id })
        .await?
        .into_inner())
}

/// One received message (installation administrators).
#[utoipa::path(get, path = "/admin/mail/messages/{message_id}", tag = "admin", params(("message_id" = String, Path)),
    responses((status = 200, body = InboundMessage), Unauthenticated, Forbidden, NotFound))]
async fn get_message(api: Api, ApiPath(message_id): ApiPath<String>) -> Reply<InboundMessage> {
    let mut m = fetch(&api, message_id).await?;
    m.raw = Vec::new();
    Ok(axum::Json(InboundMessage::from(m)))
}

/// The message exactly as it arrived, byte for byte (installation administrators).
#[utoipa::path(get, path = "/admin/mail/messages/{message_id}/raw", tag = "admin", params(("message_id" = String, Path)),
    responses((status = 200, content_type = "message/rfc822", body = Vec<u8>), Unauthenticated, Forbidden,
              NotFound))]
async fn get_raw(
    api: Api,
    ApiPath(message_id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let m = fetch(&api, message_id).await?;
    let disposition =
        header::HeaderValue::from_str(&format!("attachment; filename=\"{}.eml\"", m.id))
            .unwrap_or(header::HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("message/rfc822"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                header::HeaderValue::from_static("nosniff"),
            ),
        ],
        m.raw,
    ))
}

/// One part (attachment, inline image) of a received message, byte for byte. The parts a
/// mail's article could not take are named, with this address, in a note on its ticket: for
/// agents who may see that ticket, and installation administrators.
#[utoipa::path(get, path = "/mail/messages/{message_id}/parts/{index}", tag = "mail",
    params(("message_id" = String, Path), ("index" = u32, Path, description = "the part's place among the message's parts, from 0")),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
              Unauthenticated, Forbidden, NotFound, Invalid))]
async fn get_part(
    api: Api,
    ApiPath((message_id, index)): ApiPath<(String, u32)>,
) -> Result<impl IntoResponse, ApiError> {
    let part = api
        .mail()
        .get_message_part(pb::GetMessagePartRequest { message_id, index })
        .await?
        .into_inner();
    Ok(download(&part.filename, &part.content_type, part.content))
}

/// Processes a quarantined or refused message again, e.g. after a default queue was set or a
/// sender's flood was judged harmless (installation administrators).
#[utoipa::path(post, path = "/admin/mail/messages/{message_id}/reprocess", tag = "admin", params(("message_id" = String, Path)),
    responses((status = 202, body = InboundMessage), Unauthenticated, Forbidden, NotFound,
              (status = 409, description = "the message is not quarantined or refused", body = Problem)))]
async fn reprocess(
    api: Api,
    ApiPath(message_id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let r = api
        .mail()
        .reprocess_message(pb::GetMessageRequest { id: message_id })
        .await?
        .into_inner();
    Ok((StatusCode::ACCEPTED, axum::Json(InboundMessage::from(r))))
}
