//! The kernel log, read from the crashed kernel's lockless printk ring
//! buffer (Linux 5.10+: `prb` and its descriptor, info and text rings).
//!
//! The ring's layout comes from BTF through the bindings below, struct by
//! struct; a struct the kernel's BTF lacks (or a kernel that cannot be
//! brought up from the dump at all) falls back to VMCOREINFO's printk
//! `SIZE`/`OFFSET` entries, which every 5.10+ kernel exports. Nothing here
//! needs the page classification's bindings.
//!
//! The text is formatted as makedumpfile 1.7.8's `--dump-dmesg` formats it:
//! `[seconds.micros] ` then, when `printk_info` has `caller_id`, the caller
//! right-aligned in eight columns (`[      T1] `, `[    C0] `); continuation
//! lines of a record are indented under the text; bytes that are neither
//! printable nor white space are written `\xNN` (a byte above 0x7f as C's
//! sign-extended `\xffffffNN`); device info (`SUBSYSTEM=`, `DEVICE=`) is not
//! printed.

use crate::dump::{Dump, DumpError, KernelMemory, VmcoreInfo};
use crate::kernel::CrashedKernel;
use ktype_runtime::registry::{StructDesc, SymbolDesc};
use ktype_runtime::{kernel_struct, KAddr, NotResolved};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `struct printk_ringbuffer`: the descriptor ring and the text data ring.
#[kernel_struct(name = "printk_ringbuffer", optional)]
pub struct PrintkRingbuffer {
    /// The descriptors and infos.
    pub desc_ring: PrbDescRing,
    /// The message text.
    pub text_data_ring: PrbDataRing,
}

/// `struct prb_desc_ring`.
#[kernel_struct(name = "prb_desc_ring", optional)]
pub struct PrbDescRing {
    /// log2 of the number of descriptors.
    pub count_bits: u32,
    /// `struct prb_desc *`: the descriptor array.
    pub descs: KAddr,
    /// `struct printk_info *`: the info array, parallel to `descs`.
    pub infos: KAddr,
    /// Id of the newest descriptor (`atomic_long_t`).
    #[kernel(path = "head_id.counter")]
    pub head_id: i64,
    /// Id of the oldest descriptor (`atomic_long_t`).
    #[kernel(path = "tail_id.counter")]
    pub tail_id: i64,
}

/// `struct prb_data_ring`.
#[kernel_struct(name = "prb_data_ring", optional)]
pub struct PrbDataRing {
    /// log2 of the text buffer's size.
    pub size_bits: u32,
    /// The text buffer.
    pub data: KAddr,
}

/// `struct prb_desc`: state and where the record's text block lies.
#[kernel_struct(name = "prb_desc", optional)]
pub struct PrbDesc {
    /// Id and state (top two bits) of the descriptor (`atomic_long_t`).
    #[kernel(path = "state_var.counter")]
    pub state_var: i64,
    /// Logical position of the text block's start.
    #[kernel(path = "text_blk_lpos.begin")]
    pub text_begin: u64,
    /// Logical position just past the text block.
    #[kernel(path = "text_blk_lpos.next")]
    pub text_next: u64,
}

/// `struct printk_info`: one record's metadata.
#[kernel_struct(name = "printk_info", optional)]
pub struct PrintkInfo {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp, nanoseconds since boot.
    pub ts_nsec: u64,
    /// Length of the text.
    pub text_len: u16,
    /// Thread id, or CPU id with bit 31 set (kernels that have it).
    #[kernel(optional)]
    pub caller_id: u32,
}

ktype_runtime::kernel_symbols! {
    /// `struct printk_ringbuffer *prb`: the ring in use.
    #[kernel(optional)]
    pub static PRB = "prb";
    /// The ring compiled into the kernel (`prb` points to it unless the log
    /// buffer was enlarged at boot).
    #[kernel(optional)]
    pub static PRINTK_RB_STATIC = "printk_rb_static";
}

/// The printk ring bindings, for resolving them alone.
pub fn descriptors() -> Vec<&'static StructDesc> {
    vec![
        PrintkRingbuffer::descriptor(),
        PrbDescRing::descriptor(),
        PrbDataRing::descriptor(),
        PrbDesc::descriptor(),
        PrintkInfo::descriptor(),
    ]
}

/// The printk ring symbols, for resolving them alone.
pub fn symbols() -> Vec<&'static SymbolDesc> {
    vec![&PRB, &PRINTK_RB_STATIC]
}

/// Byte offsets and sizes of everything the log reader touches. Offsets of
/// the rings' members are relative to the ring (`desc_ring`, `text_data_ring`
/// inside `printk_ringbuffer`); `atomic_long_t` counters include their
/// `counter` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintkLayout {
    /// `sizeof(struct printk_ringbuffer)`.
    pub ringbuffer_size: usize,
    /// `printk_ringbuffer.desc_ring`.
    pub desc_ring: usize,
    /// `printk_ringbuffer.text_data_ring`.
    pub text_data_ring: usize,
    /// `prb_desc_ring.count_bits`.
    pub count_bits: usize,
    /// `prb_desc_ring.descs`.
    pub descs: usize,
    /// `prb_desc_ring.infos`.
    pub infos: usize,
    /// `prb_desc_ring.head_id.counter`.
    pub head_id: usize,
    /// `prb_desc_ring.tail_id.counter`.
    pub tail_id: usize,
    /// `prb_data_ring.size_bits`.
    pub size_bits: usize,
    /// `prb_data_ring.data`.
    pub data: usize,
    /// `sizeof(struct prb_desc)`.
    pub desc_size: usize,
    /// `prb_desc.state_var.counter`.
    pub state_var: usize,
    /// `prb_desc.text_blk_lpos.begin`.
    pub text_begin: usize,
    /// `prb_desc.text_blk_lpos.next`.
    pub text_next: usize,
    /// `sizeof(struct printk_info)`.
    pub info_size: usize,
    /// `printk_info.ts_nsec`.
    pub ts_nsec: usize,
    /// `printk_info.text_len`.
    pub text_len: usize,
    /// `printk_info.caller_id`, when the kernel has it.
    pub caller_id: Option<usize>,
}

/// Where each part of a [`PrintkLayout`] came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayoutSources {
    /// `(struct, "BTF" or "VMCOREINFO (BTF: why not)")` per struct.
    pub structs: Vec<(&'static str, String)>,
}

impl LayoutSources {
    /// Structs whose layout came from VMCOREINFO, with why BTF did not give it.
    pub fn fallbacks(&self) -> Vec<String> {
        self.structs
            .iter()
            .filter(|(_, s)| s != "BTF")
            .map(|(n, s)| format!("struct {n}: {s}"))
            .collect()
    }
}

/// Why the log could not be read from a dump that opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum LogError {
    /// A printk struct is not in BTF and the dump has no VMCOREINFO to
    /// describe it instead.
    NoVmcoreInfo,
    /// A printk struct is not in BTF and VMCOREINFO lacks one of its entries.
    MissingVmcoreInfo {
        /// The entry, as VMCOREINFO names it (`OFFSET(printk_info.ts_nsec)`).
        key: String,
    },
    /// The layout or the ring's own header does not add up (VMCOREINFO and
    /// the ring are data from the dump).
    Implausible {
        /// The part (`the printk layout`, `printk descriptor ring`, ...).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Neither kallsyms nor VMCOREINFO locates the ring buffer.
    NoRingBuffer,
    /// Part of the ring could not be read from the dump.
    Read {
        /// What was read (`struct printk_ringbuffer`, `the printk text ring`, ...).
        what: String,
        /// Its kernel virtual address.
        addr: u64,
        /// Why the read failed (boxed: a dump error is large).
        source: Box<DumpError>,
    },
    /// The dump's kernel memory cannot be read at all (no page tables).
    Memory(Box<DumpError>),
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogError::NoVmcoreInfo => f.write_str(
                "the dump has no VMCOREINFO (needed for the printk layout BTF does not give)",
            ),
            LogError::MissingVmcoreInfo { key } => write!(f, "VMCOREINFO has no {key}"),
            LogError::Implausible { what, detail } => write!(f, "{what} is implausible: {detail}"),
            LogError::NoRingBuffer => f.write_str(
                "neither kallsyms nor VMCOREINFO has prb or printk_rb_static: no lockless printk \
                 ring buffer (kernels before 5.10 keep the log in log_buf, which dumptool does \
                 not read)",
            ),
            LogError::Read { what, addr, .. } => write!(f, "cannot read {what} at {addr:#x}"),
            LogError::Memory(_) => f.write_str("the kernel's memory cannot be read"),
        }
    }
}

impl std::error::Error for LogError {
    /// The dump error itself (not its box), so that reports can tell its kind.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Read { source, .. } | LogError::Memory(source) => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl LogError {
    /// A short name of the variant (`log_no_vmcoreinfo`, `log_vmcoreinfo_missing`,
    /// `log_implausible`, `log_no_ring_buffer`, `log_read`, `log_memory`), as reports give it.
    pub fn kind(&self) -> &'static str {
        match self {
            LogError::NoVmcoreInfo => "log_no_vmcoreinfo",
            LogError::MissingVmcoreInfo { .. } => "log_vmcoreinfo_missing",
            LogError::Implausible { .. } => "log_implausible",
            LogError::NoRingBuffer => "log_no_ring_buffer",
            LogError::Read { .. } => "log_read",
            LogError::Memory(_) => "log_memory",
        }
    }
}

fn vmci(info: Option<&VmcoreInfo>, key: &str) -> Result<usize, LogError> {
    let info = info.ok_or(LogError::NoVmcoreInfo)?;
    let (kind, name) = key.split_once(':').unwrap_or(("OFFSET", key));
    let v = match kind {
        "SIZE" => info.size(name),
        _ => info.offset(name),
    };
    v.map(|v| v as usize)
        .ok_or_else(|| LogError::MissingVmcoreInfo {
            key: format!("{kind}({name})"),
        })
}

fn btf_struct(size: Result<usize, NotResolved>) -> Result<(), String> {
    size.map(|_| ()).map_err(|e| e.to_string())
}

impl PrintkLayout {
    /// The layout from the resolved bindings (`bindings`: they were
    /// resolved against this kernel's BTF) where BTF has each struct, from
    /// `info` for the others; without bindings, VMCOREINFO throughout.
    pub fn new(
        bindings: bool,
        info: Option<&VmcoreInfo>,
    ) -> Result<(PrintkLayout, LayoutSources), LogError> {
        let mut sources = LayoutSources::default();
        let counter = || vmci(info, "atomic_long_t.counter");
        let mut pick =
            |name: &'static str, btf: &dyn Fn() -> Result<(), String>| -> Result<bool, LogError> {
                let why = if bindings {
                    match btf() {
                        Ok(()) => {
                            sources.structs.push((name, "BTF".into()));
                            return Ok(true);
                        }
                        Err(e) => e,
                    }
                } else {
                    "the kernel could not be read from the dump".into()
                };
                sources
                    .structs
                    .push((name, format!("VMCOREINFO (BTF: {why})")));
                Ok(false)
            };
        let rb = pick("printk_ringbuffer", &|| {
            btf_struct(PrintkRingbuffer::try_size())
        })?;
        let dr = pick("prb_desc_ring", &|| btf_struct(PrbDescRing::try_size()))?;
        let tr = pick("prb_data_ring", &|| btf_struct(PrbDataRing::try_size()))?;
        let de = pick("prb_desc", &|| btf_struct(PrbDesc::try_size()))?;
        let pi = pick("printk_info", &|| btf_struct(PrintkInfo::try_size()))?;
        let (ringbuffer_size, desc_ring, text_data_ring) = if rb {
            (
                PrintkRingbuffer::size(),
                PrintkRingbuffer::desc_ring_offset(),
                PrintkRingbuffer::text_data_ring_offset(),
            )
        } else {
            (
                vmci(info, "SIZE:printk_ringbuffer")?,
                vmci(info, "printk_ringbuffer.desc_ring")?,
                vmci(info, "printk_ringbuffer.text_data_ring")?,
            )
        };
        let (count_bits, descs, infos, head_id, tail_id) = if dr {
            (
                PrbDescRing::count_bits_offset(),
                PrbDescRing::descs_offset(),
                PrbDescRing::infos_offset(),
                PrbDescRing::head_id_offset(),
                PrbDescRing::tail_id_offset(),
            )
        } else {
            (
                vmci(info, "prb_desc_ring.count_bits")?,
                vmci(info, "prb_desc_ring.descs")?,
                vmci(info, "prb_desc_ring.infos")?,
                vmci(info, "prb_desc_ring.head_id")? + counter()?,
                vmci(info, "prb_desc_ring.tail_id")? + counter()?,
            )
        };
        let (size_bits, data) = if tr {
            (PrbDataRing::size_bits_offset(), PrbDataRing::data_offset())
        } else {
            (
                vmci(info, "prb_data_ring.size_bits")?,
                vmci(info, "prb_data_ring.data")?,
            )
        };
        let (desc_size, state_var, text_begin, text_next) = if de {
            (
                PrbDesc::size(),
                PrbDesc::state_var_offset(),
                PrbDesc::text_begin_offset(),
                PrbDesc::text_next_offset(),
            )
        } else {
            let lpos = vmci(info, "prb_desc.text_blk_lpos")?;
            (
                vmci(info, "SIZE:prb_desc")?,
                vmci(info, "prb_desc.state_var")? + counter()?,
                lpos + vmci(info, "prb_data_blk_lpos.begin")?,
                lpos + vmci(info, "prb_data_blk_lpos.next")?,
            )
        };
        let (info_size, ts_nsec, text_len, caller_id) = if pi {
            (
                PrintkInfo::size(),
                PrintkInfo::ts_nsec_offset(),
                PrintkInfo::text_len_offset(),
                PrintkInfo::caller_id_offset(),
            )
        } else {
            (
                vmci(info, "SIZE:printk_info")?,
                vmci(info, "printk_info.ts_nsec")?,
                vmci(info, "printk_info.text_len")?,
                vmci(info, "printk_info.caller_id").ok(),
            )
        };
        let layout = PrintkLayout {
            ringbuffer_size,
            desc_ring,
            text_data_ring,
            count_bits,
            descs,
            infos,
            head_id,
            tail_id,
            size_bits,
            data,
            desc_size,
            state_var,
            text_begin,
            text_next,
            info_size,
            ts_nsec,
            text_len,
            caller_id,
        };
        layout.check()?;
        Ok((layout, sources))
    }

    /// Every member lies inside its struct (VMCOREINFO is text from the dump).
    fn check(&self) -> Result<(), LogError> {
        let rb = self.ringbuffer_size;
        let implausible = |detail: String| LogError::Implausible {
            what: "the printk layout",
            detail,
        };
        let fits = |what: &str, off: usize, width: usize, size: usize| {
            if off.checked_add(width).is_some_and(|e| e <= size) {
                Ok(())
            } else {
                Err(implausible(format!(
                    "{what} at {off} (+{width}) is outside its struct of {size} bytes"
                )))
            }
        };
        if rb > 4096 || self.desc_size > 4096 || self.info_size > 4096 {
            return Err(implausible(format!(
                "struct sizes {rb}, {}, {}",
                self.desc_size, self.info_size
            )));
        }
        fits(
            "prb_desc_ring.count_bits",
            self.desc_ring + self.count_bits,
            4,
            rb,
        )?;
        fits("prb_desc_ring.descs", self.desc_ring + self.descs, 8, rb)?;
        fits("prb_desc_ring.infos", self.desc_ring + self.infos, 8, rb)?;
        fits(
            "prb_desc_ring.head_id",
            self.desc_ring + self.head_id,
            8,
            rb,
        )?;
        fits(
            "prb_desc_ring.tail_id",
            self.desc_ring + self.tail_id,
            8,
            rb,
        )?;
        fits(
            "prb_data_ring.size_bits",
            self.text_data_ring + self.size_bits,
            4,
            rb,
        )?;
        fits("prb_data_ring.data", self.text_data_ring + self.data, 8, rb)?;
        fits("prb_desc.state_var", self.state_var, 8, self.desc_size)?;
        fits(
            "prb_desc.text_blk_lpos.begin",
            self.text_begin,
            8,
            self.desc_size,
        )?;
        fits(
            "prb_desc.text_blk_lpos.next",
            self.text_next,
            8,
            self.desc_size,
        )?;
        fits("printk_info.ts_nsec", self.ts_nsec, 8, self.info_size)?;
        fits("printk_info.text_len", self.text_len, 2, self.info_size)?;
        if let Some(c) = self.caller_id {
            fits("printk_info.caller_id", c, 4, self.info_size)?;
        }
        Ok(())
    }
}

/// Why the log of a dump could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DmesgError {
    /// The dump could not be opened (it names the file).
    #[error(transparent)]
    Open(#[from] DumpError),
    /// The dump opened, but its log could not be read.
    #[error("{}: {source}", path.display())]
    Log {
        /// The dump.
        path: PathBuf,
        /// Why.
        #[source]
        source: LogError,
    },
}

impl DmesgError {
    /// A short name of the variant: the dump's error kind for [`DmesgError::Open`],
    /// the [`LogError`]'s for [`DmesgError::Log`].
    pub fn kind(&self) -> &'static str {
        match self {
            DmesgError::Open(e) => e.kind(),
            DmesgError::Log { source, .. } => source.kind(),
        }
    }
}

/// The kernel log of a dump, and how it was read.
#[derive(Debug, Clone)]
pub struct KernelLog {
    /// makedumpfile `--dump-dmesg` text (ASCII: other bytes are escaped).
    pub text: String,
    /// Records printed.
    pub records: u64,
    /// Where the layout came from.
    pub sources: LayoutSources,
    /// Why the kernel could not be brought up from the dump, when it could
    /// not (the log was then read with VMCOREINFO alone).
    pub kernel_problem: Option<String>,
}

/// Largest text ring accepted (the kernel's `log_buf_len` maximum is 2 GiB).
const MAX_TEXT_RING_BITS: u32 = 31;
/// Largest descriptor ring accepted.
const MAX_DESC_BITS: u32 = 26;

const DESC_SV_BITS: u32 = 64;
const DESC_FLAGS_SHIFT: u32 = DESC_SV_BITS - 2;
const DESC_ID_MASK: u64 = !(3u64 << DESC_FLAGS_SHIFT);
/// `desc_committed` and `desc_finalized`: records with text to print.
const STATE_COMMITTED: u64 = 1;
const STATE_FINALIZED: u64 = 2;

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

/// Reads the kernel log of `dump`: through the crashed kernel's BTF when it
/// can be brought up, through VMCOREINFO otherwise.
pub fn read_log(dump: &Dump) -> Result<KernelLog, DmesgError> {
    let err = |source: LogError| DmesgError::Log {
        path: dump.path().to_path_buf(),
        source,
    };
    match CrashedKernel::open(dump) {
        Ok(k) => {
            // Each struct the BTF lacks is taken from VMCOREINFO instead
            // (PrintkLayout::new asks each one), so the error is not needed.
            let _ = ktype_runtime::resolution::resolve_descriptors(
                k.bindings(),
                k.btf(),
                &descriptors(),
                &[],
            );
            let _ =
                ktype_runtime::resolution::resolve_symbol_descriptors(k.bindings(), &k, &symbols());
            let prb = PRB.try_address().ok().flatten();
            let rb_static = PRINTK_RB_STATIC.try_address().ok().flatten();
            let (layout, sources) = PrintkLayout::new(true, dump.vmcoreinfo()).map_err(err)?;
            let (text, records) =
                read_ring(k.memory(), dump.vmcoreinfo(), prb, rb_static, &layout).map_err(err)?;
            Ok(KernelLog {
                text,
                records,
                sources,
                kernel_problem: None,
            })
        }
        Err(e) => {
            let problem = e.to_string();
            let mem = dump
                .kernel_memory()
                .map_err(|e| err(LogError::Memory(Box::new(e))))?;
            let (layout, sources) = PrintkLayout::new(false, dump.vmcoreinfo()).map_err(err)?;
            let (text, records) =
                read_ring(&mem, dump.vmcoreinfo(), None, None, &layout).map_err(err)?;
            Ok(KernelLog {
                text,
                records,
                sources,
                kernel_problem: Some(problem),
            })
        }
    }
}

/// Reads the kernel log of the dump at `path` (see [`read_log`]).
pub fn read_log_at(path: &Path) -> Result<KernelLog, DmesgError> {
    let dump = super::live::open_dump(path)?;
    read_log(&dump)
}

fn read_ring(
    mem: &KernelMemory<'_>,
    info: Option<&VmcoreInfo>,
    prb_sym: Option<u64>,
    rb_static: Option<u64>,
    l: &PrintkLayout,
) -> Result<(String, u64), LogError> {
    let read = |what: String, addr: u64, len: usize| {
        mem.read_bytes(addr, len).map_err(|e| LogError::Read {
            what,
            addr,
            source: Box::new(e),
        })
    };
    let rb_addr = match prb_sym.or_else(|| info.and_then(|i| i.symbol("prb"))) {
        Some(p) => mem.read_u64(p).map_err(|e| LogError::Read {
            what: "the printk ring pointer prb".into(),
            addr: p,
            source: Box::new(e),
        })?,
        None => rb_static
            .or_else(|| info.and_then(|i| i.symbol("printk_rb_static")))
            .ok_or(LogError::NoRingBuffer)?,
    };
    let rb = read(
        "struct printk_ringbuffer".into(),
        rb_addr,
        l.ringbuffer_size,
    )?;
    let dr = l.desc_ring;
    let count_bits = u32_at(&rb, dr + l.count_bits);
    if count_bits > MAX_DESC_BITS {
        return Err(LogError::Implausible {
            what: "printk descriptor ring",
            detail: format!("count_bits {count_bits} (at most {MAX_DESC_BITS})"),
        });
    }
    let count = 1u64 << count_bits;
    let descs_addr = u64_at(&rb, dr + l.descs);
    let infos_addr = u64_at(&rb, dr + l.infos);
    let descs = read(
        format!("the {count} printk descriptors"),
        descs_addr,
        count as usize * l.desc_size,
    )?;
    let infos = read(
        format!("the {count} printk infos"),
        infos_addr,
        count as usize * l.info_size,
    )?;
    let tr = l.text_data_ring;
    let size_bits = u32_at(&rb, tr + l.size_bits);
    let limit = mem.dump().max_pfn().saturating_mul(mem.dump().page_size());
    if size_bits > MAX_TEXT_RING_BITS || (1u64 << size_bits) > limit {
        return Err(LogError::Implausible {
            what: "printk text ring",
            detail: format!("size_bits {size_bits} for a dump of {limit} bytes"),
        });
    }
    let ring_size = 1u64 << size_bits;
    let data_addr = u64_at(&rb, tr + l.data);
    let text = read("the printk text ring".into(), data_addr, ring_size as usize)?;
    let head = u64_at(&rb, dr + l.head_id);
    let tail = u64_at(&rb, dr + l.tail_id);
    let span = head.wrapping_sub(tail) & DESC_ID_MASK;
    if span >= count {
        return Err(LogError::Implausible {
            what: "printk descriptor ring",
            detail: format!(
                "tail id {tail:#x} and head id {head:#x} are {span} apart, more than its {count} descriptors"
            ),
        });
    }
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut records = 0u64;
    let mut id = tail;
    loop {
        if format_record(&mut out, l, &descs, &infos, &text, count, id) {
            records += 1;
        }
        if id == head {
            break;
        }
        id = id.wrapping_add(1) & DESC_ID_MASK;
    }
    Ok((out, records))
}

/// Appends record `id` as makedumpfile prints it; false when the record is
/// skipped (not committed, or without text).
fn format_record(
    out: &mut String,
    l: &PrintkLayout,
    descs: &[u8],
    infos: &[u8],
    text: &[u8],
    count: u64,
    id: u64,
) -> bool {
    let slot = (id % count) as usize;
    let desc = &descs[slot * l.desc_size..(slot + 1) * l.desc_size];
    let sv = u64_at(desc, l.state_var);
    if sv & DESC_ID_MASK != id {
        return false;
    }
    let state = sv >> DESC_FLAGS_SHIFT;
    if state != STATE_COMMITTED && state != STATE_FINALIZED {
        return false;
    }
    let ring = text.len() as u64;
    let mut begin = u64_at(desc, l.text_begin) % ring;
    let next = u64_at(desc, l.text_next) % ring;
    if begin == next {
        return false;
    }
    let info = &infos[slot * l.info_size..(slot + 1) * l.info_size];
    let mut len = u64::from(u16_at(info, l.text_len));
    // A block that wraps starts again at the ring's start.
    if begin > next {
        begin = 0;
    }
    // The block starts with its descriptor id.
    begin += 8;
    // Truncated records: the text stops at the block's end.
    if next.wrapping_sub(begin) < len {
        len = next.wrapping_sub(begin);
    }
    let start = (begin as usize).min(text.len());
    let end = start.saturating_add(len as usize).min(text.len());
    let ts = u64_at(info, l.ts_nsec);
    let line_start = out.len();
    let _ = write!(
        out,
        "[{:5}.{:06}] ",
        ts / 1_000_000_000,
        ts % 1_000_000_000 / 1000
    );
    if let Some(c) = l.caller_id {
        let cid = u32_at(info, c);
        let kind = if cid & 0x8000_0000 != 0 { 'C' } else { 'T' };
        let _ = write!(out, "[{:>8}] ", format!("{kind}{}", cid & 0x7fff_ffff));
    }
    let indent = out.len() - line_start;
    for &b in &text[start..end] {
        match b {
            b'\n' => {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
            }
            // C's isprint() and isspace() in the "C" locale.
            0x20..=0x7e | b'\t' | 0x0b | 0x0c | b'\r' => out.push(b as char),
            // makedumpfile passes a (signed) char to "%02x".
            0x80..=0xff => {
                let _ = write!(out, "\\x{:x}", b as i8 as i32 as u32);
            }
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\n');
    true
}
