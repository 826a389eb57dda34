//! Signing in and out of the portal (customers: tenant, login, password; local or through the
//! customers' directory) and the desk (agents: login, password, the one-time code where they
//! have a second factor). Before a session exists, a login form's token is bound to a cookie of
//! its own; signing in sets the session and CSRF cookies.

use askama::Template;
use axum::Router;
use axum::extract::multipart::Multipart;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use docket_proto::identity::v1 as ipb;
use serde::Deserialize;

use super::{
    LangQuery, Session, Submitted, Texts, failure, form_failure, login_token, login_token_ok,
    remember_lang, render, session, texts,
};
use crate::AppState;

/// The two halves of the web pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Customers, under `/portal/`.
    Portal,
    /// Agents, under `/desk/`.
    Desk,
}

impl Area {
    fn root(self) -> &'static str {
        match self {
            Self::Portal => "/portal",
            Self::Desk => "/desk",
        }
    }

    /// Where a browser without a session is sent.
    pub fn login(self) -> &'static str {
        match self {
            Self::Portal => "/portal/login",
            Self::Desk => "/desk/login",
        }
    }

    /// The first page after signing in.
    pub(super) fn home(self) -> &'static str {
        match self {
            Self::Portal => "/portal/",
            Self::Desk => "/desk/",
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage<'a> {
    pub t: &'static Texts,
    pub session: Option<&'a Session>,
    pub action: &'static str,
    pub heading: &'static str,
    pub csrf: &'a str,
    pub tenant: &'a str,
    pub login: &'a str,
    /// Agents may give a one-time code; customers give their tenant instead.
    pub totp: bool,
    pub error: Option<&'static str>,
}

/// The login form of an area, with a fresh token bound to a cookie.
fn login_form(
    area: Area,
    t: &'static Texts,
    query: &LangQuery,
    form: &LoginForm,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (csrf, cookie) = login_token(area.root());
    let page = LoginPage {
        t,
        session: None,
        action: area.login(),
        heading: match area {
            Area::Portal => t.login_title,
            Area::Desk => t.desk_login_title,
        },
        csrf: &csrf,
        tenant: &form.tenant,
        login: &form.login,
        totp: area == Area::Desk,
        error,
    };
    let mut response = render(&page, status);
    if let Some(v) = cookie {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    remember_lang(&mut response, query, t);
    response
}

/// The login page of an area.
pub async fn page(area: Area, query: LangQuery, headers: HeaderMap) -> Response {
    let t = texts(&query, &headers);
    login_form(area, t, &query, &LoginForm::default(), None, StatusCode::OK)
}

#[derive(Default, Deserialize)]
pub struct LoginForm {
    csrf: String,
    #[serde(default)]
    tenant: String,
    login: String,
    password: String,
    #[serde(default)]
    totp_code: String,
}

/// Signs a customer (portal) or an agent (desk) in: the session cookies, then the area's first
/// page; otherwise the form again with what went wrong.
pub async fn submit(
    area: Area,
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    client: crate::sign_in::SignInClient,
    headers: HeaderMap,
    Form(mut form): Form<LoginForm>,
) -> Response {
    let t = texts(&query, &headers);
    if let Some(refused) = client.refusal(&state) {
        let mut page = login_form(
            area,
            t,
            &query,
            &form,
            Some(t.too_many_sign_ins),
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Some(after) = refused.headers().get(header::RETRY_AFTER) {
            page.headers_mut()
                .insert(header::RETRY_AFTER, after.clone());
        }
        return page;
    }
    if !login_token_ok(&headers, &form.csrf) {
        return login_form(
            area,
            t,
            &query,
            &form,
            Some(t.form_expired),
            StatusCode::FORBIDDEN,
        );
    }
    let request = ipb::LoginRequest {
        kind: match area {
            Area::Portal => ipb::PrincipalKind::Customer,
            Area::Desk => ipb::PrincipalKind::Agent,
        }
        .into(),
        tenant: form.tenant.clone(),
        login: form.login.clone(),
        password: std::mem::take(&mut form.password),
        totp_code: form.totp_code.trim().to_owned(),
    };
    let answer = state
        .sign_in
        .clone()
        .login(crate::auth::traced(request))
        .await;
    let error = match answer {
        Ok(answer) if !answer.get_ref().second_factor_required => {
            return signed_in(&answer.into_inner().session_secret, area.home());
        }
        Ok(_) => t.second_factor,
        Err(status) if status.code() == tonic::Code::Unauthenticated => {
            client.failed(&state);
            t.login_failed
        }
        Err(status) => return failure(t, None, status.into()),
    };
    login_form(
        area,
        t,
        &query,
        &form,
        Some(error),
        StatusCode::UNAUTHORIZED,
    )
}

/// The session cookies of a fresh login, and on to `to`.
fn signed_in(session_secret: &str, to: &str) -> Response {
    let csrf = docket_auth::secret::OpaqueSecret::generate("csrf").id;
    (
        crate::auth::session_cookies(session_secret, &csrf, 12 * 3600),
        Redirect::to(to),
    )
        .into_response()
}

/// Ends the browser's session (its form must carry the session's token) and clears its
/// cookies; on to the area's login page.
pub async fn logout(
    area: Area,
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let t = texts(&query, &headers);
    let signed_out = || {
        (
            crate::auth::session_cookies("", "", 0),
            Redirect::to(area.login()),
        )
            .into_response()
    };
    let Some(s) = session(&state, &headers).await else {
        return signed_out();
    };
    if let Err(e) = Submitted::read(&headers, multipart).await {
        return form_failure(t, Some(&s), e);
    }
    match state
        .auth
        .end_session(state.identity(&s.principal), &headers)
        .await
    {
        Ok(()) => signed_out(),
        Err(e) => failure(t, Some(&s), e),
    }
}

/// An area's login and logout routes.
pub fn router(area: Area) -> Router<AppState> {
    Router::new()
        .route(
            area.login(),
            get(move |Query(q): Query<LangQuery>, h: HeaderMap| page(area, q, h)).post(
                move |s: State<AppState>,
                      q: Query<LangQuery>,
                      c: crate::sign_in::SignInClient,
                      h: HeaderMap,
                      f: Form<LoginForm>| { submit(area, s, q, c, h, f) },
            ),
        )
        .route(
            match area {
                Area::Portal => "/portal/logout",
                Area::Desk => "/desk/logout",
            },
            post(
                move |s: State<AppState>, q: Query<LangQuery>, h: HeaderMap, m: Multipart| {
                    logout(area, s, q, h, m)
                },
            ),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::EN;

    #[test]
    fn the_login_page_labels_every_field_and_ties_errors_to_them() {
        let page = LoginPage {
            t: &EN,
            session: None,
            action: Area::Portal.login(),
            heading: EN.login_title,
            csrf: "tok",
            tenant: "uni",
            login: "<jane>",
            totp: false,
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
        assert!(!html.contains("totp"), "customers have no second factor");
        assert!(!html.contains("<script>"), "no inline script");
    }

    #[test]
    fn agents_give_a_one_time_code_instead_of_a_tenant() {
        let page = LoginPage {
            t: &EN,
            session: None,
            action: Area::Desk.login(),
            heading: EN.desk_login_title,
            csrf: "tok",
            tenant: "",
            login: "",
            totp: true,
            error: None,
        };
        let html = page.render().unwrap();
        assert!(html.contains(r#"id="totp_code""#) && !html.contains(r#"id="tenant""#));
        assert!(html.contains(r#"action="/desk/login""#));
    }
}
