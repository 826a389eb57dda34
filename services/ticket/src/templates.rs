//! Templates (canned answers): texts agents start an answer, an acceptance notice or a note from,
//! per tenant and shown in some or all of its queues, with variables filled in from the ticket.

use serde::Serialize;

use crate::domain::*;
use crate::error::TicketError;

docket_platform::typed_id!(pub TemplateId, "template");

text_enum!(
    /// What a template is for.
    TemplateKind, "template kind" {
        /// An answer to the customer (closed by the queue's signature).
        Answer = "answer",
        /// The notice that a request was received and accepted.
        Acceptance = "acceptance",
        /// An internal note.
        Note = "note",
    }
);

/// The variables a template may use, written `{{ticket.number}}`.
pub const VARIABLES: [&str; 7] = [
    "ticket.number",
    "ticket.title",
    "customer.name",
    "customer.email",
    "queue.name",
    "agent.login",
    "ticket.state",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub id: TemplateId,
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: TemplateKind,
    pub subject: String,
    pub body: String,
    /// The queues it is offered in; empty: all of the tenant's.
    pub queue_ids: Vec<QueueId>,
    /// The language it is written in (`de`, `en`); empty: any.
    pub language: String,
    pub created_at: Micros,
}

impl Template {
    pub fn offered_in(&self, queue: QueueId) -> bool {
        self.queue_ids.is_empty() || self.queue_ids.contains(&queue)
    }

    /// The template filled in for `ticket` in `queue` by `agent`; answers end with the queue's
    /// signature.
    pub fn render(&self, ticket: &Ticket, queue: &Queue, agent: &Actor) -> (String, String) {
        let value = |name: &str| -> String {
            match name {
                "ticket.number" => ticket.number.to_string(),
                "ticket.title" => ticket.title.clone(),
                "customer.name" => ticket.contact.name.clone(),
                "customer.email" => ticket.contact.email.clone(),
                "queue.name" => queue.name.clone(),
                "agent.login" => agent.as_str().to_owned(),
                "ticket.state" => ticket.state.to_string(),
                _ => String::new(),
            }
        };
        let subject = fill(&self.subject, value);
        let mut body = fill(&self.body, value);
        if self.kind == TemplateKind::Answer && !queue.signature.is_empty() {
            body = format!("{}\n\n{}", body.trim_end(), queue.signature);
        }
        (subject, body)
    }
}

/// A template to create.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: TemplateKind,
    pub subject: String,
    pub body: String,
    pub queue_ids: Vec<QueueId>,
    pub language: String,
}

impl NewTemplate {
    /// The template as stored under `id`.
    pub fn stored(self, id: TemplateId, created_at: Micros) -> Template {
        Template {
            id,
            tenant_id: self.tenant_id,
            name: self.name,
            kind: self.kind,
            subject: self.subject,
            body: self.body,
            queue_ids: self.queue_ids,
            language: self.language,
            created_at,
        }
    }

    pub fn parse(
        tenant_id: TenantId,
        name: &str,
        kind: TemplateKind,
        subject: &str,
        body: &str,
        queue_ids: Vec<QueueId>,
    ) -> Result<Self, TicketError> {
        let subject = optional_text("subject", subject, 250)?;
        let body = bounded_text("body", body, 20_000)?;
        if body.trim().is_empty() {
            return Err(TicketError::invalid("a template needs a body"));
        }
        for text in [&subject, &body] {
            check_variables(text)?;
        }
        Ok(Self {
            tenant_id,
            name: required_text("name", name, 200)?,
            kind,
            subject,
            body,
            queue_ids,
            language: String::new(),
        })
    }

    /// The same template, written in `language` (a two-letter code such as `de` or `en`; empty:
    /// any language).
    pub fn in_language(mut self, language: &str) -> Result<Self, TicketError> {
        let language = language.trim().to_ascii_lowercase();
        if !(language.is_empty()
            || (language.len() == 2 && language.bytes().all(|b| b.is_ascii_lowercase())))
        {
            return Err(TicketError::invalid(format!(
                "language `{language}` is not a two-letter code such as `de` or `en`"
            )));
        }
        self.language = language;
        Ok(self)
    }
}

/// Refuses `{{…}}` that names no known variable, and unclosed `{{`.
fn check_variables(text: &str) -> Result<(), TicketError> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| TicketError::invalid("a template has `{{` without its `}}`"))?;
        let name = after[..end].trim();
        if !VARIABLES.contains(&name) {
            return Err(TicketError::invalid(format!(
                "`{{{{{}}}}}` is not a template variable (one of: {})",
                name.chars().take(40).collect::<String>(),
                VARIABLES.join(", ")
            )));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// `text` with every `{{name}}` replaced by its value.
fn fill(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&value(after[..end].trim()));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_checked_and_filled() {
        let t = TenantId::new();
        assert!(
            NewTemplate::parse(
                t,
                "x",
                TemplateKind::Answer,
                "",
                "Hi {{ customer.nme }}",
                vec![]
            )
            .is_err()
        );
        assert!(
            NewTemplate::parse(
                t,
                "x",
                TemplateKind::Answer,
                "",
                "Hi {{ customer.name",
                vec![]
            )
            .is_err()
        );
        assert!(NewTemplate::parse(t, "x", TemplateKind::Answer, "", "  ", vec![]).is_err());
        let filled = fill(
            "Dear {{ customer.name }}, re {{ticket.number}}: {{x}}",
            |n| match n {
                "customer.name" => "Jane".into(),
                "ticket.number" => "2026113010000001".into(),
                _ => "?".into(),
            },
        );
        assert_eq!(filled, "Dear Jane, re 2026113010000001: ?");
        assert_eq!(fill("no {{ end", |_| "v".into()), "no {{ end");
    }
}
