//! `rehydrate`: inspect, carve and restore Windows Data Deduplication and VSS backups.

mod carve;
#[cfg(unix)]
mod demo;
mod help;
mod image;
mod inspect;
#[cfg(unix)]
mod inspect_volume;
mod mapped;
mod output;
mod progress;
mod restore;
mod shell;
#[cfg(unix)]
mod sim;
mod units;
mod vocab;
mod vss;
#[cfg(windows)]
mod windows;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Restore data from backups of Windows volumes, on any OS.
#[derive(Debug, Parser)]
#[command(name = "rehydrate", version, about)]
struct Cli {
    /// Print only what failed (and conflicts): no progress bar, no summary. Exit codes are
    /// unchanged.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also list every file with what became of it (restore, verify).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Look inside chunk-store files and check every structure.
    #[command(subcommand)]
    Inspect(inspect::InspectCommand),
    /// Concatenate the logical payloads of chosen chunks of a container (carving when stream
    /// maps are lost).
    #[command(
        after_help = crate::help::CARVE,
        override_usage = "rehydrate carve [OPTIONS] --source <FILE> --ids <IDS> --to <FILE>"
    )]
    Carve(carve::CarveArgs),
    /// VSS metadata: show documents, plan restores, restore components (on the simulator;
    /// `restore` is built on Unix only).
    #[command(subcommand)]
    Vss(vss::VssCommand),
    /// Rebuild dedup files from a volume folder (ntfs-3g mount or `sim optimize` output) into
    /// an output folder; ordinary files are copied (on Windows also `--in-place`).
    #[command(after_help = restore::RESTORE_AFTER_HELP)]
    Restore(restore::RestoreArgs),
    /// Check every dedup file's stream map and chunks in a volume folder, writing nothing.
    #[command(after_help = crate::help::VERIFY)]
    Verify(restore::VerifyArgs),
    /// List a folder of the NTFS volume in a disk image (raw, MBR/GPT, VHD, VHDX, E01).
    #[command(after_help = crate::help::LS)]
    Ls(image::LsArgs),
    #[cfg(unix)]
    /// Write one file of the NTFS volume in a disk image to stdout, rebuilt and verified if it
    /// is a dedup file.
    #[command(after_help = crate::help::CAT)]
    Cat(image::CatArgs),
    /// Generate, optimize, back up, restore and verify a seeded data set on the simulator.
    #[cfg(unix)]
    #[command(after_help = crate::help::DEMO)]
    Demo(demo::DemoArgs),
    /// The simulated Windows volume: run the Data Deduplication optimizer over a folder.
    #[cfg(unix)]
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Restore copies of dedup stubs with rehydrate and with Microsoft's RestoreFiles, and
    /// diff the HRESULTs and bytes (`--with-windows`).
    #[cfg(windows)]
    Compare(windows::compare::CompareArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    #[command(after_help = crate::help::COMPLETIONS)]
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff): `rehydrate man > rehydrate.1`.
    #[command(after_help = crate::help::MAN)]
    Man,
}

/// Why a command failed: printed as one line on stderr, then the process exits non-zero.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Process exit code (1 = a check failed or the input is bad, 2 = usage / I/O problem).
    pub(crate) code: u8,
    /// The one-line reason.
    pub(crate) message: String,
}

impl Failure {
    /// A failed check or unreadable input (exit code 1).
    pub(crate) fn check(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }

    /// A bad command line, or input or output that cannot be used at all (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_verbosity(cli.quiet, cli.verbose);
    let result = match cli.command {
        Command::Inspect(cmd) => inspect::run(cmd),
        Command::Carve(args) => carve::run(&args),
        Command::Vss(cmd) => vss::run(cmd),
        Command::Restore(args) => restore::run_restore(&args),
        Command::Verify(args) => restore::run_verify(&args),
        Command::Ls(args) => image::run_ls(&args),
        #[cfg(unix)]
        Command::Cat(args) => image::run_cat(&args),
        #[cfg(unix)]
        Command::Demo(args) => demo::run(&args),
        #[cfg(unix)]
        Command::Sim(cmd) => sim::run(cmd),
        #[cfg(windows)]
        Command::Compare(args) => windows::compare::run_compare(&args),
        Command::Completions(args) => shell::completions(&args, Cli::command()),
        Command::Man => shell::man(Cli::command()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("rehydrate: {}", failure.message.replace('\n', " "));
            ExitCode::from(failure.code)
        }
    }
}
