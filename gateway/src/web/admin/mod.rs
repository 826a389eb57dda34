//! The desk's administration pages for tenant administrators (and installation administrators):
//! queues, services, ticket types, states, custom fields, templates, agents, customers,
//! companies, groups, roles and tenants. Each page lists what the tenant has and offers a form to
//! add to it; the services decide who may, exactly as for the REST API.
//!
//! A module per page: `sections` (the lists and their add forms) and the own pages of a `queue`,
//! an `agent`, a `template`, a `customer` and a `role`. Here: what they share (the sections, the
//! permission and template-kind vocabularies, the form builders, the tenant choice).

mod agent;
mod customer;
mod queue;
mod role;
mod sections;
mod template;

use askama::Template;
use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use docket_proto::identity::v1 as ipb;
use serde::Deserialize;

use super::portal::Choice;
use super::{Session, Texts, choices_of, failure};
use crate::AppState;

/// What a role or an agent may do in a group's queues, named as `docket_auth` names them.
fn permissions() -> [&'static str; docket_auth::Permission::ALL.len()] {
    docket_auth::Permission::ALL.map(docket_auth::Permission::as_str)
}

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

/// A vocabulary's values as options labelled with their names (`new_ticket`), `chosen` selected.
fn names_with<V>(
    values: impl Iterator<Item = V>,
    name: fn(V) -> &'static str,
    chosen: &str,
) -> Vec<Choice> {
    values
        .map(name)
        .map(|n| Choice {
            value: n.to_owned(),
            label: n.to_owned(),
            selected: n == chosen,
        })
        .collect()
}

/// The value of a vocabulary the form names, or a clear refusal.
fn chosen<V>(named: fn(&str) -> Option<V>, name: &str, what: &str) -> Result<V, tonic::Status> {
    named(name).ok_or_else(|| tonic::Status::invalid_argument(format!("choose a {what}")))
}

/// [`chosen`] for a field the form may leave out: `None` (unchanged) when it is absent.
fn optional_choice<V>(
    named: fn(&str) -> Option<V>,
    name: &str,
    what: &str,
) -> Result<Option<V>, tonic::Status> {
    (!name.is_empty())
        .then(|| chosen(named, name, what))
        .transpose()
}

/// What a page of one item (a queue, an agent, …) says of it: the section it is listed in, its
/// kind, id and name (`desk/admin_item.html`).
struct Item {
    section: &'static str,
    section_title: &'static str,
    kind: &'static str,
    id: String,
    name: String,
}

impl Item {
    fn new(t: &Texts, section: Section, kind: &'static str, id: &str, name: &str) -> Self {
        Self {
            section: section.key(),
            section_title: section.title(t),
            kind,
            id: id.to_owned(),
            name: name.to_owned(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AdminQuery {
    /// The tenant the page is about (`?lang=` is the page's, read by [`crate::web::Page`]).
    tenant: Option<String>,
}

/// The tenants the agent administers (every tenant for an installation administrator), and the
/// one the page is about: `wanted`, or the first of them when the page names none. Only an
/// installation administrator lists all tenants; a tenant administrator's come one by one from
/// their grants, so they never learn of another. A page naming a tenant the agent is a member of
/// but does not administer is refused, any other is not found, as the services answer.
async fn tenants(
    state: &AppState,
    s: &Session,
    wanted: Option<&str>,
) -> Result<(String, Vec<Choice>), tonic::Status> {
    let claims = &s.principal.claims;
    let mut identity = state.identity_admin(&s.principal);
    let mine: Vec<ipb::Tenant> = if claims.is_installation_admin() {
        identity
            .list_tenants(ipb::ListTenantsRequest {})
            .await?
            .into_inner()
            .tenants
    } else {
        let mut mine = Vec::new();
        for tenant_id in administered(claims) {
            let tenant = identity
                .get_tenant(ipb::GetTenantRequest { tenant_id })
                .await?
                .into_inner();
            mine.push(tenant);
        }
        mine.sort_by(|a, b| a.name.cmp(&b.name));
        mine
    };
    let chosen = match wanted.filter(|w| !w.is_empty()) {
        Some(w) => match mine.iter().find(|t| t.id == w) {
            Some(t) => t.id.clone(),
            None if claims.tenant(w).is_some() => {
                return Err(tonic::Status::permission_denied(
                    "administering the tenant needs its administrator role",
                ));
            }
            None => return Err(tonic::Status::not_found("tenant not found")),
        },
        None => mine
            .first()
            .map(|t| t.id.clone())
            .ok_or_else(|| tonic::Status::permission_denied("you administer no tenant"))?,
    };
    let options = choices_of(&mine, &chosen);
    Ok((chosen, options))
}

/// The ids of the tenants the claims make the agent administrator of.
fn administered(claims: &docket_auth::Claims) -> Vec<String> {
    claims
        .agent
        .iter()
        .flat_map(|a| a.tenants.iter())
        .filter(|(id, _)| claims.is_admin_of(id))
        .map(|(id, _)| id.clone())
        .collect()
}

/// The sections the agent is offered: tenants (created and listed for the whole installation)
/// only to an installation administrator.
fn sections_for(claims: &docket_auth::Claims) -> impl Iterator<Item = Section> + '_ {
    Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Tenants || claims.is_installation_admin())
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

/// The administration's pages.
pub fn router() -> Router<AppState> {
    use agent::{agent_page, agent_save};
    use customer::{customer_page, customer_save};
    use queue::{queue_page, queue_save};
    use role::{role_page, role_save};
    use sections::{create, index, page};
    use template::{delete_template, template_page, template_save};

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
    fn tenant_administrators_get_their_tenants_and_no_tenants_section() {
        let mut grants = docket_auth::AgentGrants::default();
        for (tenant, admin) in [("t1", true), ("t2", false), ("t3", true)] {
            grants.tenants.insert(
                tenant.to_owned(),
                docket_auth::TenantGrants {
                    admin,
                    ..Default::default()
                },
            );
        }
        let mut claims = docket_auth::Claims {
            iss: "docket".into(),
            aud: "docket".into(),
            sub: "a1".into(),
            exp: 0,
            iat: 0,
            jti: String::new(),
            sid: None,
            kind: docket_auth::Kind::Agent,
            login: "tina".into(),
            agent: Some(grants),
            customer: None,
            scopes: None,
        };
        assert_eq!(administered(&claims), ["t1", "t3"]);
        assert!(!sections_for(&claims).any(|s| s == Section::Tenants));
        assert_eq!(sections_for(&claims).count(), Section::ALL.len() - 1);
        claims.agent.as_mut().unwrap().installation_admin = true;
        assert!(sections_for(&claims).any(|s| s == Section::Tenants));
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
