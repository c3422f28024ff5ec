//! The 3MF reader on any bytes: an upload is whatever a client sends. It may refuse, never
//! panic, and stays within its limits (the fuzzer's memory limit is 2 GB).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = threemf::Limits::default();
    if let Ok(project) = threemf::read(std::io::Cursor::new(data), &limits) {
        // What the server reads of a project must not panic either.
        let _ = serde_json::to_string(&project);
    }
});
