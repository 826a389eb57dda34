//! A browser's view of the web pages over plain HTTP: the login forms with their CSRF cookie,
//! then a session whose cookies and form token go with every request (set by hand: the
//! session cookie is `Secure`, which a cookie jar keeps off plain http).

use reqwest::multipart;

/// A client that follows no redirects, so tests see where pages send the browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` among a response's Set-Cookie headers.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The value of the first `csrf` field of a page.
pub fn hidden_csrf(html: &str) -> String {
    crate::html::Page::parse(html).csrf()
}

/// A signed-in browser session.
pub struct Web {
    pub site: String,
    pub session: String,
    pub csrf: String,
    client: reqwest::Client,
}

impl Web {
    /// Signs in through a login form (`/portal/login` or `/desk/login`); `tenant` is for
    /// customers only.
    pub async fn login(
        site: &str,
        area: &str,
        tenant: Option<&str>,
        login: &str,
        password: &str,
    ) -> Self {
        let client = browser();
        let page = client
            .get(format!("{site}/{area}/login"))
            .send()
            .await
            .unwrap();
        let form_cookie = set_cookie(&page, "docket_form").unwrap();
        let csrf = hidden_csrf(&page.text().await.unwrap());
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
        ];
        if let Some(t) = tenant {
            fields.push(("tenant", t));
        }
        let signed_in = client
            .post(format!("{site}/{area}/login"))
            .header("cookie", format!("docket_form={form_cookie}"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            signed_in.status(),
            303,
            "{login} could not sign in to the {area}"
        );
        Self {
            site: site.to_owned(),
            session: set_cookie(&signed_in, "docket_session").unwrap(),
            csrf: set_cookie(&signed_in, "docket_csrf").unwrap(),
            client,
        }
    }

    fn cookies(&self) -> String {
        format!("docket_session={}; docket_csrf={}", self.session, self.csrf)
    }

    /// A page: its status and its HTML (or where it redirects).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.site))
            .header("cookie", self.cookies())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if r.status().is_redirection() {
            let to = r.headers()["location"].to_str().unwrap().to_owned();
            return (status, to);
        }
        (status, r.text().await.unwrap())
    }

    /// Posts a form as a page does: multipart, the session's token in `csrf`. Returns the
    /// status and where it redirects to (or the page it answers with).
    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> (u16, String) {
        self.post_with_token(path, &self.csrf, fields, files).await
    }

    /// As [`Self::post`], a form without attachments.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        self.post(path, fields, &[]).await
    }

    /// As [`Self::post`], with the given form token instead of the session's.
    pub async fn post_with_token(
        &self,
        path: &str,
        token: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> (u16, String) {
        let mut form = multipart::Form::new().text("csrf", token.to_owned());
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        for (name, content) in files {
            form = form.part(
                "attachments",
                multipart::Part::bytes(content.to_vec())
                    .file_name((*name).to_owned())
                    .mime_str("text/plain")
                    .unwrap(),
            );
        }
        let r = self
            .client
            .post(format!("{}{path}", self.site))
            .header("cookie", self.cookies())
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if r.status().is_redirection() {
            return (status, r.headers()["location"].to_str().unwrap().to_owned());
        }
        (status, r.text().await.unwrap())
    }

    /// The server-sent events of the desk, as a stream of raw response chunks.
    pub async fn events(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/desk/events", self.site))
            .header("cookie", self.cookies())
            .send()
            .await
            .unwrap()
    }
}
