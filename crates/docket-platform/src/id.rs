//! Typed identifiers: a `TicketId` cannot be passed where a `QueueId` is expected.
//!
//! Ids are UUIDv7: sortable by creation time, and with 74 random bits not guessable. They are parsed
//! once at the edge and valid afterwards; they travel as strings in protobuf and JSON and are stored
//! as text, which both of our stores index well.

/// The error of parsing an id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

/// Defines a UUID-backed id type with Display, FromStr, serde and sqlx (`Any`) support.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $vis:vis $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name($crate::id::__private::Uuid);

        impl $name {
            /// A new, time-ordered, random id.
            pub fn new() -> Self {
                Self($crate::id::__private::Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> &$crate::id::__private::Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::id::InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::id::__private::Uuid::try_parse(s.trim())
                    .map(Self)
                    .map_err(|_| $crate::id::InvalidId { kind: $kind, value: s.chars().take(64).collect() })
            }
        }

        impl $crate::id::__private::serde::Serialize for $name {
            fn serialize<S: $crate::id::__private::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> $crate::id::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::id::__private::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as $crate::id::__private::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err($crate::id::__private::serde::de::Error::custom)
            }
        }

        impl $crate::id::__private::sqlx::Type<$crate::id::__private::sqlx::Any> for $name {
            fn type_info() -> <$crate::id::__private::sqlx::Any as $crate::id::__private::sqlx::Database>::TypeInfo {
                <String as $crate::id::__private::sqlx::Type<$crate::id::__private::sqlx::Any>>::type_info()
            }
        }

        impl<'q> $crate::id::__private::sqlx::Encode<'q, $crate::id::__private::sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <$crate::id::__private::sqlx::Any as $crate::id::__private::sqlx::Database>::ArgumentBuffer,
            ) -> Result<$crate::id::__private::sqlx::encode::IsNull, $crate::id::__private::BoxDynError> {
                <String as $crate::id::__private::sqlx::Encode<'q, $crate::id::__private::sqlx::Any>>::encode(self.to_string(), buf)
            }
        }

        impl<'r> $crate::id::__private::sqlx::Decode<'r, $crate::id::__private::sqlx::Any> for $name {
            fn decode(
                value: <$crate::id::__private::sqlx::Any as $crate::id::__private::sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, $crate::id::__private::BoxDynError> {
                let s = <&str as $crate::id::__private::sqlx::Decode<'r, $crate::id::__private::sqlx::Any>>::decode(value)?;
                Ok(s.parse()?)
            }
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use sqlx;
    pub use uuid::Uuid;
    pub type BoxDynError = Box<dyn std::error::Error + Send + Sync + 'static>;
}

#[cfg(test)]
mod tests {
    typed_id!(ExampleId, "example");

    #[test]
    fn parses_what_it_prints() {
        let id = ExampleId::new();
        assert_eq!(id.to_string().parse::<ExampleId>(), Ok(id));
    }

    #[test]
    fn rejects_garbage_with_the_kind_named() {
        let err = "not-an-id".parse::<ExampleId>().unwrap_err();
        assert_eq!(err.to_string(), "`not-an-id` is not a valid example id");
    }

    #[test]
    fn serde_is_a_plain_string() {
        let id = ExampleId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<ExampleId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ExampleId>("\"x\"").is_err());
    }

    #[test]
    fn new_ids_are_v7_and_sort_by_creation() {
        let a = ExampleId::new();
        let b = ExampleId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }
}
