//! Page compression for kdump-compressed output, with the codecs
//! makedumpfile uses: zlib streams (`flate2` on zlib-rs), LZO1X-1
//! (our own, [`super::lzo`], byte for byte liblzo2's), snappy's raw format (`snap`) and a zstd frame at level 1
//! (libzstd). A page whose compressed form is not smaller than the page is
//! stored raw, as makedumpfile does.
//!
//! zlib: makedumpfile asks zlib for `Z_BEST_SPEED` (level 1). zlib-rs's
//! level 1 is a different, quicker algorithm whose pages come out about 27%
//! larger than zlib's; its level 2 is the classic fast deflate, within about
//! 1% of zlib's level 1 on real dumps, and still quicker, so dumptool uses
//! level 2 for `-c`.

use super::Compression;
use std::cell::RefCell;

thread_local! {
    static ZLIB: RefCell<flate2::Compress> =
        RefCell::new(flate2::Compress::new(flate2::Compression::new(2), true));
    static SNAPPY: RefCell<snap::raw::Encoder> = RefCell::new(snap::raw::Encoder::new());
    static ZSTD: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// A zstd frame at level 1, as makedumpfile writes (libzstd through the
/// `zstd` crate; one reusable context per thread).
fn zstd(page: &[u8]) -> Result<Vec<u8>, String> {
    ZSTD.with_borrow_mut(|c| {
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(1).map_err(|e| e.to_string())?);
        }
        match c {
            Some(c) => c.compress(page).map_err(|e| e.to_string()),
            None => Err("no zstd context".into()),
        }
    })
}

/// Compresses `page` with `codec`: `Ok(Some(data))` when that is smaller
/// than the page, `Ok(None)` when the page is to be stored raw.
pub(crate) fn compress(codec: Compression, page: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let out = match codec {
        Compression::None => return Ok(None),
        Compression::Zlib => return zlib(page),
        Compression::Lzo => lzo(page)?,
        Compression::Snappy => SNAPPY
            .with_borrow_mut(|e| e.compress_vec(page))
            .map_err(|e| e.to_string())?,
        Compression::Zstd => zstd(page)?,
    };
    Ok((out.len() < page.len()).then_some(out))
}

fn zlib(page: &[u8]) -> Result<Option<Vec<u8>>, String> {
    ZLIB.with_borrow_mut(|z| {
        z.reset();
        // Output space of one byte less than the page: what does not fit is
        // not worth compressing.
        let mut out = Vec::with_capacity(page.len().saturating_sub(1));
        let status = z
            .compress_vec(page, &mut out, flate2::FlushCompress::Finish)
            .map_err(|e| e.to_string())?;
        Ok(match status {
            flate2::Status::StreamEnd => Some(out),
            flate2::Status::Ok | flate2::Status::BufError => None,
        })
    })
}

#[cfg(feature = "lzo")]
fn lzo(page: &[u8]) -> Result<Vec<u8>, String> {
    thread_local! {
        static LZO: RefCell<(super::lzo::Lzo1x, Vec<u8>)> =
            RefCell::new((super::lzo::Lzo1x::new(), Vec::new()));
    }
    Ok(LZO.with_borrow_mut(|(c, out)| {
        c.compress(page, out);
        out.as_slice().to_vec()
    }))
}

#[cfg(not(feature = "lzo"))]
fn lzo(_page: &[u8]) -> Result<Vec<u8>, String> {
    Err("this dumptool was built without LZO support (cargo feature `lzo`)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::compression::sample_page as page;

    fn noise() -> Vec<u8> {
        let mut x = 0x1234_5678_9abc_def0u64;
        (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn roundtrip_through_the_readers_codecs() {
        for c in Compression::CODECS {
            if !c.available() {
                continue;
            }
            for p in [
                page(),
                vec![0u8; 4096],
                b"KTYPE page\n".repeat(400)[..4096].to_vec(),
            ] {
                let z = compress(c, &p).unwrap().expect("compressible");
                assert!(z.len() < p.len());
                let codec = Compression::from_flags(c.flag());
                assert_eq!(codec, c);
                let mut out = vec![0u8; 4096];
                codec.decompress(&z, &mut out).unwrap();
                assert_eq!(out, p, "{}", c.name());
            }
            // Random bytes do not compress: stored raw.
            assert_eq!(compress(c, &noise()).unwrap(), None, "{}", c.name());
        }
        assert_eq!(compress(Compression::None, &page()).unwrap(), None);
    }
}
