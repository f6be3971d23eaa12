//! Page decompression for kdump-compressed dumps: zlib (`flate2`), LZO1X
//! (`lzo1x`, a bounds-checked pure-Rust decoder), snappy raw format (`snap`)
//! and zstd frames (`ruzstd`). Every decoder writes into a caller-sized page
//! buffer and must fill it exactly; anything else is an error, never a
//! panic.

use crate::format::Compression;
use std::cell::RefCell;

/// Largest zstd window accepted (pages are at most 64 KiB).
const MAX_ZSTD_WINDOW: u64 = 8 << 20;

impl Compression {
    /// Decompresses `src` into all of `dst`; the data must decompress to
    /// exactly `dst.len()` bytes ([`Compression::None`]: `src` is the page).
    pub fn decompress(self, src: &[u8], dst: &mut [u8]) -> Result<(), String> {
        match self {
            Compression::None if src.len() == dst.len() => {
                dst.copy_from_slice(src);
                Ok(())
            }
            Compression::None => Err(format!(
                "{} raw bytes for a {}-byte page",
                src.len(),
                dst.len()
            )),
            Compression::Zlib => zlib(src, dst),
            Compression::Lzo => lzo(src, dst),
            Compression::Snappy => snappy(src, dst),
            Compression::Zstd => zstd(src, dst),
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
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    use crate::format::compression::sample_page as page;

    #[test]
    fn zlib_roundtrip_and_errors() {
        let p = page();
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&p).unwrap();
        let c = e.finish().unwrap();
        let mut out = vec![0u8; 4096];
        Compression::Zlib.decompress(&c, &mut out).unwrap();
        assert_eq!(out, p);
        // Short output buffer, truncated input, garbage.
        assert!(Compression::Zlib.decompress(&c, &mut out[..4000]).is_err());
        assert!(Compression::Zlib
            .decompress(&c[..c.len() / 2], &mut out)
            .is_err());
        assert!(Compression::Zlib
            .decompress(&[0x55; 100], &mut out)
            .is_err());
        let mut big = vec![0u8; 8192];
        assert!(Compression::Zlib.decompress(&c, &mut big).is_err());
    }

    #[cfg(feature = "lzo")]
    #[test]
    fn lzo_roundtrip_and_errors() {
        let p = page();
        let c = lzo1x::compress(&p, lzo1x::CompressLevel::default());
        let mut out = vec![0u8; 4096];
        Compression::Lzo.decompress(&c, &mut out).unwrap();
        assert_eq!(out, p);
        assert!(Compression::Lzo
            .decompress(&c[..c.len() - 3], &mut out)
            .is_err());
        assert!(Compression::Lzo.decompress(&[0xff; 64], &mut out).is_err());
        assert!(Compression::Lzo.decompress(&c, &mut out[..100]).is_err());
    }

    #[test]
    fn snappy_roundtrip_and_errors() {
        let p = page();
        let c = snap::raw::Encoder::new().compress_vec(&p).unwrap();
        let mut out = vec![0u8; 4096];
        Compression::Snappy.decompress(&c, &mut out).unwrap();
        assert_eq!(out, p);
        assert!(Compression::Snappy
            .decompress(&c[..c.len() - 3], &mut out)
            .is_err());
        assert!(Compression::Snappy.decompress(&c, &mut out[..100]).is_err());
        assert!(Compression::Snappy
            .decompress(&[0xff; 64], &mut out)
            .is_err());
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
    pub(crate) const ZSTD_SIZED: &[u8] = &[
        0x28, 0xb5, 0x2f, 0xfd, 0x64, 0x00, 0x0f, 0xc5, 0x00, 0x00, 0x80, 0x4b, 0x54, 0x59, 0x50,
        0x45, 0x20, 0x7a, 0x73, 0x74, 0x64, 0x20, 0x70, 0x61, 0x67, 0x65, 0x0a, 0x01, 0x00, 0xda,
        0x3f, 0xfe, 0x5c, 0x02, 0x8c, 0xe8, 0x45, 0xc9,
    ];

    #[test]
    fn zstd_frames_and_errors() {
        for frame in [ZSTD_STREAMED, ZSTD_SIZED] {
            let mut out = vec![0u8; 4096];
            Compression::Zstd.decompress(frame, &mut out).unwrap();
            assert_eq!(out, b"KTYPE zstd page\n".repeat(256));
            assert!(Compression::Zstd
                .decompress(&frame[..20], &mut out)
                .is_err());
            assert!(Compression::Zstd
                .decompress(frame, &mut out[..1000])
                .is_err());
            let mut big = vec![0u8; 8192];
            assert!(Compression::Zstd.decompress(frame, &mut big).is_err());
        }
        let mut out = vec![0u8; 4096];
        assert!(Compression::Zstd
            .decompress(&[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff], &mut out)
            .is_err());
        assert!(Compression::Zstd.decompress(&[1, 2, 3], &mut out).is_err());
    }
}
