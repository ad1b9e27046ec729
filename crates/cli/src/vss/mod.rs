//! `rehydrate vss …`: show VSS documents, plan restores (see `crates/vss-model`) and restore
//! components on the simulator (see `crates/vss-restore`).
//!
//! One file per subcommand; [`input`] loads the documents and parses the `%VAR%` and volume
//! arguments they share.

#[cfg(unix)]
mod dry_run;
mod input;
mod plan;
#[cfg(unix)]
mod restore;
mod show;

use std::path::PathBuf;

use clap::Subcommand;

use crate::Failure;

/// `rehydrate vss` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum VssCommand {
    /// Show a Writer Metadata Document or Backup Components Document.
    #[command(
        after_help = crate::help::VSS_SHOW,
        override_usage = "rehydrate vss show [OPTIONS] --source <FILE>"
    )]
    Show {
        /// The XML document (UTF-8 or UTF-16, with or without BOM).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "doc",
            conflicts_with = "doc"
        )]
        source: Option<PathBuf>,
        /// The document, in the older positional spelling of `--source`.
        #[arg(hide = true)]
        doc: Option<PathBuf>,
        /// Print the parsed model as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Plan a restore: which backed-up file goes where, per writer and component.
    #[command(after_help = crate::help::VSS_PLAN)]
    Plan(plan::PlanArgs),
    /// Restore the selected components onto a simulated volume, following each writer's
    /// restore method and target, with simulated writers and services built from the WMDs.
    #[cfg(unix)]
    #[command(after_help = crate::help::VSS_RESTORE)]
    Restore(restore::RestoreArgs),
}

/// Runs a `vss` subcommand.
pub(crate) fn run(cmd: VssCommand) -> Result<(), Failure> {
    match cmd {
        VssCommand::Show { source, doc, json } => {
            show::run(&crate::vocab::source(source, doc)?, json)
        }
        VssCommand::Plan(args) => plan::run(&args),
        #[cfg(unix)]
        VssCommand::Restore(args) => restore::run(&args),
    }
}
