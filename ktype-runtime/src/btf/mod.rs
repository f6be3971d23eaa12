//! A zero-copy, validating parser of the BPF Type Format.
//!
//! [`Btf::open`] reads raw BTF (`/sys/kernel/btf/*`), the `.BTF` section of an
//! ELF file (vmlinux, `.ko`, `.ko.xz`), or plain bytes ([`Btf::from_bytes`]).
//! Module BTF is *split* BTF on top of vmlinux's: its type ids continue after
//! the base's last id and its string offsets after the base's strings
//! ([`Btf::open_split`]).
//!
//! Everything is validated once at load (header, section bounds, every type
//! record, every type reference and string offset), so navigating a loaded
//! [`Btf`] never reads out of bounds and never panics. Type records are read
//! in place from the mapped file; only a table of record offsets and a name
//! index are built.
//!
//! ```no_run
//! use ktype_runtime::btf::{Btf, Kind};
//! let btf = Btf::open("/sys/kernel/btf/vmlinux")?;
//! let page = btf.find_unique("page", Kind::Struct)?;
//! let loc = btf.member_path(page.id(), "_refcount.counter")?;
//! println!("struct page is {} bytes; _refcount at byte {}", page.size(), loc.bit_offset / 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cycles;
mod error;
mod format;
mod header;
mod index;
mod kind;
mod layout;
mod set;
mod source;
mod types;

pub use error::{BtfError, Result};
pub use index::{LookupError, MAX_CANDIDATES};
pub use kind::Kind;
pub use layout::{MemberLoc, PathError, PathErrorKind};
pub use set::BtfSet;
pub use types::{
    ArrayInfo, EnumValue, IntEncoding, IntInfo, Member, Param, Type, TypeId, VarSecInfo,
};

use header::Header;
use source::Storage;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// Size of the fixed `struct btf_type` header of every record.
const TYPE_HEADER: usize = 12;

/// Reads a u32 of the blob's byte order at `off` (callers pass validated offsets).
#[inline(always)]
pub(crate) fn rd32(b: &[u8], off: usize, big_endian: bool) -> u32 {
    let a: [u8; 4] = match b.get(off..off + 4) {
        Some(s) => [s[0], s[1], s[2], s[3]],
        None => [0; 4],
    };
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// One loaded BTF blob (vmlinux's, or a module's split on top of it).
pub struct Btf {
    origin: String,
    storage: Storage,
    /// The BTF blob inside `storage`.
    blob: Range<usize>,
    big_endian: bool,
    /// Type section, relative to the blob.
    types: Range<usize>,
    /// String section, relative to the blob.
    strs: Range<usize>,
    /// `(info_sz, elem_sz)` per kind, from the optional layout section.
    layouts: Vec<(u8, u8)>,
    /// Offset of each own type record, relative to the type section.
    type_offs: Vec<u32>,
    /// Ids of named own types, `[data types, declarations]`, for the name indexes.
    named: [Vec<u32>; 2],
    base: Option<Arc<Btf>>,
    /// Id of the first own type (1 for base BTF).
    start_id: u32,
    /// String offset of the first own string (0 for base BTF).
    start_str: u32,
    /// Name index of data types (struct, union, enum, typedef, int, ...).
    type_index: OnceLock<index::NameIndex>,
    /// Name index of declarations (func, var, datasec, decl_tag).
    decl_index: OnceLock<index::NameIndex>,
    constants: OnceLock<index::ConstIndex>,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("origin", &self.origin)
            .field("types", &self.type_offs.len())
            .field("start_id", &self.start_id)
            .field("split", &self.base.is_some())
            .finish()
    }
}

impl Btf {
    fn parse(
        origin: String,
        storage: Storage,
        blob: Range<usize>,
        base: Option<Arc<Btf>>,
    ) -> Result<Btf> {
        let bytes = &storage[blob.clone()];
        let hdr = Header::parse(&origin, bytes)?;
        let (start_id, start_str) = match &base {
            Some(b) => (b.next_id(), b.str_end()),
            None => (1, 0),
        };
        let mut btf = Btf {
            origin,
            big_endian: hdr.big_endian,
            types: hdr.types.clone(),
            strs: hdr.strs.clone(),
            layouts: Vec::new(),
            type_offs: Vec::new(),
            named: [Vec::new(), Vec::new()],
            start_id,
            start_str,
            base,
            type_index: OnceLock::new(),
            decl_index: OnceLock::new(),
            constants: OnceLock::new(),
            blob,
            storage,
        };
        btf.check_string_bounds()?;
        btf.layouts = hdr.read_layouts(btf.bytes());
        btf.walk_types()?;
        Ok(btf)
    }

    /// The raw BTF blob.
    pub fn bytes(&self) -> &[u8] {
        &self.storage[self.blob.clone()]
    }

    /// Where this BTF came from (a path or a description), as used in errors.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the blob is big-endian.
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// The base BTF of split BTF.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// The first type id defined by this blob (1 for vmlinux).
    pub fn start_id(&self) -> u32 {
        self.start_id
    }

    /// One past the last type id (for split BTF, ids of the base are included).
    pub fn next_id(&self) -> u32 {
        self.start_id + self.type_offs.len() as u32
    }

    /// Number of types this blob itself defines.
    pub fn own_type_count(&self) -> usize {
        self.type_offs.len()
    }

    fn str_end(&self) -> u32 {
        self.start_str + self.strs.len() as u32
    }

    #[inline]
    pub(crate) fn u32_at(&self, rel: usize) -> u32 {
        rd32(self.bytes(), rel, self.big_endian)
    }

    fn corrupt(&self, offset: usize, what: impl Into<String>) -> BtfError {
        BtfError::Corrupt {
            origin: self.origin.clone(),
            offset: offset as u64,
            what: what.into(),
        }
    }

    /// The string at `off` (string offsets of split BTF continue after the base's).
    ///
    /// Offsets were validated at load; an offset from elsewhere that is out of
    /// range yields `""`.
    pub fn str_at(&self, off: u32) -> &str {
        if off < self.start_str {
            return match &self.base {
                Some(b) => b.str_at(off),
                None => "",
            };
        }
        let rel = (off - self.start_str) as usize;
        let strs = &self.bytes()[self.strs.clone()];
        let Some(tail) = strs.get(rel..) else {
            return "";
        };
        let end = memchr::memchr(0, tail).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).unwrap_or("")
    }

    /// The O(1) string-section checks done at load.
    fn check_string_bounds(&self) -> Result<()> {
        let strs = &self.bytes()[self.strs.clone()];
        if self.base.is_none() && strs.first() != Some(&0) {
            return Err(self.corrupt(
                self.strs.start,
                "string section does not start with an empty string",
            ));
        }
        if !strs.is_empty() && strs.last() != Some(&0) {
            return Err(self.corrupt(
                self.strs.end.saturating_sub(1),
                "string section is not NUL-terminated",
            ));
        }
        if self.start_str as u64 + strs.len() as u64 > u32::MAX as u64 {
            return Err(self.corrupt(self.strs.start, "string section too large"));
        }
        Ok(())
    }

    /// `(info_sz, elem_sz)` for every 7-bit kind number: known kinds from the
    /// format, unknown ones from the layout section, `None` where neither says.
    fn record_shapes(&self) -> [Option<(u32, u32)>; 128] {
        let mut table = [None; 128];
        for (k, slot) in table.iter_mut().enumerate() {
            *slot = match Kind::from_raw(k as u8).record_shape() {
                Some((i, e)) => Some((i as u32, e as u32)),
                None if k != 0 => self.layouts.get(k).map(|&(i, e)| (i as u32, e as u32)),
                None => None,
            };
        }
        table
    }

    /// Walks the type section once, recording where each record starts and
    /// checking that every record, and its name offset, is in bounds. Named
    /// types are noted for the name indexes on the way.
    fn walk_types(&mut self) -> Result<()> {
        let shapes = self.record_shapes();
        let walked = if self.big_endian {
            self.walk::<true>(&shapes)
        } else {
            self.walk::<false>(&shapes)
        };
        let (offs, named) = walked.map_err(|(abs, what)| self.corrupt(abs, what))?;
        self.type_offs = offs;
        self.named = named;
        Ok(())
    }

    /// The walk itself, compiled once per byte order.
    #[allow(clippy::type_complexity)]
    fn walk<const BE: bool>(
        &self,
        shapes: &[Option<(u32, u32)>; 128],
    ) -> std::result::Result<(Vec<u32>, [Vec<u32>; 2]), (usize, String)> {
        let word = |w: [u8; 4]| {
            if BE {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        // (info_sz, elem_sz) packed per kind; u32::MAX marks a kind we cannot skip.
        let mut packed = [u32::MAX; 128];
        for (p, s) in packed.iter_mut().zip(shapes) {
            if let Some((i, e)) = s {
                *p = i | e << 16;
            }
        }
        let types = &self.bytes()[self.types.clone()];
        let len = types.len();
        let str_end = self.str_end();
        // Type ids cannot overflow: the section length is a u32 and a record is >= 12 bytes.
        let mut offs: Vec<u32> = Vec::with_capacity(len / 20);
        let mut named: [Vec<u32>; 2] =
            [Vec::with_capacity(len / 200), Vec::with_capacity(len / 30)];
        let class: [usize; 128] = std::array::from_fn(|k| usize::from(index::is_decl(k as u32)));
        let mut off = 0usize;
        let mut id = self.start_id;
        while let Some(rec) = types.get(off..off + TYPE_HEADER) {
            let name_off = word([rec[0], rec[1], rec[2], rec[3]]);
            let info = word([rec[4], rec[5], rec[6], rec[7]]);
            let shape = packed[((info >> 24) & 0x7f) as usize];
            let vlen = (info & 0x00ff_ffff) as usize;
            let extra = (shape & 0xffff) as usize + vlen * (shape >> 16) as usize;
            if shape == u32::MAX || name_off >= str_end || extra > len - off - TYPE_HEADER {
                let kind = Kind::from_raw(((info >> 24) & 0x7f) as u8);
                let what = if shape == u32::MAX {
                    format!("type id {id}: {kind} and no layout section to skip it")
                } else if name_off >= str_end {
                    format!("type id {id}: name offset {name_off:#x} is past the string section")
                } else {
                    format!("type id {id} ({kind}, vlen {vlen}) runs past the type section")
                };
                return Err((self.types.start + off, what));
            }
            if name_off != 0 {
                named[class[((info >> 24) & 0x7f) as usize]].push(id);
            }
            offs.push(off as u32);
            off += TYPE_HEADER + extra;
            id += 1;
        }
        if off < len {
            return Err((
                self.types.start + off,
                format!("type id {id} is truncated ({} bytes left)", len - off),
            ));
        }
        Ok((offs, named))
    }

    /// Fully validates the blob: every type reference, member, enumerator and
    /// parameter name, int encoding, that the strings are UTF-8, and that no
    /// type contains itself by value ([`Btf::check_containment`]: typedef
    /// cycles, self-containing structs).
    ///
    /// Loading checks only structure (header, sections, record bounds); the
    /// resolver checks each type it uses with [`Btf::check_type`]. Navigation
    /// never reads out of bounds either way: a dangling id is `None`.
    pub fn validate(&self) -> Result<()> {
        let strs = &self.bytes()[self.strs.clone()];
        if let Err(e) = std::str::from_utf8(strs) {
            return Err(self.corrupt(
                self.strs.start + e.valid_up_to(),
                "string section is not valid UTF-8",
            ));
        }
        for i in 0..self.type_offs.len() {
            self.check_own(i)?;
        }
        self.check_containment()
    }

    /// Validates one type record (its references, names and encoding).
    pub fn check_type(&self, id: TypeId) -> Result<()> {
        if id == 0 {
            return Ok(());
        }
        if id < self.start_id {
            return match &self.base {
                Some(b) => b.check_type(id),
                None => Ok(()),
            };
        }
        let i = (id - self.start_id) as usize;
        if i >= self.type_offs.len() {
            return Err(self.corrupt(
                self.types.end,
                format!(
                    "type id {id} does not exist (last is {})",
                    self.next_id() - 1
                ),
            ));
        }
        self.check_own(i)
    }

    fn check_own(&self, i: usize) -> Result<()> {
        let next = self.next_id();
        let str_end = self.str_end();
        let b = self.bytes();
        let be = self.big_endian;
        {
            let rel = self.type_offs[i];
            let abs = self.types.start + rel as usize;
            let info = rd32(b, abs + 4, be);
            let kind = Kind::from_raw(((info >> 24) & 0x7f) as u8);
            let vlen = (info & 0x00ff_ffff) as usize;
            let size_or_type = rd32(b, abs + 8, be);
            let w = |j: usize| rd32(b, abs + TYPE_HEADER + 4 * j, be);
            // (string-offset word index, type-id word index) inside each vlen element.
            let (elem_words, name_w, type_w): (usize, Option<usize>, Option<usize>) = match kind {
                Kind::Struct | Kind::Union => (3, Some(0), Some(1)),
                Kind::Enum => (2, Some(0), None),
                Kind::Enum64 => (3, Some(0), None),
                Kind::FuncProto => (2, Some(0), Some(1)),
                Kind::Datasec => (3, None, Some(0)),
                _ => (0, None, None),
            };
            let mut bad: Option<String> = None;
            if kind.has_type_ref() && size_or_type >= next {
                bad = Some(format!("refers to type id {size_or_type}"));
            }
            match kind {
                Kind::Int => {
                    let word = w(0);
                    let (bits, offset) = (word & 0xff, (word >> 16) & 0xff);
                    if !matches!(size_or_type, 1 | 2 | 4 | 8 | 16)
                        || bits == 0
                        || bits > 128
                        || offset + bits > size_or_type * 8
                    {
                        bad = Some(format!(
                            "int of size {size_or_type} with {bits} bits at offset {offset}"
                        ));
                    }
                }
                Kind::Array if w(0) >= next || w(1) >= next => {
                    bad = Some(format!("array refers to type ids {} and {}", w(0), w(1)));
                }
                _ => {}
            }
            for e in 0..if elem_words > 0 { vlen } else { 0 } {
                let base = e * elem_words;
                if let Some(n) = name_w {
                    let off = w(base + n);
                    if off >= str_end {
                        bad = Some(format!(
                            "element {e} has name offset {off:#x} past the string section"
                        ));
                    }
                }
                if let Some(t) = type_w {
                    let id = w(base + t);
                    if id >= next {
                        bad = Some(format!("element {e} refers to type id {id}"));
                    }
                }
            }
            if let Some(what) = bad {
                let id = self.start_id + i as u32;
                return Err(self.corrupt(
                    abs,
                    format!(
                        "type id {id} ({kind}): {what} (last type id is {})",
                        next - 1
                    ),
                ));
            }
        }
        Ok(())
    }

    fn own_type(&self, id: u32, rel: u32) -> Type<'_> {
        Type::at(self, id, self.types.start + rel as usize)
    }

    /// The type with `id` (id 0 is `void`); `None` past the last id.
    pub fn type_by_id(&self, id: TypeId) -> Option<Type<'_>> {
        if id == 0 {
            return Some(Type::void(self));
        }
        if id < self.start_id {
            return self.base.as_ref().and_then(|b| b.type_by_id(id));
        }
        let rel = *self.type_offs.get((id - self.start_id) as usize)?;
        Some(self.own_type(id, rel))
    }

    /// Every type this blob itself defines, in id order.
    pub fn own_types(&self) -> impl Iterator<Item = Type<'_>> + '_ {
        self.type_offs
            .iter()
            .enumerate()
            .map(move |(i, &rel)| self.own_type(self.start_id + i as u32, rel))
    }

    /// Every type visible from this blob (the base's first, for split BTF).
    pub fn all_types(&self) -> Box<dyn Iterator<Item = Type<'_>> + '_> {
        match &self.base {
            Some(b) => Box::new(b.all_types().chain(self.own_types())),
            None => Box::new(self.own_types()),
        }
    }
}
