//! What dumptool learns about the crashed kernel from its own memory:
//! kallsyms, BTF (vmlinux and modules), and the module list. No vmlinux,
//! no debuginfo, no System.map: [`CrashedKernel::open`] needs only a dump
//! with VMCOREINFO. The running kernel opens the same way from
//! `/proc/kcore`, with its symbols and BTF from `/proc/kallsyms` and
//! `/sys/kernel/btf` ([`live`]).

pub mod bindings;
pub mod btf_scan;
pub mod kallsyms;
pub mod live;
pub mod modules;
pub mod printk;

use crate::dump::source::Region;
use crate::dump::{Dump, DumpError, KernelMemory};
use kallsyms::{Kallsyms, KallsymsError, KallsymsTables};
use ktype_runtime::btf::{Btf, BtfError, BtfSet};
use ktype_runtime::memory::{KernelRead, MemoryError};
use ktype_runtime::resolution::{resolve_descriptors, ResolveError, Scope, SymbolSource};
use live::LiveSources;
use modules::LoadedModule;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads kernel virtual memory of the crashed kernel.
pub trait VirtRead {
    /// Fills `buf` from kernel virtual address `vaddr`.
    fn read_virt(
        &self,
        vaddr: u64,
        buf: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// The `len` bytes at `vaddr`, in place where the memory allows it
    /// (the default copies them with [`VirtRead::read_virt`]).
    fn region(
        &self,
        vaddr: u64,
        len: usize,
    ) -> Result<Region, Box<dyn std::error::Error + Send + Sync>> {
        let mut b = vec![0u8; len];
        self.read_virt(vaddr, &mut b)?;
        Ok(Region::Owned(b.into_boxed_slice()))
    }
}

impl VirtRead for KernelMemory<'_> {
    fn read_virt(
        &self,
        vaddr: u64,
        buf: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        KernelMemory::read_virt(self, vaddr, buf).map_err(|e| Box::new(e) as _)
    }

    fn region(
        &self,
        vaddr: u64,
        len: usize,
    ) -> Result<Region, Box<dyn std::error::Error + Send + Sync>> {
        self.region_virt(vaddr, len).map_err(|e| Box::new(e) as _)
    }
}

/// Typed reads (`Task::read(kernel.memory(), addr)`), list walks and
/// `KPtr::read` read the crashed kernel's memory through this.
impl KernelRead for KernelMemory<'_> {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        KernelMemory::read_virt(self, addr, buf).map_err(|e| Box::new(e) as _)
    }
}

/// Why the kernel could not be brought up from a dump.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The dump itself.
    #[error(transparent)]
    Dump(#[from] DumpError),
    /// The dump lacks something required.
    #[error("{}: {what}", path.display())]
    Missing {
        /// The dump.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// kallsyms could not be decoded.
    #[error("{}: kallsyms: {source}", path.display())]
    Kallsyms {
        /// The dump.
        path: PathBuf,
        /// Why.
        source: KallsymsError,
    },
    /// The BTF read from the dump is unusable.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// A file of the running kernel (`/proc/kallsyms`, `/sys/kernel/btf`)
    /// could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// dumptool's own bootstrap bindings did not resolve.
    #[error("{}: {source}", path.display())]
    Bindings {
        /// The dump.
        path: PathBuf,
        /// The resolver's report.
        source: ResolveError,
    },
}

impl KernelError {
    /// A short name of the variant (`kernel_dump`, `kernel_missing`,
    /// `kernel_kallsyms`, `kernel_btf`, `kernel_io`, `kernel_bindings`), as reports give it.
    pub fn kind(&self) -> &'static str {
        match self {
            KernelError::Dump(_) => "kernel_dump",
            KernelError::Missing { .. } => "kernel_missing",
            KernelError::Kallsyms { .. } => "kernel_kallsyms",
            KernelError::Btf(_) => "kernel_btf",
            KernelError::Io { .. } => "kernel_io",
            KernelError::Bindings { .. } => "kernel_bindings",
        }
    }
}

/// How long each bootstrap step took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Decoding kallsyms.
    pub kallsyms: Duration,
    /// Reading and parsing vmlinux BTF.
    pub btf: Duration,
    /// Walking modules, their symbols and BTF.
    pub modules: Duration,
}

/// The crashed kernel, as far as its dump tells; or the running kernel,
/// read through `/proc/kcore` ([`live`]).
pub struct CrashedKernel<'a> {
    dump: &'a Dump,
    live: bool,
    mem: KernelMemory<'a>,
    kallsyms: Kallsyms,
    btf: BtfSet,
    modules: Vec<LoadedModule>,
    timings: Timings,
    /// The bindings are this kernel's while it lives.
    _bindings: ktype_runtime::registry::BindingsGuard,
}

impl std::fmt::Debug for CrashedKernel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrashedKernel")
            .field("dump", &self.dump.path())
            .field("live", &self.live)
            .field("kallsyms", &self.kallsyms)
            .field("modules", &self.modules.len())
            .finish()
    }
}

/// The symbols opening a kernel and filtering its pages look up, found in
/// one scan of kallsyms: the memory layout's variables, the BTF bounds,
/// the module lists, the memory nodes and the kernel image's sections.
const BOOTSTRAP_SYMBOLS: &[&str] = &[
    "page_offset_base",
    "vmemmap_base",
    "__start_BTF",
    "__stop_BTF",
    "modules",
    "btf_modules",
    "node_data",
    "contig_page_data",
    "_stext",
    "_etext",
    "__start_rodata",
    "__end_rodata",
    "_sdata",
    "_edata",
    "__bss_start",
    "__bss_stop",
];

/// Upper bound on vmlinux BTF size (real ones are a few MiB).
const MAX_BTF: u64 = 256 << 20;

/// Where the symbols and BTF of a kernel come from.
#[derive(Clone, Copy)]
enum Origin<'s> {
    /// Decoded from the dump's memory.
    Memory,
    /// Listed by the running kernel.
    Live(&'s LiveSources),
}

impl<'a> CrashedKernel<'a> {
    /// Decodes kallsyms, reads vmlinux BTF between `__start_BTF` and
    /// `__stop_BTF`, resolves dumptool's bootstrap bindings, then walks the
    /// module list (symbols) and `btf_modules` (module BTF).
    ///
    /// A `dump` that is this system's `/proc/kcore` is the running kernel:
    /// it opens as [`CrashedKernel::open_live`] with
    /// [`LiveSources::system`].
    ///
    /// The process-global bindings belong to this kernel until it is dropped
    /// (see [`ktype_runtime::registry::lock_bindings`]): opening a second
    /// kernel in another thread waits; in the same thread, drop the first.
    pub fn open(dump: &'a Dump) -> Result<CrashedKernel<'a>, KernelError> {
        if live::is_kcore(dump.path()) {
            return CrashedKernel::open_live(dump, &LiveSources::system());
        }
        CrashedKernel::bootstrap(dump, Origin::Memory)
    }

    /// The running kernel: `kcore` (`/proc/kcore` opened as a dump, see
    /// [`live::open_kcore`]) for memory, `sources` for symbols and BTF; the
    /// rest of the bootstrap is [`CrashedKernel::open`]'s.
    pub fn open_live(
        kcore: &'a Dump,
        sources: &LiveSources,
    ) -> Result<CrashedKernel<'a>, KernelError> {
        CrashedKernel::bootstrap(kcore, Origin::Live(sources))
    }

    fn bootstrap(dump: &'a Dump, origin: Origin<'_>) -> Result<CrashedKernel<'a>, KernelError> {
        let bindings = ktype_runtime::registry::lock_bindings();
        let path = dump.path().to_path_buf();
        let missing = |what: String| KernelError::Missing {
            path: path.clone(),
            what,
        };
        let info = dump.vmcoreinfo().ok_or_else(|| missing("the dump carries no VMCOREINFO note (for qemu guests, load qemu_fw_cfg and add -device vmcoreinfo)".into()))?;
        let mut mem = dump.kernel_memory()?;
        let mut timings = Timings::default();
        let t = Instant::now();
        let kallsyms = match origin {
            Origin::Memory => {
                let sym = |name: &str| {
                    info.symbol(name)
                        .ok_or_else(|| missing(format!("VMCOREINFO has no SYMBOL({name})")))
                };
                let tables = KallsymsTables {
                    num_syms: sym("kallsyms_num_syms")?,
                    names: sym("kallsyms_names")?,
                    token_table: sym("kallsyms_token_table")?,
                    token_index: sym("kallsyms_token_index")?,
                    offsets: sym("kallsyms_offsets")?,
                    relative_base: info.symbol("kallsyms_relative_base"),
                    stext: sym("_stext")?,
                };
                Kallsyms::read(&mem, &tables).map_err(|source| KernelError::Kallsyms {
                    path: path.clone(),
                    source,
                })?
            }
            Origin::Live(s) => s.read_kallsyms()?,
        };
        kallsyms.prefetch(BOOTSTRAP_SYMBOLS);
        timings.kallsyms = t.elapsed();
        // With CONFIG_RANDOMIZE_MEMORY the direct map and vmemmap move; their bases are variables.
        let read_u64 = |mem: &KernelMemory<'_>, name: &str| {
            kallsyms.lookup(name).and_then(|a| mem.read_u64(a).ok())
        };
        if let Some(base) = read_u64(&mem, "page_offset_base") {
            mem.set_direct_map(base);
        }
        if let Some(base) = read_u64(&mem, "vmemmap_base") {
            mem.set_vmemmap(base);
        }
        let t = Instant::now();
        let mut btf = match origin {
            Origin::Memory => BtfSet::new(CrashedKernel::btf_from_memory(
                &mem, &kallsyms, info, &path,
            )?),
            Origin::Live(s) => s.vmlinux_btf()?,
        };
        timings.btf = t.elapsed();
        let t = Instant::now();
        resolve_descriptors(&bindings, &btf, &bindings::descriptors(), &[]).map_err(|source| {
            KernelError::Bindings {
                path: path.clone(),
                source,
            }
        })?;
        let mut modules = modules::walk(&mem, &kallsyms, &path)?;
        match origin {
            Origin::Memory => modules::load_btf(&mem, &kallsyms, &mut btf, &mut modules, &path)?,
            Origin::Live(s) => s.load_module_btf(&mut btf, &mut modules)?,
        }
        timings.modules = t.elapsed();
        Ok(CrashedKernel {
            dump,
            live: matches!(origin, Origin::Live(_)),
            mem,
            kallsyms,
            btf,
            modules,
            timings,
            _bindings: bindings,
        })
    }

    /// vmlinux BTF between `__start_BTF` and `__stop_BTF`, in place where
    /// the dump maps it (an ELF dump): never copied; without those symbols
    /// (kallsyms of text symbols only), recognised in the kernel image.
    fn btf_from_memory(
        mem: &KernelMemory<'_>,
        kallsyms: &Kallsyms,
        info: &crate::dump::VmcoreInfo,
        path: &std::path::Path,
    ) -> Result<Btf, KernelError> {
        let missing = |what: String| KernelError::Missing {
            path: path.to_path_buf(),
            what,
        };
        let (Some(start), Some(stop)) = (
            kallsyms.lookup("__start_BTF"),
            kallsyms.lookup("__stop_BTF"),
        ) else {
            // Text symbols only (no CONFIG_KALLSYMS_ALL): look for it in the image.
            return btf_in_image(mem, kallsyms, info).ok_or_else(|| {
                missing(
                    "kallsyms has no __start_BTF, and no BTF was found in the kernel image's \
                     read-only data (kernel built without CONFIG_DEBUG_INFO_BTF?)"
                        .into(),
                )
            });
        };
        if stop <= start || stop - start > MAX_BTF {
            return Err(missing(format!(
                "__start_BTF {start:#x} .. __stop_BTF {stop:#x} is not a plausible BTF range"
            )));
        }
        let bytes = mem.region_virt(start, (stop - start) as usize)?;
        Ok(Btf::from_shared(
            bytes,
            format!("{}: vmlinux BTF (__start_BTF..__stop_BTF)", path.display()),
        )?)
    }

    /// Whether this is the running kernel (symbols and BTF from
    /// [`LiveSources`], memory from `/proc/kcore`).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The dump.
    pub fn dump(&self) -> &'a Dump {
        self.dump
    }

    /// Kernel virtual memory (direct map and vmemmap enabled when found).
    pub fn memory(&self) -> &KernelMemory<'a> {
        &self.mem
    }

    /// vmlinux symbols.
    pub fn kallsyms(&self) -> &Kallsyms {
        &self.kallsyms
    }

    /// vmlinux BTF plus the BTF of every loaded module that has some.
    pub fn btf(&self) -> &BtfSet {
        &self.btf
    }

    /// vmlinux BTF.
    pub fn vmlinux_btf(&self) -> &Arc<Btf> {
        self.btf.vmlinux()
    }

    /// Loaded modules, in list order.
    pub fn modules(&self) -> &[LoadedModule] {
        &self.modules
    }

    /// One past the last page frame with a `struct page`: the end of the
    /// highest node's span (`node_data[]`, or `contig_page_data` without
    /// NUMA) rounded up to a whole memory section (`SECTION_SIZE_BITS` from
    /// VMCOREINFO; sparsemem allocates `struct page`s per section). Like
    /// makedumpfile, dumptool leaves memory above it (firmware ranges) out of
    /// a filtered dump.
    pub fn spanned_end_pfn(&self) -> Option<u64> {
        let end = self.node_span_end()?;
        let info = self.dump.vmcoreinfo()?;
        let shift = info
            .number("SECTION_SIZE_BITS")
            .filter(|&b| (12..48).contains(&b))
            .map(|b| b as u32 - self.dump.page_size().trailing_zeros());
        Some(match shift {
            Some(s) => end.div_ceil(1 << s) << s,
            None => end,
        })
    }

    fn node_span_end(&self) -> Option<u64> {
        use bindings::PglistData;
        let read_node = |addr: u64| -> Option<u64> {
            let mut b = vec![0u8; PglistData::try_size().ok()?];
            self.mem.read_virt(addr, &mut b).ok()?;
            let n = PglistData::view(&b).ok()?;
            n.node_start_pfn().checked_add(n.node_spanned_pages())
        };
        if let Some(table) = self.kallsyms.lookup("node_data") {
            let count = self
                .dump
                .vmcoreinfo()
                .and_then(|i| i.length("node_data"))
                .unwrap_or(1)
                .min(1 << 12);
            let mut ptrs = vec![0u8; count as usize * 8];
            self.mem.read_virt(table, &mut ptrs).ok()?;
            return ptrs
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .filter(|&p| p != 0)
                .filter_map(read_node)
                .max();
        }
        read_node(self.kallsyms.lookup("contig_page_data")?)
    }

    /// What each bootstrap step cost.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// Resolves dumptool's own bindings (`#[kernel_struct]`, `#[kernel_enum]`,
    /// `kernel_symbols!` of this crate) against this kernel's BTF and symbols.
    /// A tool resolves its own with [`CrashedKernel::resolve`].
    pub fn resolve_all(&self) -> Result<ktype_runtime::Report, ResolveError> {
        self.resolve(Scope::Crate(module_path!()))
    }

    /// Resolves the declarations of `scope` (e.g. `ktype_runtime::this_crate!()`)
    /// against this kernel's BTF and symbols; every problem is reported at once.
    pub fn resolve(&self, scope: Scope) -> Result<ktype_runtime::Report, ResolveError> {
        let mut report = ktype_runtime::resolve(&self._bindings, &self.btf, scope)?;
        report.symbols = ktype_runtime::resolve_symbols(&self._bindings, self, scope)?.symbols;
        Ok(report)
    }

    /// The bindings lock this kernel holds while it lives: what
    /// `ktype_runtime::resolution` functions take.
    pub fn bindings(&self) -> &ktype_runtime::BindingsGuard {
        &self._bindings
    }
}

/// vmlinux BTF recognised in the kernel image between the end of its text
/// (`_etext`, else `_stext`) and `swapper_pg_dir` (after the read-only
/// data on arm64), see [`btf_scan`].
fn btf_in_image(
    mem: &KernelMemory<'_>,
    kallsyms: &Kallsyms,
    info: &crate::dump::VmcoreInfo,
) -> Option<Btf> {
    let from = kallsyms
        .lookup("_etext")
        .or_else(|| kallsyms.lookup("_stext"))?;
    let to = info
        .symbol("swapper_pg_dir")
        .filter(|&t| t > from)
        .unwrap_or(from + MAX_BTF);
    btf_scan::scan(mem, from, to).map(|(_, btf)| btf)
}

impl SymbolSource for CrashedKernel<'_> {
    fn lookup(&self, module: &str, name: &str) -> Option<u64> {
        if module == "vmlinux" {
            return self.kallsyms.lookup(name);
        }
        self.modules
            .iter()
            .find(|m| m.name == module)?
            .symbols
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.addr)
    }
    fn describe(&self) -> String {
        if self.live {
            return "/proc/kallsyms of the running kernel".into();
        }
        format!("kallsyms of {}", self.dump.path().display())
    }
}
