//! Hub and dashboard messages on any text: what arrives on the two sockets. A message
//! that decodes must encode and decode back to itself (what the server writes, it reads).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) {
    if let Ok(message) = serde_json::from_str::<T>(text) {
        let written = serde_json::to_string(&message).expect("a decoded message encodes");
        let back: T = serde_json::from_str(&written).expect("what is written is read");
        assert_eq!(back, message, "{written}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<proto::hub::HubToServer>(text);
    round_trip::<proto::hub::ServerToHub>(text);
    round_trip::<proto::dashboard::ClientMessage>(text);
    round_trip::<proto::dashboard::ServerMessage>(text);
});
