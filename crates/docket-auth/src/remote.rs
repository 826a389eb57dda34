//! Verifying access tokens in a service: the identity service's public keys, fetched over gRPC
//! and cached; fetched again when a token names a key not seen yet (keys rotate).
//!
//! A token is also refused when the session it was issued for (its `sid`) has ended: a logout,
//! or a password, activation or role change. The identity service lists the sessions revoked
//! within an access token's lifetime; a verification asks for that list again when it is older
//! than [`REVOCATION_POLL`], so a revoked session's tokens are refused by every service at most
//! that long after the revocation. When the identity service cannot be asked, the last list
//! serves for [`REVOCATION_STALE_LIMIT`]; after that session tokens are refused as UNAVAILABLE
//! rather than trusted blindly.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use docket_proto::identity::v1 as pb;
use docket_proto::identity::v1::identity_service_client::IdentityServiceClient;
use tokio::sync::RwLock;
use tonic::transport::Channel;

use crate::token::JwkSet;
use crate::{AuthError, Claims, Verifier};

/// Verifies access tokens with the keys the identity service publishes.
pub struct RemoteVerifier {
    identity: IdentityServiceClient<Channel>,
    state: RwLock<(Verifier, Option<Instant>)>,
    revoked: RwLock<Revoked>,
}

/// The revoked sessions as last fetched.
#[derive(Default)]
struct Revoked {
    sids: HashSet<String>,
    /// The last successful fetch.
    fetched_at: Option<Instant>,
    /// The last attempt, successful or not.
    tried_at: Option<Instant>,
}

/// How often the keys may be fetched again at most.
const REFETCH_AFTER: Duration = Duration::from_secs(5);

/// The revoked sessions are fetched again when the list is older than this: the longest a
/// revoked session's access token is still accepted.
pub const REVOCATION_POLL: Duration = Duration::from_secs(3);

/// How long the last list of revoked sessions serves while the identity service does not answer.
pub const REVOCATION_STALE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the identity service is unavailable: {0}")]
    Unavailable(String),
}

impl From<RemoteError> for tonic::Status {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::Auth(a) => a.into(),
            RemoteError::Unavailable(m) => {
                tracing::warn!(error = %m, "cannot fetch token keys");
                tonic::Status::unavailable("authentication temporarily unavailable")
            }
        }
    }
}

impl RemoteVerifier {
    pub fn new(identity: IdentityServiceClient<Channel>) -> Self {
        Self {
            identity,
            state: RwLock::new((Verifier::default(), None)),
            revoked: RwLock::new(Revoked::default()),
        }
    }

    /// A verifier over a lazily connecting channel to `endpoint`.
    pub fn connect_lazy(endpoint: &str) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())?
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy();
        Ok(Self::new(IdentityServiceClient::new(channel)))
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, RemoteError> {
        let first = self.state.read().await.0.verify(token);
        let claims = match first {
            Err(AuthError::UnknownKey(_)) => {
                self.refetch().await?;
                self.state.read().await.0.verify(token)?
            }
            other => other?,
        };
        self.check_session(&claims).await?;
        Ok(claims)
    }

    /// Refuses claims whose session (`sid`) was revoked, as far as the list fetched at most
    /// [`REVOCATION_POLL`] ago knows. For claims verified earlier and kept (a cache).
    pub async fn check_session(&self, claims: &Claims) -> Result<(), RemoteError> {
        let Some(sid) = claims.sid.as_deref() else {
            return Ok(()); // service tokens belong to no session
        };
        let fresh = |r: &Revoked| r.tried_at.is_some_and(|t| t.elapsed() < REVOCATION_POLL);
        let usable = |r: &Revoked| {
            r.fetched_at
                .is_some_and(|t| t.elapsed() < REVOCATION_STALE_LIMIT)
        };
        {
            let revoked = self.revoked.read().await;
            if fresh(&revoked) && usable(&revoked) {
                return check_sid(&revoked, sid);
            }
        }
        let mut revoked = self.revoked.write().await;
        if !fresh(&revoked) {
            revoked.tried_at = Some(Instant::now());
            let mut request = tonic::Request::new(pb::ListRevokedSessionsRequest {});
            request.set_timeout(Duration::from_secs(2));
            match self.identity.clone().list_revoked_sessions(request).await {
                Ok(answer) => {
                    revoked.sids = answer.into_inner().session_ids.into_iter().collect();
                    revoked.fetched_at = Some(Instant::now());
                }
                Err(s) => {
                    tracing::warn!(error = %s.message(), "cannot fetch the revoked sessions");
                }
            }
        }
        if !usable(&revoked) {
            return Err(RemoteError::Unavailable(
                "the revoked sessions are not known".into(),
            ));
        }
        check_sid(&revoked, sid)
    }

    /// The caller of a gRPC request, from its bearer token.
    pub async fn caller(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Claims, RemoteError> {
        let token = crate::bearer_token(metadata).ok_or(AuthError::Missing)?;
        self.verify(token).await
    }

    async fn refetch(&self) -> Result<(), RemoteError> {
        let mut state = self.state.write().await;
        if state.1.is_some_and(|at| at.elapsed() < REFETCH_AFTER) {
            return Ok(());
        }
        let response = self
            .identity
            .clone()
            .get_jwks(pb::GetJwksRequest {})
            .await
            .map_err(|s| RemoteError::Unavailable(s.message().to_owned()))?
            .into_inner();
        let set: JwkSet = serde_json::from_str(&response.jwks_json)
            .map_err(|e| RemoteError::Unavailable(format!("malformed JWKS: {e}")))?;
        *state = (Verifier::from_jwks(&set), Some(Instant::now()));
        Ok(())
    }
}

fn check_sid(revoked: &Revoked, sid: &str) -> Result<(), RemoteError> {
    if revoked.sids.contains(sid) {
        Err(AuthError::Revoked.into())
    } else {
        Ok(())
    }
}

/// How a service learns the verified caller of a gRPC request.
#[tonic::async_trait]
pub trait Authenticate: Send + Sync + 'static {
    /// The caller's claims, or UNAUTHENTICATED (UNAVAILABLE when the keys cannot be fetched).
    async fn caller(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Claims, tonic::Status>;
}

#[tonic::async_trait]
impl Authenticate for RemoteVerifier {
    async fn caller(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Claims, tonic::Status> {
        Ok(RemoteVerifier::caller(self, metadata).await?)
    }
}

/// A fixed key set: for a service that holds the keys itself (tests, the identity service).
#[tonic::async_trait]
impl Authenticate for Verifier {
    async fn caller(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Claims, tonic::Status> {
        let token = crate::bearer_token(metadata).ok_or(AuthError::Missing)?;
        Ok(self.verify(token)?)
    }
}

/// This service's own access token (`kind: service`), issued by the identity service for the
/// secret the installation shares with it, and renewed a minute before it expires.
pub struct ServiceToken {
    identity: IdentityServiceClient<Channel>,
    service: String,
    secret: String,
    cached: RwLock<Option<(String, i64)>>,
}

impl ServiceToken {
    pub fn new(identity: IdentityServiceClient<Channel>, service: &str, secret: &str) -> Self {
        Self {
            identity,
            service: service.to_owned(),
            secret: secret.to_owned(),
            cached: RwLock::new(None),
        }
    }

    /// A current token: the cached one, or a new one.
    pub async fn token(&self) -> Result<String, tonic::Status> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let fresh =
            |(token, expires): &(String, i64)| (*expires - now > 60_000_000).then(|| token.clone());
        if let Some(token) = self.cached.read().await.as_ref().and_then(fresh) {
            return Ok(token);
        }
        let mut cached = self.cached.write().await;
        if let Some(token) = cached.as_ref().and_then(fresh) {
            return Ok(token);
        }
        let issued = self
            .identity
            .clone()
            .issue_service_token(pb::IssueServiceTokenRequest {
                service: self.service.clone(),
                secret: self.secret.clone(),
            })
            .await?
            .into_inner();
        *cached = Some((issued.token.clone(), issued.expires_at_us));
        Ok(issued.token)
    }

    /// `message` as a request carrying the token.
    pub async fn request<T>(&self, message: T) -> Result<tonic::Request<T>, tonic::Status> {
        let mut request = tonic::Request::new(message);
        crate::with_bearer(request.metadata_mut(), &self.token().await?);
        Ok(request)
    }
}
