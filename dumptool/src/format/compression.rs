//! How a kdump-compressed file stores a page: the `DUMP_DH_*` flags of the
//! main header's `status` and of each page descriptor, and the one
//! [`Compression`] type both the reader (which decompresses, in
//! `dump/codec.rs`) and the writers (which compress, in `write/compress.rs`)
//! name codecs by.

/// Page descriptor / header status flag: zlib.
pub const DUMP_DH_COMPRESSED_ZLIB: u32 = 0x1;
/// Page descriptor / header status flag: LZO.
pub const DUMP_DH_COMPRESSED_LZO: u32 = 0x2;
/// Page descriptor / header status flag: snappy.
pub const DUMP_DH_COMPRESSED_SNAPPY: u32 = 0x4;
/// Header status flag: the dump is incomplete.
pub const DUMP_DH_COMPRESSED_INCOMPLETE: u32 = 0x8;
/// Header status flag: unused vmemmap pages were excluded.
pub const DUMP_DH_EXCLUDED_VMEMMAP: u32 = 0x10;
/// Page descriptor / header status flag: zstd.
pub const DUMP_DH_COMPRESSED_ZSTD: u32 = 0x20;

/// How kdump-compressed pages are (to be) stored: raw or with one codec.
///
/// ```
/// use dumptool::format::compression::{Compression, DUMP_DH_COMPRESSED_ZSTD};
/// assert_eq!(Compression::from_flags(DUMP_DH_COMPRESSED_ZSTD), Compression::Zstd);
/// assert_eq!(Compression::Zstd.flag(), DUMP_DH_COMPRESSED_ZSTD);
/// assert_eq!(Compression::from_flags(0), Compression::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored raw (no flag).
    None,
    /// zlib, `DUMP_DH_COMPRESSED_ZLIB` (`makedumpfile -c`).
    Zlib,
    /// LZO1X, `DUMP_DH_COMPRESSED_LZO` (`makedumpfile -l`; needs the `lzo`
    /// feature).
    Lzo,
    /// snappy's raw format, `DUMP_DH_COMPRESSED_SNAPPY` (`makedumpfile -p`).
    Snappy,
    /// A zstd frame, `DUMP_DH_COMPRESSED_ZSTD` (`makedumpfile -z`).
    Zstd,
}

impl Compression {
    /// The codecs (every variant but [`Compression::None`]), in crash's
    /// order of precedence when a page's flags name several.
    pub const CODECS: [Compression; 4] = [
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ];

    /// The kdump header / page descriptor flag of the codec (0 for none).
    pub fn flag(self) -> u32 {
        match self {
            Compression::None => 0,
            Compression::Zlib => DUMP_DH_COMPRESSED_ZLIB,
            Compression::Lzo => DUMP_DH_COMPRESSED_LZO,
            Compression::Snappy => DUMP_DH_COMPRESSED_SNAPPY,
            Compression::Zstd => DUMP_DH_COMPRESSED_ZSTD,
        }
    }

    /// The codec a page descriptor's or header's `flags` select (crash's
    /// order of precedence); [`Compression::None`] for a page stored raw.
    pub fn from_flags(flags: u32) -> Compression {
        Compression::CODECS
            .into_iter()
            .find(|c| flags & c.flag() != 0)
            .unwrap_or(Compression::None)
    }

    /// `none`, `zlib`, `lzo`, `snappy` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zlib => "zlib",
            Compression::Lzo => "lzo",
            Compression::Snappy => "snappy",
            Compression::Zstd => "zstd",
        }
    }

    /// Whether this build can read and write the codec (LZO needs the
    /// `lzo` feature).
    pub fn available(self) -> bool {
        !matches!(self, Compression::Lzo) || cfg!(feature = "lzo")
    }
}

/// A compressible 4 KiB page for the codecs' tests (reader and writers).
#[cfg(test)]
pub(crate) fn sample_page() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 & 0x0f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_pick_codecs_in_crashs_order() {
        assert_eq!(Compression::from_flags(0), Compression::None);
        assert_eq!(
            Compression::from_flags(DUMP_DH_COMPRESSED_INCOMPLETE),
            Compression::None
        );
        assert_eq!(Compression::from_flags(3), Compression::Zlib);
        assert_eq!(Compression::from_flags(0x24), Compression::Snappy);
        for c in std::iter::once(Compression::None).chain(Compression::CODECS) {
            assert_eq!(Compression::from_flags(c.flag()), c, "{}", c.name());
        }
    }
}
