//! Ticket search: the filters an agent combines, full-text queries, saved searches and the
//! default views. Nothing here knows SQL; `storage` turns a [`TicketFilter`] into one query per
//! engine (PostgreSQL full-text search, SQLite FTS5).

use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::error::TicketError;
use crate::fields::{FieldMatch, Tag};

/// What tickets must match; every field set narrows the result (AND), lists match any entry (OR).
/// Visibility is never part of it: the store always applies the caller's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketFilter {
    /// Words that must all occur in the title, or all in one article (`vpn*` matches a prefix).
    pub text: Option<FullText>,
    pub queue_ids: Vec<QueueId>,
    pub states: Vec<TicketState>,
    pub state_types: Vec<StateType>,
    /// The tenants' own states, by name.
    pub custom_states: Vec<String>,
    pub priorities: Vec<Priority>,
    pub owner_id: Option<AgentId>,
    pub responsible_id: Option<AgentId>,
    pub locked: Option<bool>,
    pub service_ids: Vec<ServiceId>,
    pub type_ids: Vec<TicketTypeId>,
    pub customer_id: Option<CustomerId>,
    /// Part of how the customer was named (an address, a name), any case.
    pub customer: Option<String>,
    pub company_id: Option<CompanyId>,
    /// Tickets this agent watches.
    pub watched_by: Option<AgentId>,
    /// Tickets this agent works on jointly with the owner.
    pub collaborator: Option<AgentId>,
    pub created: TimeRange,
    pub changed: TimeRange,
    pub closed: TimeRange,
    /// Tickets carrying every one of these tags.
    pub tags: Vec<Tag>,
    /// Tickets whose custom fields hold these values (all of them).
    pub fields: Vec<FieldMatch>,
}

/// A half-open time range `[from, until)`, in microseconds; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeRange {
    pub from: Option<Micros>,
    pub until: Option<Micros>,
}

impl TimeRange {
    pub fn check(&self, what: &str) -> Result<(), TicketError> {
        match (self.from, self.until) {
            (Some(from), Some(until)) if from >= until => Err(TicketError::invalid(format!(
                "{what}: the range ends before it starts"
            ))),
            _ => Ok(()),
        }
    }
}

impl TicketFilter {
    /// Most entries one list filter takes.
    pub const MAX_LIST: usize = 100;

    /// Checks what parsing the fields one by one cannot: list sizes, ranges, the customer text.
    pub fn check(&self) -> Result<(), TicketError> {
        let lists = [
            ("queue_ids", self.queue_ids.len()),
            ("states", self.states.len()),
            ("state_types", self.state_types.len()),
            ("custom_states", self.custom_states.len()),
            ("priorities", self.priorities.len()),
            ("service_ids", self.service_ids.len()),
            ("type_ids", self.type_ids.len()),
            ("tags", self.tags.len()),
            ("fields", self.fields.len()),
        ];
        for (name, len) in lists {
            if len > Self::MAX_LIST {
                return Err(TicketError::invalid(format!(
                    "{name} takes at most {} entries",
                    Self::MAX_LIST
                )));
            }
        }
        self.created.check("created")?;
        self.changed.check("changed")?;
        self.closed.check("closed")?;
        if let Some(c) = &self.customer {
            required_text("customer filter", c, 250)?;
        }
        Ok(())
    }

    /// Both filters at once: what `self` narrows, further narrowed by `other`.
    pub fn and(mut self, other: TicketFilter) -> Result<Self, TicketError> {
        fn one<T: PartialEq>(
            a: Option<T>,
            b: Option<T>,
            what: &str,
        ) -> Result<Option<T>, TicketError> {
            match (a, b) {
                (Some(a), Some(b)) if a != b => Err(TicketError::invalid(format!(
                    "the view sets {what} already; a search cannot ask for another"
                ))),
                (a, b) => Ok(a.or(b)),
            }
        }
        fn list<T: PartialEq>(a: Vec<T>, b: Vec<T>, what: &str) -> Result<Vec<T>, TicketError> {
            match (a.is_empty(), b.is_empty()) {
                (true, _) => Ok(b),
                (_, true) => Ok(a),
                // Both narrow: what is in both; nothing in both would match no ticket, which an
                // empty list cannot say.
                _ => {
                    let both: Vec<T> = a.into_iter().filter(|x| b.contains(x)).collect();
                    if both.is_empty() {
                        Err(TicketError::invalid(format!(
                            "the search asks for {what} the view leaves out"
                        )))
                    } else {
                        Ok(both)
                    }
                }
            }
        }
        fn range(a: TimeRange, b: TimeRange) -> TimeRange {
            TimeRange {
                from: a.from.max(b.from),
                until: match (a.until, b.until) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                },
            }
        }
        self = TicketFilter {
            text: one(self.text, other.text, "a text")?,
            queue_ids: list(self.queue_ids, other.queue_ids, "queues")?,
            states: list(self.states, other.states, "states")?,
            state_types: list(self.state_types, other.state_types, "state types")?,
            custom_states: list(self.custom_states, other.custom_states, "states")?,
            priorities: list(self.priorities, other.priorities, "priorities")?,
            owner_id: one(self.owner_id, other.owner_id, "an owner")?,
            responsible_id: one(
                self.responsible_id,
                other.responsible_id,
                "a responsible agent",
            )?,
            locked: one(self.locked, other.locked, "the lock")?,
            service_ids: list(self.service_ids, other.service_ids, "services")?,
            type_ids: list(self.type_ids, other.type_ids, "ticket types")?,
            customer_id: one(self.customer_id, other.customer_id, "a customer")?,
            customer: one(self.customer, other.customer, "a customer")?,
            company_id: one(self.company_id, other.company_id, "a company")?,
            watched_by: one(self.watched_by, other.watched_by, "a watcher")?,
            collaborator: one(self.collaborator, other.collaborator, "a collaborator")?,
            created: range(self.created, other.created),
            changed: range(self.changed, other.changed),
            closed: range(self.closed, other.closed),
            // Both must hold: every tag and every field value of either.
            tags: union(self.tags, other.tags),
            fields: union(self.fields, other.fields),
        };
        Ok(self)
    }
}

fn union<T: PartialEq>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    for x in b {
        if !a.contains(&x) {
            a.push(x);
        }
    }
    a
}

/// A full-text query: words (letters and digits) that must all match; a word ending in `*`
/// matches every word it begins. Everything else in the input separates words, so no input can
/// reach the engines' query syntax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FullText {
    raw: String,
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Lower case, letters and digits only.
    pub word: String,
    pub prefix: bool,
}

impl FullText {
    pub const MAX_TERMS: usize = 16;

    pub fn parse(input: &str) -> Result<Self, TicketError> {
        let raw = optional_text("text", input, 500)?;
        let mut terms: Vec<Term> = Vec::new();
        let mut word = String::new();
        // A trailing space ends the last word like any other separator.
        for c in raw.chars().chain(std::iter::once(' ')) {
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
                continue;
            }
            if word.is_empty() {
                continue;
            }
            let term = Term {
                word: std::mem::take(&mut word),
                prefix: c == '*',
            };
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        if terms.is_empty() {
            return Err(TicketError::invalid(
                "the search text has no words to look for",
            ));
        }
        if terms.len() > Self::MAX_TERMS {
            return Err(TicketError::invalid(format!(
                "the search text has more than {} words",
                Self::MAX_TERMS
            )));
        }
        Ok(Self { raw, terms })
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The query for PostgreSQL's `to_tsquery('simple', …)`: `vpn & client:*`.
    pub fn to_tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|t| {
                if t.prefix {
                    format!("{}:*", t.word)
                } else {
                    t.word.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// The query for SQLite's FTS5 `MATCH`: `"vpn" AND "client"*`.
    pub fn to_fts5(&self) -> String {
        self.terms
            .iter()
            .map(|t| {
                let star = if t.prefix { "*" } else { "" };
                format!("\"{}\"{star}", t.word)
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

impl TryFrom<String> for FullText {
    type Error = TicketError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<FullText> for String {
    fn from(t: FullText) -> Self {
        t.raw
    }
}

/// An agent's default views: searches every agent has, made for the agent asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Tickets the agent has locked to work on.
    MyLocked,
    /// Tickets in the queues the agent may work in (`rw` on their group).
    MyQueues,
    /// Tickets the agent watches.
    Watched,
    /// Tickets the agent is responsible for.
    Responsible,
    /// Tickets the agent works on jointly with their owner.
    Collaborating,
}

impl View {
    pub const ALL: [View; 5] = [
        View::MyLocked,
        View::MyQueues,
        View::Watched,
        View::Responsible,
        View::Collaborating,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::MyLocked => "my-locked",
            Self::MyQueues => "my-queues",
            Self::Watched => "watched",
            Self::Responsible => "responsible",
            Self::Collaborating => "collaborating",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::MyLocked => "My locked tickets",
            Self::MyQueues => "My queues",
            Self::Watched => "Watched tickets",
            Self::Responsible => "Responsible",
            Self::Collaborating => "Working on jointly",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == key)
    }

    /// The view's filter for `agent`, whose work queues are `my_queues`. Views show tickets
    /// still being worked: not closed, merged or removed.
    pub fn filter(self, agent: AgentId, my_queues: Vec<QueueId>) -> TicketFilter {
        let base = TicketFilter {
            state_types: StateType::WORKED_ON.to_vec(),
            ..TicketFilter::default()
        };
        match self {
            Self::MyLocked => TicketFilter {
                owner_id: Some(agent),
                locked: Some(true),
                ..base
            },
            Self::MyQueues => TicketFilter {
                // No work queue: a queue id nobody has, so the view is empty, not everything.
                queue_ids: if my_queues.is_empty() {
                    vec![QueueId::default()]
                } else {
                    my_queues
                },
                ..base
            },
            Self::Watched => TicketFilter {
                watched_by: Some(agent),
                ..base
            },
            Self::Responsible => TicketFilter {
                responsible_id: Some(agent),
                ..base
            },
            Self::Collaborating => TicketFilter {
                collaborator: Some(agent),
                ..base
            },
        }
    }
}

/// A search an agent saved under a name, with its sort.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedSearch {
    pub id: SavedSearchId,
    pub agent_id: AgentId,
    pub name: String,
    pub filter: TicketFilter,
    pub sort: SortField,
    pub descending: bool,
    pub created_at: Micros,
}

/// A search to save.
#[derive(Debug, Clone)]
pub struct NewSavedSearch {
    pub agent_id: AgentId,
    pub name: String,
    pub filter: TicketFilter,
    pub sort: SortField,
    pub descending: bool,
}

impl NewSavedSearch {
    pub fn parse(
        agent_id: AgentId,
        name: &str,
        filter: TicketFilter,
        sort: SortField,
        descending: bool,
    ) -> Result<Self, TicketError> {
        filter.check()?;
        Ok(Self {
            agent_id,
            name: required_text("name", name, 200)?,
            filter,
            sort,
            descending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn words_are_lowercased_and_prefixes_kept() {
        let t = FullText::parse("  VPN-Client  Fehler* vpn ").unwrap();
        let words: Vec<_> = t
            .terms()
            .iter()
            .map(|t| (t.word.as_str(), t.prefix))
            .collect();
        assert_eq!(words, [("vpn", false), ("client", false), ("fehler", true)]);
        assert_eq!(t.to_tsquery(), "vpn & client & fehler:*");
        assert_eq!(t.to_fts5(), "\"vpn\" AND \"client\" AND \"fehler\"*");
        assert_eq!(String::from(t), "VPN-Client  Fehler* vpn");
    }

    #[test]
    fn umlauts_are_words() {
        let t = FullText::parse("Drucker größe").unwrap();
        assert_eq!(t.to_tsquery(), "drucker & größe");
    }

    #[test]
    fn text_without_words_is_refused() {
        for bad in ["", "  ", "*** !!", "\"&|:()"] {
            assert!(FullText::parse(bad).is_err(), "{bad:?}");
        }
        let many = (0..17)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(FullText::parse(&many).is_err());
    }

    #[test]
    fn filters_combine_by_narrowing() {
        let q1 = QueueId::new();
        let q2 = QueueId::new();
        let agent = AgentId::new();
        let view = View::MyQueues.filter(agent, vec![q1, q2]);
        let search = TicketFilter {
            queue_ids: vec![q2],
            created: TimeRange {
                from: Some(10),
                until: None,
            },
            ..Default::default()
        };
        let both = view.clone().and(search).unwrap();
        assert_eq!(both.queue_ids, [q2]);
        assert_eq!(both.created.from, Some(10));
        assert_eq!(both.state_types.len(), 4);
        let elsewhere = TicketFilter {
            queue_ids: vec![QueueId::new()],
            ..Default::default()
        };
        assert!(view.and(elsewhere).is_err());
        let mine = View::MyLocked.filter(agent, vec![]);
        let other_owner = TicketFilter {
            owner_id: Some(AgentId::new()),
            ..Default::default()
        };
        assert!(mine.and(other_owner).is_err());
    }

    #[test]
    fn a_view_without_work_queues_is_empty_not_everything() {
        let f = View::MyQueues.filter(AgentId::new(), vec![]);
        assert_eq!(f.queue_ids.len(), 1);
    }

    #[test]
    fn filters_round_trip_through_json_and_refuse_unknown_fields() {
        let f = TicketFilter {
            text: Some(FullText::parse("vpn").unwrap()),
            priorities: vec![Priority::new(5).unwrap()],
            states: vec![TicketState::Open],
            ..Default::default()
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<TicketFilter>(&json).unwrap(), f);
        assert!(serde_json::from_str::<TicketFilter>(r#"{"colour": 1}"#).is_err());
        assert!(serde_json::from_str::<TicketFilter>(r#"{"priorities": [9]}"#).is_err());
        assert!(serde_json::from_str::<TicketFilter>(r#"{"text": "**"}"#).is_err());
    }

    #[test]
    fn reversed_ranges_are_refused() {
        let f = TicketFilter {
            closed: TimeRange {
                from: Some(5),
                until: Some(5),
            },
            ..Default::default()
        };
        assert!(f.check().is_err());
    }

    proptest! {
        #[test]
        fn no_input_escapes_into_query_syntax(input in ".{0,200}") {
            if let Ok(t) = FullText::parse(&input) {
                for term in t.terms() {
                    prop_assert!(!term.word.is_empty());
                    prop_assert!(term.word.chars().all(char::is_alphanumeric));
                }
                // Quotes and operators only come from us.
                let fts = t.to_fts5();
                prop_assert_eq!(fts.matches('"').count(), 2 * t.terms().len());
            }
        }
    }
}
