//! Statements assembled at run time (a search filter, a list of states) with every value bound.
//!
//! sqlx's own `QueryBuilder` writes `?` placeholders through the `Any` driver, which PostgreSQL
//! refuses, so statements whose shape depends on the input number their `$n` here instead:
//! each value taken gives back its placeholder to write into the text, and the values are bound
//! in that order when the statement runs. No value ever becomes part of the SQL text.
//!
//! ```
//! let mut p = docket_store::Params::default();
//! let sql = format!(
//!     "SELECT id FROM tickets WHERE tenant_id = {} AND state IN ({})",
//!     p.text("t-1"),
//!     p.list(["new", "open"]),
//! );
//! assert_eq!(sql, "SELECT id FROM tickets WHERE tenant_id = $1 AND state IN ($2, $3)");
//! ```

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, AssertSqlSafe, FromRow};

/// The values of a statement in the order of their placeholders `$1, $2, …`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: Vec<Value>,
}

/// A bound value: what both engines store alike.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    Int(i64),
}

impl Params {
    /// Takes a text value; returns its placeholder.
    pub fn text(&mut self, value: impl ToString) -> String {
        self.push(Value::Text(value.to_string()))
    }

    /// Takes an integer value; returns its placeholder.
    pub fn int(&mut self, value: i64) -> String {
        self.push(Value::Int(value))
    }

    /// Takes a list of text values; returns their placeholders separated by commas, for
    /// `IN (…)`. An empty list gives `NULL`, so `x IN (NULL)` matches nothing instead of being a
    /// syntax error.
    pub fn list(&mut self, values: impl IntoIterator<Item = impl ToString>) -> String {
        let marks: Vec<String> = values.into_iter().map(|v| self.text(v)).collect();
        if marks.is_empty() {
            "NULL".to_owned()
        } else {
            marks.join(", ")
        }
    }

    /// How many values have been taken.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `sql` (written with this builder's placeholders) with every value bound.
    pub fn query<'q>(&self, sql: String) -> Query<'q, Any, AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in &self.values {
            query = match value {
                Value::Text(t) => query.bind(t.clone()),
                Value::Int(i) => query.bind(*i),
            };
        }
        query
    }

    /// As [`Params::query`], decoding each row as `T`.
    pub fn query_as<'q, T>(&self, sql: String) -> QueryAs<'q, Any, T, AnyArguments>
    where
        T: for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for value in &self.values {
            query = match value {
                Value::Text(t) => query.bind(t.clone()),
                Value::Int(i) => query.bind(*i),
            };
        }
        query
    }

    /// As [`Params::query`], decoding the first column of each row as `T`.
    pub fn query_scalar<'q, T>(&self, sql: String) -> QueryScalar<'q, Any, T, AnyArguments>
    where
        (T,): for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql));
        for value in &self.values {
            query = match value {
                Value::Text(t) => query.bind(t.clone()),
                Value::Int(i) => query.bind(*i),
            };
        }
        query
    }

    fn push(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Backend, Db, PoolSize};

    #[test]
    fn placeholders_count_up_in_the_order_values_are_taken() {
        let mut p = Params::default();
        assert!(p.is_empty());
        assert_eq!(p.int(7), "$1");
        assert_eq!(p.list(["a", "b", "c"]), "$2, $3, $4");
        assert_eq!(p.text("d"), "$5");
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn an_empty_list_matches_nothing_instead_of_breaking_the_statement() {
        let mut p = Params::default();
        assert_eq!(p.list(Vec::<String>::new()), "NULL");
        assert!(p.is_empty(), "no value is bound for an empty list");
    }

    #[tokio::test]
    async fn values_are_bound_in_placeholder_order_on_sqlite() {
        let db = Db::connect("sqlite::memory:", PoolSize::default())
            .await
            .unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        let mut p = Params::default();
        let sql = format!(
            "SELECT {} || {}, {} + 1, 'x' IN ({}), 'x' IN ({})",
            p.text("it's "),
            p.text("bound"),
            p.int(41),
            p.list(["y", "x"]),
            p.list(Vec::<String>::new()),
        );
        let (text, sum, listed, empty): (String, i64, i64, Option<i64>) =
            p.query_as(sql).fetch_one(db.pool()).await.unwrap();
        assert_eq!(text, "it's bound");
        assert_eq!(sum, 42);
        assert_eq!(listed, 1);
        assert_ne!(empty, Some(1), "an empty list matches nothing");
        let n: i64 = {
            let mut p = Params::default();
            let sql = format!("SELECT {} * {}", p.int(6), p.int(7));
            p.query_scalar(sql).fetch_one(db.pool()).await.unwrap()
        };
        assert_eq!(n, 42);
    }
}
