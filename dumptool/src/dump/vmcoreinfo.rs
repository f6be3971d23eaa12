//! VMCOREINFO: the `KEY=VALUE` lines the kernel leaves for dump tools,
//! parsed into typed tables (`SYMBOL(x)=hex`, `OFFSET(a.b)=dec`,
//! `SIZE(x)=dec`, `LENGTH(x)=dec`, `NUMBER(x)=dec|-dec|0xhex`) plus the plain
//! keys (`OSRELEASE`, `PAGESIZE`, `KERNELOFFSET`, `BUILD-ID`, `CRASHTIME`).

use ktype_runtime::text::Escaped;
use std::collections::BTreeMap;

/// A VMCOREINFO line that was skipped (it has no `=`, is not UTF-8, or its
/// value is not what its key calls for); see [`VmcoreInfo::warnings`].
/// Displayed with control characters escaped: the text comes from the dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "VMCOREINFO line {line} `{}` skipped: {}",
    Escaped(text),
    Escaped(detail)
)]
pub struct VmcoreInfoError {
    /// 1-based line number.
    pub line: usize,
    /// The offending line (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
    /// What is wrong with it.
    pub detail: String,
}

/// Parsed VMCOREINFO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmcoreInfo {
    /// `OSRELEASE`: the kernel release (`uname -r`).
    pub osrelease: Option<String>,
    /// `PAGESIZE`.
    pub page_size: Option<u64>,
    /// `KERNELOFFSET` (hex): the KASLR offset of the kernel image.
    pub kerneloffset: Option<u64>,
    /// `NUMBER(phys_base)`: physical load offset of the kernel image (two's
    /// complement: it may be "negative" under KASLR).
    pub phys_base: Option<u64>,
    /// `NUMBER(pgtable_l5_enabled)` is non-zero: 5-level paging.
    pub pgtable_l5_enabled: bool,
    /// `BUILD-ID` (hex string).
    pub build_id: Option<String>,
    /// `CRASHTIME` (seconds since the epoch).
    pub crashtime: Option<i64>,
    /// `SYMBOL(name)=hex`: addresses, KASLR applied.
    pub symbols: BTreeMap<String, u64>,
    /// `OFFSET(struct.member)=dec`.
    pub offsets: BTreeMap<String, u64>,
    /// `SIZE(type)=dec`.
    pub sizes: BTreeMap<String, u64>,
    /// `LENGTH(array)=dec`.
    pub lengths: BTreeMap<String, u64>,
    /// `NUMBER(name)`: decimal (possibly negative) or `0x` hex (kept as its
    /// 64-bit pattern).
    pub numbers: BTreeMap<String, i64>,
    /// Every `KEY=VALUE` line, in order, as text.
    pub raw: Vec<(String, String)>,
    /// Lines that were skipped, and why.
    warnings: Vec<VmcoreInfoError>,
}

impl VmcoreInfo {
    /// Parses VMCOREINFO text (trailing NULs and blank lines are ignored).
    /// Never fails: a garbled line (no `=`, invalid UTF-8, a value that is not
    /// what its key calls for, such as an absurd number) is skipped and kept
    /// as a warning ([`VmcoreInfo::warnings`]); one bad line does not cost
    /// the rest.
    pub fn parse(text: &[u8]) -> VmcoreInfo {
        let mut info = VmcoreInfo::default();
        let end = text.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        for (i, raw_line) in text[..end].split(|&b| b == b'\n').enumerate() {
            let lossy = String::from_utf8_lossy(raw_line);
            let shown = lossy.trim_end_matches(['\r', '\0']).trim();
            if shown.is_empty() {
                continue;
            }
            let warn = |detail: String| VmcoreInfoError {
                line: i + 1,
                text: shown.to_string(),
                detail,
            };
            let problem = match std::str::from_utf8(raw_line) {
                Err(e) => Some(format!("not valid UTF-8 (at byte {})", e.valid_up_to())),
                Ok(_) => match shown.split_once('=') {
                    None => Some("no `=` in the line".to_string()),
                    Some((key, value)) => info.add(key, value).err(),
                },
            };
            if let Some(detail) = problem {
                info.warnings.push(warn(detail));
            }
        }
        info
    }

    /// The lines [`VmcoreInfo::parse`] skipped, in order.
    pub fn warnings(&self) -> &[VmcoreInfoError] {
        &self.warnings
    }

    /// Takes in one line; nothing of it is kept when its value is bad.
    fn add(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.add_typed(key, value)?;
        self.raw.push((key.to_string(), value.to_string()));
        Ok(())
    }

    fn add_typed(&mut self, key: &str, value: &str) -> Result<(), String> {
        if let Some((kind, name)) = key.strip_suffix(')').and_then(|k| k.split_once('(')) {
            let name = name.to_string();
            match kind {
                "SYMBOL" => {
                    self.symbols.insert(name, parse_hex(value)?);
                }
                "OFFSET" => {
                    self.offsets.insert(name, parse_dec_u64(value)?);
                }
                "SIZE" => {
                    self.sizes.insert(name, parse_dec_u64(value)?);
                }
                "LENGTH" => {
                    self.lengths.insert(name, parse_dec_u64(value)?);
                }
                "NUMBER" => {
                    let n = parse_number(value)?;
                    match name.as_str() {
                        "phys_base" => self.phys_base = Some(n as u64),
                        "pgtable_l5_enabled" => self.pgtable_l5_enabled = n != 0,
                        _ => {}
                    }
                    self.numbers.insert(name, n);
                }
                _ => {}
            }
            return Ok(());
        }
        match key {
            "OSRELEASE" => self.osrelease = Some(value.to_string()),
            "PAGESIZE" => {
                let p = parse_dec_u64(value)?;
                if !((512..=1 << 20).contains(&p) && p.is_power_of_two()) {
                    return Err(format!(
                        "page size {p} is not a power of two between 512 and 1 MiB"
                    ));
                }
                self.page_size = Some(p);
            }
            "KERNELOFFSET" => self.kerneloffset = Some(parse_hex(value)?),
            "BUILD-ID" => self.build_id = Some(value.to_string()),
            "CRASHTIME" => self.crashtime = Some(parse_number(value)?),
            _ => {}
        }
        Ok(())
    }

    /// `SYMBOL(name)`.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).copied()
    }

    /// `NUMBER(name)`.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.numbers.get(name).copied()
    }

    /// `OFFSET(struct.member)`, e.g. `offset("page.flags")`.
    pub fn offset(&self, name: &str) -> Option<u64> {
        self.offsets.get(name).copied()
    }

    /// `SIZE(type)`.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.sizes.get(name).copied()
    }

    /// `LENGTH(array)`.
    pub fn length(&self, name: &str) -> Option<u64> {
        self.lengths.get(name).copied()
    }

    /// The raw value of `key` (the full key, e.g. `SYMBOL(_stext)`); the last
    /// one if it repeats.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.raw
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_hex(v: &str) -> Result<u64, String> {
    let d = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    u64::from_str_radix(d, 16).map_err(|e| format!("`{v}` is not a hexadecimal number: {e}"))
}

fn parse_dec_u64(v: &str) -> Result<u64, String> {
    v.parse::<u64>()
        .map_err(|e| format!("`{v}` is not a non-negative decimal number: {e}"))
}

/// Decimal (optionally negative) or `0x` hex, as a 64-bit pattern.
fn parse_number(v: &str) -> Result<i64, String> {
    if v.starts_with("0x") || v.starts_with("0X") {
        return parse_hex(v).map(|n| n as i64);
    }
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n);
    }
    // Unsigned values above i64::MAX printed in decimal.
    v.parse::<u64>()
        .map(|n| n as i64)
        .map_err(|e| format!("`{v}` is not a number: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "OSRELEASE=6.1.0-56-amd64\n\
BUILD-ID=eb4fbcd037e7253717950bf2b93bd5566f47c56f\n\
PAGESIZE=4096\n\
SYMBOL(init_uts_ns)=ffffffff9c1fb000\n\
OFFSET(uts_namespace.name)=0\n\
SIZE(page)=64\n\
LENGTH(zone.free_area)=11\n\
NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n\
NUMBER(VMALLOC_START)=0xffffd35f00000000\n\
NUMBER(phys_base)=-356515840\n\
SYMBOL(init_top_pgt)=ffffffff9c010000\n\
NUMBER(pgtable_l5_enabled)=0\n\
KERNELOFFSET=19600000\n\
CRASHTIME=1700000000\n\0\0\0";

    #[test]
    fn parses_typed_tables() {
        let v = VmcoreInfo::parse(TEXT.as_bytes());
        assert!(v.warnings().is_empty());
        assert_eq!(v.osrelease.as_deref(), Some("6.1.0-56-amd64"));
        assert_eq!(v.page_size, Some(4096));
        assert_eq!(v.kerneloffset, Some(0x19600000));
        assert_eq!(v.phys_base, Some((-356515840i64) as u64));
        assert_eq!(v.phys_base, Some(0xffff_ffff_eac0_0000));
        assert!(!v.pgtable_l5_enabled);
        assert_eq!(v.symbol("init_top_pgt"), Some(0xffffffff9c010000));
        assert_eq!(v.offset("uts_namespace.name"), Some(0));
        assert_eq!(v.size("page"), Some(64));
        assert_eq!(v.length("zone.free_area"), Some(11));
        assert_eq!(v.number("PAGE_BUDDY_MAPCOUNT_VALUE"), Some(-129));
        assert_eq!(
            v.number("VMALLOC_START"),
            Some(0xffffd35f00000000u64 as i64)
        );
        assert_eq!(v.crashtime, Some(1_700_000_000));
        assert_eq!(
            v.build_id.as_deref(),
            Some("eb4fbcd037e7253717950bf2b93bd5566f47c56f")
        );
        assert_eq!(v.get("SIZE(page)"), Some("64"));
        assert_eq!(v.raw.len(), 14);
    }

    #[test]
    fn garbled_lines_are_skipped_with_warnings() {
        let text = b"PAGESIZE=4096\nSYMBOL(x)=zz\ngarbage\nOSRELEASE=\xff\xfe\n\
SIZE(page)=99999999999999999999999\nPAGESIZE=3\nSYMBOL(\x1b]0;t\x07)=1g\nSIZE(page)=64\n";
        let v = VmcoreInfo::parse(text);
        assert_eq!(v.page_size, Some(4096));
        assert_eq!(v.size("page"), Some(64));
        assert_eq!(v.symbol("x"), None);
        assert_eq!(v.osrelease, None);
        let lines: Vec<usize> = v.warnings().iter().map(|w| w.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        assert_eq!(v.raw.len(), 2, "skipped lines are not kept");
        let shown: Vec<String> = v.warnings().iter().map(|w| w.to_string()).collect();
        assert!(
            shown[0].contains("line 2 `SYMBOL(x)=zz` skipped"),
            "{}",
            shown[0]
        );
        assert!(shown[1].contains("no `=`"), "{}", shown[1]);
        assert!(shown[2].contains("not valid UTF-8"), "{}", shown[2]);
        assert!(shown[4].contains("not a power of two"), "{}", shown[4]);
        assert!(
            shown[5].contains("SYMBOL(\\x1b]0;t\\x07)=1g"),
            "{}",
            shown[5]
        );
        assert!(!shown.iter().any(|s| s.chars().any(char::is_control)));
    }
}
