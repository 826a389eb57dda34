//! Tenants, their groups and roles, and the role templates a new tenant starts from.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
}

impl NewTenant {
    pub fn parse(slug: &str, display_name: &str) -> Result<Self, IdentityError> {
        let slug = slug.trim();
        let valid = !slug.is_empty()
            && slug.len() <= 63
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-');
        if !valid {
            return Err(IdentityError::invalid(
                "a tenant slug is 1 to 63 lowercase letters, digits or dashes",
            ));
        }
        Ok(Self {
            slug: slug.to_owned(),
            name: name("tenant name", display_name, 200)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: String,
    /// Members administer the tenant.
    pub tenant_admin: bool,
    pub permissions: BTreeMap<GroupId, PermSet>,
}

/// The groups every new tenant starts with (as in Znuny: `users` holds the queues, `admin` the
/// administration).
pub const DEFAULT_GROUPS: [&str; 2] = ["users", "admin"];

/// A role template: name, tenant administration, permissions per default group.
pub struct RoleTemplate {
    pub name: &'static str,
    pub tenant_admin: bool,
    pub grants: &'static [(&'static str, &'static [Permission])],
}

/// The built-in roles of a new tenant.
pub const ROLE_TEMPLATES: [RoleTemplate; 4] = [
    RoleTemplate {
        name: "Administrator",
        tenant_admin: true,
        grants: &[("users", &[Permission::Rw]), ("admin", &[Permission::Rw])],
    },
    RoleTemplate {
        name: "1st level (help desk)",
        tenant_admin: false,
        grants: &[(
            "users",
            &[
                Permission::Ro,
                Permission::Create,
                Permission::MoveInto,
                Permission::Note,
                Permission::Owner,
                Permission::Priority,
            ],
        )],
    },
    RoleTemplate {
        name: "2nd level",
        tenant_admin: false,
        grants: &[("users", &[Permission::Rw])],
    },
    RoleTemplate {
        name: "Team member",
        tenant_admin: false,
        grants: &[("users", &[Permission::Ro, Permission::Note])],
    },
];
