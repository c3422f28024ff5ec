//! The farm service's one error type: what a rule refused, or what broke underneath.
//! The HTTP layer maps it to its envelope (`crate::error`); the hub session and the
//! workers log it.

use crate::hubs::CommandError;
use store::StoreError;

/// Why a farm operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    /// The thing is not in this farm (`code` names what: `JOB_NOT_FOUND`, ...).
    #[error("{what} not found")]
    NotFound {
        /// Machine-readable code.
        code: &'static str,
        /// What was looked for, for a person.
        what: &'static str,
    },
    /// A value given is not acceptable; `field` names it.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// For a person.
        message: String,
    },
    /// The farm's current state forbids it (a move the state machine refuses, a busy printer).
    #[error("{message}")]
    Refused {
        /// Machine-readable code (`INVALID_TRANSITION`, `HUB_OFFLINE`, ...).
        code: &'static str,
        /// The field whose state is at fault, if one.
        field: Option<&'static str>,
        /// For a person.
        message: String,
    },
    /// The farm's state forbids it, and `details` says what stands in the way (the lines
    /// short on stock, say).
    #[error("{message}")]
    Blocked {
        /// Machine-readable code (`INSUFFICIENT_STOCK`, ...).
        code: &'static str,
        /// For a person.
        message: String,
        /// What blocks it.
        details: serde_json::Value,
    },
    /// A hub was reached but did not answer in time.
    #[error("{0}")]
    HubTimeout(String),
    /// The database failed (or found nothing where the service expected a row).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or a broken invariant.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the service returns.
pub type FarmResult<T> = Result<T, FarmError>;

impl FarmError {
    /// A value that is not acceptable.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> FarmError {
        FarmError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A refusal by the farm's state, naming the field at fault.
    pub fn refused(
        code: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> FarmError {
        FarmError::Refused {
            code,
            field,
            message: message.into(),
        }
    }

    /// A command that did not run: `HUB_OFFLINE` (with `offline`, which names the hub or
    /// printer), a timeout, or `COMMAND_REFUSED` with the hub's reason.
    pub fn command_failed(err: CommandError, offline: String) -> FarmError {
        match err {
            CommandError::HubOffline => FarmError::refused("HUB_OFFLINE", None, offline),
            CommandError::Timeout => FarmError::HubTimeout(err.to_string()),
            CommandError::Refused(reason) => FarmError::refused("COMMAND_REFUSED", None, reason),
        }
    }
}

impl From<store::DbError> for FarmError {
    fn from(err: store::DbError) -> Self {
        FarmError::Store(err.into())
    }
}

/// Turns a store `NotFound` into the service's, naming what was missing.
pub trait OrMissing<T> {
    /// Maps `NotFound` to [`FarmError::NotFound`] with `code` and `what`.
    fn or_missing(self, code: &'static str, what: &'static str) -> FarmResult<T>;
    /// Maps `NotFound` to [`FarmError::Invalid`] on `field`: an id given in a body.
    fn or_invalid(self, field: &'static str, message: &'static str) -> FarmResult<T>;
}

impl<T> OrMissing<T> for Result<T, StoreError> {
    fn or_missing(self, code: &'static str, what: &'static str) -> FarmResult<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => FarmError::NotFound { code, what },
            other => other.into(),
        })
    }

    fn or_invalid(self, field: &'static str, message: &'static str) -> FarmResult<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => FarmError::invalid(field, message),
            other => other.into(),
        })
    }
}
