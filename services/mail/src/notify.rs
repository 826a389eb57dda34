//! Agent notifications by mail: a new ticket in a queue they may read, a ticket assigned to them,
//! a customer's reply or a pending reminder's time on a ticket they own or are responsible for
//! (everyone in the queue when nobody is), a ticket past its target date (its owner, its
//! responsible agent and everyone in the queue). Each goes out once per event and agent, never
//! to the agent who caused it.

use std::sync::Arc;

use docket_proto::ticket::v1 as pb;

use crate::error::MailError;
use crate::outbound::{Composer, Draft};
use crate::storage::{MailStore, NewOutgoing, OutgoingKind};
use crate::tickets::Tickets;

/// What an agent is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    NewTicket,
    Assigned,
    CustomerReplied,
    ReminderReached,
    Escalated,
}

impl Notice {
    /// Subject (without the ticket number) and the body's first line.
    pub fn text(self, language: &str, title: &str) -> (String, String) {
        match (self, language) {
            (Self::NewTicket, "de") => (
                format!("Neues Ticket: {title}"),
                "In einer Ihrer Queues ist ein neues Ticket eingegangen.".into(),
            ),
            (Self::NewTicket, _) => (
                format!("New ticket: {title}"),
                "A new ticket arrived in one of your queues.".into(),
            ),
            (Self::Assigned, "de") => (
                format!("Ihnen zugewiesen: {title}"),
                "Dieses Ticket wurde Ihnen zugewiesen.".into(),
            ),
            (Self::Assigned, _) => (
                format!("Assigned to you: {title}"),
                "This ticket was assigned to you.".into(),
            ),
            (Self::CustomerReplied, "de") => (
                format!("Antwort des Kunden: {title}"),
                "Der Kunde hat auf dieses Ticket geantwortet.".into(),
            ),
            (Self::CustomerReplied, _) => (
                format!("The customer replied: {title}"),
                "The customer replied to this ticket.".into(),
            ),
            (Self::ReminderReached, "de") => (
                format!("Erinnerung: {title}"),
                "Die Wartezeit dieses Tickets ist abgelaufen: Es braucht Sie wieder.".into(),
            ),
            (Self::ReminderReached, _) => (
                format!("Reminder: {title}"),
                "This ticket's pending time has come: it needs you again.".into(),
            ),
            (Self::Escalated, "de") => (
                format!("Eskaliert: {title}"),
                "Dieses Ticket hat seinen Zieltermin überschritten.".into(),
            ),
            (Self::Escalated, _) => (
                format!("Escalated: {title}"),
                "This ticket is past its target date.".into(),
            ),
        }
    }
}

pub struct Notices {
    store: MailStore,
    tickets: Arc<Tickets>,
    composer: Composer,
    language: String,
    /// The queue spam goes to (`mail.junk_queue`): its readers are not told of its tickets.
    junk_queue: String,
}

/// Whether everyone who may read `queue` is told of one of its tickets: when the notice asks for
/// it, never for the Junk queue (spam would page the whole queue).
fn tells_queue_readers(queue: &pb::Queue, wanted: bool, junk_queue: &str) -> bool {
    wanted && queue.name != junk_queue
}

impl Notices {
    pub fn new(
        store: MailStore,
        tickets: Arc<Tickets>,
        composer: Composer,
        language: &str,
    ) -> Self {
        Self {
            store,
            tickets,
            composer,
            language: language.to_owned(),
            junk_queue: String::new(),
        }
    }

    /// Tickets in the queue named `name` (spam) are told to nobody but the people on them.
    pub fn with_junk_queue(mut self, name: &str) -> Self {
        self.junk_queue = name.to_owned();
        self
    }

    pub async fn new_ticket(
        &self,
        event_id: &str,
        ticket_id: &str,
        actor: &str,
    ) -> Result<(), MailError> {
        self.send(event_id, Notice::NewTicket, ticket_id, actor, |_| {
            (Vec::new(), true)
        })
        .await
    }

    pub async fn assigned(
        &self,
        event_id: &str,
        ticket_id: &str,
        agent_id: &str,
        actor: &str,
    ) -> Result<(), MailError> {
        self.send(event_id, Notice::Assigned, ticket_id, actor, |_| {
            (vec![agent_id.to_owned()], false)
        })
        .await
    }

    pub async fn customer_replied(
        &self,
        event_id: &str,
        ticket_id: &str,
        actor: &str,
    ) -> Result<(), MailError> {
        self.to_the_people(event_id, Notice::CustomerReplied, ticket_id, actor, false)
            .await
    }

    /// A reminder's time has come, or the target date passed; nobody caused it.
    pub async fn due(
        &self,
        event_id: &str,
        notice: Notice,
        ticket_id: &str,
    ) -> Result<(), MailError> {
        // An escalation concerns the whole queue as well.
        let also_the_queue = notice == Notice::Escalated;
        self.to_the_people(event_id, notice, ticket_id, "", also_the_queue)
            .await
    }

    /// Tells the ticket's owner and responsible agent, and everyone in its queue when it has
    /// neither or when `also_the_queue`.
    async fn to_the_people(
        &self,
        event_id: &str,
        notice: Notice,
        ticket_id: &str,
        actor: &str,
        also_the_queue: bool,
    ) -> Result<(), MailError> {
        self.send(event_id, notice, ticket_id, actor, |ticket| {
            let people = people_of(ticket);
            let whole_queue = also_the_queue || people.is_empty();
            (people, whole_queue)
        })
        .await
    }

    /// Queues one notice per recipient: the agents `addressees` names for the ticket, and
    /// with its flag everyone who may read the ticket's queue; never `actor` (a login).
    async fn send(
        &self,
        event_id: &str,
        notice: Notice,
        ticket_id: &str,
        actor: &str,
        addressees: impl FnOnce(&pb::Ticket) -> (Vec<String>, bool),
    ) -> Result<(), MailError> {
        let Some(ticket) = self.tickets.ticket(ticket_id).await? else {
            return Ok(());
        };
        let (agents, queue_readers) = addressees(&ticket);
        let queue = self.tickets.queue(&ticket.queue_id).await?;
        let group = match &queue {
            Some(q) if tells_queue_readers(q, queue_readers, &self.junk_queue) => {
                q.group_id.clone()
            }
            _ => String::new(),
        };
        if group.is_empty() && agents.is_empty() {
            return Ok(());
        }
        let recipients = self
            .tickets
            .agent_contacts(&ticket.tenant_id, &group, agents)
            .await?;
        let from = queue
            .as_ref()
            .and_then(|q| q.addresses.first().cloned())
            .unwrap_or_else(|| format!("docket@{}", self.composer.hostname()));
        for agent in recipients.iter().filter(|a| a.login != actor) {
            let draft = self.draft(notice, &ticket, queue.as_ref(), &from, &agent.email);
            let (message_id, raw) = self.composer.build(&draft)?;
            self.store
                .queue_outgoing(NewOutgoing {
                    kind: OutgoingKind::Notice,
                    source_key: format!("notice:{event_id}:{}", agent.agent_id),
                    ticket_id: ticket.id.clone(),
                    article_id: String::new(),
                    mail_from: from.clone(),
                    recipients: vec![agent.email.clone()],
                    message_id,
                    raw,
                })
                .await?;
        }
        Ok(())
    }

    fn draft(
        &self,
        notice: Notice,
        ticket: &pb::Ticket,
        queue: Option<&pb::Queue>,
        from: &str,
        to: &str,
    ) -> Draft {
        let (subject, first) = notice.text(&self.language, &ticket.title);
        let queue_name = queue.map(|q| q.name.as_str()).unwrap_or("");
        let (l_queue, l_customer, l_priority) = if self.language == "de" {
            ("Queue", "Kunde", "Priorität")
        } else {
            ("Queue", "Customer", "Priority")
        };
        Draft {
            from_name: "Docket".into(),
            from: from.to_owned(),
            to: vec![to.to_owned()],
            subject: self.composer.subject_with_number(&ticket.number, &subject),
            body: format!(
                "{first}\n\n{}: {}\n{l_queue}: {queue_name}\n{l_customer}: {}\n{l_priority}: {}\n",
                ticket.number, ticket.title, ticket.customer, ticket.priority
            ),
            in_reply_to: None,
            references: Vec::new(),
            automatic: true,
            language: self.language.clone(),
            attachments: Vec::new(),
        }
    }
}

/// A ticket's owner and responsible agent, those it has.
fn people_of(ticket: &pb::Ticket) -> Vec<String> {
    [ticket.owner_id.clone(), ticket.responsible_id.clone()]
        .into_iter()
        .filter(|a| !a.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_junk_queues_readers_are_not_told() {
        let queue = |name: &str| pb::Queue {
            name: name.into(),
            ..Default::default()
        };
        assert!(tells_queue_readers(&queue("Raw"), true, "Junk"));
        assert!(!tells_queue_readers(&queue("Raw"), false, "Junk"));
        assert!(!tells_queue_readers(&queue("Junk"), true, "Junk"));
    }

    #[test]
    fn notices_speak_german_and_english() {
        let (subject, first) = Notice::Assigned.text("de", "Drucker");
        assert_eq!(subject, "Ihnen zugewiesen: Drucker");
        assert!(first.contains("zugewiesen"));
        let (subject, _) = Notice::CustomerReplied.text("en", "Printer");
        assert_eq!(subject, "The customer replied: Printer");
        let (subject, _) = Notice::ReminderReached.text("de", "Drucker");
        assert_eq!(subject, "Erinnerung: Drucker");
        let (subject, _) = Notice::Escalated.text("en", "Printer");
        assert_eq!(subject, "Escalated: Printer");
        let (subject, _) = Notice::NewTicket.text("fr", "x");
        assert_eq!(
            subject, "New ticket: x",
            "unknown languages fall back to English"
        );
    }
}
