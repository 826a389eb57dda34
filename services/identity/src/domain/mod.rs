//! Identity's values: tenants, groups, roles, agents, customers; parsed once, valid afterwards.
//!
//! The rules about them live here too, as pure functions the store and the edges call: the login
//! throttle, how grants merge, what a customer update changes, when an absence is valid.

use std::collections::BTreeMap;

use docket_auth::{AgentGrants, PermSet, Permission, TenantGrants};
use docket_platform::config::Secret;
use docket_platform::typed_id;
use serde::Serialize;

use crate::error::IdentityError;

mod access;
mod audit;
mod people;
mod tenants;

pub use access::*;
pub use audit::*;
pub use people::*;
pub use tenants::*;

typed_id!(pub TenantId, "tenant");
typed_id!(pub GroupId, "group");
typed_id!(pub RoleId, "role");
typed_id!(pub AgentId, "agent");
typed_id!(pub CustomerId, "customer");
typed_id!(pub CompanyId, "company");
typed_id!(pub AbsenceId, "absence");

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// A login name: trimmed, lowercase (logins are case-insensitive, as in LDAP and AD).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Login(String);

impl Login {
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        let s = s.trim().to_lowercase();
        let valid = !s.is_empty()
            && s.chars().count() <= 200
            && !s.chars().any(|c| c.is_control() || c.is_whitespace());
        if valid {
            Ok(Self(s))
        } else {
            Err(IdentityError::invalid(
                "a login is 1 to 200 characters without spaces or control characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password, checked against the policy. Never printed.
#[derive(Clone)]
pub struct NewPassword(Secret);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        if s.chars().count() < Self::MIN_CHARS {
            return Err(IdentityError::invalid(format!(
                "a password needs at least {} characters",
                Self::MIN_CHARS
            )));
        }
        if s.len() > Self::MAX_BYTES {
            return Err(IdentityError::invalid("a password is at most 1024 bytes"));
        }
        Ok(Self(Secret::new(s)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// Where an account's password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Local,
    Ldap,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Ldap => "ldap",
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        match s {
            "local" => Ok(Self::Local),
            "ldap" => Ok(Self::Ldap),
            other => Err(IdentityError::Corrupt(format!(
                "unknown account source `{other}`"
            ))),
        }
    }
}

/// Checks a required, bounded name and returns it trimmed.
pub fn name(field: &str, value: &str, max_chars: usize) -> Result<String, IdentityError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(IdentityError::invalid(format!(
            "{field} must be 1 to {max_chars} characters without control characters"
        )));
    }
    Ok(v.to_owned())
}

/// Checks an optional free-text field (email, phone, language): trimmed, empty is `None`.
pub fn optional_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<Option<String>, IdentityError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(IdentityError::invalid(format!(
            "{field} must be at most {max_chars} characters without control characters"
        )));
    }
    Ok(Some(v.to_owned()))
}

/// Checks an optional email address: something@something, no spaces.
pub fn optional_email(value: &str) -> Result<Option<String>, IdentityError> {
    let Some(v) = optional_text("email", value, 254)? else {
        return Ok(None);
    };
    let valid = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !v.contains(char::is_whitespace);
    if valid {
        Ok(Some(v))
    } else {
        Err(IdentityError::invalid(format!(
            "`{v}` is not an email address"
        )))
    }
}

/// Parses permission names as a client sends them (`ro`, `rw`, …).
pub fn permissions_from_names(names: &[String]) -> Result<PermSet, IdentityError> {
    let mut set = PermSet::NONE;
    for name in names {
        set.insert(
            name.trim()
                .parse()
                .map_err(IdentityError::InvalidArgument)?,
        );
    }
    Ok(set)
}

/// Parses a comma-separated permission list as stored.
pub fn parse_permissions(stored: &str) -> Result<PermSet, IdentityError> {
    let mut set = PermSet::NONE;
    for name in stored.split(',').filter(|s| !s.is_empty()) {
        set.insert(name.parse().map_err(IdentityError::Corrupt)?);
    }
    Ok(set)
}

/// The stored form of a permission set.
pub fn format_permissions(set: PermSet) -> String {
    set.iter()
        .map(Permission::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
