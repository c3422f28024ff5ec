//! H.264 over RTP (RFC 3550 headers, RFC 6184 payloads, non-interleaved mode): single
//! NAL unit packets, STAP-A (several small NAL units in one packet: SPS and PPS) and
//! FU-A (one large NAL unit over several packets). The camera is joined mid-stream, so
//! the depacketizer drops whatever it cannot complete (a fragment without its start, a
//! sequence gap) and hands over access units (all NAL units up to the marker bit) whole.
//!
//! [`to_jpeg`] decodes one access unit with OpenH264 (behind the SDP's SPS and PPS) and
//! encodes the picture as a JPEG, the image the hub answers for every camera.

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

use super::RtspsError;

/// NAL unit type of an IDR slice (a picture decodable on its own).
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;
/// The RTP header without CSRCs or extension.
const RTP_HEADER: usize = 12;

/// One RTP packet, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Set on the last packet of an access unit.
    pub marker: bool,
    /// The payload type (the SDP's `rtpmap`).
    pub payload_type: u8,
    /// Counts packets, wrapping.
    pub sequence: u16,
    /// 90 kHz media clock; one value per access unit.
    pub timestamp: u32,
    /// The stream's source id.
    pub ssrc: u32,
    /// The H.264 payload.
    pub payload: &'a [u8],
}

/// Parses an RTP packet (version 2; CSRCs, extension and padding skipped).
pub fn parse_rtp(packet: &[u8]) -> Option<RtpPacket<'_>> {
    if packet.len() < RTP_HEADER || packet[0] >> 6 != 2 {
        return None;
    }
    let csrcs = usize::from(packet[0] & 0x0F);
    let mut start = RTP_HEADER + 4 * csrcs;
    if packet[0] & 0x10 != 0 {
        let words = packet.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    let mut end = packet.len();
    if packet[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*packet.last()?))?;
    }
    Some(RtpPacket {
        marker: packet[1] & 0x80 != 0,
        payload_type: packet[1] & 0x7F,
        sequence: u16::from_be_bytes([packet[2], packet[3]]),
        timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
        ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        payload: packet.get(start..end)?,
    })
}

/// The bytes of an RTP packet (version 2, no CSRCs, no extension).
pub fn rtp_packet(packet: &RtpPacket<'_>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(RTP_HEADER + packet.payload.len());
    bytes.push(0x80);
    bytes.push(u8::from(packet.marker) << 7 | (packet.payload_type & 0x7F));
    bytes.extend_from_slice(&packet.sequence.to_be_bytes());
    bytes.extend_from_slice(&packet.timestamp.to_be_bytes());
    bytes.extend_from_slice(&packet.ssrc.to_be_bytes());
    bytes.extend_from_slice(packet.payload);
    bytes
}

/// One picture's NAL units, without start codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessUnit {
    /// The NAL units in decoding order.
    pub nals: Vec<Vec<u8>>,
}

impl AccessUnit {
    /// Whether it holds an IDR slice (decodable without earlier pictures).
    pub fn is_idr(&self) -> bool {
        self.nals
            .iter()
            .any(|nal| nal.first().is_some_and(|h| h & 0x1F == NAL_IDR))
    }

    fn size(&self) -> usize {
        self.nals.iter().map(Vec::len).sum()
    }
}

/// Reassembles access units from RTP payloads.
#[derive(Debug)]
pub struct Depacketizer {
    current: AccessUnit,
    timestamp: Option<u32>,
    next_sequence: Option<u16>,
    fragment: Option<Vec<u8>>,
    /// Something of the current access unit was lost: it is dropped at its marker.
    broken: bool,
    max: usize,
}

impl Depacketizer {
    /// A depacketizer refusing access units of more than `max` bytes.
    pub fn new(max: usize) -> Self {
        Depacketizer {
            current: AccessUnit::default(),
            timestamp: None,
            next_sequence: None,
            fragment: None,
            broken: false,
            max,
        }
    }

    /// Takes one packet; answers an access unit when this packet completed one whole.
    pub fn push(&mut self, packet: &RtpPacket<'_>) -> Result<Option<AccessUnit>, RtspsError> {
        if self
            .next_sequence
            .is_some_and(|expected| expected != packet.sequence)
        {
            self.broken = true;
            self.fragment = None;
        }
        self.next_sequence = Some(packet.sequence.wrapping_add(1));
        if self.timestamp.is_some_and(|t| t != packet.timestamp) {
            // A new picture began without the last one's marker: that one is incomplete.
            self.reset();
        }
        self.timestamp = Some(packet.timestamp);
        self.payload(packet.payload);
        let size = self.current.size() + self.fragment.as_ref().map_or(0, Vec::len);
        if size > self.max {
            return Err(RtspsError::TooLarge(size));
        }
        if !packet.marker {
            return Ok(None);
        }
        let unit = std::mem::take(&mut self.current);
        let complete = !self.broken && self.fragment.is_none() && !unit.nals.is_empty();
        self.reset();
        self.timestamp = None;
        Ok(complete.then_some(unit))
    }

    fn reset(&mut self) {
        self.current = AccessUnit::default();
        self.fragment = None;
        self.broken = false;
    }

    fn payload(&mut self, payload: &[u8]) {
        let Some(&header) = payload.first() else {
            return;
        };
        match header & 0x1F {
            1..=23 => self.current.nals.push(payload.to_vec()),
            STAP_A => {
                let mut rest = &payload[1..];
                while rest.len() >= 2 {
                    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    let Some(nal) = rest.get(2..2 + len) else {
                        self.broken = true;
                        return;
                    };
                    if !nal.is_empty() {
                        self.current.nals.push(nal.to_vec());
                    }
                    rest = &rest[2 + len..];
                }
            }
            FU_A => {
                let Some(&fu) = payload.get(1) else {
                    self.broken = true;
                    return;
                };
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                if start {
                    let mut nal = Vec::with_capacity(payload.len() * 8);
                    nal.push((header & 0xE0) | (fu & 0x1F));
                    nal.extend_from_slice(&payload[2..]);
                    self.fragment = Some(nal);
                } else if let Some(nal) = self.fragment.as_mut() {
                    nal.extend_from_slice(&payload[2..]);
                } else {
                    // The start of this NAL unit was missed (joined mid-picture, or lost).
                    self.broken = true;
                    return;
                }
                if end && let Some(nal) = self.fragment.take() {
                    self.current.nals.push(nal);
                }
            }
            // STAP-B, MTAP and FU-B belong to the interleaved mode, which is not asked for.
            _ => self.broken = true,
        }
    }
}

/// RTP payloads for one access unit's NAL units: each that fits in `mtu` alone, small
/// neighbours together as STAP-A, and a larger one split as FU-A.
pub fn packetize(nals: &[&[u8]], mtu: usize) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    let mut group: Vec<&[u8]> = Vec::new();
    let flush = |group: &mut Vec<&[u8]>, payloads: &mut Vec<Vec<u8>>| {
        match group.as_slice() {
            [] => {}
            [one] => payloads.push(one.to_vec()),
            many => {
                // The STAP-A header takes the highest NRI of its units (RFC 6184 §5.7.1).
                let nri = many.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
                let mut stap = vec![nri | STAP_A];
                for nal in many {
                    stap.extend_from_slice(&(nal.len() as u16).to_be_bytes());
                    stap.extend_from_slice(nal);
                }
                payloads.push(stap);
            }
        }
        group.clear();
    };
    for &nal in nals.iter().filter(|n| !n.is_empty()) {
        if nal.len() > mtu {
            flush(&mut group, &mut payloads);
            let (header, body) = (nal[0], &nal[1..]);
            let chunks: Vec<&[u8]> = body.chunks(mtu.saturating_sub(2).max(1)).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let mut fu = header & 0x1F;
                if i == 0 {
                    fu |= 0x80;
                }
                if i + 1 == chunks.len() {
                    fu |= 0x40;
                }
                let mut payload = vec![(header & 0xE0) | FU_A, fu];
                payload.extend_from_slice(chunk);
                payloads.push(payload);
            }
            continue;
        }
        let grouped: usize = 1 + group.iter().map(|n| 2 + n.len()).sum::<usize>();
        if !group.is_empty() && grouped + 2 + nal.len() > mtu {
            flush(&mut group, &mut payloads);
        }
        group.push(nal);
    }
    flush(&mut group, &mut payloads);
    payloads
}

/// The NAL units of an Annex B byte stream (start codes `00 00 01` / `00 00 00 01`).
pub fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |next| next - 3);
        // A four-byte start code leaves a zero before the next three.
        while end > start && stream[end - 1] == 0 && k + 1 < starts.len() {
            end -= 1;
        }
        nals.push(&stream[start..end]);
    }
    nals
}

/// Decodes one access unit (with the SDP's SPS and PPS before it) and encodes the
/// picture as a JPEG of `quality` (1–100).
pub fn to_jpeg(
    parameter_sets: &[Vec<u8>],
    unit: &AccessUnit,
    quality: u8,
) -> Result<Vec<u8>, RtspsError> {
    let decode_error = |error: openh264::Error| RtspsError::Decode(error.to_string());
    let mut decoder = Decoder::new().map_err(decode_error)?;
    let mut picture = None;
    for nal in parameter_sets.iter().chain(unit.nals.iter()) {
        let mut annex_b = Vec::with_capacity(4 + nal.len());
        annex_b.extend_from_slice(&[0, 0, 0, 1]);
        annex_b.extend_from_slice(nal);
        if let Some(yuv) = decoder.decode(&annex_b).map_err(decode_error)? {
            picture = Some(rgb(&yuv));
        }
    }
    if picture.is_none() {
        picture = decoder
            .flush_remaining()
            .map_err(decode_error)?
            .last()
            .map(rgb);
    }
    let (pixels, width, height) =
        picture.ok_or_else(|| RtspsError::Decode("the access unit gave no picture".to_owned()))?;
    let (width, height) = (
        u16::try_from(width).map_err(|_| RtspsError::TooLarge(width))?,
        u16::try_from(height).map_err(|_| RtspsError::TooLarge(height))?,
    );
    let mut jpeg = Vec::with_capacity(pixels.len() / 8);
    jpeg_encoder::Encoder::new(&mut jpeg, quality)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|error| RtspsError::Decode(format!("JPEG encoding failed: {error}")))?;
    Ok(jpeg)
}

fn rgb(yuv: &openh264::decoder::DecodedYUV<'_>) -> (Vec<u8>, usize, usize) {
    let (width, height) = yuv.dimensions();
    let mut pixels = vec![0u8; width * height * 3];
    yuv.write_rgb8(&mut pixels);
    (pixels, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sequence: u16, timestamp: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
        rtp_packet(&RtpPacket {
            marker,
            payload_type: 96,
            sequence,
            timestamp,
            ssrc: 7,
            payload,
        })
    }

    fn push(d: &mut Depacketizer, bytes: &[u8]) -> Option<AccessUnit> {
        d.push(&parse_rtp(bytes).expect("an RTP packet"))
            .expect("within the limit")
    }

    #[test]
    fn an_rtp_header_is_read_past_csrcs_extension_and_padding() {
        let mut bytes = vec![0xB1, 0xE0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 1];
        bytes.extend([0, 0, 0, 2]); // one CSRC
        bytes.extend([0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // a one-word extension
        bytes.extend([0x65, 0xAA]); // the payload
        bytes.extend([0, 0, 3]); // three bytes of padding
        let packet = parse_rtp(&bytes).expect("valid");
        assert!(packet.marker);
        assert_eq!(packet.payload_type, 96);
        assert_eq!((packet.sequence, packet.timestamp, packet.ssrc), (5, 9, 1));
        assert_eq!(packet.payload, &[0x65, 0xAA]);
        assert_eq!(parse_rtp(&[0x40; 12]), None, "version 1");
    }

    #[test]
    fn a_stap_a_and_fu_a_fragments_make_one_idr_access_unit() {
        let sps = [0x67, 1, 2, 3];
        let pps = [0x68, 4, 5];
        let mut stap = vec![0x78];
        for nal in [&sps[..], &pps[..]] {
            stap.extend((nal.len() as u16).to_be_bytes());
            stap.extend(nal);
        }
        let mut d = Depacketizer::new(1 << 20);
        assert_eq!(push(&mut d, &packet(10, 900, false, &stap)), None);
        // An IDR slice (0x65: NRI 3, type 5) in three fragments.
        assert_eq!(
            push(&mut d, &packet(11, 900, false, &[0x7C, 0x85, 10, 11])),
            None
        );
        assert_eq!(
            push(&mut d, &packet(12, 900, false, &[0x7C, 0x05, 12])),
            None
        );
        let unit = push(&mut d, &packet(13, 900, true, &[0x7C, 0x45, 13, 14])).expect("complete");
        assert_eq!(
            unit.nals,
            vec![sps.to_vec(), pps.to_vec(), vec![0x65, 10, 11, 12, 13, 14]]
        );
        assert!(unit.is_idr());

        // The next picture, a P slice in a single NAL unit packet.
        let p = push(&mut d, &packet(14, 4500, true, &[0x41, 9, 9])).expect("complete");
        assert_eq!(p.nals, vec![vec![0x41, 9, 9]]);
        assert!(!p.is_idr());
    }

    #[test]
    fn a_picture_joined_mid_fragment_or_with_a_lost_packet_is_dropped() {
        let mut d = Depacketizer::new(1 << 20);
        // Joined in the middle of a FU-A: no start.
        assert_eq!(push(&mut d, &packet(1, 0, false, &[0x7C, 0x05, 1])), None);
        assert_eq!(push(&mut d, &packet(2, 0, true, &[0x7C, 0x45, 2])), None);
        // A lost packet (3) in the middle of the next picture.
        assert_eq!(push(&mut d, &packet(4, 10, false, &[0x7C, 0x85, 1])), None);
        assert_eq!(push(&mut d, &packet(6, 10, true, &[0x7C, 0x45, 3])), None);
        // Then a whole one.
        let unit = push(&mut d, &packet(7, 20, true, &[0x65, 1])).expect("complete");
        assert_eq!(unit.nals, vec![vec![0x65, 1]]);
    }

    #[test]
    fn an_access_unit_over_the_limit_is_refused() {
        let mut d = Depacketizer::new(100);
        let big = [0x65; 101];
        let packet = packet(1, 0, false, &big);
        assert!(matches!(
            d.push(&parse_rtp(&packet).expect("valid")),
            Err(RtspsError::TooLarge(101))
        ));
    }

    #[test]
    fn packetized_nal_units_come_back_whole() {
        let sps = vec![0x67, 1, 2];
        let pps = vec![0x68, 3];
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..3000).map(|i| i as u8))
            .collect();
        let payloads = packetize(&[&sps, &pps, &idr], 1200);
        assert_eq!(payloads[0][0] & 0x1F, STAP_A, "SPS and PPS together");
        assert!(
            payloads[1..]
                .iter()
                .all(|p| p[0] & 0x1F == FU_A && p.len() <= 1200)
        );
        let mut d = Depacketizer::new(1 << 20);
        let last = payloads.len() - 1;
        let mut unit = None;
        for (i, payload) in payloads.iter().enumerate() {
            unit = push(&mut d, &packet(i as u16, 0, i == last, payload));
        }
        assert_eq!(unit.expect("complete").nals, vec![sps, pps, idr]);
    }

    #[test]
    fn an_annex_b_stream_splits_at_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 3, 0,
        ];
        assert_eq!(
            split_annex_b(&stream),
            vec![&[0x67, 1][..], &[0x68, 2][..], &[0x65, 3, 0][..]]
        );
    }
}
