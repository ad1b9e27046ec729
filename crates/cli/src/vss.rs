//! `rehydrate vss …`: VSS documents (placeholder until vss-model lands).

use clap::Subcommand;

use crate::Failure;

/// `rehydrate vss` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum VssCommand {
    /// Show a Writer Metadata Document or Backup Components Document.
    Show {
        /// The XML document.
        doc: std::path::PathBuf,
    },
}

/// Runs a `vss` subcommand.
pub(crate) fn run(cmd: VssCommand) -> Result<(), Failure> {
    match cmd {
        VssCommand::Show { doc } => Err(Failure::io(format!(
            "{}: VSS documents are not supported yet",
            doc.display()
        ))),
    }
}
