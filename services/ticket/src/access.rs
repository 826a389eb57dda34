//! Who may do what in ticket core, decided from the caller's verified access token alone.
//!
//! The rules, per tenant, in the Znuny/OTRS model of queue permissions granted to groups:
//! - An agent sees a ticket when they hold `ro` on the group of its queue, own it, or stand in for
//!   its absent owner; `rw` implies every other permission.
//! - Creating a ticket in a queue needs `create`; an internal note `note`; an answer the customer
//!   sees, a state change, moving out of a queue or giving the ticket to somebody else `rw`;
//!   moving into a queue `move_into` on the target; taking the ticket oneself `owner`; changing
//!   the priority `priority`.
//! - A customer user sees their own tickets (and their company's, if granted) in their tenant,
//!   only the articles marked visible to them, never the owner or the history; they open tickets
//!   in portal queues and write customer articles, nothing else.
//! - A service (e.g. mail ingestion) acts for the system and may do everything.
//! - What the caller may not see answers NOT_FOUND, exactly like an id that does not exist; a
//!   visible target with a missing permission answers PERMISSION_DENIED.
//! - Personal API tokens are limited to their scopes: `tickets:read`, `tickets:write` (or `*`).

use std::collections::{BTreeMap, BTreeSet};

use docket_auth::{Claims, Kind, PermSet, Permission};

use crate::domain::*;
use crate::error::TicketError;

/// What the caller may do with a ticket now, decided by the same rules as the checks of each
/// operation: the portal and the desk show exactly these and hold no rule of their own. A true
/// flag is a promise that the operation's permission check passes (the operation may still
/// refuse bad input or a stale version).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketActions {
    /// The states the caller may set, in the order forms offer them (pending ones need a date).
    pub states: Vec<TicketState>,
    /// Write what the customer reads: an agent's answer, or a customer's reply.
    pub reply: bool,
    /// Add an internal note.
    pub note: bool,
    /// Take the ticket and lock it (the `owner` permission).
    pub take: bool,
    /// Unlock it: one's own with `owner`, another's with `rw`.
    pub unlock: bool,
    /// Give it to somebody else or release it, name the responsible agent (`rw`).
    pub assign: bool,
    /// Change the priority, the type and the service (`priority`).
    pub classify: bool,
    /// Move it out of its queue (the target queue also needs `move_into`).
    pub move_queue: bool,
    /// Set the pending, desired and target dates and the customer's contact (`rw`).
    pub plan: bool,
    /// Link, split, merge, tag, set custom fields, add collaborators (`rw`).
    pub work: bool,
    /// Watch it.
    pub watch: bool,
}

/// What an operation does, for API token scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
    /// Running the installation (retention runs and their log): the `admin` scope.
    Admin,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Self::Read => "tickets:read",
            Self::Write => "tickets:write",
            Self::Admin => "admin",
        }
    }
}

/// An agent's access in one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TenantAccess {
    admin: bool,
    groups: BTreeMap<GroupId, PermSet>,
    substitute_for: BTreeSet<AgentId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    Service,
    Agent {
        id: AgentId,
        tenants: BTreeMap<TenantId, TenantAccess>,
        /// Administers every tenant's queues (not their tickets: those need group permissions).
        installation_admin: bool,
    },
    Customer {
        id: CustomerId,
        tenant_id: TenantId,
        company_id: Option<CompanyId>,
        company_tickets: bool,
    },
}

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Recorded as the author of changes.
    pub actor: Actor,
    who: Who,
    scopes: Option<Vec<String>>,
}

fn ids<T: std::str::FromStr + Ord>(
    values: impl IntoIterator<Item = impl AsRef<str>>,
) -> BTreeSet<T> {
    values
        .into_iter()
        .filter_map(|v| v.as_ref().parse().ok())
        .collect()
}

impl Caller {
    /// The caller a verified token names. Ids in it that do not parse grant nothing.
    pub fn from_claims(claims: &Claims) -> Result<Self, TicketError> {
        let malformed = || TicketError::denied("the access token does not name a valid principal");
        let who = match claims.kind {
            Kind::Service => Who::Service,
            Kind::Agent => {
                let id = claims.sub.parse().map_err(|_| malformed())?;
                let tenants = claims
                    .agent
                    .iter()
                    .flat_map(|a| a.tenants.iter())
                    .filter_map(|(tenant, grants)| {
                        let tenant = tenant.parse().ok()?;
                        let groups = grants
                            .groups
                            .iter()
                            .filter_map(|(g, set)| Some((g.parse().ok()?, *set)))
                            .collect();
                        Some((
                            tenant,
                            TenantAccess {
                                admin: grants.admin,
                                groups,
                                substitute_for: ids(&grants.substitute_for),
                            },
                        ))
                    })
                    .collect();
                let installation_admin =
                    claims.agent.as_ref().is_some_and(|a| a.installation_admin);
                Who::Agent {
                    id,
                    tenants,
                    installation_admin,
                }
            }
            Kind::Customer => {
                let grant = claims.customer.as_ref().ok_or_else(malformed)?;
                Who::Customer {
                    id: claims.sub.parse().map_err(|_| malformed())?,
                    tenant_id: grant.tenant_id.parse().map_err(|_| malformed())?,
                    company_id: grant
                        .company_id
                        .as_deref()
                        .map(str::parse)
                        .transpose()
                        .map_err(|_| malformed())?,
                    company_tickets: grant.company_tickets,
                }
            }
        };
        Ok(Self {
            actor: Actor::new(&claims.login)?,
            who,
            scopes: claims.scopes.clone(),
        })
    }

    /// Refuses an API token whose scopes do not cover `scope` (writing covers reading).
    pub fn require(&self, scope: Scope) -> Result<(), TicketError> {
        let Some(scopes) = &self.scopes else {
            return Ok(());
        };
        let covered = scopes.iter().any(|s| {
            s == "*" || s == scope.name() || (scope == Scope::Read && s == Scope::Write.name())
        });
        if covered {
            Ok(())
        } else {
            Err(TicketError::denied(format!(
                "the API token lacks the scope `{}`",
                scope.name()
            )))
        }
    }

    pub fn is_customer(&self) -> bool {
        matches!(self.who, Who::Customer { .. })
    }

    /// The agent's id, if the caller is an agent.
    pub fn agent_id(&self) -> Option<AgentId> {
        match &self.who {
            Who::Agent { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The customer user's id and company, if the caller is one.
    pub fn customer(&self) -> Option<(TenantId, CustomerId, Option<CompanyId>)> {
        match &self.who {
            Who::Customer {
                id,
                tenant_id,
                company_id,
                ..
            } => Some((*tenant_id, *id, *company_id)),
            _ => None,
        }
    }

    /// Whether the caller acts in `tenant_id` at all.
    pub fn belongs_to(&self, tenant_id: TenantId) -> bool {
        match &self.who {
            Who::Service
            | Who::Agent {
                installation_admin: true,
                ..
            } => true,
            Who::Agent { tenants, .. } => tenants.contains_key(&tenant_id),
            Who::Customer { tenant_id: own, .. } => *own == tenant_id,
        }
    }

    /// Whether the caller is an agent of `tenant_id` (granted something there, or nothing: a
    /// member all the same), not just an installation administrator.
    pub fn member_of(&self, tenant_id: TenantId) -> bool {
        self.tenant(tenant_id).is_some()
    }

    fn tenant(&self, tenant_id: TenantId) -> Option<&TenantAccess> {
        match &self.who {
            Who::Agent { tenants, .. } => tenants.get(&tenant_id),
            _ => None,
        }
    }

    /// Whether the caller may do `p` on the queues of `group` in `tenant_id`.
    pub fn may(&self, tenant_id: TenantId, group: Option<GroupId>, p: Permission) -> bool {
        match &self.who {
            Who::Service => true,
            Who::Customer { .. } => false,
            Who::Agent { .. } => self
                .tenant(tenant_id)
                .zip(group)
                .and_then(|(t, g)| t.groups.get(&g))
                .is_some_and(|set| set.allows(p)),
        }
    }

    /// Whether the queue shows up for the caller at all: any permission on its group, the
    /// tenant's administration, or (customers) a portal queue of their tenant.
    pub fn sees_queue(&self, queue: &Queue) -> bool {
        match &self.who {
            Who::Service => true,
            Who::Customer { tenant_id, .. } => queue.tenant_id == *tenant_id && queue.portal,
            Who::Agent {
                installation_admin: true,
                ..
            } => true,
            Who::Agent { .. } => self.tenant(queue.tenant_id).is_some_and(|t| {
                t.admin
                    || queue
                        .group_id
                        .and_then(|g| t.groups.get(&g))
                        .is_some_and(|set| !set.is_empty())
            }),
        }
    }

    /// Whether the caller sees `ticket`, which is in `queue`.
    pub fn sees_ticket(&self, ticket: &Ticket, queue: &Queue) -> bool {
        match &self.who {
            Who::Service => true,
            Who::Customer {
                id,
                tenant_id,
                company_id,
                company_tickets,
            } => {
                ticket.tenant_id == *tenant_id
                    && (ticket.customer_id == Some(*id)
                        || (*company_tickets
                            && company_id.is_some()
                            && ticket.company_id == *company_id))
            }
            Who::Agent { id, .. } => {
                let Some(t) = self.tenant(ticket.tenant_id) else {
                    return false;
                };
                self.may(ticket.tenant_id, queue.group_id, Permission::Ro)
                    || ticket
                        .owner_id
                        .is_some_and(|o| o == *id || t.substitute_for.contains(&o))
            }
        }
    }

    /// What the caller, who sees `ticket` in `queue` (or `collaborates` on it), may do with it
    /// now. Customers close their open requests, reopen closed ones where the queue lets
    /// follow-ups reopen, and reply until the request is closed; agents as their permissions on
    /// the queue say; a merged ticket takes no change at all.
    pub fn actions(&self, ticket: &Ticket, queue: &Queue, collaborates: bool) -> TicketActions {
        let writes = self.require(Scope::Write).is_ok();
        let merged = ticket.state == TicketState::Merged;
        if !writes || merged {
            return TicketActions {
                watch: !merged && !self.is_customer(),
                ..TicketActions::default()
            };
        }
        if self.is_customer() {
            let closed = ticket.state.state_type() == StateType::Closed;
            let mut states = Vec::new();
            if !ticket.state.is_final() {
                states.push(TicketState::ClosedSuccessful);
            }
            if closed && queue.follow_up == FollowUp::Reopen {
                states.push(TicketState::Open);
            }
            return TicketActions {
                states,
                reply: !ticket.state.is_final(),
                ..TicketActions::default()
            };
        }
        let may = |p| self.may(ticket.tenant_id, queue.group_id, p);
        let rw = may(Permission::Rw);
        let own = ticket.owner_id.is_some() && ticket.owner_id == self.agent_id();
        TicketActions {
            states: if rw {
                TicketState::SETTABLE.to_vec()
            } else {
                Vec::new()
            },
            reply: rw,
            note: may(Permission::Note) || collaborates,
            take: may(Permission::Owner) && !ticket.state.is_final(),
            unlock: ticket.locked && if own { may(Permission::Owner) } else { rw },
            assign: rw,
            classify: may(Permission::Priority),
            move_queue: rw,
            plan: rw,
            work: rw,
            watch: true,
        }
    }

    /// PERMISSION_DENIED unless the agent may make `update` to `ticket` in `queue` (moving it
    /// also needs `move_into` on the target, which the caller checks with the target at hand).
    /// Locking without naming an owner takes the ticket: the update then names the caller.
    pub fn check_update(
        &self,
        ticket: &Ticket,
        queue: &Queue,
        update: &mut TicketUpdate,
    ) -> Result<(), TicketError> {
        // Coordinating: the state and its date, the responsible agent, the dates, the contact,
        // moving it out of its queue.
        if update.state.is_some()
            || update.pending_until.is_some()
            || update.responsible.is_some()
            || update.desired_at.is_some()
            || update.target_at.is_some()
            || update.contact.is_some()
            || update.custom_state.is_some()
            || update.queue_id.is_some()
        {
            self.require_may(ticket, queue, Permission::Rw)?;
        }
        let own = ticket.owner_id.is_some() && ticket.owner_id == self.agent_id();
        match update.locked {
            // Locking is taking: an agent becomes the owner unless the update names one.
            Some(true) => {
                if update.owner.is_none() && !own {
                    update.owner = self.agent_id().map(Some);
                }
                self.require_may(ticket, queue, Permission::Owner)?;
            }
            // Unlocking one's own ticket is part of owning it; anybody else's needs rw.
            Some(false) if own => self.require_may(ticket, queue, Permission::Owner)?,
            Some(false) => self.require_may(ticket, queue, Permission::Rw)?,
            None => {}
        }
        // Classifying (priority, type, service) is the 1st level's work: the `priority` permission.
        if update.priority.is_some() || update.type_id.is_some() || update.service_id.is_some() {
            self.require_may(ticket, queue, Permission::Priority)?;
        }
        if let Some(owner) = update.owner {
            // Taking a ticket needs `owner`; giving it to somebody else or releasing it, `rw`.
            let taking = owner.is_some() && owner == self.agent_id();
            let needed = if taking {
                Permission::Owner
            } else {
                Permission::Rw
            };
            self.require_may(ticket, queue, needed)?;
        }
        Ok(())
    }

    /// NOT_FOUND unless the caller sees the ticket; PERMISSION_DENIED unless they may do `p`.
    pub fn require_on_ticket(
        &self,
        ticket: &Ticket,
        queue: &Queue,
        p: Permission,
    ) -> Result<(), TicketError> {
        if !self.sees_ticket(ticket, queue) {
            return Err(TicketError::not_found("ticket", ticket.id));
        }
        self.require_may(ticket, queue, p)
    }

    /// PERMISSION_DENIED unless the caller may do `p` on a ticket known to be visible to them
    /// (by its queue, or because they work it jointly with its owner).
    pub fn require_may(
        &self,
        ticket: &Ticket,
        queue: &Queue,
        p: Permission,
    ) -> Result<(), TicketError> {
        if self.may(ticket.tenant_id, queue.group_id, p) {
            Ok(())
        } else {
            Err(TicketError::denied(format!(
                "you need the `{p}` permission on queue `{}` for this",
                queue.name
            )))
        }
    }

    /// NOT_FOUND unless the caller sees the queue; PERMISSION_DENIED unless they may do `p` in it.
    pub fn require_on_queue(&self, queue: &Queue, p: Permission) -> Result<(), TicketError> {
        if !self.sees_queue(queue) {
            return Err(TicketError::not_found("queue", queue.id));
        }
        if self.may(queue.tenant_id, queue.group_id, p) {
            Ok(())
        } else {
            Err(TicketError::denied(format!(
                "you need the `{p}` permission on queue `{}` for this",
                queue.name
            )))
        }
    }

    /// For managing a tenant's queues: its administrators and services. Members who are not
    /// administrators are refused; everybody else does not learn the tenant exists.
    pub fn require_admin_of(&self, tenant_id: TenantId) -> Result<(), TicketError> {
        match &self.who {
            Who::Service
            | Who::Agent {
                installation_admin: true,
                ..
            } => Ok(()),
            Who::Agent { .. } => match self.tenant(tenant_id) {
                Some(t) if t.admin => Ok(()),
                Some(_) => Err(TicketError::denied(
                    "managing queues needs the tenant's administrator role",
                )),
                None => Err(TicketError::not_found("tenant", tenant_id)),
            },
            Who::Customer { .. } => Err(TicketError::not_found("tenant", tenant_id)),
        }
    }

    /// NOT_FOUND unless the caller is an agent (or a service) of the tenant: what its agents
    /// list (custom fields, states, templates) is not for customers or other tenants.
    pub fn require_agent_of(&self, tenant_id: TenantId) -> Result<(), TicketError> {
        if self.is_customer() || !self.belongs_to(tenant_id) {
            Err(TicketError::not_found("tenant", tenant_id))
        } else {
            Ok(())
        }
    }

    /// Whether the caller is another service of the suite (e.g. the mail service).
    pub fn is_service(&self) -> bool {
        matches!(self.who, Who::Service)
    }

    /// Whether the caller runs the installation: a service, or an installation administrator.
    pub fn administers_installation(&self) -> bool {
        matches!(
            self.who,
            Who::Service
                | Who::Agent {
                    installation_admin: true,
                    ..
                }
        )
    }

    /// The tickets a listing may return to this caller.
    pub fn visibility(&self) -> Visibility {
        match &self.who {
            Who::Service => Visibility::All,
            Who::Customer {
                id,
                tenant_id,
                company_id,
                company_tickets,
            } => Visibility::Customer {
                tenant_id: *tenant_id,
                customer_id: *id,
                company_id: company_id.filter(|_| *company_tickets),
            },
            Who::Agent { id, tenants, .. } => Visibility::Agent {
                collaborator: Some((tenants.keys().copied().collect(), *id)),
                groups: tenants
                    .values()
                    .flat_map(|t| t.groups.iter())
                    .filter(|(_, set)| set.allows(Permission::Ro))
                    .map(|(g, _)| *g)
                    .collect(),
                owners: tenants
                    .iter()
                    .flat_map(|(tenant, t)| {
                        std::iter::once(*id)
                            .chain(t.substitute_for.iter().copied())
                            .map(move |o| (*tenant, o))
                    })
                    .collect(),
            },
        }
    }

    /// The ticket as this caller may see it: customers never see agent-only fields.
    pub fn redact(&self, mut ticket: Ticket) -> Ticket {
        if self.is_customer() {
            ticket.owner_id = None;
            ticket.responsible_id = None;
            ticket.target_at = None;
            ticket.time_minutes = 0;
            ticket.legal_hold = false;
            ticket.retention_objection = false;
        }
        ticket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_auth::{AgentGrants, CustomerGrant, TenantGrants};

    fn claims(kind: Kind, sub: String) -> Claims {
        Claims {
            iss: "docket".into(),
            aud: "docket".into(),
            sub,
            exp: 0,
            iat: 0,
            jti: String::new(),
            sid: None,
            kind,
            login: "someone".into(),
            agent: None,
            customer: None,
            scopes: None,
        }
    }

    fn agent(tenant: TenantId, group: GroupId, perms: &[Permission]) -> (Caller, AgentId) {
        let id = AgentId::new();
        let mut c = claims(Kind::Agent, id.to_string());
        let mut grants = TenantGrants::default();
        grants.groups.insert(group.to_string(), PermSet::of(perms));
        let mut a = AgentGrants::default();
        a.tenants.insert(tenant.to_string(), grants);
        c.agent = Some(a);
        (Caller::from_claims(&c).unwrap(), id)
    }

    fn queue(tenant: TenantId, group: GroupId, portal: bool) -> Queue {
        Queue {
            id: QueueId::new(),
            tenant_id: tenant,
            name: "Q".into(),
            parent_id: None,
            group_id: Some(group),
            portal,
            signature: String::new(),
            follow_up: FollowUp::Reopen,
            automatic_mail: AutomaticMail::Note,
            addresses: Vec::new(),
            created_at: 0,
            version: 1,
        }
    }

    fn ticket(q: &Queue, owner: Option<AgentId>, customer: Option<CustomerId>) -> Ticket {
        Ticket {
            id: TicketId::new(),
            tenant_id: q.tenant_id,
            number: "2026112310000001".parse().unwrap(),
            queue_id: q.id,
            title: "t".into(),
            state: TicketState::New,
            pending_until: None,
            locked: false,
            priority: Priority::DEFAULT,
            owner_id: owner,
            customer: None,
            customer_id: customer,
            company_id: None,
            type_id: None,
            service_id: None,
            responsible_id: None,
            desired_at: None,
            target_at: None,
            created_at: 0,
            updated_at: 0,
            closed_at: None,
            merged_into: None,
            contact: Contact::default(),
            time_minutes: 0,
            custom_state: None,
            legal_hold: false,
            retention_objection: false,
            version: 1,
        }
    }

    #[test]
    fn agents_need_ro_unless_they_own_the_ticket() {
        let (tenant, group) = (TenantId::new(), GroupId::new());
        let q = queue(tenant, group, false);
        let (note_only, id) = agent(tenant, group, &[Permission::Note]);
        assert!(!note_only.sees_ticket(&ticket(&q, None, None), &q));
        assert!(note_only.sees_ticket(&ticket(&q, Some(id), None), &q));
        let (reader, _) = agent(tenant, group, &[Permission::Ro]);
        let t = ticket(&q, None, None);
        assert!(reader.sees_ticket(&t, &q));
        assert!(matches!(
            reader.require_on_ticket(&t, &q, Permission::Rw),
            Err(TicketError::PermissionDenied(_))
        ));
        assert!(matches!(
            note_only.require_on_ticket(&t, &q, Permission::Ro),
            Err(TicketError::NotFound { .. })
        ));
    }

    #[test]
    fn another_tenants_grants_never_count() {
        let (tenant, group) = (TenantId::new(), GroupId::new());
        let q = queue(tenant, group, false);
        // The same group id granted under another tenant: no access.
        let (elsewhere, _) = agent(TenantId::new(), group, &[Permission::Rw]);
        assert!(!elsewhere.sees_ticket(&ticket(&q, None, None), &q));
        assert!(!elsewhere.sees_queue(&q));
        assert!(matches!(
            elsewhere.require_admin_of(tenant),
            Err(TicketError::NotFound { .. })
        ));
    }

    #[test]
    fn customers_see_their_own_and_if_granted_their_company_tickets() {
        let (tenant, group) = (TenantId::new(), GroupId::new());
        let q = queue(tenant, group, true);
        let company = CompanyId::new();
        let me = CustomerId::new();
        let customer = |company_tickets| {
            let mut c = claims(Kind::Customer, me.to_string());
            c.customer = Some(CustomerGrant {
                tenant_id: tenant.to_string(),
                company_id: Some(company.to_string()),
                company_tickets,
            });
            Caller::from_claims(&c).unwrap()
        };
        let mine = ticket(&q, Some(AgentId::new()), Some(me));
        let mut colleagues = ticket(&q, None, Some(CustomerId::new()));
        colleagues.company_id = Some(company);
        let strangers = ticket(&q, None, Some(CustomerId::new()));
        assert!(customer(false).sees_ticket(&mine, &q));
        assert!(!customer(false).sees_ticket(&colleagues, &q));
        assert!(customer(true).sees_ticket(&colleagues, &q));
        assert!(!customer(true).sees_ticket(&strangers, &q));
        assert_eq!(customer(true).redact(mine).owner_id, None);
        assert!(!customer(true).may(tenant, Some(group), Permission::Ro));
    }

    #[test]
    fn actions_follow_the_permissions_on_the_queue() {
        let (tenant, group) = (TenantId::new(), GroupId::new());
        let q = queue(tenant, group, false);
        let t = ticket(&q, None, None);
        let (reader, _) = agent(tenant, group, &[Permission::Ro]);
        let seen = reader.actions(&t, &q, false);
        assert_eq!(
            seen,
            TicketActions {
                watch: true,
                ..TicketActions::default()
            }
        );
        assert!(reader.actions(&t, &q, true).note, "collaborators add notes");
        let (first_level, _) = agent(
            tenant,
            group,
            &[
                Permission::Ro,
                Permission::Note,
                Permission::Owner,
                Permission::Priority,
            ],
        );
        let a = first_level.actions(&t, &q, false);
        assert!(a.note && a.take && a.classify && !a.reply && !a.assign && a.states.is_empty());
        let (worker, me) = agent(tenant, group, &[Permission::Rw]);
        let a = worker.actions(&t, &q, false);
        assert_eq!(a.states, TicketState::SETTABLE.to_vec());
        assert!(a.reply && a.assign && a.move_queue && a.plan && a.work && !a.unlock);
        let mut locked = ticket(&q, Some(me), None);
        locked.locked = true;
        assert!(worker.actions(&locked, &q, false).unlock);
        let mut merged = t.clone();
        merged.state = TicketState::Merged;
        assert_eq!(worker.actions(&merged, &q, false), TicketActions::default());
    }

    #[test]
    fn customers_close_reply_and_reopen_where_the_queue_allows() {
        let (tenant, group) = (TenantId::new(), GroupId::new());
        let mut q = queue(tenant, group, true);
        let me = CustomerId::new();
        let mut c = claims(Kind::Customer, me.to_string());
        c.customer = Some(CustomerGrant {
            tenant_id: tenant.to_string(),
            company_id: None,
            company_tickets: false,
        });
        let customer = Caller::from_claims(&c).unwrap();
        let mut t = ticket(&q, None, Some(me));
        let open = customer.actions(&t, &q, false);
        assert_eq!(open.states, vec![TicketState::ClosedSuccessful]);
        assert!(open.reply && !open.note && !open.watch && !open.take);
        t.state = TicketState::ClosedSuccessful;
        let closed = customer.actions(&t, &q, false);
        assert_eq!(
            (closed.states, closed.reply),
            (vec![TicketState::Open], false)
        );
        q.follow_up = FollowUp::NewTicket;
        assert!(customer.actions(&t, &q, false).states.is_empty());
        // What the actions promise, the rule of the change allows.
        q.follow_up = FollowUp::Reopen;
        let reopen = TicketUpdate {
            state: Some(TicketState::Open),
            ..TicketUpdate::default()
        };
        assert!(
            customer
                .actions(&t, &q, false)
                .states
                .contains(&TicketState::Open)
        );
        assert!(t.customer_may_change(q.follow_up, &reopen).is_ok());
    }

    proptest::proptest! {
        /// What `actions` promises an agent is exactly what `check_update` lets them change,
        /// whatever their permissions and whoever owns the ticket.
        #[test]
        fn actions_promise_what_the_checks_allow(
            perms in proptest::sample::subsequence(Permission::ALL.to_vec(), 0..=Permission::ALL.len()),
            state in proptest::sample::select(TicketState::SETTABLE.to_vec()),
            owned_by in 0..3_u8,
            locked in proptest::bool::ANY,
            intent in 0..8_u8,
        ) {
            let (tenant, group) = (TenantId::new(), GroupId::new());
            let q = queue(tenant, group, false);
            let (caller, me) = agent(tenant, group, &perms);
            let owner = match owned_by {
                0 => None,
                1 => Some(me),
                _ => Some(AgentId::new()),
            };
            let mut t = ticket(&q, owner, None);
            t.state = state;
            t.locked = locked && owner.is_some();
            let a = caller.actions(&t, &q, false);
            let (mut update, promised) = match intent {
                0 => (TicketUpdate { state: Some(TicketState::Open), ..Default::default() }, a.states.contains(&TicketState::Open)),
                1 => (TicketUpdate { locked: Some(true), ..Default::default() }, a.take || state.is_final()),
                2 => (TicketUpdate { locked: Some(false), ..Default::default() }, a.unlock || !t.locked),
                3 => (TicketUpdate { owner: Some(Some(AgentId::new())), ..Default::default() }, a.assign),
                4 => (TicketUpdate { owner: Some(None), ..Default::default() }, a.assign),
                5 => (TicketUpdate { priority: Some(Priority::DEFAULT), ..Default::default() }, a.classify),
                6 => (TicketUpdate { target_at: Some(Some(1)), ..Default::default() }, a.plan),
                _ => (TicketUpdate { queue_id: Some(QueueId::new()), ..Default::default() }, a.move_queue),
            };
            let allowed = caller.check_update(&t, &q, &mut update).is_ok();
            match intent {
                // Taking a closed ticket passes the check but is not offered: closing unlocks.
                1 if state.is_final() => proptest::prop_assert!(!a.take),
                // Unlocking a ticket that is not locked changes nothing and is not offered.
                2 if !t.locked => proptest::prop_assert!(!a.unlock),
                _ => proptest::prop_assert_eq!(promised, allowed, "intent {} with {:?}", intent, a),
            }
        }
    }

    #[test]
    fn a_read_only_token_promises_no_change() {
        let (tenant, group) = (TenantId::new(), GroupId::new());
        let q = queue(tenant, group, false);
        let id = AgentId::new();
        let mut c = claims(Kind::Agent, id.to_string());
        let mut grants = TenantGrants::default();
        grants
            .groups
            .insert(group.to_string(), PermSet::of(&[Permission::Rw]));
        let mut a = AgentGrants::default();
        a.tenants.insert(tenant.to_string(), grants);
        c.agent = Some(a);
        c.scopes = Some(vec!["tickets:read".into()]);
        let reader = Caller::from_claims(&c).unwrap();
        let actions = reader.actions(&ticket(&q, None, None), &q, false);
        assert!(actions.states.is_empty() && !actions.reply && actions.watch);
    }

    #[test]
    fn scopes_limit_api_tokens() {
        let (mut c, _) = (claims(Kind::Agent, AgentId::new().to_string()), ());
        c.scopes = Some(vec!["tickets:read".into()]);
        let reader = Caller::from_claims(&c).unwrap();
        assert!(reader.require(Scope::Read).is_ok());
        assert!(reader.require(Scope::Write).is_err());
        c.scopes = Some(vec!["tickets:write".into()]);
        assert!(
            Caller::from_claims(&c)
                .unwrap()
                .require(Scope::Read)
                .is_ok()
        );
        c.scopes = None;
        assert!(
            Caller::from_claims(&c)
                .unwrap()
                .require(Scope::Write)
                .is_ok()
        );
    }

    #[test]
    fn malformed_subjects_are_refused() {
        assert!(Caller::from_claims(&claims(Kind::Agent, "admin".into())).is_err());
        assert!(
            Caller::from_claims(&claims(Kind::Customer, CustomerId::new().to_string())).is_err()
        );
    }
}
