//! Access: what an agent's grants are made of, the login throttle, sessions and API tokens.

use super::*;

/// What an agent's access is made of at one moment, as the store finds it; [`Self::grants`]
/// merges it into what the agent may do.
#[derive(Debug, Clone, Default)]
pub struct AccessFacts {
    /// The tenants the agent is a member of.
    pub tenants: Vec<TenantId>,
    /// The tenants in which one of its roles administers the tenant.
    pub admin_of: Vec<TenantId>,
    /// Permissions on groups, through its roles and its own: one entry per grant.
    pub permissions: Vec<(TenantId, GroupId, PermSet)>,
    /// The absent agents it stands in for now, each with a tenant the absent agent belongs to.
    pub standing_in_for: Vec<(AgentId, TenantId)>,
}

impl AccessFacts {
    /// What the agent may do, per tenant. Everything counts only in the tenants it is a member
    /// of (a role or grant elsewhere is ignored); permissions on one group add up.
    pub fn grants(&self) -> AgentGrants {
        let mut grants = AgentGrants::default();
        for t in &self.tenants {
            grants
                .tenants
                .insert(t.to_string(), TenantGrants::default());
        }
        for tenant in &self.admin_of {
            if let Some(t) = grants.tenants.get_mut(&tenant.to_string()) {
                t.admin = true;
            }
        }
        for (tenant, group, perms) in &self.permissions {
            if let Some(t) = grants.tenants.get_mut(&tenant.to_string()) {
                let entry = t.groups.entry(group.to_string()).or_default();
                *entry = entry.union(*perms);
            }
        }
        for (absent, tenant) in &self.standing_in_for {
            if let Some(t) = grants.tenants.get_mut(&tenant.to_string())
                && !t.substitute_for.contains(&absent.to_string())
            {
                t.substitute_for.push(absent.to_string());
            }
        }
        grants
    }
}

/// How many failed logins within [`Throttle::WINDOW`] lock an account, and for how long.
pub struct Throttle;

impl Throttle {
    pub const MAX_FAILURES: i64 = 5;
    pub const WINDOW: Micros = 15 * 60 * 1_000_000;
    pub const LOCKOUT: Micros = 15 * 60 * 1_000_000;

    /// The end of a lock that is still in force at `at`.
    pub fn in_force(locked_until: Option<Micros>, at: Micros) -> Option<Micros> {
        locked_until.filter(|until| *until > at)
    }

    /// The throttle's record of a login key after a failure at `at`, or `None` while a lockout
    /// is in force: failures during it neither extend nor lift it. Failures count within a
    /// window that starts at the first; the one that locks starts a fresh, empty window.
    pub fn after_failure(previous: Option<&ThrottleRecord>, at: Micros) -> Option<ThrottleRecord> {
        if previous.is_some_and(|r| Self::in_force(r.locked_until, at).is_some()) {
            return None;
        }
        let (failures, window_started_at) = match previous {
            Some(r) if at - r.window_started_at < Self::WINDOW => {
                (r.failures + 1, r.window_started_at)
            }
            _ => (1, at),
        };
        Some(if failures >= Self::MAX_FAILURES {
            ThrottleRecord {
                failures: 0,
                window_started_at: at,
                locked_until: Some(at + Self::LOCKOUT),
            }
        } else {
            ThrottleRecord {
                failures,
                window_started_at,
                locked_until: None,
            }
        })
    }
}

/// The failed logins of one login key, as the throttle keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRecord {
    pub failures: i64,
    pub window_started_at: Micros,
    pub locked_until: Option<Micros>,
}

/// Who a session or token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Agent,
    Customer,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        match s {
            "agent" => Ok(Self::Agent),
            "customer" => Ok(Self::Customer),
            other => Err(IdentityError::Corrupt(format!(
                "unknown principal kind `{other}`"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub kind: PrincipalKind,
    pub principal_id: String,
    pub secret_hash: String,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub revoked_at: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub agent_id: AgentId,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub revoked_at: Option<Micros>,
}
