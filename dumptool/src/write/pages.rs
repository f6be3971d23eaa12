//! Reading, classifying and compressing the kept pages, a batch at a time,
//! in parallel on a rayon pool when asked for more than one thread. Results
//! come back in pfn order, so the writers emit them in order. With a pool,
//! the next batch is read and compressed while the writer emits the
//! current one; on one thread everything happens in turn on the caller's.

use super::compress::compress;
use super::error::WriteError;
use super::progress::ProgressFn;
use super::{Compression, PageSelector, WriteOptions};
use crate::dump::Dump;
use rayon::prelude::*;

/// What a kept page becomes.
#[derive(Debug)]
pub(crate) enum Page {
    /// The source could not deliver it.
    Unreadable,
    /// All its bytes are zero.
    Zero,
    /// Its bytes as stored: compressed (`flags` names the codec) or raw
    /// (`flags` 0; the page itself).
    Stored {
        /// `DUMP_DH_COMPRESSED_*` flag, 0 for raw.
        flags: u32,
        /// The stored bytes (empty when the data was not asked for).
        data: Vec<u8>,
    },
}

/// Granularity at which a page the dump holds only in part is read (the
/// memory ranges of `/proc/vmcore` end at kilobyte boundaries).
const PARTIAL_CHUNK: usize = 256;

/// Zeros to compare pages against.
static ZEROS: [u8; 4096] = [0; 4096];

fn is_zero(page: &[u8]) -> bool {
    page.chunks(ZEROS.len()).all(|c| c == &ZEROS[..c.len()])
}

/// Turns pfns into [`Page`]s.
pub(crate) struct PageWorker<'a> {
    src: &'a Dump,
    /// Rewrites kept pages (erasers) before they are looked at.
    selector: &'a dyn PageSelector,
    page_size: usize,
    codec: Compression,
    pool: Option<rayon::ThreadPool>,
    /// Pages per batch.
    batch: usize,
    /// Told of every page emitted with its data (the second pass).
    progress: Option<ProgressFn>,
}

impl<'a> PageWorker<'a> {
    /// A worker on `src` compressing with `codec` on
    /// [`WriteOptions::threads`] threads, pages rewritten by `selector`
    /// first, each page emitted with its data counted as written for
    /// [`WriteOptions::progress`].
    pub(crate) fn new(
        src: &'a Dump,
        selector: &'a dyn PageSelector,
        codec: Compression,
        opts: &WriteOptions,
    ) -> Result<PageWorker<'a>, WriteError> {
        let threads = opts.threads.max(1);
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("dumptool-write-{i}"))
                    .build()
                    .map_err(|e| {
                        WriteError::Threads(format!("cannot start {threads} threads: {e}"))
                    })?,
            )
        } else {
            None
        };
        let page_size = usize::try_from(src.page_size())
            .map_err(|_| WriteError::Unsupported(format!("page size {}", src.page_size())))?;
        // About 1 MiB of pages per thread and batch with a pool; on one
        // thread batches only amortise calls: 64 KiB keeps memory small.
        let batch_bytes = if threads > 1 { 1 << 20 } else { 64 << 10 };
        let per_thread = (batch_bytes / page_size).max(1);
        Ok(PageWorker {
            src,
            selector,
            page_size,
            codec,
            pool,
            batch: per_thread * threads.max(1),
            progress: opts.progress.clone(),
        })
    }

    /// Calls `emit(pfn, page)` for each of `pfns`, in order, stopping at the
    /// first error. With `data` false, only the classification is wanted
    /// (no compression, no data kept). With `data`, each page `emit` took
    /// is counted written (the progress callback's count).
    pub(crate) fn for_each(
        &self,
        pfns: impl Iterator<Item = u64> + Send,
        data: bool,
        mut emit: impl FnMut(u64, Page) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let Some(progress) = self.progress.as_ref().filter(|_| data) else {
            return self.each(pfns, data, emit);
        };
        let done = self.each(pfns, data, |pfn, page| {
            emit(pfn, page)?;
            progress.written();
            Ok(())
        });
        progress.flush();
        done
    }

    fn each(
        &self,
        pfns: impl Iterator<Item = u64> + Send,
        data: bool,
        mut emit: impl FnMut(u64, Page) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let mut pfns = pfns.peekable();
        if self.pool.is_none() {
            let mut batch = Vec::with_capacity(self.batch);
            while pfns.peek().is_some() {
                batch.clear();
                batch.extend(pfns.by_ref().take(self.batch));
                for (&pfn, page) in batch.iter().zip(self.process(&batch, data)?) {
                    emit(pfn, page)?;
                }
            }
            return Ok(());
        }
        // A producer fills the pool one batch ahead of `emit`; when `emit`
        // fails, the channel closes and the producer stops.
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            // A thread that cannot start is an error, not a panic.
            let producer = std::thread::Builder::new().name("dumptool-read".into());
            producer
                .spawn_scoped(scope, move || {
                    while pfns.peek().is_some() {
                        let batch: Vec<u64> = pfns.by_ref().take(self.batch).collect();
                        let done = self.process(&batch, data).map(|pages| (batch, pages));
                        let failed = done.is_err();
                        if tx.send(done).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(|e| {
                    WriteError::Threads(format!("cannot start the page reader thread: {e}"))
                })?;
            for done in rx {
                let (batch, pages) = done?;
                for (pfn, page) in batch.into_iter().zip(pages) {
                    emit(pfn, page)?;
                }
            }
            Ok(())
        })
    }

    /// The pages of `pfns`, in order.
    fn process(&self, pfns: &[u64], data: bool) -> Result<Vec<Page>, WriteError> {
        let one = |&pfn: &u64| self.page(pfn, data);
        match &self.pool {
            Some(pool) => pool.install(|| pfns.par_iter().map(one).collect()),
            None => pfns.iter().map(one).collect(),
        }
    }

    /// A page the dump holds only in part (`/proc/vmcore`'s first RAM
    /// range ends at 0x9fc00, inside a page): the parts it holds, zeros for
    /// the rest, as makedumpfile writes it. False when it holds none of it.
    fn read_partial(&self, paddr: u64, buf: &mut [u8]) -> bool {
        let mut any = false;
        for (i, chunk) in buf.chunks_mut(PARTIAL_CHUNK).enumerate() {
            let at = paddr + (i * PARTIAL_CHUNK) as u64;
            if self.src.phys().read_phys(at, chunk).is_ok() {
                any = true;
            } else {
                chunk.fill(0);
            }
        }
        any
    }

    fn page(&self, pfn: u64, data: bool) -> Result<Page, WriteError> {
        // One page buffer per thread, reused: pages are read into it, and
        // only what is kept (compressed bytes, or a raw page) is copied out.
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with_borrow_mut(|buf| {
            buf.resize(self.page_size, 0);
            self.page_in(pfn, data, buf)
        })
    }

    fn page_in(&self, pfn: u64, data: bool, buf: &mut [u8]) -> Result<Page, WriteError> {
        let Some(paddr) = pfn.checked_mul(self.page_size as u64) else {
            return Ok(Page::Unreadable);
        };
        if self.src.phys().read_phys(paddr, buf).is_err() && !self.read_partial(paddr, buf) {
            return Ok(Page::Unreadable);
        }
        self.selector.rewrite(pfn, buf);
        if is_zero(buf) {
            return Ok(Page::Zero);
        }
        if !data {
            return Ok(Page::Stored {
                flags: 0,
                data: Vec::new(),
            });
        }
        match compress(self.codec, buf) {
            Ok(Some(z)) => Ok(Page::Stored {
                flags: self.codec.flag(),
                data: z,
            }),
            Ok(None) => Ok(Page::Stored {
                flags: 0,
                data: buf.to_vec(),
            }),
            Err(detail) => Err(WriteError::Compress {
                codec: self.codec.name(),
                pfn,
                detail,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_check() {
        assert!(is_zero(&[0u8; 8192]));
        assert!(is_zero(&[0u8; 100]));
        let mut p = vec![0u8; 8192];
        p[8191] = 1;
        assert!(!is_zero(&p));
    }
}
