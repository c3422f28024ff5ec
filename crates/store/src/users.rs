//! User accounts.

use crate::{Conn, StoreResult};
use domain::UserId;
use serde::Serialize;

/// A user as the API shows it (never with its password hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    /// Id (UUID).
    pub id: String,
    /// Lower-cased email.
    pub email: String,
    /// Display name.
    pub full_name: String,
    /// 1 while the account may sign in.
    pub is_active: i64,
    /// 1 once the email address was proven (by a reset or invite link).
    pub email_verified: i64,
    /// Picture URL, if any.
    pub avatar_url: Option<String>,
    /// Last successful sign-in.
    pub last_login: Option<String>,
    /// Created at.
    pub created_at: String,
    /// Updated at.
    pub updated_at: String,
}

impl User {
    /// The typed id.
    pub fn user_id(&self) -> UserId {
        UserId::from_stored(self.id.clone())
    }
}

macro_rules! columns {
    () => {
        "id, email, full_name, is_active, email_verified, avatar_url, last_login, created_at, updated_at"
    };
}

/// Creates a user; `password_hash` is `None` for an invited user who has not set one.
pub async fn create(
    conn: &mut Conn,
    email: &str,
    full_name: &str,
    password_hash: Option<&str>,
    now: &str,
) -> StoreResult<User> {
    let sql = concat!(
        "INSERT INTO users (id, email, full_name, password_hash, is_active, email_verified, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, 0, $5, $5) RETURNING ", columns!(), ""
    );
    Ok(sqlx::query_as::<_, User>(sql)
        .bind(crate::new_id())
        .bind(email)
        .bind(full_name)
        .bind(password_hash)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Reads one user.
pub async fn get(conn: &mut Conn, id: &UserId) -> StoreResult<User> {
    let sql = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
    Ok(sqlx::query_as::<_, User>(sql)
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?)
}

/// Finds a user by email, with the stored password hash (`None` if never set).
pub async fn find_by_email(
    conn: &mut Conn,
    email: &str,
) -> StoreResult<Option<(User, Option<String>)>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        ", password_hash FROM users WHERE email = $1"
    );
    let row = sqlx::query_as::<_, UserWithHash>(sql)
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: User,
    password_hash: Option<String>,
}

/// Sets a new password hash; proving the email by a link also verifies it.
pub async fn set_password(
    conn: &mut Conn,
    id: &UserId,
    password_hash: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, email_verified = 1, updated_at = $3 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a successful sign-in.
pub async fn record_login(conn: &mut Conn, id: &UserId, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
