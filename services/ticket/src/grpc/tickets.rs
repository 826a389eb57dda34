//! Opening, reading, searching and changing tickets in bulk.

use super::*;

pub(super) async fn create_ticket(
    edge: &TicketGrpc,
    request: Request<pb::CreateTicketRequest>,
) -> Result<Response<pb::Ticket>, Status> {
    let caller = edge.caller(&request, Scope::Write).await?;
    let r = request.into_inner();
    let queue = edge.store.get_queue(parse_id(&r.queue_id)?).await?;
    let new = if let Some((_, me, _)) = caller.customer() {
        // Customers open tickets for themselves, in portal queues, with what they wrote.
        if !caller.sees_queue(&queue) {
            return Err(TicketError::not_found("queue", queue.id).into());
        }
        if !r.parent_id.trim().is_empty() {
            return Err(TicketError::denied("customers cannot open sub-tickets").into());
        }
        let article = r.article.map(customer_article_from_pb).transpose()?;
        let service_id: Option<ServiceId> = optional_id(&r.service_id)?;
        if let Some(service) = service_id {
            // Only a service the portal offers; another is as unknown as a missing one.
            let offered = edge
                .store
                .list_catalogue(Catalogue::Services, queue.tenant_id)
                .await?
                .iter()
                .any(|e| e.portal && e.id == *service.as_uuid());
            if !offered {
                return Err(TicketError::not_found("service", service).into());
            }
        }
        NewTicket {
            // The portal classifies what the customer chose (the store checks the tenant).
            type_id: optional_id(&r.type_id)?,
            service_id,
            desired_at: optional_time("desired_at", r.desired_at_us)?,
            ..NewTicket::parse(queue.id, &r.title, None, "", Some(me), article)?
        }
    } else {
        caller.require_on_queue(&queue, Permission::Create)?;
        let article = r.article.map(new_article_from_pb).transpose()?;
        let parent_id = optional_id(&r.parent_id)?;
        if let Some(parent) = parent_id {
            // Splitting a case is working on it: rw on the parent.
            let (parent, parent_queue) = edge.visible_ticket(&caller, parent).await?;
            caller.require_may(&parent, &parent_queue, Permission::Rw)?;
        }
        NewTicket {
            type_id: optional_id(&r.type_id)?,
            service_id: optional_id(&r.service_id)?,
            parent_id,
            desired_at: optional_time("desired_at", r.desired_at_us)?,
            contact: r
                .contact
                .as_ref()
                .map(contact_from_pb)
                .transpose()?
                .unwrap_or_default(),
            ..NewTicket::parse(
                queue.id,
                &r.title,
                priority_from_pb(r.priority)?,
                &r.customer,
                optional_id(&r.customer_id)?,
                article,
            )?
        }
    };
    let ticket = edge.store.create_ticket(new, &caller.actor).await?;
    Ok(Response::new(ticket_to_pb(caller.redact(ticket))))
}

pub(super) async fn get_ticket(
    edge: &TicketGrpc,
    request: Request<pb::GetTicketRequest>,
) -> Result<Response<pb::Ticket>, Status> {
    let caller = edge.caller(&request, Scope::Read).await?;
    let key = request.into_inner().ticket;
    let id = match key.parse::<TicketId>() {
        Ok(id) => id,
        Err(_) => match key.parse::<TicketNumber>() {
            Ok(number) => edge.store.get_ticket_by_number(&number).await?.id,
            Err(_) => {
                return Err(TicketError::invalid(format!(
                    "`{}` is neither a ticket id nor a ticket number",
                    key.chars().take(40).collect::<String>()
                ))
                .into());
            }
        },
    };
    let (ticket, queue) = edge.visible_ticket(&caller, id).await?;
    let collaborates = edge.collaborates(&caller, &ticket).await?;
    let actions = caller.actions(&ticket, &queue, collaborates);
    let mut out = ticket_to_pb(caller.redact(ticket));
    out.actions = Some(actions_to_pb(actions));
    if !caller.is_customer() {
        out.tags = edge
            .store
            .tags(id)
            .await?
            .into_iter()
            .map(String::from)
            .collect();
        out.fields = edge
            .store
            .field_values(id)
            .await?
            .into_iter()
            .map(field_value_to_pb)
            .collect();
    }
    Ok(Response::new(out))
}

pub(super) async fn search_tickets(
    edge: &TicketGrpc,
    request: Request<pb::SearchTicketsRequest>,
) -> Result<Response<pb::ListTicketsResponse>, Status> {
    let caller = edge.caller(&request, Scope::Read).await?;
    let r = request.into_inner();
    let mut filter = filter_from_pb(r.filter.unwrap_or_default())?;
    let mut sort = sort_from_pb(r.sort)?;
    let mut descending = r.descending;
    if caller.is_customer() {
        // Customers search their own tickets, by what they may see of them.
        let agent_only = filter.owner_id.is_some()
            || filter.responsible_id.is_some()
            || filter.watched_by.is_some()
            || filter.collaborator.is_some()
            || filter.locked.is_some()
            || !filter.tags.is_empty()
            || !filter.fields.is_empty()
            || !r.view.is_empty();
        if agent_only {
            return Err(TicketError::denied(
                "views and the owner, responsible, watcher, lock, tag and field filters are for agents",
            )
            .into());
        }
    }
    if !r.view.trim().is_empty() {
        let view = edge.view(&caller, r.view.trim()).await?;
        filter = view.filter.and(filter)?;
        if sort.is_none() {
            sort = Some(view.sort);
            descending = view.descending;
        }
    }
    let query = TicketListQuery {
        filter,
        visibility: caller.visibility(),
        sort: sort.unwrap_or_default(),
        descending,
        page_size: r.page_size,
        page_token: (!r.page_token.is_empty()).then_some(r.page_token),
    };
    edge.page(&caller, &query).await
}

pub(super) async fn bulk_update_tickets(
    edge: &TicketGrpc,
    request: Request<pb::BulkUpdateTicketsRequest>,
) -> Result<Response<pb::BulkUpdateTicketsResponse>, Status> {
    let caller = edge.caller(&request, Scope::Write).await?;
    let mut readers = Readers::of(&request);
    let r = request.into_inner();
    let fields = r
        .update
        .ok_or_else(|| TicketError::invalid("update is required"))?;
    if fields.expected_version.is_some() || !fields.ticket_id.is_empty() {
        return Err(TicketError::invalid(
            "a bulk update names its tickets in ticket_ids, without ticket_id or expected_version",
        )
        .into());
    }
    if r.ticket_ids.is_empty() || r.ticket_ids.len() > MAX_BULK {
        return Err(TicketError::invalid(format!(
            "a bulk update takes 1 to {MAX_BULK} tickets, not {}",
            r.ticket_ids.len()
        ))
        .into());
    }
    let update = update_from_pb(&fields)?;
    let ids = r
        .ticket_ids
        .iter()
        .map(|id| parse_id::<TicketId>(id))
        .collect::<Result<Vec<_>, _>>()?;
    // Each ticket on its own: checked, changed and recorded as if updated alone.
    let mut outcomes = Vec::with_capacity(ids.len());
    for id in ids {
        outcomes.push(outcome(
            id,
            edge.update_one(&caller, &mut readers, id, update.clone())
                .await,
        ));
    }
    Ok(Response::new(pb::BulkUpdateTicketsResponse { outcomes }))
}

pub(super) async fn queue_overview(
    edge: &TicketGrpc,
    request: Request<pb::QueueOverviewRequest>,
) -> Result<Response<pb::QueueOverviewResponse>, Status> {
    let caller = edge.caller(&request, Scope::Read).await?;
    if caller.is_customer() {
        return Err(TicketError::denied("the queue overview is for agents").into());
    }
    let tenant = optional_id(&request.into_inner().tenant_id)?;
    let queues: Vec<Queue> = edge
        .store
        .list_queues(tenant)
        .await?
        .into_iter()
        .filter(|q| caller.sees_queue(q))
        .collect();
    let now = docket_platform::time::now_micros();
    let mut counts = Vec::new();
    let mut tenants: Vec<TenantId> = queues.iter().map(|q| q.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    for tenant_id in tenants {
        counts.extend(edge.store.queue_counts(tenant_id, now).await?);
    }
    Ok(Response::new(pb::QueueOverviewResponse {
        queues: queues
            .into_iter()
            .map(|queue| {
                let c = counts
                    .iter()
                    .find(|c| c.queue_id == queue.id)
                    .copied()
                    .unwrap_or_else(|| QueueCounts::new(queue.id));
                pb::QueueCount {
                    queue: Some(queue_to_pb(queue)),
                    new: c.new,
                    open: c.open,
                    pending: c.pending,
                    escalated: c.escalated,
                }
            })
            .collect(),
    }))
}
