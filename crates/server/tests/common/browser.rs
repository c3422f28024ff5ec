//! A browser without JavaScript for page tests: keeps cookies, submits forms as a browser
//! does, and does not follow redirects (tests look at them).

use super::{Account, PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use std::sync::Arc;

/// A browser: keeps cookies, does not follow redirects (tests look at them).
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
    pub cookies: Arc<reqwest::cookie::Jar>,
}

/// What a page request answered.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self
    }

    #[track_caller]
    pub fn shows(&self, text: &str) -> &Self {
        assert!(
            self.body.contains(text),
            "the page should show {text:?}; it is:\n{}",
            self.body
        );
        self
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        let cookies = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(cookies.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            app,
            client,
            cookies,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.app.base, path)
    }

    pub fn set_cookie(&self, cookie: &str) {
        let url = self.app.base.parse().expect("base url");
        self.cookies.add_cookie_str(cookie, &url);
    }

    pub async fn read(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    /// Submits a form as a browser does (same-origin `Origin`, url-encoded body).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(self.url(path))
            .header("origin", &self.app.base)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .expect("POST");
        Self::read(response).await
    }

    pub async fn sign_in(&self, account: &Account) {
        let page = self
            .post(
                "/sign-in",
                &[
                    ("email", &account.email),
                    ("password", PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        page.expect(303);
        assert_eq!(page.location(), "/");
    }
}
