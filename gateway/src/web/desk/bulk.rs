//! Bulk changes: the tickets selected in a list changed at once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use docket_proto::ticket::v1 as pb;

use super::state_by_name;
use crate::web::{DeskForm, Posted, error_page, failure};

/// Changes every selected ticket at once; back to the list, or a page naming those that were
/// not changed and why.
pub(super) async fn bulk(
    Posted {
        state, s, t, form, ..
    }: DeskForm,
) -> Response {
    let back = Some(form.get("back"))
        .filter(|b| b.starts_with("/desk/") && !b.starts_with("/desk//"))
        .unwrap_or("/desk/")
        .to_owned();
    let update = pb::UpdateTicketRequest {
        state: state_by_name(form.get("state")).map(Into::into),
        priority: form.get("priority").parse().ok(),
        queue_id: Some(form.get("queue").to_owned()).filter(|q| !q.is_empty()),
        owner_id: Some(form.get("owner").to_owned()).filter(|o| !o.is_empty()),
        locked: match form.get("lock") {
            "lock" => Some(true),
            "unlock" => Some(false),
            _ => None,
        },
        ..Default::default()
    };
    let ids = form.all("ticket").to_vec();
    if ids.is_empty() {
        return Redirect::to(&back).into_response();
    }
    let outcome = state
        .tickets(&s.principal)
        .bulk_update_tickets(pb::BulkUpdateTicketsRequest {
            ticket_ids: ids,
            update: Some(update),
        })
        .await;
    match outcome {
        Ok(r) => {
            let failed: Vec<String> = r
                .into_inner()
                .outcomes
                .into_iter()
                .filter(|o| o.ticket.is_none())
                .map(|o| format!("{}: {}", o.ticket_id, o.error_message))
                .collect();
            if failed.is_empty() {
                Redirect::to(&back).into_response()
            } else {
                let message = format!("{}: {}", t.bulk_failed, failed.join("; "));
                error_page(t, Some(&s), StatusCode::CONFLICT, &message)
            }
        }
        Err(status) => failure(t, Some(&s), status.into()),
    }
}
