//! The desk's administration pages for tenant administrators (and installation administrators):
//! queues, services, ticket types, states, custom fields, templates, agents, customers,
//! companies, groups, roles and tenants. Each page lists what the tenant has and offers a form to
//! add to it; the services decide who may, exactly as for the REST API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use docket_proto::identity::v1 as ipb;
use docket_proto::ticket::v1 as pb;
use serde::Deserialize;

use super::desk::{STATES, state_choices, state_name};
use super::portal::Choice;
use super::{
    AgentForm, AgentSession, LangQuery, Session, Submitted, Texts, choices_of, error_page, failure,
    name_of, render, texts,
};
use crate::AppState;

/// What a role or an agent may do in a group's queues, as identity names it.
const PERMISSIONS: [&str; 7] = [
    "ro",
    "move_into",
    "create",
    "note",
    "owner",
    "priority",
    "rw",
];

/// The kinds of template, as ticket core names them.
const TEMPLATE_KINDS: [(&str, &str); 3] = [
    ("answer", "answer"),
    ("acceptance", "acceptance"),
    ("note", "note"),
];

/// The administration's sections, in the order the navigation shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Queues,
    Services,
    Types,
    States,
    Fields,
    Templates,
    Agents,
    Customers,
    Companies,
    Groups,
    Roles,
    Tenants,
}

impl Section {
    const ALL: [Self; 12] = [
        Self::Queues,
        Self::Services,
        Self::Types,
        Self::States,
        Self::Fields,
        Self::Templates,
        Self::Agents,
        Self::Customers,
        Self::Companies,
        Self::Groups,
        Self::Roles,
        Self::Tenants,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::Queues => "queues",
            Self::Services => "services",
            Self::Types => "types",
            Self::States => "states",
            Self::Fields => "fields",
            Self::Templates => "templates",
            Self::Agents => "agents",
            Self::Customers => "customers",
            Self::Companies => "companies",
            Self::Groups => "groups",
            Self::Roles => "roles",
            Self::Tenants => "tenants",
        }
    }

    fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    fn title(self, t: &Texts) -> &'static str {
        match self {
            Self::Queues => t.queues,
            Self::Services => t.services,
            Self::Types => t.ticket_types,
            Self::States => t.states,
            Self::Fields => t.custom_fields,
            Self::Templates => t.templates,
            Self::Agents => t.agents,
            Self::Customers => t.customers,
            Self::Companies => t.companies,
            Self::Groups => t.groups,
            Self::Roles => t.roles,
            Self::Tenants => t.tenants,
        }
    }
}

#[derive(Template)]
#[template(path = "desk/admin.html")]
struct AdminPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    section: &'static str,
    title: &'static str,
    sections: Vec<(&'static str, &'static str, bool)>,
    tenant: String,
    tenants: Vec<Choice>,
    columns: Vec<&'static str>,
    rows: Vec<Row>,
    fields: Vec<Field>,
}

struct Row {
    cells: Vec<String>,
    /// What can be done to the entry from its row.
    action: Option<RowAction>,
}

/// A row's action: a link to a page of its own, or a button posting to `href`.
struct RowAction {
    href: String,
    label: &'static str,
    post: bool,
}

/// A field of the form that adds an entry.
struct Field {
    name: &'static str,
    label: &'static str,
    /// text, email, password, textarea, select, multi or checkbox.
    kind: &'static str,
    options: Vec<Choice>,
    required: bool,
    /// Checkboxes: ticked at first.
    checked: bool,
}

fn field(name: &'static str, label: &'static str, kind: &'static str, required: bool) -> Field {
    Field {
        name,
        label,
        kind,
        options: Vec::new(),
        required,
        checked: false,
    }
}

fn select(name: &'static str, label: &'static str, options: Vec<Choice>, multi: bool) -> Field {
    Field {
        name,
        label,
        kind: if multi { "multi" } else { "select" },
        options,
        required: !multi,
        checked: false,
    }
}

fn choices<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Choice> {
    pairs
        .into_iter()
        .map(|(value, label)| Choice {
            value: value.to_owned(),
            label: label.to_owned(),
            selected: false,
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct AdminQuery {
    #[serde(flatten)]
    lang: LangQuery,
    tenant: Option<String>,
}

/// The tenants the agent administers (every tenant for an installation administrator), and the
/// one the page is about.
async fn tenants(
    state: &AppState,
    s: &Session,
    wanted: Option<&str>,
) -> Result<(String, Vec<Choice>), tonic::Status> {
    let claims = &s.principal.claims;
    let all = state
        .identity_admin(&s.principal)
        .list_tenants(ipb::ListTenantsRequest {})
        .await?
        .into_inner()
        .tenants;
    let mine: Vec<ipb::Tenant> = all
        .into_iter()
        .filter(|t| claims.is_installation_admin() || claims.is_admin_of(&t.id))
        .collect();
    let chosen = wanted
        .filter(|w| mine.iter().any(|t| t.id == *w))
        .map(str::to_owned)
        .or_else(|| mine.first().map(|t| t.id.clone()))
        .ok_or_else(|| tonic::Status::permission_denied("you administer no tenant"))?;
    let options = choices_of(&mine, &chosen);
    Ok((chosen, options))
}

async fn index(Query(query): Query<AdminQuery>) -> Response {
    let tenant = query
        .tenant
        .map(|t| format!("?tenant={t}"))
        .unwrap_or_default();
    Redirect::to(&format!("/desk/admin/queues{tenant}")).into_response()
}

async fn page(
    State(state): State<AppState>,
    Path(section): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let lang = &query.lang;
    let t = texts(lang, &headers);
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
    let (tenant, tenant_choices) = tenants(state, s, wanted).await?;
    let p = &s.principal;
    let mut ticket = state.tickets(p);
    let mut identity = state.identity_admin(p);
    let catalogue = pb::ListCatalogueRequest {
        tenant_id: tenant.clone(),
    };
    let groups = || async {
        Ok::<_, tonic::Status>(
            state
                .identity_admin(p)
                .list_groups(ipb::ListGroupsRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .groups,
        )
    };
    let yes_no = |b: bool| if b { t.yes } else { t.no }.to_owned();
    let (columns, rows, fields): (Vec<&'static str>, Vec<Row>, Vec<Field>) = match section {
        Section::Queues => {
            let groups = groups().await?;
            let queues = ticket
                .list_queues(pb::ListQueuesRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .queues;
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
                            q.follow_up.clone(),
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
                        choices([
                            ("reopen", "reopen"),
                            ("new_ticket", "new_ticket"),
                            ("reject", "reject"),
                        ]),
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
            let states = ticket
                .list_states(pb::ListStatesRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .states;
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
                    select("base", t.base_state, state_choices(t, STATES, None), false),
                ],
            )
        }
        Section::Fields => {
            let fields = ticket
                .list_fields(pb::ListFieldsRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .fields;
            (
                vec![t.key, t.label, t.kind, t.options],
                fields
                    .into_iter()
                    .map(|f| Row {
                        cells: vec![f.key, f.label, f.kind, f.options.join(", ")],
                        action: None,
                    })
                    .collect(),
                vec![
                    field("key", t.key, "text", true),
                    field("label", t.label, "text", true),
                    select(
                        "kind",
                        t.kind,
                        choices([
                            ("text", "text"),
                            ("number", "number"),
                            ("date", "date"),
                            ("single_select", "single_select"),
                            ("multi_select", "multi_select"),
                            ("checkbox", "checkbox"),
                        ]),
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
                        cells: vec![tpl.name, tpl.kind, tpl.language, tpl.subject],
                    })
                    .collect(),
                vec![
                    field("name", t.name, "text", true),
                    select("kind", t.kind, options_with(&TEMPLATE_KINDS, ""), false),
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
            let roles = identity
                .list_roles(ipb::ListRolesRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .roles;
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
            let companies = identity
                .list_companies(ipb::ListCompaniesRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .companies;
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
            let groups = groups().await?;
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
            let groups = groups().await?;
            let roles = identity
                .list_roles(ipb::ListRolesRequest {
                    tenant_id: tenant.clone(),
                })
                .await?
                .into_inner()
                .roles;
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
                        choices(PERMISSIONS.map(|p| (p, p))),
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
        sections: Section::ALL
            .into_iter()
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
async fn create(
    State(state): State<AppState>,
    Path(section): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let lang = &query.lang;
    let t = texts(lang, &headers);
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

/// A list field given as `a, b c`: its entries.
fn list(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
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
                    follow_up: form.get("follow_up").to_owned(),
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
            let base = STATES
                .into_iter()
                .find(|st| state_name(*st) == form.get("base"))
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
                    kind: form.get("kind").to_owned(),
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
                    kind: form.get("kind").to_owned(),
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

/// Where a saved form goes: back to its section's list in the tenant (`Ok` carries it), or to
/// the page saying what went wrong.
fn back_to_list(
    t: &'static Texts,
    s: &Session,
    section: Section,
    saved: Result<String, tonic::Status>,
) -> Response {
    match saved {
        Ok(tenant) => {
            Redirect::to(&format!("/desk/admin/{}?tenant={tenant}", section.key())).into_response()
        }
        Err(status) => failure(t, Some(s), status.into()),
    }
}

async fn delete_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, _): AgentForm,
) -> Response {
    let t = texts(&LangQuery::default(), &headers);
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
#[template(path = "desk/admin_queue.html")]
struct QueuePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    queue: pb::Queue,
    groups: Vec<Choice>,
    follow_ups: Vec<Choice>,
}

/// One queue's settings, to change them.
async fn queue_page(
    State(state): State<AppState>,
    Path(queue_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let lang = &query.lang;
    let t = texts(lang, &headers);
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let queue = state
            .tickets(&s.principal)
            .list_queues(pb::ListQueuesRequest {
                tenant_id: tenant.clone(),
            })
            .await?
            .into_inner()
            .queues
            .into_iter()
            .find(|q| q.id == queue_id)
            .ok_or_else(|| tonic::Status::not_found("queue not found"))?;
        let groups = state
            .identity_admin(&s.principal)
            .list_groups(ipb::ListGroupsRequest {
                tenant_id: tenant.clone(),
            })
            .await?
            .into_inner()
            .groups;
        Ok::<_, tonic::Status>((tenant, queue, groups))
    }
    .await;
    let (tenant, queue, groups) = match loaded {
        Ok(l) => l,
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let follow_up = if queue.follow_up.is_empty() {
        "reopen"
    } else {
        queue.follow_up.as_str()
    };
    let page = QueuePage {
        t,
        session: Some(&s),
        groups: choices_of(&groups, &queue.group_id),
        follow_ups: ["reopen", "new_ticket", "reject"]
            .into_iter()
            .map(|f| Choice {
                value: f.to_owned(),
                label: f.to_owned(),
                selected: f == follow_up,
            })
            .collect(),
        tenant,
        queue,
    };
    render(&page, StatusCode::OK)
}

/// Saves a queue's settings as the form left them.
async fn queue_save(
    State(state): State<AppState>,
    Path(queue_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&LangQuery::default(), &headers);
    let update = pb::UpdateQueueRequest {
        queue_id,
        group_id: Some(form.get("group").to_owned()),
        portal: Some(form.get("portal") == "on"),
        signature: Some(form.get("signature").to_owned()),
        follow_up: Some(form.get("follow_up").to_owned()),
        set_addresses: true,
        addresses: list(form.get("addresses")),
    };
    let saved = state.tickets(&s.principal).update_queue(update).await;
    back_to_list(
        t,
        &s,
        Section::Queues,
        saved.map(|_| query.tenant.unwrap_or_default()),
    )
}

#[derive(Template)]
#[template(path = "desk/admin_agent.html")]
struct AgentPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    agent: ipb::Agent,
    /// The tenant's roles, ticked where the agent has them.
    roles: Vec<Choice>,
}

/// The roles an agent has in a tenant.
fn roles_in(agent: &ipb::Agent, tenant: &str) -> Vec<String> {
    agent
        .memberships
        .iter()
        .filter(|m| m.tenant_id == tenant)
        .flat_map(|m| m.role_ids.iter().cloned())
        .collect()
}

/// One agent: their roles in the tenant, whether they may sign in, a new password.
async fn agent_page(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let t = texts(&query.lang, &headers);
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut identity = state.identity_admin(&s.principal);
        let found = identity
            .get_agent(ipb::GetAgentRequest { agent_id })
            .await?
            .into_inner();
        let roles = identity
            .list_roles(ipb::ListRolesRequest {
                tenant_id: tenant.clone(),
            })
            .await?
            .into_inner()
            .roles;
        Ok::<_, tonic::Status>((tenant, found, roles))
    }
    .await;
    let (tenant, found, roles) = match loaded {
        Ok(l) => l,
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let has = roles_in(&found, &tenant);
    let page = AgentPage {
        t,
        session: Some(&s),
        roles: roles
            .iter()
            .map(|r| Choice {
                value: r.id.clone(),
                label: r.name.clone(),
                selected: has.contains(&r.id),
            })
            .collect(),
        tenant,
        agent: found,
    };
    render(&page, StatusCode::OK)
}

/// Saves an agent as the form left them: grants the roles newly ticked and revokes those
/// unticked, sets a new password if one was given, and lets them sign in or no longer.
async fn agent_save(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&LangQuery::default(), &headers);
    let saved = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut identity = state.identity_admin(&s.principal);
        let found = identity
            .get_agent(ipb::GetAgentRequest {
                agent_id: agent_id.clone(),
            })
            .await?
            .into_inner();
        let had = roles_in(&found, &tenant);
        let wanted = form.all("roles");
        for role_id in wanted.iter().filter(|r| !had.contains(r)) {
            identity
                .assign_role(ipb::AgentRoleRequest {
                    agent_id: agent_id.clone(),
                    role_id: role_id.clone(),
                })
                .await?;
        }
        for role_id in had.iter().filter(|r| !wanted.contains(r)) {
            identity
                .revoke_role(ipb::AgentRoleRequest {
                    agent_id: agent_id.clone(),
                    role_id: role_id.clone(),
                })
                .await?;
        }
        // Taken as typed: a password may begin or end with a space.
        if let Some(password) = form.all("password").first().filter(|p| !p.is_empty()) {
            identity
                .set_agent_password(ipb::SetAgentPasswordRequest {
                    agent_id: agent_id.clone(),
                    password: password.clone(),
                })
                .await?;
        }
        let active = form.get("active") == "on";
        if active != found.active {
            identity
                .set_agent_active(ipb::SetAgentActiveRequest {
                    agent_id: agent_id.clone(),
                    active,
                })
                .await?;
        }
        Ok::<_, tonic::Status>(tenant)
    }
    .await;
    back_to_list(t, &s, Section::Agents, saved)
}

#[derive(Template)]
#[template(path = "desk/admin_template.html")]
struct TemplatePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    template: pb::Template,
    kinds: Vec<Choice>,
    languages: Vec<Choice>,
    /// The tenant's queues, ticked where the template is offered.
    queues: Vec<Choice>,
}

/// Options with `chosen` selected.
fn options_with(pairs: &[(&str, &str)], chosen: &str) -> Vec<Choice> {
    pairs
        .iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *value == chosen,
        })
        .collect()
}

/// One template, to change (or delete) it.
async fn template_page(
    State(state): State<AppState>,
    Path(template_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let t = texts(&query.lang, &headers);
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
        let queues = ticket
            .list_queues(pb::ListQueuesRequest {
                tenant_id: tenant.clone(),
            })
            .await?
            .into_inner()
            .queues;
        Ok::<_, tonic::Status>((tenant, template, queues))
    }
    .await;
    let (tenant, template, queues) = match loaded {
        Ok(l) => l,
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let page = TemplatePage {
        t,
        session: Some(&s),
        tenant,
        kinds: options_with(&TEMPLATE_KINDS, &template.kind),
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
    render(&page, StatusCode::OK)
}

/// Saves a template as the form left it.
async fn template_save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&LangQuery::default(), &headers);
    let update = pb::UpdateTemplateRequest {
        id,
        name: form.get("name").to_owned(),
        kind: form.get("kind").to_owned(),
        subject: form.get("subject").to_owned(),
        body: form.get("body").to_owned(),
        queue_ids: form.all("queues").to_vec(),
        language: form.get("language").to_owned(),
    };
    let saved = state.tickets(&s.principal).update_template(update).await;
    back_to_list(
        t,
        &s,
        Section::Templates,
        saved.map(|_| query.tenant.unwrap_or_default()),
    )
}

#[derive(Template)]
#[template(path = "desk/admin_customer.html")]
struct CustomerPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    customer: ipb::Customer,
    companies: Vec<Choice>,
    languages: Vec<Choice>,
}

/// One customer's details, to change them.
async fn customer_page(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let t = texts(&query.lang, &headers);
    let loaded = async {
        let (tenant, _) = tenants(&state, &s, query.tenant.as_deref()).await?;
        let mut identity = state.identity_admin(&s.principal);
        let customer = identity
            .get_customer(ipb::GetCustomerRequest { customer_id })
            .await?
            .into_inner();
        let companies = identity
            .list_companies(ipb::ListCompaniesRequest {
                tenant_id: tenant.clone(),
            })
            .await?
            .into_inner()
            .companies;
        Ok::<_, tonic::Status>((tenant, customer, companies))
    }
    .await;
    let (tenant, customer, companies) = match loaded {
        Ok(l) => l,
        Err(status) => return failure(t, Some(&s), status.into()),
    };
    let mut company_choices = choices([("", t.none)]);
    company_choices.extend(choices_of(&companies, &customer.company_id));
    let languages = options_with(
        &[("", t.none), ("de", "Deutsch"), ("en", "English")],
        &customer.language,
    );
    let page = CustomerPage {
        t,
        session: Some(&s),
        tenant,
        customer,
        companies: company_choices,
        languages,
    };
    render(&page, StatusCode::OK)
}

/// Saves a customer's details as the form left them; a new password only if one was typed.
async fn customer_save(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&LangQuery::default(), &headers);
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

#[derive(Template)]
#[template(path = "desk/admin_role.html")]
struct RolePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    role: ipb::Role,
    permissions: [&'static str; 7],
    groups: Vec<GroupGrants>,
}

/// A row of the role's grid: a group of the tenant and each permission with whether the role
/// grants it there.
struct GroupGrants {
    id: String,
    name: String,
    ticks: Vec<(&'static str, bool)>,
}

/// A role's group and its tenant's groups.
async fn role_and_groups(
    state: &AppState,
    s: &Session,
    tenant: Option<&str>,
    role_id: &str,
) -> Result<(String, ipb::Role, Vec<ipb::Group>), tonic::Status> {
    let (tenant, _) = tenants(state, s, tenant).await?;
    let mut identity = state.identity_admin(&s.principal);
    let role = identity
        .list_roles(ipb::ListRolesRequest {
            tenant_id: tenant.clone(),
        })
        .await?
        .into_inner()
        .roles
        .into_iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| tonic::Status::not_found("role not found"))?;
    let groups = identity
        .list_groups(ipb::ListGroupsRequest {
            tenant_id: tenant.clone(),
        })
        .await?
        .into_inner()
        .groups;
    Ok((tenant, role, groups))
}

/// What a role grants in a group.
fn granted<'a>(role: &'a ipb::Role, group_id: &str) -> &'a [String] {
    role.permissions
        .iter()
        .find(|g| g.group_id == group_id)
        .map_or(&[], |g| g.permissions.as_slice())
}

/// One role: what it grants in each of the tenant's groups, as a grid of checkboxes.
async fn role_page(
    State(state): State<AppState>,
    Path(role_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentSession(s): AgentSession,
) -> Response {
    let t = texts(&query.lang, &headers);
    let (tenant, role, groups) =
        match role_and_groups(&state, &s, query.tenant.as_deref(), &role_id).await {
            Ok(l) => l,
            Err(status) => return failure(t, Some(&s), status.into()),
        };
    let groups = groups
        .into_iter()
        .map(|g| {
            let has = granted(&role, &g.id);
            let ticks = PERMISSIONS
                .iter()
                .map(|p| (*p, has.iter().any(|h| h == p)))
                .collect();
            GroupGrants {
                id: g.id,
                name: g.name,
                ticks,
            }
        })
        .collect();
    let page = RolePage {
        t,
        session: Some(&s),
        tenant,
        role,
        permissions: PERMISSIONS,
        groups,
    };
    render(&page, StatusCode::OK)
}

/// Saves what the role grants in each group whose ticks changed.
async fn role_save(
    State(state): State<AppState>,
    Path(role_id): Path<String>,
    Query(query): Query<AdminQuery>,
    headers: HeaderMap,
    AgentForm(s, form): AgentForm,
) -> Response {
    let t = texts(&LangQuery::default(), &headers);
    let saved = async {
        let (tenant, role, groups) =
            role_and_groups(&state, &s, query.tenant.as_deref(), &role_id).await?;
        for group in groups {
            let wanted: Vec<String> = PERMISSIONS
                .iter()
                .filter(|p| form.all(&format!("g-{}", group.id)).iter().any(|w| w == *p))
                .map(|p| (*p).to_owned())
                .collect();
            let had = granted(&role, &group.id);
            if had.len() == wanted.len() && wanted.iter().all(|w| had.contains(w)) {
                continue;
            }
            state
                .identity_admin(&s.principal)
                .set_role_permissions(ipb::SetRolePermissionsRequest {
                    role_id: role.id.clone(),
                    permissions: Some(ipb::GroupPermissions {
                        group_id: group.id,
                        permissions: wanted,
                    }),
                })
                .await?;
        }
        Ok::<_, tonic::Status>(tenant)
    }
    .await;
    back_to_list(t, &s, Section::Roles, saved)
}

/// The administration's pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/desk/admin/", get(index))
        .route("/desk/admin", get(index))
        .route("/desk/admin/{section}", get(page).post(create))
        .route("/desk/admin/templates/{id}/delete", post(delete_template))
        .route("/desk/admin/queues/{id}", get(queue_page).post(queue_save))
        .route("/desk/admin/agents/{id}", get(agent_page).post(agent_save))
        .route("/desk/admin/roles/{id}", get(role_page).post(role_save))
        .route(
            "/desk/admin/templates/{id}",
            get(template_page).post(template_save),
        )
        .route(
            "/desk/admin/customers/{id}",
            get(customer_page).post(customer_save),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_have_titles_in_both_languages() {
        for section in Section::ALL {
            assert_eq!(Section::parse(section.key()), Some(section));
            assert!(!section.title(&super::super::DE).is_empty());
            assert_ne!(section.title(&super::super::DE), "");
        }
        assert_eq!(Section::parse("audit"), None);
    }

    #[test]
    fn list_fields_split_on_commas_spaces_and_lines() {
        assert_eq!(
            list("a@x.example, b@x.example\nc@x.example  "),
            vec!["a@x.example", "b@x.example", "c@x.example"]
        );
        assert!(list("  ").is_empty());
    }
}
