//! Parse, don't validate: input becomes a typed value or a list of field errors.

use serde::Serialize;
use std::fmt;

/// One rejected input field, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name in the request body (`email`, `password`, ...).
    pub field: String,
    /// What is wrong with it, for a person to read.
    pub message: String,
}

/// Input that was refused: one or more field errors.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// A single field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Invalid(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// Collects one field error.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// A text field trimmed, `None` when blank; longer than `max` characters is an error of
    /// `field` (and `None`).
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        let value = value.trim();
        if value.chars().count() > max {
            self.add(field, format!("{field} must be at most {max} characters"));
            return None;
        }
        (!value.is_empty()).then(|| value.to_string())
    }

    /// Collects the error of `result` (if any) and returns its value.
    pub fn take<T>(&mut self, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Invalid(errors)) => {
                self.0.extend(errors);
                None
            }
        }
    }

    /// `Ok(())` when no error was collected.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Declares a validated text newtype with `parse`, `as_str` and `Display`.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// A syntactically valid email address, trimmed and lower-cased.
    Email
);

impl Email {
    /// Parses an address for the field `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        let bad = |m: &str| Err(Invalid::field(field, m));
        if email.is_empty() {
            return bad("email is required");
        }
        if email.len() > 254 {
            return bad("email is longer than 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return bad("email must look like name@example.com");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains(char::is_whitespace)
            && !local.contains('@');
        if !(domain_ok && local_ok) {
            return bad("email must look like name@example.com");
        }
        Ok(Email(email))
    }
}

/// A password that meets the policy. Never displayed or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Passwords shorter than this are refused.
pub const PASSWORD_MIN_LEN: usize = 8;
/// Passwords longer than this are refused (hashing cost is bounded).
pub const PASSWORD_MAX_LEN: usize = 128;

/// Passwords everyone tries first; refused whatever their length.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "11111111",
    "iloveyou",
    "abc12345",
    "letmein1",
    "welcome1",
    "printfarm",
    "00000000",
    "abcdefgh",
];

impl Password {
    /// Checks a new password against the policy: length and not a common password.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_LEN {
            return Err(Invalid::field(
                field,
                format!("password must be at least {PASSWORD_MIN_LEN} characters"),
            ));
        }
        if chars > PASSWORD_MAX_LEN {
            return Err(Invalid::field(
                field,
                format!("password must be at most {PASSWORD_MAX_LEN} characters"),
            ));
        }
        let lowered = raw.to_lowercase();
        let one_char_repeated = raw.chars().all(|c| raw.starts_with(c));
        if COMMON_PASSWORDS.contains(&lowered.as_str()) || one_char_repeated {
            return Err(Invalid::field(
                field,
                "password is too common: choose one that is harder to guess",
            ));
        }
        Ok(Password(raw.to_string()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Parses a required single-line text of `1..=max` characters after trimming.
fn required_text(field: &str, raw: &str, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid::field(field, format!("{field} is required")));
    }
    if text.chars().count() > max {
        return Err(Invalid::field(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::field(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(text.to_string())
}

text_value!(
    /// A person's display name.
    PersonName
);

impl PersonName {
    /// Parses a name of 1 to 100 characters.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        required_text(field, raw, 100).map(PersonName)
    }
}

text_value!(
    /// A farm's (company's) name.
    FarmName
);

impl FarmName {
    /// Parses a farm name of 1 to 100 characters.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        required_text(field, raw, 100).map(FarmName)
    }
}

text_value!(
    /// A farm's subdomain: 3 to 63 of `a-z`, `0-9` and inner hyphens.
    Subdomain
);

/// Subdomains kept for the service itself.
const RESERVED_SUBDOMAINS: &[&str] = &[
    "www",
    "api",
    "app",
    "admin",
    "dashboard",
    "static",
    "assets",
    "mail",
    "hub",
    "hubs",
    "ws",
    "status",
    "help",
    "docs",
];

impl Subdomain {
    /// Parses a subdomain as given by a client.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        let text = raw.trim().to_ascii_lowercase();
        let valid_chars = text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(3..=63).contains(&text.len())
            || !valid_chars
            || text.starts_with('-')
            || text.ends_with('-')
        {
            return Err(Invalid::field(
                field,
                "subdomain must be 3 to 63 characters of a-z, 0-9 and hyphens, not starting or ending with a hyphen",
            ));
        }
        if RESERVED_SUBDOMAINS.contains(&text.as_str()) {
            return Err(Invalid::field(
                field,
                format!("subdomain '{text}' is reserved"),
            ));
        }
        Ok(Subdomain(text))
    }

    /// Derives a subdomain from a farm name ("Acme Prints!" → "acme-prints").
    ///
    /// Falls back to `farm` when the name has too few letters or digits; the caller
    /// adds a suffix when the result is taken.
    pub fn from_name(name: &FarmName) -> Subdomain {
        let mut slug = String::new();
        for c in name.as_str().to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        slug.truncate(40);
        let slug = slug.trim_matches('-').to_string();
        Subdomain::parse("subdomain", &slug)
            .unwrap_or_else(|_| Subdomain(format!("farm-{slug}").trim_end_matches('-').to_string()))
    }

    /// The same subdomain with a numeric suffix, for when the plain one is taken.
    pub fn with_suffix(&self, n: u32) -> Subdomain {
        let mut base = self.0.clone();
        base.truncate(63 - 1 - n.to_string().len());
        Subdomain(format!("{}-{n}", base.trim_end_matches('-')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            Email::parse("email", "  Ada@Example.COM ")
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@@example.com",
        ] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.0[0].field, "email", "{bad}");
        }
    }

    #[test]
    fn a_short_or_common_password_is_refused_with_the_field_named() {
        assert!(Password::parse("password", "correct horse").is_ok());
        let short = Password::parse("password", "abc123").unwrap_err();
        assert_eq!(short.0[0].field, "password");
        assert!(short.0[0].message.contains("at least 8"));
        assert!(
            Password::parse("newPassword", "Password123").unwrap_err().0[0]
                .message
                .contains("common")
        );
        assert!(Password::parse("password", "aaaaaaaaaa").is_err());
        assert!(Password::parse("password", &"x1".repeat(65)).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password::parse("password", "hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn names_must_be_present_and_bounded() {
        assert_eq!(
            PersonName::parse("name", "  Ada  ").unwrap().as_str(),
            "Ada"
        );
        assert!(PersonName::parse("name", "   ").is_err());
        assert!(FarmName::parse("company_name", &"x".repeat(101)).is_err());
        assert!(FarmName::parse("company_name", "a\u{0007}b").is_err());
    }

    #[test]
    fn subdomains_follow_dns_label_rules() {
        assert_eq!(
            Subdomain::parse("subdomain", "Acme-3D").unwrap().as_str(),
            "acme-3d"
        );
        for bad in [
            "ab",
            "-acme",
            "acme-",
            "acme_prints",
            "www",
            &"a".repeat(64),
        ] {
            assert!(Subdomain::parse("subdomain", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_subdomain_is_derived_from_the_farm_name() {
        let name = FarmName::parse("company_name", "Acme Prints & Co!").unwrap();
        assert_eq!(Subdomain::from_name(&name).as_str(), "acme-prints-co");
        let short = FarmName::parse("company_name", "Zé").unwrap();
        assert_eq!(Subdomain::from_name(&short).as_str(), "farm-z");
        let www = FarmName::parse("company_name", "WWW").unwrap();
        assert_eq!(Subdomain::from_name(&www).as_str(), "farm-www");
        assert_eq!(
            Subdomain::from_name(&name).with_suffix(2).as_str(),
            "acme-prints-co-2"
        );
    }

    #[test]
    fn field_errors_are_collected() {
        let mut invalid = Invalid::default();
        let email = invalid.take(Email::parse("email", "nope"));
        let name = invalid.take(PersonName::parse("name", "Ada"));
        assert!(email.is_none());
        assert!(name.is_some());
        let err = invalid.into_result().unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(
            err.to_string(),
            "email: email must look like name@example.com"
        );
    }
}
