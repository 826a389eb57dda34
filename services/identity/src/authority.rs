//! Logging in and proving it: the login flow (local passwords, LDAP, TOTP, throttling), sessions,
//! API tokens, and the access tokens and keys behind them.
//!
//! Every way in ends the same: a revocable session (or API token) whose holder exchanges it for a
//! short-lived access token. New authenticators (OIDC, SAML) add a way to establish who the user
//! is; sessions and tokens stay as they are.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use docket_auth::secret::OpaqueSecret;
use docket_auth::token::{ISSUER, JwkSet};
use docket_auth::{Claims, CustomerGrant, KeyPair, Kind, Verifier};
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::domain::*;
use crate::error::IdentityError;
use crate::ldap::{LdapAuthenticator, LdapConfig, LdapError};
use crate::storage::IdentityStore;

/// How sessions, tokens and keys behave (`[identity]` in the configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of an access token, in seconds.
    pub access_token_secs: i64,
    /// Lifetime of a login session, in seconds.
    pub session_secs: i64,
    /// A new signing key after this many days; old ones verify until their tokens expired.
    pub key_rotation_days: i64,
    /// LDAP / Active Directory; unset: local passwords only.
    pub ldap: Option<LdapConfig>,
    /// LDAP group name → Docket role name, applied in `ldap_tenant` at each LDAP login.
    pub ldap_role_mapping: BTreeMap<String, String>,
    /// The tenant (slug) LDAP agents are created in on first login.
    pub ldap_tenant: Option<String>,
    /// The directory customers log in with (students, staff of other departments); unset:
    /// customers have local passwords only.
    pub customer_ldap: Option<LdapConfig>,
    /// The tenant (slug) whose customers may log in through `customer_ldap`; a customer user is
    /// created there on the first login.
    pub customer_ldap_tenant: Option<String>,
    /// The secret other services of the suite (mail) present for a service token; unset: none
    /// is issued. `docket run` sets a fresh one for the services of its process.
    pub service_secret: Option<docket_platform::config::Secret>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_token_secs: 300,
            session_secs: 12 * 3600,
            key_rotation_days: 30,
            ldap: None,
            ldap_role_mapping: BTreeMap::new(),
            ldap_tenant: None,
            customer_ldap: None,
            customer_ldap_tenant: None,
            service_secret: None,
        }
    }
}

/// What a successful login hands out.
#[derive(Debug)]
pub struct LoginGrant {
    /// The session secret: the browser keeps it in an HttpOnly cookie.
    pub session: OpaqueSecret,
    pub access_token: String,
    pub expires_at: Micros,
}

/// The result of a login attempt that got past the password.
#[derive(Debug)]
pub enum LoginOutcome {
    LoggedIn(LoginGrant),
    /// The password was right; the agent's TOTP code is needed too.
    SecondFactorRequired,
}

const SESSION_PREFIX: &str = "dks";
const API_TOKEN_PREFIX: &str = "dkt";
const MICROS: i64 = 1_000_000;

pub struct Authority {
    store: Arc<dyn IdentityStore>,
    settings: AuthSettings,
    ldap: Option<LdapAuthenticator>,
    customer_ldap: Option<LdapAuthenticator>,
    keys: RwLock<Option<(Vec<Arc<KeyPair>>, Micros)>>,
}

impl Authority {
    pub fn new(store: Arc<dyn IdentityStore>, settings: AuthSettings) -> Self {
        let ldap = settings.ldap.clone().map(LdapAuthenticator::new);
        let customer_ldap = settings.customer_ldap.clone().map(LdapAuthenticator::new);
        Self {
            store,
            settings,
            ldap,
            customer_ldap,
            keys: RwLock::new(None),
        }
    }

    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }

    /// Logs an agent in. Wrong password, unknown login, a locked or disabled account all give
    /// the same [`IdentityError::LoginFailed`]; the audit log says which it was.
    pub async fn login_agent(
        &self,
        login: &str,
        password: &str,
        totp_code: Option<&str>,
        now: Micros,
    ) -> Result<LoginOutcome, IdentityError> {
        let Ok(login) = Login::parse(login) else {
            crate::password::verify_dummy(password);
            return Err(IdentityError::LoginFailed);
        };
        let key = format!("agent:{}", login.as_str());
        if self.store.locked_until(&key, now).await?.is_some() {
            // A refusal takes the time of a password check whatever its reason: a locked login
            // must not answer faster than a wrong password.
            crate::password::verify_dummy(password);
            self.fail(&key, &login, None, "locked", now).await?;
            return Err(IdentityError::LoginFailed);
        }
        let credentials = self.store.agent_credentials(&login).await?;
        let agent = match credentials {
            Some(c) if c.agent.source == Source::Local => {
                let ok = crate::password::verify_or_dummy(password, c.password_hash.as_deref());
                if !ok {
                    return self.fail(&key, &login, None, "wrong_password", now).await;
                }
                if !c.agent.active {
                    return self.fail(&key, &login, None, "disabled", now).await;
                }
                if let Some(secret) = &c.totp_secret {
                    let Some(code) = totp_code else {
                        return Ok(LoginOutcome::SecondFactorRequired);
                    };
                    if !self
                        .check_totp(&c.agent, secret, code, c.totp_last_step, now)
                        .await?
                    {
                        return self
                            .fail(&key, &login, Some(c.agent.id), "wrong_second_factor", now)
                            .await;
                    }
                }
                c.agent
            }
            Some(c) => {
                // An LDAP account: the directory checks the password.
                match self
                    .ldap_login(&login, password, Some(c.agent.clone()), now)
                    .await?
                {
                    Some(agent) if agent.active => agent,
                    Some(_) => {
                        return self
                            .fail(&key, &login, Some(c.agent.id), "disabled", now)
                            .await;
                    }
                    None => {
                        return self
                            .fail(&key, &login, Some(c.agent.id), "wrong_password", now)
                            .await;
                    }
                }
            }
            None => match self.ldap_login(&login, password, None, now).await? {
                Some(agent) => agent,
                None => {
                    // Spend the time a password check takes, so timing does not reveal the login.
                    crate::password::verify_dummy(password);
                    return self.fail(&key, &login, None, "unknown_user", now).await;
                }
            },
        };
        let details = serde_json::json!({ "kind": "agent", "source": agent.source });
        let principal = (PrincipalKind::Agent, agent.id.to_string());
        let grant = self
            .succeed(&key, &login, None, principal, details, now)
            .await?;
        Ok(LoginOutcome::LoggedIn(grant))
    }

    /// Logs a customer of `tenant_id` in with a local password.
    pub async fn login_customer(
        &self,
        tenant_id: TenantId,
        login: &str,
        password: &str,
        now: Micros,
    ) -> Result<LoginGrant, IdentityError> {
        let Ok(login) = Login::parse(login) else {
            crate::password::verify_dummy(password);
            return Err(IdentityError::LoginFailed);
        };
        let key = format!("customer:{tenant_id}:{}", login.as_str());
        if self.store.locked_until(&key, now).await?.is_some() {
            crate::password::verify_dummy(password);
            self.fail::<()>(&key, &login, None, "locked", now)
                .await
                .ok();
            return Err(IdentityError::LoginFailed);
        }
        let creds = self.store.customer_credentials(tenant_id, &login).await?;
        let customer = match creds {
            // A customer the directory made: the directory checks the password.
            Some(c) if c.customer.source == Source::Ldap => {
                match self
                    .customer_ldap_login(tenant_id, &login, password, Some(c.customer))
                    .await?
                {
                    Some(customer) if customer.active => customer,
                    _ => {
                        return self
                            .fail(&key, &login, None, "wrong_password_or_disabled", now)
                            .await;
                    }
                }
            }
            Some(c) => {
                // The password is checked first: a deactivated customer is refused no faster.
                let ok = crate::password::verify_or_dummy(password, c.password_hash.as_deref());
                if !(ok && c.customer.active) {
                    return self
                        .fail(&key, &login, None, "wrong_password_or_disabled", now)
                        .await;
                }
                c.customer
            }
            None => match self
                .customer_ldap_login(tenant_id, &login, password, None)
                .await?
            {
                Some(customer) => customer,
                None => {
                    crate::password::verify_dummy(password);
                    return self.fail(&key, &login, None, "unknown_user", now).await;
                }
            },
        };
        let details = serde_json::json!({ "kind": "customer" });
        let principal = (PrincipalKind::Customer, customer.id.to_string());
        self.succeed(&key, &login, Some(tenant_id), principal, details, now)
            .await
    }

    /// Clears the failures counted against `key`, opens a session for the principal and logs
    /// the login.
    async fn succeed(
        &self,
        key: &str,
        login: &Login,
        tenant_id: Option<TenantId>,
        (kind, id): (PrincipalKind, String),
        details: serde_json::Value,
        now: Micros,
    ) -> Result<LoginGrant, IdentityError> {
        self.store.clear_login_failures(key).await?;
        let grant = self.open_session(kind, &id, now).await?;
        self.audit(
            tenant_id,
            login.as_str(),
            "login",
            Some(id),
            "ok",
            details,
            now,
        )
        .await?;
        Ok(grant)
    }

    /// Counts a failure, logs it (and a lockout), and answers the one non-revealing error.
    async fn fail<T>(
        &self,
        key: &str,
        login: &Login,
        agent: Option<AgentId>,
        reason: &str,
        now: Micros,
    ) -> Result<T, IdentityError> {
        let locked = if reason == "locked" {
            None
        } else {
            self.store.record_login_failure(key, now).await?
        };
        tracing::warn!(login = %login.as_str(), reason, "login failed");
        self.audit(
            None,
            login.as_str(),
            "login_failed",
            agent.map(|a| a.to_string()),
            "denied",
            serde_json::json!({ "reason": reason }),
            now,
        )
        .await?;
        if let Some(until) = locked {
            tracing::warn!(login = %login.as_str(), until, "login locked after repeated failures");
            self.audit(
                None,
                login.as_str(),
                "lockout",
                agent.map(|a| a.to_string()),
                "denied",
                serde_json::json!({ "until": until }),
                now,
            )
            .await?;
        }
        Err(IdentityError::LoginFailed)
    }

    async fn check_totp(
        &self,
        agent: &Agent,
        secret: &str,
        code: &str,
        last: Option<u64>,
        now: Micros,
    ) -> Result<bool, IdentityError> {
        let Some(secret) = crate::totp::TotpSecret::from_base32(secret) else {
            return Err(IdentityError::Corrupt(format!(
                "the TOTP secret of agent {} is not valid",
                agent.id
            )));
        };
        let secs = u64::try_from(now / MICROS).unwrap_or(0);
        match secret.verify(code, secs, last) {
            Some(step) => self.store.use_totp_step(agent.id, step).await,
            None => Ok(false),
        }
    }

    /// Checks the password against the directory; creates or updates the agent on success.
    /// `Ok(None)`: the directory says no (or there is no directory).
    async fn ldap_login(
        &self,
        login: &Login,
        password: &str,
        known: Option<Agent>,
        _now: Micros,
    ) -> Result<Option<Agent>, IdentityError> {
        let Some(ldap) = &self.ldap else {
            return Ok(None);
        };
        let user = match ldap.authenticate(login.as_str(), password).await {
            Ok(user) => user,
            Err(LdapError::InvalidCredentials | LdapError::Ambiguous) => return Ok(None),
            Err(LdapError::Unavailable(e)) => return Err(IdentityError::Directory(e)),
        };
        let actor = "ldap";
        // The directory's uid is the account's login, whether the user typed it or their mail:
        // logging in either way reaches the same account.
        let canonical = Login::parse(&user.login).unwrap_or_else(|_| login.clone());
        let known = match known {
            Some(agent) => Some(agent),
            None if canonical != *login => {
                match self.store.agent_credentials(&canonical).await? {
                    Some(c) if c.agent.source == Source::Ldap => Some(c.agent),
                    // A local account owns that login: the directory does not take it over.
                    Some(_) => return Ok(None),
                    None => None,
                }
            }
            None => None,
        };
        let agent = match known {
            Some(agent) => agent,
            None => {
                let new = NewAgent {
                    login: canonical.clone(),
                    name: if user.name.trim().is_empty() {
                        canonical.as_str().to_owned()
                    } else {
                        user.name.clone()
                    },
                    email: user.email.clone(),
                    password: None,
                };
                self.store.create_agent(new, Source::Ldap, actor).await?
            }
        };
        if let Some(slug) = &self.settings.ldap_tenant {
            self.apply_ldap_roles(&agent, slug, &user.groups).await?;
        }
        Ok(Some(agent))
    }

    /// Checks a customer's password against the customer directory, for the tenant it serves;
    /// creates the customer user on the first login. `Ok(None)`: the directory says no, or
    /// there is none for this tenant.
    async fn customer_ldap_login(
        &self,
        tenant_id: TenantId,
        login: &Login,
        password: &str,
        known: Option<Customer>,
    ) -> Result<Option<Customer>, IdentityError> {
        let (Some(ldap), Some(slug)) = (&self.customer_ldap, &self.settings.customer_ldap_tenant)
        else {
            return Ok(None);
        };
        let serves = self
            .store
            .list_tenants()
            .await?
            .into_iter()
            .any(|t| t.id == tenant_id && t.slug == *slug);
        if !serves {
            return Ok(None);
        }
        let user = match ldap.authenticate(login.as_str(), password).await {
            Ok(user) => user,
            Err(LdapError::InvalidCredentials | LdapError::Ambiguous) => return Ok(None),
            Err(LdapError::Unavailable(e)) => return Err(IdentityError::Directory(e)),
        };
        if let Some(customer) = known {
            return Ok(Some(customer));
        }
        // The directory's uid is the login, whether the customer typed it or their mail.
        let canonical = Login::parse(&user.login).unwrap_or_else(|_| login.clone());
        if canonical != *login {
            match self
                .store
                .customer_credentials(tenant_id, &canonical)
                .await?
            {
                Some(c) if c.customer.source == Source::Ldap => return Ok(Some(c.customer)),
                // A local customer owns that login: the directory does not take it over.
                Some(_) => return Ok(None),
                None => {}
            }
        }
        let new = NewCustomer {
            tenant_id,
            login: canonical.clone(),
            name: if user.name.trim().is_empty() {
                canonical.as_str().to_owned()
            } else {
                user.name.clone()
            },
            email: user.email.clone(),
            phone: None,
            company_id: None,
            company_tickets: false,
            password: None,
            language: None,
        };
        Ok(Some(
            self.store
                .create_customer(new, Source::Ldap, "ldap")
                .await?,
        ))
    }

    /// Makes the agent a member of the LDAP tenant with the roles its directory groups map to.
    async fn apply_ldap_roles(
        &self,
        agent: &Agent,
        tenant_slug: &str,
        groups: &[String],
    ) -> Result<(), IdentityError> {
        let Some(tenant) = self
            .store
            .list_tenants()
            .await?
            .into_iter()
            .find(|t| t.slug == tenant_slug)
        else {
            return Err(IdentityError::Corrupt(format!(
                "identity.ldap_tenant `{tenant_slug}` does not exist"
            )));
        };
        self.store
            .add_agent_to_tenant(agent.id, tenant.id, "ldap")
            .await?;
        let wanted = crate::ldap::map_groups(groups, &self.settings.ldap_role_mapping);
        let roles = self.store.list_roles(tenant.id).await?;
        for role in &roles {
            let mapped = self
                .settings
                .ldap_role_mapping
                .values()
                .any(|r| r == &role.name);
            if !mapped {
                continue; // roles the directory does not manage are left alone
            }
            if wanted.iter().any(|w| w == &role.name) {
                self.store.assign_role(agent.id, role.id, "ldap").await?;
            } else {
                self.store.revoke_role(agent.id, role.id, "ldap").await?;
            }
        }
        Ok(())
    }

    async fn open_session(
        &self,
        kind: PrincipalKind,
        principal_id: &str,
        now: Micros,
    ) -> Result<LoginGrant, IdentityError> {
        let secret = OpaqueSecret::generate(SESSION_PREFIX);
        let session = Session {
            id: secret.id.clone(),
            kind,
            principal_id: principal_id.to_owned(),
            secret_hash: secret.hash(),
            created_at: now,
            expires_at: now + self.settings.session_secs * MICROS,
            revoked_at: None,
        };
        self.store.create_session(&session).await?;
        let (access_token, expires_at) = self.access_token(&session, now).await?;
        Ok(LoginGrant {
            session: secret,
            access_token,
            expires_at,
        })
    }

    /// A fresh access token for the holder of a session secret.
    pub async fn refresh(
        &self,
        session_secret: &str,
        now: Micros,
    ) -> Result<(String, Micros), IdentityError> {
        let secret = OpaqueSecret::parse(SESSION_PREFIX, session_secret)
            .ok_or(IdentityError::Unauthenticated)?;
        let session = self.store.get_session(&secret.id).await?;
        let session = opened(&secret, session, now, |s| {
            (&s.secret_hash, s.revoked_at, s.expires_at)
        })?;
        self.access_token(&session, now).await
    }

    /// Ends a session; its secret no longer yields access tokens.
    pub async fn logout(&self, session_secret: &str, now: Micros) -> Result<(), IdentityError> {
        let secret = OpaqueSecret::parse(SESSION_PREFIX, session_secret)
            .ok_or(IdentityError::Unauthenticated)?;
        match self.store.get_session(&secret.id).await? {
            Some(s) if secret.matches(&s.secret_hash) => {
                self.store.revoke_session(&s.id, now).await
            }
            _ => Err(IdentityError::Unauthenticated),
        }
    }

    /// Ends every session of a principal: after its password, activation or roles changed, it
    /// logs in again. Their access tokens are refused as soon as the services have polled the
    /// revoked list ([`Authority::revoked_sessions`]).
    pub async fn end_sessions(
        &self,
        kind: PrincipalKind,
        principal_id: &str,
        now: Micros,
    ) -> Result<(), IdentityError> {
        let ended = self.store.end_sessions(kind, principal_id, now).await?;
        tracing::info!(principal = principal_id, ended, "sessions ended");
        Ok(())
    }

    /// The sessions revoked recently enough that access tokens they issued may not have
    /// expired yet: an access token's lifetime, and a minute for clocks and polling.
    pub async fn revoked_sessions(&self, now: Micros) -> Result<Vec<String>, IdentityError> {
        let since = now - (self.settings.access_token_secs + 60) * MICROS;
        self.store.revoked_sessions(since).await
    }

    /// Refuses verified claims whose session was revoked (the identity service's own check,
    /// immediate; the other services learn it by polling).
    pub async fn check_session(&self, claims: &Claims) -> Result<(), IdentityError> {
        let Some(sid) = claims.sid.as_deref() else {
            return Ok(());
        };
        match self.store.get_session(sid).await? {
            Some(s) if s.revoked_at.is_some() => Err(IdentityError::Unauthenticated),
            _ => Ok(()),
        }
    }

    /// Issues a personal API token for an agent; the secret is shown once.
    pub async fn issue_api_token(
        &self,
        agent_id: AgentId,
        name: &str,
        scopes: Vec<String>,
        valid_days: i64,
        actor: &str,
        now: Micros,
    ) -> Result<(ApiToken, OpaqueSecret), IdentityError> {
        if !(1..=366).contains(&valid_days) {
            return Err(IdentityError::invalid(
                "an API token is valid for 1 to 366 days",
            ));
        }
        if scopes.is_empty()
            || scopes
                .iter()
                .any(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(IdentityError::invalid(
                "an API token needs one or more scopes without spaces",
            ));
        }
        let secret = OpaqueSecret::generate(API_TOKEN_PREFIX);
        let token = ApiToken {
            id: secret.id.clone(),
            agent_id,
            name: crate::domain::name("token name", name, 100)?,
            secret_hash: secret.hash(),
            scopes,
            created_at: now,
            expires_at: now + valid_days * 24 * 3600 * MICROS,
            revoked_at: None,
        };
        self.store.create_api_token(&token, actor).await?;
        Ok((token, secret))
    }

    /// An access token for the holder of an API token, limited to its scopes.
    pub async fn exchange_api_token(
        &self,
        presented: &str,
        now: Micros,
    ) -> Result<(String, Micros), IdentityError> {
        let secret = OpaqueSecret::parse(API_TOKEN_PREFIX, presented)
            .ok_or(IdentityError::Unauthenticated)?;
        let token = self.store.get_api_token(&secret.id).await?;
        let token = opened(&secret, token, now, |t| {
            (&t.secret_hash, t.revoked_at, t.expires_at)
        })?;
        let agent = self.store.get_agent(token.agent_id).await?;
        if !agent.active {
            return Err(IdentityError::Unauthenticated);
        }
        let mut claims = self
            .agent_claims(&agent, Some(token.id.clone()), now)
            .await?;
        claims.scopes = Some(token.scopes.clone());
        self.sign(claims, now).await
    }

    async fn access_token(
        &self,
        session: &Session,
        now: Micros,
    ) -> Result<(String, Micros), IdentityError> {
        let claims = match session.kind {
            PrincipalKind::Agent => {
                let agent = self.store.get_agent(session.principal_id.parse()?).await?;
                if !agent.active {
                    return Err(IdentityError::Unauthenticated);
                }
                self.agent_claims(&agent, Some(session.id.clone()), now)
                    .await?
            }
            PrincipalKind::Customer => {
                let customer = self
                    .store
                    .get_customer(session.principal_id.parse()?)
                    .await?;
                if !customer.active {
                    return Err(IdentityError::Unauthenticated);
                }
                let mut claims = self.base_claims(
                    customer.id.to_string(),
                    customer.login.as_str(),
                    Kind::Customer,
                    Some(session.id.clone()),
                    now,
                );
                claims.customer = Some(CustomerGrant {
                    tenant_id: customer.tenant_id.to_string(),
                    company_id: customer.company_id.map(|c| c.to_string()),
                    company_tickets: customer.company_tickets,
                });
                claims
            }
        };
        self.sign(claims, now).await
    }

    async fn agent_claims(
        &self,
        agent: &Agent,
        sid: Option<String>,
        now: Micros,
    ) -> Result<Claims, IdentityError> {
        let mut claims = self.base_claims(
            agent.id.to_string(),
            agent.login.as_str(),
            Kind::Agent,
            sid,
            now,
        );
        let mut grants = self.store.agent_grants(agent.id, now).await?;
        grants.installation_admin = agent.installation_admin;
        claims.agent = Some(grants);
        Ok(claims)
    }

    fn base_claims(
        &self,
        sub: String,
        login: &str,
        kind: Kind,
        sid: Option<String>,
        now: Micros,
    ) -> Claims {
        let iat = now / MICROS;
        Claims {
            iss: ISSUER.to_owned(),
            aud: ISSUER.to_owned(),
            sub,
            exp: iat + self.settings.access_token_secs,
            iat,
            jti: uuid_like(),
            sid,
            kind,
            login: login.to_owned(),
            agent: None,
            customer: None,
            scopes: None,
        }
    }

    async fn sign(&self, claims: Claims, now: Micros) -> Result<(String, Micros), IdentityError> {
        let key = self.signing_key(now).await?;
        let expires_at = claims.exp * MICROS;
        Ok((key.sign(&claims)?, expires_at))
    }

    /// The newest signing key, rotating when it is older than the rotation period.
    async fn signing_key(&self, now: Micros) -> Result<Arc<KeyPair>, IdentityError> {
        let rotation = self.settings.key_rotation_days * 24 * 3600 * MICROS;
        if let Some((keys, newest_at)) = &*self.keys.read().await
            && now - newest_at < rotation
            && let Some(k) = keys.first()
        {
            return Ok(k.clone());
        }
        let mut cache = self.keys.write().await;
        let mut stored = self.store.signing_keys(now).await?;
        let fresh = stored
            .first()
            .is_some_and(|(_, _, created)| now - created < rotation);
        if !fresh {
            let key = KeyPair::generate();
            let der = base64::engine::general_purpose::STANDARD.encode(key.to_pkcs8()?);
            // It signs for one rotation period and verifies until the last token it signed expired.
            let retire_at = now + rotation + (self.settings.access_token_secs + 60) * MICROS;
            self.store
                .add_signing_key(&key.kid, &der, now, retire_at)
                .await?;
            tracing::info!(kid = %key.kid, "new token signing key");
            stored = self.store.signing_keys(now).await?;
        }
        let keys = stored
            .iter()
            .map(|(kid, der, _)| {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(der)
                    .map_err(|e| IdentityError::Corrupt(format!("signing key {kid}: {e}")))?;
                Ok(Arc::new(KeyPair::from_pkcs8(kid, &der)?))
            })
            .collect::<Result<Vec<_>, IdentityError>>()?;
        let newest_at = stored.first().map(|(_, _, c)| *c).unwrap_or(now);
        let first = keys
            .first()
            .cloned()
            .ok_or_else(|| IdentityError::Corrupt("no signing key".into()))?;
        *cache = Some((keys, newest_at));
        Ok(first)
    }

    /// An access token for another service of the suite (`kind: service`), for the secret the
    /// installation shares with it. A wrong secret and a missing configuration fail alike.
    pub async fn issue_service_token(
        &self,
        service: &str,
        secret: &str,
        now: Micros,
    ) -> Result<(String, Micros), IdentityError> {
        let service = service.trim();
        if service.is_empty()
            || service.len() > 40
            || !service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(IdentityError::invalid(
                "service must be a short name of lowercase letters, digits and dashes",
            ));
        }
        let expected = self
            .settings
            .service_secret
            .as_ref()
            .map(|s| s.expose())
            .filter(|s| !s.is_empty());
        match expected {
            Some(expected) if crate::totp::constant_time_eq(expected, secret) => {}
            _ => {
                tracing::warn!(service, "service token refused");
                return Err(IdentityError::Unauthenticated);
            }
        }
        let claims = self.base_claims(
            format!("service:{service}"),
            service,
            Kind::Service,
            None,
            now,
        );
        self.sign(claims, now).await
    }

    /// Active agents of `tenant_id` with a mail address: those in `agent_ids`, and (with
    /// `group`) those who may read the group's queues. For the suite's services only.
    pub async fn agent_contacts(
        &self,
        token: &str,
        tenant_id: TenantId,
        group: Option<GroupId>,
        agent_ids: &[AgentId],
        now: Micros,
    ) -> Result<Vec<Agent>, IdentityError> {
        let claims = self.verifier(now).await?.verify(token)?;
        self.check_session(&claims).await?;
        let service = claims.kind == Kind::Service;
        let colleague = claims.kind == Kind::Agent
            && (claims.tenant(&tenant_id.to_string()).is_some() || claims.is_installation_admin());
        if !service && !colleague {
            return Err(IdentityError::PermissionDenied(
                "agent contacts are for the suite's services and the tenant's agents".into(),
            ));
        }
        // The desk picks owners from every active agent of the tenant; mail needs an address.
        let everyone = colleague && group.is_none() && agent_ids.is_empty();
        let mut found = Vec::new();
        for agent in self.store.list_agents(tenant_id).await? {
            if !agent.active || (service && agent.email.as_deref().is_none_or(str::is_empty)) {
                continue;
            }
            let named = everyone || agent_ids.contains(&agent.id);
            let reads = match group {
                Some(group) => self
                    .store
                    .agent_grants(agent.id, now)
                    .await?
                    .tenants
                    .get(&tenant_id.to_string())
                    .and_then(|t| t.groups.get(&group.to_string()))
                    .is_some_and(|set| set.allows(docket_auth::Permission::Ro)),
                None => false,
            };
            if named || reads {
                found.push(agent);
            }
        }
        Ok(found)
    }

    /// The public keys that verify current access tokens.
    pub async fn jwks(&self, now: Micros) -> Result<JwkSet, IdentityError> {
        self.signing_key(now).await?;
        let stored = self.store.signing_keys(now).await?;
        let mut keys = Vec::with_capacity(stored.len());
        for (kid, der, _) in stored {
            let der = base64::engine::general_purpose::STANDARD
                .decode(&der)
                .map_err(|e| IdentityError::Corrupt(format!("signing key {kid}: {e}")))?;
            keys.push(KeyPair::from_pkcs8(&kid, &der)?.jwk());
        }
        Ok(JwkSet { keys })
    }

    /// A verifier for the current keys (for the identity service's own checks).
    pub async fn verifier(&self, now: Micros) -> Result<Verifier, IdentityError> {
        Ok(Verifier::from_jwks(&self.jwks(now).await?))
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tenant_id: Option<TenantId>,
        actor: &str,
        action: &str,
        target: Option<String>,
        outcome: &str,
        details: serde_json::Value,
        now: Micros,
    ) -> Result<(), IdentityError> {
        self.store
            .audit(AuditEntry {
                occurred_at: now,
                tenant_id,
                actor: actor.to_owned(),
                action: action.to_owned(),
                target,
                outcome: outcome.to_owned(),
                details,
            })
            .await
    }
}

fn uuid_like() -> String {
    AbsenceId::new().to_string()
}

/// The stored session or API token that a presented `secret` opens: one exists, its hash
/// matches, and it is neither revoked nor expired at `now`. Anything else is the one
/// UNAUTHENTICATED answer. `state` says where a `T` keeps its hash, revocation and expiry.
fn opened<T>(
    secret: &OpaqueSecret,
    stored: Option<T>,
    now: Micros,
    state: fn(&T) -> (&String, Option<Micros>, Micros),
) -> Result<T, IdentityError> {
    let opens = |s: &T| {
        let (secret_hash, revoked_at, expires_at) = state(s);
        secret.matches(secret_hash) && revoked_at.is_none() && expires_at > now
    };
    stored.filter(opens).ok_or(IdentityError::Unauthenticated)
}

#[cfg(test)]
#[path = "authority_tests.rs"]
mod tests;
