//! The agents named on a ticket are agents of its tenant who may see it:
//! - its owner and its responsible agent are active agents of the tenant who may read its
//!   queue: `ro` on the queue's group, as ticket reads are checked (owning a ticket lets one see
//!   it, so owning cannot be what makes an owner acceptable);
//! - a collaborator is an active agent of the tenant: working a ticket jointly is what lets an
//!   agent without rights on its queue see it and add notes, so no queue permission is asked.
//!
//! Another tenant's agent, an inactive one and an id nobody has are all refused alike, naming the
//! field, so the answer tells nothing about who exists elsewhere.
//!
//! Moving a ticket keeps its owner and responsible agent, who must then read the queue it goes
//! to: a move that would leave them unable to read it is refused unless the same change gives the
//! ticket to somebody else or releases it.

use std::collections::BTreeSet;

use super::*;
use crate::error::TicketError;

/// Where a change names an agent on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedAs {
    Owner,
    Responsible,
    Collaborator,
}

impl NamedAs {
    /// The request's field that names the agent.
    pub fn field(self) -> &'static str {
        match self {
            Self::Owner => "owner_id",
            Self::Responsible => "responsible_id",
            Self::Collaborator => "agent_id",
        }
    }

    /// Whether the agent must read the ticket's queue (else being an agent of its tenant is
    /// enough).
    pub fn reads_queue(self) -> bool {
        !matches!(self, Self::Collaborator)
    }

    fn what(self) -> &'static str {
        match self {
            Self::Owner => "the owner",
            Self::Responsible => "the responsible agent",
            Self::Collaborator => "a collaborator",
        }
    }
}

/// The agents `update` leaves named on `ticket` who must read the queue it is in afterwards: a
/// new owner or responsible agent, and on a move the ones it keeps. Releasing names nobody.
pub fn agents_named(ticket: &Ticket, update: &TicketUpdate) -> Vec<(NamedAs, AgentId)> {
    let moves = update.queue_id.is_some_and(|q| q != ticket.queue_id);
    let after = |change: Option<Option<AgentId>>, now: Option<AgentId>| match change {
        Some(new) => new,
        None if moves => now,
        None => None,
    };
    [
        (NamedAs::Owner, after(update.owner, ticket.owner_id)),
        (
            NamedAs::Responsible,
            after(update.responsible, ticket.responsible_id),
        ),
    ]
    .into_iter()
    .filter_map(|(role, agent)| Some((role, agent?)))
    .collect()
}

/// Who is an agent of a ticket's tenant, as far as a check needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownAgents {
    /// Active agents of the tenant who may read the queue.
    pub readers: BTreeSet<AgentId>,
    /// Active agents of the tenant (readers or not).
    pub members: BTreeSet<AgentId>,
}

impl KnownAgents {
    fn accepts(&self, role: NamedAs, agent: AgentId) -> bool {
        self.readers.contains(&agent) || (!role.reads_queue() && self.members.contains(&agent))
    }
}

/// INVALID_ARGUMENT, naming the field, for the first of `named` whom `known` does not show to
/// be what the role needs (see the module doc) for a ticket in `queue`.
pub fn check_agents_named(
    named: &[(NamedAs, AgentId)],
    known: &KnownAgents,
    queue: &Queue,
) -> Result<(), TicketError> {
    match named
        .iter()
        .find(|(role, agent)| !known.accepts(*role, *agent))
    {
        None => Ok(()),
        Some((role, agent)) if role.reads_queue() => Err(TicketError::invalid(format!(
            "`{}`: {agent} cannot be {} here: not an active agent of the ticket's tenant who \
             may read queue `{}`",
            role.field(),
            role.what(),
            queue.name
        ))),
        Some((role, agent)) => Err(TicketError::invalid(format!(
            "`{}`: {agent} cannot be {} here: not an active agent of the ticket's tenant",
            role.field(),
            role.what(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Queue {
        Queue {
            id: QueueId::new(),
            tenant_id: TenantId::new(),
            name: "Support".into(),
            parent_id: None,
            group_id: Some(GroupId::new()),
            portal: false,
            signature: String::new(),
            follow_up: FollowUp::Reopen,
            automatic_mail: AutomaticMail::Note,
            addresses: Vec::new(),
            created_at: 0,
            version: 1,
        }
    }

    fn ticket(q: &Queue, owner: Option<AgentId>, responsible: Option<AgentId>) -> Ticket {
        let new = NewTicket::parse(q.id, "Printer on fire", None, "", None, None).unwrap();
        let number = "202612021000100001".parse().unwrap();
        let mut t = Ticket::open(&new, q.tenant_id, number, None, 0);
        t.owner_id = owner;
        t.responsible_id = responsible;
        t
    }

    #[test]
    fn new_owners_and_responsible_agents_are_named() {
        let q = queue();
        let (a, b) = (AgentId::new(), AgentId::new());
        let t = ticket(&q, Some(a), None);
        let update = TicketUpdate {
            owner: Some(Some(b)),
            responsible: Some(Some(a)),
            ..TicketUpdate::default()
        };
        assert_eq!(
            agents_named(&t, &update),
            [(NamedAs::Owner, b), (NamedAs::Responsible, a)]
        );
        // Releasing, or a change that names nobody, asks nothing; the kept owner stays unasked
        // while the ticket stays where it is.
        let release = TicketUpdate {
            owner: Some(None),
            responsible: Some(None),
            ..TicketUpdate::default()
        };
        assert!(agents_named(&t, &release).is_empty());
        let other = TicketUpdate {
            priority: Some(Priority::DEFAULT),
            ..TicketUpdate::default()
        };
        assert!(agents_named(&t, &other).is_empty());
        let same_queue = TicketUpdate {
            queue_id: Some(q.id),
            ..TicketUpdate::default()
        };
        assert!(agents_named(&t, &same_queue).is_empty());
    }

    #[test]
    fn a_move_names_whom_the_ticket_keeps() {
        let q = queue();
        let (a, b, c) = (AgentId::new(), AgentId::new(), AgentId::new());
        let t = ticket(&q, Some(a), Some(b));
        let moving = TicketUpdate {
            queue_id: Some(QueueId::new()),
            ..TicketUpdate::default()
        };
        assert_eq!(
            agents_named(&t, &moving),
            [(NamedAs::Owner, a), (NamedAs::Responsible, b)]
        );
        // Giving it away or releasing it in the same change names the new one, or nobody.
        let handed_over = TicketUpdate {
            owner: Some(Some(c)),
            responsible: Some(None),
            ..moving
        };
        assert_eq!(agents_named(&t, &handed_over), [(NamedAs::Owner, c)]);
    }

    #[test]
    fn owners_must_read_the_queue_and_the_refusal_names_the_field() {
        let q = queue();
        let (reader, member, stranger) = (AgentId::new(), AgentId::new(), AgentId::new());
        let known = KnownAgents {
            readers: BTreeSet::from([reader]),
            members: BTreeSet::from([reader, member]),
        };
        assert!(check_agents_named(&[], &known, &q).is_ok());
        assert!(
            check_agents_named(
                &[(NamedAs::Owner, reader), (NamedAs::Responsible, reader)],
                &known,
                &q
            )
            .is_ok()
        );
        // An agent of the tenant without rights on the queue, and an agent nobody here knows
        // (another tenant's, or none at all), are refused alike.
        for agent in [member, stranger] {
            for (role, field) in [
                (NamedAs::Owner, "`owner_id`: "),
                (NamedAs::Responsible, "`responsible_id`: "),
            ] {
                match check_agents_named(&[(role, agent)], &known, &q) {
                    Err(TicketError::InvalidArgument(m)) => {
                        assert!(m.starts_with(field), "{m}");
                        assert!(
                            m.contains(&agent.to_string()) && m.contains("`Support`"),
                            "{m}"
                        );
                    }
                    other => panic!("expected InvalidArgument, got {other:?}"),
                }
            }
        }
        // The first one who may not is named, whatever comes after.
        let both = [(NamedAs::Owner, reader), (NamedAs::Responsible, stranger)];
        assert!(matches!(
            check_agents_named(&both, &known, &q),
            Err(TicketError::InvalidArgument(m)) if m.starts_with("`responsible_id`")
        ));
        // Nobody reads a queue nobody was found to read.
        let nobody = KnownAgents::default();
        assert!(check_agents_named(&[(NamedAs::Owner, reader)], &nobody, &q).is_err());
    }

    #[test]
    fn collaborators_are_agents_of_the_tenant() {
        let q = queue();
        let (reader, member, stranger) = (AgentId::new(), AgentId::new(), AgentId::new());
        let known = KnownAgents {
            readers: BTreeSet::from([reader]),
            members: BTreeSet::from([member]),
        };
        for agent in [reader, member] {
            assert!(check_agents_named(&[(NamedAs::Collaborator, agent)], &known, &q).is_ok());
        }
        match check_agents_named(&[(NamedAs::Collaborator, stranger)], &known, &q) {
            Err(TicketError::InvalidArgument(m)) => {
                assert!(m.starts_with("`agent_id`: "), "{m}");
                assert!(m.contains(&stranger.to_string()), "{m}");
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
}
