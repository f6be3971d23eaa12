//! Split BTF: the input is `[cut: u16 LE][base bytes (cut of them)][split
//! bytes]`. The split part loads on the base part, or, when the base part
//! is not valid BTF, on a fixed synthetic base. Both are navigated.

#![no_main]

use ktype_runtime::btf::Btf;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

#[path = "../../ktype-runtime/tests/support/mod.rs"]
mod support;

fn fixed_base() -> Arc<Btf> {
    static BASE: OnceLock<Arc<Btf>> = OnceLock::new();
    BASE.get_or_init(|| {
        let (base, _) = support::samples::split_pair();
        Arc::new(Btf::from_bytes(base, "fixed base").expect("sample base loads"))
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let rest = &data[2..];
    let cut = (u16::from_le_bytes([data[0], data[1]]) as usize).min(rest.len());
    let (base_bytes, split_bytes) = rest.split_at(cut);
    let base = match Btf::from_bytes(base_bytes.to_vec(), "fuzz base") {
        Ok(b) => {
            support::navigate::navigate(&b);
            Arc::new(b)
        }
        Err(_) => fixed_base(),
    };
    if let Ok(split) = Btf::from_bytes_split(split_bytes.to_vec(), "fuzz split", base) {
        support::navigate::navigate(&split);
    }
});
