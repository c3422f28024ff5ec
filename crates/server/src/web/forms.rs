//! Pieces the catalogue, stock and materials pages share for their plain forms (POST, then
//! a redirect; errors shown in the form): fields as `_field.html` draws them, form text
//! read into numbers the way the API would refuse them, and the refusal of a role.

use super::PageError;
use super::accounts::{Field, FormErrors};
use crate::error::ApiError;
use domain::{FieldError, Invalid, Role};

/// A form field named `name` (its API name too), labelled `label`, showing `value`.
pub fn field(name: &'static str, label: &'static str, kind: &'static str, value: &str) -> Field {
    Field {
        name,
        api_name: name,
        label,
        kind,
        value: value.to_string(),
        autocomplete: "off",
        hint: None,
        error: None,
        required: true,
    }
}

/// The same field, optional.
pub fn optional(mut field: Field) -> Field {
    field.required = false;
    field
}

/// The same field with help below its label.
pub fn hinted(mut field: Field, hint: &'static str) -> Field {
    field.hint = Some(hint);
    field
}

/// Puts each problem of `errors` on its field.
pub fn mark(fields: &mut [Field], errors: &FormErrors) {
    for field in fields {
        field.error = errors.get(field.name);
    }
}

/// A whole number typed into `field` (blank: `None`), or a field error in the API's words.
pub fn whole(invalid: &mut Invalid, field: &str, text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.trim_start_matches('+').parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            invalid.0.push(FieldError {
                field: field.into(),
                message: format!("{field} must be a whole number"),
            });
            None
        }
    }
}

/// A number typed into `field` (blank: `None`), or a field error.
pub fn number(invalid: &mut Invalid, field: &str, text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            invalid.0.push(FieldError {
                field: field.into(),
                message: format!("{field} must be a number"),
            });
            None
        }
    }
}

/// Blank text as `None`.
pub fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Refuses a member below `role`, in the API's words (`INSUFFICIENT_ROLE`, 403).
pub fn at_least(role: Role, needed: Role, doing: &str) -> Result<(), PageError> {
    if role.at_least(needed) {
        return Ok(());
    }
    let who = match needed {
        Role::Owner => "owners",
        Role::Admin => "admins and owners",
        _ => "operators, admins and owners",
    };
    Err(PageError::Api(ApiError::forbidden(
        "INSUFFICIENT_ROLE",
        format!("only {who} may {doing}"),
    )))
}

/// The 1-based page asked for (`?page=`), else the first.
pub fn page_number(page: Option<&str>) -> i64 {
    page.and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_are_read_or_refused_in_the_apis_words() {
        let mut invalid = Invalid::default();
        assert_eq!(whole(&mut invalid, "adjustment", " -3 "), Some(-3));
        assert_eq!(whole(&mut invalid, "adjustment", "+4"), Some(4));
        assert_eq!(whole(&mut invalid, "adjustment", ""), None);
        assert!(invalid.0.is_empty());
        assert_eq!(whole(&mut invalid, "adjustment", "two"), None);
        assert_eq!(invalid.0[0].message, "adjustment must be a whole number");
        assert_eq!(number(&mut invalid, "remaining", "12.5"), Some(12.5));
        assert_eq!(page_number(Some("3")), 3);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(None), 1);
    }
}
