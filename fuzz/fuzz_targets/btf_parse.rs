//! Arbitrary bytes → `Btf::from_bytes` → navigate everything (validate, every
//! type, member, enumerator, parameter, C spelling, size, member path and
//! name lookup). Nothing may panic, read out of bounds or hang.

#![no_main]

use ktype_runtime::btf::Btf;
use libfuzzer_sys::fuzz_target;

#[path = "../../ktype-runtime/tests/support/mod.rs"]
mod support;

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = Btf::from_bytes(data.to_vec(), "fuzz") {
        support::navigate::navigate(&btf);
    }
});
