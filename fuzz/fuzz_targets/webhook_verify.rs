//! Webhook signatures on any secret, body, header and clock: PrintFarm's own (what a
//! receiver checks) and Shopify's (what the server checks on every incoming webhook).
//! Checking never panics; a signature made verifies, and not for another body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, Vec<u8>, String, i64)| {
    let (secret, body, header, now) = input;
    let _ = proto::webhook::verify(&secret, &header, &body, now);
    let _ = shopify::webhook::verify(secret.as_bytes(), &body, &header);

    let signed = proto::webhook::sign(&secret, now, &body);
    assert!(proto::webhook::verify(&secret, &signed, &body, now));
    let mut other = body.clone();
    other.push(b'x');
    assert!(!proto::webhook::verify(&secret, &signed, &other, now));

    let shopify_signed = shopify::webhook::sign(secret.as_bytes(), &body);
    assert!(shopify::webhook::verify(
        secret.as_bytes(),
        &body,
        &shopify_signed
    ));
    assert!(!shopify::webhook::verify(
        secret.as_bytes(),
        &other,
        &shopify_signed
    ));
});
