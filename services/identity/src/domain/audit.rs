//! The audit log's entries and how it is read page by page.

use super::*;

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub occurred_at: Micros,
    pub tenant_id: Option<TenantId>,
    pub actor: String,
    /// `login`, `login_failed`, `lockout`, `permission_changed`, `token_issued`, …
    pub action: String,
    pub target: Option<String>,
    /// `ok` or `denied`.
    pub outcome: String,
    pub details: serde_json::Value,
}

/// Where a page of the audit log ends: the next page holds the entries older than it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub occurred_at: Micros,
    pub id: String,
}

impl AuditCursor {
    /// The opaque page token a client sends back.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.occurred_at, self.id)
    }

    pub fn parse(token: &str) -> Result<Self, IdentityError> {
        let bad = || IdentityError::invalid("page_token is not one this API handed out");
        let (at, id) = token.trim().split_once('.').ok_or_else(bad)?;
        let occurred_at = at.parse::<Micros>().map_err(|_| bad())?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !valid_id {
            return Err(bad());
        }
        Ok(Self {
            occurred_at,
            id: id.to_owned(),
        })
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Set when older entries follow.
    pub next: Option<AuditCursor>,
}

impl AuditPage {
    /// The most entries one page holds, whatever a caller asks for.
    pub const MAX_ENTRIES: i64 = 1000;

    /// The number of entries a page asked for with `limit` holds: at least one, at most
    /// [`Self::MAX_ENTRIES`].
    pub fn entries_for(limit: i64) -> i64 {
        limit.clamp(1, Self::MAX_ENTRIES)
    }
}
