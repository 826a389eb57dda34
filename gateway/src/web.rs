//! The customer portal's pages, rendered on the server from templates the compiler checks
//! (askama). Every page works without JavaScript; no script runs inline, and the
//! Content-Security-Policy allows nothing but this origin. German or English: `?lang=` (kept in a
//! cookie), else the browser's preference.
//!
//! Pages so far: the login (customers; its form carries a CSRF token bound to a cookie) and the
//! customer's tickets. Everything else of the portal and the desk comes with issue 6.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, middleware};
use docket_proto::identity::v1 as ipb;
use docket_proto::ticket::v1 as pb;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Principal, cookie, grpc_request};

/// The cookie that binds the login form's CSRF token to the browser (double submit).
const FORM_COOKIE: &str = "docket_form";
const LANG_COOKIE: &str = "docket_lang";

/// The portal's texts in one language.
pub struct Texts {
    pub lang: &'static str,
    pub language: &'static str,
    pub login_title: &'static str,
    pub tenant: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub login_failed: &'static str,
    pub form_expired: &'static str,
    pub my_tickets: &'static str,
    pub no_tickets: &'static str,
    pub number: &'static str,
    pub title: &'static str,
    pub state: &'static str,
    pub changed: &'static str,
    pub messages: &'static str,
    pub you: &'static str,
    pub service_desk: &'static str,
    pub states: [(&'static str, &'static str); 7],
}

pub const DE: Texts = Texts {
    lang: "de",
    language: "Sprache",
    login_title: "Anmelden",
    tenant: "Einrichtung",
    login: "Benutzername",
    password: "Passwort",
    sign_in: "Anmelden",
    login_failed: "Die Anmeldung ist fehlgeschlagen: Einrichtung, Benutzername oder Passwort stimmen nicht, oder das Konto ist gesperrt.",
    form_expired: "Das Formular ist abgelaufen. Bitte versuchen Sie es noch einmal.",
    my_tickets: "Meine Anfragen",
    no_tickets: "Sie haben noch keine Anfragen.",
    number: "Nummer",
    title: "Betreff",
    state: "Status",
    changed: "Geändert",
    messages: "Nachrichten",
    you: "Sie",
    service_desk: "Service-Desk",
    states: [
        ("new", "neu"),
        ("open", "in Bearbeitung"),
        ("pending_reminder", "wartet"),
        ("pending_auto", "wartet"),
        ("closed", "geschlossen"),
        ("merged", "zusammengeführt"),
        ("removed", "entfernt"),
    ],
};

pub const EN: Texts = Texts {
    lang: "en",
    language: "Language",
    login_title: "Sign in",
    tenant: "Organisation",
    login: "User name",
    password: "Password",
    sign_in: "Sign in",
    login_failed: "Signing in failed: the organisation, user name or password is wrong, or the account is locked.",
    form_expired: "The form has expired. Please try again.",
    my_tickets: "My requests",
    no_tickets: "You have no requests yet.",
    number: "Number",
    title: "Subject",
    state: "State",
    changed: "Changed",
    messages: "Messages",
    you: "You",
    service_desk: "Service desk",
    states: [
        ("new", "new"),
        ("open", "in progress"),
        ("pending_reminder", "waiting"),
        ("pending_auto", "waiting"),
        ("closed", "closed"),
        ("merged", "merged"),
        ("removed", "removed"),
    ],
};

impl Texts {
    /// A ticket's state type in this language.
    pub fn state(&self, state_type: &str) -> String {
        self.states
            .iter()
            .find(|(key, _)| *key == state_type)
            .map_or_else(
                || state_type.replace('_', " "),
                |(_, text)| (*text).to_owned(),
            )
    }
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The page's language: `?lang=`, else the cookie, else the browser's first German or English
/// preference, else German.
fn texts(query: &LangQuery, headers: &HeaderMap) -> &'static Texts {
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

/// Remembers an explicit `?lang=` choice.
fn lang_cookie(query: &LangQuery, t: &Texts) -> Option<(header::HeaderName, HeaderValue)> {
    query.lang.as_ref()?;
    let value = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        t.lang
    );
    HeaderValue::from_str(&value)
        .ok()
        .map(|v| (header::SET_COOKIE, v))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Texts,
    csrf: &'a str,
    tenant: &'a str,
    login: &'a str,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage {
    t: &'static Texts,
    tickets: Vec<TicketRow>,
}

struct TicketRow {
    number: String,
    title: String,
    state: String,
    changed: String,
    changed_text: String,
}

fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The login page, with a fresh form token in its cookie.
async fn login_page(Query(query): Query<LangQuery>, headers: HeaderMap) -> Response {
    let t = texts(&query, &headers);
    login_form(t, &query, "", "", None, StatusCode::OK)
}

fn login_form(
    t: &'static Texts,
    query: &LangQuery,
    tenant: &str,
    login: &str,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let csrf = docket_auth::secret::OpaqueSecret::generate("form").id;
    let page = LoginPage {
        t,
        csrf: &csrf,
        tenant,
        login,
        error,
    };
    let form_cookie = format!("{FORM_COOKIE}={csrf}; Path=/portal; HttpOnly; SameSite=Strict");
    let mut response = render(&page, status);
    if let Ok(v) = HeaderValue::from_str(&form_cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some((k, v)) = lang_cookie(query, t) {
        response.headers_mut().append(k, v);
    }
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    tenant: String,
    login: String,
    password: String,
}

/// Signs a customer in: the session cookies, then their tickets.
async fn login_submit(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let t = texts(&query, &headers);
    let bound = cookie(&headers, FORM_COOKIE);
    if bound.is_none_or(|c| c.is_empty() || c != form.csrf) {
        return login_form(
            t,
            &query,
            &form.tenant,
            &form.login,
            Some(t.form_expired),
            StatusCode::FORBIDDEN,
        );
    }
    let request = ipb::LoginRequest {
        kind: ipb::PrincipalKind::Customer.into(),
        tenant: form.tenant.clone(),
        login: form.login.clone(),
        password: form.password,
        totp_code: String::new(),
    };
    let answer = state
        .identity
        .clone()
        .login(crate::auth::traced(request))
        .await;
    match answer {
        Ok(answer) => {
            let answer = answer.into_inner();
            let csrf = docket_auth::secret::OpaqueSecret::generate("csrf").id;
            (
                crate::auth::session_cookies(&answer.session_secret, &csrf, 12 * 3600),
                Redirect::to("/portal/"),
            )
                .into_response()
        }
        Err(status) if status.code() == tonic::Code::Unauthenticated => login_form(
            t,
            &query,
            &form.tenant,
            &form.login,
            Some(t.login_failed),
            StatusCode::UNAUTHORIZED,
        ),
        Err(status) => {
            tracing::warn!(error = %status, "portal login failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The customer's tickets; without a session, the login page.
async fn my_tickets(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    principal: Result<Principal, crate::error::ApiError>,
) -> Response {
    let t = texts(&query, &headers);
    let Ok(principal) = principal else {
        return Redirect::to("/portal/login").into_response();
    };
    let listed = state
        .ticket
        .clone()
        .list_tickets(grpc_request(
            pb::ListTicketsRequest {
                descending: true,
                page_size: 100,
                ..Default::default()
            },
            &principal,
        ))
        .await;
    let tickets = match listed {
        Ok(r) => r.into_inner().tickets,
        Err(status) => {
            tracing::warn!(error = %status, "portal ticket list failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let rows = tickets
        .into_iter()
        .map(|ticket| {
            let changed = crate::api::time(ticket.updated_at_us);
            TicketRow {
                number: ticket.number,
                title: ticket.title,
                state: t.state(&ticket.state_type),
                changed: changed.to_rfc3339(),
                changed_text: changed.format("%Y-%m-%d %H:%M").to_string(),
            }
        })
        .collect();
    let mut response = render(&TicketsPage { t, tickets: rows }, StatusCode::OK);
    if let Some((k, v)) = lang_cookie(&query, t) {
        response.headers_mut().append(k, v);
    }
    response
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    t: &'static Texts,
    ticket: TicketRow,
    articles: Vec<ArticleRow>,
}

struct ArticleRow {
    who: &'static str,
    at: String,
    at_text: String,
    subject: String,
    body: String,
}

/// One of the customer's tickets with the messages she may read (ticket core leaves out
/// internal notes for customers); another's ticket is as unknown as a missing one.
async fn ticket_page(
    State(state): State<AppState>,
    axum::extract::Path(key): axum::extract::Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    principal: Result<Principal, crate::error::ApiError>,
) -> Response {
    let t = texts(&query, &headers);
    let Ok(principal) = principal else {
        return Redirect::to("/portal/login").into_response();
    };
    let mut client = state.ticket.clone();
    let ticket = match client
        .get_ticket(grpc_request(
            pb::GetTicketRequest { ticket: key },
            &principal,
        ))
        .await
    {
        Ok(r) => r.into_inner(),
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::NotFound
                    | tonic::Code::InvalidArgument
                    | tonic::Code::PermissionDenied
            ) =>
        {
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(status) => {
            tracing::warn!(error = %status, "portal ticket page failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let articles = match client
        .list_articles(grpc_request(
            pb::ListArticlesRequest {
                ticket_id: ticket.id.clone(),
            },
            &principal,
        ))
        .await
    {
        Ok(r) => r.into_inner().articles,
        Err(status) => {
            tracing::warn!(error = %status, "portal articles failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let when = |us: i64| {
        let at = crate::api::time(us);
        (at.to_rfc3339(), at.format("%Y-%m-%d %H:%M").to_string())
    };
    let (changed, changed_text) = when(ticket.updated_at_us);
    let page = TicketPage {
        t,
        articles: articles
            .into_iter()
            .filter(|a| a.visible_to_customer)
            .map(|a| {
                let (at, at_text) = when(a.created_at_us);
                ArticleRow {
                    who: if a.sender == pb::SenderType::Customer as i32 {
                        t.you
                    } else {
                        t.service_desk
                    },
                    at,
                    at_text,
                    subject: a.subject,
                    body: a.body,
                }
            })
            .collect(),
        ticket: TicketRow {
            number: ticket.number,
            title: ticket.title,
            state: t.state(&ticket.state_type),
            changed,
            changed_text,
        },
    };
    render(&page, StatusCode::OK)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/portal.css"),
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
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
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
    response
}

/// The portal's pages and assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal/login", get(login_page).post(login_submit))
        .route("/portal/", get(my_tickets))
        .route("/portal/tickets/{ticket}", get(ticket_page))
        .route("/portal", get(|| async { Redirect::permanent("/portal/") }))
        .route("/assets/portal.css", get(stylesheet))
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
        assert!(lang_cookie(&chosen, &DE).is_some());
        assert!(lang_cookie(&none, &DE).is_none());
    }

    #[test]
    fn the_login_page_labels_every_field_and_ties_errors_to_them() {
        let page = LoginPage {
            t: &EN,
            csrf: "tok",
            tenant: "uni",
            login: "<jane>",
            error: Some(EN.login_failed),
        };
        let html = page.render().unwrap();
        assert!(html.contains(r#"<html lang="en">"#));
        for id in ["tenant", "login", "password"] {
            assert!(html.contains(&format!(r#"<label for="{id}">"#)), "{id}");
        }
        assert!(html.contains(r#"aria-describedby="login-error""#));
        assert!(
            html.contains("jane") && !html.contains("<jane>"),
            "values are escaped: {html}"
        );
        assert!(!html.contains("<script"), "no script on the page");
    }
}
