//! RTSP 1.0 messages and RTP-over-TCP interleaved frames, which share one byte stream
//! once a session plays (RFC 2326 §10.12: a `$`, a channel byte, a big-endian `u16`
//! length, then the packet). The reader tells the two apart by the first byte and caps
//! what it takes: a header block, a body, and the bytes of the whole connection.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::RtspsError;

/// The largest header block taken (request or status line and headers).
pub const MAX_HEADER: usize = 16 * 1024;
/// The largest body taken (an SDP description is a few hundred bytes).
pub const MAX_BODY: usize = 64 * 1024;

/// One RTSP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The request line (`DESCRIBE rtsps://… RTSP/1.0`) or status line (`RTSP/1.0 200 OK`).
    pub start: String,
    /// Headers in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Message {
    /// The first header of this name (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header of this name, in order (a 401 may carry several `WWW-Authenticate`).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// A response's status code.
    pub fn status(&self) -> Option<u16> {
        let mut words = self.start.split(' ');
        match (words.next(), words.next()) {
            (Some(version), Some(code)) if version.starts_with("RTSP/") => code.parse().ok(),
            _ => None,
        }
    }

    /// A request's method and URI.
    pub fn request(&self) -> Option<(&str, &str)> {
        let mut words = self.start.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some(method), Some(uri), Some(version)) if version.starts_with("RTSP/") => {
                Some((method, uri))
            }
            _ => None,
        }
    }
}

/// What came next on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// An RTSP request or response.
    Message(Message),
    /// An interleaved RTP or RTCP packet.
    Interleaved {
        /// The channel (the client asked for 0 for RTP, 1 for RTCP).
        channel: u8,
        /// The packet.
        payload: Vec<u8>,
    },
}

/// Reads RTSP messages and interleaved packets from a stream, at most `limit` bytes in all.
///
/// [`Reader::next`] is cancel-safe: bytes read are kept in the buffer, so it can sit in a
/// `select!` beside a timer.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    read: usize,
    limit: usize,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    /// A reader over `inner` that refuses to read more than `limit` bytes.
    pub fn new(inner: R, limit: usize) -> Self {
        Reader {
            inner,
            buf: Vec::new(),
            read: 0,
            limit,
        }
    }

    /// The stream, to write to.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The next message or packet; `None` when the peer closed between two of them.
    pub async fn next(&mut self) -> Result<Option<Incoming>, RtspsError> {
        loop {
            if let Some(incoming) = parse(&mut self.buf)? {
                return Ok(Some(incoming));
            }
            self.buf.reserve(16 * 1024);
            let n = self.inner.read_buf(&mut self.buf).await?;
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(RtspsError::Protocol(
                        "the connection closed in the middle of a message".to_owned(),
                    ))
                };
            }
            self.read += n;
            if self.read > self.limit {
                return Err(RtspsError::TooLarge(self.read));
            }
        }
    }
}

/// Takes one whole message or packet off the front of `buf`, if there is one yet.
fn parse(buf: &mut Vec<u8>) -> Result<Option<Incoming>, RtspsError> {
    if buf.first() == Some(&b'$') {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < 4 + len {
            return Ok(None);
        }
        let channel = buf[1];
        let payload = buf[4..4 + len].to_vec();
        buf.drain(..4 + len);
        return Ok(Some(Incoming::Interleaved { channel, payload }));
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEADER {
            return Err(RtspsError::TooLarge(buf.len()));
        }
        return Ok(None);
    };
    if end > MAX_HEADER {
        return Err(RtspsError::TooLarge(end));
    }
    let head = std::str::from_utf8(&buf[..end])
        .map_err(|_| RtspsError::Protocol("an RTSP header is not UTF-8".to_owned()))?;
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| RtspsError::Protocol(format!("a malformed RTSP header: {line}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut message = Message {
        start,
        headers,
        body: Vec::new(),
    };
    let body_len = match message.header("Content-Length") {
        Some(len) => len
            .parse::<usize>()
            .map_err(|_| RtspsError::Protocol(format!("a malformed Content-Length: {len}")))?,
        None => 0,
    };
    if body_len > MAX_BODY {
        return Err(RtspsError::TooLarge(body_len));
    }
    let total = end + 4 + body_len;
    if buf.len() < total {
        return Ok(None);
    }
    message.body = buf[end + 4..total].to_vec();
    buf.drain(..total);
    Ok(Some(Incoming::Message(message)))
}

/// A request: the request line, `CSeq`, the given headers, no body.
pub fn request(method: &str, uri: &str, cseq: u32, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// A response with the request's `CSeq`, the given headers, and a body (with its length).
pub fn response(
    code: u16,
    reason: &str,
    cseq: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut text = format!("RTSP/1.0 {code} {reason}\r\nCSeq: {cseq}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// An interleaved frame: `$`, the channel, the length, the packet (at most 65 535 bytes).
pub fn interleaved(channel: u8, packet: &[u8]) -> Vec<u8> {
    let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
    let mut frame = Vec::with_capacity(4 + usize::from(len));
    frame.push(b'$');
    frame.push(channel);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&packet[..usize::from(len)]);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_and_interleaved_packets_are_told_apart_on_one_stream() {
        let mut wire = response(200, "OK", "3", &[("Session", "12ab")], b"v=0\r\n");
        wire.extend(interleaved(0, &[1, 2, 3]));
        wire.extend(request("TEARDOWN", "rtsps://h/x", 4, &[]));
        let mut reader = Reader::new(wire.as_slice(), 1024);
        let Some(Incoming::Message(first)) = reader.next().await.unwrap() else {
            panic!("a response first");
        };
        assert_eq!(first.status(), Some(200));
        assert_eq!(first.header("session"), Some("12ab"));
        assert_eq!(first.header("CSEQ"), Some("3"));
        assert_eq!(first.body, b"v=0\r\n");
        assert_eq!(
            reader.next().await.unwrap(),
            Some(Incoming::Interleaved {
                channel: 0,
                payload: vec![1, 2, 3]
            })
        );
        let Some(Incoming::Message(last)) = reader.next().await.unwrap() else {
            panic!("a request last");
        };
        assert_eq!(last.request(), Some(("TEARDOWN", "rtsps://h/x")));
        assert_eq!(reader.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_stream_longer_than_the_limit_is_refused() {
        let wire = interleaved(0, &[0; 2000]);
        let mut reader = Reader::new(wire.as_slice(), 1000);
        assert!(matches!(reader.next().await, Err(RtspsError::TooLarge(_))));
        let endless_header = vec![b'A'; MAX_HEADER + 10];
        let mut reader = Reader::new(endless_header.as_slice(), usize::MAX);
        assert!(matches!(reader.next().await, Err(RtspsError::TooLarge(_))));
    }
}
