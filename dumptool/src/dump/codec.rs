//! Page decompression for kdump-compressed dumps: zlib (`flate2`), LZO1X
//! (`lzo1x`, a bounds-checked pure-Rust decoder), snappy raw format (`snap`)
//! and zstd frames (`ruzstd`). Every decoder writes into a caller-sized page
//! buffer and must fill it exactly; anything else is an error, never a
//! panic.

use std::cell::RefCell;

/// How a kdump page is stored (from its descriptor's flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `DUMP_DH_COMPRESSED_ZLIB` (0x1).
    Zlib,
    /// `DUMP_DH_COMPRESSED_LZO` (0x2).
    Lzo,
    /// `DUMP_DH_COMPRESSED_SNAPPY` (0x4).
    Snappy,
    /// `DUMP_DH_COMPRESSED_ZSTD` (0x20).
    Zstd,
}

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

/// Largest zstd window accepted (pages are at most 64 KiB).
const MAX_ZSTD_WINDOW: u64 = 8 << 20;

impl Codec {
    /// The codec a page descriptor's `flags` select (crash's order of
    /// precedence), or `None` for a page stored raw.
    pub fn from_flags(flags: u32) -> Option<Codec> {
        if flags & DUMP_DH_COMPRESSED_ZLIB != 0 {
            Some(Codec::Zlib)
        } else if flags & DUMP_DH_COMPRESSED_LZO != 0 {
            Some(Codec::Lzo)
        } else if flags & DUMP_DH_COMPRESSED_SNAPPY != 0 {
            Some(Codec::Snappy)
        } else if flags & DUMP_DH_COMPRESSED_ZSTD != 0 {
            Some(Codec::Zstd)
        } else {
            None
        }
    }

    /// `zlib`, `lzo`, `snappy` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zlib => "zlib",
            Codec::Lzo => "lzo",
            Codec::Snappy => "snappy",
            Codec::Zstd => "zstd",
        }
    }

    /// Decompresses `src` into all of `dst`; the data must decompress to
    /// exactly `dst.len()` bytes.
    pub fn decompress(self, src: &[u8], dst: &mut [u8]) -> Result<(), String> {
        match self {
            Codec::Zlib => zlib(src, dst),
            Codec::Lzo => lzo(src, dst),
            Codec::Snappy => snappy(src, dst),
            Codec::Zstd => zstd(src, dst),
        }
    }
}

thread_local! {
    static ZLIB: RefCell<flate2::Decompress> = RefCell::new(flate2::Decompress::new(true));
    static ZSTD: RefCell<ruzstd::FrameDecoder> = RefCell::new(ruzstd::FrameDecoder::new());
}

fn zlib(src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    ZLIB.with_borrow_mut(|d| {
        d.reset(true);
        let status = d
            .decompress(src, dst, flate2::FlushDecompress::Finish)
            .map_err(|e| format!("invalid zlib data: {e}"))?;
        let out = d.total_out();
        match status {
            flate2::Status::StreamEnd if out == dst.len() as u64 => Ok(()),
            flate2::Status::StreamEnd => Err(format!(
                "zlib stream ends after {out} of {} bytes",
                dst.len()
            )),
            _ if out == dst.len() as u64 => {
                Err(format!("zlib stream holds more than {} bytes", dst.len()))
            }
            _ => Err(format!(
                "zlib stream is cut short after {} input bytes ({out} of {} bytes out)",
                d.total_in(),
                dst.len()
            )),
        }
    })
}

#[cfg(feature = "lzo")]
fn lzo(src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    lzo1x::decompress(src, dst).map_err(|_| {
        format!(
            "invalid LZO1X data (or it does not decompress to exactly {} bytes)",
            dst.len()
        )
    })
}

#[cfg(not(feature = "lzo"))]
fn lzo(_src: &[u8], _dst: &mut [u8]) -> Result<(), String> {
    Err("this dumptool was built without LZO support (cargo feature `lzo`)".into())
}

fn snappy(src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    let len = snap::raw::decompress_len(src).map_err(|e| format!("invalid snappy data: {e}"))?;
    if len != dst.len() {
        return Err(format!("snappy data holds {len} bytes, not {}", dst.len()));
    }
    let n = snap::raw::Decoder::new()
        .decompress(src, dst)
        .map_err(|e| format!("invalid snappy data: {e}"))?;
    if n != dst.len() {
        return Err(format!(
            "snappy data decompresses to {n} bytes, not {}",
            dst.len()
        ));
    }
    Ok(())
}

fn zstd(src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    let (frame, _) = ruzstd::frame::read_frame_header(src)
        .map_err(|e| format!("invalid zstd frame header: {e:?}"))?;
    let window = frame
        .header
        .window_size()
        .map_err(|e| format!("invalid zstd frame header: {e:?}"))?;
    if window > MAX_ZSTD_WINDOW {
        return Err(format!(
            "zstd window of {window} bytes is absurd for a page"
        ));
    }
    let content = frame.header.frame_content_size();
    if content != 0 && content != dst.len() as u64 {
        return Err(format!(
            "zstd frame holds {content} bytes, not {}",
            dst.len()
        ));
    }
    ZSTD.with_borrow_mut(|d| {
        let n = d
            .decode_all(src, dst)
            .map_err(|e| format!("invalid zstd data: {e:?}"))?;
        if n != dst.len() {
            return Err(format!(
                "zstd data decompresses to {n} bytes, not {}",
                dst.len()
            ));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn page() -> Vec<u8> {
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 & 0x0f)
            .collect()
    }

    #[test]
    fn zlib_roundtrip_and_errors() {
        let p = page();
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&p).unwrap();
        let c = e.finish().unwrap();
        let mut out = vec![0u8; 4096];
        Codec::Zlib.decompress(&c, &mut out).unwrap();
        assert_eq!(out, p);
        // Short output buffer, truncated input, garbage.
        assert!(Codec::Zlib.decompress(&c, &mut out[..4000]).is_err());
        assert!(Codec::Zlib.decompress(&c[..c.len() / 2], &mut out).is_err());
        assert!(Codec::Zlib.decompress(&[0x55; 100], &mut out).is_err());
        let mut big = vec![0u8; 8192];
        assert!(Codec::Zlib.decompress(&c, &mut big).is_err());
    }

    #[cfg(feature = "lzo")]
    #[test]
    fn lzo_roundtrip_and_errors() {
        let p = page();
        let c = lzo1x::compress(&p, lzo1x::CompressLevel::default());
        let mut out = vec![0u8; 4096];
        Codec::Lzo.decompress(&c, &mut out).unwrap();
        assert_eq!(out, p);
        assert!(Codec::Lzo.decompress(&c[..c.len() - 3], &mut out).is_err());
        assert!(Codec::Lzo.decompress(&[0xff; 64], &mut out).is_err());
        assert!(Codec::Lzo.decompress(&c, &mut out[..100]).is_err());
    }

    #[test]
    fn snappy_roundtrip_and_errors() {
        let p = page();
        let c = snap::raw::Encoder::new().compress_vec(&p).unwrap();
        let mut out = vec![0u8; 4096];
        Codec::Snappy.decompress(&c, &mut out).unwrap();
        assert_eq!(out, p);
        assert!(Codec::Snappy
            .decompress(&c[..c.len() - 3], &mut out)
            .is_err());
        assert!(Codec::Snappy.decompress(&c, &mut out[..100]).is_err());
        assert!(Codec::Snappy.decompress(&[0xff; 64], &mut out).is_err());
    }

    /// `printf 'KTYPE zstd page\n%.0s' $(seq 256) | zstd -19 | xxd -i`: 256
    /// copies of a 16-byte line (4096 bytes) in one frame without a content
    /// size (streamed).
    const ZSTD_STREAMED: &[u8] = &[
        0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x68, 0xc5, 0x00, 0x00, 0x80, 0x4b, 0x54, 0x59, 0x50, 0x45,
        0x20, 0x7a, 0x73, 0x74, 0x64, 0x20, 0x70, 0x61, 0x67, 0x65, 0x0a, 0x01, 0x00, 0xda, 0x3f,
        0xfe, 0x5c, 0x02, 0x8c, 0xe8, 0x45, 0xc9,
    ];
    /// The same compressed from a file: single-segment frame with a content
    /// size, as makedumpfile's `ZSTD_compressCCtx` writes.
    const ZSTD_SIZED: &[u8] = &[
        0x28, 0xb5, 0x2f, 0xfd, 0x64, 0x00, 0x0f, 0xc5, 0x00, 0x00, 0x80, 0x4b, 0x54, 0x59, 0x50,
        0x45, 0x20, 0x7a, 0x73, 0x74, 0x64, 0x20, 0x70, 0x61, 0x67, 0x65, 0x0a, 0x01, 0x00, 0xda,
        0x3f, 0xfe, 0x5c, 0x02, 0x8c, 0xe8, 0x45, 0xc9,
    ];

    #[test]
    fn zstd_frames_and_errors() {
        for frame in [ZSTD_STREAMED, ZSTD_SIZED] {
            let mut out = vec![0u8; 4096];
            Codec::Zstd.decompress(frame, &mut out).unwrap();
            assert_eq!(out, b"KTYPE zstd page\n".repeat(256));
            assert!(Codec::Zstd.decompress(&frame[..20], &mut out).is_err());
            assert!(Codec::Zstd.decompress(frame, &mut out[..1000]).is_err());
            let mut big = vec![0u8; 8192];
            assert!(Codec::Zstd.decompress(frame, &mut big).is_err());
        }
        let mut out = vec![0u8; 4096];
        assert!(Codec::Zstd
            .decompress(&[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff], &mut out)
            .is_err());
        assert!(Codec::Zstd.decompress(&[1, 2, 3], &mut out).is_err());
    }

    #[test]
    fn flags_pick_codecs() {
        assert_eq!(Codec::from_flags(0), None);
        assert_eq!(
            Codec::from_flags(DUMP_DH_COMPRESSED_ZSTD),
            Some(Codec::Zstd)
        );
        assert_eq!(Codec::from_flags(3), Some(Codec::Zlib));
    }
}
