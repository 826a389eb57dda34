//! Rows read into `#[derive(sqlx::FromRow)]` structs of what the database holds (integers as
//! `i64`, booleans as 0/1 integers, times as `i64` microseconds, text as `String`), then
//! converted into a service's own types by the service.
//!
//! A row that does not decode is corrupt data, not a database failure that could be retried:
//! [`decode`] says so with a [`CorruptRow`], which each service turns into its own `Corrupt`
//! error.

use std::fmt;

use sqlx::FromRow;
use sqlx::any::AnyRow;

/// A row that did not decode into its struct: a column missing, NULL where a value is required,
/// or of another type than the struct expects.
#[derive(Debug)]
pub struct CorruptRow(sqlx::Error);

impl CorruptRow {
    /// The column that did not decode, when the error names one.
    pub fn column(&self) -> Option<&str> {
        match &self.0 {
            // sqlx writes the index as `{index:?}`: a name comes quoted.
            sqlx::Error::ColumnDecode { index, .. } => Some(index.trim_matches('"')),
            sqlx::Error::ColumnNotFound(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column() {
            Some(column) => write!(f, "column {column}: {}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for CorruptRow {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A row as its `FromRow` struct `T`.
pub fn decode<T>(row: &AnyRow) -> Result<T, CorruptRow>
where
    T: for<'r> FromRow<'r, AnyRow>,
{
    T::from_row(row).map_err(CorruptRow)
}

/// A boolean as both engines store it: 0 or 1 in an integer column (the `Any` driver decodes no
/// `bool`). Anything but 0 reads as true.
pub fn flag(stored: i64) -> bool {
    stored != 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Db, PoolSize};

    #[derive(Debug, sqlx::FromRow)]
    struct Pair {
        name: String,
        n: i64,
        note: Option<String>,
    }

    async fn row(sql: &'static str) -> AnyRow {
        let db = Db::connect("sqlite::memory:", PoolSize::max(1))
            .await
            .unwrap();
        sqlx::query(sql).fetch_one(db.pool()).await.unwrap()
    }

    #[tokio::test]
    async fn a_row_decodes_into_its_struct() {
        let pair: Pair = decode(&row("SELECT 'a' AS name, 7 AS n, NULL AS note").await).unwrap();
        assert_eq!((pair.name.as_str(), pair.n, pair.note), ("a", 7, None));
    }

    #[tokio::test]
    async fn a_missing_column_is_a_corrupt_row_naming_it() {
        let err = decode::<Pair>(&row("SELECT 'a' AS name, NULL AS note").await).unwrap_err();
        assert_eq!(err.column(), Some("n"));
        assert_eq!(err.to_string(), "column n: no column found for name: n");
    }

    #[tokio::test]
    async fn a_value_of_another_type_is_a_corrupt_row_naming_its_column() {
        let err = decode::<Pair>(&row("SELECT 'a' AS name, 'seven' AS n, NULL AS note").await)
            .unwrap_err();
        assert_eq!(err.column(), Some("n"));
        assert!(
            err.to_string()
                .starts_with("column n: error occurred while decoding column \"n\""),
            "{err}"
        );
    }

    #[tokio::test]
    async fn null_where_a_value_is_required_is_a_corrupt_row() {
        let err =
            decode::<Pair>(&row("SELECT NULL AS name, 7 AS n, NULL AS note").await).unwrap_err();
        assert_eq!(err.column(), Some("name"));
    }

    #[test]
    fn flags_are_0_for_false_and_anything_else_for_true() {
        assert!(!flag(0));
        assert!(flag(1));
        assert!(flag(-1));
        assert!(flag(2));
    }
}
