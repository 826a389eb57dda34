//! Merging, splitting and the links between tickets.

use super::*;

pub(super) async fn merge_tickets(
    edge: &TicketGrpc,
    request: Request<pb::MergeTicketsRequest>,
) -> Result<Response<pb::MergeTicketsResponse>, Status> {
    let caller = edge.caller(&request, Scope::Write).await?;
    let r = request.into_inner();
    if r.source_ticket_ids.is_empty() || r.source_ticket_ids.len() > MAX_BULK {
        return Err(TicketError::invalid(format!(
            "a merge takes 1 to {MAX_BULK} tickets, not {}",
            r.source_ticket_ids.len()
        ))
        .into());
    }
    let sources = r
        .source_ticket_ids
        .iter()
        .map(|id| parse_id::<TicketId>(id))
        .collect::<Result<Vec<_>, _>>()?;
    let (target, target_queue) = edge
        .visible_ticket(&caller, parse_id(&r.target_ticket_id)?)
        .await?;
    if caller.is_customer() {
        return Err(TicketError::denied("customers cannot merge tickets").into());
    }
    caller.require_may(&target, &target_queue, Permission::Rw)?;
    let mut outcomes = Vec::with_capacity(sources.len());
    for id in sources {
        let merged = async {
            let (source, queue) = edge.visible_ticket(&caller, id).await?;
            caller.require_may(&source, &queue, Permission::Rw)?;
            edge.store
                .merge_tickets(source.id, target.id, &caller.actor)
                .await?;
            edge.store.get_ticket(source.id).await
        };
        outcomes.push(outcome(id, merged.await.map(|t| caller.redact(t))));
    }
    let target = edge.store.get_ticket(target.id).await?;
    Ok(Response::new(pb::MergeTicketsResponse {
        target: Some(ticket_to_pb(caller.redact(target))),
        outcomes,
    }))
}

pub(super) async fn split_article(
    edge: &TicketGrpc,
    request: Request<pb::SplitArticleRequest>,
) -> Result<Response<pb::Ticket>, Status> {
    let caller = edge.caller(&request, Scope::Write).await?;
    let r = request.into_inner();
    let article = edge.store.get_article(parse_id(&r.article_id)?).await;
    // An article of a ticket out of sight is as unknown as one that does not exist.
    let article = match article {
        Ok(a) if edge.visible_ticket(&caller, a.ticket_id).await.is_ok() => a,
        _ => return Err(TicketError::not_found("article", r.article_id.trim()).into()),
    };
    let (ticket, queue) = edge.visible_ticket(&caller, article.ticket_id).await?;
    caller.require_may(&ticket, &queue, Permission::Rw)?;
    let target = edge.store.get_queue(parse_id(&r.queue_id)?).await?;
    if target.tenant_id != ticket.tenant_id {
        return Err(TicketError::not_found("queue", target.id).into());
    }
    caller.require_on_queue(&target, Permission::Create)?;
    let new = NewTicket {
        type_id: ticket.type_id,
        service_id: ticket.service_id,
        ..NewTicket::parse(
            target.id,
            &r.title,
            priority_from_pb(r.priority)?.or(Some(ticket.priority)),
            ticket.customer.as_deref().unwrap_or_default(),
            ticket.customer_id,
            None,
        )?
    };
    let created = edge
        .store
        .split_article(article.id, new, &caller.actor)
        .await?;
    Ok(Response::new(ticket_to_pb(caller.redact(created))))
}

pub(super) async fn list_links(
    edge: &TicketGrpc,
    request: Request<pb::ListLinksRequest>,
) -> Result<Response<pb::ListLinksResponse>, Status> {
    let caller = edge.caller(&request, Scope::Read).await?;
    let id = parse_id(&request.into_inner().ticket_id)?;
    let (ticket, _) = edge.visible_ticket(&caller, id).await?;
    let mut links = Vec::new();
    for link in edge.store.links(ticket.id).await? {
        // Only what the caller sees of the linked tickets.
        if edge.visible_ticket(&caller, link.ticket_id).await.is_err() {
            continue;
        }
        links.push(pb::LinkedTicket {
            relation: link.relation.to_string(),
            ticket_id: link.ticket_id.to_string(),
            number: link.number.to_string(),
            title: link.title,
            state: i32::from(link.state.to_pb()),
            state_type: i32::from(link.state.state_type().to_pb()),
            done: link.state.is_final(),
            queue_id: link.queue_id.to_string(),
            owner_id: if caller.is_customer() {
                String::new()
            } else {
                opt_text(link.owner_id)
            },
        });
    }
    Ok(Response::new(pb::ListLinksResponse { links }))
}
