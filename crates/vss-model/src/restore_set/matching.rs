//! Whether a Backup Components Document and the Writer Metadata Documents given with it belong
//! together: every writer the BCD names should have its WMD, of the same writer instance. A
//! BCD saved on another system, or WMDs of another backup, plan nothing or plan the wrong
//! writer's files; a requester reports that before it writes anything.
//!
//! Sources (docs/vss-restore.md §1.3, §3.1): file sets never appear in a BCD, so a restore set
//! always needs the saved WMDs [D-BCDC, D-SELB]; a selected component belongs to the writer
//! instance that backed it up — restoring it into another instance is `SetSelectedForRestoreEx`
//! with the RESTORE_WITH_MOVE schema bit [D-SSFR], which this project does not do. Pairing, as
//! restore-set generation does it: by instance id when the BCD gives one, else by writer class
//! id when exactly one WMD has it; a WMD that names no instance fits any instance of its class.

use crate::{BackupComponents, Guid, WriterMetadata};

/// A writer of a BCD that has no fitting WMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterMismatch {
    /// The writer's class id in the BCD.
    pub writer_id: Guid,
    /// The writer's instance id in the BCD, where it gives one.
    pub instance_id: Option<Guid>,
    /// The writer's instance name in the BCD, where it gives one.
    pub instance_name: Option<String>,
    /// What is wrong.
    pub kind: MismatchKind,
}

/// How a BCD writer fails to find its WMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MismatchKind {
    /// No WMD of that writer class.
    NoMetadata,
    /// The WMD of that writer class is of another instance (another system or another run).
    OtherInstance {
        /// The instance id the WMD gives.
        metadata_instance: Guid,
    },
    /// Several WMDs of that writer class and none of the BCD's instance: which one is meant
    /// cannot be told.
    Ambiguous {
        /// How many WMDs of that class there are.
        candidates: usize,
    },
}

impl std::fmt::Display for WriterMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writer {}", self.writer_id)?;
        if let Some(name) = &self.instance_name {
            write!(f, " ({name})")?;
        }
        if let Some(inst) = self.instance_id {
            write!(f, " instance {inst}")?;
        }
        match &self.kind {
            MismatchKind::NoMetadata => write!(f, ": no Writer Metadata Document of this writer"),
            MismatchKind::OtherInstance { metadata_instance } => write!(
                f,
                ": its Writer Metadata Document is of instance {metadata_instance}"
            ),
            MismatchKind::Ambiguous { candidates } => write!(
                f,
                ": {candidates} Writer Metadata Documents of this writer, none of this instance"
            ),
        }
    }
}

/// The writers of `bcd` that have no fitting document among `writers`, in BCD order.
#[must_use]
pub fn unmatched_writers(
    bcd: &BackupComponents,
    writers: &[WriterMetadata],
) -> Vec<WriterMismatch> {
    let ids = |w: &WriterMetadata| {
        w.identification
            .as_ref()
            .map(|i| (i.writer_id, i.instance_id))
    };
    bcd.writers
        .iter()
        .filter_map(|bw| {
            if bw.instance_id.is_some()
                && writers
                    .iter()
                    .any(|w| ids(w).is_some_and(|(_, inst)| inst == bw.instance_id))
            {
                return None;
            }
            let same: Vec<Option<Guid>> = writers
                .iter()
                .filter_map(ids)
                .filter(|(id, _)| *id == bw.writer_id)
                .map(|(_, inst)| inst)
                .collect();
            // A WMD that names no instance (an older schema) fits any instance of its class.
            let kind = match (same.as_slice(), bw.instance_id) {
                ([], _) => MismatchKind::NoMetadata,
                ([None], _) | ([_], None) => return None,
                ([Some(m)], Some(_)) => MismatchKind::OtherInstance {
                    metadata_instance: *m,
                },
                (many, _) => MismatchKind::Ambiguous {
                    candidates: many.len(),
                },
            };
            Some(WriterMismatch {
                writer_id: bw.writer_id,
                instance_id: bw.instance_id,
                instance_name: bw.instance_name.clone(),
                kind,
            })
        })
        .collect()
}
