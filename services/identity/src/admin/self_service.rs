//! Self-service, from an agent's login session: its API tokens and its second factor.

use docket_proto::identity::v1 as pb;
use tonic::{Request, Response, Status};

use super::{AdminGrpc, now};
use crate::domain::*;
use crate::error::IdentityError;
use crate::totp::TotpSecret;

/// The issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "Docket";
const MAX_SCOPES: usize = 32;
const MAX_SCOPE_CHARS: usize = 64;

fn token_pb(t: ApiToken) -> pb::ApiToken {
    pb::ApiToken {
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        created_at_us: t.created_at,
        expires_at_us: t.expires_at,
        revoked_at_us: t.revoked_at.unwrap_or(0),
    }
}

pub(super) async fn issue_api_token(
    grpc: &AdminGrpc,
    request: Request<pb::IssueApiTokenRequest>,
) -> Result<Response<pb::IssuedApiToken>, Status> {
    let caller = grpc.me(&request).await?;
    let r = request.into_inner();
    let mut scopes: Vec<String> = r.scopes.iter().map(|s| s.trim().to_owned()).collect();
    scopes.sort();
    scopes.dedup();
    if scopes.len() > MAX_SCOPES || scopes.iter().any(|s| s.chars().count() > MAX_SCOPE_CHARS) {
        return Err(IdentityError::invalid(format!(
            "an API token has at most {MAX_SCOPES} scopes of at most {MAX_SCOPE_CHARS} characters"
        ))
        .into());
    }
    let (token, secret) = grpc
        .authority
        .issue_api_token(
            caller.agent_id,
            &r.name,
            scopes,
            i64::from(r.valid_days),
            caller.actor(),
            now(),
        )
        .await?;
    Ok(Response::new(pb::IssuedApiToken {
        token: Some(token_pb(token)),
        secret: secret.expose().to_owned(),
    }))
}

pub(super) async fn list_api_tokens(
    grpc: &AdminGrpc,
    request: Request<pb::ListApiTokensRequest>,
) -> Result<Response<pb::ListApiTokensResponse>, Status> {
    let caller = grpc.me(&request).await?;
    let tokens = grpc.store().list_api_tokens(caller.agent_id).await?;
    Ok(Response::new(pb::ListApiTokensResponse {
        tokens: tokens.into_iter().map(token_pb).collect(),
    }))
}

pub(super) async fn revoke_api_token(
    grpc: &AdminGrpc,
    request: Request<pb::RevokeApiTokenRequest>,
) -> Result<Response<pb::ApiToken>, Status> {
    let caller = grpc.me(&request).await?;
    let id = request.into_inner().token_id;
    let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(IdentityError::invalid(format!(
            "`{}` is not a valid API token id",
            id.chars().take(64).collect::<String>()
        ))
        .into());
    }
    let token = match grpc.store().get_api_token(&id).await? {
        Some(t) if t.agent_id == caller.agent_id => t,
        // Someone else's token is as unknown as a token that does not exist.
        _ => return Err(IdentityError::not_found("api token", id).into()),
    };
    if token.revoked_at.is_none() {
        grpc.store()
            .revoke_api_token(&id, now(), caller.actor())
            .await?;
    }
    let token = grpc
        .store()
        .get_api_token(&id)
        .await?
        .ok_or_else(|| IdentityError::not_found("api token", &id))?;
    Ok(Response::new(token_pb(token)))
}

pub(super) async fn start_totp(
    grpc: &AdminGrpc,
    request: Request<pb::StartTotpRequest>,
) -> Result<Response<pb::StartTotpResponse>, Status> {
    let caller = grpc.me(&request).await?;
    let agent = grpc.store().get_agent(caller.agent_id).await?;
    if agent.source != Source::Local {
        return Err(IdentityError::Conflict(
            "the second factor is for local accounts; LDAP accounts use the directory's".into(),
        )
        .into());
    }
    if agent.totp_enabled {
        return Err(IdentityError::Conflict(
            "the second factor is enabled already; disable it first to enrol a new device".into(),
        )
        .into());
    }
    let secret = TotpSecret::generate();
    grpc.store()
        .set_pending_totp(agent.id, Some(&secret.to_base32()))
        .await?;
    Ok(Response::new(pb::StartTotpResponse {
        secret: secret.to_base32(),
        otpauth_uri: secret.provisioning_uri(TOTP_ISSUER, agent.login.as_str()),
    }))
}

pub(super) async fn confirm_totp(
    grpc: &AdminGrpc,
    request: Request<pb::ConfirmTotpRequest>,
) -> Result<Response<pb::TotpStatus>, Status> {
    let caller = grpc.me(&request).await?;
    let code = request.into_inner().code;
    let pending = grpc
        .store()
        .pending_totp(caller.agent_id)
        .await?
        .ok_or_else(|| {
            IdentityError::Conflict(
                "no second factor is being enrolled: start the enrolment first".into(),
            )
        })?;
    let secret = TotpSecret::from_base32(&pending).ok_or_else(|| {
        IdentityError::Corrupt(format!(
            "the pending TOTP secret of agent {} is not valid",
            caller.agent_id
        ))
    })?;
    let secs = u64::try_from(now() / 1_000_000).unwrap_or(0);
    let step = secret.verify(&code, secs, None).ok_or_else(|| {
        IdentityError::invalid(
            "the code does not match: enter the current 6-digit code of the authenticator app (is the device's clock right?)",
        )
    })?;
    grpc.store()
        .confirm_totp(caller.agent_id, &pending, step, caller.actor())
        .await?;
    Ok(Response::new(pb::TotpStatus { enabled: true }))
}

pub(super) async fn disable_totp(
    grpc: &AdminGrpc,
    request: Request<pb::DisableTotpRequest>,
) -> Result<Response<pb::TotpStatus>, Status> {
    let caller = grpc.me(&request).await?;
    let code = request.into_inner().code;
    let agent = grpc.store().get_agent(caller.agent_id).await?;
    let credentials = grpc
        .store()
        .agent_credentials(&agent.login)
        .await?
        .ok_or_else(|| IdentityError::not_found("agent", agent.id))?;
    let Some(stored) = credentials.totp_secret else {
        return Err(IdentityError::Conflict("the second factor is not enabled".into()).into());
    };
    // Guessing codes with a stolen session is throttled like guessing passwords.
    let key = format!("totp:{}", agent.id);
    let at = now();
    if grpc.store().locked_until(&key, at).await?.is_some() {
        return Err(IdentityError::PermissionDenied(
            "too many wrong codes: try again in a quarter of an hour".into(),
        )
        .into());
    }
    let secret = TotpSecret::from_base32(&stored).ok_or_else(|| {
        IdentityError::Corrupt(format!(
            "the TOTP secret of agent {} is not valid",
            agent.id
        ))
    })?;
    let secs = u64::try_from(at / 1_000_000).unwrap_or(0);
    let accepted = match secret.verify(&code, secs, credentials.totp_last_step) {
        Some(step) => grpc.store().use_totp_step(agent.id, step).await?,
        None => false,
    };
    if !accepted {
        grpc.store().record_login_failure(&key, at).await?;
        return Err(IdentityError::invalid(
            "the code does not match: enter the current 6-digit code of the authenticator app",
        )
        .into());
    }
    grpc.store().clear_login_failures(&key).await?;
    grpc.store()
        .set_agent_totp(agent.id, None, caller.actor())
        .await?;
    Ok(Response::new(pb::TotpStatus { enabled: false }))
}
