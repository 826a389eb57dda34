//! Listing and searching tickets (keyset-paged, visibility always ANDed) and saved searches.

use super::*;

#[async_trait]
pub trait Search: Send + Sync + 'static {
    async fn list_tickets(&self, query: &TicketListQuery) -> Result<Page<Ticket>, TicketError>;
    /// Ticket ids in id order after `after`, `limit` at a time: for walking every ticket.
    async fn ticket_ids(
        &self,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<TicketId>, TicketError>;
    /// Saves an agent's search under a name unique among theirs.
    async fn save_search(&self, search: NewSavedSearch) -> Result<SavedSearch, TicketError>;
    /// An agent's saved searches, by name.
    async fn saved_searches(&self, agent: AgentId) -> Result<Vec<SavedSearch>, TicketError>;
    /// One saved search; NOT_FOUND unless it is `agent`'s.
    async fn saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<SavedSearch, TicketError>;
    /// Deletes one of `agent`'s saved searches.
    async fn delete_saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<(), TicketError>;
}

#[async_trait]
impl Search for SqlTicketStore {
    async fn list_tickets(&self, query: &TicketListQuery) -> Result<Page<Ticket>, TicketError> {
        let page_size = query.page_size()?;
        let cursor = query
            .page_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| Cursor::decode(t, query.sort, query.descending))
            .transpose()?;
        // Only fixed fragments go into the statement; every value is bound.
        query.filter.check()?;
        let mut sql = Params::default();
        let visible_only = matches!(query.visibility, Visibility::Customer { .. });
        let plan = match (self.db.backend(), &query.filter.text) {
            (Backend::Postgres, Some(text)) => self.text_plan(text).await?,
            _ => TextPlan::Collect,
        };
        let mut clauses = search_clauses(
            &mut sql,
            self.db.backend(),
            &query.filter,
            visible_only,
            plan,
        );
        clauses.push(visibility(&mut sql, &query.visibility));
        let column = query.sort.as_str();
        let (cmp, dir) = if query.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(c) = &cursor {
            let (key, id) = (sql.int(c.key), sql.text(c.id));
            clauses.push(format!(
                "({column} {cmp} {key} OR ({column} = {key} AND id {cmp} {id}))"
            ));
        }
        let limit = sql.int(i64::from(page_size) + 1);
        let statement = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE {} ORDER BY {column} {dir}, id {dir} LIMIT {limit}",
            clauses.join(" AND ")
        );
        let rows = sql.query(statement).fetch_all(self.db.pool()).await?;
        let mut items = rows
            .iter()
            .map(ticket_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let next_page_token = match (more, items.last()) {
            (true, Some(last)) => Some(
                Cursor {
                    sort: query.sort.as_str(),
                    descending: query.descending,
                    key: sort_key(last, query.sort),
                    id: last.id,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn ticket_ids(
        &self,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<TicketId>, TicketError> {
        let rows: Vec<TicketId> = match after {
            Some(after) => {
                sqlx::query_scalar("SELECT id FROM tickets WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT id FROM tickets ORDER BY id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(self.db.pool())
                    .await?
            }
        };
        Ok(rows)
    }

    async fn save_search(&self, search: NewSavedSearch) -> Result<SavedSearch, TicketError> {
        let stored = SavedSearch {
            id: SavedSearchId::new(),
            agent_id: search.agent_id,
            name: search.name,
            filter: search.filter,
            sort: search.sort,
            descending: search.descending,
            created_at: docket_platform::time::now_micros(),
        };
        let filter = serde_json::to_string(&stored.filter)
            .map_err(|e| TicketError::Corrupt(format!("saved search filter: {e}")))?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO saved_searches (id, agent_id, name, filter, sort, descending, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stored.id)
        .bind(stored.agent_id)
        .bind(&stored.name)
        .bind(filter)
        .bind(stored.sort.as_str())
        .bind(i64::from(stored.descending))
        .bind(stored.created_at)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| {
            format!("you have a saved search named `{}` already", stored.name)
        }))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn saved_searches(&self, agent: AgentId) -> Result<Vec<SavedSearch>, TicketError> {
        sqlx::query(
            "SELECT id, agent_id, name, filter, sort, descending, created_at FROM saved_searches \
             WHERE agent_id = $1 ORDER BY name, id",
        )
        .bind(agent)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(saved_search_from_row)
        .collect()
    }

    async fn saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<SavedSearch, TicketError> {
        let row = sqlx::query(
            "SELECT id, agent_id, name, filter, sort, descending, created_at FROM saved_searches \
             WHERE id = $1 AND agent_id = $2",
        )
        .bind(id)
        .bind(agent)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("saved search", id))?;
        saved_search_from_row(&row)
    }

    async fn delete_saved_search(
        &self,
        id: SavedSearchId,
        agent: AgentId,
    ) -> Result<(), TicketError> {
        let mut tx = self.db.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM saved_searches WHERE id = $1 AND agent_id = $2")
            .bind(id)
            .bind(agent)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(TicketError::not_found("saved search", id));
        }
        tx.commit().await?;
        Ok(())
    }
}

impl SqlTicketStore {
    /// Which way to match `text` (PostgreSQL): the planner's estimate of the articles holding
    /// it decides.
    pub(super) async fn text_plan(&self, text: &FullText) -> Result<TextPlan, TicketError> {
        let query = text.to_tsquery();
        // Words are letters and digits only (see `FullText`), so the literal cannot break out;
        // EXPLAIN takes no parameters.
        if query.contains(['\'', '\\']) {
            return Ok(TextPlan::Collect);
        }
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN SELECT 1 FROM articles WHERE to_tsvector('simple', left(subject || ' ' || body, 250000)) @@ to_tsquery('simple', '{query}')"
        )))
        .fetch_all(self.db.pool())
        .await?;
        let estimate = plan
            .first()
            .and_then(|line| line.split("rows=").nth(1))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(if estimate > self.dense_text_rows {
            TextPlan::Walk
        } else {
            TextPlan::Collect
        })
    }
}

/// How full text is matched on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextPlan {
    /// Collect the matching ticket ids from the GIN indexes, then filter and sort: fast when
    /// the words are rare.
    Collect,
    /// Walk the tickets in the listing's order and check each: fast when the words are common,
    /// since a page fills after a few tickets.
    Walk,
}

/// The condition a ticket row must meet to be visible.
fn visibility(p: &mut Params, visibility: &Visibility) -> String {
    match visibility {
        Visibility::All => "1 = 1".to_owned(),
        Visibility::Agent {
            groups,
            owners,
            collaborator,
        } => {
            let mut any = Vec::new();
            if let Some((tenants, agent)) = collaborator
                && !tenants.is_empty()
            {
                any.push(format!(
                    "(tenant_id IN ({}) AND id IN (SELECT ticket_id FROM ticket_collaborators WHERE agent_id = {}))",
                    p.list(tenants),
                    p.text(agent)
                ));
            }
            if !groups.is_empty() {
                any.push(format!(
                    "queue_id IN (SELECT id FROM queues WHERE group_id IN ({}))",
                    p.list(groups)
                ));
            }
            for (tenant, owner) in owners {
                any.push(format!(
                    "(tenant_id = {} AND owner_id = {})",
                    p.text(tenant),
                    p.text(owner)
                ));
            }
            if any.is_empty() {
                "1 = 0".to_owned()
            } else {
                format!("({})", any.join(" OR "))
            }
        }
        Visibility::Customer {
            tenant_id,
            customer_id,
            company_id,
        } => {
            let tenant = p.text(tenant_id);
            let customer = p.text(customer_id);
            match company_id {
                Some(company) => format!(
                    "(tenant_id = {tenant} AND (customer_id = {customer} OR company_id = {}))",
                    p.text(company)
                ),
                None => format!("(tenant_id = {tenant} AND customer_id = {customer})"),
            }
        }
    }
}

/// The conditions of a search filter, one per field set. The full-text condition differs per
/// engine: PostgreSQL's GIN indexes over `to_tsvector('simple', …)`, SQLite's FTS5 tables.
/// With `visible_only`, text matches only in articles the customer may read.
fn search_clauses(
    p: &mut Params,
    backend: Backend,
    f: &TicketFilter,
    visible_only: bool,
    plan: TextPlan,
) -> Vec<String> {
    let mut clauses = Vec::new();
    let (visible, visible_attachment) = if visible_only {
        (
            "visible_to_customer = 1 AND",
            "article_id IN (SELECT id FROM articles WHERE visible_to_customer = 1) AND",
        )
    } else {
        ("", "")
    };
    if let Some(text) = &f.text {
        // One set of matching ticket ids from both indexes, so each engine can use them.
        clauses.push(match backend {
            Backend::Postgres if plan == TextPlan::Walk => {
                let q = p.text(text.to_tsquery());
                format!(
                    "(to_tsvector('simple', title) @@ to_tsquery('simple', {q}) \
                     OR EXISTS (SELECT 1 FROM articles a WHERE a.ticket_id = tickets.id AND {visible} \
                                to_tsvector('simple', left(a.subject || ' ' || a.body, 250000)) @@ to_tsquery('simple', {q})) \
                     OR EXISTS (SELECT 1 FROM attachments x WHERE x.ticket_id = tickets.id AND {visible_attachment} \
                                to_tsvector('simple', left(x.text, 250000)) @@ to_tsquery('simple', {q})))"
                )
            }
            Backend::Postgres => {
                let q = p.text(text.to_tsquery());
                format!(
                    "id IN (SELECT id FROM tickets WHERE to_tsvector('simple', title) @@ to_tsquery('simple', {q}) \
                     UNION SELECT ticket_id FROM articles \
                            WHERE {visible} to_tsvector('simple', left(subject || ' ' || body, 250000)) @@ to_tsquery('simple', {q}) \
                     UNION SELECT ticket_id FROM attachments \
                            WHERE {visible_attachment} to_tsvector('simple', left(text, 250000)) @@ to_tsquery('simple', {q}))"
                )
            }
            Backend::Sqlite => {
                let q = p.text(text.to_fts5());
                format!(
                    "id IN (SELECT id FROM tickets WHERE rowid IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH {q}) \
                     UNION SELECT a.ticket_id FROM articles a \
                            WHERE {visible} a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH {q}) \
                     UNION SELECT ticket_id FROM attachments \
                            WHERE {visible_attachment} rowid IN (SELECT rowid FROM attachments_fts WHERE attachments_fts MATCH {q}))"
                )
            }
        });
    }
    let mut any_of = |column: &str, values: Vec<String>, this: &mut Params| {
        if !values.is_empty() {
            clauses.push(format!("{column} IN ({})", this.list(values)));
        }
    };
    any_of("queue_id", strings(&f.queue_ids), p);
    let mut states: Vec<String> = strings(&f.states);
    if !f.state_types.is_empty() {
        // A state type is the states of that type.
        let of_types = TicketState::ALL
            .iter()
            .filter(|s| f.state_types.contains(&s.state_type()))
            .map(|s| s.to_string());
        states = if states.is_empty() {
            of_types.collect()
        } else {
            of_types.filter(|s| states.contains(s)).collect()
        };
        if states.is_empty() {
            states.push(String::new());
        }
    }
    any_of("state", states, p);
    any_of("custom_state", f.custom_states.clone(), p);
    any_of("service_id", strings(&f.service_ids), p);
    any_of("type_id", strings(&f.type_ids), p);
    if !f.priorities.is_empty() {
        let marks: Vec<String> = f
            .priorities
            .iter()
            .map(|priority| p.int(i64::from(priority.get())))
            .collect();
        clauses.push(format!("priority IN ({})", marks.join(", ")));
    }
    let mut equals = |column: &str, value: Option<String>, this: &mut Params| {
        if let Some(v) = value {
            clauses.push(format!("{column} = {}", this.text(v)));
        }
    };
    equals("owner_id", f.owner_id.map(|v| v.to_string()), p);
    equals("responsible_id", f.responsible_id.map(|v| v.to_string()), p);
    equals("customer_id", f.customer_id.map(|v| v.to_string()), p);
    equals("company_id", f.company_id.map(|v| v.to_string()), p);
    if let Some(locked) = f.locked {
        clauses.push(format!("locked = {}", p.int(i64::from(locked))));
    }
    if let Some(customer) = &f.customer {
        let pattern = format!("%{}%", like_escape(&customer.to_lowercase()));
        clauses.push(format!(
            "LOWER(customer) LIKE {} ESCAPE '\\'",
            p.text(pattern)
        ));
    }
    if let Some(agent) = f.collaborator {
        clauses.push(format!(
            "id IN (SELECT ticket_id FROM ticket_collaborators WHERE agent_id = {})",
            p.text(agent)
        ));
    }
    if let Some(agent) = f.watched_by {
        clauses.push(format!(
            "id IN (SELECT ticket_id FROM ticket_watchers WHERE agent_id = {})",
            p.text(agent)
        ));
    }
    for tag in &f.tags {
        clauses.push(format!(
            "id IN (SELECT ticket_id FROM ticket_tags WHERE tag = {})",
            p.text(tag)
        ));
    }
    for m in &f.fields {
        let (key, value) = (p.text(&m.key), p.text(&m.value));
        clauses.push(format!(
            "id IN (SELECT v.ticket_id FROM ticket_field_values v JOIN custom_fields cf ON cf.id = v.field_id \
             WHERE cf.key = {key} AND v.value = {value})"
        ));
    }
    for (column, range) in [
        ("created_at", f.created),
        ("updated_at", f.changed),
        ("closed_at", f.closed),
    ] {
        if let Some(from) = range.from {
            clauses.push(format!("{column} >= {}", p.int(from)));
        }
        if let Some(until) = range.until {
            clauses.push(format!("{column} < {}", p.int(until)));
        }
    }
    clauses
}

pub(super) fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

/// `s` with LIKE's wildcards (and the escape character) escaped by `\`.
pub(super) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a page ends: the sort key and id of its last ticket, tied to the sort it was made for.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Cursor {
    sort: &'static str,
    descending: bool,
    key: i64,
    id: TicketId,
}

impl Cursor {
    fn encode(&self) -> String {
        let raw = format!(
            "{}|{}|{}|{}",
            self.sort,
            u8::from(self.descending),
            self.key,
            self.id
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(token: &str, sort: SortField, descending: bool) -> Result<Self, TicketError> {
        let bad = || TicketError::invalid("page token is not valid for this listing");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.split('|');
        let (Some(s), Some(d), Some(k), Some(i), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if s != sort.as_str() || d != if descending { "1" } else { "0" } {
            return Err(bad());
        }
        Ok(Self {
            sort: sort.as_str(),
            descending,
            key: k.parse().map_err(|_| bad())?,
            id: i.parse().map_err(|_| bad())?,
        })
    }
}

pub(super) fn sort_key(ticket: &Ticket, sort: SortField) -> i64 {
    match sort {
        SortField::CreatedAt => ticket.created_at,
        SortField::UpdatedAt => ticket.updated_at,
        SortField::Priority => i64::from(ticket.priority.get()),
    }
}

/// A row of `saved_searches` as the database holds it.
#[derive(sqlx::FromRow)]
struct SavedSearchRow {
    sort: String,
    id: SavedSearchId,
    agent_id: AgentId,
    name: String,
    /// JSON.
    filter: String,
    descending: i64,
    created_at: i64,
}

impl TryFrom<SavedSearchRow> for SavedSearch {
    type Error = TicketError;

    fn try_from(row: SavedSearchRow) -> Result<Self, TicketError> {
        let corrupt = |e: String| TicketError::Corrupt(format!("saved search: {e}"));
        let sort = match row.sort.as_str() {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "priority" => SortField::Priority,
            other => return Err(corrupt(format!("sort `{other}`"))),
        };
        Ok(SavedSearch {
            id: row.id,
            agent_id: row.agent_id,
            name: row.name,
            filter: serde_json::from_str(&row.filter).map_err(|e| corrupt(e.to_string()))?,
            sort,
            descending: docket_store::flag(row.descending),
            created_at: row.created_at,
        })
    }
}

pub(super) fn saved_search_from_row(row: &AnyRow) -> Result<SavedSearch, TicketError> {
    docket_store::decode::<SavedSearchRow>(row)?.try_into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_tied_to_their_sort() {
        let c = Cursor {
            sort: "priority",
            descending: true,
            key: 4,
            id: TicketId::new(),
        };
        let token = c.encode();
        assert_eq!(
            Cursor::decode(&token, SortField::Priority, true).unwrap(),
            c
        );
        assert!(Cursor::decode(&token, SortField::Priority, false).is_err());
        assert!(Cursor::decode(&token, SortField::CreatedAt, true).is_err());
        assert!(Cursor::decode("garbage!", SortField::Priority, true).is_err());
        assert!(Cursor::decode("", SortField::Priority, true).is_err());
    }

    #[test]
    fn a_saved_search_row_reads_its_sort_and_direction_or_is_corrupt() {
        let row = |sort: &str| SavedSearchRow {
            sort: sort.to_owned(),
            id: SavedSearchId::new(),
            agent_id: AgentId::new(),
            name: "Mine".to_owned(),
            filter: serde_json::to_string(&TicketFilter::default()).unwrap(),
            descending: 1,
            created_at: 1,
        };
        let saved = SavedSearch::try_from(row("updated_at")).unwrap();
        assert_eq!(saved.sort, SortField::UpdatedAt);
        assert!(saved.descending);
        assert!(matches!(
            SavedSearch::try_from(row("age")),
            Err(TicketError::Corrupt(m)) if m == "saved search: sort `age`"
        ));
        let not_json = SavedSearchRow {
            filter: "[".to_owned(),
            ..row("priority")
        };
        assert!(matches!(
            SavedSearch::try_from(not_json),
            Err(TicketError::Corrupt(m)) if m.starts_with("saved search: ")
        ));
    }
}
