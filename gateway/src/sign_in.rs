//! Failed sign-ins per client address. The identity service locks a login after repeated
//! failures; this limits one address trying many logins (or one login's lock being probed):
//! after `sign_in_failures` failed sign-ins from an address within `sign_in_window_secs`, every
//! sign-in from it (REST and the login forms, whatever the login) is answered `429` with
//! `Retry-After` until the window that began with its first failure is over.
//!
//! Counted per gateway replica, in memory: behind a load balancer spreading one address over
//! `n` replicas an address gets up to `n` times the limit. The client address is the peer of
//! the connection, or, when that peer is one of `trusted_proxies`, the right-most address of
//! `X-Forwarded-For` that is not a trusted proxy itself.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::AppState;

/// Above this many tracked addresses, those whose window is over are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// How sign-ins are limited per client address (part of `[gateway]`).
#[derive(Debug, Clone)]
pub struct SignInLimitSettings {
    pub failures: u32,
    pub window: Duration,
    pub trusted_proxies: Vec<IpAddr>,
}

/// The failed sign-ins counted per client address in this replica.
pub struct SignInLimit {
    settings: SignInLimitSettings,
    /// Per address: when its window began (its first failure) and the failures since.
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl SignInLimit {
    pub fn new(settings: SignInLimitSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry after)` when `client` has used up its failures in the current window.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(&client) {
            Some(&(since, count)) if count >= self.settings.failures => {
                let ends = since + self.settings.window;
                if ends > now { Err(ends - now) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `client`.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let window = self.settings.window;
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, (since, _)| *since + window > now);
        }
        let entry = failures.entry(client).or_insert((now, 0));
        if entry.0 + window <= now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 == self.settings.failures {
            tracing::warn!(%client, "sign-ins from this address refused for the rest of the window");
        }
    }

    /// The address a request comes from: the connection's peer, or what a trusted proxy says.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let trusted = |ip: &IpAddr| self.settings.trusted_proxies.contains(ip);
        if !trusted(&peer) {
            return peer;
        }
        // Each proxy appends the address it was called from: read from the right, past the
        // trusted ones. A malformed entry ends the search (nothing before it can be trusted).
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for entry in forwarded.iter().rev() {
            match entry.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusted(&ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

/// The 429 answer, with the seconds to wait.
pub fn too_many(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut response = crate::error::problem_response(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
        format!("too many failed sign-ins from this address: try again in {secs} s"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// The client address of a sign-in request (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct SignInClient(pub IpAddr);

impl FromRequestParts<AppState> for SignInClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Self(state.sign_in_limit.client(peer, &parts.headers)))
    }
}

impl SignInClient {
    /// The 429 answer when the address may not sign in now.
    pub fn refusal(self, state: &AppState) -> Option<Response> {
        state
            .sign_in_limit
            .admit(self.0, Instant::now())
            .err()
            .map(too_many)
    }

    /// Counts a failed sign-in.
    pub fn failed(self, state: &AppState) {
        state.sign_in_limit.failed(self.0, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(trusted: &[&str]) -> SignInLimit {
        SignInLimit::new(SignInLimitSettings {
            failures: 3,
            window: Duration::from_secs(60),
            trusted_proxies: trusted.iter().map(|a| a.parse().unwrap()).collect(),
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_ends() {
        let l = limit(&[]);
        let t = Instant::now();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for i in 0..3 {
            assert_eq!(l.admit(a, t + Duration::from_secs(i)), Ok(()));
            l.failed(a, t + Duration::from_secs(i));
        }
        // The window began with the first failure.
        assert_eq!(
            l.admit(a, t + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        assert_eq!(
            l.admit(b, t + Duration::from_secs(10)),
            Ok(()),
            "per address"
        );
        assert_eq!(l.admit(a, t + Duration::from_secs(60)), Ok(()));
        // A new window starts from scratch.
        l.failed(a, t + Duration::from_secs(61));
        assert_eq!(l.admit(a, t + Duration::from_secs(62)), Ok(()));
    }

    #[test]
    fn failures_spread_over_windows_do_not_add_up() {
        let l = limit(&[]);
        let t = Instant::now();
        let a = ip("2001:db8::1");
        for i in 0..6 {
            l.failed(a, t + Duration::from_secs(40 * i));
            assert_eq!(
                l.admit(a, t + Duration::from_secs(40 * i + 1)),
                Ok(()),
                "{i}"
            );
        }
    }

    #[test]
    fn the_refusal_says_when_to_come_back() {
        let r = too_many(Duration::from_millis(1500));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        let untrusting = limit(&[]);
        assert_eq!(
            untrusting.client(Some(ip("198.51.100.7")), &h),
            ip("198.51.100.7"),
            "a client cannot name itself"
        );
        let behind = limit(&["10.0.0.1", "10.0.0.2"]);
        assert_eq!(behind.client(Some(ip("10.0.0.1")), &h), ip("203.0.113.9"));
        // A client's own X-Forwarded-For entries, left of the proxies', are not believed.
        let mut spoofed = HeaderMap::new();
        spoofed.insert(
            "x-forwarded-for",
            "1.2.3.4, 203.0.113.9, 10.0.0.2".parse().unwrap(),
        );
        assert_eq!(
            behind.client(Some(ip("10.0.0.1")), &spoofed),
            ip("203.0.113.9")
        );
        // Without the header, or with garbage, the proxy itself is the client.
        assert_eq!(
            behind.client(Some(ip("10.0.0.1")), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        let mut garbage = HeaderMap::new();
        garbage.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(
            behind.client(Some(ip("10.0.0.1")), &garbage),
            ip("10.0.0.1")
        );
    }
}
