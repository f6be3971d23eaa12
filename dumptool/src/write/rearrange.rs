//! makedumpfile `-R`: a flattened stream (from a pipe, a file or a raw
//! device) rearranged into the file it describes. Each record's bytes are
//! written at their offset; bytes no record covers stay holes (zeros), as
//! in the file makedumpfile reassembles. Reading stops at the end marker:
//! whatever follows it (the rest of a raw partition) is never read. The
//! output is written like every dump (`output.rs`): a temporary file linked
//! into place only when the end marker was reached, so a stream cut short
//! leaves nothing.

use super::error::WriteError;
use super::output::{Sink, Target};
use super::Output;
use crate::dump::DumpError;
use crate::format::flat::{FlatHeader, RecordHeader, FLAT_HEADER_SIZE, TYPE_FLAT_HEADER};
use std::io::Read;
use std::path::{Path, PathBuf};
use zerocopy::{FromZeros, IntoBytes};

/// What [`rearrange`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rearranged {
    /// Records in the stream (the end marker not counted).
    pub records: u64,
    /// Data bytes they carried.
    pub data_bytes: u64,
    /// Size of the file written.
    pub file_len: u64,
}

/// Largest offset + size a record may reach (2^52 pages' worth would be
/// absurd; this bounds what a hostile stream can make us seek to).
const MAX_END: u64 = 1 << 52;

/// Reads the flattened stream `input` (called `name` in errors) and writes
/// the file it describes at `out` (an existing file is replaced only with
/// `overwrite`). On error nothing is left at `out`.
pub fn rearrange(
    input: &mut dyn Read,
    name: &Path,
    out: &Path,
    overwrite: bool,
) -> Result<Rearranged, WriteError> {
    let invalid = |what: &str, detail: String| {
        WriteError::Source(DumpError::Invalid {
            path: name.to_path_buf(),
            what: what.into(),
            detail,
        })
    };
    let mut pos = 0u64;
    let mut read = |buf: &mut [u8], what: &str, pos: &mut u64| -> Result<(), WriteError> {
        read_full(input, buf).map_err(|e| match e {
            ReadErr::Eof(got) => WriteError::Source(DumpError::Truncated {
                path: name.to_path_buf(),
                what: what.into(),
                offset: *pos,
                len: buf.len() as u64,
                file_len: *pos + got as u64,
            }),
            ReadErr::Io(source) => WriteError::Io {
                path: name.to_path_buf(),
                op: "read the flattened stream".into(),
                source,
            },
        })?;
        *pos += buf.len() as u64;
        Ok(())
    };
    let mut header = vec![0u8; FLAT_HEADER_SIZE as usize];
    read(&mut header, "flattened-format header", &mut pos)?;
    if !FlatHeader::is_flattened(&header) {
        return Err(invalid(
            "flattened-format header",
            "no `makedumpfile` signature: this is not makedumpfile's flattened format".into(),
        ));
    }
    let kind = FlatHeader::parse(&header).map_or(0, |h| h.kind.get());
    if kind != TYPE_FLAT_HEADER {
        return Err(invalid(
            "flattened-format header",
            format!("type {kind}, expected {TYPE_FLAT_HEADER}"),
        ));
    }
    let mut target = Target::open(&Output::Path(out.to_path_buf()), false, None, overwrite)?;
    let mut stats = Rearranged::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let mut rec = RecordHeader::new_zeroed();
        let at = pos;
        read(
            rec.as_mut_bytes(),
            "record header (the stream ends before its end marker)",
            &mut pos,
        )?;
        if rec.is_end() {
            break;
        }
        let (offset, size) = (rec.offset.get(), rec.size.get());
        if offset < 0 || size < 0 || (offset as u64).saturating_add(size as u64) > MAX_END {
            return Err(invalid(
                &format!("record at stream offset {at:#x}"),
                format!("offset {offset}, size {size}"),
            ));
        }
        let (mut off, mut left) = (offset as u64, size as u64);
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            read(
                &mut buf[..n],
                &format!("data of the record at stream offset {at:#x}"),
                &mut pos,
            )?;
            target.write_at(off, &buf[..n])?;
            off += n as u64;
            left -= n as u64;
        }
        stats.records += 1;
        stats.data_bytes += size as u64;
    }
    stats.file_len = target.finish()?;
    Ok(stats)
}

enum ReadErr {
    /// End of stream after this many bytes.
    Eof(usize),
    Io(std::io::Error),
}

fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> Result<(), ReadErr> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => return Err(ReadErr::Eof(got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadErr::Io(e)),
        }
    }
    Ok(())
}

/// Writes `data` as the whole file `out`, as durably and carefully as a
/// dump (temporary file linked into place; an existing file replaced only
/// with `overwrite`; never `input`, the file the data came from). For
/// small outputs such as a kernel log.
pub fn write_file(
    input: Option<&Path>,
    out: &Path,
    overwrite: bool,
    data: &[u8],
) -> Result<u64, WriteError> {
    let mut target = Target::open(&Output::Path(PathBuf::from(out)), false, input, overwrite)?;
    target.write_at(0, data)?;
    target.finish()
}
