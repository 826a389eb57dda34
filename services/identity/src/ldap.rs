//! LDAP / Active Directory authentication: bind as the service account, find the user by login
//! or mail, bind as the user with the password, read name, mail and groups.
//!
//! Every failure a caller may show is [`LdapError::InvalidCredentials`] (wrong password, unknown
//! user, locked or disabled account all look the same) or [`LdapError::Unavailable`] (the
//! directory is down, too slow, or refuses the service account). The real reason is logged,
//! the password never.

use std::collections::BTreeMap;
use std::time::Duration;

use docket_platform::config::Secret;
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, ResultEntry, Scope, SearchEntry, SearchOptions,
    ldap_escape,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://…` or `ldaps://…`.
    pub url: String,
    /// Upgrade a plain `ldap://` connection with STARTTLS.
    pub start_tls: bool,
    /// The service account that searches for users.
    pub bind_dn: String,
    pub bind_password: Secret,
    pub user_base_dn: String,
    /// `{login}` is replaced by the escaped login.
    pub user_filter: String,
    pub login_attribute: String,
    pub name_attribute: String,
    pub email_attribute: String,
    /// Where groups are searched; unset: only `memberOf` of the user (Active Directory).
    pub group_base_dn: Option<String>,
    /// `{dn}` is replaced by the escaped DN of the user.
    pub group_filter: String,
    pub group_name_attribute: String,
    /// Limit of each network step (connecting, each bind, each search), seconds.
    pub timeout_secs: u64,
}

impl Default for LdapConfig {
    fn default() -> Self {
        Self {
            url: "ldap://127.0.0.1:389".into(),
            start_tls: false,
            bind_dn: String::new(),
            bind_password: Secret::default(),
            user_base_dn: String::new(),
            user_filter: "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))".into(),
            login_attribute: "uid".into(),
            name_attribute: "cn".into(),
            email_attribute: "mail".into(),
            group_base_dn: None,
            group_filter: "(&(objectClass=groupOfNames)(member={dn}))".into(),
            group_name_attribute: "cn".into(),
            timeout_secs: 5,
        }
    }
}

impl LdapConfig {
    /// What makes this configuration unusable, if anything.
    fn problem(&self) -> Option<&'static str> {
        if !self.user_filter.contains("{login}") {
            return Some("ldap user_filter has no {login} placeholder");
        }
        if self.group_base_dn.is_some() && !self.group_filter.contains("{dn}") {
            return Some("ldap group_filter has no {dn} placeholder");
        }
        None
    }

    /// Whether passwords would cross the network unencrypted.
    fn sends_passwords_in_clear(&self) -> bool {
        let Some(rest) = self.url.strip_prefix("ldap://") else {
            return false; // ldaps:// (or ldapi://, a local socket)
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        let local =
            host.eq_ignore_ascii_case("localhost") || host.starts_with("127.") || host == "::1";
        !self.start_tls && !local
    }
}

/// A user the directory vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUser {
    pub dn: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    /// Group names (their `cn`).
    pub groups: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LdapError {
    /// Wrong password, unknown user, locked or disabled account: one answer for all.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The login matched more than one entry; shown like [`LdapError::InvalidCredentials`].
    #[error("invalid credentials")]
    Ambiguous,
    /// The directory is unreachable, too slow, misconfigured or refused the service account.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

/// LDAP result codes (RFC 4511, appendix A).
mod rc {
    pub const SUCCESS: u32 = 0;
    pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
    /// 389 Directory Server and some ppolicy setups: account locked.
    pub const CONSTRAINT_VIOLATION: u32 = 19;
    /// Wrong password; OpenLDAP ppolicy and Active Directory: also locked, disabled, expired.
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const INSUFFICIENT_ACCESS_RIGHTS: u32 = 50;
    /// Some directories: account inactivated.
    pub const UNWILLING_TO_PERFORM: u32 = 53;
}

/// Longer logins are refused without asking the directory.
const MAX_LOGIN_LEN: usize = 256;
/// Network steps of one login: two connects, two binds, two searches, two unbinds.
const STEPS: u32 = 8;

pub struct LdapAuthenticator {
    config: LdapConfig,
}

impl LdapAuthenticator {
    pub fn new(config: LdapConfig) -> Self {
        if config.sends_passwords_in_clear() {
            tracing::warn!(
                url = %config.url,
                "the LDAP directory is reached without TLS: passwords cross the network in clear \
                 (use ldaps:// or start_tls = true)"
            );
        }
        if let Some(problem) = config.problem() {
            tracing::error!("{problem}: every LDAP login will fail");
        }
        Self { config }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs.max(1))
    }

    /// Checks `password` for `login` (a uid or mail). Never succeeds on an empty password: that
    /// would be an unauthenticated bind, which some directories accept.
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<LdapUser, LdapError> {
        let login = login.trim();
        if password.is_empty() || login.is_empty() || login.len() > MAX_LOGIN_LEN {
            tracing::info!(
                ?login,
                "ldap login refused without asking: empty or oversized"
            );
            return Err(LdapError::InvalidCredentials);
        }
        if let Some(problem) = self.config.problem() {
            tracing::error!(?login, "ldap login impossible: {problem}");
            return Err(LdapError::Unavailable(problem.into()));
        }
        // Each step has its own limit; this bounds the whole, dropping (and so closing) any
        // connection still open when it strikes.
        let overall = self.timeout() * STEPS;
        let result = tokio::time::timeout(overall, self.authenticate_inner(login, password))
            .await
            .unwrap_or_else(|_| {
                Err(LdapError::Unavailable(format!(
                    "no answer within {}s",
                    overall.as_secs()
                )))
            });
        match &result {
            Ok(user) => {
                tracing::info!(?login, dn = %user.dn, groups = user.groups.len(), "ldap login")
            }
            Err(LdapError::InvalidCredentials) => {
                tracing::info!(?login, "ldap login refused: invalid credentials")
            }
            Err(LdapError::Ambiguous) => {
                tracing::warn!(
                    ?login,
                    "ldap login refused: the login matches several entries"
                )
            }
            Err(LdapError::Unavailable(e)) => {
                tracing::warn!(?login, error = %e, "ldap login failed: directory unavailable")
            }
        }
        result
    }

    async fn authenticate_inner(&self, login: &str, password: &str) -> Result<LdapUser, LdapError> {
        self.with_connection(async |service: &mut Ldap| {
            self.bind_service(service).await?;
            let entry = self.find_user(service, login).await?;
            self.check_password(&entry.dn, password).await?;
            let groups = self.groups_of(service, &entry).await?;
            Ok(self.user_from(entry, groups, login))
        })
        .await
    }

    /// Runs `work` on a fresh connection and unbinds (closing it) whatever the outcome.
    async fn with_connection<T>(
        &self,
        work: impl AsyncFnOnce(&mut Ldap) -> Result<T, LdapError>,
    ) -> Result<T, LdapError> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout()) // covers TCP, and the TLS or STARTTLS handshake
            .set_starttls(self.config.start_tls);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(|e| unavailable("connecting", e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "ldap connection ended");
            }
        });
        let result = work(&mut ldap).await;
        if let Err(e) = ldap.with_timeout(self.timeout()).unbind().await {
            tracing::debug!(error = %e, "ldap unbind failed");
        }
        result
    }

    async fn bind_service(&self, service: &mut Ldap) -> Result<(), LdapError> {
        service
            .with_timeout(self.timeout())
            .simple_bind(&self.config.bind_dn, self.config.bind_password.expose())
            .await
            .and_then(|r| r.success())
            .map(drop)
            .map_err(|e| unavailable("binding as the service account", e))
    }

    /// The one entry `login` names; none is [`LdapError::InvalidCredentials`], several are
    /// [`LdapError::Ambiguous`].
    async fn find_user(&self, service: &mut Ldap, login: &str) -> Result<SearchEntry, LdapError> {
        let filter = self
            .config
            .user_filter
            .replace("{login}", &ldap_escape(login));
        let c = &self.config;
        let attrs = vec![
            c.login_attribute.as_str(),
            c.name_attribute.as_str(),
            c.email_attribute.as_str(),
            "memberOf",
        ];
        // Two are enough to know the login is ambiguous.
        let options = SearchOptions::new()
            .sizelimit(2)
            .timelimit(i32::try_from(c.timeout_secs).unwrap_or(i32::MAX));
        let result = service
            .with_search_options(options)
            .with_timeout(self.timeout())
            .search(&c.user_base_dn, Scope::Subtree, &filter, attrs)
            .await
            .map_err(|e| unavailable("searching the user", e))?;
        let (found, done) = (result.0, result.1);
        match done.rc {
            rc::SUCCESS => {}
            rc::SIZE_LIMIT_EXCEEDED => return Err(LdapError::Ambiguous),
            _ => {
                return Err(unavailable("searching the user", done));
            }
        }
        let mut entries = entries(found);
        match (entries.next(), entries.next()) {
            (None, _) => Err(LdapError::InvalidCredentials),
            (Some(_), Some(_)) => Err(LdapError::Ambiguous),
            (Some(entry), None) if entry.dn.is_empty() => Err(LdapError::InvalidCredentials),
            (Some(entry), None) => Ok(entry),
        }
    }

    /// Binds as the user on a connection of its own: the directory checks the password.
    async fn check_password(&self, dn: &str, password: &str) -> Result<(), LdapError> {
        let result = self
            .with_connection(async |conn: &mut Ldap| {
                conn.with_timeout(self.timeout())
                    .simple_bind(dn, password)
                    .await
                    .map_err(|e| unavailable("binding as the user", e))
            })
            .await?;
        match result.rc {
            rc::SUCCESS => Ok(()),
            rc::INVALID_CREDENTIALS
            | rc::CONSTRAINT_VIOLATION
            | rc::INSUFFICIENT_ACCESS_RIGHTS
            | rc::UNWILLING_TO_PERFORM => {
                // Active Directory says why in the text ("data 52e": wrong password, "775":
                // locked, "533": disabled); the audit wants that, the caller must not see it.
                tracing::info!(dn, rc = result.rc, diagnostic = %result.text, "ldap refused the user's bind");
                Err(LdapError::InvalidCredentials)
            }
            _ => Err(unavailable("binding as the user", result)),
        }
    }

    /// The names of the user's groups: from `memberOf` on the entry (Active Directory, OpenLDAP's
    /// memberof overlay) and from a search under `group_base_dn` when that is set.
    async fn groups_of(
        &self,
        service: &mut Ldap,
        user: &SearchEntry,
    ) -> Result<Vec<String>, LdapError> {
        let mut groups: Vec<String> = values(user, "memberOf")
            .iter()
            .filter_map(|dn| cn_of(dn))
            .collect();
        if let Some(base) = &self.config.group_base_dn {
            let filter = self
                .config
                .group_filter
                .replace("{dn}", &ldap_escape(user.dn.as_str()));
            let name_attr = self.config.group_name_attribute.as_str();
            let (found, _) = service
                .with_timeout(self.timeout())
                .search(base, Scope::Subtree, &filter, vec![name_attr])
                .await
                .and_then(|r| r.success())
                .map_err(|e| unavailable("searching the user's groups", e))?;
            groups.extend(entries(found).filter_map(|g| {
                values(&g, name_attr)
                    .first()
                    .cloned()
                    .or_else(|| cn_of(&g.dn))
            }));
        }
        groups.sort_by_key(|g| g.to_lowercase());
        groups.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        Ok(groups)
    }

    fn user_from(&self, entry: SearchEntry, groups: Vec<String>, login: &str) -> LdapUser {
        let c = &self.config;
        let first = |attr: &str| {
            values(&entry, attr)
                .iter()
                .find(|v| !v.trim().is_empty())
                .cloned()
        };
        LdapUser {
            login: first(&c.login_attribute).unwrap_or_else(|| login.to_owned()),
            name: first(&c.name_attribute).unwrap_or_default(),
            email: first(&c.email_attribute),
            groups,
            dn: entry.dn,
        }
    }
}

fn unavailable(step: &str, cause: impl std::fmt::Display) -> LdapError {
    LdapError::Unavailable(format!("{step}: {cause}"))
}

/// The entries of a search result. ldap3's `search` already leaves out referrals (Active
/// Directory answers searches at a domain's root with references to its other partitions) and
/// intermediate messages; filtered here too, as `SearchEntry::construct` panics on them.
fn entries(found: Vec<ResultEntry>) -> impl Iterator<Item = SearchEntry> {
    found
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(SearchEntry::construct)
}

/// The textual values of `attr`; directories may spell attribute names in any case.
fn values<'a>(entry: &'a SearchEntry, attr: &str) -> &'a [String] {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .map_or(&[], |(_, v)| v.as_slice())
}

/// The `cn` of the first RDN of a DN, unescaped (RFC 4514): `CN=IT\, Staff,OU=Groups,DC=uni`
/// → `IT, Staff`. `None` when the first RDN has no `cn`.
fn cn_of(dn: &str) -> Option<String> {
    let rdn = split_unescaped(dn, b',').next()?;
    split_unescaped(rdn, b'+').find_map(|ava| {
        let (attr, value) = ava.split_once('=')?;
        let attr = attr.trim();
        (attr.eq_ignore_ascii_case("cn") || attr == "2.5.4.3")
            .then(|| unescape_dn_value(value.trim()))
            .flatten()
    })
}

/// `s` split at every `sep` not escaped by a backslash.
fn split_unescaped(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        let mut escaped = false;
        for (i, b) in current.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                _ if b == sep => {
                    rest = current.get(i + 1..);
                    return current.get(..i);
                }
                _ => {}
            }
        }
        rest = None;
        Some(current)
    })
}

/// Undoes RFC 4514 escaping: `\,` `\\` `\+` … and `\2C`-style hex pairs (which may spell UTF-8).
fn unescape_dn_value(value: &str) -> Option<String> {
    if value.starts_with('#') {
        return None; // a BER-encoded value, not text
    }
    let hex_pair = |h: u8, l: u8| {
        let digit = |b: u8| char::from(b).to_digit(16);
        u8::try_from(digit(h)? * 16 + digit(l)?).ok()
    };
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'\\' {
            out.push(first);
            rest = tail;
            continue;
        }
        match tail {
            [h, l, after @ ..] if hex_pair(*h, *l).is_some() => {
                out.extend(hex_pair(*h, *l));
                rest = after;
            }
            [c, after @ ..] => {
                out.push(*c);
                rest = after;
            }
            [] => return None, // a dangling backslash
        }
    }
    String::from_utf8(out).ok()
}

/// Maps directory group names to Docket names (case-insensitive on the directory side);
/// unmapped groups are dropped.
pub fn map_groups(ldap_groups: &[String], mapping: &BTreeMap<String, String>) -> Vec<String> {
    let mut mapped: Vec<String> = ldap_groups
        .iter()
        .filter_map(|g| {
            mapping
                .iter()
                .find(|(from, _)| from.trim().eq_ignore_ascii_case(g.trim()))
                .map(|(_, to)| to.clone())
        })
        .collect();
    mapped.sort();
    mapped.dedup();
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn maps_groups_case_insensitively_and_drops_the_rest() {
        let mapping: BTreeMap<String, String> = [
            ("IT-Helpdesk".to_owned(), "1st level (help desk)".to_owned()),
            ("it-2nd-level".to_owned(), "2nd level".to_owned()),
            ("IT-Staff".to_owned(), "2nd level".to_owned()),
        ]
        .into();
        let got = map_groups(
            &strings(&["it-helpdesk", "students", "IT-2ND-LEVEL", "it-staff"]),
            &mapping,
        );
        assert_eq!(got, ["1st level (help desk)", "2nd level"]);
        assert!(map_groups(&[], &mapping).is_empty());
        assert!(map_groups(&strings(&["students", "it-helpdesk-old"]), &mapping).is_empty());
        assert!(map_groups(&strings(&["it-helpdesk"]), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn cn_of_group_dns() {
        assert_eq!(
            cn_of("CN=IT Staff,OU=Groups,DC=uni,DC=example").as_deref(),
            Some("IT Staff")
        );
        assert_eq!(
            cn_of("cn=it\\2C weekend shift,ou=groups,dc=docket,dc=test").as_deref(),
            Some("it, weekend shift")
        );
        assert_eq!(
            cn_of("CN=Smith\\, John (Admins),OU=x").as_deref(),
            Some("Smith, John (Admins)")
        );
        assert_eq!(
            cn_of("cn=Gr\\C3\\BCn\\5c\\+Blau,dc=x").as_deref(),
            Some("Grün\\+Blau")
        );
        assert_eq!(
            cn_of("ou=Staff+CN=Helpdesk,dc=x").as_deref(),
            Some("Helpdesk")
        );
        assert_eq!(cn_of("2.5.4.3=Oid,dc=x").as_deref(), Some("Oid"));
        assert_eq!(cn_of("ou=x,dc=y"), None, "the cn must be in the first RDN");
        assert_eq!(cn_of("cn=#04024869,dc=x"), None, "BER values are not names");
        assert_eq!(cn_of("cn=dangling\\"), None);
        assert_eq!(cn_of("cn=\\FF\\FE,dc=x"), None, "not UTF-8");
        assert_eq!(cn_of(""), None);
    }

    #[test]
    fn config_defaults_and_typos() {
        let config: LdapConfig = serde_json::from_value(serde_json::json!({
            "url": "ldaps://ldap.uni.example",
            "bind_dn": "cn=svc,dc=uni",
            "bind_password": "pw",
            "user_base_dn": "ou=people,dc=uni",
        }))
        .unwrap();
        assert_eq!(config.login_attribute, "uid");
        assert_eq!(config.timeout_secs, 5);
        assert!(config.user_filter.contains("{login}"));
        assert_eq!(config.group_base_dn, None);
        assert!(!format!("{config:?}").contains("\"pw\""));
        assert!(config.problem().is_none());

        let typo = serde_json::from_value::<LdapConfig>(serde_json::json!({ "bind_pasword": "x" }));
        assert!(typo.is_err());

        let bad = LdapConfig {
            user_filter: "(uid=jdoe)".into(),
            ..LdapConfig::default()
        };
        assert!(bad.problem().is_some());
    }

    #[test]
    fn knows_when_passwords_travel_in_clear() {
        let with = |url: &str, start_tls: bool| LdapConfig {
            url: url.into(),
            start_tls,
            ..LdapConfig::default()
        };
        assert!(with("ldap://ldap.uni.example", false).sends_passwords_in_clear());
        assert!(with("ldap://10.0.0.5:389/", false).sends_passwords_in_clear());
        assert!(!with("ldap://ldap.uni.example", true).sends_passwords_in_clear());
        assert!(!with("ldaps://ldap.uni.example", false).sends_passwords_in_clear());
        assert!(!with("ldap://127.0.0.1:3890", false).sends_passwords_in_clear());
        assert!(!with("ldap://localhost", false).sends_passwords_in_clear());
        assert!(!with("ldap://[::1]:389", false).sends_passwords_in_clear());
    }

    #[tokio::test]
    async fn empty_passwords_never_reach_the_directory() {
        let ldap = LdapAuthenticator::new(LdapConfig {
            url: "ldap://127.0.0.1:1".into(),
            ..LdapConfig::default()
        });
        for (login, password) in [("jdoe", ""), ("", "x"), ("   ", "x")] {
            assert_eq!(
                ldap.authenticate(login, password).await,
                Err(LdapError::InvalidCredentials),
                "{login:?}"
            );
        }
        let long = "a".repeat(MAX_LOGIN_LEN + 1);
        assert_eq!(
            ldap.authenticate(&long, "x").await,
            Err(LdapError::InvalidCredentials)
        );
        // A closed port is unavailable, not a wrong password: the cases above never connected.
        let started = Instant::now();
        assert!(matches!(
            ldap.authenticate("jdoe", "x").await,
            Err(LdapError::Unavailable(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_filter_without_placeholder_is_a_configuration_error() {
        let ldap = LdapAuthenticator::new(LdapConfig {
            url: "ldap://127.0.0.1:1".into(),
            user_filter: "(objectClass=person)".into(),
            ..LdapConfig::default()
        });
        let err = ldap.authenticate("jdoe", "x").await.unwrap_err();
        assert!(
            matches!(&err, LdapError::Unavailable(m) if m.contains("{login}")),
            "{err}"
        );
    }

    #[test]
    fn errors_do_not_tell_unknown_users_from_wrong_passwords() {
        assert_eq!(
            LdapError::InvalidCredentials.to_string(),
            LdapError::Ambiguous.to_string()
        );
        assert_eq!(
            LdapError::InvalidCredentials.to_string(),
            "invalid credentials"
        );
    }
}
