//! Who a page is for. A desk page takes a [`DeskPage`], a portal page a [`PortalPage`] (the
//! signed-in [`AgentSession`] or [`CustomerSession`] with the page's texts); a page that changes
//! something takes [`DeskForm`] or [`PortalForm`], which also read the posted form and check its
//! CSRF token. Their rejections are the pages'
//! rules, stated once:
//!
//! - no session: the area's login page;
//! - a customer's session on the desk: 403, "for agents only" (no desk page, no agent data);
//! - an agent's session on the portal: on to the desk;
//! - a form without the session's token: 403, "form expired"; an unreadable one: its status.
//!
//! The page language of a rejection follows `?lang=`, the cookie and the browser, like the pages.

use std::marker::PhantomData;

use axum::extract::multipart::Multipart;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use docket_auth::Kind;

use super::login::Area;
use super::{LangQuery, Submitted, Texts, error_page, form_failure, texts};
use crate::AppState;
use crate::auth::{CSRF_COOKIE, Principal, cookie};

/// A signed-in browser: whose session it is and the token its forms carry.
#[derive(Clone)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    /// Shown in the page header.
    pub name: String,
}

impl Session {
    pub fn is_agent(&self) -> bool {
        self.principal.claims.kind == Kind::Agent
    }

    pub fn is_customer(&self) -> bool {
        self.principal.claims.kind == Kind::Customer
    }
}

/// The browser's session, if it has a valid one.
pub async fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let principal = state.auth.session(headers).await.ok()?;
    let csrf = cookie(headers, CSRF_COOKIE).unwrap_or_default().to_owned();
    let name = principal.claims.login.clone();
    Some(Session {
        principal,
        csrf,
        name,
    })
}

/// The texts a rejection is written in. A query the page cannot read has already been refused
/// by the page's own `Query` (it comes first), so the default here is only a fallback.
fn rejection_texts(parts: &Parts) -> &'static Texts {
    let query = Query::<LangQuery>::try_from_uri(&parts.uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    texts(&query, &parts.headers)
}

/// The signed-in agent of a desk page.
pub struct AgentSession(pub Session);

impl AgentSession {
    async fn check(state: &AppState, parts: &Parts) -> Result<Session, Response> {
        let t = rejection_texts(parts);
        match session(state, &parts.headers).await {
            Some(s) if s.is_agent() => Ok(s),
            Some(s) => Err(error_page(
                t,
                Some(&s),
                StatusCode::FORBIDDEN,
                t.agents_only,
            )),
            None => Err(Redirect::to(Area::Desk.login()).into_response()),
        }
    }
}

impl FromRequestParts<AppState> for AgentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Self::check(state, parts).await.map(Self)
    }
}

/// The signed-in customer of a portal page.
pub struct CustomerSession(pub Session);

impl CustomerSession {
    async fn check(state: &AppState, parts: &Parts) -> Result<Session, Response> {
        match session(state, &parts.headers).await {
            Some(s) if s.is_customer() => Ok(s),
            Some(s) if s.is_agent() => Err(Redirect::to(Area::Desk.home()).into_response()),
            _ => Err(Redirect::to(Area::Portal.login()).into_response()),
        }
    }
}

impl FromRequestParts<AppState> for CustomerSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Self::check(state, parts).await.map(Self)
    }
}

/// Who a page is for: the check of [`AgentSession`] or [`CustomerSession`].
pub trait Audience {
    fn check(
        state: &AppState,
        parts: &Parts,
    ) -> impl Future<Output = Result<Session, Response>> + Send;
}

impl Audience for AgentSession {
    fn check(
        state: &AppState,
        parts: &Parts,
    ) -> impl Future<Output = Result<Session, Response>> + Send {
        AgentSession::check(state, parts)
    }
}

impl Audience for CustomerSession {
    fn check(
        state: &AppState,
        parts: &Parts,
    ) -> impl Future<Output = Result<Session, Response>> + Send {
        CustomerSession::check(state, parts)
    }
}

/// A page's request: the gateway's state, the signed-in person it is for, and the texts in the
/// page's language. A `?lang=` the page cannot read is refused first, as `Query` would.
pub struct Page<A> {
    pub state: AppState,
    pub s: Session,
    pub t: &'static Texts,
    audience: PhantomData<A>,
}

/// A desk page: its agent.
pub type DeskPage = Page<AgentSession>;
/// A portal page: its customer.
pub type PortalPage = Page<CustomerSession>;

impl<A: Audience> FromRequestParts<AppState> for Page<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let t = page_texts(&parts.uri, &parts.headers).map_err(IntoResponse::into_response)?;
        let s = A::check(state, parts).await?;
        Ok(Self {
            state: state.clone(),
            s,
            t,
            audience: PhantomData,
        })
    }
}

/// A posted form: a [`Page`] with the form, its token checked.
pub struct Posted<A> {
    pub state: AppState,
    pub s: Session,
    pub t: &'static Texts,
    pub form: Submitted,
    audience: PhantomData<A>,
}

/// A form posted from the desk by an agent.
pub type DeskForm = Posted<AgentSession>;
/// A form posted from the portal by a customer.
pub type PortalForm = Posted<CustomerSession>;

impl<A: Audience> FromRequest<AppState> for Posted<A> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let t =
            page_texts(request.uri(), request.headers()).map_err(IntoResponse::into_response)?;
        let (head, multipart) = multipart(request, state).await?;
        let s = A::check(state, &head).await?;
        let form = submitted(&head, &s, multipart).await?;
        Ok(Self {
            state: state.clone(),
            s,
            t,
            form,
            audience: PhantomData,
        })
    }
}

/// The page's texts; a query the page cannot read is refused with `Query`'s own answer.
fn page_texts(uri: &Uri, headers: &HeaderMap) -> Result<&'static Texts, QueryRejection> {
    let Query(query) = Query::<LangQuery>::try_from_uri(uri)?;
    Ok(texts(&query, headers))
}

/// The request's head and its multipart body. A body that is no multipart form is refused
/// before the session is looked at, as it was when the pages took `Multipart` themselves.
async fn multipart(request: Request, state: &AppState) -> Result<(Parts, Multipart), Response> {
    let (parts, body) = request.into_parts();
    let head = parts.clone();
    let multipart = Multipart::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((head, multipart))
}

/// The posted form, its token checked against the session's.
async fn submitted(head: &Parts, s: &Session, multipart: Multipart) -> Result<Submitted, Response> {
    Submitted::read(&head.headers, multipart)
        .await
        .map_err(|e| form_failure(rejection_texts(head), Some(s), e))
}
