//! A template's own page: its text and kind changed, or the template deleted.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::ticket::v1 as pb;

use super::{AdminQuery, Item, Section, back_to_list, chosen, names_with, options_with, tenants};
use crate::rest::vocabulary::TemplateKind;
use crate::web::portal::Choice;
use crate::web::{DeskForm, DeskPage, Page, Posted, Session, Texts, failure, render};

pub(super) async fn delete_template(
    Path(id): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted { state, s, t, .. }: DeskForm,
) -> Response {
    let saved = state
        .tickets(&s.principal)
        .delete_template(pb::DeleteTemplateRequest { id })
        .await;
    back_to_list(
        t,
        &s,
        Section::Templates,
        saved.map(|_| query.tenant.unwrap_or_default()),
    )
}

#[derive(Template)]
#[template(path = "desk/admin_template.html")]
struct TemplatePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    item: Item,
    template: pb::Template,
    kinds: Vec<Choice>,
    languages: Vec<Choice>,
    /// The tenant's queues, ticked where the template is offered.
    queues: Vec<Choice>,
}

/// One template, to change (or delete) it.
pub(super) async fn template_page(
    Path(template_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Result<Response, Response> {
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut ticket = state.tickets(&s.principal);
        let template = ticket
            .list_templates(pb::ListTemplatesRequest {
                tenant_id: tenant.clone(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .templates
            .into_iter()
            .find(|tpl| tpl.id == template_id)
            .ok_or_else(|| tonic::Status::not_found("template not found"))?;
        let queues = ticket.queues(&tenant).await?;
        Ok::<_, tonic::Status>((tenant, template, queues))
    }
    .await;
    let (tenant, template, queues) =
        loaded.map_err(|status| failure(t, Some(&s), status.into()))?;
    let page = TemplatePage {
        t,
        session: Some(&s),
        item: Item::new(
            t,
            Section::Templates,
            t.template,
            &template.id,
            &template.name,
        ),
        tenant,
        kinds: names_with(
            TemplateKind::all(),
            TemplateKind::name,
            TemplateKind::name_of(template.kind),
        ),
        languages: options_with(
            &[("", t.any), ("de", "Deutsch"), ("en", "English")],
            &template.language,
        ),
        queues: queues
            .into_iter()
            .map(|q| Choice {
                selected: template.queue_ids.contains(&q.id),
                value: q.id,
                label: q.name,
            })
            .collect(),
        template,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Saves a template as the form left it.
pub(super) async fn template_save(
    Path(id): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let saved = async {
        let update = pb::UpdateTemplateRequest {
            id,
            name: form.get("name").to_owned(),
            kind: chosen(TemplateKind::named, form.get("kind"), "template kind")?.to_pb(),
            subject: form.get("subject").to_owned(),
            body: form.get("body").to_owned(),
            queue_ids: form.all("queues").to_vec(),
            language: form.get("language").to_owned(),
        };
        state.tickets(&s.principal).update_template(update).await
    }
    .await;
    back_to_list(
        t,
        &s,
        Section::Templates,
        saved.map(|_| query.tenant.unwrap_or_default()),
    )
}
