//! A customer's own page: name, company and contact details changed.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::identity::v1 as ipb;

use super::{AdminQuery, Item, Section, back_to_list, choices, options_with, tenants};
use crate::web::portal::Choice;
use crate::web::{DeskForm, DeskPage, Page, Posted, Session, Texts, choices_of, failure, render};

#[derive(Template)]
#[template(path = "desk/admin_customer.html")]
struct CustomerPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    item: Item,
    customer: ipb::Customer,
    companies: Vec<Choice>,
    languages: Vec<Choice>,
}

/// One customer's details, to change them.
pub(super) async fn customer_page(
    Path(customer_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Result<Response, Response> {
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut identity = state.identity_admin(&s.principal);
        let customer = identity
            .get_customer(ipb::GetCustomerRequest { customer_id })
            .await?
            .into_inner();
        let companies = identity.companies(&tenant).await?;
        Ok::<_, tonic::Status>((tenant, customer, companies))
    }
    .await;
    let (tenant, customer, companies) =
        loaded.map_err(|status| failure(t, Some(&s), status.into()))?;
    let mut company_choices = choices([("", t.none)]);
    company_choices.extend(choices_of(&companies, &customer.company_id));
    let languages = options_with(
        &[("", t.none), ("de", "Deutsch"), ("en", "English")],
        &customer.language,
    );
    let page = CustomerPage {
        t,
        session: Some(&s),
        item: Item::new(
            t,
            Section::Customers,
            t.customer,
            &customer.id,
            &customer.name,
        ),
        tenant,
        customer,
        companies: company_choices,
        languages,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Saves a customer's details as the form left them; a new password only if one was typed.
pub(super) async fn customer_save(
    Path(customer_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let update = ipb::UpdateCustomerRequest {
        customer_id,
        name: Some(form.get("name").to_owned()),
        email: Some(form.get("email").to_owned()),
        phone: Some(form.get("phone").to_owned()),
        company_id: Some(form.get("company").to_owned()),
        company_tickets: Some(form.get("company_tickets") == "on"),
        language: Some(form.get("language").to_owned()),
        active: Some(form.get("active") == "on"),
        // Taken as typed: a password may begin or end with a space.
        password: form
            .all("password")
            .first()
            .filter(|p| !p.is_empty())
            .cloned(),
    };
    let saved = state
        .identity_admin(&s.principal)
        .update_customer(update)
        .await;
    back_to_list(
        t,
        &s,
        Section::Customers,
        saved.map(|_| query.tenant.unwrap_or_default()),
    )
}
