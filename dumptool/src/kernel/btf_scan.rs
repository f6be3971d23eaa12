//! vmlinux BTF found without `__start_BTF`: kernels built without
//! `CONFIG_KALLSYMS_ALL` (Debian's arm64 kernels) list text symbols only,
//! so the bounds of the `.BTF` section are not in kallsyms. The section lies
//! in the kernel image's read-only data, after the text: this module scans
//! that range for a BTF header (magic `0xeB9F`, version 1, no flags) whose
//! section sizes fit, and keeps the largest blob that parses (the kernel also
//! embeds small BTF blobs, e.g. in BPF preload skeletons).

use crate::dump::KernelMemory;
use ktype_runtime::btf::Btf;

/// The BTF header's size before the optional layout section (bytes).
const BASE_HDR: usize = 24;
/// Bytes scanned at most.
const MAX_SCAN: u64 = 256 << 20;
/// Bytes read per step.
const CHUNK: usize = 1 << 20;

/// Where a BTF blob was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundBtf {
    /// Its kernel virtual address.
    pub start: u64,
    /// Its size in bytes (header and every section).
    pub len: u64,
}

/// The size a BTF header at the start of `h` declares (header plus its
/// furthest section), if it is a plausible little-endian version-1 header.
fn declared_size(h: &[u8]) -> Option<u64> {
    if h.len() < 32 || h[..4] != [0x9f, 0xeb, 1, 0] {
        return None;
    }
    let rd = |o: usize| u64::from(u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]));
    let hdr_len = rd(4);
    if !(BASE_HDR as u64..=64).contains(&hdr_len) || hdr_len % 4 != 0 {
        return None;
    }
    let mut end = (rd(8) + rd(12)).max(rd(16) + rd(20));
    if hdr_len >= 32 {
        end = end.max(rd(24) + rd(28));
    }
    // A vmlinux string section is never empty, nor are its types.
    (rd(12) > 0 && rd(20) > 0).then_some(hdr_len + end)
}

/// Scans kernel virtual memory `[from, to)` for the largest BTF blob that
/// parses. Unreadable pieces are skipped.
pub fn scan(mem: &KernelMemory<'_>, from: u64, to: u64) -> Option<(FoundBtf, Btf)> {
    let to = to.min(from.saturating_add(MAX_SCAN));
    let mut best: Option<(FoundBtf, Btf)> = None;
    let mut at = from;
    let mut buf = vec![0u8; CHUNK + 32];
    while at < to {
        let n = ((to - at) as usize).min(CHUNK);
        // The 32 bytes past the chunk let a header straddling its end be read.
        let want = (n + 32).min((to - at) as usize);
        if mem.read_virt(at, &mut buf[..want]).is_err() {
            at += 4096 - (at & 4095);
            continue;
        }
        let mut i = 0;
        while i + 4 <= n {
            // The header is 4-byte aligned in the image.
            if buf[i] == 0x9f && buf[i + 1] == 0xeb && buf[i + 2] == 1 && buf[i + 3] == 0 {
                if let Some(len) = declared_size(&buf[i..want])
                    .filter(|&l| at + i as u64 + l <= to)
                    .filter(|&l| best.as_ref().is_none_or(|(b, _)| l > b.len))
                {
                    let start = at + i as u64;
                    if let Ok(region) = mem.region_virt(start, len as usize) {
                        if let Ok(btf) = Btf::from_shared(
                            region,
                            format!("vmlinux BTF found in the kernel image at {start:#x}"),
                        ) {
                            best = Some((FoundBtf { start, len }, btf));
                        }
                    }
                }
            }
            i += 4;
        }
        at += n as u64;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::declared_size;

    #[test]
    fn header_sizes() {
        let mut h = vec![0u8; 32];
        h[..4].copy_from_slice(&[0x9f, 0xeb, 1, 0]);
        h[4..8].copy_from_slice(&24u32.to_le_bytes());
        h[8..12].copy_from_slice(&0u32.to_le_bytes());
        h[12..16].copy_from_slice(&100u32.to_le_bytes());
        h[16..20].copy_from_slice(&100u32.to_le_bytes());
        h[20..24].copy_from_slice(&50u32.to_le_bytes());
        assert_eq!(declared_size(&h), Some(24 + 150));
        // Big-endian, other versions, flags and odd header sizes are not vmlinux's.
        let mut bad = h.clone();
        bad[2] = 2;
        assert_eq!(declared_size(&bad), None);
        let mut bad = h.clone();
        bad[4] = 25;
        assert_eq!(declared_size(&bad), None);
        let mut bad = h.clone();
        bad[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(declared_size(&bad), None);
    }
}
