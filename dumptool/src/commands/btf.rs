//! `dumptool btf`: look inside a BTF source (a raw file, `/sys/kernel/btf/*`,
//! a vmlinux or `.ko` ELF file).

use crate::layout_dump::show_aggregate;
use clap::{Args, Subcommand};
use ktype_runtime::btf::{Btf, BtfError, Kind, LookupError, PathError, Type};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `dumptool btf`.
#[derive(Debug, Args)]
pub struct BtfArgs {
    /// vmlinux BTF: a raw BTF file, or an ELF file (vmlinux) with a .BTF section.
    #[arg(long, default_value = "/sys/kernel/btf/vmlinux", global = true)]
    pub btf: PathBuf,
    /// A module's split BTF (raw, .ko or .ko.xz) on top of --btf; queries then search it too.
    #[arg(long, global = true)]
    pub split: Option<PathBuf>,
    /// Take BTF from a crash dump's memory instead (found through its kallsyms).
    #[arg(long, global = true, conflicts_with_all = ["split"])]
    pub dump: Option<PathBuf>,
    /// With --dump: query this loaded module's BTF (split on vmlinux's).
    #[arg(long, global = true, requires = "dump")]
    pub module: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: BtfCommand,
}

/// The `dumptool btf` subcommands.
#[derive(Debug, Subcommand)]
pub enum BtfCommand {
    /// Offset, size and type of TYPE.member.path, TYPE a struct, union or typedef of one (anonymous members are searched; `a[2].b` indexes arrays).
    Offsetof {
        /// `TYPE.member[.member...]`; `struct ` or `union ` in front choose when a name is both.
        path: String,
    },
    /// A pahole-like layout of a struct or union, or the constants of an enum.
    Show {
        /// `struct`, `union`, `enum` or `typedef`.
        kind: String,
        /// The type's name.
        name: String,
        /// Pick one of several same-named types by id.
        #[arg(long)]
        id: Option<u32>,
    },
    /// Every type with this name, of any kind.
    Find {
        /// The name.
        name: String,
    },
    /// Fully validate the BTF and count its types by kind.
    Check,
}

/// Errors of `dumptool btf`.
#[derive(Debug, thiserror::Error)]
pub enum BtfCmdError {
    /// The BTF could not be read.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// A name lookup failed.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// A member path failed.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The dump could not be read.
    #[error(transparent)]
    Dump(#[from] crate::dump::DumpError),
    /// The kernel could not be brought up from the dump.
    #[error(transparent)]
    Kernel(#[from] crate::kernel::KernelError),
}

fn open(args: &BtfArgs) -> Result<Arc<Btf>, BtfCmdError> {
    if let Some(path) = &args.dump {
        let dump = crate::dump::Dump::open(path)?;
        let k = crate::kernel::CrashedKernel::open(&dump)?;
        return match &args.module {
            Some(m) => k.btf().get(m).cloned().ok_or_else(|| {
                let have: Vec<&str> = k.btf().module_names().collect();
                BtfCmdError::Usage(format!(
                    "{}: no BTF for module `{m}` (modules with BTF: {})",
                    path.display(),
                    have.join(", ")
                ))
            }),
            None => Ok(k.vmlinux_btf().clone()),
        };
    }
    let base = Btf::open(&args.btf)?;
    Ok(Arc::new(match &args.split {
        Some(p) => Btf::open_split(p, Arc::new(base))?,
        None => base,
    }))
}

/// Runs `dumptool btf` and returns what it prints.
pub fn run(args: &BtfArgs) -> Result<String, BtfCmdError> {
    let btf = open(args)?;
    let btf = &*btf;
    match &args.command {
        BtfCommand::Offsetof { path } => offsetof(btf, path),
        BtfCommand::Show { kind, name, id } => show(btf, kind, name, *id),
        BtfCommand::Find { name } => Ok(find(btf, name)),
        BtfCommand::Check => check(btf),
    }
}

fn parse_kind(kind: &str) -> Result<Kind, BtfCmdError> {
    Ok(match kind {
        "struct" => Kind::Struct,
        "union" => Kind::Union,
        "enum" => Kind::Enum,
        "typedef" => Kind::Typedef,
        other => {
            return Err(BtfCmdError::Usage(format!(
                "unknown kind `{other}`: expected struct, union, enum or typedef"
            )))
        }
    })
}

fn pick<'a>(
    btf: &'a Btf,
    name: &str,
    kind: Kind,
    id: Option<u32>,
) -> Result<Type<'a>, BtfCmdError> {
    match id {
        Some(id) => btf
            .find(name, kind)
            .into_iter()
            .find(|t| t.id() == id)
            .ok_or_else(|| BtfCmdError::Usage(format!("no {} {name} with id {id}", kind.name()))),
        None => Ok(btf.find_unique(name, kind)?),
    }
}

/// The type `offsetof` starts from: `name` as a struct, else as a union,
/// else as a typedef of either (as C's `offsetof(TYPE, member)` takes any
/// of them); a name that is both a struct and a union must say which.
fn aggregate<'a>(btf: &'a Btf, name: &str) -> Result<(Kind, Type<'a>), BtfCmdError> {
    let structs = !btf.find(name, Kind::Struct).is_empty();
    let unions = !btf.find(name, Kind::Union).is_empty();
    match (structs, unions) {
        (true, true) => Err(BtfCmdError::Usage(format!(
            "`{name}` is both a struct and a union: write `struct {name}.…` or `union {name}.…`"
        ))),
        (true, false) => Ok((Kind::Struct, btf.find_unique(name, Kind::Struct)?)),
        (false, true) => Ok((Kind::Union, btf.find_unique(name, Kind::Union)?)),
        (false, false) => {
            let typedefs: Vec<Type<'a>> = btf
                .find(name, Kind::Typedef)
                .into_iter()
                .filter(|t| {
                    btf.skip_modifiers(t.id())
                        .is_some_and(|a| matches!(a.kind(), Kind::Struct | Kind::Union))
                })
                .collect();
            if typedefs.is_empty() {
                return Err(LookupError::NotFound {
                    origin: btf.origin().to_string(),
                    what: format!("struct, union or typedef of one named {name}"),
                }
                .into());
            }
            Ok((Kind::Typedef, btf.find_unique(name, Kind::Typedef)?))
        }
    }
}

/// `offsetof TYPE.path`: TYPE is a struct, a union or a typedef of one
/// (`struct `/`union ` in front choose when a name is both).
pub fn offsetof(btf: &Btf, spec: &str) -> Result<String, BtfCmdError> {
    let (kind, spec) = match (spec.strip_prefix("union "), spec.strip_prefix("struct ")) {
        (Some(rest), _) => (Some(Kind::Union), rest),
        (None, Some(rest)) => (Some(Kind::Struct), rest),
        (None, None) => (None, spec),
    };
    let (name, path) = spec
        .split_once('.')
        .ok_or_else(|| BtfCmdError::Usage(format!("`{spec}`: expected TYPE.member[.member...]")))?;
    let (kind, t) = match kind {
        Some(kind) => (kind, btf.find_unique(name, kind)?),
        None => aggregate(btf, name)?,
    };
    let loc = btf.member_path(t.id(), path)?;
    let ty = btf.type_name(loc.type_id);
    let size = btf
        .size_of(loc.type_id)
        .map(|s| s.to_string())
        .unwrap_or_else(|| "?".into());
    Ok(if loc.bitfield_size > 0 {
        format!(
            "{} {spec}: offset {} bit {} (bit offset {}), bitfield {} bits of {ty}\n",
            kind.name(),
            loc.bit_offset / 8,
            loc.bit_offset % 8,
            loc.bit_offset,
            loc.bitfield_size
        )
    } else {
        format!(
            "{} {spec}: offset {} size {size} type {ty}\n",
            kind.name(),
            loc.bit_offset / 8
        )
    })
}

/// `show KIND NAME`.
pub fn show(btf: &Btf, kind: &str, name: &str, id: Option<u32>) -> Result<String, BtfCmdError> {
    let kind = parse_kind(kind)?;
    let t = pick(btf, name, kind, id)?;
    Ok(match t.kind() {
        Kind::Struct | Kind::Union => show_aggregate(btf, &t),
        Kind::Enum | Kind::Enum64 => {
            let mut s = format!(
                "enum {} {{ /* id {}, size {}, {} */\n",
                t.name(),
                t.id(),
                t.size(),
                if t.kind_flag() { "signed" } else { "unsigned" }
            );
            for v in t.enum_values() {
                s.push_str(&format!("\t{} = {},\n", v.name, v.value()));
            }
            s.push_str("};\n");
            s
        }
        _ => format!(
            "typedef {}; /* id {} */\n",
            btf.c_decl(t.ref_type().unwrap_or(0), t.name()),
            t.id()
        ),
    })
}

/// `find NAME`.
pub fn find(btf: &Btf, name: &str) -> String {
    let all = btf.find_all(name);
    if all.is_empty() {
        return format!("no type named `{name}`\n");
    }
    let mut s = String::new();
    for t in all {
        let size = btf
            .size_of(t.id())
            .map(|s| format!(" size {s}"))
            .unwrap_or_default();
        let from = if t.btf().base().is_some() {
            " (module)"
        } else {
            ""
        };
        s.push_str(&format!(
            "[{}] {} {}{size}{from}\n",
            t.id(),
            t.kind(),
            t.name()
        ));
    }
    s
}

/// `check`.
pub fn check(btf: &Btf) -> Result<String, BtfCmdError> {
    btf.validate()?;
    let mut counts = std::collections::BTreeMap::new();
    for t in btf.own_types() {
        *counts.entry(t.kind().name()).or_insert(0usize) += 1;
    }
    let mut s = format!(
        "{}: valid BTF, {} types (ids {}..{}){}\n",
        btf.origin(),
        btf.own_type_count(),
        btf.start_id(),
        btf.next_id(),
        if btf.base().is_some() { ", split" } else { "" }
    );
    for (k, n) in counts {
        s.push_str(&format!("  {k:<12} {n}\n"));
    }
    Ok(s)
}
