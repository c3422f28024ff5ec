//! Shopify's decimal money strings as integer cents.
//!
//! Shopify sends amounts as decimal strings ("12.30", "0.0", "1000"). We parse them exactly,
//! never through a float. Rule: up to two decimals are taken as they are ("12.3" is 1230);
//! further decimals must be zeros ("12.340" is 1234) and anything else ("12.345") is refused,
//! so money is never silently rounded. Three-decimal currencies (KWD, BHD…) therefore fail
//! loudly rather than being stored wrong. Negative amounts are refused: orders, lines and
//! totals are never negative in the payloads we read.

use crate::ShopifyError;

/// Parses a Shopify decimal amount into integer cents (see the module rule).
pub fn cents(amount: &str) -> Result<i64, ShopifyError> {
    let refuse = || ShopifyError::Amount(amount.to_owned());
    let text = amount.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(refuse());
    }
    if text.contains('.') && fraction.is_empty() {
        return Err(refuse());
    }
    let (kept, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return Err(refuse());
    }
    let whole: i64 = whole.parse().map_err(|_| refuse())?;
    let mut fraction_cents: i64 = if kept.is_empty() {
        0
    } else {
        kept.parse().map_err(|_| refuse())?
    };
    if kept.len() == 1 {
        fraction_cents *= 10;
    }
    whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction_cents))
        .ok_or_else(refuse)
}

/// Formats cents as Shopify's decimal string ("1230" → "12.30").
pub fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals_are_exact_cents() {
        assert_eq!(cents("12.30").unwrap(), 1230);
        assert_eq!(cents("0.01").unwrap(), 1);
        assert_eq!(cents("249.98").unwrap(), 24998);
    }

    #[test]
    fn one_decimal_is_tens_of_cents() {
        assert_eq!(cents("12.3").unwrap(), 1230);
        assert_eq!(cents("0.0").unwrap(), 0);
    }

    #[test]
    fn whole_amounts_have_no_cents() {
        assert_eq!(cents("1000").unwrap(), 100_000);
        assert_eq!(cents("0").unwrap(), 0);
    }

    #[test]
    fn trailing_zeros_beyond_cents_are_accepted() {
        assert_eq!(cents("12.340").unwrap(), 1234);
        assert_eq!(cents("5.0000").unwrap(), 500);
    }

    #[test]
    fn a_third_significant_decimal_is_refused_not_rounded() {
        assert!(matches!(cents("12.345"), Err(ShopifyError::Amount(_))));
        assert!(cents("0.001").is_err());
    }

    #[test]
    fn negative_and_malformed_amounts_are_refused() {
        for bad in [
            "-1.00", "", " ", ".5", "5.", "1,00", "1e3", "+1", "abc", "1.2.3", "NaN",
        ] {
            assert!(cents(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_amount_too_large_for_cents_is_refused() {
        assert!(cents("92233720368547758.08").is_err());
        assert_eq!(
            cents("92233720368547758.07").unwrap(),
            9_223_372_036_854_775_807
        );
    }

    #[test]
    fn cents_format_back_as_shopify_decimals() {
        assert_eq!(decimal(1230), "12.30");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(0), "0.00");
    }
}
