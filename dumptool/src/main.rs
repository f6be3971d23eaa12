//! `dumptool`: command-line entry point; the work is in the library.

use clap::{Parser, Subcommand};
use dumptool::commands;
use std::io::Write;
use std::process::ExitCode;

/// A makedumpfile-compatible crash-dump filter driven by BTF.
#[derive(Debug, Parser)]
#[command(name = "dumptool", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Filter a dump like makedumpfile: -d LEVEL [-E|-c|-l|-p|-z] [-F] IN [OUT].
    Filter(commands::filter::FilterArgs),
    /// Look inside BTF (a file, /sys/kernel/btf, or a dump's memory): offsetof, show, find, check.
    Btf(commands::btf::BtfArgs),
    /// What a dump is: format, kernel, memory map, KASLR offset, kallsyms/BTF/modules found.
    Info {
        /// The dump (ELF, kdump-compressed, or flattened).
        dump: std::path::PathBuf,
    },
    /// Symbols decoded from the dump (kallsyms and modules), System.map style.
    Syms {
        /// The dump.
        dump: std::path::PathBuf,
        /// Only these symbols.
        names: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Filter(args) = &cli.command {
        // Large reads of a kdump-compressed input decompress on rayon's
        // global pool: as many threads as the filter may use. (Only fails
        // when the pool exists already, which it cannot here.)
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads.max(1))
            .build_global();
    }
    let result = match &cli.command {
        Command::Filter(args) => commands::filter::run(args)
            .map(|(_, report)| report)
            .map_err(|e| e.to_string()),
        Command::Btf(args) => commands::btf::run(args).map_err(|e| e.to_string()),
        Command::Info { dump } => commands::info::run(dump).map_err(|e| e.to_string()),
        Command::Syms { dump, names } => match commands::syms::run(dump, names) {
            // The symbols found are printed even when others are missing.
            Ok(found) => {
                let _ = std::io::stdout().write_all(found.text.as_bytes());
                found.missing.map_or(Ok(String::new()), Err)
            }
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(text) => {
            // A closed pipe (`dumptool ... | head`) is not an error worth a panic.
            // (filter -F writes the dump itself to stdout; its report goes to stderr.)
            let flattened_to_stdout =
                matches!(&cli.command, Command::Filter(a) if a.output.is_none());
            let _ = if flattened_to_stdout {
                std::io::stderr().write_all(text.as_bytes())
            } else {
                std::io::stdout().write_all(text.as_bytes())
            };
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dumptool: {e}");
            ExitCode::FAILURE
        }
    }
}
