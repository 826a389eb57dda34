//! A ticket and the rules of changing it: states and their pending dates, locks, closing,
//! follow-ups, what a customer may change, merging. Every rule is a pure function of the ticket
//! and what the store looked up for it; the store loads, calls these and writes the result.
//!
//! The rules, in the order [`Ticket::apply`] checks them:
//! - an update names the version it was made against, or none; another version is a conflict;
//! - a tenant's own state (`custom_state`) behaves as a built-in one; naming both is a mistake;
//! - `merged` is reached only by merging, and a merged ticket is not worked on any more;
//! - a pending state needs the date it is due and keeps it while it stays pending; no other state
//!   has one;
//! - the owner locks a ticket while working on it: a lock needs an owner; giving the ticket away
//!   keeps the lock only with an owner; closing, merging or removing unlocks it;
//! - a ticket moves only to a queue of its own tenant (another tenant's queue is unknown here);
//! - closing dates the close, reopening clears it, closed to closed keeps the first date;
//! - a change that alters nothing leaves the ticket (and its version) as it was.

use serde::Serialize;

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub number: TicketNumber,
    pub queue_id: QueueId,
    pub title: String,
    pub state: TicketState,
    /// When a pending state is due; set exactly while the state is pending.
    pub pending_until: Option<Micros>,
    /// Locked by its owner while they work on it.
    pub locked: bool,
    pub priority: Priority,
    /// The agent responsible.
    pub owner_id: Option<AgentId>,
    /// How the customer was named when the ticket arrived (an address, a name); free text.
    pub customer: Option<String>,
    /// The customer user the ticket is for: they (and, if allowed, their company) see it.
    pub customer_id: Option<CustomerId>,
    /// The customer's company when the ticket was opened.
    pub company_id: Option<CompanyId>,
    pub type_id: Option<TicketTypeId>,
    pub service_id: Option<ServiceId>,
    /// The agent responsible for the outcome, beside the owner who works it.
    pub responsible_id: Option<AgentId>,
    /// When the requester wants it done, and when the coordinator plans it: side by side.
    pub desired_at: Option<Micros>,
    pub target_at: Option<Micros>,
    pub created_at: Micros,
    pub updated_at: Micros,
    /// When it was closed; cleared when it is reopened.
    pub closed_at: Option<Micros>,
    /// The ticket it was merged into (state `merged`).
    pub merged_into: Option<TicketId>,
    /// How to reach the customer.
    pub contact: Contact,
    /// Time accounted on its articles, in minutes.
    pub time_minutes: u64,
    /// The tenant's own state the ticket is in, if any; `state` is what it behaves as.
    pub custom_state: Option<String>,
    /// Kept past the retention period: a legal hold, or its requester objected to deletion.
    pub legal_hold: bool,
    pub retention_objection: bool,
    pub version: u64,
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub queue_id: QueueId,
    pub title: String,
    pub priority: Priority,
    pub customer: Option<String>,
    /// The customer user; their company is looked up when the ticket is stored.
    pub customer_id: Option<CustomerId>,
    pub type_id: Option<TicketTypeId>,
    pub service_id: Option<ServiceId>,
    /// Opens the ticket as a sub-ticket of this one (split a case), linked in the same change.
    pub parent_id: Option<TicketId>,
    /// When the requester wants it done.
    pub desired_at: Option<Micros>,
    /// How to reach the customer; empty: from the customer user's record.
    pub contact: Contact,
    pub article: Option<NewArticle>,
}

impl NewTicket {
    pub fn parse(
        queue_id: QueueId,
        title: &str,
        priority: Option<Priority>,
        customer: &str,
        customer_id: Option<CustomerId>,
        article: Option<NewArticle>,
    ) -> Result<Self, TicketError> {
        let customer = optional_text("customer", customer, 250)?;
        Ok(Self {
            queue_id,
            title: required_text("title", title, 250)?,
            priority: priority.unwrap_or(Priority::DEFAULT),
            customer: (!customer.is_empty()).then_some(customer),
            customer_id,
            type_id: None,
            service_id: None,
            parent_id: None,
            desired_at: None,
            contact: Contact::default(),
            article,
        })
    }
}

/// A change to a ticket's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    /// Apply only if the ticket is still at this version (optimistic concurrency).
    pub expected_version: Option<u64>,
    pub state: Option<TicketState>,
    /// The date a pending state is due: required with a pending state, refused with any other.
    pub pending_until: Option<Micros>,
    /// Lock (the owner works on it) or unlock.
    pub locked: Option<bool>,
    pub priority: Option<Priority>,
    /// `Some(None)` clears the owner.
    pub owner: Option<Option<AgentId>>,
    pub queue_id: Option<QueueId>,
    /// `Some(None)` clears the classification.
    pub type_id: Option<Option<TicketTypeId>>,
    pub service_id: Option<Option<ServiceId>>,
    /// `Some(None)` clears them.
    pub responsible: Option<Option<AgentId>>,
    pub desired_at: Option<Option<Micros>>,
    pub target_at: Option<Option<Micros>>,
    /// Replaces how to reach the customer.
    pub contact: Option<Contact>,
    /// One of the tenant's own states (it sets `state` to the built-in one it behaves as).
    pub custom_state: Option<String>,
}

impl TicketUpdate {
    pub fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.pending_until.is_none()
            && self.locked.is_none()
            && self.priority.is_none()
            && self.owner.is_none()
            && self.queue_id.is_none()
            && self.type_id.is_none()
            && self.service_id.is_none()
            && self.responsible.is_none()
            && self.desired_at.is_none()
            && self.target_at.is_none()
            && self.contact.is_none()
            && self.custom_state.is_none()
    }
}

/// One field a change altered, as the history and the `ticket.updated` event record it: the old
/// and new values as text, empty for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// What an update does to a ticket: the ticket after it and the fields it altered, in a fixed
/// order. Without fields nothing changed and `ticket` is the ticket as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub ticket: Ticket,
    pub fields: Vec<FieldChange>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// What the store looked up for an update in rows other than the ticket's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateFacts {
    /// The built-in state the tenant's own state named by the update behaves as; `None` when the
    /// tenant has no state of that name.
    pub custom_state_base: Option<TicketState>,
    /// The tenant of the queue the update moves the ticket to.
    pub target_queue_tenant: Option<TenantId>,
}

/// What a customer's reply does to the ticket it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpAction {
    /// The ticket is being worked on: the reply is added to it.
    Continue,
    /// The ticket opens again (state `open`), then the reply is added.
    Reopen,
    /// The reply is kept on the ticket as an internal note; the state stays (automatic mail to a
    /// closed ticket).
    Note,
    /// A new ticket, linked to this one, takes the reply.
    NewTicket,
}

impl Queue {
    /// What a customer's article to a closed ticket of this queue does: automatic mail as
    /// `automatic_mail` says, anything else (and automatic mail handled as a reply) by the
    /// follow-up policy.
    pub fn for_closed(
        &self,
        ticket: &Ticket,
        automatic: bool,
    ) -> Result<FollowUpAction, TicketError> {
        if automatic && self.automatic_mail == AutomaticMail::Note {
            return Ok(FollowUpAction::Note);
        }
        self.follow_up.for_closed(ticket)
    }
}

impl FollowUp {
    /// What a customer's reply to a closed ticket does under this queue policy.
    pub fn for_closed(self, ticket: &Ticket) -> Result<FollowUpAction, TicketError> {
        match self {
            Self::Reopen => Ok(FollowUpAction::Reopen),
            Self::NewTicket => Ok(FollowUpAction::NewTicket),
            Self::Reject => Err(TicketError::Conflict(format!(
                "ticket {} is closed and its queue takes no replies to closed tickets: please open a new ticket",
                ticket.number
            ))),
        }
    }
}

impl Ticket {
    /// Opens a ticket from what was asked for and what the store found: its tenant (the queue's),
    /// its number, and the customer user it belongs to with their company and record. What the
    /// agent took down as the contact wins over the customer's record.
    pub fn open(
        new: &NewTicket,
        tenant_id: TenantId,
        number: TicketNumber,
        customer: Option<(CustomerId, Option<CompanyId>, Contact)>,
        now: Micros,
    ) -> Ticket {
        let (customer_id, company_id, known) = match customer {
            Some((id, company, contact)) => (Some(id), company, contact),
            None => (None, None, Contact::default()),
        };
        let contact = if new.contact.is_empty() {
            known
        } else {
            new.contact.clone()
        };
        Ticket {
            id: TicketId::new(),
            tenant_id,
            number,
            queue_id: new.queue_id,
            title: new.title.clone(),
            state: TicketState::New,
            pending_until: None,
            locked: false,
            priority: new.priority,
            owner_id: None,
            customer: new.customer.clone(),
            customer_id,
            company_id,
            type_id: new.type_id,
            service_id: new.service_id,
            responsible_id: None,
            desired_at: new.desired_at,
            target_at: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_into: None,
            contact,
            time_minutes: 0,
            custom_state: None,
            legal_hold: false,
            retention_objection: false,
            version: 1,
        }
    }

    /// Refuses a change made against another version than the ticket's (optimistic concurrency).
    pub fn check_version(&self, expected: Option<u64>) -> Result<(), TicketError> {
        match expected {
            Some(expected) if expected != self.version => Err(TicketError::Conflict(format!(
                "ticket {} is at version {}, not {expected}: it was changed meanwhile; reload and try again",
                self.id, self.version
            ))),
            _ => Ok(()),
        }
    }

    /// The ticket after `update`, with the fields it altered (see the module's rules). `facts`
    /// holds what the store looked up for the update; `now` dates the change.
    pub fn apply(
        &self,
        update: &TicketUpdate,
        facts: &UpdateFacts,
        now: Micros,
    ) -> Result<Change, TicketError> {
        self.check_version(update.expected_version)?;
        let current = self;
        let mut next = current.clone();
        let mut fields = Vec::new();
        let mut change = |field: &'static str, old: String, new: String| {
            if old != new {
                fields.push(FieldChange { field, old, new });
            }
        };
        let mut state = update.state;
        if let Some(name) = &update.custom_state {
            if update.state.is_some() {
                return Err(TicketError::invalid(
                    "give a built-in state or one of the tenant's own, not both",
                ));
            }
            let base = facts
                .custom_state_base
                .ok_or_else(|| TicketError::not_found("state", name.trim()))?;
            state = Some(base);
            next.custom_state = Some(name.trim().to_owned());
        } else if update.state.is_some() {
            next.custom_state = None;
        }
        change(
            "custom_state",
            opt_text(current.custom_state.as_deref()),
            opt_text(next.custom_state.as_deref()),
        );
        if let Some(state) = state {
            if current.state == TicketState::Merged && state != TicketState::Merged {
                return Err(TicketError::Conflict(format!(
                    "ticket {} was merged into another ticket: work on that one",
                    current.number
                )));
            }
            if state == TicketState::Merged && current.state != TicketState::Merged {
                return Err(TicketError::invalid(
                    "a ticket becomes `merged` by merging it into another, not by setting the state",
                ));
            }
            change("state", current.state.to_string(), state.to_string());
            next.state = state;
        }
        next.pending_until = match (next.state.is_pending(), update.pending_until) {
            (true, Some(at)) => Some(at),
            (true, None) if current.state.is_pending() => current.pending_until,
            (true, None) => {
                return Err(TicketError::invalid(format!(
                    "the state `{}` needs pending_until, the date it is due",
                    next.state
                )));
            }
            (false, Some(_)) => {
                return Err(TicketError::invalid(format!(
                    "pending_until is only for pending states, not `{}`",
                    next.state
                )));
            }
            (false, None) => None,
        };
        change(
            "pending_until",
            opt_text(current.pending_until),
            opt_text(next.pending_until),
        );
        if let Some(priority) = update.priority {
            change(
                "priority",
                current.priority.get().to_string(),
                priority.get().to_string(),
            );
            next.priority = priority;
        }
        if let Some(owner) = update.owner {
            change("owner_id", opt_text(current.owner_id), opt_text(owner));
            next.owner_id = owner;
        }
        if let Some(type_id) = update.type_id {
            change("type_id", opt_text(current.type_id), opt_text(type_id));
            next.type_id = type_id;
        }
        if let Some(service_id) = update.service_id {
            change(
                "service_id",
                opt_text(current.service_id),
                opt_text(service_id),
            );
            next.service_id = service_id;
        }
        if let Some(responsible) = update.responsible {
            change(
                "responsible_id",
                opt_text(current.responsible_id),
                opt_text(responsible),
            );
            next.responsible_id = responsible;
        }
        if let Some(desired) = update.desired_at {
            change(
                "desired_at",
                opt_text(current.desired_at),
                opt_text(desired),
            );
            next.desired_at = desired;
        }
        if let Some(contact) = &update.contact {
            for (field, old, new) in [
                ("contact_name", &current.contact.name, &contact.name),
                ("contact_email", &current.contact.email, &contact.email),
                ("contact_phone", &current.contact.phone, &contact.phone),
                (
                    "contact_organisation",
                    &current.contact.organisation,
                    &contact.organisation,
                ),
            ] {
                change(field, old.clone(), new.clone());
            }
            next.contact = contact.clone();
        }
        if let Some(target) = update.target_at {
            change("target_at", opt_text(current.target_at), opt_text(target));
            next.target_at = target;
        }
        next.locked = update
            .locked
            .unwrap_or(current.locked && next.owner_id.is_some())
            && !next.state.is_final();
        if next.locked && next.owner_id.is_none() {
            return Err(TicketError::invalid(
                "a locked ticket needs an owner: give owner_id, or take the ticket",
            ));
        }
        change(
            "locked",
            current.locked.to_string(),
            next.locked.to_string(),
        );
        if let Some(queue_id) = update.queue_id {
            if facts.target_queue_tenant != Some(current.tenant_id) {
                // A queue of another tenant is invisible from here.
                return Err(TicketError::not_found("queue", queue_id));
            }
            change(
                "queue_id",
                current.queue_id.to_string(),
                queue_id.to_string(),
            );
            next.queue_id = queue_id;
        }
        if fields.is_empty() {
            return Ok(Change {
                ticket: current.clone(),
                fields,
            });
        }
        next.version = current.version + 1;
        next.updated_at = now;
        let closed = |t: &Ticket| t.state.state_type() == StateType::Closed;
        next.closed_at = match (closed(current), closed(&next)) {
            (false, true) => Some(now),
            (_, false) => None,
            (true, true) => current.closed_at,
        };
        Ok(Change {
            ticket: next,
            fields,
        })
    }

    /// What a customer's article does to this ticket: one being worked on takes it; a pending
    /// one opens again, unless the article is `automatic` (an auto-reply, a bounce, list mail:
    /// automatic mail never changes a state); a merged or removed one takes none. `None`: the
    /// ticket is closed, and its queue decides ([`Queue::for_closed`]).
    pub fn follow_up(&self, automatic: bool) -> Result<Option<FollowUpAction>, TicketError> {
        match self.state.state_type() {
            StateType::New | StateType::Open => Ok(Some(FollowUpAction::Continue)),
            StateType::PendingReminder | StateType::PendingAuto if automatic => {
                Ok(Some(FollowUpAction::Continue))
            }
            StateType::PendingReminder | StateType::PendingAuto => Ok(Some(FollowUpAction::Reopen)),
            StateType::Closed => Ok(None),
            StateType::Merged | StateType::Removed => Err(TicketError::Conflict(format!(
                "ticket {} is {} and takes no replies",
                self.number, self.state
            ))),
        }
    }

    /// The ticket that takes a customer's reply when its closed original's queue opens a new
    /// one: the original's queue, title, priority, customer and classification.
    pub fn follow_up_ticket(&self, article: NewArticle) -> NewTicket {
        NewTicket {
            queue_id: self.queue_id,
            title: self.title.clone(),
            priority: self.priority,
            customer: self.customer.clone(),
            customer_id: self.customer_id,
            type_id: self.type_id,
            service_id: self.service_id,
            parent_id: None,
            desired_at: None,
            contact: self.contact.clone(),
            article: Some(article),
        }
    }

    /// What a customer may do to her own ticket: close it while it is open, and reopen it once
    /// closed where the queue (`follow_up`, its policy) lets follow-ups reopen tickets. Nothing
    /// else.
    pub fn customer_may_change(
        &self,
        follow_up: FollowUp,
        update: &TicketUpdate,
    ) -> Result<(), TicketError> {
        let only_state = TicketUpdate {
            state: None,
            expected_version: None,
            ..update.clone()
        }
        .is_empty();
        let closed = self.state.state_type() == StateType::Closed;
        match update.state {
            Some(TicketState::ClosedSuccessful) if only_state && !self.state.is_final() => Ok(()),
            Some(TicketState::Open) if only_state && closed => {
                if follow_up == FollowUp::Reopen {
                    Ok(())
                } else {
                    Err(TicketError::denied(
                        "this queue does not reopen closed requests: please open a new one",
                    ))
                }
            }
            _ => Err(TicketError::denied(
                "customers can only close their open requests and reopen closed ones",
            )),
        }
    }

    /// Whether `self` may be merged into `into`: two tickets of one tenant, neither merged nor
    /// removed. Another tenant's ticket is as unknown here as one that does not exist.
    pub fn check_merge_into(&self, into: &Ticket) -> Result<(), TicketError> {
        if self.id == into.id {
            return Err(TicketError::invalid(
                "a ticket cannot be merged into itself",
            ));
        }
        if self.tenant_id != into.tenant_id {
            return Err(TicketError::not_found("ticket", into.id));
        }
        for t in [self, into] {
            if matches!(t.state.state_type(), StateType::Merged | StateType::Removed) {
                return Err(TicketError::Conflict(format!(
                    "ticket {} is {}: it cannot be merged",
                    t.number, t.state
                )));
            }
        }
        Ok(())
    }

    /// The ticket's next version, changed at `now` in what it has besides its own fields (tags,
    /// custom fields, collaborators, links).
    pub fn touched(&self, now: Micros) -> Ticket {
        Ticket {
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The ticket after it was merged into `into`: `merged`, unlocked, without a pending date,
    /// pointing at its target.
    pub fn merged_into(&self, into: TicketId, now: Micros) -> Ticket {
        Ticket {
            state: TicketState::Merged,
            locked: false,
            pending_until: None,
            merged_into: Some(into),
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// Whether `self` may be linked to `other` as `kind` (`self` the parent of a parent-child
    /// link): two tickets of one tenant, not the same one; the new child must not be one of the
    /// parent's `ancestors` (nearest first), so sub-tickets form a tree. Another tenant's ticket is
    /// as unknown here as one that does not exist.
    pub fn check_link(
        &self,
        other: &Ticket,
        kind: LinkKind,
        ancestors: &[TicketId],
    ) -> Result<(), TicketError> {
        if self.id == other.id {
            return Err(TicketError::invalid("a ticket cannot be linked to itself"));
        }
        if self.tenant_id != other.tenant_id {
            return Err(TicketError::not_found("ticket", other.id));
        }
        if kind == LinkKind::ParentChild && ancestors.contains(&other.id) {
            return Err(TicketError::Conflict(format!(
                "ticket {} is an ancestor of {}: it cannot become its child",
                other.number, self.number
            )));
        }
        Ok(())
    }
}

impl LinkKind {
    /// How a link between `source` and `target` is stored: the parent first, or for related
    /// tickets the smaller id first, so each pair is stored once whichever way it was asked.
    pub fn key(self, source: TicketId, target: TicketId) -> (TicketId, TicketId) {
        match self {
            Self::Related if target < source => (target, source),
            _ => (source, target),
        }
    }
}

#[cfg(test)]
mod tests;
