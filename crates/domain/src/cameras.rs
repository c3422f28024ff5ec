//! Camera rules: what a snapshot must look like, and the settings a camera takes.

pub use crate::printers::CameraType;

/// The largest snapshot taken from a camera (bytes): a 4K JPEG is well under this.
pub const MAX_SNAPSHOT_BYTES: usize = 5 * 1024 * 1024;

/// The rotations a camera picture may be given, in degrees.
pub const ROTATIONS: [i64; 4] = [0, 90, 180, 270];

/// The media type of an image, told by its first bytes (a camera's own `Content-Type`
/// is not trusted: a login page served with `image/jpeg` is still a login page).
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Whether a camera of this type has a picture the server can fetch itself (from its
/// snapshot URL); a Bambu camera's picture comes through its printer's hub instead.
pub fn fetched_by_url(kind: CameraType) -> bool {
    matches!(kind, CameraType::Ip | CameraType::Mjpeg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_told_by_its_magic_bytes_not_its_name() {
        assert_eq!(
            image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"<html>login</html>"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn only_ip_and_mjpeg_cameras_are_fetched_by_url() {
        assert!(fetched_by_url(CameraType::Ip));
        assert!(fetched_by_url(CameraType::Mjpeg));
        assert!(!fetched_by_url(CameraType::Bambu));
        assert!(!fetched_by_url(CameraType::Rtsp));
    }
}
