//! kallsyms decoded from a dump's memory, located through VMCOREINFO's
//! `SYMBOL(kallsyms_*)` entries: no vmlinux, no System.map needed.
//!
//! The kernel stores symbol names compressed with a 256-entry token table
//! and addresses as 32-bit offsets. Three address encodings have been used;
//! the one that reproduces `SYMBOL(_stext)` is chosen.

use super::VirtRead;
use hashbrown::HashTable;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// Addresses of the kallsyms tables in the crashed kernel (from VMCOREINFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KallsymsTables {
    /// `kallsyms_num_syms`.
    pub num_syms: u64,
    /// `kallsyms_names`.
    pub names: u64,
    /// `kallsyms_token_table`.
    pub token_table: u64,
    /// `kallsyms_token_index`.
    pub token_index: u64,
    /// `kallsyms_offsets`.
    pub offsets: u64,
    /// `kallsyms_relative_base` (newer kernels dropped it).
    pub relative_base: Option<u64>,
    /// `_stext`, the address the right encoding must reproduce.
    pub stext: u64,
}

/// How `kallsyms_offsets` encode addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressEncoding {
    /// Non-negative offsets are absolute (per-cpu symbols); negative ones
    /// count down from `relative_base - 1` (`CONFIG_KALLSYMS_ABSOLUTE_PERCPU`).
    AbsolutePercpu,
    /// Unsigned offsets from `kallsyms_relative_base`.
    RelativeToBase,
    /// Signed offsets from the address of the offset entry itself.
    PlaceRelative,
}

impl fmt::Display for AddressEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressEncoding::AbsolutePercpu => "absolute-percpu",
            AddressEncoding::RelativeToBase => "relative to base",
            AddressEncoding::PlaceRelative => "place-relative",
        })
    }
}

/// Why kallsyms could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum KallsymsError {
    /// Reading one of the tables failed.
    #[error("cannot read {what} at {addr:#x}: {source}")]
    Read {
        /// The table.
        what: &'static str,
        /// Where.
        addr: u64,
        /// The reader's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tables are inconsistent.
    #[error("kallsyms tables are corrupt: {0}")]
    Corrupt(String),
    /// No encoding reproduces `_stext`.
    #[error("no kallsyms address encoding reproduces SYMBOL(_stext)={stext:#x} (tried: {tried})")]
    NoEncoding {
        /// VMCOREINFO's `_stext`.
        stext: u64,
        /// What each encoding gave.
        tried: String,
    },
}

/// Upper bound on symbol count, against corrupt `kallsyms_num_syms`.
const MAX_SYMS: u64 = 4 << 20;
/// Upper bound on the compressed names table (bytes).
const MAX_NAMES: usize = 64 << 20;

/// One decoded symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Name.
    pub name: &'a str,
    /// Address in the crashed kernel (KASLR applied).
    pub addr: u64,
    /// The `nm`-style type letter (`T`, `t`, `D`, ...).
    pub kind: char,
}

/// The crashed kernel's symbol table.
pub struct Kallsyms {
    /// All names, concatenated.
    text: String,
    /// `(name start, name len, type, address)` per symbol, in kallsyms order.
    syms: Vec<(u32, u16, u8, u64)>,
    encoding: AddressEncoding,
    /// Symbol indices by name (first definition wins on lookup).
    index: OnceLock<HashTable<u32>>,
}

impl fmt::Debug for Kallsyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kallsyms")
            .field("symbols", &self.syms.len())
            .field("encoding", &self.encoding)
            .finish()
    }
}

fn read<'a>(
    mem: &dyn VirtRead,
    what: &'static str,
    addr: u64,
    buf: &'a mut [u8],
) -> Result<&'a [u8], KallsymsError> {
    mem.read_virt(addr, buf)
        .map_err(|source| KallsymsError::Read { what, addr, source })?;
    Ok(buf)
}

/// Expands the compressed names: `(type letter, name)` per symbol.
fn expand(
    names: &[u8],
    tokens: &[&[u8]; 256],
    count: usize,
) -> Result<(String, Vec<(u32, u16, u8)>), KallsymsError> {
    let mut text = String::with_capacity(count * 24);
    let mut out = Vec::with_capacity(count);
    let mut pos = 0usize;
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    for i in 0..count {
        let b0 = *names.get(pos).ok_or_else(|| {
            KallsymsError::Corrupt(format!("names table ends before symbol {i} of {count}"))
        })? as usize;
        let (len, hdr) = if b0 & 0x80 != 0 {
            let b1 = *names.get(pos + 1).ok_or_else(|| {
                KallsymsError::Corrupt(format!("names table ends inside symbol {i}'s length"))
            })? as usize;
            ((b0 & 0x7f) | (b1 << 7), 2)
        } else {
            (b0, 1)
        };
        let comp = names.get(pos + hdr..pos + hdr + len).ok_or_else(|| {
            KallsymsError::Corrupt(format!("symbol {i}'s name runs past the names table"))
        })?;
        pos += hdr + len;
        buf.clear();
        for &t in comp {
            buf.extend_from_slice(tokens[t as usize]);
        }
        let (&kind, name) = buf
            .split_first()
            .ok_or_else(|| KallsymsError::Corrupt(format!("symbol {i} has an empty name")))?;
        let name = std::str::from_utf8(name)
            .map_err(|_| KallsymsError::Corrupt(format!("symbol {i}'s name is not UTF-8")))?;
        let start = u32::try_from(text.len())
            .map_err(|_| KallsymsError::Corrupt("names too large".into()))?;
        text.push_str(name);
        out.push((start, name.len().min(u16::MAX as usize) as u16, kind));
    }
    Ok((text, out))
}

impl Kallsyms {
    /// Reads and decodes the tables.
    pub fn read(mem: &dyn VirtRead, t: &KallsymsTables) -> Result<Kallsyms, KallsymsError> {
        let mut w = [0u8; 4];
        let n = u32::from_le_bytes(
            read(mem, "kallsyms_num_syms", t.num_syms, &mut w)?
                .try_into()
                .unwrap_or([0; 4]),
        ) as u64;
        if n == 0 || n > MAX_SYMS {
            return Err(KallsymsError::Corrupt(format!("kallsyms_num_syms is {n}")));
        }
        let count = n as usize;
        let mut idx_raw = [0u8; 512];
        read(mem, "kallsyms_token_index", t.token_index, &mut idx_raw)?;
        let token_index: Vec<usize> = idx_raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
            .collect();
        // The token table ends with the NUL of the token at the largest index.
        let max = token_index.iter().copied().max().unwrap_or(0);
        let mut table = vec![0u8; max + 256];
        read(mem, "kallsyms_token_table", t.token_table, &mut table)?;
        let mut tokens: [&[u8]; 256] = [&[]; 256];
        for (slot, &start) in tokens.iter_mut().zip(&token_index) {
            let rest = table.get(start..).unwrap_or(&[]);
            let end = rest.iter().position(|&b| b == 0).ok_or_else(|| {
                KallsymsError::Corrupt(format!("token at {start} is not NUL-terminated"))
            })?;
            *slot = &rest[..end];
        }
        let mut offsets_raw = vec![0u8; count * 4];
        read(mem, "kallsyms_offsets", t.offsets, &mut offsets_raw)?;
        let offsets: Vec<i32> = offsets_raw
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let names = read_names(mem, t.names, count)?;
        let (text, decoded) = expand(&names, &tokens, count)?;
        let base = match t.relative_base {
            Some(a) => {
                let mut q = [0u8; 8];
                Some(u64::from_le_bytes(
                    read(mem, "kallsyms_relative_base", a, &mut q)?
                        .try_into()
                        .unwrap_or([0; 8]),
                ))
            }
            None => None,
        };
        let addr_of = |enc: AddressEncoding, i: usize| -> Option<u64> {
            let off = offsets[i];
            match enc {
                AddressEncoding::AbsolutePercpu => {
                    let b = base?;
                    Some(if off >= 0 {
                        off as u64
                    } else {
                        b.wrapping_sub(1).wrapping_sub(off as i64 as u64)
                    })
                }
                AddressEncoding::RelativeToBase => Some(base?.wrapping_add(off as u32 as u64)),
                AddressEncoding::PlaceRelative => {
                    Some((t.offsets + 4 * i as u64).wrapping_add(off as i64 as u64))
                }
            }
        };
        let stext_i = decoded.iter().position(|&(s, l, k)| {
            &text[s as usize..s as usize + l as usize] == "_stext" && k.eq_ignore_ascii_case(&b't')
        });
        let stext_i =
            stext_i.ok_or_else(|| KallsymsError::Corrupt("no _stext among the symbols".into()))?;
        let all = [
            AddressEncoding::AbsolutePercpu,
            AddressEncoding::RelativeToBase,
            AddressEncoding::PlaceRelative,
        ];
        let encoding = all
            .into_iter()
            .find(|&e| addr_of(e, stext_i) == Some(t.stext))
            .ok_or_else(|| KallsymsError::NoEncoding {
                stext: t.stext,
                tried: all
                    .iter()
                    .map(|&e| {
                        format!(
                            "{e}: {}",
                            addr_of(e, stext_i)
                                .map(|a| format!("{a:#x}"))
                                .unwrap_or_else(|| "needs relative_base".into())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let syms = decoded
            .into_iter()
            .enumerate()
            .map(|(i, (s, l, k))| (s, l, k, addr_of(encoding, i).unwrap_or(0)))
            .collect();
        Ok(Kallsyms {
            text,
            syms,
            encoding,
            index: OnceLock::new(),
        })
    }

    /// The address encoding that reproduced `_stext`.
    pub fn encoding(&self) -> AddressEncoding {
        self.encoding
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether there are none (never true for a decoded table).
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    fn sym(&self, i: usize) -> Symbol<'_> {
        let (s, l, k, addr) = self.syms[i];
        Symbol {
            name: &self.text[s as usize..s as usize + l as usize],
            addr,
            kind: k as char,
        }
    }

    /// Every symbol, in kallsyms order.
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'_>> + '_ {
        (0..self.syms.len()).map(move |i| self.sym(i))
    }

    /// The address of `name` (the first one, for names defined several times).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        let index = self.index.get_or_init(|| {
            let mut t = HashTable::with_capacity(self.syms.len());
            for i in 0..self.syms.len() {
                let h = hash(self.sym(i).name);
                t.insert_unique(h, i as u32, |&j: &u32| hash(self.sym(j as usize).name));
            }
            t
        });
        let h = hash(name);
        index
            .find(h, |&i| self.sym(i as usize).name == name)
            .map(|&i| self.sym(i as usize).addr)
    }
}

fn hash(name: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6b73_796d).hash_one(name)
}

/// Reads the compressed names table in growing chunks until `count` names fit.
fn read_names(mem: &dyn VirtRead, addr: u64, count: usize) -> Result<Vec<u8>, KallsymsError> {
    let mut names: Vec<u8> = Vec::new();
    let mut chunk = (count * 12).max(4096);
    loop {
        let old = names.len();
        names.resize(old + chunk, 0);
        read(mem, "kallsyms_names", addr + old as u64, &mut names[old..])?;
        // Walk the length bytes to see whether all names are inside.
        let mut pos = 0usize;
        let mut seen = 0usize;
        while seen < count && pos < names.len() {
            let b0 = names[pos] as usize;
            let (len, hdr) = if b0 & 0x80 != 0 {
                (
                    (b0 & 0x7f) | ((*names.get(pos + 1).unwrap_or(&0) as usize) << 7),
                    2,
                )
            } else {
                (b0, 1)
            };
            pos += hdr + len;
            seen += 1;
        }
        if seen == count && pos <= names.len() {
            names.truncate(pos);
            return Ok(names);
        }
        if names.len() >= MAX_NAMES {
            return Err(KallsymsError::Corrupt(format!(
                "names of {count} symbols do not fit in {MAX_NAMES} bytes"
            )));
        }
        chunk = names.len();
    }
}
