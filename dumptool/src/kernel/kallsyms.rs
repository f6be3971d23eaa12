//! The kernel's symbol table: decoded from a dump's memory, located
//! through VMCOREINFO's `SYMBOL(kallsyms_*)` entries (no vmlinux, no
//! System.map needed), or, for the running kernel, the symbols
//! `/proc/kallsyms` lists ([`Kallsyms::from_symbols`]).
//!
//! The kernel stores symbol names compressed with a 256-entry token table
//! and addresses as 32-bit offsets. Three address encodings have been used;
//! the one that reproduces `SYMBOL(_stext)` is chosen.

use super::VirtRead;
use crate::dump::source::Region;
use hashbrown::HashTable;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

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
    /// Not encoded: the addresses a listing gives (`/proc/kallsyms` of the
    /// running kernel).
    Listed,
}

impl fmt::Display for AddressEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressEncoding::AbsolutePercpu => "absolute-percpu",
            AddressEncoding::RelativeToBase => "relative to base",
            AddressEncoding::PlaceRelative => "place-relative",
            AddressEncoding::Listed => "listed",
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Name.
    pub name: String,
    /// Address in the crashed kernel (KASLR applied).
    pub addr: u64,
    /// The `nm`-style type letter (`T`, `t`, `D`, ...).
    pub kind: char,
}

/// Multiplier of the polynomial name hash (odd, so it has an inverse mod 2^64).
const HASH_MUL: u64 = 0x100_0000_01b3;

/// `HASH_MUL^-1 mod 2^64` by Newton's iteration.
const fn inverse(a: u64) -> u64 {
    let mut x = a; // correct to 3 bits for odd a
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}
const HASH_MUL_INV: u64 = inverse(HASH_MUL);

/// Polynomial hash of `bytes`: `sum(b_i * HASH_MUL^(n-1-i))`, with `HASH_MUL^n`.
fn poly(bytes: &[u8]) -> (u64, u64) {
    bytes.iter().fold((0u64, 1u64), |(h, p), &b| {
        (
            h.wrapping_mul(HASH_MUL).wrapping_add(b as u64 + 1),
            p.wrapping_mul(HASH_MUL),
        )
    })
}

/// The compressed token table.
struct Tokens {
    /// Bytes of each token.
    text: Vec<Vec<u8>>,
    /// `(hash, HASH_MUL^len)` of each token, to hash names without expanding them.
    hash: Box<[(u64, u64); 256]>,
    /// `first byte + 1` of each token (the type letter's hash term).
    first: [u64; 256],
}

impl Tokens {
    /// Hash of the name (type letter dropped) whose compressed tokens are
    /// `comp`, equal to `poly(name).0`, composed from the tokens' hashes.
    fn name_hash(&self, comp: &[u8]) -> u64 {
        let (mut h, mut p) = (0u64, 1u64);
        for &t in comp {
            let (th, tp) = self.hash[t as usize];
            h = h.wrapping_mul(tp).wrapping_add(th);
            p = p.wrapping_mul(tp);
        }
        // Drop the leading type letter: its term is (c + 1) * HASH_MUL^(len - 1).
        let first = comp.first().map(|&t| self.first[t as usize]).unwrap_or(0);
        h.wrapping_sub(first.wrapping_mul(p.wrapping_mul(HASH_MUL_INV)))
    }
}

/// Lookups answered by scanning the names table before an index pays off.
const SCANS_BEFORE_INDEX: usize = 64;

/// A full name index, built only for heavy lookup users.
struct FullIndex {
    /// Position of each symbol's length byte in the names table.
    starts: Vec<u32>,
    /// Symbol indices by name hash.
    by_hash: HashTable<u32>,
}

/// The table decoded from kernel memory: names stay compressed as the
/// kernel keeps them, in the dump's own mapping where it allows (an ELF
/// dump such as /proc/vmcore), so decoding kallsyms costs no memory of its
/// own. A lookup scans the compressed names, comparing name hashes composed
/// from token hashes and expanding only candidates (a few milliseconds);
/// [`Compressed::prefetch`] answers many names in one scan, and a program
/// that looks up many names gets a full index built once.
struct Compressed {
    /// `kallsyms_names` (possibly followed by other tables; only the
    /// first `count` names are read).
    names: Region,
    /// `kallsyms_offsets`; addresses are decoded on demand.
    offsets: Region,
    count: usize,
    /// Address of `kallsyms_offsets` (for place-relative offsets).
    offsets_addr: u64,
    /// `kallsyms_relative_base`'s value, when the kernel has one.
    base: Option<u64>,
    tokens: Tokens,
    encoding: AddressEncoding,
    /// Symbol indices of names looked up so far (or prefetched).
    found: Mutex<HashMap<Box<str>, Vec<u32>>>,
    scans: AtomicUsize,
    index: OnceLock<FullIndex>,
}

impl fmt::Debug for Compressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressed")
            .field("symbols", &self.count)
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

/// `(header length, compressed length)` of the name at `pos` (1- or 2-byte length).
#[inline]
fn name_header(names: &[u8], pos: usize) -> Option<(usize, usize)> {
    let b0 = *names.get(pos)? as usize;
    if b0 & 0x80 != 0 {
        let b1 = *names.get(pos + 1)? as usize;
        Some((2, (b0 & 0x7f) | (b1 << 7)))
    } else {
        Some((1, b0))
    }
}

/// Each name's `(symbol index, position, compressed tokens)`, in order.
fn compressed_names(names: &[u8], count: usize) -> impl Iterator<Item = (usize, usize, &[u8])> {
    let mut pos = 0usize;
    (0..count).map_while(move |i| {
        let (hdr, len) = name_header(names, pos)?;
        let comp = names.get(pos + hdr..pos + hdr + len)?;
        let at = pos;
        pos += hdr + len;
        Some((i, at, comp))
    })
}

impl Compressed {
    /// Reads the tables and picks the address encoding; names are expanded
    /// only on demand.
    pub fn read(mem: &dyn VirtRead, t: &KallsymsTables) -> Result<Compressed, KallsymsError> {
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
        let mut text = Vec::with_capacity(256);
        for &start in &token_index {
            let rest = table.get(start..).unwrap_or(&[]);
            let end = rest.iter().position(|&b| b == 0).ok_or_else(|| {
                KallsymsError::Corrupt(format!("token at {start} is not NUL-terminated"))
            })?;
            text.push(rest[..end].to_vec());
        }
        let mut hash = Box::new([(0u64, 1u64); 256]);
        let mut first = [0u64; 256];
        for ((slot, f), t) in hash.iter_mut().zip(first.iter_mut()).zip(&text) {
            *slot = poly(t);
            *f = t.first().copied().unwrap_or(0) as u64 + 1;
        }
        let tokens = Tokens { text, hash, first };
        let offsets = mem
            .region(t.offsets, count * 4)
            .map_err(|source| KallsymsError::Read {
                what: "kallsyms_offsets",
                addr: t.offsets,
                source,
            })?;
        let names = names_table(mem, t, count)?;
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
        let mut ks = Compressed {
            names,
            offsets,
            count,
            offsets_addr: t.offsets,
            base,
            tokens,
            encoding: AddressEncoding::AbsolutePercpu,
            found: Mutex::new(HashMap::new()),
            scans: AtomicUsize::new(0),
            index: OnceLock::new(),
        };
        let stext_i = ks
            .find("_stext")
            .into_iter()
            .find(|&i| ks.kind(i).eq_ignore_ascii_case(&'t'));
        let stext_i =
            stext_i.ok_or_else(|| KallsymsError::Corrupt("no _stext among the symbols".into()))?;
        let all = [
            AddressEncoding::AbsolutePercpu,
            AddressEncoding::RelativeToBase,
            AddressEncoding::PlaceRelative,
        ];
        ks.encoding = all
            .into_iter()
            .find(|&e| ks.addr_with(e, stext_i) == Some(t.stext))
            .ok_or_else(|| KallsymsError::NoEncoding {
                stext: t.stext,
                tried: all
                    .iter()
                    .map(|&e| {
                        format!(
                            "{e}: {}",
                            ks.addr_with(e, stext_i)
                                .map(|a| format!("{a:#x}"))
                                .unwrap_or_else(|| "needs relative_base".into())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        Ok(ks)
    }

    /// Symbol `i`'s address under encoding `enc` (`None`: the encoding needs a base this kernel lacks).
    fn addr_with(&self, enc: AddressEncoding, i: usize) -> Option<u64> {
        let b = self.offsets.get(4 * i..4 * i + 4)?;
        let off = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        match enc {
            AddressEncoding::AbsolutePercpu => {
                let base = self.base?;
                Some(if off >= 0 {
                    off as u64
                } else {
                    base.wrapping_sub(1).wrapping_sub(off as i64 as u64)
                })
            }
            AddressEncoding::RelativeToBase => Some(self.base?.wrapping_add(off as u32 as u64)),
            AddressEncoding::PlaceRelative => {
                Some((self.offsets_addr + 4 * i as u64).wrapping_add(off as i64 as u64))
            }
            // A decoded table never takes it.
            AddressEncoding::Listed => None,
        }
    }

    /// Symbol `i`'s address.
    fn addr(&self, i: usize) -> u64 {
        self.addr_with(self.encoding, i).unwrap_or(0)
    }

    /// The compressed tokens of the name whose length byte is at `pos`.
    fn compressed_at(&self, pos: usize) -> &[u8] {
        match name_header(&self.names, pos) {
            Some((hdr, len)) => self.names.get(pos + hdr..pos + hdr + len).unwrap_or(&[]),
            None => &[],
        }
    }

    /// The compressed tokens of symbol `i` (through the full index, or a
    /// scan to it).
    fn compressed(&self, i: usize) -> &[u8] {
        if let Some(ix) = self.index.get() {
            return ix
                .starts
                .get(i)
                .map(|&p| self.compressed_at(p as usize))
                .unwrap_or(&[]);
        }
        compressed_names(&self.names, self.count)
            .nth(i)
            .map(|(_, _, c)| c)
            .unwrap_or(&[])
    }

    fn full_index(&self) -> &FullIndex {
        self.index.get_or_init(|| {
            let mut starts = Vec::with_capacity(self.count);
            let mut hashes = Vec::with_capacity(self.count);
            for (_, pos, comp) in compressed_names(&self.names, self.count) {
                starts.push(pos as u32);
                hashes.push(self.tokens.name_hash(comp));
            }
            let mut by_hash = HashTable::with_capacity(hashes.len());
            for (i, &h) in hashes.iter().enumerate() {
                by_hash.insert_unique(h, i as u32, |&j: &u32| hashes[j as usize]);
            }
            FullIndex { starts, by_hash }
        })
    }

    /// Expands compressed tokens (type letter first) into `buf`.
    fn expand_into(&self, comp: &[u8], buf: &mut Vec<u8>) {
        buf.clear();
        for &t in comp {
            buf.extend_from_slice(&self.tokens.text[t as usize]);
        }
    }

    fn kind(&self, i: usize) -> char {
        self.compressed(i)
            .first()
            .and_then(|&t| self.tokens.text[t as usize].first())
            .copied()
            .unwrap_or(b'?') as char
    }

    /// Whether the compressed name `comp` spells `name` after its type letter.
    fn spells(&self, comp: &[u8], name: &[u8], buf: &mut Vec<u8>) -> bool {
        self.expand_into(comp, buf);
        buf.get(1..) == Some(name)
    }

    /// Indices of the symbols named `name`, in kallsyms order.
    fn find(&self, name: &str) -> Vec<usize> {
        if let Some(hit) = self.found.lock().ok().and_then(|f| f.get(name).cloned()) {
            return hit.into_iter().map(|i| i as usize).collect();
        }
        let (h, _) = poly(name.as_bytes());
        let mut buf = Vec::new();
        if self.scans.fetch_add(1, Ordering::Relaxed) >= SCANS_BEFORE_INDEX {
            let ix = self.full_index();
            let mut hits: Vec<usize> = ix.by_hash.iter_hash(h).map(|&i| i as usize).collect();
            hits.sort_unstable();
            hits.retain(|&i| {
                let comp = self.compressed_at(ix.starts[i] as usize);
                self.spells(comp, name.as_bytes(), &mut buf)
            });
            return hits;
        }
        let hits: Vec<usize> = compressed_names(&self.names, self.count)
            .filter(|&(_, _, comp)| {
                self.tokens.name_hash(comp) == h && self.spells(comp, name.as_bytes(), &mut buf)
            })
            .map(|(i, _, _)| i)
            .collect();
        if let Ok(mut f) = self.found.lock() {
            f.insert(name.into(), hits.iter().map(|&i| i as u32).collect());
        }
        hits
    }

    /// Looks up all of `names` in one scan of the table, so that later
    /// [`Kallsyms::lookup`]s of them cost nothing (a program that knows
    /// the symbols it will need calls this once).
    pub fn prefetch(&self, names: &[&str]) {
        let Ok(mut found) = self.found.lock() else {
            return;
        };
        let wanted: HashMap<u64, Vec<&str>> = names
            .iter()
            .filter(|n| !found.contains_key(**n))
            .fold(HashMap::new(), |mut m, &n| {
                m.entry(poly(n.as_bytes()).0).or_default().push(n);
                m
            });
        if wanted.is_empty() {
            return;
        }
        let mut hits: HashMap<&str, Vec<u32>> = wanted
            .values()
            .flatten()
            .map(|&n| (n, Vec::new()))
            .collect();
        let mut buf = Vec::new();
        for (i, _, comp) in compressed_names(&self.names, self.count) {
            if let Some(cands) = wanted.get(&self.tokens.name_hash(comp)) {
                for &n in cands {
                    if self.spells(comp, n.as_bytes(), &mut buf) {
                        if let Some(v) = hits.get_mut(n) {
                            v.push(i as u32);
                        }
                    }
                }
            }
        }
        for (n, v) in hits {
            found.insert(n.into(), v);
        }
    }

    /// The address encoding that reproduced `_stext`.
    pub fn encoding(&self) -> AddressEncoding {
        self.encoding
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Every symbol, in kallsyms order (names expanded as it goes).
    pub fn iter(&self) -> impl Iterator<Item = Symbol> + '_ {
        let mut buf = Vec::new();
        compressed_names(&self.names, self.count)
            .map(move |(i, _, comp)| self.symbol(i, comp, &mut buf))
    }

    fn symbol(&self, i: usize, comp: &[u8], buf: &mut Vec<u8>) -> Symbol {
        self.expand_into(comp, buf);
        let kind = buf.first().copied().unwrap_or(b'?') as char;
        let name = String::from_utf8_lossy(buf.get(1..).unwrap_or(&[])).into_owned();
        Symbol {
            name,
            addr: self.addr(i),
            kind,
        }
    }

    /// Every symbol named `name`, in kallsyms order.
    pub fn named(&self, name: &str) -> Vec<Symbol> {
        let mut buf = Vec::new();
        self.find(name)
            .into_iter()
            .map(|i| {
                let comp = self.compressed(i);
                self.symbol(i, comp, &mut buf)
            })
            .collect()
    }

    /// The address of `name` (the first definition, for names defined several times).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.find(name).first().map(|&i| self.addr(i))
    }

    /// Every address of `name` (static functions repeat names).
    pub fn lookup_all(&self, name: &str) -> Vec<u64> {
        self.find(name).into_iter().map(|i| self.addr(i)).collect()
    }
}

/// The kernel's symbol table (vmlinux symbols; modules keep their own):
/// decoded from kernel memory ([`Kallsyms::read`]), or given as a listing
/// ([`Kallsyms::from_symbols`], the running kernel's `/proc/kallsyms`).
/// Lookups answer alike either way.
///
/// ```
/// use dumptool::kernel::kallsyms::{Kallsyms, Symbol};
/// let sym = |name: &str, addr| Symbol { name: name.into(), addr, kind: 'T' };
/// let k = Kallsyms::from_symbols(vec![sym("_stext", 0x1000), sym("f", 0x2000), sym("f", 0x3000)]);
/// assert_eq!(k.lookup("f"), Some(0x2000));
/// assert_eq!(k.lookup_all("f"), [0x2000, 0x3000]);
/// assert_eq!(k.len(), 3);
/// ```
#[derive(Debug)]
pub struct Kallsyms(Table);

#[derive(Debug)]
enum Table {
    Compressed(Box<Compressed>),
    Listed(Listed),
}

/// Symbols given with their addresses, indexed by name.
struct Listed {
    symbols: Vec<Symbol>,
    by_name: HashMap<Box<str>, Vec<u32>>,
}

impl fmt::Debug for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listed")
            .field("symbols", &self.symbols.len())
            .finish()
    }
}

impl Listed {
    fn named(&self, name: &str) -> impl Iterator<Item = &Symbol> + '_ {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.symbols[i as usize])
    }
}

impl Kallsyms {
    /// Decodes the tables at `t` in kernel memory and picks the address
    /// encoding; names are expanded only on demand.
    pub fn read(mem: &dyn VirtRead, t: &KallsymsTables) -> Result<Kallsyms, KallsymsError> {
        Compressed::read(mem, t).map(|c| Kallsyms(Table::Compressed(Box::new(c))))
    }

    /// A table of symbols already known with their addresses (in the
    /// kernel's order; names defined several times are kept in that order).
    pub fn from_symbols(symbols: Vec<Symbol>) -> Kallsyms {
        let mut by_name: HashMap<Box<str>, Vec<u32>> = HashMap::with_capacity(symbols.len());
        for (i, s) in symbols.iter().enumerate() {
            by_name
                .entry(s.name.as_str().into())
                .or_default()
                .push(i as u32);
        }
        Kallsyms(Table::Listed(Listed { symbols, by_name }))
    }

    /// Looks up all of `names` in one scan of a decoded table, so that later
    /// [`Kallsyms::lookup`]s of them cost nothing (a program that knows the
    /// symbols it will need calls this once); a listed table is indexed
    /// already.
    pub fn prefetch(&self, names: &[&str]) {
        if let Table::Compressed(c) = &self.0 {
            c.prefetch(names);
        }
    }

    /// The address encoding that reproduced `_stext`
    /// ([`AddressEncoding::Listed`] for a listing).
    pub fn encoding(&self) -> AddressEncoding {
        match &self.0 {
            Table::Compressed(c) => c.encoding(),
            Table::Listed(_) => AddressEncoding::Listed,
        }
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        match &self.0 {
            Table::Compressed(c) => c.len(),
            Table::Listed(l) => l.symbols.len(),
        }
    }

    /// Whether there are none (never true for a decoded table).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every symbol, in kallsyms order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Symbol> + '_> {
        match &self.0 {
            Table::Compressed(c) => Box::new(c.iter()),
            Table::Listed(l) => Box::new(l.symbols.iter().cloned()),
        }
    }

    /// Every symbol named `name`, in kallsyms order.
    pub fn named(&self, name: &str) -> Vec<Symbol> {
        match &self.0 {
            Table::Compressed(c) => c.named(name),
            Table::Listed(l) => l.named(name).cloned().collect(),
        }
    }

    /// The address of `name` (the first definition, for names defined several times).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        match &self.0 {
            Table::Compressed(c) => c.lookup(name),
            Table::Listed(l) => l.named(name).next().map(|s| s.addr),
        }
    }

    /// Every address of `name` (static functions repeat names).
    pub fn lookup_all(&self, name: &str) -> Vec<u64> {
        match &self.0 {
            Table::Compressed(c) => c.lookup_all(name),
            Table::Listed(l) => l.named(name).map(|s| s.addr).collect(),
        }
    }
}

/// The `kallsyms_names` table holding `count` names: in place, up to the
/// nearest other kallsyms table above it (rodata of the kernel image,
/// contiguous), when that can be mapped; else read in growing chunks.
fn names_table(
    mem: &dyn VirtRead,
    t: &KallsymsTables,
    count: usize,
) -> Result<Region, KallsymsError> {
    let addr = t.names;
    let bound = [
        Some(t.num_syms),
        Some(t.token_table),
        Some(t.token_index),
        Some(t.offsets),
        t.relative_base,
    ]
    .into_iter()
    .flatten()
    .filter(|&a| a > addr)
    .map(|a| a - addr)
    .min()
    .filter(|&len| len <= MAX_NAMES as u64);
    if let Some(len) = bound {
        if let Ok(region) = mem.region(addr, len as usize) {
            if compressed_names(&region, count).count() == count {
                return Ok(region);
            }
        }
    }
    read_names(mem, addr, count).map(|v| Region::Owned(v.into_boxed_slice()))
}

/// Reads the compressed names table in growing chunks until `count` names fit.
fn read_names(mem: &dyn VirtRead, addr: u64, count: usize) -> Result<Vec<u8>, KallsymsError> {
    let mut names: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let mut pos = 0usize;
    let mut chunk = (count * 12).max(4096);
    while seen < count {
        if names.len() >= MAX_NAMES {
            return Err(KallsymsError::Corrupt(format!(
                "names of {count} symbols do not fit in {MAX_NAMES} bytes"
            )));
        }
        let old = names.len();
        names.resize(old + chunk, 0);
        read(mem, "kallsyms_names", addr + old as u64, &mut names[old..])?;
        while seen < count {
            match name_header(&names, pos) {
                Some((hdr, len)) if pos + hdr + len <= names.len() => {
                    seen += 1;
                    pos += hdr + len;
                }
                _ => break,
            }
        }
        chunk = (chunk / 2).max(4096);
    }
    names.truncate(pos);
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kernel memory made of a few byte regions.
    struct Regions(Vec<(u64, Vec<u8>)>);

    impl VirtRead for Regions {
        fn read_virt(
            &self,
            vaddr: u64,
            buf: &mut [u8],
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            for (base, bytes) in &self.0 {
                if vaddr >= *base {
                    let off = (vaddr - base) as usize;
                    if let Some(src) = bytes.get(off..off + buf.len()) {
                        buf.copy_from_slice(src);
                        return Ok(());
                    }
                }
            }
            Err(format!("no memory at {vaddr:#x}").into())
        }
    }

    /// Builds tables for `syms` (`(type, name, addr)`) with one token per
    /// byte, except token 0xff = "ab", and encodes addresses with `enc`.
    fn tables(syms: &[(u8, &str, u64)], enc: AddressEncoding) -> (Regions, KallsymsTables) {
        let (names_at, table_at, index_at, offs_at, base_at, num_at) =
            (0x1000u64, 0x100000, 0x200000, 0x300000, 0x400000, 0x500000);
        let base = 0xffff_ffff_8100_0000u64;
        let mut table = Vec::new();
        let mut index = Vec::new();
        for t in 0u16..256 {
            index.extend_from_slice(&(table.len() as u16).to_le_bytes());
            if t == 0xff {
                table.extend_from_slice(b"ab\0");
            } else {
                table.extend_from_slice(&[t as u8, 0]);
            }
        }
        let mut names = Vec::new();
        let mut offs = Vec::new();
        for (i, &(kind, name, addr)) in syms.iter().enumerate() {
            let mut comp = vec![kind];
            let mut rest = name.as_bytes();
            while !rest.is_empty() {
                if rest.starts_with(b"ab") {
                    comp.push(0xff);
                    rest = &rest[2..];
                } else {
                    comp.push(rest[0]);
                    rest = &rest[1..];
                }
            }
            if comp.len() >= 0x80 {
                names.push(0x80 | (comp.len() & 0x7f) as u8);
                names.push((comp.len() >> 7) as u8);
            } else {
                names.push(comp.len() as u8);
            }
            names.extend_from_slice(&comp);
            let off: i64 = match enc {
                AddressEncoding::AbsolutePercpu => -((addr - base) as i64) - 1,
                AddressEncoding::RelativeToBase => (addr - base) as i64,
                AddressEncoding::PlaceRelative => addr.wrapping_sub(offs_at + 4 * i as u64) as i64,
                AddressEncoding::Listed => unreachable!("not an encoding of kernel tables"),
            };
            offs.extend_from_slice(&(off as i32).to_le_bytes());
        }
        let stext = syms
            .iter()
            .find(|s| s.1 == "_stext")
            .map(|s| s.2)
            .unwrap_or(0);
        let mem = Regions(vec![
            (names_at, names),
            (table_at, table),
            (index_at, index),
            (offs_at, offs),
            (base_at, base.to_le_bytes().to_vec()),
            (num_at, (syms.len() as u32).to_le_bytes().to_vec()),
        ]);
        // The decoder reads a little past each table, as kernel .rodata allows.
        let mut mem = mem;
        for (_, bytes) in &mut mem.0 {
            bytes.resize(bytes.len() + (64 << 10), 0);
        }
        let has_base = enc != AddressEncoding::PlaceRelative;
        let t = KallsymsTables {
            num_syms: num_at,
            names: names_at,
            token_table: table_at,
            token_index: index_at,
            offsets: offs_at,
            relative_base: has_base.then_some(base_at),
            stext,
        };
        (mem, t)
    }

    #[test]
    fn every_address_encoding_is_recognised_by_stext() {
        let long = "x".repeat(200);
        let syms = [
            (b'T', "_stext", 0xffff_ffff_8100_0000u64),
            (b't', "abab_static", 0xffff_ffff_8100_1234),
            (b'D', long.as_str(), 0xffff_ffff_8200_0000),
            (b't', "abab_static", 0xffff_ffff_8100_5678),
        ];
        for enc in [
            AddressEncoding::AbsolutePercpu,
            AddressEncoding::RelativeToBase,
            AddressEncoding::PlaceRelative,
        ] {
            let (mem, t) = tables(&syms, enc);
            let k = Kallsyms::read(&mem, &t).unwrap_or_else(|e| panic!("{enc}: {e}"));
            assert_eq!(k.encoding(), enc);
            assert_eq!(k.len(), 4);
            assert_eq!(k.lookup("_stext"), Some(0xffff_ffff_8100_0000));
            assert_eq!(
                k.lookup(&long),
                Some(0xffff_ffff_8200_0000),
                "2-byte name length"
            );
            assert_eq!(
                k.lookup_all("abab_static"),
                vec![0xffff_ffff_8100_1234, 0xffff_ffff_8100_5678]
            );
            assert_eq!(k.lookup("abab"), None);
            let all: Vec<(String, char)> = k.iter().map(|s| (s.name, s.kind)).collect();
            assert_eq!(all[1], ("abab_static".to_string(), 't'));
        }
    }

    #[test]
    fn corrupt_tables_are_errors_not_panics() {
        let syms = [(b'T', "_stext", 0xffff_ffff_8100_0000u64)];
        let (mem, mut t) = tables(&syms, AddressEncoding::RelativeToBase);
        t.stext = 0x1234;
        assert!(matches!(
            Kallsyms::read(&mem, &t),
            Err(KallsymsError::NoEncoding { .. })
        ));
        let (mut mem, t) = tables(&syms, AddressEncoding::RelativeToBase);
        mem.0[5].1 = 0u32.to_le_bytes().to_vec();
        assert!(matches!(
            Kallsyms::read(&mem, &t),
            Err(KallsymsError::Corrupt(_))
        ));
        let (mut mem, t) = tables(&syms, AddressEncoding::RelativeToBase);
        mem.0.remove(0);
        assert!(matches!(
            Kallsyms::read(&mem, &t),
            Err(KallsymsError::Read {
                what: "kallsyms_names",
                ..
            })
        ));
    }
}
