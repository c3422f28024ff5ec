//! The store's error type.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another farm).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `field` names the column.
    #[error("{field} is already taken")]
    Conflict {
        /// The column whose value is taken.
        field: String,
    },
    /// A setting the store needs is wrong.
    #[error("{0}")]
    Config(String),
    /// Stored data could not be read back (a bug or a corrupted row).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error(transparent)]
    Database(sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                field: unique_field(db.constraint(), db.message()),
            },
            _ => StoreError::Database(err),
        }
    }
}

/// Names the column of a unique violation.
///
/// PostgreSQL names the constraint (`users_email_key`, `printers_tenant_id_name_key`);
/// SQLite writes `UNIQUE constraint failed: printers.tenant_id, printers.name`. In both,
/// the last column that is not `tenant_id` is the one a client chose.
fn unique_field(constraint: Option<&str>, message: &str) -> String {
    if let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") {
        return columns
            .split(", ")
            .filter_map(|c| c.rsplit('.').next())
            .filter(|c| *c != "tenant_id")
            .last()
            .unwrap_or("id")
            .to_string();
    }
    if let Some(name) = constraint {
        let stem = name.strip_suffix("_key").unwrap_or(name);
        if let Some(pos) = stem.find("tenant_id_") {
            return stem[pos + "tenant_id_".len()..].to_string();
        }
        // `<table>_<column>_key`: table names here have no more than two words.
        for table in KNOWN_TABLES {
            if let Some(column) = stem.strip_prefix(table).and_then(|s| s.strip_prefix('_')) {
                return column.to_string();
            }
        }
        return stem.to_string();
    }
    "id".to_string()
}

/// Tables with a unique column a client chooses, for naming PostgreSQL's constraints.
const KNOWN_TABLES: &[&str] = &[
    "tenants",
    "users",
    "api_tokens",
    "sessions",
    "tenant_members",
];

#[cfg(test)]
mod tests {
    use super::unique_field;

    #[test]
    fn unique_violations_name_the_column_on_both_databases() {
        assert_eq!(
            unique_field(None, "UNIQUE constraint failed: users.email"),
            "email"
        );
        assert_eq!(
            unique_field(
                None,
                "UNIQUE constraint failed: printers.tenant_id, printers.name"
            ),
            "name"
        );
        assert_eq!(
            unique_field(Some("users_email_key"), "duplicate key"),
            "email"
        );
        assert_eq!(
            unique_field(Some("tenants_subdomain_key"), "duplicate key"),
            "subdomain"
        );
        assert_eq!(
            unique_field(Some("printers_tenant_id_name_key"), "duplicate key"),
            "name"
        );
    }
}
