//! A role's own page: the grid of groups × permissions it grants.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use docket_proto::identity::v1 as ipb;

use super::{AdminQuery, Item, Section, back_to_list, permissions, tenants};
use crate::AppState;
use crate::web::{DeskForm, DeskPage, Page, Posted, Session, Texts, failure, render};

#[derive(Template)]
#[template(path = "desk/admin_role.html")]
struct RolePage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    tenant: String,
    item: Item,
    permissions: [&'static str; docket_auth::Permission::ALL.len()],
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
        .roles(&tenant)
        .await?
        .into_iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| tonic::Status::not_found("role not found"))?;
    let groups = identity.groups(&tenant).await?;
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
pub(super) async fn role_page(
    Path(role_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Page { state, s, t, .. }: DeskPage,
) -> Result<Response, Response> {
    let (tenant, role, groups) = role_and_groups(&state, &s, query.tenant.as_deref(), &role_id)
        .await
        .map_err(|status| failure(t, Some(&s), status.into()))?;
    let groups = groups
        .into_iter()
        .map(|g| {
            let has = granted(&role, &g.id);
            let ticks = permissions()
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
        item: Item::new(t, Section::Roles, t.role, &role.id, &role.name),
        tenant,
        permissions: permissions(),
        groups,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Saves what the role grants in each group whose ticks changed.
pub(super) async fn role_save(
    Path(role_id): Path<String>,
    Query(query): Query<AdminQuery>,
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let saved = async {
        let (tenant, role, groups) =
            role_and_groups(&state, &s, query.tenant.as_deref(), &role_id).await?;
        for group in groups {
            let wanted: Vec<String> = permissions()
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
