//! Access tokens: EdDSA (Ed25519) JWTs that carry who the caller is and what they may do.
//!
//! The identity service signs them with the newest key of its key ring and publishes the public
//! keys as a JWKS; every other service verifies them with a [`Verifier`] built from that set.
//! Tokens live minutes: permission changes take effect at the next refresh.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use jsonwebtoken::jwk::{Jwk, JwkSet};

use crate::AuthError;
use crate::perm::{PermSet, Permission};

/// The issuer and audience of every Docket token.
pub const ISSUER: &str = "docket";

/// What kind of principal a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Agent,
    Customer,
    /// Another service acting on its own behalf (e.g. the mail service creating tickets).
    Service,
}

/// An agent's grants in one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TenantGrants {
    /// Administrator of the tenant: manages queues, agents, customers, groups and roles.
    #[serde(default)]
    pub admin: bool,
    /// Permissions per group id, already merged from the agent's groups and roles.
    #[serde(default)]
    pub groups: BTreeMap<String, PermSet>,
    /// Agents this one substitutes while they are absent: it sees their tickets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_for: Vec<String>,
}

/// What an agent may do, per tenant id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AgentGrants {
    pub tenants: BTreeMap<String, TenantGrants>,
    /// Administers the installation: creates tenants and administers every one of them.
    #[serde(default)]
    pub installation_admin: bool,
}

/// A customer user's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGrant {
    pub tenant_id: String,
    pub company_id: Option<String>,
    /// Whether the customer sees the tickets of their whole company.
    #[serde(default)]
    pub company_tickets: bool,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user's id (agent or customer user), or the service's name.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The session (or API token) the access token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub kind: Kind,
    /// The login name, recorded as the actor of changes.
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentGrants>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerGrant>,
    /// Set for API tokens: the scopes they are limited to (e.g. `tickets:read`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

impl Claims {
    /// The agent's grants in `tenant_id`, if the caller is an agent of that tenant.
    pub fn tenant(&self, tenant_id: &str) -> Option<&TenantGrants> {
        self.agent.as_ref().and_then(|a| a.tenants.get(tenant_id))
    }

    /// Whether the caller may do `p` on the queues of `group_id` in `tenant_id`.
    pub fn allows(&self, tenant_id: &str, group_id: &str, p: Permission) -> bool {
        self.kind == Kind::Service
            || self
                .tenant(tenant_id)
                .and_then(|t| t.groups.get(group_id))
                .is_some_and(|set| set.allows(p))
    }

    pub fn is_admin_of(&self, tenant_id: &str) -> bool {
        self.tenant(tenant_id).is_some_and(|t| t.admin)
    }

    /// Whether the caller is an agent administering the whole installation.
    pub fn is_installation_admin(&self) -> bool {
        self.kind == Kind::Agent && self.agent.as_ref().is_some_and(|a| a.installation_admin)
    }

    /// Whether the caller may administer `tenant_id`: its administrator, or the installation's.
    pub fn may_administer(&self, tenant_id: &str) -> bool {
        self.kind == Kind::Agent && (self.is_admin_of(tenant_id) || self.is_installation_admin())
    }

    /// Whether an API token's scopes (if any) include `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == scope || x == "*"))
    }
}

/// An Ed25519 signing key with its id.
pub struct KeyPair {
    pub kid: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new random key with a new id.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut seed);
        Self {
            kid: uuid::Uuid::now_v7().simple().to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// The private key as PKCS#8 DER, for storage.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, AuthError> {
        self.key
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| AuthError::BadKey(e.to_string()))
    }

    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, AuthError> {
        Ok(Self {
            kid: kid.to_owned(),
            key: ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|e| AuthError::BadKey(e.to_string()))?,
        })
    }

    /// The public half as a JWK.
    pub fn jwk(&self) -> Jwk {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.key.verifying_key().as_bytes());
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x,
            }),
        }
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let der = self.to_pkcs8()?;
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der))
            .map_err(|e| AuthError::BadKey(e.to_string()))
    }
}

/// Verifies access tokens against a set of public keys.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// A verifier for the Ed25519 keys of `set` (other key types are ignored).
    pub fn from_jwks(set: &JwkSet) -> Self {
        let keys = set
            .keys
            .iter()
            .filter(|k| matches!(&k.algorithm, AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519))
            .filter_map(|k| Some((k.common.key_id.clone()?, DecodingKey::from_jwk(k).ok()?)))
            .collect();
        Self { keys }
    }

    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The claims of a valid token: signed by a known key with EdDSA, issued by and for Docket,
    /// not expired (30 s of clock skew allowed).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        let key = self.keys.get(&kid).ok_or(AuthError::UnknownKey(kid))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Claims {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut groups = BTreeMap::new();
        groups.insert(
            "g1".to_owned(),
            PermSet::of(&[Permission::Ro, Permission::Note]),
        );
        let mut tenants = BTreeMap::new();
        tenants.insert(
            "t1".to_owned(),
            TenantGrants {
                admin: false,
                groups,
                substitute_for: vec![],
            },
        );
        Claims {
            iss: ISSUER.into(),
            aud: ISSUER.into(),
            sub: "agent-1".into(),
            exp: now + exp_in,
            iat: now,
            jti: "j".into(),
            sid: None,
            kind: Kind::Agent,
            login: "agent1".into(),
            agent: Some(AgentGrants {
                tenants,
                ..Default::default()
            }),
            customer: None,
            scopes: None,
        }
    }

    fn verifier(keys: &[&KeyPair]) -> Verifier {
        Verifier::from_jwks(&JwkSet {
            keys: keys.iter().map(|k| k.jwk()).collect(),
        })
    }

    #[test]
    fn signed_tokens_verify_with_the_published_key() {
        let key = KeyPair::generate();
        let c = claims(300);
        let token = key.sign(&c).unwrap();
        let got = verifier(&[&key]).verify(&token).unwrap();
        assert_eq!(got, c);
        assert!(got.allows("t1", "g1", Permission::Note));
        assert!(!got.allows("t1", "g1", Permission::Owner));
        assert!(!got.allows("t2", "g1", Permission::Ro), "another tenant");
        assert!(!got.is_admin_of("t1"));
    }

    #[test]
    fn keys_survive_storage() {
        let key = KeyPair::generate();
        let stored = KeyPair::from_pkcs8(&key.kid, &key.to_pkcs8().unwrap()).unwrap();
        let token = stored.sign(&claims(60)).unwrap();
        assert!(verifier(&[&key]).verify(&token).is_ok());
    }

    #[test]
    fn rejects_expired_foreign_tampered_and_unsigned_tokens() {
        let key = KeyPair::generate();
        let other = KeyPair::generate();
        let v = verifier(&[&key]);
        assert_eq!(
            v.verify(&key.sign(&claims(-120)).unwrap()),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            v.verify(&other.sign(&claims(60)).unwrap()),
            Err(AuthError::UnknownKey(other.kid.clone()))
        );
        // A foreign key claiming our kid.
        let impostor = KeyPair::from_pkcs8(&key.kid, &other.to_pkcs8().unwrap()).unwrap();
        assert_eq!(
            v.verify(&impostor.sign(&claims(60)).unwrap()),
            Err(AuthError::Invalid)
        );
        // Changed claims with the old signature.
        let token = key.sign(&claims(60)).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut forged = claims(60);
        forged
            .agent
            .as_mut()
            .unwrap()
            .tenants
            .get_mut("t1")
            .unwrap()
            .admin = true;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(v.verify(&parts.join(".")), Err(AuthError::Invalid));
        // alg=none.
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            key.kid
        ));
        assert_eq!(
            v.verify(&format!("{header}.{}.", parts[1])),
            Err(AuthError::Invalid)
        );
        assert_eq!(v.verify("garbage"), Err(AuthError::Invalid));
    }

    #[test]
    fn rotated_keys_keep_verifying_until_removed() {
        let old = KeyPair::generate();
        let new = KeyPair::generate();
        let both = verifier(&[&old, &new]);
        assert!(both.verify(&old.sign(&claims(60)).unwrap()).is_ok());
        assert!(both.verify(&new.sign(&claims(60)).unwrap()).is_ok());
        let only_new = verifier(&[&new]);
        assert!(only_new.verify(&old.sign(&claims(60)).unwrap()).is_err());
    }

    #[test]
    fn installation_administrators_administer_every_tenant() {
        let mut c = claims(60);
        assert!(!c.is_installation_admin());
        assert!(!c.may_administer("t1") && !c.may_administer("t2"));
        c.agent
            .as_mut()
            .unwrap()
            .tenants
            .get_mut("t1")
            .unwrap()
            .admin = true;
        assert!(c.may_administer("t1") && !c.may_administer("t2"));
        c.agent.as_mut().unwrap().installation_admin = true;
        assert!(c.is_installation_admin());
        assert!(c.may_administer("t2"));
        // A customer token never administers, whatever it claims.
        c.kind = Kind::Customer;
        assert!(!c.is_installation_admin() && !c.may_administer("t1"));
        // Tokens issued before the flag existed still verify, without it.
        let old = r#"{"tenants":{}}"#;
        let grants: AgentGrants = serde_json::from_str(old).unwrap();
        assert!(!grants.installation_admin);
    }

    #[test]
    fn api_token_scopes() {
        let mut c = claims(60);
        assert!(c.has_scope("tickets:write"), "a session has every scope");
        c.scopes = Some(vec!["tickets:read".into()]);
        assert!(c.has_scope("tickets:read"));
        assert!(!c.has_scope("tickets:write"));
    }
}
