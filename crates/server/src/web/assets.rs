//! The dashboard's static files, embedded in the binary: the style sheet, the live-socket
//! script and the icon sprite. Each URL carries a hash of the file's content
//! (`/assets/app.3f9c…​.css`), so a browser may keep it for a year: a new build has new URLs.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One embedded file.
struct Asset {
    /// Name before the extension (`app`).
    stem: &'static str,
    /// Extension (`css`).
    ext: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// The first 16 hex digits of the content's SHA-256.
    hash: String,
}

impl Asset {
    fn new(
        stem: &'static str,
        ext: &'static str,
        content_type: &'static str,
        bytes: &'static [u8],
    ) -> Asset {
        let digest = Sha256::digest(bytes);
        Asset {
            stem,
            ext,
            content_type,
            bytes,
            hash: hex::encode(&digest[..8]),
        }
    }

    fn url(&self) -> String {
        format!("/assets/{}.{}.{}", self.stem, self.hash, self.ext)
    }
}

/// The icon sprite's text, which pages also carry inline (one copy instead of a long URL
/// per icon); the file itself serves as the favicon.
pub const SPRITE: &str = include_str!("../../assets/icons.svg");

static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        Asset::new(
            "app",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/app.css"),
        ),
        Asset::new(
            "live",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/live.js"),
        ),
        Asset::new("icons", "svg", "image/svg+xml", SPRITE.as_bytes()),
    ]
});

/// The URLs of the static files, as pages link them.
#[derive(Debug)]
pub struct Urls {
    /// The style sheet.
    pub css: String,
    /// The live-socket script.
    pub js: String,
    /// The icon sprite (`{{ icons }}#pause`).
    pub icons: String,
}

static URLS: LazyLock<Urls> = LazyLock::new(|| Urls {
    css: ASSETS[0].url(),
    js: ASSETS[1].url(),
    icons: ASSETS[2].url(),
});

/// The URLs of the static files.
pub fn urls() -> &'static Urls {
    &URLS
}

/// GET /assets/{file} — an embedded file by `stem.hash.ext`. The current hash is cached
/// for a year (`immutable`); an older one (a page from before an upgrade) still gets the
/// current file, but only revalidated, so it can't be pinned under the wrong name.
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let mut parts = file.split('.');
    let (Some(stem), Some(hash), Some(ext), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return not_found();
    };
    let Some(asset) = ASSETS.iter().find(|a| a.stem == stem && a.ext == ext) else {
        return not_found();
    };
    let etag = format!("\"{}\"", asset.hash);
    let cache = if hash == asset.hash {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such file",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_a_content_hash() {
        let urls = urls();
        assert!(urls.css.starts_with("/assets/app.") && urls.css.ends_with(".css"));
        assert!(urls.js.starts_with("/assets/live.") && urls.js.ends_with(".js"));
        assert_eq!(urls.icons.split('.').nth(1).map(str::len), Some(16));
    }
}
