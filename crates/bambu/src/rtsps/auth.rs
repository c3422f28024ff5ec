//! RTSP authentication: a 401 names a scheme in `WWW-Authenticate`, the next request
//! answers it in `Authorization`. Basic sends the credentials as they are (inside TLS
//! here); Digest (RFC 2617, MD5) sends a hash bound to the server's nonce, the method
//! and the URI. The server side ([`verify`]) is what the simulator checks with.

use base64::Engine;
use md5::{Digest, Md5};

/// What a server asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// User and password, base64-encoded.
    Basic,
    /// An MD5 digest over the server's nonce.
    Digest {
        /// The protection space, part of the hash.
        realm: String,
        /// The server's one-time value.
        nonce: String,
        /// Echoed back unchanged, when given.
        opaque: Option<String>,
        /// The server offers `qop=auth` (client nonce and count in the hash).
        qop_auth: bool,
    },
}

/// The challenge to answer among a 401's `WWW-Authenticate` headers: Digest when
/// offered (it does not send the access code), else Basic; `None` for anything else.
pub fn choose<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let mut basic = None;
    for header in headers {
        match parse_challenge(header) {
            Some(digest @ Challenge::Digest { .. }) => return Some(digest),
            Some(Challenge::Basic) => basic = Some(Challenge::Basic),
            None => {}
        }
    }
    basic
}

/// One `WWW-Authenticate` value.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let params = params(rest);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    if get("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("md5")) {
        return None;
    }
    Some(Challenge::Digest {
        realm: get("realm").unwrap_or_default(),
        nonce: get("nonce")?,
        opaque: get("opaque"),
        qop_auth: get("qop").is_some_and(|q| q.split(',').any(|q| q.trim() == "auth")),
    })
}

/// `key=value, key="quoted, value"` pairs.
fn params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.push((key, value.trim().to_owned()));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// RFC 2617's `response`: `MD5(HA1:nonce[:nc:cnonce:qop]:HA2)`, with
/// `HA1 = MD5(user:realm:password)` and `HA2 = MD5(method:uri)`.
#[allow(clippy::too_many_arguments)]
pub fn digest_response(
    user: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// The `Authorization` value answering `challenge` for this request; `count` is how
/// many requests have answered this nonce (1 for the first), `cnonce` a fresh value.
pub fn authorization(
    challenge: &Challenge,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    count: u32,
    cnonce: &str,
) -> String {
    match challenge {
        Challenge::Basic => {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        }
        Challenge::Digest {
            realm,
            nonce,
            opaque,
            qop_auth,
        } => {
            let nc = format!("{count:08x}");
            let qop = qop_auth.then_some((nc.as_str(), cnonce));
            let response = digest_response(user, realm, password, method, uri, nonce, qop);
            let mut header = format!(
                "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\""
            );
            if *qop_auth {
                header.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
            }
            if let Some(opaque) = opaque {
                header.push_str(&format!(", opaque=\"{opaque}\""));
            }
            header
        }
    }
}

/// Whether an `Authorization` value proves `user` and `password`: Basic, or Digest over
/// this `realm` and `nonce` for this `method` (the URI is the one the client hashed).
pub fn verify(
    header: &str,
    method: &str,
    user: &str,
    password: &str,
    realm: &str,
    nonce: &str,
) -> bool {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        return rest.trim() == expected;
    }
    if !scheme.eq_ignore_ascii_case("digest") {
        return false;
    }
    let params = params(rest);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let (Some(given_user), Some(uri), Some(response)) =
        (get("username"), get("uri"), get("response"))
    else {
        return false;
    };
    if given_user != user || get("realm") != Some(realm) || get("nonce") != Some(nonce) {
        return false;
    }
    let qop = match (get("qop"), get("nc"), get("cnonce")) {
        (Some("auth"), Some(nc), Some(cnonce)) => Some((nc, cnonce)),
        (None, _, _) => None,
        _ => return false,
    };
    digest_response(user, realm, password, method, uri, nonce, qop) == response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_response_matches_rfc_2617s_example() {
        // RFC 2617 §3.5: Mufasa / "Circle Of Life", GET /dir/index.html.
        let response = digest_response(
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(("00000001", "0a4f113b")),
        );
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn a_digest_challenge_is_read_with_quoted_commas_and_preferred_over_basic() {
        let challenge = choose([
            "Basic realm=\"cam\"",
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        ]);
        assert_eq!(
            challenge,
            Some(Challenge::Digest {
                realm: "testrealm@host.com".to_owned(),
                nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".to_owned(),
                opaque: Some("5ccc069c403ebaf9f0171e9517f40e41".to_owned()),
                qop_auth: true,
            })
        );
        assert_eq!(choose(["Basic realm=\"cam\""]), Some(Challenge::Basic));
        assert_eq!(choose(["Negotiate abc"]), None);
    }

    #[test]
    fn an_answer_verifies_only_with_the_right_password() {
        let challenge = Challenge::Digest {
            realm: "sim".to_owned(),
            nonce: "abc123".to_owned(),
            opaque: None,
            qop_auth: false,
        };
        let uri = "rtsps://127.0.0.1:322/streaming/live/1";
        let right = authorization(&challenge, "bblp", "12345678", "DESCRIBE", uri, 1, "x");
        assert!(verify(
            &right, "DESCRIBE", "bblp", "12345678", "sim", "abc123"
        ));
        assert!(!verify(
            &right, "DESCRIBE", "bblp", "00000000", "sim", "abc123"
        ));
        assert!(!verify(
            &right, "SETUP", "bblp", "12345678", "sim", "abc123"
        ));
        assert!(!verify(
            &right, "DESCRIBE", "bblp", "12345678", "sim", "other"
        ));
        let basic = authorization(&Challenge::Basic, "bblp", "12345678", "PLAY", uri, 1, "");
        assert_eq!(basic, "Basic YmJscDoxMjM0NTY3OA==");
        assert!(verify(&basic, "PLAY", "bblp", "12345678", "sim", "abc123"));
        assert!(!verify(&basic, "PLAY", "bblp", "1234567", "sim", "abc123"));
    }
}
