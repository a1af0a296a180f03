//! Raw bytes → ticket draft → ticket: any input ends in a ticket or a typed rejection, never a panic.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use tr_core::Limits;
use tr_core::email::email_to_draft;

fuzz_target!(|raw: &[u8]| {
    // A small cap keeps the fuzzer on parsing paths, not on allocating; the cap itself is checked by unit tests.
    if let Ok(d) = email_to_draft(raw, 1 << 20) {
        let _ = d.draft.into_ticket(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_708_800), 7, &Limits::default());
    }
});
