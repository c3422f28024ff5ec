//! The printer report merge on any sequence of MQTT payloads (one per line): a printer's
//! reports, or anything on its report topic. Merging never panics, the report read from
//! the state never panics, and merging the same status push twice changes nothing (a
//! repeated push, as after a reconnect, is harmless).
#![no_main]
use bambu::report::{Incoming, PrinterState};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut state = PrinterState::new();
    let mut last = None;
    for payload in data.split(|b| *b == b'\n') {
        if let Ok(Incoming::Status(print)) = state.apply_message(payload) {
            last = Some(print);
        }
    }
    let _ = state.report();
    if let Some(print) = last {
        let mut again = state.clone();
        again.merge(&print);
        assert_eq!(again, state, "a repeated push changed the state");
    }
});
