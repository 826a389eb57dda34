//! Every static SQL statement of a service, found in its source, prepared against a migrated
//! database: the `Any` driver checks no SQL at compile time, so a misspelt column would otherwise
//! show only when the scenario that runs it does. Preparing parses the statement and resolves
//! every table and column on the engine, without running it.
//!
//! A statement is a string literal (or a `queries/*.sql` file) that begins with `SELECT`,
//! `INSERT`, `UPDATE`, `DELETE` or `WITH`. Statements assembled at run time (`format!`, with
//! `{…}` in the literal) and pieces of `concat!` are left out: the scenarios cover them. A
//! statement written for one engine only (the code branches on [`Backend`]) is known by a
//! fragment of that engine's own syntax ([`ENGINE_ONLY`]) and prepared only there.

use std::path::{Path, PathBuf};

use sqlx::Executor;

use crate::{Backend, Db};

/// Fragments of syntax only one engine knows; a statement containing one is prepared on that
/// engine only.
pub const ENGINE_ONLY: &[(&str, Backend)] = &[
    ("FOR UPDATE", Backend::Postgres),
    ("SKIP LOCKED", Backend::Postgres),
    ("to_tsvector", Backend::Postgres),
    ("to_tsquery", Backend::Postgres),
];

/// One statement found in the source: where it stands and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub place: String,
    pub sql: String,
}

/// Every statement in the `.rs` files below `dir` and in its `queries/*.sql` files.
pub fn statements_in(dir: &Path) -> std::io::Result<Vec<Statement>> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let place = file.display().to_string();
        if file.extension().is_some_and(|e| e == "sql") {
            if is_statement(&text) {
                found.push(Statement {
                    place,
                    sql: text.trim().to_owned(),
                });
            }
            continue;
        }
        for (line, literal) in string_literals(&text) {
            if is_statement(&literal) && !literal.contains('{') {
                found.push(Statement {
                    place: format!("{place}:{line}"),
                    sql: literal,
                });
            }
        }
    }
    Ok(found)
}

/// Prepares each statement meant for `db`'s engine; the failures, each with its place, the
/// engine's message and the SQL. `only_on` pairs a fragment with the one engine statements
/// containing it are written for.
pub async fn unpreparable(
    db: &Db,
    statements: &[Statement],
    only_on: &[(&str, Backend)],
) -> Result<Vec<String>, sqlx::Error> {
    let backend = db.backend();
    let mut conn = db.pool().acquire().await?;
    let mut failures = Vec::new();
    for s in statements {
        let elsewhere = only_on
            .iter()
            .any(|(fragment, engine)| *engine != backend && s.sql.contains(fragment));
        if elsewhere {
            continue;
        }
        if let Err(e) = (&mut *conn)
            .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
                s.sql.clone(),
            )))
            .await
        {
            failures.push(format!("{} ({backend:?}): {e}\n    {}", s.place, s.sql));
        }
    }
    Ok(failures)
}

/// For a service's conformance suite: every statement below `dirs` prepares on `db`'s engine.
/// Panics with every failure (it is a test's assertion), or when no statement is found.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub async fn assert_every_statement_prepares(db: &Db, dirs: &[PathBuf]) {
    let mut statements = Vec::new();
    for dir in dirs {
        statements.extend(statements_in(dir).expect("the source folder is readable"));
    }
    assert!(!statements.is_empty(), "no statement found in {dirs:?}");
    let failures = unpreparable(db, &statements, ENGINE_ONLY).await.unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} statements do not prepare:\n{}",
        failures.len(),
        statements.len(),
        failures.join("\n")
    );
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "migrations") {
                collect_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            || (path.extension().is_some_and(|e| e == "sql")
                && path
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "queries"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether `text` reads as a statement: its first word a statement's, and the word that must
/// follow it somewhere there too (so that "update is required" is prose, not SQL).
fn is_statement(text: &str) -> bool {
    let text = text.trim_start();
    let word: String = text.chars().take_while(char::is_ascii_alphabetic).collect();
    let upper = text.to_ascii_uppercase();
    let then = |k: &str| upper.contains(k);
    text[word.len()..].starts_with(char::is_whitespace)
        && match word.to_ascii_uppercase().as_str() {
            "SELECT" | "WITH" => then("SELECT"),
            "INSERT" => then(" INTO "),
            "UPDATE" => then(" SET "),
            "DELETE" => then(" FROM "),
            _ => false,
        }
}

/// The string literals of Rust source with the line each starts on, their escapes resolved
/// (`\` at a line's end joins the next line without its indentation). Comments, character
/// literals and the pieces of `concat!(…)` (fragments, not statements) are passed over; raw
/// strings are read as they are.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    // Parentheses open, and the depth inside which a `concat!` keeps its pieces.
    let (mut depth, mut in_concat) = (0_usize, None::<usize>);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => line += 1,
            '(' => {
                depth += 1;
                if in_concat.is_none()
                    && i >= 7
                    && chars[i - 7..i].iter().collect::<String>() == "concat!"
                {
                    in_concat = Some(depth);
                }
            }
            ')' => {
                if in_concat == Some(depth) {
                    in_concat = None;
                }
                depth = depth.saturating_sub(1);
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
                continue;
            }
            '\'' => {
                // A character literal ('"', '\'') or a lifetime ('a): skip the former whole.
                if chars.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 2;
                }
            }
            'r' if chars.get(i + 1) == Some(&'"') || chars.get(i + 1) == Some(&'#') => {
                let start_line = line;
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') || (i > 0 && chars[i - 1].is_alphanumeric()) {
                    i += 1;
                    continue;
                }
                j += 1;
                let mut text = String::new();
                while j < chars.len() {
                    if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        break;
                    }
                    if chars[j] == '\n' {
                        line += 1;
                    }
                    text.push(chars[j]);
                    j += 1;
                }
                if in_concat.is_none() {
                    out.push((start_line, text));
                }
                i = j + 1 + hashes;
                continue;
            }
            '"' => {
                let start_line = line;
                let mut j = i + 1;
                let mut text = String::new();
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '\\' {
                        j += 1;
                        match chars.get(j) {
                            Some('\n') => {
                                line += 1;
                                while chars.get(j + 1).is_some_and(|c| c.is_whitespace()) {
                                    if chars[j + 1] == '\n' {
                                        line += 1;
                                    }
                                    j += 1;
                                }
                            }
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some(&other) => text.push(other),
                            None => {}
                        }
                    } else {
                        if chars[j] == '\n' {
                            line += 1;
                        }
                        text.push(chars[j]);
                    }
                    j += 1;
                }
                if in_concat.is_none() {
                    out.push((start_line, text));
                }
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_read_as_rust_reads_them() {
        let source = "let q = sqlx::query(\"SELECT a FROM t \\\n    WHERE b = $1\"); // \"SELECT in a comment\"\n\
                      let c = '\"'; let s = r#\"UPDATE t SET \"x\" = 1\"#; const Q: &str = concat!(\"SELECT \", cols!(), \" FROM t\"); /* \"DELETE gone\" */ let f = \"x\\\"y\";";
        let found: Vec<String> = string_literals(source)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(
            found,
            vec![
                "SELECT a FROM t WHERE b = $1".to_owned(),
                "UPDATE t SET \"x\" = 1".to_owned(),
                "x\"y".to_owned()
            ]
        );
    }

    #[test]
    fn statements_are_sql_without_placeholders_of_format() {
        assert!(is_statement("  select 1"));
        assert!(is_statement("SELECT\n  a FROM t"));
        assert!(is_statement("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!is_statement("selection of queues"));
        assert!(!is_statement("updated"));
        assert!(is_statement("UPDATE t SET a = 1"));
        assert!(!is_statement("update is required"));
        assert!(is_statement("DELETE FROM t"));
    }
}
