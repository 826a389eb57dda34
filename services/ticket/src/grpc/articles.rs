//! Adding articles and reading their attachments.

use super::*;

pub(super) async fn add_article(
    edge: &TicketGrpc,
    request: Request<pb::AddArticleRequest>,
) -> Result<Response<pb::Article>, Status> {
    let caller = edge.caller(&request, Scope::Write).await?;
    let r = request.into_inner();
    let given = r
        .article
        .ok_or_else(|| TicketError::invalid("article is required"))?;
    let (ticket, queue) = edge
        .visible_ticket(&caller, parse_id(&r.ticket_id)?)
        .await?;
    let article = if caller.is_customer() {
        customer_article_from_pb(given)?
    } else {
        let article = new_article_from_pb(given)?;
        // What the customer reads is an answer (rw); an internal note needs `note`, or
        // working the ticket jointly.
        if article.visible_to_customer {
            caller.require_may(&ticket, &queue, Permission::Rw)?;
        } else if !edge.collaborates(&caller, &ticket).await? {
            caller.require_may(&ticket, &queue, Permission::Note)?;
        }
        article
    };
    let stored = edge
        .store
        .add_article(ticket.id, article, &caller.actor)
        .await?;
    Ok(Response::new(article_to_pb(stored)))
}

pub(super) async fn get_attachment(
    edge: &TicketGrpc,
    request: Request<pb::GetAttachmentRequest>,
) -> Result<Response<pb::AttachmentContent>, Status> {
    let caller = edge.caller(&request, Scope::Read).await?;
    let id: AttachmentId = parse_id(&request.into_inner().attachment_id)?;
    let (ticket_id, article_id, meta, content) = edge.store.attachment(id).await?;
    // Out of sight (another's ticket, an internal note's attachment for a customer) is unknown.
    let hidden = match edge.visible_ticket(&caller, ticket_id).await {
        Ok(_) if caller.is_customer() => {
            !edge
                .store
                .get_article(article_id)
                .await?
                .visible_to_customer
        }
        Ok(_) => false,
        Err(_) => true,
    };
    if hidden {
        return Err(TicketError::not_found("attachment", id).into());
    }
    Ok(Response::new(pb::AttachmentContent {
        attachment: Some(attachment_to_pb(meta)),
        ticket_id: ticket_id.to_string(),
        article_id: article_id.to_string(),
        content,
    }))
}
