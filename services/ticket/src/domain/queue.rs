//! Queues and the service catalogue: the queue tree with its addresses and follow-up policy,
//! the default queues and ticket types a tenant starts with, catalogue names as paths.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::*;

text_enum!(
    /// What a customer's reply to a closed ticket of a queue does.
    FollowUp, "follow-up policy" {
        /// The ticket opens again.
        Reopen = "reopen",
        /// A new ticket opens, linked to the closed one.
        NewTicket = "new_ticket",
        /// The reply is refused with a notice to open a new ticket.
        Reject = "reject",
    }
);

text_enum!(
    /// What automatic mail (an auto-reply, a bounce, list mail) to a closed ticket of a queue
    /// does.
    AutomaticMail, "automatic-mail policy" {
        /// It is kept on the ticket as an internal note; the ticket stays closed.
        Note = "note",
        /// It is handled as a customer's reply: the queue's follow-up policy applies.
        FollowUp = "follow_up",
    }
);

/// An email address, lower-cased: how mail finds its queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, TicketError> {
        let s = s.trim().to_lowercase();
        let bad =
            || TicketError::invalid(format!("`{}` is not an email address", truncate(&s, 80)));
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let fine = |part: &str, extra: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_alphanumeric() || extra.contains(c))
        };
        if s.len() > 254
            || !fine(local, ".!#$%&'*+/=?^_`{|}~-")
            || !fine(domain, ".-")
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || local.starts_with('.')
            || local.ends_with('.')
            || s.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = TicketError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(a: EmailAddress) -> Self {
        a.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queue {
    pub id: QueueId,
    pub tenant_id: TenantId,
    /// The whole path, `2nd Level::Mail`; its parent is `2nd Level`.
    pub name: String,
    pub parent_id: Option<QueueId>,
    /// Permissions on this group are permissions on the queue. `None` only for queues made before
    /// queues had groups: no agent sees them until an administrator assigns one.
    pub group_id: Option<GroupId>,
    /// Customers may open tickets in it from the portal.
    pub portal: bool,
    /// Closes answers sent from the queue.
    pub signature: String,
    /// What a customer's reply to a closed ticket does.
    pub follow_up: FollowUp,
    /// What automatic mail to a closed ticket does.
    pub automatic_mail: AutomaticMail,
    /// Mail to these addresses lands in the queue; answers go out from the first.
    pub addresses: Vec<EmailAddress>,
    pub created_at: Micros,
    /// Incremented by every change of the queue's settings.
    pub version: u64,
}

/// Most addresses one queue has.
pub const MAX_QUEUE_ADDRESSES: usize = 20;

/// A queue's settings to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct QueueChange {
    pub group_id: Option<GroupId>,
    pub portal: Option<bool>,
    pub signature: Option<String>,
    pub follow_up: Option<FollowUp>,
    pub automatic_mail: Option<AutomaticMail>,
    pub addresses: Option<Vec<EmailAddress>>,
}

impl QueueChange {
    pub fn parse(
        group_id: Option<GroupId>,
        portal: Option<bool>,
        signature: Option<&str>,
        follow_up: Option<FollowUp>,
        automatic_mail: Option<AutomaticMail>,
        addresses: Option<Vec<EmailAddress>>,
    ) -> Result<Self, TicketError> {
        let addresses = addresses.map(unique_addresses).transpose()?;
        let change = Self {
            group_id,
            portal,
            signature: signature
                .map(|s| bounded_text("signature", s, 4000))
                .transpose()?,
            follow_up,
            automatic_mail,
            addresses,
        };
        if change.group_id.is_none()
            && change.portal.is_none()
            && change.signature.is_none()
            && change.follow_up.is_none()
            && change.automatic_mail.is_none()
            && change.addresses.is_none()
        {
            return Err(TicketError::invalid(
                "the change changes nothing: give group_id, portal, signature, follow_up, automatic_mail or addresses",
            ));
        }
        Ok(change)
    }
}

fn unique_addresses(mut list: Vec<EmailAddress>) -> Result<Vec<EmailAddress>, TicketError> {
    if list.len() > MAX_QUEUE_ADDRESSES {
        return Err(TicketError::invalid(format!(
            "a queue has at most {MAX_QUEUE_ADDRESSES} addresses"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|a| seen.insert(a.clone()));
    Ok(list)
}

/// Multi-line text (a signature, a template): bounded, no control characters but line breaks
/// and tabs; kept as written apart from trailing whitespace.
pub fn bounded_text(field: &str, value: &str, max_chars: usize) -> Result<String, TicketError> {
    optional_text(field, value, max_chars)?;
    Ok(value.trim_end().to_owned())
}

/// A queue to create.
#[derive(Debug, Clone)]
pub struct NewQueue {
    pub tenant_id: TenantId,
    pub name: String,
    pub group_id: GroupId,
    pub portal: bool,
    pub signature: String,
    pub follow_up: FollowUp,
    pub automatic_mail: AutomaticMail,
    pub addresses: Vec<EmailAddress>,
}

impl NewQueue {
    /// A queue with the default settings: no signature or addresses, replies reopen tickets,
    /// automatic mail to closed tickets becomes internal notes.
    pub fn parse(
        tenant_id: TenantId,
        name: &str,
        group_id: GroupId,
        portal: bool,
    ) -> Result<Self, TicketError> {
        Ok(Self {
            tenant_id,
            name: path_name("queue", name, 200)?,
            group_id,
            portal,
            signature: String::new(),
            follow_up: FollowUp::Reopen,
            automatic_mail: AutomaticMail::Note,
            addresses: Vec::new(),
        })
    }

    /// The same queue with these settings.
    pub fn with(
        mut self,
        signature: &str,
        follow_up: FollowUp,
        addresses: Vec<EmailAddress>,
    ) -> Result<Self, TicketError> {
        self.signature = bounded_text("signature", signature, 4000)?;
        self.follow_up = follow_up;
        self.addresses = unique_addresses(addresses)?;
        Ok(self)
    }
}

/// Checks a path name (`2nd Level::Mail`): each `::`-separated part non-empty, trimmed.
pub fn path_name(what: &str, name: &str, max_chars: usize) -> Result<String, TicketError> {
    let name = required_text(what, name, max_chars)?;
    let parts: Vec<&str> = name.split("::").map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(TicketError::invalid(format!(
            "{what} `{name}` has an empty part: write paths like `E-Mail::Exchange`"
        )));
    }
    Ok(parts.join("::"))
}

/// The queues every tenant starts with, in its `users` group (as in Znuny); customers open
/// tickets from the portal in `Misc`.
pub const DEFAULT_QUEUES: [(&str, bool); 4] = [
    ("Postmaster", false),
    ("Raw", false),
    ("Junk", false),
    ("Misc", true),
];

/// The group whose queues a new tenant's default queues join.
pub const DEFAULT_QUEUE_GROUP: &str = "users";

/// The ticket types every tenant starts with.
pub const DEFAULT_TICKET_TYPES: [&str; 5] = [
    "Unclassified",
    "Incident",
    "Service Request",
    "Problem",
    "Security Incident",
];

/// What a ticket is classified by: a list per tenant (ticket types), or a tree (the service
/// catalogue, whose names are paths like `E-Mail::Exchange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalogue {
    Services,
    TicketTypes,
}

impl Catalogue {
    pub fn table(self) -> &'static str {
        match self {
            Self::Services => "services",
            Self::TicketTypes => "ticket_types",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Self::Services => "service",
            Self::TicketTypes => "ticket type",
        }
    }
}

/// An entry of a tenant's service catalogue or list of ticket types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    /// For services the whole path, `E-Mail::Exchange`; its parent is `E-Mail`.
    pub name: String,
    pub parent_id: Option<uuid::Uuid>,
    pub created_at: Micros,
    /// Services: customers may choose it in the portal (ticket types: always).
    pub portal: bool,
}

/// Checks a catalogue name; for services each `::`-separated part must be non-empty.
pub fn catalogue_name(catalogue: Catalogue, name: &str) -> Result<String, TicketError> {
    if catalogue == Catalogue::Services {
        return path_name("service", name, 250);
    }
    let name = required_text(catalogue.kind(), name, 250)?;
    if name.contains("::") {
        return Err(TicketError::invalid(
            "ticket types are a flat list: no `::`",
        ));
    }
    Ok(name)
}

/// The parent path of a service (`E-Mail` for `E-Mail::Exchange`), if it has one.
pub fn parent_path(name: &str) -> Option<&str> {
    name.rsplit_once("::").map(|(parent, _)| parent)
}
