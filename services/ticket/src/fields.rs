//! Tags and custom fields: what a tenant adds to its tickets beyond the built-in model. Fields
//! are typed (text, number, date, single select, multi select, checkbox), defined per tenant and
//! shown in some or all of its queues; values are checked against their field once, here.

use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::error::TicketError;

docket_platform::typed_id!(
    /// A custom field a tenant defined.
    pub FieldId,
    "custom field"
);

/// A tag: lower case, letters, digits and `-_.:/`, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl TryFrom<String> for Tag {
    type Error = TicketError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> Self {
        t.0
    }
}

/// A custom field's value a search asks for: `key` holds `value` (a multi select: among others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn parse(s: &str) -> Result<Self, TicketError> {
        let t = s.trim().to_lowercase();
        let allowed = |c: char| c.is_alphanumeric() || "-_.:/".contains(c);
        if t.is_empty() || t.chars().count() > 64 || !t.chars().all(allowed) {
            return Err(TicketError::invalid(format!(
                "`{}` is not a tag: 1 to 64 letters, digits or - _ . : /",
                s.chars().take(80).collect::<String>()
            )));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most tags on one ticket.
pub const MAX_TAGS: usize = 50;

text_enum!(
    /// The kinds of custom fields.
    FieldKind, "field kind" {
        Text = "text",
        Number = "number",
        /// A calendar date, `YYYY-MM-DD`.
        Date = "date",
        SingleSelect = "single_select",
        MultiSelect = "multi_select",
        Checkbox = "checkbox",
    }
);

impl FieldKind {
    fn selects(self) -> bool {
        matches!(self, Self::SingleSelect | Self::MultiSelect)
    }
}

/// A custom field of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDefinition {
    pub id: FieldId,
    pub tenant_id: TenantId,
    /// Stable name in the API and in searches: `a-z`, digits and `_`.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// The choices of a select field.
    pub options: Vec<String>,
    /// The queues it is shown in; empty: every queue of the tenant.
    pub queue_ids: Vec<QueueId>,
    pub created_at: Micros,
}

impl FieldDefinition {
    /// Whether tickets of `queue` carry this field.
    pub fn shown_in(&self, queue: QueueId) -> bool {
        self.queue_ids.is_empty() || self.queue_ids.contains(&queue)
    }

    /// Checks and normalises values given for this field: what is stored, one row each (a
    /// multi select has one per option; an empty list clears the field).
    pub fn values(&self, given: &[String]) -> Result<Vec<String>, TicketError> {
        let one = |v: &str| -> Result<String, TicketError> {
            let v = v.trim();
            let bad = |why: &str| {
                TicketError::invalid(format!(
                    "field `{}`: `{}` {why}",
                    self.key,
                    v.chars().take(40).collect::<String>()
                ))
            };
            match self.kind {
                FieldKind::Text => optional_text(&self.key, v, 1000),
                FieldKind::Number => {
                    let n: f64 = v.parse().map_err(|_| bad("is not a number"))?;
                    if !n.is_finite() {
                        return Err(bad("is not a number"));
                    }
                    Ok(n.to_string())
                }
                FieldKind::Date => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .map_err(|_| bad("is not a date (YYYY-MM-DD)")),
                FieldKind::SingleSelect | FieldKind::MultiSelect => self
                    .options
                    .iter()
                    .find(|o| o.as_str() == v)
                    .cloned()
                    .ok_or_else(|| bad(&format!("is not one of: {}", self.options.join(", ")))),
                FieldKind::Checkbox => match v {
                    "true" => Ok("true".into()),
                    "false" => Ok("false".into()),
                    _ => Err(bad("is not true or false")),
                },
            }
        };
        if given.len() > 1 && self.kind != FieldKind::MultiSelect {
            return Err(TicketError::invalid(format!(
                "field `{}` takes one value",
                self.key
            )));
        }
        let mut out = Vec::with_capacity(given.len());
        for v in given {
            let v = one(v)?;
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// A field to define.
#[derive(Debug, Clone)]
pub struct NewField {
    pub tenant_id: TenantId,
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub queue_ids: Vec<QueueId>,
}

impl NewField {
    pub fn parse(
        tenant_id: TenantId,
        key: &str,
        label: &str,
        kind: FieldKind,
        options: Vec<String>,
        queue_ids: Vec<QueueId>,
    ) -> Result<Self, TicketError> {
        let key = key.trim().to_owned();
        let key_ok = !key.is_empty()
            && key.len() <= 64
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(TicketError::invalid(format!(
                "field key `{}` must start with a-z and hold only a-z, 0-9 and _ (at most 64)",
                key.chars().take(80).collect::<String>()
            )));
        }
        let mut opts: Vec<String> = Vec::new();
        for o in &options {
            let o = required_text("option", o, 200)?;
            if !opts.contains(&o) {
                opts.push(o);
            }
        }
        match (kind.selects(), opts.len()) {
            (true, 0) => {
                return Err(TicketError::invalid(format!(
                    "a {} field needs options",
                    kind.as_str()
                )));
            }
            (true, n) if n > 200 => {
                return Err(TicketError::invalid("a field has at most 200 options"));
            }
            (false, n) if n > 0 => {
                return Err(TicketError::invalid(format!(
                    "a {} field has no options",
                    kind.as_str()
                )));
            }
            _ => {}
        }
        Ok(Self {
            tenant_id,
            key,
            label: required_text("label", label, 200)?,
            kind,
            options: opts,
            queue_ids,
        })
    }
}

/// One field's value on a ticket: one entry, several for a multi select.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldValue {
    pub key: String,
    pub values: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind, options: &[&str]) -> FieldDefinition {
        let new = NewField::parse(
            TenantId::new(),
            "room",
            "Room",
            kind,
            options.iter().map(|o| o.to_string()).collect(),
            vec![],
        )
        .unwrap();
        FieldDefinition {
            id: FieldId::new(),
            tenant_id: new.tenant_id,
            key: new.key,
            label: new.label,
            kind: new.kind,
            options: new.options,
            queue_ids: new.queue_ids,
            created_at: 0,
        }
    }

    #[test]
    fn tags_are_lower_case_words() {
        assert_eq!(Tag::parse(" VPN-Outage ").unwrap().as_str(), "vpn-outage");
        for bad in ["", "two words", "<b>", &"x".repeat(65)] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_checked_by_kind() {
        let number = field(FieldKind::Number, &[]);
        assert_eq!(number.values(&["  42.50 ".into()]).unwrap(), ["42.5"]);
        assert!(number.values(&["forty".into()]).is_err());
        assert!(number.values(&["NaN".into()]).is_err());
        assert!(
            number.values(&["1".into(), "2".into()]).is_err(),
            "one value"
        );
        let date = field(FieldKind::Date, &[]);
        assert_eq!(date.values(&["2026-02-28".into()]).unwrap(), ["2026-02-28"]);
        assert!(date.values(&["2026-02-30".into()]).is_err());
        let multi = field(FieldKind::MultiSelect, &["C1", "C2"]);
        assert_eq!(
            multi
                .values(&["C2".into(), "C1".into(), "C2".into()])
                .unwrap(),
            ["C2", "C1"]
        );
        assert!(multi.values(&["C3".into()]).is_err());
        assert!(multi.values(&[]).unwrap().is_empty(), "clears");
        let check = field(FieldKind::Checkbox, &[]);
        assert!(check.values(&["yes".into()]).is_err());
        assert_eq!(check.values(&["true".into()]).unwrap(), ["true"]);
    }

    #[test]
    fn definitions_are_checked() {
        let t = TenantId::new();
        let parse = |key: &str, kind, options: &[&str]| {
            NewField::parse(
                t,
                key,
                "Label",
                kind,
                options.iter().map(|o| o.to_string()).collect(),
                vec![],
            )
        };
        assert!(parse("Room", FieldKind::Text, &[]).is_err(), "upper case");
        assert!(parse("1st", FieldKind::Text, &[]).is_err());
        assert!(
            parse("room", FieldKind::SingleSelect, &[]).is_err(),
            "no options"
        );
        assert!(parse("room", FieldKind::Text, &["a"]).is_err(), "options");
        assert_eq!(
            parse("room", FieldKind::SingleSelect, &["a", " a ", "b"])
                .unwrap()
                .options,
            ["a", "b"]
        );
        assert!("colour".parse::<FieldKind>().is_err());
    }
}
