//! Erasers: kernel variables whose bytes are overwritten in the filtered
//! dump (keys, passwords, anything a dump must not carry off the machine),
//! named by symbol and sized from the dump's own BTF:
//!
//! | spec | erases |
//! | --- | --- |
//! | `SYMBOL:SIZE` | `SIZE` bytes (decimal or `0x` hex) from the symbol's address |
//! | `SYMBOL:TYPE` | the whole struct or union `TYPE` at the symbol |
//! | `SYMBOL:TYPE.member.path` | one member (dotted path, `[N]` indices) of the `TYPE` at the symbol |
//!
//! e.g. `init_task:task_struct.comm` or `jiffies_64:8`. Erased bytes become
//! [`ERASE_BYTE`] (`'X'`, the poison makedumpfile's `erase` command uses),
//! so an erased range is told apart from real zeros.
//! Symbols come from the dump's kallsyms (then its modules); the virtual
//! range is translated to physical ranges once, at start-up.
//!
//! ```no_run
//! use dumptool::dump::Dump;
//! use dumptool::filter::erase::Erasures;
//! use dumptool::kernel::CrashedKernel;
//! let dump = Dump::open("vmcore")?;
//! let kernel = CrashedKernel::open(&dump)?;
//! let erase = Erasures::resolve(&kernel, &["init_task:task_struct.comm".to_string()])?;
//! let mut page = vec![0u8; 4096];
//! erase.apply(0x1234, &mut page); // the bytes of pfn 0x1234, rewritten in place
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::FilterError;
use crate::kernel::CrashedKernel;
use crate::write::{PageSelector, WriteError};
use ktype_runtime::btf::{Kind, LookupError, PathError};
use std::ops::Range;

/// What erased bytes are overwritten with.
pub const ERASE_BYTE: u8 = b'X';

/// Erasures larger than this are refused as typos (16 MiB).
pub const MAX_ERASE: u64 = 16 << 20;

/// One resolved erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The spec as given.
    pub spec: String,
    /// The same erasure as makedumpfile's filter config writes it
    /// (`SYMBOL[.member.path]`): what its erase-info line names.
    pub expr: String,
    /// Kernel virtual address of the first byte.
    pub vaddr: u64,
    /// Bytes erased.
    pub len: u64,
    /// The physical ranges those bytes live in, in virtual order.
    pub phys: Vec<Range<u64>>,
}

/// Every erasure of a filter run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasures {
    list: Vec<Erasure>,
    /// The dump's page size.
    page_size: u64,
}

/// What is wrong with an `--erase` spec. A problem caused by another
/// error (a BTF lookup, a member path, an address translation) quotes its
/// message and keeps it as its [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EraseError {
    /// Not `SYMBOL:SIZE`, `SYMBOL:TYPE` or `SYMBOL:TYPE.member.path`.
    #[error("expected SYMBOL:SIZE, SYMBOL:TYPE or SYMBOL:TYPE.member.path")]
    Syntax,
    /// Neither kallsyms nor a module has the symbol.
    #[error("no symbol {symbol} in the dump")]
    NoSymbol {
        /// The symbol.
        symbol: String,
    },
    /// The symbol has more than one address.
    #[error("symbol {symbol} is ambiguous: {}", hex_list(addrs))]
    Ambiguous {
        /// The symbol.
        symbol: String,
        /// Its addresses.
        addrs: Vec<u64>,
    },
    /// The dump's BTF has no struct or union of that name.
    #[error("no struct or union {name} in the dump's BTF")]
    NoType {
        /// The type asked for.
        name: String,
    },
    /// The type could not be looked up (e.g. more than one of the name).
    #[error("{source}")]
    Type {
        /// The type asked for.
        name: String,
        /// The lookup's error.
        source: LookupError,
    },
    /// The member path does not lead to a member of the type.
    #[error("{source}")]
    Member {
        /// The member path.
        path: String,
        /// Where the path failed.
        source: PathError,
    },
    /// The member is a bitfield.
    #[error("{path} is a bitfield; erase whole bytes (SYMBOL:SIZE)")]
    Bitfield {
        /// The member path.
        path: String,
    },
    /// The member's type has no size.
    #[error("{path} has no size in BTF")]
    NoSize {
        /// The member path.
        path: String,
    },
    /// Zero bytes, or more than [`MAX_ERASE`] (a typo, surely).
    #[error("{len} bytes (must be 1 to {MAX_ERASE})")]
    Length {
        /// Bytes asked for.
        len: u64,
    },
    /// The range runs past the top of the address space.
    #[error("the range wraps around the address space")]
    Wraps,
    /// A byte of the range has no physical address in the dump.
    #[error("cannot translate {vaddr:#x}: {}", source.message())]
    Translate {
        /// The virtual address.
        vaddr: u64,
        /// The translation's error.
        source: crate::dump::DumpError,
    },
}

impl EraseError {
    /// A short name of the variant (`syntax`, `no_symbol`, `ambiguous`,
    /// `no_type`, `type`, `member`, `bitfield`, `no_size`, `length`,
    /// `wraps`, `translate`).
    pub fn kind(&self) -> &'static str {
        match self {
            EraseError::Syntax => "syntax",
            EraseError::NoSymbol { .. } => "no_symbol",
            EraseError::Ambiguous { .. } => "ambiguous",
            EraseError::NoType { .. } => "no_type",
            EraseError::Type { .. } => "type",
            EraseError::Member { .. } => "member",
            EraseError::Bitfield { .. } => "bitfield",
            EraseError::NoSize { .. } => "no_size",
            EraseError::Length { .. } => "length",
            EraseError::Wraps => "wraps",
            EraseError::Translate { .. } => "translate",
        }
    }
}

fn hex_list(addrs: &[u64]) -> String {
    addrs
        .iter()
        .map(|a| format!("{a:#x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An `--erase` spec that names no bytes of the dump's kernel.
#[derive(Debug, thiserror::Error)]
#[error("{}: --erase {spec}: {problem}", dump.display())]
pub struct SpecError {
    /// The dump the spec was resolved against.
    pub dump: std::path::PathBuf,
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it.
    #[source]
    pub problem: EraseError,
}

fn bad(kernel: &CrashedKernel<'_>, spec: &str, problem: EraseError) -> FilterError {
    FilterError::BadErase(Box::new(SpecError {
        dump: kernel.dump().path().to_path_buf(),
        spec: spec.to_string(),
        problem,
    }))
}

fn parse_size(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl Erasures {
    /// Resolves every spec against `kernel`; an error names the spec and
    /// what is wrong with it.
    pub fn resolve(kernel: &CrashedKernel<'_>, specs: &[String]) -> Result<Erasures, FilterError> {
        let list = specs
            .iter()
            .map(|s| Erasure::resolve(kernel, s))
            .collect::<Result<_, _>>()?;
        Ok(Erasures {
            list,
            page_size: kernel.dump().page_size(),
        })
    }

    /// The erasures, in the order given.
    pub fn list(&self) -> &[Erasure] {
        &self.list
    }

    /// The erase information recorded in the output: one makedumpfile
    /// line per erasure, `erase SYMBOL[.member.path] size N`, the text
    /// makedumpfile keeps in a kdump sub header or an `ERASEINFO` note.
    pub fn eraseinfo(&self) -> String {
        self.list
            .iter()
            .map(|e| format!("erase {} size {}\n", e.expr, e.len))
            .collect()
    }

    /// Overwrites the erased bytes that fall in `page`, the bytes of pfn
    /// `pfn`.
    pub fn apply(&self, pfn: u64, page: &mut [u8]) {
        let Some(start) = pfn.checked_mul(self.page_size) else {
            return;
        };
        let end = start.saturating_add(page.len() as u64);
        for r in self.list.iter().flat_map(|e| &e.phys) {
            let (lo, hi) = (r.start.max(start), r.end.min(end));
            if lo < hi {
                page[(lo - start) as usize..(hi - start) as usize].fill(ERASE_BYTE);
            }
        }
    }
}

/// Erasures as a page selector that keeps every page and erases the bytes
/// of the kept ones ([`Erasures::apply`]): combined with another selector
/// through [`PageSelector::and`], e.g. after a
/// [`super::DumpLevelSelector`].
impl PageSelector for Erasures {
    fn select(&self, _start_pfn: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        keep.fill(u64::MAX);
        Ok(())
    }

    fn rewrite(&self, pfn: u64, page: &mut [u8]) {
        self.apply(pfn, page);
    }
}

impl Erasure {
    /// Resolves one `SYMBOL:SIZE`, `SYMBOL:TYPE` or `SYMBOL:TYPE.member.path`.
    pub fn resolve(kernel: &CrashedKernel<'_>, spec: &str) -> Result<Erasure, FilterError> {
        let (symbol, what) = spec
            .split_once(':')
            .ok_or_else(|| bad(kernel, spec, EraseError::Syntax))?;
        let base = symbol_address(kernel, spec, symbol)?;
        // `expr` names the erased bytes as makedumpfile's erase info does:
        // the symbol, then the member path without the type.
        let (offset, len, expr) = match parse_size(what) {
            Some(n) => (0, n, symbol.to_string()),
            None => {
                let (offset, len) = member_extent(kernel, spec, what)?;
                let expr = match what.split_once('.') {
                    Some((_, path)) => format!("{symbol}.{path}"),
                    None => symbol.to_string(),
                };
                (offset, len, expr)
            }
        };
        if len == 0 || len > MAX_ERASE {
            return Err(bad(kernel, spec, EraseError::Length { len }));
        }
        let vaddr = base
            .checked_add(offset)
            .filter(|a| a.checked_add(len).is_some())
            .ok_or_else(|| bad(kernel, spec, EraseError::Wraps))?;
        let phys = physical_ranges(kernel, spec, vaddr, len)?;
        Ok(Erasure {
            spec: spec.to_string(),
            expr,
            vaddr,
            len,
            phys,
        })
    }
}

/// The one address of `symbol` in the dump's kallsyms, else its modules.
fn symbol_address(
    kernel: &CrashedKernel<'_>,
    spec: &str,
    symbol: &str,
) -> Result<u64, FilterError> {
    let mut addrs = kernel.kallsyms().lookup_all(symbol);
    if addrs.is_empty() {
        for m in kernel.modules() {
            addrs.extend(
                m.symbols
                    .iter()
                    .filter(|s| s.name == symbol)
                    .map(|s| s.addr),
            );
        }
    }
    addrs.sort_unstable();
    addrs.dedup();
    match addrs[..] {
        [a] => Ok(a),
        [] => Err(bad(
            kernel,
            spec,
            EraseError::NoSymbol {
                symbol: symbol.to_string(),
            },
        )),
        _ => Err(bad(
            kernel,
            spec,
            EraseError::Ambiguous {
                symbol: symbol.to_string(),
                addrs,
            },
        )),
    }
}

/// `(offset, size)` of `TYPE[.member.path]` from vmlinux BTF.
fn member_extent(
    kernel: &CrashedKernel<'_>,
    spec: &str,
    what: &str,
) -> Result<(u64, u64), FilterError> {
    let btf = kernel.vmlinux_btf();
    let (ty, path) = match what.split_once('.') {
        Some((t, p)) => (t, Some(p)),
        None => (what, None),
    };
    let ty = ty
        .trim_start_matches("struct ")
        .trim_start_matches("union ");
    let found = match btf.find_unique(ty, Kind::Struct) {
        Err(LookupError::NotFound { .. }) => match btf.find_unique(ty, Kind::Union) {
            Err(LookupError::NotFound { .. }) => {
                return Err(bad(
                    kernel,
                    spec,
                    EraseError::NoType {
                        name: ty.to_string(),
                    },
                ))
            }
            other => other,
        },
        other => other,
    }
    .map_err(|source| {
        bad(
            kernel,
            spec,
            EraseError::Type {
                name: ty.to_string(),
                source,
            },
        )
    })?;
    let Some(path) = path else {
        return Ok((0, found.size().into()));
    };
    let loc = btf.member_path(found.id(), path).map_err(|source| {
        bad(
            kernel,
            spec,
            EraseError::Member {
                path: path.to_string(),
                source,
            },
        )
    })?;
    if loc.bitfield_size != 0 {
        return Err(bad(
            kernel,
            spec,
            EraseError::Bitfield {
                path: path.to_string(),
            },
        ));
    }
    let size = btf.size_of(loc.type_id).ok_or_else(|| {
        bad(
            kernel,
            spec,
            EraseError::NoSize {
                path: path.to_string(),
            },
        )
    })?;
    Ok((loc.byte_offset(), size))
}

/// The physical ranges of `[vaddr, vaddr + len)`, merged where contiguous.
fn physical_ranges(
    kernel: &CrashedKernel<'_>,
    spec: &str,
    vaddr: u64,
    len: u64,
) -> Result<Vec<Range<u64>>, FilterError> {
    let page = kernel.dump().page_size();
    let mut out: Vec<Range<u64>> = Vec::new();
    let mut va = vaddr;
    let end = vaddr + len;
    while va < end {
        let n = (page - va % page).min(end - va);
        let pa = kernel
            .memory()
            .translate(va)
            .map_err(|source| bad(kernel, spec, EraseError::Translate { vaddr: va, source }))?;
        match out.last_mut() {
            Some(last) if last.end == pa => last.end += n,
            _ => out.push(pa..pa + n),
        }
        va += n;
    }
    Ok(out)
}
