//! Templates (canned answers) over REST: a tenant's templates, those offered for a ticket, and
//! one filled in for a ticket.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use docket_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Conflict, Forbidden, Invalid, NotFound};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Reply;
use crate::rest::vocabulary::TemplateKind;
use crate::rest::{Items, time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_template, list_templates))
        .routes(routes!(update_template, delete_template))
        .routes(routes!(ticket_templates))
        .routes(routes!(render_template))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Template {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub kind: Option<TemplateKind>,
    pub subject: String,
    pub body: String,
    /// The queues it is offered in; empty: all of the tenant's.
    pub queue_ids: Vec<String>,
    /// The language it is written in (`de`, `en`); empty for any. Automatic confirmations use
    /// the acceptance template in the customer's language.
    pub language: String,
    pub created_at: DateTime<Utc>,
}

impl From<pb::Template> for Template {
    fn from(t: pb::Template) -> Self {
        Self {
            id: t.id,
            tenant_id: t.tenant_id,
            name: t.name,
            kind: TemplateKind::from_pb(t.kind),
            subject: t.subject,
            body: t.body,
            queue_ids: t.queue_ids,
            language: t.language,
            created_at: time(t.created_at_us),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    pub name: String,
    pub kind: TemplateKind,
    #[serde(default)]
    pub subject: String,
    /// May use `{{ticket.number}}`, `{{ticket.title}}`, `{{ticket.state}}`, `{{customer.name}}`,
    /// `{{customer.email}}`, `{{queue.name}}`, `{{agent.login}}`.
    #[schema(
        example = "Dear {{customer.name}},\n\nwe have received your request {{ticket.number}}."
    )]
    pub body: String,
    #[serde(default)]
    pub queue_ids: Vec<String>,
    /// `de`, `en`, …; empty (the default) for any language.
    #[serde(default)]
    pub language: String,
}

/// Adds a template to the tenant (the tenant's administrators).
#[utoipa::path(post, path = "/tenants/{tenant_id}/templates", tag = "tenants", request_body = NewTemplate,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Template), Forbidden, NotFound,
              Conflict, (status = 422, description = "unknown variable, no body", body = Problem)))]
async fn create_template(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewTemplate>,
) -> Result<impl IntoResponse, ApiError> {
    let req = pb::CreateTemplateRequest {
        tenant_id,
        name: body.name,
        kind: body.kind.to_pb(),
        subject: body.subject,
        body: body.body,
        queue_ids: body.queue_ids,
        language: body.language,
    };
    let template = api.tickets().create_template(req).await?.into_inner();
    Ok((StatusCode::CREATED, axum::Json(Template::from(template))))
}

/// The tenant's templates, by name (its agents).
#[utoipa::path(get, path = "/tenants/{tenant_id}/templates", tag = "tenants", params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Template>), Forbidden, NotFound))]
async fn list_templates(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Template>> {
    templates(
        &api,
        pb::ListTemplatesRequest {
            tenant_id,
            ticket_id: String::new(),
        },
    )
    .await
}

/// The templates offered in the ticket's queue (agents who see the ticket).
#[utoipa::path(get, path = "/tickets/{ticket_id}/templates", tag = "tickets", params(("ticket_id" = String, Path)),
    responses((status = 200, body = Items<Template>), Forbidden, NotFound))]
async fn ticket_templates(api: Api, ApiPath(ticket_id): ApiPath<String>) -> Reply<Items<Template>> {
    templates(
        &api,
        pb::ListTemplatesRequest {
            tenant_id: String::new(),
            ticket_id,
        },
    )
    .await
}

async fn templates(api: &Api, req: pb::ListTemplatesRequest) -> Reply<Items<Template>> {
    let r = api.tickets().list_templates(req).await?.into_inner();
    Items::of(r.templates)
}

/// Replaces a template's name, kind, texts, queues and language (the tenant's administrators).
#[utoipa::path(put, path = "/templates/{template_id}", tag = "tenants", request_body = NewTemplate,
    params(("template_id" = String, Path)),
    responses((status = 200, body = Template), Forbidden, NotFound,
              (status = 409, description = "name taken", body = Problem),
              (status = 422, description = "unknown variable, no body", body = Problem)))]
async fn update_template(
    api: Api,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewTemplate>,
) -> Reply<Template> {
    let req = pb::UpdateTemplateRequest {
        id,
        name: body.name,
        kind: body.kind.to_pb(),
        subject: body.subject,
        body: body.body,
        queue_ids: body.queue_ids,
        language: body.language,
    };
    let template = api.tickets().update_template(req).await?.into_inner();
    Ok(axum::Json(Template::from(template)))
}

/// Deletes a template (the tenant's administrators).
#[utoipa::path(delete, path = "/templates/{template_id}", tag = "tenants", params(("template_id" = String, Path)),
    responses((status = 204), Forbidden, NotFound, Invalid))]
async fn delete_template(api: Api, ApiPath(id): ApiPath<String>) -> Result<StatusCode, ApiError> {
    api.tickets()
        .delete_template(pb::DeleteTemplateRequest { id })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rendered {
    pub subject: String,
    /// Answers end with the queue's signature.
    pub body: String,
}

/// A template filled in for the ticket: its number, title and state, the customer's name and
/// address, the queue's name, the calling agent; answers get the queue's signature.
#[utoipa::path(post, path = "/tickets/{ticket_id}/templates/{template_id}/render", tag = "tickets",
    params(("ticket_id" = String, Path), ("template_id" = String, Path)),
    responses((status = 200, body = Rendered), Forbidden, NotFound,
              Invalid))]
async fn render_template(
    api: Api,
    ApiPath((ticket_id, template_id)): ApiPath<(String, String)>,
) -> Reply<Rendered> {
    let r = api
        .tickets()
        .render_template(pb::RenderTemplateRequest {
            template_id,
            ticket_id,
        })
        .await?
        .into_inner();
    Ok(axum::Json(Rendered {
        subject: r.subject,
        body: r.body,
    }))
}
