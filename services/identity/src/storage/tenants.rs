//! Tenants, their groups and roles: a new tenant gets the default groups and the built-in roles
//! of [`ROLE_TEMPLATES`], and announces itself with them (`tenant.created`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use docket_auth::PermSet;
use docket_proto::events::v1 as ev;
use docket_store::WriteTx;
use prost::Message as _;
use sqlx::AnyConnection;

use super::rows::{group_from_row, role_from_rows, tenant_from_row};
use super::{SqlIdentityStore, TenantStore, exists_already, now};
use crate::domain::*;
use crate::error::IdentityError;

#[async_trait]
impl TenantStore for SqlIdentityStore {
    async fn create_tenant(&self, tenant: NewTenant, actor: &str) -> Result<Tenant, IdentityError> {
        let stored = Tenant {
            id: TenantId::new(),
            slug: tenant.slug,
            name: tenant.name,
            created_at: now(),
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(stored.id)
            .bind(&stored.slug)
            .bind(&stored.name)
            .bind(stored.created_at)
            .execute(&mut *tx)
            .await
            .map_err(exists_already(|| {
                format!("a tenant with slug `{}` exists already", stored.slug)
            }))?;
        let mut groups = BTreeMap::new();
        let mut created_groups = Vec::with_capacity(DEFAULT_GROUPS.len());
        for name in DEFAULT_GROUPS {
            let g = Self::insert_group(&mut tx, stored.id, name).await?;
            groups.insert(name, g.id);
            created_groups.push(ev::GroupCreated {
                group_id: g.id.to_string(),
                tenant_id: stored.id.to_string(),
                name: g.name,
            });
        }
        for template in &ROLE_TEMPLATES {
            let role =
                Self::insert_role(&mut tx, stored.id, template.name, template.tenant_admin).await?;
            for (group, perms) in template.grants {
                let group_id = *groups
                    .get(group)
                    .ok_or_else(|| IdentityError::Corrupt(format!("template group {group}")))?;
                Self::put_permissions(
                    &mut tx,
                    "role_permissions",
                    "role_id",
                    role.id.to_string(),
                    group_id,
                    PermSet::of(perms),
                )
                .await?;
            }
        }
        let details = serde_json::json!({ "slug": stored.slug, "name": stored.name });
        Self::audit_change(
            &mut tx,
            Some(stored.id),
            actor,
            "tenant_created",
            stored.id.to_string(),
            details,
        )
        .await?;
        Self::event(
            &mut tx,
            "tenant.created",
            stored.id,
            ("tenant", stored.id.to_string()),
            ev::TenantCreated {
                tenant_id: stored.id.to_string(),
                slug: stored.slug.clone(),
                name: stored.name.clone(),
                groups: created_groups,
            }
            .encode_to_vec(),
        )
        .await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, IdentityError> {
        let rows = sqlx::query("SELECT id, slug, name, created_at FROM tenants ORDER BY slug")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(tenant_from_row).collect()
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Tenant, IdentityError> {
        self.list_tenants()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| IdentityError::not_found("tenant", id))
    }

    async fn create_group(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Group, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        let group = Self::insert_group(&mut tx, tenant_id, name).await?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "group_created",
            group.id.to_string(),
            serde_json::json!({ "name": group.name }),
        )
        .await?;
        Self::event(
            &mut tx,
            "group.created",
            tenant_id,
            ("group", group.id.to_string()),
            ev::GroupCreated {
                group_id: group.id.to_string(),
                tenant_id: tenant_id.to_string(),
                name: group.name.clone(),
            }
            .encode_to_vec(),
        )
        .await?;
        self.commit(tx).await?;
        Ok(group)
    }

    async fn list_groups(&self, tenant_id: TenantId) -> Result<Vec<Group>, IdentityError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name FROM groups WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(group_from_row).collect()
    }

    async fn get_group(&self, id: GroupId) -> Result<Group, IdentityError> {
        let row = sqlx::query("SELECT id, tenant_id, name FROM groups WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| IdentityError::not_found("group", id))?;
        group_from_row(&row)
    }

    async fn create_role(
        &self,
        tenant_id: TenantId,
        name: &str,
        tenant_admin: bool,
        actor: &str,
    ) -> Result<Role, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        let role = Self::insert_role(&mut tx, tenant_id, name, tenant_admin).await?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "role_created",
            role.id.to_string(),
            serde_json::json!({ "name": role.name, "tenant_admin": tenant_admin }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(role)
    }

    async fn set_role_permissions(
        &self,
        role_id: RoleId,
        group_id: GroupId,
        perms: PermSet,
        actor: &str,
    ) -> Result<Role, IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let role_tenant = Self::tenant_of_role(&mut tx, role_id).await?;
        if Self::tenant_of_group(&mut tx, group_id).await? != role_tenant {
            return Err(IdentityError::not_found("group", group_id));
        }
        Self::put_permissions(
            &mut tx,
            "role_permissions",
            "role_id",
            role_id.to_string(),
            group_id,
            perms,
        )
        .await?;
        Self::audit_change(
            &mut tx,
            Some(role_tenant),
            actor,
            "permission_changed",
            role_id.to_string(),
            serde_json::json!({ "role_id": role_id, "group_id": group_id, "permissions": perms }),
        )
        .await?;
        let role = Self::role_on(&mut tx, role_id).await?;
        self.commit(tx).await?;
        Ok(role)
    }

    async fn list_roles(&self, tenant_id: TenantId) -> Result<Vec<Role>, IdentityError> {
        let rows = sqlx::query("SELECT id, tenant_id, name, tenant_admin FROM roles WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant_id)
            .fetch_all(self.db.pool())
            .await?;
        let perms: Vec<(RoleId, GroupId, String)> = sqlx::query_as(
            "SELECT rp.role_id, rp.group_id, rp.permissions FROM role_permissions rp \
             JOIN roles r ON r.id = rp.role_id WHERE r.tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                role_from_rows(row, |id| {
                    perms
                        .iter()
                        .filter(move |(role, _, _)| *role == id)
                        .map(|(_, group, stored)| (*group, stored.as_str()))
                })
            })
            .collect()
    }

    async fn get_role(&self, id: RoleId) -> Result<Role, IdentityError> {
        let mut conn = self.db.pool().acquire().await?;
        Self::role_on(&mut conn, id).await
    }
}

impl SqlIdentityStore {
    /// Refuses a tenant that does not exist (NOT_FOUND).
    pub(super) async fn require_tenant(
        tx: &mut WriteTx,
        tenant_id: TenantId,
    ) -> Result<(), IdentityError> {
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
        match known {
            Some(_) => Ok(()),
            None => Err(IdentityError::not_found("tenant", tenant_id)),
        }
    }

    pub(super) async fn tenant_of_group(
        tx: &mut WriteTx,
        group_id: GroupId,
    ) -> Result<TenantId, IdentityError> {
        sqlx::query_scalar::<_, TenantId>("SELECT tenant_id FROM groups WHERE id = $1")
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| IdentityError::not_found("group", group_id))
    }

    pub(super) async fn tenant_of_role(
        tx: &mut WriteTx,
        role_id: RoleId,
    ) -> Result<TenantId, IdentityError> {
        sqlx::query_scalar::<_, TenantId>("SELECT tenant_id FROM roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| IdentityError::not_found("role", role_id))
    }

    /// A role with its permissions, read on `conn`: the pool's, or a change's transaction.
    async fn role_on(conn: &mut AnyConnection, role_id: RoleId) -> Result<Role, IdentityError> {
        let row = sqlx::query("SELECT id, tenant_id, name, tenant_admin FROM roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| IdentityError::not_found("role", role_id))?;
        let perms: Vec<(GroupId, String)> =
            sqlx::query_as("SELECT group_id, permissions FROM role_permissions WHERE role_id = $1")
                .bind(role_id)
                .fetch_all(&mut *conn)
                .await?;
        role_from_rows(&row, |_| {
            perms
                .iter()
                .map(|(group, stored)| (*group, stored.as_str()))
        })
    }

    pub(super) async fn insert_group(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        name: &str,
    ) -> Result<Group, IdentityError> {
        let group = Group {
            id: GroupId::new(),
            tenant_id,
            name: crate::domain::name("group name", name, 100)?,
        };
        sqlx::query("INSERT INTO groups (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(group.id)
            .bind(tenant_id)
            .bind(&group.name)
            .bind(now())
            .execute(&mut **tx)
            .await
            .map_err(exists_already(|| {
                format!("the tenant has a group named `{}` already", group.name)
            }))?;
        Ok(group)
    }

    pub(super) async fn insert_role(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        name: &str,
        tenant_admin: bool,
    ) -> Result<Role, IdentityError> {
        let role = Role {
            id: RoleId::new(),
            tenant_id,
            name: crate::domain::name("role name", name, 100)?,
            tenant_admin,
            permissions: BTreeMap::new(),
        };
        sqlx::query("INSERT INTO roles (id, tenant_id, name, tenant_admin, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(role.id)
            .bind(tenant_id)
            .bind(&role.name)
            .bind(i64::from(tenant_admin))
            .bind(now())
            .execute(&mut **tx)
            .await
            .map_err(exists_already(|| format!("the tenant has a role named `{}` already", role.name)))?;
        Ok(role)
    }

    pub(super) async fn put_permissions(
        tx: &mut WriteTx,
        table: &'static str,
        owner_column: &'static str,
        owner: String,
        group_id: GroupId,
        perms: PermSet,
    ) -> Result<(), IdentityError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE {owner_column} = $1 AND group_id = $2"
        )))
        .bind(&owner)
        .bind(group_id)
        .execute(&mut **tx)
        .await?;
        if !perms.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} ({owner_column}, group_id, permissions) VALUES ($1, $2, $3)"
            )))
            .bind(&owner)
            .bind(group_id)
            .bind(format_permissions(perms))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
