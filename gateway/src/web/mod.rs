//! The web pages people use: the customer portal (`/portal/`) and the agent desk (`/desk/`),
//! rendered on the server from templates the compiler checks (askama).
//!
//! - Every page works without JavaScript. `/assets/docket.js` (ours, small, no inline script)
//!   adds live updates, local times, keyboard shortcuts and the like where it runs.
//! - Nothing but this origin: a strict Content-Security-Policy, no CDN, no external fonts.
//! - Every form that changes something posts `multipart/form-data` with the session's CSRF token
//!   (the `docket_csrf` cookie, double submit); [`Submitted`] refuses a form without it. The
//!   login forms, before a session exists, bind their token to a cookie of their own.
//! - German or English: `?lang=` (kept in a cookie), else the browser's preference.
//! - A customer's session gets no desk page; an agent's session is sent from the portal to the
//!   desk.

pub mod admin;
pub mod desk;
pub mod login;
pub mod portal;
pub mod session;
pub mod texts;

use std::collections::HashMap;

use askama::Template;
use axum::extract::multipart::Multipart;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use docket_proto::ticket::v1 as pb;
use serde::Deserialize;
pub use session::{
    AgentSession, Audience, CustomerSession, DeskForm, DeskPage, Page, PortalForm, PortalPage,
    Posted, Session, session,
};
pub use texts::{DE, EN, Texts};

use crate::AppState;
use crate::auth::{CSRF_COOKIE, cookie};
use crate::error::ApiError;

/// The cookie that binds a login form's CSRF token to the browser (double submit).
const FORM_COOKIE: &str = "docket_form";
const LANG_COOKIE: &str = "docket_lang";

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The page's language: `?lang=`, else the cookie, else the browser's first German or English
/// preference, else German.
pub fn texts(query: &LangQuery, headers: &HeaderMap) -> &'static Texts {
    let pick = |code: &str| match code.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("de") => Some(&DE),
        Some("en") => Some(&EN),
        _ => None,
    };
    query
        .lang
        .as_deref()
        .and_then(pick)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(pick))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').find_map(|part| pick(part.split(';').next()?)))
        })
        .unwrap_or(&DE)
}

/// Remembers an explicit `?lang=` choice on the response.
fn remember_lang(response: &mut Response, query: &LangQuery, t: &Texts) {
    if query.lang.is_none() {
        return;
    }
    let value = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        t.lang
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Renders a page; a template that fails (it should not) is logged and answered 500.
pub fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A time as templates show it: ISO 8601 for `<time datetime>` (the script shows it in the
/// reader's zone), and UTC text for readers without the script.
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn of(us: i64) -> Self {
        let at = crate::rest::time(us);
        Self {
            iso: at.to_rfc3339(),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

/// Something the pages name and offer in a select: queues, catalogue entries, groups, roles,
/// companies, tenants.
pub trait Named {
    fn id(&self) -> &str;
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($t:ty),* $(,)?) => {
        $(impl Named for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
        })*
    };
}

named!(
    pb::Queue,
    pb::CatalogueEntry,
    docket_proto::identity::v1::Group,
    docket_proto::identity::v1::Role,
    docket_proto::identity::v1::Company,
    docket_proto::identity::v1::Tenant,
);

/// The name of the item with `id`; empty when there is none.
pub fn name_of<T: Named>(items: &[T], id: &str) -> String {
    items
        .iter()
        .find(|i| i.id() == id)
        .map_or_else(String::new, |i| i.name().to_owned())
}

/// The items as a select's options, `chosen` selected.
pub fn choices_of<T: Named>(items: &[T], chosen: &str) -> Vec<portal::Choice> {
    items
        .iter()
        .map(|i| portal::Choice {
            value: i.id().to_owned(),
            label: i.name().to_owned(),
            selected: i.id() == chosen,
        })
        .collect()
}

/// Who a ticket is for, as lists show it: how the customer was named, else the contact's name
/// or address.
pub fn customer_label(ticket: &pb::Ticket) -> String {
    if !ticket.customer.trim().is_empty() {
        return ticket.customer.clone();
    }
    ticket
        .contact
        .as_ref()
        .map(|c| {
            if c.name.is_empty() {
                c.email.clone()
            } else {
                c.name.clone()
            }
        })
        .unwrap_or_default()
}

/// A form posted by a signed-in browser, its CSRF token checked.
pub struct Submitted {
    fields: HashMap<String, Vec<String>>,
    pub files: Vec<pb::NewAttachment>,
}

/// Why a form was not taken.
pub enum FormError {
    /// No or the wrong CSRF token: an old page, or another site posting.
    Expired,
    /// Not a readable multipart form, or too large (the status says which).
    Unreadable(StatusCode, String),
}

impl Submitted {
    /// Reads a `multipart/form-data` body: text fields and files (empty file inputs are left
    /// out). Accepted only when its `csrf` field matches the session's `docket_csrf` cookie.
    pub async fn read(headers: &HeaderMap, mut multipart: Multipart) -> Result<Self, FormError> {
        let mut fields: HashMap<String, Vec<String>> = HashMap::new();
        let mut files = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => return Err(FormError::Unreadable(e.status(), e.body_text())),
            };
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(ToOwned::to_owned) {
                Some(filename) => {
                    let content_type = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_owned();
                    let content = field
                        .bytes()
                        .await
                        .map_err(|e| FormError::Unreadable(e.status(), e.body_text()))?;
                    if !filename.is_empty() && !content.is_empty() {
                        files.push(pb::NewAttachment {
                            filename,
                            content_type,
                            content: content.to_vec(),
                        });
                    }
                }
                None => {
                    let text = field
                        .text()
                        .await
                        .map_err(|e| FormError::Unreadable(e.status(), e.body_text()))?;
                    fields.entry(name).or_default().push(text);
                }
            }
        }
        let form = Self { fields, files };
        let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(form.get("csrf"), expected) {
            return Err(FormError::Expired);
        }
        Ok(form)
    }

    /// A field's (first) value, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map_or("", |v| v.trim())
    }

    /// Every value of a field (checkboxes, multiple selects).
    pub fn all(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Texts,
    session: Option<&'a Session>,
    home: &'static str,
    message: &'a str,
}

/// A page saying what went wrong, with the status it deserves.
pub fn error_page(
    t: &'static Texts,
    session: Option<&Session>,
    status: StatusCode,
    message: &str,
) -> Response {
    let home = match session {
        Some(s) if s.is_agent() => "/desk/",
        _ => "/portal/",
    };
    render(
        &ErrorPage {
            t,
            session,
            home,
            message,
        },
        status,
    )
}

/// The page for a failed call: what the client may know of it (never our internals).
pub fn failure(t: &'static Texts, session: Option<&Session>, error: ApiError) -> Response {
    let problem = error.to_problem();
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let message = match status {
        StatusCode::NOT_FOUND => t.not_found.to_owned(),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR => {
            t.unavailable.to_owned()
        }
        _ => problem.detail,
    };
    error_page(t, session, status, &message)
}

/// The page for a form that was not taken.
pub fn form_failure(t: &'static Texts, session: Option<&Session>, error: FormError) -> Response {
    match error {
        FormError::Expired => error_page(t, session, StatusCode::FORBIDDEN, t.form_expired),
        FormError::Unreadable(status, detail) => error_page(t, session, status, &detail),
    }
}

/// A fresh token for a login form, and the cookie that binds it to the browser.
fn login_token(path: &str) -> (String, Option<HeaderValue>) {
    let token = docket_auth::secret::OpaqueSecret::generate("form").id;
    let cookie = format!("{FORM_COOKIE}={token}; Path={path}; HttpOnly; SameSite=Strict");
    let value = HeaderValue::from_str(&cookie).ok();
    (token, value)
}

/// Whether a login form's token matches the one bound to the browser.
fn login_token_ok(headers: &HeaderMap, sent: &str) -> bool {
    cookie(headers, FORM_COOKIE).is_some_and(|c| !c.is_empty() && constant_time_eq(c, sent))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../assets/docket.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../assets/docket.js"),
    )
}

/// What every page and asset is served with: nothing but this origin, no framing, no sniffing.
async fn security_headers(request: axum::extract::Request, next: middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
             object-src 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show personal data: not kept by shared caches or the back button after logout.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The portal's and the desk's pages and assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(portal::router())
        .merge(desk::router())
        .merge(admin::router())
        .route("/assets/docket.css", get(stylesheet))
        .route("/assets/docket.js", get(script))
        .layer(middleware::from_fn(security_headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_language_comes_from_the_choice_the_cookie_or_the_browser() {
        let none = LangQuery { lang: None };
        assert_eq!(texts(&none, &headers(&[])).lang, "de");
        assert_eq!(
            texts(
                &none,
                &headers(&[("accept-language", "fr-FR, en-GB;q=0.8, de;q=0.5")])
            )
            .lang,
            "en"
        );
        assert_eq!(
            texts(&none, &headers(&[("cookie", "a=b; docket_lang=en")])).lang,
            "en"
        );
        let chosen = LangQuery {
            lang: Some("de".into()),
        };
        assert_eq!(
            texts(&chosen, &headers(&[("cookie", "docket_lang=en")])).lang,
            "de"
        );
        let mut r = Response::new(axum::body::Body::empty());
        remember_lang(&mut r, &chosen, &DE);
        assert!(r.headers().contains_key(header::SET_COOKIE));
        let mut r = Response::new(axum::body::Body::empty());
        remember_lang(&mut r, &none, &DE);
        assert!(!r.headers().contains_key(header::SET_COOKIE));
    }

    #[test]
    fn login_tokens_must_match_their_cookie() {
        let (token, cookie) = login_token("/portal");
        let cookie = cookie.unwrap();
        let value = cookie.to_str().unwrap();
        assert!(value.contains("HttpOnly") && value.contains("SameSite=Strict"));
        let pair = value.split(';').next().unwrap().to_owned();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert!(login_token_ok(&h, &token));
        assert!(!login_token_ok(&h, "forged"));
        assert!(!login_token_ok(&HeaderMap::new(), &token));
    }

    #[test]
    fn times_carry_iso_and_readable_utc() {
        let w = When::of(1_764_504_000_000_000);
        assert_eq!(w.iso, "2025-11-30T12:00:00+00:00");
        assert_eq!(w.text, "2025-11-30 12:00 UTC");
    }
}
