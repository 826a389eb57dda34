//! A ticket's articles (`/tickets/{id}/articles`): answers, notes and calls with their
//! attachments and delivery state, and the attachments' content.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Items, download, time};
use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound, TooLarge};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::rest::Reply;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_article, list_articles))
        .routes(routes!(get_attachment))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Customer,
    Agent,
    System,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Phone,
    Portal,
    Note,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    pub sender: Sender,
    pub channel: Channel,
    /// Whether the customer sees it; internal notes are not visible.
    #[serde(default)]
    pub visible_to_customer: bool,
    #[serde(default)]
    pub subject: String,
    pub body: String,
    /// At most 20 files, 10 MiB each and 20 MiB together.
    #[serde(default)]
    pub attachments: Vec<NewAttachment>,
    /// Time spent on it, in minutes (agents' time accounting).
    #[serde(default)]
    pub time_minutes: u32,
    /// A retry with the same key returns the article the first request made, instead of a
    /// second one (at most 200 characters).
    #[serde(default)]
    pub idempotency_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    #[schema(example = "error.log")]
    pub filename: String,
    /// What the file says it is; the bytes decide what it is served as.
    #[serde(default)]
    pub content_type: String,
    /// The file's bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
}

impl NewArticle {
    pub(super) fn into_pb(self) -> Result<pb::NewArticle, ApiError> {
        use base64::Engine as _;
        let attachments = self
            .attachments
            .into_iter()
            .map(|a| {
                let content = base64::engine::general_purpose::STANDARD
                    .decode(a.content_base64.trim())
                    .map_err(|_| ApiError::BadRequest {
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                        detail: format!(
                            "attachment `{}`: content_base64 is not base64",
                            a.filename
                        ),
                    })?;
                Ok(pb::NewAttachment {
                    filename: a.filename,
                    content_type: a.content_type,
                    content,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(pb::NewArticle {
            sender: match self.sender {
                Sender::Customer => pb::SenderType::Customer,
                Sender::Agent => pb::SenderType::Agent,
                Sender::System => pb::SenderType::System,
            }
            .into(),
            channel: match self.channel {
                Channel::Email => pb::Channel::Email,
                Channel::Phone => pb::Channel::Phone,
                Channel::Portal => pb::Channel::Portal,
                Channel::Note => pb::Channel::Note,
            }
            .into(),
            visible_to_customer: self.visible_to_customer,
            subject: self.subject,
            body: self.body,
            attachments,
            time_minutes: self.time_minutes,
            idempotency_key: self.idempotency_key,
            automatic: false,
        })
    }
}

/// An attachment of an article, without its bytes (`GET /attachments/{id}` has them).
#[derive(Debug, Serialize, ToSchema)]
pub struct Attachment {
    pub id: String,
    pub filename: String,
    /// What the bytes are, which it is served as.
    pub content_type: String,
    /// What the sender said it was.
    pub declared_type: String,
    pub size: u64,
    pub sha256: String,
}

impl From<pb::Attachment> for Attachment {
    fn from(a: pb::Attachment) -> Self {
        Self {
            id: a.id,
            filename: a.filename,
            content_type: a.content_type,
            declared_type: a.declared_type,
            size: a.size,
            sha256: a.sha256,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Article {
    pub id: String,
    pub ticket_id: String,
    pub sender: Option<Sender>,
    pub channel: Option<Channel>,
    pub visible_to_customer: bool,
    pub subject: String,
    pub body: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
    /// Time spent on it, in minutes.
    pub time_minutes: u32,
    /// How the mail it went out as fares (articles sent by mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// The state of the mail an article went out as.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// `queued`, `retrying`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    /// The receiving server's last answer, or the error.
    pub detail: String,
    pub message_id: String,
    pub to: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<pb::Delivery> for Delivery {
    fn from(d: pb::Delivery) -> Self {
        Self {
            state: d.state,
            attempts: d.attempts,
            detail: d.detail,
            message_id: d.message_id,
            to: d.to,
            updated_at: time(d.updated_at_us),
        }
    }
}

impl From<pb::Article> for Article {
    fn from(a: pb::Article) -> Self {
        Self {
            sender: match pb::SenderType::try_from(a.sender) {
                Ok(pb::SenderType::Customer) => Some(Sender::Customer),
                Ok(pb::SenderType::Agent) => Some(Sender::Agent),
                Ok(pb::SenderType::System) => Some(Sender::System),
                _ => None,
            },
            channel: match pb::Channel::try_from(a.channel) {
                Ok(pb::Channel::Email) => Some(Channel::Email),
                Ok(pb::Channel::Phone) => Some(Channel::Phone),
                Ok(pb::Channel::Portal) => Some(Channel::Portal),
                Ok(pb::Channel::Note) => Some(Channel::Note),
                _ => None,
            },
            id: a.id,
            ticket_id: a.ticket_id,
            visible_to_customer: a.visible_to_customer,
            subject: a.subject,
            body: a.body,
            author: a.author,
            created_at: time(a.created_at_us),
            attachments: a.attachments.into_iter().map(Attachment::from).collect(),
            time_minutes: a.time_minutes,
            delivery: a.delivery.map(Delivery::from),
        }
    }
}

/// Adds an article (a reply, a note, a phone call) to a ticket. An internal note needs the
/// `note` permission, an article the customer sees `rw`; a customer's article is always theirs
/// and visible to them.
#[utoipa::path(post, path = "/tickets/{ticket_id}/articles", tag = "tickets", request_body = NewArticle,
    params(("ticket_id" = String, Path)),
    responses((status = 201, body = Article), Forbidden, NotFound, TooLarge,
              Invalid))]
async fn add_article(
    api: Api,
    ApiPath(ticket_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewArticle>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::AddArticleRequest {
        ticket_id,
        article: Some(body.into_pb()?),
    };
    let a = api.tickets().add_article(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(Article::from(a))))
}

/// Lists a ticket's articles, oldest first (customers: only those visible to them).
#[utoipa::path(get, path = "/tickets/{ticket_id}/articles", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = Items<Article>), NotFound))]
async fn list_articles(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Reply<Items<Article>> {
    Items::of(api.tickets().articles(&ticket_id).await?)
}

/// An attachment's bytes, served as what they are (`Content-Disposition: attachment`, never
/// sniffed by the browser); for whoever sees its article.
#[utoipa::path(get, path = "/attachments/{attachment_id}", tag = "tickets", params(("attachment_id" = String, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
              NotFound, Invalid))]
async fn get_attachment(
    api: Api,
    ApiPath(attachment_id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let r = api
        .tickets()
        .get_attachment(pb::GetAttachmentRequest { attachment_id })
        .await?
        .into_inner();
    let meta = r.attachment.unwrap_or_default();
    Ok(download(&meta.filename, &meta.content_type, r.content))
}
