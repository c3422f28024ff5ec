//! The DESCRIBE answer (SDP, RFC 4566) read only as far as the camera needs: the first
//! H.264 video track's payload type, its control URL (what SETUP names), and the SPS and
//! PPS from `sprop-parameter-sets` (RFC 6184 §8.1), which a decoder needs before a slice.

use base64::Engine;

/// The H.264 track of a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoTrack {
    /// The RTP payload type (dynamic, usually 96).
    pub payload_type: u8,
    /// `a=control`, as given (absolute, relative, or `*`).
    pub control: String,
    /// The SPS and PPS NAL units, without start codes (may be empty: then in-band).
    pub parameter_sets: Vec<Vec<u8>>,
}

/// The first H.264 video track in `sdp`; `None` when there is none.
pub fn h264_track(sdp: &str) -> Option<VideoTrack> {
    // Media sections start at `m=`; the session part before the first one is skipped.
    let mut sections = sdp.split("\nm=").skip(1);
    sections.find_map(|section| {
        let mut lines = section.lines().map(str::trim_end);
        let media = lines.next()?;
        let mut words = media.split_whitespace();
        if words.next() != Some("video") {
            return None;
        }
        let formats: Vec<u8> = words.skip(2).filter_map(|w| w.parse().ok()).collect();
        let attributes: Vec<&str> = lines.filter_map(|l| l.strip_prefix("a=")).collect();
        let payload_type = attributes.iter().find_map(|a| {
            let (pt, codec) = a.strip_prefix("rtpmap:")?.split_once(' ')?;
            let pt: u8 = pt.trim().parse().ok()?;
            let name = codec.split('/').next()?;
            (name.eq_ignore_ascii_case("H264") && formats.contains(&pt)).then_some(pt)
        })?;
        let control = attributes
            .iter()
            .find_map(|a| a.strip_prefix("control:"))
            .unwrap_or("*")
            .trim()
            .to_owned();
        let parameter_sets = attributes
            .iter()
            .filter_map(|a| {
                let (pt, params) = a.strip_prefix("fmtp:")?.split_once(' ')?;
                (pt.trim().parse::<u8>().ok()? == payload_type).then_some(params)
            })
            .flat_map(|params| params.split(';'))
            .filter_map(|param| param.trim().strip_prefix("sprop-parameter-sets="))
            .flat_map(|sets| sets.split(','))
            .filter_map(|set| {
                base64::engine::general_purpose::STANDARD
                    .decode(set.trim())
                    .ok()
            })
            .filter(|set| !set.is_empty())
            .collect();
        Some(VideoTrack {
            payload_type,
            control,
            parameter_sets,
        })
    })
}

/// The URL SETUP names: `control` when absolute, `base` for `*`, else `control` under `base`.
pub fn control_url(base: &str, control: &str) -> String {
    if control.starts_with("rtsp://") || control.starts_with("rtsps://") {
        control.to_owned()
    } else if control == "*" || control.is_empty() {
        base.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\n\
        o=- 1 1 IN IP4 127.0.0.1\r\n\
        s=Streaming\r\n\
        a=control:*\r\n\
        t=0 0\r\n\
        m=audio 0 RTP/AVP 97\r\n\
        a=rtpmap:97 MPEG4-GENERIC/48000/2\r\n\
        a=control:track0\r\n\
        m=video 0 RTP/AVP 96\r\n\
        c=IN IP4 0.0.0.0\r\n\
        a=rtpmap:96 H264/90000\r\n\
        a=fmtp:96 packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=Z0LAH9oBQBbsBEAAAAMAQAAADyPGDKg=,aM4PyA==\r\n\
        a=control:track1\r\n";

    #[test]
    fn the_h264_track_is_found_with_its_control_and_parameter_sets() {
        let track = h264_track(SDP).expect("a video track");
        assert_eq!(track.payload_type, 96);
        assert_eq!(track.control, "track1");
        assert_eq!(track.parameter_sets.len(), 2);
        // An SPS (type 7) then a PPS (type 8).
        assert_eq!(track.parameter_sets[0][0] & 0x1F, 7);
        assert_eq!(track.parameter_sets[1], vec![0x68, 0xCE, 0x0F, 0xC8]);
        assert_eq!(h264_track(&SDP.replace("H264", "H265")), None);
    }

    #[test]
    fn a_control_url_is_resolved_against_the_base() {
        let base = "rtsps://10.0.0.5:322/streaming/live/1";
        assert_eq!(control_url(base, "track1"), format!("{base}/track1"));
        assert_eq!(
            control_url(&format!("{base}/"), "track1"),
            format!("{base}/track1")
        );
        assert_eq!(control_url(base, "*"), base);
        assert_eq!(
            control_url(base, "rtsps://10.0.0.5:322/other"),
            "rtsps://10.0.0.5:322/other"
        );
    }
}
