//! What agents may do where: membership in tenants, roles, their own permissions, absences,
//! and the grants merged from them (by [`AccessFacts::grants`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use docket_auth::{AgentGrants, PermSet};
use docket_store::WriteTx;
use serde_json::json;

use super::rows::absence_from_row;
use super::{AccessStore, SqlIdentityStore};
use crate::domain::*;
use crate::error::IdentityError;

impl SqlIdentityStore {
    /// Records a change of an agent's rights in `tenant` in the audit log and commits it.
    async fn permission_changed(
        &self,
        mut tx: WriteTx,
        tenant: TenantId,
        actor: &str,
        agent_id: AgentId,
        details: serde_json::Value,
    ) -> Result<(), IdentityError> {
        Self::audit_change(
            &mut tx,
            Some(tenant),
            actor,
            "permission_changed",
            agent_id.to_string(),
            details,
        )
        .await?;
        self.commit(tx).await
    }
}

#[async_trait]
impl AccessStore for SqlIdentityStore {
    async fn add_agent_to_tenant(
        &self,
        agent_id: AgentId,
        tenant_id: TenantId,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        sqlx::query("INSERT INTO agent_tenants (agent_id, tenant_id) VALUES ($1, $2) ON CONFLICT (agent_id, tenant_id) DO NOTHING")
            .bind(agent_id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        self.permission_changed(
            tx,
            tenant_id,
            actor,
            agent_id,
            json!({ "member_of": tenant_id }),
        )
        .await
    }

    async fn assign_role(
        &self,
        agent_id: AgentId,
        role_id: RoleId,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        let tenant = Self::tenant_of_role(&mut tx, role_id).await?;
        Self::require_membership(&mut tx, agent_id, tenant).await?;
        sqlx::query("INSERT INTO agent_roles (agent_id, role_id) VALUES ($1, $2) ON CONFLICT (agent_id, role_id) DO NOTHING")
            .bind(agent_id)
            .bind(role_id)
            .execute(&mut *tx)
            .await?;
        self.permission_changed(
            tx,
            tenant,
            actor,
            agent_id,
            json!({ "role_assigned": role_id }),
        )
        .await
    }

    async fn revoke_role(
        &self,
        agent_id: AgentId,
        role_id: RoleId,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        let tenant = Self::tenant_of_role(&mut tx, role_id).await?;
        sqlx::query("DELETE FROM agent_roles WHERE agent_id = $1 AND role_id = $2")
            .bind(agent_id)
            .bind(role_id)
            .execute(&mut *tx)
            .await?;
        self.permission_changed(
            tx,
            tenant,
            actor,
            agent_id,
            json!({ "role_revoked": role_id }),
        )
        .await
    }

    async fn set_agent_permissions(
        &self,
        agent_id: AgentId,
        group_id: GroupId,
        perms: PermSet,
        actor: &str,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        let tenant = Self::tenant_of_group(&mut tx, group_id).await?;
        Self::require_membership(&mut tx, agent_id, tenant).await?;
        Self::put_permissions(
            &mut tx,
            "agent_permissions",
            "agent_id",
            agent_id.to_string(),
            group_id,
            perms,
        )
        .await?;
        self.permission_changed(
            tx,
            tenant,
            actor,
            agent_id,
            json!({ "group_id": group_id, "permissions": perms }),
        )
        .await
    }

    async fn agent_grants(
        &self,
        agent_id: AgentId,
        at: Micros,
    ) -> Result<AgentGrants, IdentityError> {
        let tenants: Vec<TenantId> =
            sqlx::query_scalar("SELECT tenant_id FROM agent_tenants WHERE agent_id = $1")
                .bind(agent_id)
                .fetch_all(self.db.pool())
                .await?;
        // Permissions through roles, and the agent's own.
        let rows: Vec<(Option<TenantId>, Option<GroupId>, Option<String>)> =
            sqlx::query_as(include_str!("queries/agent_permissions.sql"))
                .bind(agent_id)
                .fetch_all(self.db.pool())
                .await?;
        let mut permissions = Vec::with_capacity(rows.len());
        // A role without permissions joins to NULLs.
        for (tenant, group, perms) in rows {
            if let (Some(tenant), Some(group), Some(perms)) = (tenant, group, perms) {
                permissions.push((tenant, group, parse_permissions(&perms)?));
            }
        }
        let admin_of = sqlx::query_scalar::<_, TenantId>(
            "SELECT r.tenant_id FROM agent_roles ar JOIN roles r ON r.id = ar.role_id \
             WHERE ar.agent_id = $1 AND r.tenant_admin = 1",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        // Absent agents of a shared tenant whom this agent stands in for now.
        let standing_in_for = sqlx::query_as::<_, (AgentId, TenantId)>(
            "SELECT a.agent_id, at.tenant_id FROM agent_absences a \
               JOIN agent_tenants at ON at.agent_id = a.agent_id \
              WHERE a.substitute_id = $1 AND a.starts_at <= $2 AND a.ends_at > $2",
        )
        .bind(agent_id)
        .bind(at)
        .fetch_all(self.db.pool())
        .await?;
        Ok(AccessFacts {
            tenants,
            admin_of,
            permissions,
            standing_in_for,
        }
        .grants())
    }

    async fn agent_memberships(&self, agent_id: AgentId) -> Result<Vec<Membership>, IdentityError> {
        let tenants: Vec<TenantId> = sqlx::query_scalar(
            "SELECT tenant_id FROM agent_tenants WHERE agent_id = $1 ORDER BY tenant_id",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        let mut memberships: Vec<Membership> = tenants
            .into_iter()
            .map(|tenant_id| Membership {
                tenant_id,
                role_ids: Vec::new(),
                permissions: BTreeMap::new(),
            })
            .collect();
        let roles: Vec<(TenantId, RoleId)> = sqlx::query_as(
            "SELECT r.tenant_id, ar.role_id FROM agent_roles ar JOIN roles r ON r.id = ar.role_id \
             WHERE ar.agent_id = $1 ORDER BY ar.role_id",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        for (tenant, role) in roles {
            if let Some(m) = memberships.iter_mut().find(|m| m.tenant_id == tenant) {
                m.role_ids.push(role);
            }
        }
        let perms: Vec<(TenantId, GroupId, String)> = sqlx::query_as(
            "SELECT g.tenant_id, ap.group_id, ap.permissions FROM agent_permissions ap \
             JOIN groups g ON g.id = ap.group_id WHERE ap.agent_id = $1",
        )
        .bind(agent_id)
        .fetch_all(self.db.pool())
        .await?;
        for (tenant, group, stored) in perms {
            if let Some(m) = memberships.iter_mut().find(|m| m.tenant_id == tenant) {
                m.permissions.insert(group, parse_permissions(&stored)?);
            }
        }
        Ok(memberships)
    }

    async fn add_absence(
        &self,
        agent_id: AgentId,
        substitute_id: AgentId,
        starts_at: Micros,
        ends_at: Micros,
        actor: &str,
    ) -> Result<Absence, IdentityError> {
        let absence = Absence::new(agent_id, substitute_id, starts_at, ends_at)?;
        let mut tx = self.db.begin_write().await?;
        Self::require_agent(&mut tx, agent_id).await?;
        Self::require_agent(&mut tx, substitute_id).await?;
        sqlx::query("INSERT INTO agent_absences (id, agent_id, substitute_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(absence.id)
            .bind(agent_id)
            .bind(substitute_id)
            .bind(starts_at)
            .bind(ends_at)
            .execute(&mut *tx)
            .await?;
        Self::audit_change(&mut tx, None, actor, "absence_set", agent_id.to_string(), serde_json::json!({ "substitute_id": substitute_id, "starts_at": starts_at, "ends_at": ends_at })).await?;
        self.commit(tx).await?;
        Ok(absence)
    }

    async fn list_absences(&self, tenant_id: TenantId) -> Result<Vec<Absence>, IdentityError> {
        let rows = sqlx::query(
            "SELECT id, agent_id, substitute_id, starts_at, ends_at FROM agent_absences \
             WHERE agent_id IN (SELECT agent_id FROM agent_tenants WHERE tenant_id = $1) \
             ORDER BY starts_at, id",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(absence_from_row).collect()
    }
}

impl SqlIdentityStore {
    pub(super) async fn require_membership(
        tx: &mut WriteTx,
        agent_id: AgentId,
        tenant_id: TenantId,
    ) -> Result<(), IdentityError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM agent_tenants WHERE agent_id = $1 AND tenant_id = $2",
        )
        .bind(agent_id)
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
        found.map(|_| ()).ok_or_else(|| {
            IdentityError::invalid(format!(
                "agent {agent_id} is not a member of tenant {tenant_id}"
            ))
        })
    }
}
