//! `dumptool`: command-line entry point; the work is in the library.

use clap::{Parser, Subcommand};
use dumptool::commands;
use ktype_runtime::text::escape_keep_lines;
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
    /// The kernel log from the dump's (or, --live, the running kernel's) printk ring buffer, as makedumpfile --dump-dmesg prints it.
    Dmesg {
        #[command(flatten)]
        target: commands::DumpOrLive,
    },
    /// Look inside BTF (a file, /sys/kernel/btf, or a dump's memory): offsetof, show, find, check.
    Btf(commands::btf::BtfArgs),
    /// What a dump (or, --live, the running kernel) is: format, kernel, memory map, KASLR offset, kallsyms/BTF/modules found.
    Info {
        #[command(flatten)]
        target: commands::DumpOrLive,
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
    // Run as `makedumpfile` (a symlink or copy): makedumpfile's command line.
    let mut argv = std::env::args_os();
    if let Some(argv0) = argv.next() {
        if dumptool::compat::makedumpfile::invoked_as_makedumpfile(&argv0) {
            let rest: Vec<_> = argv.collect();
            return dumptool::compat::makedumpfile::main(&rest);
        }
    }
    let mut cli = Cli::parse();
    if let Command::Filter(args) = &mut cli.command {
        match commands::filter::start_threads(args) {
            Ok(Some(note)) => eprintln!("dumptool: {note}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("dumptool: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let result = match &cli.command {
        Command::Filter(args) => commands::filter::run(args)
            .map(|(summary, report)| {
                for w in commands::filter::warnings(args, &summary) {
                    eprintln!("dumptool: {w}");
                }
                report
            })
            .map_err(|e| {
                if let Some(json) = commands::filter::failure_report(args, &e) {
                    // Where the report would have gone (stderr when the dump goes to stdout).
                    let json = escape_keep_lines(&json);
                    let _ = if args.output.is_none() {
                        std::io::stderr().write_all(json.as_bytes())
                    } else {
                        std::io::stdout().write_all(json.as_bytes())
                    };
                }
                commands::error_text(&e)
            }),
        Command::Dmesg { target } => match commands::dmesg::run(&target.path()) {
            Ok(log) => {
                for n in commands::dmesg::notes(&log) {
                    eprintln!("dumptool: note: {}", escape_keep_lines(&n));
                }
                // Already escaped the way makedumpfile escapes it: written as is.
                let _ = std::io::stdout().write_all(log.text.as_bytes());
                Ok(String::new())
            }
            Err(e) => Err(commands::error_text(&e)),
        },
        Command::Btf(args) => commands::btf::run(args).map_err(|e| commands::error_text(&e)),
        Command::Info { target } => {
            commands::info::run(&target.path()).map_err(|e| commands::error_text(&e))
        }
        Command::Syms { dump, names } => match commands::syms::run(dump, names) {
            // The symbols found are printed even when others are missing.
            Ok(found) => {
                let _ = std::io::stdout().write_all(found.text.as_bytes());
                found.missing.map_or(Ok(String::new()), Err)
            }
            Err(e) => Err(commands::error_text(&e)),
        },
    };
    match result {
        Ok(text) => {
            // A closed pipe (`dumptool ... | head`) is not an error worth a panic.
            // (filter -F writes the dump itself to stdout; its report goes to stderr.)
            let flattened_to_stdout =
                matches!(&cli.command, Command::Filter(a) if a.output.is_none());
            // Text may hold strings from the dump: control characters are
            // shown escaped (lines and tabs are the text's own).
            let text = escape_keep_lines(&text);
            let _ = if flattened_to_stdout {
                std::io::stderr().write_all(text.as_bytes())
            } else {
                std::io::stdout().write_all(text.as_bytes())
            };
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dumptool: {}", escape_keep_lines(&e));
            ExitCode::FAILURE
        }
    }
}
