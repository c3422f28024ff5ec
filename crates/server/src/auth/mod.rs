//! Who is calling: sessions (cookie or bearer), personal API tokens, and the farm
//! membership guard that every tenant route uses.

pub mod api_tokens;
pub mod cache;
pub mod member;
pub mod routes;
pub mod session;
pub mod throttle;

pub use member::{Member, roles};

/// Compares two secrets in constant time (their hashes, so lengths tell nothing either).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (store::secrets::token_hash(a), store::secrets::token_hash(b));
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
pub use session::{AuthUser, Authenticated, Credential};

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use serde_json::json;
    crate::api::Routes::new()
        .add(M::POST, "/api/v1/auth/sign-up/email", Public, "Create an account and sign in", routes::sign_up)
        .example(json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}))
        .add(M::POST, "/api/v1/auth/register", Public, "Create an account and its first farm", routes::register)
        .example(json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada", "company_name": "Ada Prints", "subdomain": "ada-prints"}))
        .add(M::POST, "/api/v1/auth/sign-in/email", Public, "Sign in with email and password", routes::sign_in)
        .example(json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .add(M::POST, "/api/v1/auth/sign-out", Public, "End the session", routes::sign_out)
        .add(M::GET, "/api/v1/auth/get-session", Public, "The current session and user, or nulls", routes::get_session)
        .add(M::POST, "/api/v1/auth/forget-password", Public, "Mail a password reset link", routes::forget_password)
        .example(json!({"email": "ada@example.com", "redirectTo": "http://127.0.0.1:8787/reset-password"}))
        .add(M::POST, "/api/v1/auth/reset-password", Public, "Set a new password with a reset link's token", routes::reset_password)
        .example(json!({"token": "from-the-mail", "newPassword": "another good passphrase"}))
        .add(M::GET, "/api/v1/auth/me", Signed, "The signed-in user and their farms", routes::me)
        .add(M::GET, "/api/v1/auth/api-tokens", Signed, "My personal API tokens", api_tokens::list)
        .add(M::POST, "/api/v1/auth/api-tokens", Signed, "Create a personal API token (shown once)", api_tokens::create)
        .example(json!({"name": "inventory script", "expires_in_days": 90}))
        .add(M::DELETE, "/api/v1/auth/api-tokens/{token_id}", Signed, "Revoke a personal API token", api_tokens::revoke)
}
