//! Tickets: opening, reading and changing one.

use super::*;

#[async_trait]
pub trait Tickets: Send + Sync + 'static {
    async fn create_ticket(&self, ticket: NewTicket, actor: &Actor) -> Result<Ticket, TicketError>;
    async fn get_ticket(&self, id: TicketId) -> Result<Ticket, TicketError>;
    async fn get_ticket_by_number(&self, number: &TicketNumber) -> Result<Ticket, TicketError>;
    async fn update_ticket(
        &self,
        id: TicketId,
        update: TicketUpdate,
        actor: &Actor,
    ) -> Result<Ticket, TicketError>;
}

#[async_trait]
impl Tickets for SqlTicketStore {
    async fn create_ticket(&self, new: NewTicket, actor: &Actor) -> Result<Ticket, TicketError> {
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        if let Some(key) = new
            .article
            .as_ref()
            .and_then(|a| a.idempotency_key.as_deref())
            && let Some((ticket, _)) = Self::claim_key(&mut tx, key, now).await?
        {
            drop(tx);
            return self.get_ticket(ticket).await;
        }
        let (ticket, _) = self.create_in_tx(&mut tx, new, actor, now).await?;
        self.commit(tx).await?;
        tracing::info!(ticket_id = %ticket.id, number = %ticket.number, actor = %actor.as_str(), "ticket created");
        Ok(ticket)
    }

    async fn get_ticket(&self, id: TicketId) -> Result<Ticket, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("ticket", id))?;
        ticket_from_row(&row)
    }

    async fn get_ticket_by_number(&self, number: &TicketNumber) -> Result<Ticket, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE number = $1"
        )))
        .bind(number.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| TicketError::not_found("ticket", number))?;
        ticket_from_row(&row)
    }

    async fn update_ticket(
        &self,
        id: TicketId,
        update: TicketUpdate,
        actor: &Actor,
    ) -> Result<Ticket, TicketError> {
        if update.is_empty() {
            return Err(TicketError::invalid(
                "the update changes nothing: give one of the fields to change",
            ));
        }
        let now = docket_platform::time::now_micros();
        let mut tx = self.db.begin_write().await?;
        let current = Self::fetch_ticket(&mut tx, id).await?;
        let next = Self::update_in_tx(&mut tx, current.clone(), update, actor, now).await?;
        if next != current {
            self.commit(tx).await?;
        }
        Ok(next)
    }
}

/// A customer user as ticket core knows them (from identity's events), as the database holds
/// them: what a new ticket for them takes over.
#[derive(sqlx::FromRow)]
struct CustomerRow {
    tenant_id: TenantId,
    company_id: Option<CompanyId>,
    name: String,
    email: String,
    phone: String,
    organisation: String,
}

impl SqlTicketStore {
    pub(super) async fn fetch_ticket(
        tx: &mut WriteTx,
        id: TicketId,
    ) -> Result<Ticket, TicketError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| TicketError::not_found("ticket", id))?;
        ticket_from_row(&row)
    }

    /// The next number of `tenant_id`'s tickets: its code (given now if it has none yet) and its
    /// counter for the day.
    pub(super) async fn next_ticket_number(
        &self,
        tx: &mut WriteTx,
        tenant_id: TenantId,
        now: Micros,
    ) -> Result<TicketNumber, TicketError> {
        let day = chrono::DateTime::from_timestamp_micros(now)
            .ok_or_else(|| TicketError::Corrupt(format!("clock out of range: {now}")))?
            .date_naive();
        let code = Self::tenant_code(tx, tenant_id).await?;
        // An upsert on the tenant's row of the day: atomic in both engines, and the row lock
        // (PostgreSQL) or the write lock (SQLite) makes concurrent creators, on any replica, take
        // turns.
        let counter: i64 = sqlx::query_scalar(
            "INSERT INTO tenant_ticket_counters (tenant_id, day, value) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET value = tenant_ticket_counters.value + 1 \
             RETURNING value",
        )
        .bind(tenant_id)
        .bind(day.format("%Y%m%d").to_string())
        .fetch_one(&mut **tx)
        .await?;
        let counter = u64::try_from(counter)
            .map_err(|_| TicketError::Corrupt(format!("negative ticket counter {counter}")))?;
        Ok(TicketNumber::compose(day, self.system_id, code, counter))
    }

    /// The tenant's code inside ticket numbers, given on its first ticket.
    async fn tenant_code(tx: &mut WriteTx, tenant_id: TenantId) -> Result<TenantCode, TicketError> {
        const CODE: &str = "SELECT code FROM tenant_number_codes WHERE tenant_id = $1";
        let known: Option<i64> = sqlx::query_scalar(CODE)
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(code) = known {
            return TenantCode::new(code).map_err(|e| TicketError::Corrupt(e.to_string()));
        }
        // The next code, under the sequence row's lock. A creator of the same tenant's first
        // ticket that got there first wins: its code is read back below, and this one is unused.
        let next: i64 = sqlx::query_scalar(
            "UPDATE tenant_number_code_seq SET value = value + 1 WHERE id = 1 RETURNING value",
        )
        .fetch_one(&mut **tx)
        .await?;
        TenantCode::new(next)?;
        sqlx::query(
            "INSERT INTO tenant_number_codes (tenant_id, code) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(next)
        .execute(&mut **tx)
        .await?;
        let code: i64 = sqlx::query_scalar(CODE)
            .bind(tenant_id)
            .fetch_one(&mut **tx)
            .await?;
        TenantCode::new(code).map_err(|e| TicketError::Corrupt(e.to_string()))
    }

    /// Creates a ticket (with its first article, and linked to its parent) in the caller's
    /// transaction.
    pub(super) async fn create_in_tx(
        &self,
        tx: &mut WriteTx,
        new: NewTicket,
        actor: &Actor,
        now: Micros,
    ) -> Result<(Ticket, Option<Article>), TicketError> {
        let tenant_id = Self::queue_in_tenant(tx, new.queue_id).await?;
        // A ticket for an address (mail, a phone call) belongs to the customer user with that
        // address, when exactly one of the tenant's has it.
        let customer_id = match new.customer_id {
            Some(id) => Some(id),
            None if !new.contact.email.trim().is_empty() => {
                let ids: Vec<CustomerId> = sqlx::query_scalar(
                    "SELECT id FROM customers WHERE tenant_id = $1 AND lower(email) = lower($2) LIMIT 2",
                )
                .bind(tenant_id)
                .bind(new.contact.email.trim())
                .fetch_all(&mut **tx)
                .await?;
                match ids.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            }
            None => None,
        };
        let customer = match customer_id {
            Some(customer) => {
                let row = sqlx::query(
                    "SELECT tenant_id, company_id, name, email, phone, organisation FROM customers WHERE id = $1",
                )
                .bind(customer)
                .fetch_optional(&mut **tx)
                .await?;
                let found = row.as_ref().map(docket_store::decode::<CustomerRow>);
                match found.transpose()? {
                    Some(row) if row.tenant_id == tenant_id => Some((
                        customer,
                        row.company_id,
                        Contact {
                            name: row.name,
                            email: row.email,
                            phone: row.phone,
                            organisation: row.organisation,
                        },
                    )),
                    // Another tenant's customer is as unknown here as one that does not exist.
                    _ => return Err(TicketError::not_found("customer", customer)),
                }
            }
            None => None,
        };
        if let Some(t) = new.type_id {
            Self::require_entry(tx, Catalogue::TicketTypes, tenant_id, *t.as_uuid()).await?;
        }
        if let Some(s) = new.service_id {
            Self::require_entry(tx, Catalogue::Services, tenant_id, *s.as_uuid()).await?;
        }
        let number = self.next_ticket_number(tx, tenant_id, now).await?;
        let mut ticket = Ticket::open(&new, tenant_id, number, customer, now);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)"
        )))
        .bind(ticket.id)
        .bind(ticket.tenant_id)
        .bind(ticket.number.as_str())
        .bind(ticket.queue_id)
        .bind(&ticket.title)
        .bind(ticket.state.as_str())
        .bind(ticket.pending_until)
        .bind(i64::from(ticket.locked))
        .bind(i64::from(ticket.priority.get()))
        .bind(ticket.owner_id)
        .bind(ticket.customer.as_deref())
        .bind(ticket.customer_id)
        .bind(ticket.company_id)
        .bind(ticket.type_id)
        .bind(ticket.service_id)
        .bind(ticket.responsible_id)
        .bind(ticket.desired_at)
        .bind(ticket.target_at)
        .bind(ticket.created_at)
        .bind(ticket.updated_at)
        .bind(ticket.closed_at)
        .bind(ticket.merged_into)
        .bind(&ticket.contact.name)
        .bind(&ticket.contact.email)
        .bind(&ticket.contact.phone)
        .bind(&ticket.contact.organisation)
        .bind(0_i64)
        .bind(ticket.custom_state.as_deref())
        .bind(0_i64)
        .bind(0_i64)
        .bind(1_i64)
        .execute(&mut **tx)
        .await?;
        Self::append_history(
            tx,
            &ticket,
            "created",
            actor,
            serde_json::json!({
                "number": ticket.number, "queue_id": ticket.queue_id, "title": ticket.title,
                "state": ticket.state, "priority": ticket.priority, "customer": ticket.customer,
                "customer_id": ticket.customer_id, "company_id": ticket.company_id,
                "type_id": ticket.type_id, "service_id": ticket.service_id,
                "desired_at": ticket.desired_at,
            }),
        )
        .await?;
        let created = ev::TicketCreated {
            ticket_id: ticket.id.to_string(),
            number: ticket.number.to_string(),
            queue_id: ticket.queue_id.to_string(),
            title: ticket.title.clone(),
            state: ticket.state.to_string(),
            priority: u32::from(ticket.priority.get()),
            customer: ticket.customer.clone().unwrap_or_default(),
            actor: actor.as_str().to_owned(),
            customer_id: ticket
                .customer_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            company_id: ticket.company_id.map(|c| c.to_string()).unwrap_or_default(),
        };
        Self::ticket_event(tx, &ticket, "ticket.created", created.encode_to_vec()).await?;
        let mut first = None;
        if let Some(article) = new.article {
            ticket.version += 1;
            let stored = self
                .article_in_tx(tx, &ticket, &article, actor, now)
                .await?;
            ticket.time_minutes += u64::from(stored.time_minutes);
            first = Some(stored);
            sqlx::query("UPDATE tickets SET version = $1 WHERE id = $2")
                .bind(version_i64(ticket.version)?)
                .bind(ticket.id)
                .execute(&mut **tx)
                .await?;
        }
        if let Some(parent) = new.parent_id {
            ticket = Self::link_in_tx(tx, parent, ticket.id, LinkKind::ParentChild, actor, now)
                .await?
                .1;
        }
        Ok((ticket, first))
    }

    /// Applies `update` to `current` (read in this transaction): looks up what the rules need,
    /// lets [`Ticket::apply`] decide, then writes the row, a history entry and the event. Returns
    /// `current` unchanged when the update changes nothing.
    pub(super) async fn update_in_tx(
        tx: &mut WriteTx,
        current: Ticket,
        update: TicketUpdate,
        actor: &Actor,
        now: Micros,
    ) -> Result<Ticket, TicketError> {
        current.check_version(update.expected_version)?;
        let facts = Self::update_facts(tx, &current, &update).await?;
        let Change {
            ticket: next,
            fields,
        } = current.apply(&update, &facts, now)?;
        if fields.is_empty() {
            return Ok(current);
        }
        let updated = sqlx::query(
            "UPDATE tickets SET state = $1, priority = $2, owner_id = $3, queue_id = $4, updated_at = $5, version = $6, \
             pending_until = $9, locked = $10, type_id = $11, service_id = $12, \
             responsible_id = $13, desired_at = $14, target_at = $15, closed_at = $16, \
             contact_name = $17, contact_email = $18, contact_phone = $19, contact_organisation = $20, \
             custom_state = $21 WHERE id = $7 AND version = $8",
        )
        .bind(next.state.as_str())
        .bind(i64::from(next.priority.get()))
        .bind(next.owner_id)
        .bind(next.queue_id)
        .bind(next.updated_at)
        .bind(version_i64(next.version)?)
        .bind(next.id)
        .bind(version_i64(current.version)?)
        .bind(next.pending_until)
        .bind(i64::from(next.locked))
        .bind(next.type_id)
        .bind(next.service_id)
        .bind(next.responsible_id)
        .bind(next.desired_at)
        .bind(next.target_at)
        .bind(next.closed_at)
        .bind(&next.contact.name)
        .bind(&next.contact.email)
        .bind(&next.contact.phone)
        .bind(&next.contact.organisation)
        .bind(next.custom_state.as_deref())
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(TicketError::Conflict(format!(
                "ticket {} was changed meanwhile; reload and try again",
                next.id
            )));
        }
        let details = serde_json::Value::Object(
            fields
                .iter()
                .map(|c| {
                    (
                        c.field.to_owned(),
                        serde_json::json!({ "old": c.old, "new": c.new }),
                    )
                })
                .collect(),
        );
        Self::append_history(tx, &next, "updated", actor, details).await?;
        let event = ev::TicketUpdated {
            ticket_id: next.id.to_string(),
            actor: actor.as_str().to_owned(),
            changes: fields
                .into_iter()
                .map(|c| ev::FieldChange {
                    field: c.field.to_owned(),
                    old_value: c.old,
                    new_value: c.new,
                })
                .collect(),
        };
        Self::ticket_event(tx, &next, "ticket.updated", event.encode_to_vec()).await?;
        Ok(next)
    }

    /// What [`Ticket::apply`] needs from other rows: the base of a tenant's own state, and the
    /// tenant of a target queue. Classification entries must exist in the ticket's tenant.
    async fn update_facts(
        tx: &mut WriteTx,
        current: &Ticket,
        update: &TicketUpdate,
    ) -> Result<UpdateFacts, TicketError> {
        let mut facts = UpdateFacts::default();
        if let Some(name) = &update.custom_state {
            let base: Option<String> = sqlx::query_scalar(
                "SELECT base FROM ticket_states WHERE tenant_id = $1 AND name = $2",
            )
            .bind(current.tenant_id)
            .bind(name.trim())
            .fetch_optional(&mut **tx)
            .await?;
            facts.custom_state_base = base
                .map(|b| {
                    b.parse()
                        .map_err(|e: TicketError| TicketError::Corrupt(e.to_string()))
                })
                .transpose()?;
        }
        if let Some(Some(t)) = update.type_id {
            Self::require_entry(tx, Catalogue::TicketTypes, current.tenant_id, *t.as_uuid())
                .await?;
        }
        if let Some(Some(s)) = update.service_id {
            Self::require_entry(tx, Catalogue::Services, current.tenant_id, *s.as_uuid()).await?;
        }
        if let Some(queue_id) = update.queue_id {
            facts.target_queue_tenant = Some(Self::queue_in_tenant(tx, queue_id).await?);
        }
        Ok(facts)
    }

    /// Carries out what a customer's article does to the ticket it answers
    /// ([`Ticket::follow_up`]; for a closed ticket, its queue's policies).
    pub(super) async fn follow_up(
        &self,
        tx: &mut WriteTx,
        ticket: Ticket,
        mut article: NewArticle,
        actor: &Actor,
        now: Micros,
    ) -> Result<FollowUpOutcome, TicketError> {
        let action = match ticket.follow_up(article.automatic)? {
            Some(action) => action,
            None => Self::fetch_queue(tx, ticket.queue_id)
                .await?
                .for_closed(&ticket, article.automatic)?,
        };
        match action {
            FollowUpAction::Continue => Ok(FollowUpOutcome::Continue(Box::new(ticket), article)),
            FollowUpAction::Note => {
                article.visible_to_customer = false;
                Ok(FollowUpOutcome::Continue(Box::new(ticket), article))
            }
            FollowUpAction::Reopen => {
                let reopen = TicketUpdate {
                    state: Some(TicketState::Open),
                    ..TicketUpdate::default()
                };
                let reopened = Self::update_in_tx(tx, ticket, reopen, actor, now).await?;
                Ok(FollowUpOutcome::Continue(Box::new(reopened), article))
            }
            FollowUpAction::NewTicket => {
                let new = ticket.follow_up_ticket(article);
                let (created, stored) = self.create_in_tx(tx, new, actor, now).await?;
                Self::link_in_tx(tx, ticket.id, created.id, LinkKind::Related, actor, now).await?;
                let stored = stored
                    .ok_or_else(|| TicketError::Corrupt("follow-up without its article".into()))?;
                Ok(FollowUpOutcome::NewTicket(stored))
            }
        }
    }
}

/// Where a customer's reply goes after its ticket's follow-up policy.
pub(super) enum FollowUpOutcome {
    /// Onto the ticket (now at this version), as given.
    Continue(Box<Ticket>, NewArticle),
    /// It opened a new ticket, linked to the old one, as this article.
    NewTicket(Article),
}

/// Moves `current` to its next version, changed at `now` ([`Ticket::touched`]), and returns it.
pub(super) async fn touch(
    tx: &mut WriteTx,
    current: &Ticket,
    now: Micros,
) -> Result<Ticket, TicketError> {
    let next = current.touched(now);
    bump_version(tx, &next, current.version).await?;
    Ok(next)
}

/// Moves a ticket from `previous` to its new version, or fails with a conflict if it moved.
pub(super) async fn bump_version(
    tx: &mut WriteTx,
    ticket: &Ticket,
    previous: u64,
) -> Result<(), TicketError> {
    let updated = sqlx::query(
        "UPDATE tickets SET version = $1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(version_i64(ticket.version)?)
    .bind(ticket.updated_at)
    .bind(ticket.id)
    .bind(version_i64(previous)?)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 1 {
        Ok(())
    } else {
        Err(TicketError::Conflict(format!(
            "ticket {} was changed meanwhile; try again",
            ticket.id
        )))
    }
}
