//! Arbitrary bytes → `Dump::from_bytes` (ELF, kdump-compressed, flattened) →
//! use everything (`tests/src/dump_navigate.rs`: headers, notes, bitmaps,
//! descriptors, page reads of every codec, kernel virtual addresses, the
//! kernel's kallsyms/BTF/modules when it gets that far). Nothing may panic,
//! read out of bounds or hang.

#![no_main]

use dumptool::dump::Dump;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/src/dump_navigate.rs"]
mod dump_navigate;

fuzz_target!(|data: &[u8]| {
    if let Ok(dump) = Dump::from_bytes("fuzz", data.to_vec()) {
        dump_navigate::navigate(&dump);
    }
});
