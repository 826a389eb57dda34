//! Links between tickets, sub-tickets, merging and splitting.

use super::*;

#[async_trait]
pub trait Links: Send + Sync + 'static {
    /// Links two tickets of one tenant (`parent_child`: `source` is the parent). Both tickets get
    /// a history entry and a new version; refused when it would give a ticket a second parent or
    /// make a ticket its own ancestor.
    async fn link_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError>;
    async fn unlink_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError>;
    /// Merges `source` into `target` (one tenant): the source's articles are copied onto the
    /// target, the source becomes `merged`, points at the target and keeps its own history.
    /// Returns the target at its new version.
    async fn merge_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
    /// Opens a new ticket with a copy of one article, as a child of the article's ticket.
    async fn split_article(
        &self,
        article: ArticleId,
        new: NewTicket,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
    /// The tickets linked to `id`, with their states: a parent sees its children's progress.
    async fn links(&self, id: TicketId) -> Result<Vec<LinkedTicket>, TicketError>;
}

#[async_trait]
impl Links for SqlTicketStore {
    async fn link_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        Self::link_in_tx(&mut tx, source, target, kind, actor, now).await?;
        self.commit(tx).await
    }

    async fn unlink_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
    ) -> Result<(), TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let (a, b) = kind.key(source, target);
        let removed = sqlx::query(
            "DELETE FROM ticket_links WHERE source_id = $1 AND target_id = $2 AND kind = $3",
        )
        .bind(a)
        .bind(b)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Err(TicketError::not_found(
                "link",
                format!("{source} → {target}"),
            ));
        }
        let first = Self::fetch_ticket(&mut tx, source).await?;
        let second = Self::fetch_ticket(&mut tx, target).await?;
        Self::record_link(&mut tx, &first, &second, kind, "unlinked", actor, now).await?;
        self.commit(tx).await
    }

    async fn merge_tickets(
        &self,
        source: TicketId,
        target: TicketId,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let from = Self::fetch_ticket(&mut tx, source).await?;
        let mut into = Self::fetch_ticket(&mut tx, target).await?;
        from.check_merge_into(&into)?;
        // The source's articles, copied onto the target in their order, each recorded there.
        let articles = self.list_articles(source, false).await?;
        let previous = into.version;
        into.updated_at = now;
        for a in &articles {
            into.version += 1;
            // Copies keep their author and time; the time they account stays with the original.
            let mut copy = Article {
                id: ArticleId::new(),
                ticket_id: into.id,
                attachments: Vec::new(),
                time_minutes: 0,
                ..a.clone()
            };
            Self::store_article(&mut tx, &copy).await?;
            let attached = Self::stored_attachments(&mut *tx, a.id).await?;
            copy.attachments =
                Self::insert_attachments(&mut tx, copy.id, into.id, &attached, now).await?;
            let mut details = article_details(&copy);
            details["merged_from"] = serde_json::json!(from.number);
            details["original_article_id"] = serde_json::json!(a.id);
            Self::append_history(&mut tx, &into, "article_added", actor, details).await?;
        }
        into.version += 1;
        bump_version(&mut tx, &into, previous).await?;
        let count = u32::try_from(articles.len()).unwrap_or(u32::MAX);
        Self::append_history(
            &mut tx,
            &into,
            "merged_in",
            actor,
            serde_json::json!({ "ticket_id": from.id, "number": from.number, "articles": count }),
        )
        .await?;
        let event = merged_event(into.id, from.id, false, count, actor);
        Self::ticket_event(&mut tx, &into, "ticket.merged", event).await?;

        // The source: merged, unlocked, no pending date, pointing at the target.
        let merged = from.merged_into(into.id, now);
        let updated = sqlx::query(
            "UPDATE tickets SET state = $1, locked = 0, pending_until = NULL, merged_into = $2, version = $3, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(merged.state.as_str())
        .bind(into.id)
        .bind(version_i64(merged.version)?)
        .bind(now)
        .bind(from.id)
        .bind(version_i64(from.version)?)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(TicketError::Conflict(format!(
                "ticket {} was changed meanwhile; try again",
                from.number
            )));
        }
        Self::append_history(
            &mut tx,
            &merged,
            "merged",
            actor,
            serde_json::json!({
                "into": into.id, "number": into.number,
                "state": { "old": from.state, "new": merged.state },
            }),
        )
        .await?;
        let event = merged_event(merged.id, into.id, true, count, actor);
        Self::ticket_event(&mut tx, &merged, "ticket.merged", event).await?;
        self.commit(tx).await?;
        tracing::info!(source = %from.id, target = %into.id, actor = %actor.as_str(), "tickets merged");
        Ok(into)
    }

    async fn split_article(
        &self,
        article: ArticleId,
        mut new: NewTicket,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        let original = self.get_article(article).await?;
        new.article = Some(NewArticle {
            sender: original.sender,
            channel: original.channel,
            visible_to_customer: original.visible_to_customer,
            subject: original.subject,
            body: original.body,
            attachments: Self::stored_attachments(self.db.pool(), original.id).await?,
            time_minutes: 0,
            idempotency_key: None,
            automatic: false,
        });
        new.parent_id = Some(original.ticket_id);
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let parent = Self::fetch_ticket(&mut tx, original.ticket_id).await?;
        if Self::queue_in_tenant(&mut tx, new.queue_id).await? != parent.tenant_id {
            return Err(TicketError::not_found("queue", new.queue_id));
        }
        let (ticket, _) = self.create_in_tx(&mut tx, new, actor, now).await?;
        self.commit(tx).await?;
        Ok(ticket)
    }

    async fn links(&self, id: TicketId) -> Result<Vec<LinkedTicket>, TicketError> {
        self.get_ticket(id).await?;
        let rows = sqlx::query(
            "SELECT l.source_id, l.target_id, l.kind, t.id AS other_id, t.number, t.title, t.state, t.queue_id, t.owner_id \
               FROM ticket_links l JOIN tickets t \
                 ON t.id = CASE WHEN l.source_id = $1 THEN l.target_id ELSE l.source_id END \
              WHERE l.source_id = $1 OR l.target_id = $1 \
              ORDER BY t.created_at, t.id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| docket_store::decode::<LinkRow>(row)?.linked_to(id))
            .collect()
    }
}

/// A link of a ticket joined with the ticket at its other end, as the database holds them.
#[derive(sqlx::FromRow)]
struct LinkRow {
    kind: String,
    source_id: TicketId,
    other_id: TicketId,
    number: String,
    title: String,
    state: String,
    queue_id: QueueId,
    owner_id: Option<AgentId>,
}

impl LinkRow {
    /// The ticket at the other end, as seen from ticket `id`.
    fn linked_to(self, id: TicketId) -> Result<LinkedTicket, TicketError> {
        let corrupt = |e: TicketError| TicketError::Corrupt(e.to_string());
        let kind: LinkKind = self.kind.parse().map_err(corrupt)?;
        let relation = match kind {
            LinkKind::Related => Relation::Related,
            LinkKind::ParentChild if self.source_id == id => Relation::Child,
            LinkKind::ParentChild => Relation::Parent,
        };
        Ok(LinkedTicket {
            relation,
            ticket_id: self.other_id,
            number: self.number.parse().map_err(corrupt)?,
            title: self.title,
            state: self.state.parse().map_err(corrupt)?,
            queue_id: self.queue_id,
            owner_id: self.owner_id,
        })
    }
}

impl SqlTicketStore {
    /// Links `source` and `target` in the caller's transaction; returns both at their new versions.
    pub(super) async fn link_in_tx(
        tx: &mut WriteTx,
        source: TicketId,
        target: TicketId,
        kind: LinkKind,
        actor: &Actor,
        now: Micros,
    ) -> Result<(Ticket, Ticket), TicketError> {
        let first = Self::fetch_ticket(tx, source).await?;
        let second = Self::fetch_ticket(tx, target).await?;
        let ancestors = match kind {
            LinkKind::ParentChild => Self::ancestors(tx, source).await?,
            LinkKind::Related => Vec::new(),
        };
        first.check_link(&second, kind, &ancestors)?;
        let (a, b) = kind.key(source, target);
        sqlx::query(
            "INSERT INTO ticket_links (tenant_id, source_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(first.tenant_id)
        .bind(a)
        .bind(b)
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(exists_already(|| match kind {
            LinkKind::ParentChild => format!(
                "ticket {} has a parent already, or is this one's child already",
                second.number
            ),
            LinkKind::Related => format!("tickets {} and {} are related already", first.number, second.number),
        }))?;
        Self::record_link(tx, &first, &second, kind, "linked", actor, now).await
    }

    /// The parents above `id`, nearest first, up to the root of its tree.
    async fn ancestors(tx: &mut WriteTx, id: TicketId) -> Result<Vec<TicketId>, TicketError> {
        let mut ancestors = Vec::new();
        let mut next = id;
        while let Some(parent) = sqlx::query_scalar(
            "SELECT source_id FROM ticket_links WHERE target_id = $1 AND kind = 'parent_child'",
        )
        .bind(next)
        .fetch_optional(&mut **tx)
        .await?
        {
            if ancestors.len() >= 1000 {
                return Err(TicketError::Corrupt("ticket parents form a cycle".into()));
            }
            ancestors.push(parent);
            next = parent;
        }
        Ok(ancestors)
    }

    /// A history entry, a new version and an event on both linked tickets.
    pub(super) async fn record_link(
        tx: &mut WriteTx,
        first: &Ticket,
        second: &Ticket,
        kind: LinkKind,
        what: &str,
        actor: &Actor,
        now: Micros,
    ) -> Result<(Ticket, Ticket), TicketError> {
        let mut out = Vec::with_capacity(2);
        for (this, other, relation) in [
            (
                first,
                second,
                if kind == LinkKind::ParentChild {
                    Relation::Child
                } else {
                    Relation::Related
                },
            ),
            (
                second,
                first,
                if kind == LinkKind::ParentChild {
                    Relation::Parent
                } else {
                    Relation::Related
                },
            ),
        ] {
            let next = touch(tx, this, now).await?;
            let details = serde_json::json!({
                "relation": relation, "ticket_id": other.id, "number": other.number,
            });
            Self::append_history(tx, &next, what, actor, details).await?;
            let event = ev::TicketLinked {
                ticket_id: next.id.to_string(),
                other_ticket_id: other.id.to_string(),
                relation: relation.to_string(),
                linked: what == "linked",
                actor: actor.as_str().to_owned(),
            };
            Self::ticket_event(tx, &next, &format!("ticket.{what}"), event.encode_to_vec()).await?;
            out.push(next);
        }
        let second = out
            .pop()
            .ok_or_else(|| TicketError::Corrupt("link".into()))?;
        let first = out
            .pop()
            .ok_or_else(|| TicketError::Corrupt("link".into()))?;
        Ok((first, second))
    }
}

/// The `ticket.merged` event of one side of a merge: `into` on the source, merged into `other`.
fn merged_event(
    ticket_id: TicketId,
    other: TicketId,
    into: bool,
    articles: u32,
    actor: &Actor,
) -> Vec<u8> {
    ev::TicketMerged {
        ticket_id: ticket_id.to_string(),
        other_ticket_id: other.to_string(),
        into,
        articles,
        actor: actor.as_str().to_owned(),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_row_reads_as_seen_from_the_ticket_asked_about() {
        let (parent, child) = (TicketId::new(), TicketId::new());
        let row = |kind: &str, other_id| LinkRow {
            kind: kind.to_owned(),
            source_id: parent,
            other_id,
            number: "2026112210000017".to_owned(),
            title: "Printer".to_owned(),
            state: "new".to_owned(),
            queue_id: QueueId::new(),
            owner_id: None,
        };
        let relation = |row: LinkRow, id| row.linked_to(id).unwrap().relation;
        assert_eq!(
            relation(row("parent_child", child), parent),
            Relation::Child
        );
        assert_eq!(
            relation(row("parent_child", parent), child),
            Relation::Parent
        );
        assert_eq!(relation(row("related", child), parent), Relation::Related);
        assert!(matches!(
            row("sibling", child).linked_to(parent),
            Err(TicketError::Corrupt(_))
        ));
    }
}
