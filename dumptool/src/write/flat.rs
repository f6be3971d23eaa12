//! makedumpfile's *flattened* format, written: a 4096-byte header (the
//! signature `makedumpfile`, then big-endian `i64` type 1 and version 1),
//! then one record per positional write, each a big-endian
//! `{ i64 offset; i64 size; }` followed by `size` bytes that belong at
//! `offset` of the reassembled file, and an end marker (offset and size
//! -1). Records may come in any order, so a writer never needs to seek:
//! this is what `makedumpfile -F` sends to a pipe and `makedumpfile -R`
//! reassembles (see [`crate::dump::flat`] for the reader; the layout is
//! [`crate::format::flat`]'s).

use super::error::WriteError;
use super::output::Sink;
use crate::format::flat::{FlatHeader, RecordHeader};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use zerocopy::IntoBytes;

/// Positional writes turned into a flattened stream on `W`.
pub(crate) struct FlatSink<W: Write> {
    out: BufWriter<W>,
    /// The output, for error messages.
    name: PathBuf,
    /// Bytes of the stream so far.
    written: u64,
}

impl<W: Write> FlatSink<W> {
    /// Starts a stream on `out` (named `name` in errors): writes the header.
    pub(crate) fn new(out: W, name: PathBuf) -> Result<FlatSink<W>, WriteError> {
        let mut s = FlatSink {
            out: BufWriter::with_capacity(1 << 16, out),
            name,
            written: 0,
        };
        s.put(&FlatHeader::encode(), "write the flattened-format header")?;
        Ok(s)
    }

    fn put(&mut self, data: &[u8], op: &str) -> Result<(), WriteError> {
        self.out.write_all(data).map_err(|source| WriteError::Io {
            path: self.name.clone(),
            op: op.to_string(),
            source,
        })?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Writes the end marker and flushes; returns the inner writer.
    pub(crate) fn finish(mut self) -> Result<(W, u64), WriteError> {
        self.put(
            RecordHeader::END.as_bytes(),
            "write the flattened-format end marker",
        )?;
        let name = self.name.clone();
        let written = self.written;
        let out = self.out.into_inner().map_err(|e| WriteError::Io {
            path: name,
            op: "flush the flattened stream".into(),
            source: e.into_error(),
        })?;
        Ok((out, written))
    }
}

impl<W: Write> Sink for FlatSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError> {
        if data.is_empty() {
            return Ok(());
        }
        self.put(
            RecordHeader::new(offset, data.len()).as_bytes(),
            "write a flattened-format record",
        )?;
        self.put(data, "write a flattened-format record")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_layout() {
        let mut s = FlatSink::new(Vec::new(), "x".into()).unwrap();
        s.write_at(10, b"abc").unwrap();
        s.write_at(0, b"").unwrap();
        let (v, n) = s.finish().unwrap();
        assert_eq!(n as usize, v.len());
        assert_eq!(v.len(), 4096 + 16 + 3 + 16);
        assert!(FlatHeader::is_flattened(&v));
        assert_eq!(&v[4096..4104], &10i64.to_be_bytes());
        assert_eq!(&v[4104..4112], &3i64.to_be_bytes());
        assert_eq!(&v[4112..4115], b"abc");
        assert_eq!(&v[4115..], RecordHeader::END.as_bytes());
    }
}
