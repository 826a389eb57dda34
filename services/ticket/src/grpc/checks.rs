//! What the edge does before and after the store: finds what the caller may see, checks what
//! they may do, and resolves views into filters.

use super::*;

impl TicketGrpc {
    /// The edge over `store`, verifying callers with `auth` and asking `agents` who the agents
    /// named on tickets are.
    pub fn new(
        store: Arc<dyn TicketStore>,
        auth: Arc<dyn Authenticate>,
        agents: Arc<dyn AgentDirectory>,
    ) -> Self {
        Self {
            store,
            auth,
            agents,
        }
    }

    /// The verified caller of a request, or UNAUTHENTICATED; refused when an API token's scopes
    /// do not cover `scope`.
    pub(super) async fn caller<T>(
        &self,
        request: &Request<T>,
        scope: Scope,
    ) -> Result<Caller, Status> {
        let claims = self.auth.caller(request.metadata()).await?;
        let caller = Caller::from_claims(&claims)?;
        caller.require(scope)?;
        Ok(caller)
    }

    /// A write by an administrator of the tenant that `tenant` reads from the request: the
    /// caller, the tenant and the request's message.
    pub(super) async fn tenant_admin<T>(
        &self,
        request: Request<T>,
        tenant: fn(&T) -> &String,
    ) -> Result<(Caller, TenantId, T), Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let tenant_id = parse_id(tenant(&r))?;
        caller.require_admin_of(tenant_id)?;
        Ok((caller, tenant_id, r))
    }

    /// The ticket and its queue, or NOT_FOUND when the caller does not see the ticket.
    pub(super) async fn visible_ticket(
        &self,
        caller: &Caller,
        id: TicketId,
    ) -> Result<(Ticket, Queue), TicketError> {
        let ticket = self.store.get_ticket(id).await?;
        let queue = self.store.get_queue(ticket.queue_id).await?;
        if caller.sees_ticket(&ticket, &queue) || self.collaborates(caller, &ticket).await? {
            Ok((ticket, queue))
        } else {
            Err(TicketError::not_found("ticket", id))
        }
    }

    /// Whether the caller is an agent of the ticket's tenant working it jointly with its owner.
    pub(super) async fn collaborates(
        &self,
        caller: &Caller,
        ticket: &Ticket,
    ) -> Result<bool, TicketError> {
        match caller.agent_id() {
            Some(agent) if caller.belongs_to(ticket.tenant_id) => {
                Ok(self.store.collaborators(ticket.id).await?.contains(&agent))
            }
            _ => Ok(false),
        }
    }
}

impl TicketGrpc {
    /// Checks the caller may make `update` to the ticket, then makes it; the ticket as the caller
    /// may see it.
    pub(super) async fn update_one(
        &self,
        caller: &Caller,
        readers: &mut Readers,
        ticket_id: TicketId,
        mut update: TicketUpdate,
    ) -> Result<Ticket, TicketError> {
        let (ticket, queue) = self.visible_ticket(caller, ticket_id).await?;
        if caller.is_customer() {
            ticket.customer_may_change(queue.follow_up, &update)?;
            update.expected_version = update.expected_version.or(Some(ticket.version));
            return self
                .store
                .update_ticket(ticket.id, update, &caller.actor)
                .await;
        }
        caller.check_update(&ticket, &queue, &mut update)?;
        let mut after = queue;
        if let Some(target) = update.queue_id {
            let target = self.store.get_queue(target).await?;
            if target.tenant_id != ticket.tenant_id {
                return Err(TicketError::not_found("queue", target.id));
            }
            caller.require_on_queue(&target, Permission::MoveInto)?;
            after = target;
        }
        // Whom the change leaves named on the ticket must read the queue it is then in.
        let named = agents_named(&ticket, &update);
        self.check_named(caller, readers, &after, &named).await?;
        // The checks hold for the version just read: a change in between is a conflict.
        update.expected_version = update.expected_version.or(Some(ticket.version));
        let ticket = self
            .store
            .update_ticket(ticket.id, update, &caller.actor)
            .await?;
        Ok(caller.redact(ticket))
    }

    /// Links or unlinks: rw on the source; the target must be visible (and in the same tenant).
    pub(super) async fn change_link(
        &self,
        request: Request<pb::LinkTicketsRequest>,
        link: bool,
    ) -> Result<Response<pb::LinkTicketsResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let kind = match pb::LinkKind::try_from(r.kind) {
            Ok(pb::LinkKind::ParentChild) => LinkKind::ParentChild,
            Ok(pb::LinkKind::Related) => LinkKind::Related,
            _ => {
                return Err(
                    TicketError::invalid("link kind must be parent_child or related").into(),
                );
            }
        };
        let (source, source_queue) = self
            .visible_ticket(&caller, parse_id(&r.source_ticket_id)?)
            .await?;
        let (target, _) = self
            .visible_ticket(&caller, parse_id(&r.target_ticket_id)?)
            .await?;
        caller.require_may(&source, &source_queue, Permission::Rw)?;
        if link {
            self.store
                .link_tickets(source.id, target.id, kind, &caller.actor)
                .await?;
        } else {
            self.store
                .unlink_tickets(source.id, target.id, kind, &caller.actor)
                .await?;
        }
        Ok(Response::new(pb::LinkTicketsResponse {}))
    }

    pub(super) async fn create_entry(
        &self,
        catalogue: Catalogue,
        request: Request<pb::CreateCatalogueEntryRequest>,
    ) -> Result<Response<pb::CatalogueEntry>, Status> {
        let (caller, tenant_id, r) = self.tenant_admin(request, |r| &r.tenant_id).await?;
        let entry = self
            .store
            .create_catalogue_entry(
                catalogue,
                tenant_id,
                &r.name,
                r.portal.unwrap_or(true),
                &caller.actor,
            )
            .await?;
        Ok(Response::new(entry_to_pb(entry)))
    }

    pub(super) async fn list_entries(
        &self,
        catalogue: Catalogue,
        request: Request<pb::ListCatalogueRequest>,
    ) -> Result<Response<pb::ListCatalogueResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let tenant_id = parse_id(&request.into_inner().tenant_id)?;
        if !caller.belongs_to(tenant_id) {
            return Err(TicketError::not_found("tenant", tenant_id).into());
        }
        let entries = self.store.list_catalogue(catalogue, tenant_id).await?;
        Ok(Response::new(pb::ListCatalogueResponse {
            entries: entries
                .into_iter()
                // Customers see the services offered in the portal.
                .filter(|e| e.portal || !caller.is_customer())
                .map(entry_to_pb)
                .collect(),
        }))
    }
}

/// Who may read a queue's tickets, asked of the identity service at most once per request and
/// queue group (a bulk change names the same agents on many tickets).
pub(super) struct Readers {
    /// The caller's access token: identity answers on the caller's behalf.
    token: String,
    known: HashMap<(TenantId, GroupId), BTreeSet<AgentId>>,
}

impl Readers {
    /// For the request's caller (whose token was verified before).
    pub(super) fn of<T>(request: &Request<T>) -> Self {
        Self {
            token: docket_auth::bearer_token(request.metadata())
                .unwrap_or_default()
                .to_owned(),
            known: HashMap::new(),
        }
    }
}

impl TicketGrpc {
    /// INVALID_ARGUMENT, naming the field, unless every agent in `named` is what the rules of
    /// [`crate::domain::people`] ask for a ticket in `queue`. The caller's own token answers for
    /// the caller, as for their own reads; the identity service for the others.
    pub(super) async fn check_named(
        &self,
        caller: &Caller,
        readers: &mut Readers,
        queue: &Queue,
        named: &[(NamedAs, AgentId)],
    ) -> Result<(), TicketError> {
        let mut known = KnownAgents::default();
        if let Some(me) = caller.agent_id() {
            if caller.may(queue.tenant_id, queue.group_id, Permission::Ro) {
                known.readers.insert(me);
            }
            if caller.member_of(queue.tenant_id) {
                known.members.insert(me);
            }
        }
        let unknown = |known: &KnownAgents, reads: bool| -> Vec<AgentId> {
            named
                .iter()
                .filter(|(role, agent)| {
                    role.reads_queue() == reads
                        && !known.readers.contains(agent)
                        && (reads || !known.members.contains(agent))
                })
                .map(|(_, agent)| *agent)
                .collect()
        };
        if let (false, Some(group)) = (unknown(&known, true).is_empty(), queue.group_id) {
            let key = (queue.tenant_id, group);
            if !readers.known.contains_key(&key) {
                let asked = self
                    .agents
                    .readers(&readers.token, queue.tenant_id, group)
                    .await?;
                readers.known.insert(key, asked);
            }
            known
                .readers
                .extend(readers.known.get(&key).into_iter().flatten().copied());
        }
        let members = unknown(&known, false);
        if !members.is_empty() {
            known.members.extend(
                self.agents
                    .members(&readers.token, queue.tenant_id, &members)
                    .await?,
            );
        }
        check_agents_named(named, &known, queue)
    }
}

/// The agents listed on a ticket besides its owner.
#[derive(Clone, Copy)]
pub(super) enum Agents {
    Watchers,
    Collaborators,
}

impl TicketGrpc {
    /// A visible ticket's watchers or collaborators (agents only).
    pub(super) async fn agents<T>(
        &self,
        request: &Request<T>,
        ticket_id: &str,
        which: Agents,
    ) -> Result<Vec<String>, Status> {
        let caller = self.caller(request, Scope::Read).await?;
        let (ticket, _) = self.visible_ticket(&caller, parse_id(ticket_id)?).await?;
        if caller.is_customer() {
            return Err(TicketError::denied(
                "a ticket's watchers and collaborators are for agents",
            )
            .into());
        }
        let agents = match which {
            Agents::Watchers => self.store.watchers(ticket.id).await?,
            Agents::Collaborators => self.store.collaborators(ticket.id).await?,
        };
        Ok(agents.into_iter().map(|a| a.to_string()).collect())
    }
}

/// One ticket's outcome in a bulk change: the ticket, or the status it would have had alone.
pub(super) fn outcome(id: TicketId, result: Result<Ticket, TicketError>) -> pb::BulkOutcome {
    match result {
        Ok(ticket) => pb::BulkOutcome {
            ticket_id: id.to_string(),
            ticket: Some(ticket_to_pb(ticket)),
            ..Default::default()
        },
        Err(e) => {
            let status = tonic::Status::from(e);
            pb::BulkOutcome {
                ticket_id: id.to_string(),
                ticket: None,
                error_code: i32::from(status.code()),
                error_message: status.message().to_owned(),
            }
        }
    }
}

/// A view as a caller uses it: its filter resolved for them.
pub(super) struct ResolvedView {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) builtin: bool,
    pub(super) filter: TicketFilter,
    pub(super) sort: SortField,
    pub(super) descending: bool,
}

impl ResolvedView {
    pub(super) fn saved(s: SavedSearch) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.name,
            builtin: false,
            filter: s.filter,
            sort: s.sort,
            descending: s.descending,
        }
    }

    pub(super) fn into_pb(self) -> pb::View {
        pb::View {
            id: self.id,
            name: self.name,
            builtin: self.builtin,
            filter: Some(filter_to_pb(self.filter)),
            sort: sort_to_pb(self.sort).into(),
            descending: self.descending,
        }
    }
}

impl TicketGrpc {
    /// A page of tickets as the caller may see them.
    pub(super) async fn page(
        &self,
        caller: &Caller,
        query: &TicketListQuery,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let page = self.store.list_tickets(query).await?;
        Ok(Response::new(pb::ListTicketsResponse {
            tickets: page
                .items
                .into_iter()
                .map(|t| ticket_to_pb(caller.redact(t)))
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    /// A default view (by key) or one of the caller's saved searches (by id), for the caller.
    pub(super) async fn view(
        &self,
        caller: &Caller,
        key: &str,
    ) -> Result<ResolvedView, TicketError> {
        let agent = caller
            .agent_id()
            .ok_or_else(|| TicketError::denied("views are for agents"))?;
        if let Some(view) = View::from_key(key) {
            // The agent's work queues: those they may work in (`rw`).
            let my_queues = if view == View::MyQueues {
                self.store
                    .list_queues(None)
                    .await?
                    .into_iter()
                    .filter(|q| caller.may(q.tenant_id, q.group_id, Permission::Rw))
                    .map(|q| q.id)
                    .collect()
            } else {
                Vec::new()
            };
            return Ok(ResolvedView {
                id: view.key().to_owned(),
                name: view.name().to_owned(),
                builtin: true,
                filter: view.filter(agent, my_queues),
                // Oldest first: the queue is worked in the order it arrived.
                sort: SortField::CreatedAt,
                descending: false,
            });
        }
        let id = key.parse::<SavedSearchId>().map_err(|_| {
            TicketError::invalid(format!(
                "view `{}` is neither a default view ({}) nor a saved search's id",
                key.chars().take(40).collect::<String>(),
                View::ALL.map(View::key).join(", ")
            ))
        })?;
        Ok(ResolvedView::saved(
            self.store.saved_search(id, agent).await?,
        ))
    }
}
