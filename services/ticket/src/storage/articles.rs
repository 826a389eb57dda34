//! Articles, their attachments and delivery states.

use super::*;

#[async_trait]
pub trait Articles: Send + Sync + 'static {
    async fn add_article(
        &self,
        ticket_id: TicketId,
        article: NewArticle,
        actor: &Actor,
    ) -> Result<Article, TicketError>;
    /// The ticket's articles; with `customer_visible_only`, only those its customer may read.
    async fn list_articles(
        &self,
        ticket_id: TicketId,
        customer_visible_only: bool,
    ) -> Result<Vec<Article>, TicketError>;
    /// The article with this id.
    async fn get_article(&self, id: ArticleId) -> Result<Article, TicketError>;
    /// Records how the mail an article went out as fares (reported by the mail service), on the
    /// article. It is not a change of the ticket: its version stays, so agents working on it
    /// meet no conflict because a mail went out.
    async fn record_delivery(
        &self,
        id: ArticleId,
        delivery: Delivery,
        actor: &Actor,
    ) -> Result<Article, TicketError>;
    /// An attachment with its ticket, article and bytes (checked against their hash).
    async fn attachment(
        &self,
        id: AttachmentId,
    ) -> Result<(TicketId, ArticleId, Attachment, Vec<u8>), TicketError>;
}

#[async_trait]
impl Articles for SqlTicketStore {
    async fn add_article(
        &self,
        ticket_id: TicketId,
        mut article: NewArticle,
        actor: &Actor,
    ) -> Result<Article, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        if let Some(key) = article.idempotency_key.as_deref()
            && let Some((_, made)) = Self::claim_key(&mut tx, key, now).await?
        {
            drop(tx);
            return self.get_article(made).await;
        }
        let mut ticket = Self::fetch_ticket(&mut tx, ticket_id).await?;
        if article.sender == SenderType::Customer {
            // A reply to a merged ticket belongs to the ticket it was merged into.
            let mut hops = 0;
            while let (TicketState::Merged, Some(into)) = (ticket.state, ticket.merged_into) {
                hops += 1;
                if hops > 16 {
                    return Err(TicketError::Corrupt("merged tickets form a cycle".into()));
                }
                ticket = Self::fetch_ticket(&mut tx, into).await?;
            }
            match self.follow_up(&mut tx, ticket, article, actor, now).await? {
                FollowUpOutcome::Continue(current, given) => {
                    ticket = *current;
                    article = given;
                }
                FollowUpOutcome::NewTicket(stored) => {
                    self.commit(tx).await?;
                    return Ok(stored);
                }
            }
        }
        let previous = ticket.version;
        ticket.version += 1;
        ticket.updated_at = now;
        let stored = self
            .article_in_tx(&mut tx, &ticket, &article, actor, now)
            .await?;
        bump_version(&mut tx, &ticket, previous).await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn list_articles(
        &self,
        ticket_id: TicketId,
        customer_visible_only: bool,
    ) -> Result<Vec<Article>, TicketError> {
        let only_visible = if customer_visible_only {
            "AND visible_to_customer = 1"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE ticket_id = $1 {only_visible} ORDER BY created_at, id"
        )))
        .bind(ticket_id)
        .fetch_all(self.db.pool())
        .await?;
        if rows.is_empty() {
            self.get_ticket(ticket_id).await?;
            return Ok(Vec::new());
        }
        let mut articles = rows
            .iter()
            .map(article_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let attached = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE ticket_id = $1 ORDER BY created_at, id"
        )))
        .bind(ticket_id)
        .fetch_all(self.db.pool())
        .await?;
        for row in &attached {
            let (article_id, a) = attachment_from_row(row)?;
            if let Some(article) = articles.iter_mut().find(|x| x.id == article_id) {
                article.attachments.push(a);
            }
        }
        Ok(articles)
    }

    async fn get_article(&self, id: ArticleId) -> Result<Article, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("article", id))?;
        let mut article = article_from_row(&row)?;
        article.attachments = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE article_id = $1 ORDER BY created_at, id"
        )))
        .bind(id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|row| attachment_from_row(row).map(|(_, a)| a))
        .collect::<Result<_, _>>()?;
        Ok(article)
    }

    async fn record_delivery(
        &self,
        id: ArticleId,
        delivery: Delivery,
        actor: &Actor,
    ) -> Result<Article, TicketError> {
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query("UPDATE articles SET delivery = $1 WHERE id = $2")
            .bind(to_json(&delivery)?)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(TicketError::not_found("article", id));
        }
        self.commit(tx).await?;
        tracing::debug!(article = %id, state = delivery.state.as_str(), actor = %actor.as_str(), "delivery recorded");
        self.get_article(id).await
    }

    async fn attachment(
        &self,
        id: AttachmentId,
    ) -> Result<(TicketId, ArticleId, Attachment, Vec<u8>), TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("attachment", id))?;
        let AttachmentTicket { ticket_id } = docket_store::decode(&row)?;
        let (article_id, meta) = attachment_from_row(&row)?;
        let content: Vec<u8> =
            sqlx::query_scalar("SELECT content FROM attachment_blobs WHERE sha256 = $1")
                .bind(&meta.sha256)
                .fetch_optional(self.db.pool())
                .await?
                .ok_or_else(|| TicketError::Corrupt(format!("attachment {id} has no content")))?;
        // Served only as recorded: content changed behind our back is an error, not a download.
        if chain::sha256_hex(&content) != meta.sha256 {
            return Err(TicketError::Corrupt(format!(
                "attachment {id}: its content does not match its hash"
            )));
        }
        Ok((ticket_id, article_id, meta, content))
    }
}

/// The ticket of an attachment, from its row beside the [`Attachment`] read from it.
#[derive(sqlx::FromRow)]
struct AttachmentTicket {
    ticket_id: TicketId,
}

/// The text found in an attachment, from its row beside the [`Attachment`] read from it.
#[derive(sqlx::FromRow)]
struct AttachmentText {
    text: String,
}

/// A row of `idempotency_keys` as the database holds it: '' until the change that claimed the
/// key made its article.
#[derive(sqlx::FromRow)]
struct KeyRow {
    ticket_id: String,
    article_id: String,
}

impl SqlTicketStore {
    /// Claims an article's idempotency key in this transaction. `Some` when an earlier change
    /// holds it already: the ticket and article it made. A concurrent claim of the same key waits
    /// for the other transaction (PostgreSQL) or cannot happen (SQLite's single writer).
    pub(super) async fn claim_key(
        tx: &mut WriteTx,
        key: &str,
        now: Micros,
    ) -> Result<Option<(TicketId, ArticleId)>, TicketError> {
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, created_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT ticket_id, article_id FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .fetch_one(&mut **tx)
            .await?;
        let KeyRow {
            ticket_id,
            article_id,
        } = docket_store::decode(&row)?;
        let ids = (
            ticket_id.parse::<TicketId>(),
            article_id.parse::<ArticleId>(),
        );
        match ids {
            (Ok(ticket), Ok(article)) => Ok(Some((ticket, article))),
            _ => Err(TicketError::Corrupt(format!(
                "idempotency key `{key}` holds no article"
            ))),
        }
    }

    pub(super) async fn insert_article(
        tx: &mut WriteTx,
        ticket_id: TicketId,
        article: &NewArticle,
        actor: &Actor,
        now: Micros,
    ) -> Result<Article, TicketError> {
        let mut stored = Article {
            id: ArticleId::new(),
            ticket_id,
            sender: article.sender,
            channel: article.channel,
            visible_to_customer: article.visible_to_customer,
            subject: article.subject.clone(),
            body: article.body.clone(),
            author: actor.as_str().to_owned(),
            created_at: now,
            attachments: Vec::new(),
            time_minutes: article.time_minutes,
            delivery: None,
        };
        Self::store_article(tx, &stored).await?;
        if let Some(key) = &article.idempotency_key {
            sqlx::query(
                "UPDATE idempotency_keys SET ticket_id = $1, article_id = $2 WHERE key = $3",
            )
            .bind(ticket_id)
            .bind(stored.id)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        }
        stored.attachments =
            Self::insert_attachments(tx, stored.id, ticket_id, &article.attachments, now).await?;
        if stored.time_minutes > 0 {
            sqlx::query("UPDATE tickets SET time_minutes = time_minutes + $1 WHERE id = $2")
                .bind(i64::from(stored.time_minutes))
                .bind(ticket_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(stored)
    }

    /// The article's row.
    pub(super) async fn store_article(
        tx: &mut WriteTx,
        stored: &Article,
    ) -> Result<(), TicketError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(stored.id)
        .bind(stored.ticket_id)
        .bind(stored.sender.as_str())
        .bind(stored.channel.as_str())
        .bind(i64::from(stored.visible_to_customer))
        .bind(&stored.subject)
        .bind(&stored.body)
        .bind(&stored.author)
        .bind(stored.created_at)
        .bind(i64::from(stored.time_minutes))
        .bind(stored.delivery.as_ref().map(to_json).transpose()?)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Stores attachments of an article: each content once (by its hash), one row each.
    pub(super) async fn insert_attachments(
        tx: &mut WriteTx,
        article_id: ArticleId,
        ticket_id: TicketId,
        list: &[NewAttachment],
        now: Micros,
    ) -> Result<Vec<Attachment>, TicketError> {
        let mut out = Vec::with_capacity(list.len());
        for a in list {
            let sha256 = a.sha256();
            let size = i64::try_from(a.size())
                .map_err(|_| TicketError::TooLarge("attachment size out of range".into()))?;
            if let Content::Bytes(bytes) = &a.content {
                sqlx::query(
                    "INSERT INTO attachment_blobs (sha256, size, content) VALUES ($1, $2, $3) \
                     ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(&sha256)
                .bind(size)
                .bind(bytes.as_slice())
                .execute(&mut **tx)
                .await?;
            }
            let stored = Attachment {
                id: AttachmentId::new(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                declared_type: a.declared_type.clone(),
                size: a.size(),
                sha256,
                created_at: now,
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO attachments ({ATTACHMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            )))
            .bind(stored.id)
            .bind(article_id)
            .bind(ticket_id)
            .bind(&stored.filename)
            .bind(&stored.content_type)
            .bind(&stored.declared_type)
            .bind(size)
            .bind(&stored.sha256)
            .bind(a.text())
            .bind(now)
            .execute(&mut **tx)
            .await?;
            out.push(stored);
        }
        Ok(out)
    }

    /// An article's attachments as they would be attached again (a merge, a split).
    pub(super) async fn stored_attachments<'e, E: sqlx::Executor<'e, Database = Any>>(
        db: E,
        article_id: ArticleId,
    ) -> Result<Vec<NewAttachment>, TicketError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE article_id = $1 ORDER BY created_at, id"
        )))
        .bind(article_id)
        .fetch_all(db)
        .await?;
        rows.iter()
            .map(|row| {
                let (_, a) = attachment_from_row(row)?;
                let AttachmentText { text } = docket_store::decode(row)?;
                Ok(NewAttachment {
                    filename: a.filename,
                    declared_type: a.declared_type,
                    content_type: a.content_type,
                    content: Content::Stored {
                        sha256: a.sha256,
                        size: a.size,
                        text,
                    },
                })
            })
            .collect()
    }

    /// Inserts an article for `ticket` (already at its new version), with history and event.
    pub(super) async fn article_in_tx(
        &self,
        tx: &mut WriteTx,
        ticket: &Ticket,
        article: &NewArticle,
        actor: &Actor,
        now: Micros,
    ) -> Result<Article, TicketError> {
        let stored = Self::insert_article(tx, ticket.id, article, actor, now).await?;
        let mut at = ticket.clone();
        at.updated_at = now;
        Self::append_history(tx, &at, "article_added", actor, article_details(&stored)).await?;
        let event = ev::ArticleAdded {
            ticket_id: ticket.id.to_string(),
            article_id: stored.id.to_string(),
            sender: stored.sender.to_string(),
            channel: stored.channel.to_string(),
            visible_to_customer: stored.visible_to_customer,
            subject: stored.subject.clone(),
            actor: actor.as_str().to_owned(),
        };
        Self::ticket_event(tx, &at, "ticket.article.added", event.encode_to_vec()).await?;
        Ok(stored)
    }
}
