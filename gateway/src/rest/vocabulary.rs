//! The vocabularies the REST API shares with the services: each a protobuf enum, named in JSON as
//! the protobuf names it without its prefix, in lower case (`TICKET_STATE_PENDING_REMINDER` is
//! `pending_reminder`). A value added to the protobuf is in the API and its OpenAPI schema at once.

use std::sync::LazyLock;

use docket_proto::ticket::v1 as pb;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The schema of a vocabulary defined elsewhere (a protobuf enum, `docket_auth`): its names, as
/// a string enum.
pub(crate) fn names_schema(description: &str, names: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
        .description(Some(description))
        .into()
}

/// Reads one of a vocabulary's `names`, refusing others as serde refuses an unknown variant.
pub(crate) fn deserialize_name<'de, D: Deserializer<'de>>(
    deserializer: D,
    names: &'static [&'static str],
) -> Result<&'static str, D::Error> {
    let name = String::deserialize(deserializer)?;
    names
        .iter()
        .copied()
        .find(|n| *n == name)
        .ok_or_else(|| D::Error::unknown_variant(&name, names))
}

/// The values of a protobuf enum but `UNSPECIFIED`, in its order, each with its REST name.
pub(crate) struct Names<P: 'static> {
    pairs: Vec<(P, &'static str)>,
    names: Vec<&'static str>,
}

impl<P: Copy + PartialEq + TryFrom<i32> + Into<i32>> Names<P> {
    /// The names of the enum whose values `name` names with `prefix`. Made once per enum, for a
    /// static.
    fn of(prefix: &str, name: fn(&P) -> &'static str) -> Self {
        let pairs: Vec<(P, &'static str)> = (1..)
            .map_while(|i| P::try_from(i).ok())
            .map(|p| {
                let rest = name(&p).trim_start_matches(prefix).to_ascii_lowercase();
                (p, &*rest.leak())
            })
            .collect();
        let names = pairs.iter().map(|(_, n)| *n).collect();
        Self { pairs, names }
    }

    fn value(&self, wire: i32) -> Option<P> {
        self.pairs
            .iter()
            .map(|(p, _)| *p)
            .find(|p| (*p).into() == wire)
    }

    fn name(&self, value: P) -> &'static str {
        self.pairs
            .iter()
            .find(|(p, _)| *p == value)
            .map_or("", |(_, n)| n)
    }

    fn named(&self, name: &str) -> Option<P> {
        self.pairs.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
    }

    fn read<'de, D: Deserializer<'de>>(&'static self, deserializer: D) -> Result<P, D::Error> {
        let name = deserialize_name(deserializer, &self.names)?;
        self.named(name)
            .ok_or_else(|| D::Error::unknown_variant(name, &self.names))
    }
}

/// A REST type for a protobuf enum: its JSON names, serde and OpenAPI schema from [`Names`].
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident($pb:ty), $prefix:literal, $doc:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name($pb);

        #[allow(dead_code, reason = "every vocabulary has the whole set; not each uses all of it")]
        impl $name {
            fn names() -> &'static Names<$pb> {
                static NAMES: LazyLock<Names<$pb>> =
                    LazyLock::new(|| Names::of($prefix, <$pb>::as_str_name));
                &NAMES
            }

            /// The value of a protobuf number; `None` for `UNSPECIFIED` and for numbers this
            /// gateway does not know.
            pub(crate) fn from_pb(wire: i32) -> Option<Self> {
                Self::names().value(wire).map(Self)
            }

            /// The protobuf number, for a message's field.
            pub(crate) fn to_pb(self) -> i32 {
                self.0.into()
            }

            pub(crate) fn name(self) -> &'static str {
                Self::names().name(self.0)
            }

            /// The REST name of a protobuf number; empty for one this gateway does not know.
            pub(crate) fn name_of(wire: i32) -> &'static str {
                Self::from_pb(wire).map_or("", Self::name)
            }

            /// The value of a REST name; `None` for a name the vocabulary does not have.
            pub(crate) fn named(name: &str) -> Option<Self> {
                Self::names().named(name).map(Self)
            }

            /// Every value, in the protobuf's order.
            pub(crate) fn all() -> impl Iterator<Item = Self> {
                Self::names().pairs.iter().map(|(p, _)| Self(*p))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Self::names().read(deserializer).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                names_schema($doc, &Self::names().names)
            }
        }

        impl ToSchema for $name {}
    };
}

vocabulary!(
    /// A ticket's state.
    TicketState(pb::TicketState),
    "TICKET_STATE_",
    "The states of Znuny/OTRS. `pending_*` states need `pending_until`; `merged` comes only from\nmerging."
);

vocabulary!(
    /// What a state means: the classes of states the service desk works with.
    StateType(pb::StateType),
    "STATE_TYPE_",
    "What a state means: `new`, `open`, `pending_*` (worked on), `closed`, `merged` or `removed`."
);

vocabulary!(
    /// What a customer's reply to a closed ticket of a queue does.
    FollowUp(pb::FollowUp),
    "FOLLOW_UP_",
    "What a customer's reply to a closed ticket does: it reopens the ticket (`reopen`), opens a new\nticket linked to it (`new_ticket`), or is refused with a notice to open a new ticket (`reject`)."
);

vocabulary!(
    /// What automatic mail to a closed ticket of a queue does.
    AutomaticMail(pb::AutomaticMail),
    "AUTOMATIC_MAIL_",
    "What automatic mail (an auto-reply, a bounce, list mail) to a closed ticket does: it is kept as\nan internal note and the ticket stays closed (`note`), or it is handled as a customer's reply under\nthe follow-up policy (`follow_up`)."
);

vocabulary!(
    /// What a template is for.
    TemplateKind(pb::TemplateKind),
    "TEMPLATE_KIND_",
    "What a template is for: an `answer` to the customer (closed by the queue's signature), the\n`acceptance` notice that a request was received, or an internal `note`."
);

vocabulary!(
    /// The kind of a custom field, and so which values it takes.
    FieldKind(pb::FieldKind),
    "FIELD_KIND_",
    "The kind of a custom field: `text`, `number`, `date` (`YYYY-MM-DD`), `single_select` (one of\nits options), `multi_select` (any of them) or `checkbox` (`true` or `false`)."
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state of the protobuf has its REST name, the protobuf's own, and reads back.
    #[test]
    fn every_protobuf_state_has_its_rest_name() {
        let all: Vec<pb::TicketState> = (1..)
            .map_while(|i| pb::TicketState::try_from(i).ok())
            .collect();
        assert_eq!(all.len(), TicketState::all().count());
        for p in all {
            let rest =
                TicketState::from_pb(p.into()).unwrap_or_else(|| panic!("{p:?} has no REST name"));
            assert_eq!(rest.to_pb(), i32::from(p));
            let name = serde_json::to_value(rest).unwrap_or_default();
            let expected = p
                .as_str_name()
                .trim_start_matches("TICKET_STATE_")
                .to_ascii_lowercase();
            assert_eq!(
                name,
                serde_json::json!(expected),
                "the REST name is the protobuf's"
            );
            let back: TicketState = serde_json::from_value(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, rest);
        }
        let names: Vec<_> = FollowUp::all().map(FollowUp::name).collect();
        assert_eq!(names, ["reopen", "new_ticket", "reject"]);
        assert_eq!(
            FieldKind::named("single_select").map(FieldKind::to_pb),
            Some(i32::from(pb::FieldKind::SingleSelect))
        );
    }

    #[test]
    fn unspecified_and_unknown_values_have_no_name() {
        assert_eq!(TicketState::from_pb(0), None);
        assert_eq!(TemplateKind::from_pb(0), None);
        assert_eq!(TemplateKind::from_pb(99), None);
        assert_eq!(TemplateKind::named("unspecified"), None);
        let refused = serde_json::from_value::<FollowUp>(serde_json::json!("unspecified"));
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("unknown variant `unspecified`")
                && message.contains("`new_ticket`"),
            "{message}"
        );
    }
}
