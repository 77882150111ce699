//! Any bytes given to the envelope reader (ASiC-E, ETSI EN 319 162-1; EDE 5.1.1) and to the
//! reader of signed receipts from other nodes (ASiC-S, EDE 4.5): a clear error or the contents,
//! never a panic. Round trip: an envelope that opens, sealed again by the platform's writer with
//! the same seal, opens to the same contents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mubadile_core::exchange::envelope;
use mubadile_core::exchange::receipt::{self, Receipt};

fuzz_target!(|data: &[u8]| {
    let _ = envelope::is_envelope(data);
    if let Ok(opened) = envelope::open(data) {
        // Names the writer refuses (the platform never seals them) end the round trip here.
        if let Ok(manifest) = opened.contents.manifest() {
            let resealed = opened
                .contents
                .seal(&manifest, &opened.seal)
                .expect("a container written in memory");
            let again = envelope::open(&resealed).expect("an envelope the platform sealed opens");
            assert_eq!(again.contents, opened.contents);
            assert_eq!(again.manifest, manifest);
        }
    }
    if let Ok(signed) = receipt::open_signed(data) {
        let _ = serde_json::from_slice::<Receipt>(&signed.receipt);
    }
});
