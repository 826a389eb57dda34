//! The section pages (`/desk/admin/{section}`): what the tenant has of a kind, and a form that
//! adds to it.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use docket_proto::identity::v1 as ipb;
use docket_proto::ticket::v1 as pb;

use super::{
    AdminPage, AdminQuery, Field, Row, RowAction, Section, back_to_list, choices, chosen, field,
    list, names_with, permissions, sections_for, select, tenants,
};
use crate::AppState;
use crate::rest::vocabulary::{FieldKind, FollowUp, TemplateKind};
use crate::web::desk::{state_by_name, state_choices, state_name};
use crate::web::{
    DeskForm, DeskPage, Page, Posted, Session, Submitted, Texts, choices_of, error_page, failure,
    name_of, render,
};

pub(super) async fn index(Query(query): Query<AdminQuery>) -> Response {
    let tenant = query
        .tenant
        .map(|t| format!("?tenant={t}"))
        .unwrap_or_default();
    Redirect::to(&format!("/desk/admin/queues{tenant}")).into_response()
}

pub(super) async fn page(
    Path(section): Path<String>,
    Query(query): Query<AdminQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Response {
    let Some(section) = Section::parse(&section) else {
        return error_page(t, Some(&s), StatusCode::NOT_FOUND, t.not_found);
    };
    match build(&state, t, &s, section, query.tenant.as_deref()).await {
        Ok(page) => render(&page, StatusCode::OK),
        Err(status) => failure(t, Some(&s), status.into()),
    }
}

async fn build<'a>(
    state: &AppState,
    t: &'static Texts,
    s: &'a Session,
    section: Section,
    wanted: Option<&str>,
) -> Result<AdminPage<'a>, tonic::Status> {
    let p = &s.principal;
    if !sections_for(&p.claims).any(|x| x == section) {
        return Err(tonic::Status::permission_denied(
            "only an installation administrator creates and lists tenants",
        ));
    }
    let (tenant, tenant_choices) = tenants(state, s, wanted).await?;
    let mut ticket = state.tickets(p);
    let mut identity = state.identity_admin(p);
    let catalogue = pb::ListCatalogueRequest {
        tenant_id: tenant.clone(),
    };
    let yes_no = |b: bool| if b { t.yes } else { t.no }.to_owned();
    let (columns, rows, fields): (Vec<&'static str>, Vec<Row>, Vec<Field>) = match section {
        Section::Queues => {
            let groups = identity.groups(&tenant).await?;
            let queues = ticket.queues(&tenant).await?;
            let group_name = |id: &str| name_of(&groups, id);
            (
                vec![t.name, t.group, t.portal_queue, t.follow_up, t.addresses],
                queues
                    .iter()
                    .map(|q| Row {
                        cells: vec![
                            q.name.clone(),
                            group_name(&q.group_id),
                            yes_no(q.portal),
                            FollowUp::name_of(q.follow_up).to_owned(),
                            q.addresses.join(", "),
                        ],
                        action: Some(RowAction {
                            href: format!("/desk/admin/queues/{}?tenant={tenant}", q.id),
                            label: t.change,
                            post: false,
                        }),
                    })
                    .collect(),
                vec![
                    field("name", t.name, "text", true),
                    select("group", t.group, choices_of(&groups, ""), false),
                    field("portal", t.portal_queue, "checkbox", false),
                    select(
                        "follow_up",
                        t.follow_up,
                        names_with(FollowUp::all(), FollowUp::name, ""),
                        false,
                    ),
                    field("addresses", t.addresses, "text", false),
                    field("signature", t.signature, "textarea", false),
                ],
            )
        }
        Section::Services | Section::Types => {
            let entries = if section == Section::Services {
                ticket.list_services(catalogue).await?
            } else {
                ticket.list_ticket_types(catalogue).await?
            }
            .into_inner()
            .entries;
            if section == Section::Services {
                (
                    vec![t.name, t.portal_queue],
                    entries
                        .into_iter()
                        .map(|e| Row {
                            cells: vec![e.name, yes_no(e.portal)],
                            action: None,
                        })
                        .collect(),
                    vec![
                        field("name", t.name, "text", true),
                        Field {
                            checked: true,
                            ..field("portal", t.portal_queue, "checkbox", false)
                        },
                    ],
                )
            } else {
                (
                    vec![t.name],
                    entries
                        .into_iter()
                        .map(|e| Row {
                            cells: vec![e.name],
                            action: None,
                        })
                        .collect(),
                    vec![field("name", t.name, "text", true)],
                )
            }
        }
        Section::States => {
            let pb::ListStatesResponse { states, built_in } = ticket.states(&tenant).await?;
            (
                vec![t.name, t.base_state],
                states
                    .into_iter()
                    .map(|c| {
                        let base = t.ticket_state(&state_name(c.base())).to_owned();
                        Row {
                            cells: vec![c.name, base],
                            action: None,
                        }
                    })
                    .collect(),
                vec![
                    field("name", t.name, "text", true),
                    select(
                        "base",
                        t.base_state,
                        state_choices(t, built_in.iter().map(|b| b.state()), None),
                        false,
                    ),
                ],
            )
        }
        Section::Fields => {
            let fields = ticket.fields(&tenant).await?;
            (
                vec![t.key, t.label, t.kind, t.options],
                fields
                    .into_iter()
                    .map(|f| Row {
                        cells: vec![
                            f.key,
                            f.label,
                            FieldKind::name_of(f.kind).to_owned(),
                            f.options.join(", "),
                        ],
                        action: None,
                    })
                    .collect(),
                vec![
                    field("key", t.key, "text", true),
                    field("label", t.label, "text", true),
                    select(
                        "kind",
                        t.kind,
                        names_with(FieldKind::all(), FieldKind::name, ""),
                        false,
                    ),
                    field("options", t.options, "text", false),
                ],
            )
        }
        Section::Templates => {
            let templates = ticket
                .list_templates(pb::ListTemplatesRequest {
                    tenant_id: tenant.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .templates;
            (
                vec![t.name, t.kind, t.language, t.title],
                templates
                    .into_iter()
                    .map(|tpl| Row {
                        action: Some(RowAction {
                            href: format!("/desk/admin/templates/{}?tenant={tenant}", tpl.id),
                            label: t.change,
                            post: false,
                        }),
                        cells: vec![
                            tpl.name,
                            TemplateKind::name_of(tpl.kind).to_owned(),
                            tpl.language,
                            tpl.subject,
                        ],
                    })
                    .collect(),
                vec![
                    field("name", t.name, "text", true),
                    select(
                        "kind",
                        t.kind,
                        names_with(TemplateKind::all(), TemplateKind::name, ""),
                        false,
                    ),
                    select(
                        "language",
                        t.language,
                        choices([("", t.any), ("de", "Deutsch"), ("en", "English")]),
                        false,
                    ),
                    field("subject", t.title, "text", false),
                    field("body", t.body, "textarea", true),
                ],
            )
        }
        Section::Agents => {
            let roles = identity.roles(&tenant).await?;
            let agents = identity
                .list_agents(ipb::ListAgentsRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .agents;
            (
                vec![t.login, t.name, t.email, t.source, t.active],
                agents
                    .into_iter()
                    .map(|a| Row {
                        action: Some(RowAction {
                            href: format!("/desk/admin/agents/{}?tenant={tenant}", a.id),
                            label: t.change,
                            post: false,
                        }),
                        cells: vec![a.login, a.name, a.email, a.source, yes_no(a.active)],
                    })
                    .collect(),
                vec![
                    field("login", t.login, "text", true),
                    field("name", t.name, "text", true),
                    field("email", t.email, "email", false),
                    field("password", t.password, "password", true),
                    select("roles", t.roles, choices_of(&roles, ""), true),
                ],
            )
        }
        Section::Customers | Section::Companies => {
            let companies = identity.companies(&tenant).await?;
            if section == Section::Companies {
                (
                    vec![t.name],
                    companies
                        .into_iter()
                        .map(|c| Row {
                            cells: vec![c.name],
                            action: None,
                        })
                        .collect(),
                    vec![field("name", t.name, "text", true)],
                )
            } else {
                let customers = identity
                    .list_customers(ipb::ListCustomersRequest {
                        tenant_id: tenant.clone(),
                    })
                    .await?
                    .into_inner()
                    .customers;
                let company_name = |id: &str| name_of(&companies, id);
                let mut company_choices = choices([("", t.none)]);
                company_choices.extend(choices_of(&companies, ""));
                (
                    vec![t.login, t.name, t.email, t.company],
                    customers
                        .into_iter()
                        .map(|c| Row {
                            action: Some(RowAction {
                                href: format!("/desk/admin/customers/{}?tenant={tenant}", c.id),
                                label: t.change,
                                post: false,
                            }),
                            cells: vec![c.login, c.name, c.email, company_name(&c.company_id)],
                        })
                        .collect(),
                    vec![
                        field("login", t.login, "text", true),
                        field("name", t.name, "text", true),
                        field("email", t.email, "email", false),
                        field("password", t.password, "password", false),
                        select("company", t.company, company_choices, false),
                        field("company_tickets", t.company_tickets, "checkbox", false),
                    ],
                )
            }
        }
        Section::Groups => {
            let groups = identity.groups(&tenant).await?;
            (
                vec![t.name],
                groups
                    .into_iter()
                    .map(|g| Row {
                        cells: vec![g.name],
                        action: None,
                    })
                    .collect(),
                vec![field("name", t.name, "text", true)],
            )
        }
        Section::Roles => {
            let groups = identity.groups(&tenant).await?;
            let roles = identity.roles(&tenant).await?;
            let group_name = |id: &str| {
                groups
                    .iter()
                    .find(|g| g.id == id)
                    .map_or_else(|| id.to_owned(), |g| g.name.clone())
            };
            (
                vec![t.name, t.tenant_admin, t.permissions],
                roles
                    .into_iter()
                    .map(|r| Row {
                        cells: vec![
                            r.name,
                            yes_no(r.tenant_admin),
                            r.permissions
                                .iter()
                                .map(|g| {
                                    format!(
                                        "{}: {}",
                                        group_name(&g.group_id),
                                        g.permissions.join(" ")
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; "),
                        ],
                        action: Some(RowAction {
                            href: format!("/desk/admin/roles/{}?tenant={tenant}", r.id),
                            label: t.change,
                            post: false,
                        }),
                    })
                    .collect(),
                vec![
                    field("name", t.name, "text", true),
                    field("tenant_admin", t.tenant_admin, "checkbox", false),
                    select("group", t.group, choices_of(&groups, ""), false),
                    select(
                        "permissions",
                        t.permissions,
                        choices(permissions().map(|p| (p, p))),
                        true,
                    ),
                ],
            )
        }
        Section::Tenants => {
            let all = identity
                .list_tenants(ipb::ListTenantsRequest {})
                .await?
                .into_inner()
                .tenants;
            (
                vec![t.slug, t.name],
                all.into_iter()
                    .map(|x| Row {
                        cells: vec![x.slug, x.name],
                        action: None,
                    })
                    .collect(),
                vec![
                    field("slug", t.slug, "text", true),
                    field("name", t.name, "text", true),
                ],
            )
        }
    };
    Ok(AdminPage {
        t,
        session: Some(s),
        section: section.key(),
        title: section.title(t),
        sections: sections_for(&p.claims)
            .map(|x| (x.key(), x.title(t), x == section))
            .collect(),
        tenant,
        tenants: tenant_choices,
        columns,
        rows,
        fields,
    })
}

/// Adds an entry to a section; back to the section's page.
pub(super) async fn create(
    Path(section): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let Some(section) = Section::parse(&section) else {
        return error_page(t, Some(&s), StatusCode::NOT_FOUND, t.not_found);
    };
    let done = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        add(&state, &s, section, &tenant, &form).await?;
        Ok::<_, tonic::Status>(tenant)
    }
    .await;
    back_to_list(t, &s, section, done)
}

async fn add(
    state: &AppState,
    s: &Session,
    section: Section,
    tenant: &str,
    form: &Submitted,
) -> Result<(), tonic::Status> {
    let p = &s.principal;
    let mut ticket = state.tickets(p);
    let mut identity = state.identity_admin(p);
    let checked = |name: &str| form.get(name) == "on";
    let entry = || pb::CreateCatalogueEntryRequest {
        tenant_id: tenant.to_owned(),
        name: form.get("name").to_owned(),
        portal: Some(checked("portal")),
    };
    match section {
        Section::Queues => {
            ticket
                .create_queue(pb::CreateQueueRequest {
                    tenant_id: tenant.to_owned(),
                    name: form.get("name").to_owned(),
                    group_id: form.get("group").to_owned(),
                    portal: checked("portal"),
                    signature: form.get("signature").to_owned(),
                    follow_up: chosen(FollowUp::named, form.get("follow_up"), "follow-up policy")?
                        .to_pb(),
                    // The default (note); the queue's own page changes it.
                    automatic_mail: pb::AutomaticMail::Unspecified.into(),
                    addresses: list(form.get("addresses")),
                })
                .await?;
        }
        Section::Services => {
            ticket.create_service(entry()).await?;
        }
        Section::Types => {
            ticket.create_ticket_type(entry()).await?;
        }
        Section::States => {
            let base = state_by_name(form.get("base"))
                .ok_or_else(|| tonic::Status::invalid_argument("choose the state it behaves as"))?;
            ticket
                .define_state(pb::DefineStateRequest {
                    tenant_id: tenant.to_owned(),
                    name: form.get("name").to_owned(),
                    base: base.into(),
                })
                .await?;
        }
        Section::Fields => {
            ticket
                .define_field(pb::DefineFieldRequest {
                    tenant_id: tenant.to_owned(),
                    key: form.get("key").to_owned(),
                    label: form.get("label").to_owned(),
                    kind: chosen(FieldKind::named, form.get("kind"), "field kind")?.to_pb(),
                    options: form
                        .get("options")
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    queue_ids: Vec::new(),
                })
                .await?;
        }
        Section::Templates => {
            ticket
                .create_template(pb::CreateTemplateRequest {
                    tenant_id: tenant.to_owned(),
                    name: form.get("name").to_owned(),
                    kind: chosen(TemplateKind::named, form.get("kind"), "template kind")?.to_pb(),
                    subject: form.get("subject").to_owned(),
                    body: form.get("body").to_owned(),
                    queue_ids: Vec::new(),
                    language: form.get("language").to_owned(),
                })
                .await?;
        }
        Section::Agents => {
            identity
                .create_agent(ipb::CreateAgentRequest {
                    tenant_id: tenant.to_owned(),
                    login: form.get("login").to_owned(),
                    name: form.get("name").to_owned(),
                    email: form.get("email").to_owned(),
                    password: form.get("password").to_owned(),
                    role_ids: form.all("roles").to_vec(),
                })
                .await?;
        }
        Section::Customers => {
            identity
                .create_customer(ipb::CreateCustomerRequest {
                    tenant_id: tenant.to_owned(),
                    login: form.get("login").to_owned(),
                    name: form.get("name").to_owned(),
                    email: form.get("email").to_owned(),
                    company_id: form.get("company").to_owned(),
                    company_tickets: checked("company_tickets"),
                    password: form.get("password").to_owned(),
                    ..Default::default()
                })
                .await?;
        }
        Section::Companies => {
            identity
                .create_company(ipb::CreateCompanyRequest {
                    tenant_id: tenant.to_owned(),
                    name: form.get("name").to_owned(),
                })
                .await?;
        }
        Section::Groups => {
            identity
                .create_group(ipb::CreateGroupRequest {
                    tenant_id: tenant.to_owned(),
                    name: form.get("name").to_owned(),
                })
                .await?;
        }
        Section::Roles => {
            let permissions = form.all("permissions").to_vec();
            identity
                .create_role(ipb::CreateRoleRequest {
                    tenant_id: tenant.to_owned(),
                    name: form.get("name").to_owned(),
                    tenant_admin: checked("tenant_admin"),
                    permissions: (!permissions.is_empty())
                        .then(|| ipb::GroupPermissions {
                            group_id: form.get("group").to_owned(),
                            permissions,
                        })
                        .into_iter()
                        .collect(),
                })
                .await?;
        }
        Section::Tenants => {
            identity
                .create_tenant(ipb::CreateTenantRequest {
                    slug: form.get("slug").to_owned(),
                    name: form.get("name").to_owned(),
                })
                .await?;
        }
    }
    Ok(())
}
