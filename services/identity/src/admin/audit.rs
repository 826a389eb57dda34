//! The audit log, a page at a time.

use docket_proto::identity::v1 as pb;
use tonic::{Request, Response, Status};

use super::AdminGrpc;
use crate::domain::*;
use crate::error::IdentityError;

const DEFAULT_AUDIT_PAGE: u32 = 50;
const MAX_AUDIT_PAGE: u32 = 500;

fn audit_pb(e: AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        occurred_at_us: e.occurred_at,
        tenant_id: e.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
        actor: e.actor,
        action: e.action,
        target: e.target.unwrap_or_default(),
        outcome: e.outcome,
        details_json: e.details.to_string(),
    }
}

pub(super) async fn list_audit_log(
    grpc: &AdminGrpc,
    request: Request<pb::ListAuditLogRequest>,
) -> Result<Response<pb::ListAuditLogResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let size = match r.page_size {
        0 => DEFAULT_AUDIT_PAGE,
        n if n <= MAX_AUDIT_PAGE => n,
        n => {
            return Err(IdentityError::invalid(format!(
                "page_size {n} is not between 1 and {MAX_AUDIT_PAGE}"
            ))
            .into());
        }
    };
    let after = if r.page_token.is_empty() {
        None
    } else {
        Some(AuditCursor::parse(&r.page_token)?)
    };
    let page = grpc
        .store()
        .audit_page(tenant.id, after.as_ref(), i64::from(size))
        .await?;
    Ok(Response::new(pb::ListAuditLogResponse {
        entries: page.entries.into_iter().map(audit_pb).collect(),
        next_page_token: page.next.map(|c| c.encode()).unwrap_or_default(),
    }))
}
