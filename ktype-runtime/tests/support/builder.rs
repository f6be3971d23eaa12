//! A small BTF writer for tests: builds blobs type by type, with a
//! deduplicated string table, in either byte order, with the original 24-byte
//! header or the 32-byte one with a layout section, as base or split BTF.
//!
//! Every `add_*` method returns the new type's id. Ids are handed out in
//! order, so a type may refer to a later one by computing its id with
//! [`BtfBuilder::next_id`], or be patched afterwards with
//! [`BtfBuilder::set_ref`] (for cycles).

use std::collections::HashMap;

pub const KIND_INT: u32 = 1;
pub const KIND_PTR: u32 = 2;
pub const KIND_ARRAY: u32 = 3;
pub const KIND_STRUCT: u32 = 4;
pub const KIND_UNION: u32 = 5;
pub const KIND_ENUM: u32 = 6;
pub const KIND_FWD: u32 = 7;
pub const KIND_TYPEDEF: u32 = 8;
pub const KIND_VOLATILE: u32 = 9;
pub const KIND_CONST: u32 = 10;
pub const KIND_RESTRICT: u32 = 11;
pub const KIND_FUNC: u32 = 12;
pub const KIND_FUNC_PROTO: u32 = 13;
pub const KIND_VAR: u32 = 14;
pub const KIND_DATASEC: u32 = 15;
pub const KIND_FLOAT: u32 = 16;
pub const KIND_DECL_TAG: u32 = 17;
pub const KIND_TYPE_TAG: u32 = 18;
pub const KIND_ENUM64: u32 = 19;

/// `BTF_INT_SIGNED`, `BTF_INT_CHAR`, `BTF_INT_BOOL`.
pub const INT_SIGNED: u32 = 1;
pub const INT_CHAR: u32 = 2;
pub const INT_BOOL: u32 = 4;

/// Byte offsets of the header fields.
pub mod hdr {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 2;
    pub const FLAGS: usize = 3;
    pub const HDR_LEN: usize = 4;
    pub const TYPE_OFF: usize = 8;
    pub const TYPE_LEN: usize = 12;
    pub const STR_OFF: usize = 16;
    pub const STR_LEN: usize = 20;
    pub const LAYOUT_OFF: usize = 24;
    pub const LAYOUT_LEN: usize = 28;
}

/// The `info` word of a type record.
pub fn info(kind: u32, vlen: u32, kind_flag: bool) -> u32 {
    assert!(kind < 128 && vlen < 1 << 24);
    (kind << 24) | vlen | ((kind_flag as u32) << 31)
}

/// A struct or union member for [`BtfBuilder::add_struct`].
#[derive(Debug, Clone, Copy)]
pub struct M<'a> {
    pub name: &'a str,
    pub ty: u32,
    pub bit_offset: u32,
    /// Bitfield width (kind_flag encoding); 0 for none.
    pub bitfield: u32,
}

/// A plain member at `bit_offset`.
pub fn m(name: &str, ty: u32, bit_offset: u32) -> M<'_> {
    M {
        name,
        ty,
        bit_offset,
        bitfield: 0,
    }
}

/// A kind_flag bitfield member of `bits` bits at `bit_offset`.
pub fn bf(name: &str, ty: u32, bit_offset: u32, bits: u32) -> M<'_> {
    M {
        name,
        ty,
        bit_offset,
        bitfield: bits,
    }
}

/// One piece of a type record.
#[derive(Debug, Clone)]
enum Piece {
    /// A u32 written in the blob's byte order.
    Word(u32),
    /// Bytes written as they are.
    Bytes(Vec<u8>),
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Word(_) => 4,
            Piece::Bytes(b) => b.len(),
        }
    }
}

/// Builds one BTF blob.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    big_endian: bool,
    /// `(info_sz, elem_sz, flags)` per kind number, for a 32-byte header.
    layout: Option<Vec<(u8, u8, u16)>>,
    start_id: u32,
    start_str: u32,
    strs: Vec<u8>,
    str_index: HashMap<Vec<u8>, u32>,
    records: Vec<Vec<Piece>>,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// Base BTF: ids from 1, strings from 0 (starting with the empty string).
    pub fn new() -> BtfBuilder {
        let mut str_index = HashMap::new();
        str_index.insert(Vec::new(), 0);
        BtfBuilder {
            big_endian: false,
            layout: None,
            start_id: 1,
            start_str: 0,
            strs: vec![0],
            str_index,
            records: Vec::new(),
        }
    }

    /// Split BTF on a base whose last type id is `start_id - 1` and whose
    /// string section is `base_str_len` bytes long. The empty name is the
    /// base's offset 0; this blob's own strings start at `base_str_len`.
    pub fn split(start_id: u32, base_str_len: u32) -> BtfBuilder {
        let mut str_index = HashMap::new();
        str_index.insert(Vec::new(), 0);
        BtfBuilder {
            big_endian: false,
            layout: None,
            start_id,
            start_str: base_str_len,
            strs: Vec::new(),
            str_index,
            records: Vec::new(),
        }
    }

    /// Split BTF on top of the blob `base` would build.
    pub fn split_on(base: &BtfBuilder) -> BtfBuilder {
        BtfBuilder::split(base.next_id(), base.start_str + base.strs.len() as u32)
    }

    /// Writes the blob big-endian.
    pub fn big_endian(mut self, yes: bool) -> Self {
        self.big_endian = yes;
        self
    }

    /// Writes a 32-byte header with a layout section describing every known
    /// kind (0..=19) plus `extra` `(kind, info_sz, elem_sz)` entries.
    pub fn with_layout(mut self, extra: &[(u8, u8, u8)]) -> Self {
        let mut l: Vec<(u8, u8, u16)> = vec![
            (0, 0, 0),  // void
            (4, 0, 0),  // int
            (0, 0, 0),  // ptr
            (12, 0, 0), // array
            (0, 12, 0), // struct
            (0, 12, 0), // union
            (0, 8, 0),  // enum
            (0, 0, 0),  // fwd
            (0, 0, 0),  // typedef
            (0, 0, 0),  // volatile
            (0, 0, 0),  // const
            (0, 0, 0),  // restrict
            (0, 0, 0),  // func
            (0, 8, 0),  // func_proto
            (4, 0, 0),  // var
            (0, 12, 0), // datasec
            (0, 0, 0),  // float
            (4, 0, 0),  // decl_tag
            (0, 0, 0),  // type_tag
            (0, 12, 0), // enum64
        ];
        for &(k, i, e) in extra {
            let k = k as usize;
            if l.len() <= k {
                l.resize(k + 1, (0, 0, 0));
            }
            l[k] = (i, e, 0);
        }
        self.layout = Some(l);
        self
    }

    /// A 32-byte header with exactly this layout section.
    pub fn with_raw_layout(mut self, layout: Vec<(u8, u8, u16)>) -> Self {
        self.layout = Some(layout);
        self
    }

    /// The id the next added type gets.
    pub fn next_id(&self) -> u32 {
        self.start_id + self.records.len() as u32
    }

    /// Total string length (base's included) seen by split BTF built on this.
    pub fn str_end(&self) -> u32 {
        self.start_str + self.strs.len() as u32
    }

    /// The string offset of `s`, adding it if new.
    pub fn str_off(&mut self, s: &str) -> u32 {
        self.raw_str(s.as_bytes())
    }

    /// The string offset of arbitrary bytes (e.g. invalid UTF-8), NUL added.
    pub fn raw_str(&mut self, s: &[u8]) -> u32 {
        if let Some(&off) = self.str_index.get(s) {
            return off;
        }
        let off = self.start_str + self.strs.len() as u32;
        self.strs.extend_from_slice(s);
        self.strs.push(0);
        self.str_index.insert(s.to_vec(), off);
        off
    }

    fn push(&mut self, pieces: Vec<Piece>) -> u32 {
        let id = self.next_id();
        self.records.push(pieces);
        id
    }

    /// Adds a record from its raw words: `name_off`, `info`, `size_or_type`,
    /// then `extra` u32 words.
    pub fn add_raw(&mut self, name_off: u32, info: u32, size_or_type: u32, extra: &[u32]) -> u32 {
        let mut p = vec![
            Piece::Word(name_off),
            Piece::Word(info),
            Piece::Word(size_or_type),
        ];
        p.extend(extra.iter().map(|&w| Piece::Word(w)));
        self.push(p)
    }

    /// Adds a record of any kind number (e.g. one the parser does not know)
    /// whose kind-specific data is the raw bytes `extra`.
    pub fn add_raw_kind(
        &mut self,
        kind: u32,
        vlen: u32,
        name: &str,
        size_or_type: u32,
        extra: &[u8],
    ) -> u32 {
        let n = self.str_off(name);
        self.push(vec![
            Piece::Word(n),
            Piece::Word(info(kind, vlen, false)),
            Piece::Word(size_or_type),
            Piece::Bytes(extra.to_vec()),
        ])
    }

    fn simple(
        &mut self,
        kind: u32,
        name: &str,
        vlen: u32,
        kflag: bool,
        sot: u32,
        extra: &[u32],
    ) -> u32 {
        let n = self.str_off(name);
        self.add_raw(n, info(kind, vlen, kflag), sot, extra)
    }

    /// An integer of `size` bytes using all its bits.
    pub fn add_int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let enc = if signed { INT_SIGNED } else { 0 };
        self.add_int_raw(name, size, enc, 0, size * 8)
    }

    /// An integer with an explicit encoding, `BTF_INT_OFFSET` and `BTF_INT_BITS`.
    pub fn add_int_raw(
        &mut self,
        name: &str,
        size: u32,
        encoding: u32,
        offset: u32,
        bits: u32,
    ) -> u32 {
        let word = (encoding << 24) | (offset << 16) | bits;
        self.simple(KIND_INT, name, 0, false, size, &[word])
    }

    pub fn add_ptr(&mut self, ty: u32) -> u32 {
        self.simple(KIND_PTR, "", 0, false, ty, &[])
    }

    pub fn add_array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
        self.simple(KIND_ARRAY, "", 0, false, 0, &[elem, index, nelems])
    }

    /// A struct; kind_flag is set when any member is a bitfield.
    pub fn add_struct(&mut self, name: &str, size: u32, members: &[M<'_>]) -> u32 {
        let kf = members.iter().any(|m| m.bitfield != 0);
        self.add_composite(false, name, size, kf, members)
    }

    /// A union; kind_flag is set when any member is a bitfield.
    pub fn add_union(&mut self, name: &str, size: u32, members: &[M<'_>]) -> u32 {
        let kf = members.iter().any(|m| m.bitfield != 0);
        self.add_composite(true, name, size, kf, members)
    }

    /// A struct or union with kind_flag chosen explicitly. Without kind_flag
    /// a member's `bitfield` must be 0 (the offset word is the bit offset).
    pub fn add_composite(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        kind_flag: bool,
        members: &[M<'_>],
    ) -> u32 {
        let mut words = Vec::with_capacity(members.len() * 3);
        for mb in members {
            let off = if kind_flag {
                assert!(mb.bit_offset < 1 << 24 && mb.bitfield < 256);
                (mb.bitfield << 24) | mb.bit_offset
            } else {
                assert_eq!(mb.bitfield, 0, "bitfield member without kind_flag");
                mb.bit_offset
            };
            words.extend([self.str_off(mb.name), mb.ty, off]);
        }
        let kind = if union { KIND_UNION } else { KIND_STRUCT };
        self.simple(kind, name, members.len() as u32, kind_flag, size, &words)
    }

    /// A 32-bit enum of `size` bytes; values are stored as their low 32 bits.
    pub fn add_enum(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i64)]) -> u32 {
        let mut words = Vec::new();
        for &(n, v) in values {
            words.extend([self.str_off(n), v as u32]);
        }
        self.simple(KIND_ENUM, name, values.len() as u32, signed, size, &words)
    }

    pub fn add_enum64(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, u64)],
    ) -> u32 {
        let mut words = Vec::new();
        for &(n, v) in values {
            words.extend([self.str_off(n), v as u32, (v >> 32) as u32]);
        }
        self.simple(KIND_ENUM64, name, values.len() as u32, signed, size, &words)
    }

    /// `struct name;` (or `union name;`).
    pub fn add_fwd(&mut self, name: &str, union: bool) -> u32 {
        self.simple(KIND_FWD, name, 0, union, 0, &[])
    }

    pub fn add_typedef(&mut self, name: &str, ty: u32) -> u32 {
        self.simple(KIND_TYPEDEF, name, 0, false, ty, &[])
    }

    pub fn add_volatile(&mut self, ty: u32) -> u32 {
        self.simple(KIND_VOLATILE, "", 0, false, ty, &[])
    }

    pub fn add_const(&mut self, ty: u32) -> u32 {
        self.simple(KIND_CONST, "", 0, false, ty, &[])
    }

    pub fn add_restrict(&mut self, ty: u32) -> u32 {
        self.simple(KIND_RESTRICT, "", 0, false, ty, &[])
    }

    pub fn add_type_tag(&mut self, name: &str, ty: u32) -> u32 {
        self.simple(KIND_TYPE_TAG, name, 0, false, ty, &[])
    }

    /// A function of prototype `proto`; linkage 0 static, 1 global, 2 extern.
    pub fn add_func(&mut self, name: &str, proto: u32, linkage: u32) -> u32 {
        self.simple(KIND_FUNC, name, linkage, false, proto, &[])
    }

    /// A prototype returning `ret`; a parameter of type 0 is `...`.
    pub fn add_func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut words = Vec::new();
        for &(n, t) in params {
            words.extend([self.str_off(n), t]);
        }
        self.simple(KIND_FUNC_PROTO, "", params.len() as u32, false, ret, &words)
    }

    pub fn add_var(&mut self, name: &str, ty: u32, linkage: u32) -> u32 {
        self.simple(KIND_VAR, name, 0, false, ty, &[linkage])
    }

    /// A data section with `(var id, offset, size)` entries.
    pub fn add_datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let words: Vec<u32> = vars.iter().flat_map(|&(t, o, s)| [t, o, s]).collect();
        self.simple(KIND_DATASEC, name, vars.len() as u32, false, size, &words)
    }

    pub fn add_float(&mut self, name: &str, size: u32) -> u32 {
        self.simple(KIND_FLOAT, name, 0, false, size, &[])
    }

    /// A decl tag on `ty` (component -1: the whole declaration).
    pub fn add_decl_tag(&mut self, name: &str, ty: u32, component: i32) -> u32 {
        self.simple(KIND_DECL_TAG, name, 0, false, ty, &[component as u32])
    }

    /// Rewrites the `size_or_type` word of type `id` (e.g. to make a cycle).
    pub fn set_ref(&mut self, id: u32, to: u32) {
        let rec = &mut self.records[(id - self.start_id) as usize];
        rec[2] = Piece::Word(to);
    }

    /// Byte offset of type `id`'s record inside the built blob.
    pub fn record_offset(&self, id: u32) -> usize {
        let i = (id - self.start_id) as usize;
        self.hdr_len()
            + self.layout_len()
            + self.records[..i].iter().map(|r| rec_len(r)).sum::<usize>()
    }

    /// Byte offset of the string section inside the built blob.
    pub fn strings_offset(&self) -> usize {
        self.hdr_len() + self.layout_len() + self.types_len()
    }

    fn hdr_len(&self) -> usize {
        if self.layout.is_some() {
            32
        } else {
            24
        }
    }

    fn layout_len(&self) -> usize {
        self.layout.as_ref().map_or(0, |l| l.len() * 4)
    }

    fn types_len(&self) -> usize {
        self.records.iter().map(|r| rec_len(r)).sum()
    }

    /// The blob: header, [layout section], type section, string section.
    pub fn build(&self) -> Vec<u8> {
        let be = self.big_endian;
        let w = |out: &mut Vec<u8>, v: u32| {
            out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        let (layout_len, types_len) = (self.layout_len() as u32, self.types_len() as u32);
        let mut out = Vec::new();
        out.extend_from_slice(if be { &[0xeb, 0x9f] } else { &[0x9f, 0xeb] });
        out.extend_from_slice(&[1, 0]);
        w(&mut out, self.hdr_len() as u32);
        w(&mut out, layout_len); // type_off
        w(&mut out, types_len);
        w(&mut out, layout_len + types_len); // str_off
        w(&mut out, self.strs.len() as u32);
        if let Some(l) = &self.layout {
            w(&mut out, 0);
            w(&mut out, layout_len);
            for &(i, e, f) in l {
                out.extend_from_slice(&[i, e]);
                out.extend_from_slice(&if be { f.to_be_bytes() } else { f.to_le_bytes() });
            }
        }
        for rec in &self.records {
            for p in rec {
                match p {
                    Piece::Word(v) => w(&mut out, *v),
                    Piece::Bytes(b) => out.extend_from_slice(b),
                }
            }
        }
        out.extend_from_slice(&self.strs);
        out
    }
}

fn rec_len(r: &[Piece]) -> usize {
    r.iter().map(Piece::len).sum()
}

/// Reads a u32 of either byte order from a built blob.
pub fn get_u32(b: &[u8], off: usize, big_endian: bool) -> u32 {
    let a = [b[off], b[off + 1], b[off + 2], b[off + 3]];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Writes a u32 of either byte order into a built blob.
pub fn put_u32(b: &mut [u8], off: usize, v: u32, big_endian: bool) {
    let a = if big_endian {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    };
    b[off..off + 4].copy_from_slice(&a);
}
