//! The `docket.mail.v1.MailService` edge: uploads, the list of received messages and the
//! quarantine, for installation administrators and the suite's services; the parts of a
//! received message also for the agents who may see its ticket.

use std::sync::Arc;

use docket_auth::caller::AUTHORIZATION;
use docket_auth::remote::Authenticate;
use docket_auth::{Claims, Kind};
use docket_proto::mail::v1 as pb;
use docket_proto::mail::v1::mail_service_server::MailService;
use tonic::{Request, Response, Status};

use crate::error::MailError;
use crate::ingest::{Ingest, REPROCESSED, Receipt};
use crate::storage::{InboundId, InboundMessage, InboundState};

pub struct MailGrpc {
    ingest: Arc<Ingest>,
    auth: Arc<dyn Authenticate>,
}

impl MailGrpc {
    pub fn new(ingest: Arc<Ingest>, auth: Arc<dyn Authenticate>) -> Self {
        Self { ingest, auth }
    }

    /// Only installation administrators (with the `admin` scope, for API tokens) and services.
    async fn require_operator<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let claims = self.auth.caller(request.metadata()).await?;
        if is_operator(&claims) {
            Ok(())
        } else {
            Err(MailError::PermissionDenied(
                "the mail service's messages are for installation administrators".into(),
            )
            .into())
        }
    }
}

fn is_operator(claims: &Claims) -> bool {
    claims.kind == Kind::Service || (claims.is_installation_admin() && claims.has_scope("admin"))
}

fn message_to_pb(m: InboundMessage, duplicate: bool) -> pb::InboundMessage {
    pb::InboundMessage {
        id: m.id.to_string(),
        received_at_us: m.received_at,
        source: m.source,
        message_id: m.message_id,
        sha256: m.sha256,
        size: m.size,
        state: m.state.as_str().to_owned(),
        reason: m.reason,
        outcome: m.outcome.map(|o| o.as_str().to_owned()).unwrap_or_default(),
        ticket_id: m.ticket_id,
        article_id: m.article_id,
        sender: m.sender,
        subject: m.subject,
        attempts: m.attempts,
        raw: m.raw,
        duplicate,
    }
}

fn parse_id(id: &str) -> Result<InboundId, MailError> {
    Ok(id.trim().parse()?)
}

#[tonic::async_trait]
impl MailService for MailGrpc {
    async fn submit_message(
        &self,
        request: Request<pb::SubmitMessageRequest>,
    ) -> Result<Response<pb::InboundMessage>, Status> {
        self.require_operator(&request).await?;
        let r = request.into_inner();
        if r.raw.is_empty() {
            return Err(MailError::invalid("the message is empty").into());
        }
        let recipients = r
            .recipients
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        match self.ingest.receive(r.raw, "upload", "", recipients).await? {
            Receipt::Stored { id, duplicate } => {
                let mut message = self.ingest.store().get_inbound(id).await?;
                message.raw = Vec::new();
                Ok(Response::new(message_to_pb(message, duplicate)))
            }
            Receipt::Refused(reason) => Err(MailError::TooLarge(reason).into()),
        }
    }

    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        self.require_operator(&request).await?;
        let r = request.into_inner();
        let state = match r.state.trim() {
            "" => None,
            s => Some(s.parse::<InboundState>()?),
        };
        let page_size = if r.page_size == 0 { 50 } else { r.page_size };
        let page = self
            .ingest
            .store()
            .list_inbound(state, page_size, Some(&r.page_token))
            .await?;
        Ok(Response::new(pb::ListMessagesResponse {
            messages: page
                .items
                .into_iter()
                .map(|m| message_to_pb(m, false))
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Result<Response<pb::InboundMessage>, Status> {
        self.require_operator(&request).await?;
        let id = parse_id(&request.into_inner().id)?;
        let message = self.ingest.store().get_inbound(id).await?;
        Ok(Response::new(message_to_pb(message, false)))
    }

    async fn get_message_part(
        &self,
        request: Request<pb::GetMessagePartRequest>,
    ) -> Result<Response<pb::MessagePart>, Status> {
        let claims = self.auth.caller(request.metadata()).await?;
        let operator = is_operator(&claims);
        if !operator && claims.kind != Kind::Agent {
            return Err(MailError::PermissionDenied(
                "the parts of received messages are for agents".into(),
            )
            .into());
        }
        let authorization = request.metadata().get(AUTHORIZATION).cloned();
        let r = request.into_inner();
        let id = parse_id(&r.message_id)?;
        let index = usize::try_from(r.index).unwrap_or(usize::MAX);
        let message = self.ingest.store().get_inbound(id).await?;
        let ticket_id = message.ticket_id.clone();
        // An agent sees the parts of a message only through its ticket; the same answer when
        // there is none as when it is not theirs.
        if !operator {
            let seen = match (&authorization, ticket_id.is_empty()) {
                (Some(authorization), false) => {
                    self.ingest
                        .tickets()
                        .ticket_seen_by(authorization, &ticket_id)
                        .await?
                }
                _ => false,
            };
            if !seen {
                return Err(
                    MailError::not_found("part", format!("{index} of message {id}")).into(),
                );
            }
        }
        let part = self.ingest.part(message, index).await?;
        Ok(Response::new(pb::MessagePart {
            ticket_id,
            filename: part.filename,
            content_type: part.content_type,
            content: part.content,
        }))
    }

    async fn reprocess_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Result<Response<pb::InboundMessage>, Status> {
        self.require_operator(&request).await?;
        let id = parse_id(&request.into_inner().id)?;
        let mut message = self.ingest.store().reprocess(id, REPROCESSED).await?;
        self.ingest.wake();
        message.raw = Vec::new();
        Ok(Response::new(message_to_pb(message, false)))
    }
}
