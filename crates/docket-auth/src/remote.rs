//! Verifying access tokens in a service: the identity service's public keys, fetched over gRPC
//! and cached; fetched again when a token names a key not seen yet (keys rotate).

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
}

/// How often the keys may be fetched again at most.
const REFETCH_AFTER: Duration = Duration::from_secs(5);

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
        match first {
            Err(AuthError::UnknownKey(_)) => {
                self.refetch().await?;
                Ok(self.state.read().await.0.verify(token)?)
            }
            other => Ok(other?),
        }
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
