//! Typed ids: a tenant id can't be passed where a user id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether `text` is a UUID in its canonical hyphenated form (any case).
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Declares a UUID-text id newtype.
macro_rules! uuid_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an id; `None` unless it is a UUID.
            pub fn parse(text: &str) -> Option<Self> {
                is_uuid(text).then(|| $name(text.to_ascii_lowercase()))
            }

            /// Wraps an id read back from the database (already valid).
            pub fn from_stored(text: String) -> Self {
                $name(text)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

uuid_id!(
    /// A farm (tenant).
    TenantId,
    /// A user account.
    UserId,
    /// A personal API token.
    ApiTokenId,
    /// An invitation to join a farm.
    InvitationId,
    /// A printer (its global id; farms also number their printers 1, 2, 3 ...).
    PrinterId,
    /// A print job.
    JobId,
    /// A camera.
    CameraId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_parse_as_ids() {
        let id = TenantId::parse("0F8FAD5B-D9CB-469F-A165-70867728950E").unwrap();
        assert_eq!(id.as_str(), "0f8fad5b-d9cb-469f-a165-70867728950e");
        assert!(TenantId::parse("1").is_none());
        assert!(UserId::parse("0f8fad5b-d9cb-469f-a165-70867728950").is_none());
        assert!(UserId::parse("0f8fad5bxd9cb-469f-a165-70867728950e").is_none());
    }
}
