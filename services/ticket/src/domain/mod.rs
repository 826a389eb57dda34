//! The ticket domain: values parsed once and valid afterwards. Nothing here knows SQL, protobuf or
//! HTTP; conversions live in `storage` and `grpc`.

use docket_platform::typed_id;
use serde::{Deserialize, Serialize};

use crate::error::TicketError;

mod number;
mod people;
mod queue;
mod ticket;

pub use number::*;
pub use people::*;
pub use queue::*;
pub use ticket::*;

typed_id!(
    /// A tenant: a logically separated client of the installation.
    pub TenantId,
    "tenant"
);
typed_id!(pub QueueId, "queue");
typed_id!(pub TicketId, "ticket");
typed_id!(pub ArticleId, "article");
// Owned by the identity service; ticket core keeps the ones it needs from its events.
typed_id!(
    /// A group of agents' permissions; every queue belongs to one.
    pub GroupId,
    "group"
);
typed_id!(pub AgentId, "agent");
typed_id!(
    /// An entry of a tenant's service catalogue.
    pub ServiceId,
    "service"
);
typed_id!(pub TicketTypeId, "ticket type");
typed_id!(pub CustomerId, "customer");
typed_id!(pub CompanyId, "company");
typed_id!(pub SavedSearchId, "saved search");

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// A closed list of values named by fixed texts (`docket_platform::text_enum!`), failing to parse
/// as a [`TicketError`](crate::error::TicketError). Used for every such list of ticket core.
macro_rules! text_enum {
    ($($list:tt)*) => {
        docket_platform::text_enum!($crate::error::TicketError; $($list)*);
    };
}
pub(crate) use text_enum;

text_enum!(
    /// The state of a ticket, as in Znuny/OTRS. Each belongs to a [`StateType`], which is what the
    /// rest of the system reasons about.
    TicketState, "ticket state" {
        New = "new",
        Open = "open",
        /// Comes back to its owner at `pending_until` (resubmission).
        PendingReminder = "pending_reminder",
        /// Closes itself as successful at `pending_until`.
        PendingAutoCloseSuccessful = "pending_auto_close_successful",
        /// Closes itself as unsuccessful at `pending_until`.
        PendingAutoCloseUnsuccessful = "pending_auto_close_unsuccessful",
        ClosedSuccessful = "closed_successful",
        ClosedUnsuccessful = "closed_unsuccessful",
        /// Merged into another ticket; only merging sets it.
        Merged = "merged",
        Removed = "removed",
    }
);
text_enum!(
    /// What a state means: the classes of states the service desk works with.
    StateType, "state type" {
        New = "new",
        Open = "open",
        PendingReminder = "pending_reminder",
        PendingAuto = "pending_auto",
        Closed = "closed",
        Merged = "merged",
        Removed = "removed",
    }
);

impl StateType {
    /// The state types of tickets still being worked on: not closed, merged or removed.
    pub const WORKED_ON: [StateType; 4] = [
        Self::New,
        Self::Open,
        Self::PendingReminder,
        Self::PendingAuto,
    ];
}

impl TicketState {
    pub fn state_type(self) -> StateType {
        match self {
            Self::New => StateType::New,
            Self::Open => StateType::Open,
            Self::PendingReminder => StateType::PendingReminder,
            Self::PendingAutoCloseSuccessful | Self::PendingAutoCloseUnsuccessful => {
                StateType::PendingAuto
            }
            Self::ClosedSuccessful | Self::ClosedUnsuccessful => StateType::Closed,
            Self::Merged => StateType::Merged,
            Self::Removed => StateType::Removed,
        }
    }

    /// Whether the state waits for a date (`pending_until`).
    pub fn is_pending(self) -> bool {
        matches!(
            self.state_type(),
            StateType::PendingReminder | StateType::PendingAuto
        )
    }

    /// The states a change may set, in the order forms offer them: every state but `merged`,
    /// which only merging sets, and `removed`.
    pub const SETTABLE: [TicketState; 7] = [
        Self::New,
        Self::Open,
        Self::PendingReminder,
        Self::PendingAutoCloseSuccessful,
        Self::PendingAutoCloseUnsuccessful,
        Self::ClosedSuccessful,
        Self::ClosedUnsuccessful,
    ];

    /// Whether the work on the ticket is over (closed, merged or removed).
    pub fn is_final(self) -> bool {
        matches!(
            self.state_type(),
            StateType::Closed | StateType::Merged | StateType::Removed
        )
    }
}
text_enum!(
    /// How two tickets are linked.
    LinkKind, "link kind" {
        /// A case split into sub-tickets: the parent tracks its children's progress.
        ParentChild = "parent_child",
        Related = "related",
    }
);
text_enum!(
    /// What a linked ticket is to the ticket whose links are listed.
    Relation, "relation" { Parent = "parent", Child = "child", Related = "related" }
);

/// A ticket linked to another, with what shows its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedTicket {
    pub relation: Relation,
    pub ticket_id: TicketId,
    pub number: TicketNumber,
    pub title: String,
    pub state: TicketState,
    pub queue_id: QueueId,
    pub owner_id: Option<AgentId>,
}

text_enum!(
    /// Who wrote an article.
    SenderType, "sender type" { Customer = "customer", Agent = "agent", System = "system" }
);
text_enum!(
    /// How an article arrived or was sent.
    Channel, "channel" { Email = "email", Phone = "phone", Portal = "portal", Note = "note" }
);

/// Priority from 1 (very low) to 5 (very high).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "i64")]
pub struct Priority(u8);

impl From<Priority> for u8 {
    fn from(p: Priority) -> u8 {
        p.0
    }
}

impl TryFrom<i64> for Priority {
    type Error = TicketError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl Priority {
    pub const DEFAULT: Priority = Priority(3);

    pub fn new(value: i64) -> Result<Self, TicketError> {
        match u8::try_from(value) {
            Ok(v @ 1..=5) => Ok(Self(v)),
            _ => Err(TicketError::invalid(format!(
                "priority {value} is not between 1 (very low) and 5 (very high)"
            ))),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// Who made a change: an agent, a customer or the system. Set by the caller's authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    pub fn new(name: &str) -> Result<Self, TicketError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(TicketError::invalid("actor must be 1 to 200 characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn system() -> Self {
        Self("system".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a required, bounded, single-line text field and returns it trimmed.
pub fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, TicketError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(TicketError::invalid(format!("{field} must not be empty")));
    }
    optional_text(field, v, max_chars)
}

/// Checks a bounded text field (may be empty) and returns it trimmed.
pub fn optional_text(field: &str, value: &str, max_chars: usize) -> Result<String, TicketError> {
    let v = value.trim();
    if v.chars().count() > max_chars {
        return Err(TicketError::invalid(format!(
            "{field} is longer than {max_chars} characters"
        )));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(TicketError::invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(v.to_owned())
}

/// An optional value as text, empty for none: how ids, dates and versions travel in protobuf
/// and in the change lists of history entries and events.
pub fn opt_text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub created_at: Micros,
}

/// A group, as the identity service announced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: String,
}

/// A customer user, as the identity service announced them: enough to file their tickets and
/// to show how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerRecord {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub company_id: Option<CompanyId>,
    pub contact: Contact,
}

/// How to reach a ticket's customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub phone: String,
    /// Company and department.
    pub organisation: String,
}

impl Contact {
    /// Checks what an agent took down; the email, if given, must be an address.
    pub fn parse(
        name: &str,
        email: &str,
        phone: &str,
        organisation: &str,
    ) -> Result<Self, TicketError> {
        let email = optional_text("contact email", email, 254)?;
        Ok(Self {
            name: optional_text("contact name", name, 200)?,
            email: if email.is_empty() {
                email
            } else {
                EmailAddress::parse(&email)?.to_string()
            },
            phone: optional_text("contact phone", phone, 64)?,
            organisation: optional_text("contact organisation", organisation, 200)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_empty()
            && self.email.is_empty()
            && self.phone.is_empty()
            && self.organisation.is_empty()
    }
}

/// A state a tenant defined, behaving as one of the built-in states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomState {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    pub base: TicketState,
    pub created_at: Micros,
}

/// Checks a custom state's name: not one of the built-in states' names.
pub fn custom_state_name(name: &str) -> Result<String, TicketError> {
    let name = required_text("state name", name, 100)?;
    if name.parse::<TicketState>().is_ok() {
        return Err(TicketError::invalid(format!(
            "`{name}` is a built-in state already"
        )));
    }
    Ok(name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArticle {
    pub sender: SenderType,
    pub channel: Channel,
    pub visible_to_customer: bool,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<crate::attachments::NewAttachment>,
    /// Time spent on it, in minutes (agents' time accounting).
    pub time_minutes: u32,
    /// Makes a retried create or append return what the first one made (e.g. `mail:<id>`).
    pub idempotency_key: Option<String>,
    /// Sent by a robot (an auto-reply, a bounce, list mail): it never changes the ticket's state
    /// ([`Ticket::follow_up`]).
    pub automatic: bool,
}

impl NewArticle {
    /// Largest article body accepted, in bytes.
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;

    pub fn parse(
        sender: SenderType,
        channel: Channel,
        visible_to_customer: bool,
        subject: &str,
        body: &str,
    ) -> Result<Self, TicketError> {
        if body.len() > Self::MAX_BODY_BYTES {
            return Err(TicketError::TooLarge(format!(
                "article body is larger than {} bytes",
                Self::MAX_BODY_BYTES
            )));
        }
        if body.trim().is_empty() {
            return Err(TicketError::invalid("article body must not be empty"));
        }
        if channel == Channel::Note && visible_to_customer && sender != SenderType::Customer {
            // A note an agent marks visible is allowed (OTRS "note-external"); nothing to reject.
        }
        Ok(Self {
            sender,
            channel,
            visible_to_customer,
            subject: optional_text("subject", subject, 250)?,
            body: body.to_owned(),
            attachments: Vec::new(),
            time_minutes: 0,
            idempotency_key: None,
            automatic: false,
        })
    }

    /// The same article with an idempotency key: a retry with the same key makes nothing new.
    pub fn with_idempotency_key(mut self, key: &str) -> Result<Self, TicketError> {
        let key = key.trim();
        if key.is_empty() {
            return Ok(self);
        }
        if key.len() > 200 || key.chars().any(char::is_control) {
            return Err(TicketError::invalid(
                "idempotency_key must be at most 200 characters without control characters",
            ));
        }
        self.idempotency_key = Some(key.to_owned());
        Ok(self)
    }

    /// The same article with these attachments, checked together.
    pub fn with_attachments(
        mut self,
        attachments: Vec<crate::attachments::NewAttachment>,
    ) -> Result<Self, TicketError> {
        crate::attachments::check_all(&attachments)?;
        self.attachments = attachments;
        Ok(self)
    }

    /// The same article with time accounted, in minutes (at most a week).
    pub fn with_time(mut self, minutes: u32) -> Result<Self, TicketError> {
        if minutes > 7 * 24 * 60 {
            return Err(TicketError::invalid(format!(
                "{minutes} minutes is more than a week: account time per article"
            )));
        }
        self.time_minutes = minutes;
        Ok(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub id: ArticleId,
    pub ticket_id: TicketId,
    pub sender: SenderType,
    pub channel: Channel,
    pub visible_to_customer: bool,
    pub subject: String,
    pub body: String,
    pub author: String,
    pub created_at: Micros,
    pub attachments: Vec<crate::attachments::Attachment>,
    /// Time spent on it, in minutes.
    pub time_minutes: u32,
    /// How the mail it went out as fares (articles sent by mail only).
    pub delivery: Option<Delivery>,
}

text_enum!(
    /// Where an outgoing mail is.
    DeliveryState, "delivery state" {
        /// Waiting for its first attempt.
        Queued = "queued",
        /// The receiving server accepted it.
        Sent = "sent",
        /// An attempt failed; another follows.
        Retrying = "retrying",
        /// Given up: refused for good, or too many attempts.
        Failed = "failed",
    }
);

/// The state of the mail an article went out as, as the mail service reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Delivery {
    pub state: DeliveryState,
    pub attempts: u32,
    /// The last server answer or error.
    pub detail: String,
    /// The Message-ID it went out with.
    pub message_id: String,
    /// The recipients.
    pub to: Vec<String>,
    pub updated_at: Micros,
}

/// One entry of a ticket's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub seq: u64,
    pub kind: String,
    pub actor: String,
    pub occurred_at: Micros,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Priority,
}

impl SortField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Priority => "priority",
        }
    }
}

/// Which tickets a listing may return: decided by the caller's access (see `access`), applied by
/// the store in its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// A service: every ticket.
    All,
    /// An agent: tickets in queues of these groups, and tickets these agents own in these tenants
    /// (their own, and those of absent agents they substitute).
    Agent {
        groups: Vec<GroupId>,
        owners: Vec<(TenantId, AgentId)>,
        /// The agent: tickets they collaborate on in these tenants.
        collaborator: Option<(Vec<TenantId>, AgentId)>,
    },
    /// A customer user: their own tickets, and their company's if they may see those.
    Customer {
        tenant_id: TenantId,
        customer_id: CustomerId,
        company_id: Option<CompanyId>,
    },
}

/// A page request for tickets: those visible that match the filter.
#[derive(Debug, Clone)]
pub struct TicketListQuery {
    pub filter: crate::search::TicketFilter,
    pub visibility: Visibility,
    pub sort: SortField,
    pub descending: bool,
    pub page_size: u32,
    pub page_token: Option<String>,
}

impl TicketListQuery {
    pub const DEFAULT_PAGE_SIZE: u32 = 25;
    pub const MAX_PAGE_SIZE: u32 = 500;

    pub fn page_size(&self) -> Result<u32, TicketError> {
        match self.page_size {
            0 => Ok(Self::DEFAULT_PAGE_SIZE),
            n if n <= Self::MAX_PAGE_SIZE => Ok(n),
            n => Err(TicketError::invalid(format!(
                "page size {n} is larger than {}",
                Self::MAX_PAGE_SIZE
            ))),
        }
    }
}

/// A queue's tickets being worked on, by state type; `escalated` counts those among them past
/// their target date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCounts {
    pub queue_id: QueueId,
    pub new: u64,
    pub open: u64,
    pub pending: u64,
    pub escalated: u64,
}

impl QueueCounts {
    pub fn new(queue_id: QueueId) -> Self {
        Self {
            queue_id,
            new: 0,
            open: 0,
            pending: 0,
            escalated: 0,
        }
    }

    /// Counts `n` tickets of a state type (closed ones are not counted).
    pub fn add(&mut self, state_type: StateType, n: u64) {
        match state_type {
            StateType::New => self.new += n,
            StateType::Open => self.open += n,
            StateType::PendingReminder | StateType::PendingAuto => self.pending += n,
            StateType::Closed | StateType::Merged | StateType::Removed => {}
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// What one call of `announce_due` announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    pub reminders: usize,
    pub escalations: usize,
}

/// The two kinds of time that come for a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    /// A pending-reminder ticket's pending time.
    Reminder,
    /// A ticket's target date.
    Escalation,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_one_to_five() {
        assert!(Priority::new(0).is_err());
        assert!(Priority::new(6).is_err());
        assert!(Priority::new(-1).is_err());
        assert_eq!(Priority::new(5).unwrap().get(), 5);
    }

    #[test]
    fn enums_round_trip_and_name_the_choices() {
        for s in TicketState::ALL {
            assert_eq!(s.as_str().parse::<TicketState>().unwrap(), *s);
        }
        let err = "pending".parse::<TicketState>().unwrap_err().to_string();
        assert!(err.contains("new, open, pending_reminder"), "{err}");
    }

    #[test]
    fn every_state_has_its_type() {
        use TicketState::*;
        let pending: Vec<_> = TicketState::ALL.iter().filter(|s| s.is_pending()).collect();
        assert_eq!(
            pending,
            [
                &PendingReminder,
                &PendingAutoCloseSuccessful,
                &PendingAutoCloseUnsuccessful
            ]
        );
        let done: Vec<_> = TicketState::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            done,
            [&ClosedSuccessful, &ClosedUnsuccessful, &Merged, &Removed]
        );
        assert_eq!(
            PendingAutoCloseUnsuccessful.state_type(),
            StateType::PendingAuto
        );
        assert_eq!(New.state_type().as_str(), "new");
    }

    #[test]
    fn services_are_paths_and_types_are_flat() {
        let s = catalogue_name(Catalogue::Services, " E-Mail :: Exchange ").unwrap();
        assert_eq!(s, "E-Mail::Exchange");
        assert_eq!(parent_path(&s), Some("E-Mail"));
        assert_eq!(parent_path("E-Mail"), None);
        assert!(catalogue_name(Catalogue::Services, "E-Mail::").is_err());
        assert!(catalogue_name(Catalogue::Services, "::x").is_err());
        assert!(catalogue_name(Catalogue::TicketTypes, "A::B").is_err());
        assert_eq!(
            catalogue_name(Catalogue::TicketTypes, " Incident ").unwrap(),
            "Incident"
        );
    }

    #[test]
    fn email_addresses_are_checked_and_lower_cased() {
        assert_eq!(
            EmailAddress::parse(" Support@Uni.Example ")
                .unwrap()
                .as_str(),
            "support@uni.example"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@uni.example",
            "a@.example",
            "a b@uni.example",
            "a..b@x.de",
            "a@x.de.",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        let q = NewQueue::parse(TenantId::new(), "A :: B", GroupId::new(), false).unwrap();
        assert_eq!(q.name, "A::B");
        let twice = vec![EmailAddress::parse("a@x.de").unwrap(); 2];
        assert_eq!(
            q.with("", FollowUp::Reject, twice).unwrap().addresses.len(),
            1
        );
        assert!(QueueChange::parse(None, None, None, None, None, None).is_err());
    }

    #[test]
    fn text_fields_are_bounded_and_trimmed() {
        assert_eq!(required_text("title", "  hi ", 10).unwrap(), "hi");
        assert!(required_text("title", "   ", 10).is_err());
        assert!(required_text("title", "x\u{0}y", 10).is_err());
        assert!(required_text("title", &"x".repeat(11), 10).is_err());
    }
}
