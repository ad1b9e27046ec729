//! Preparing a job: what the backup holds for one planned file (whole, partial ranges,
//! directed ranges, a dedup or other reparse point) and where it goes on the volume. Nothing
//! is written here, so a component whose files cannot all be prepared is refused untouched.

use dedup_reparse::IO_REPARSE_TAG_DEDUP;
use platform::WinPath;
use vss_model::bcd::AlternateMappingUsed;
use vss_model::ranges::{PartialRanges, Range, parse_range_list, parse_ranges_file};
use vss_model::restore_set::Destination;

use super::copy::Copier;
use super::units::{PlannedFile, Unit};
use crate::backup::BackupFile;
use crate::error::{ComponentError, FileError};
use crate::paths::resolve;

/// Largest ranges file read (8 + 16 × 2^20 bytes).
const MAX_RANGES_FILE: u64 = 8 + 16 * (1 << 20);

/// What a job writes.
#[derive(Debug, Clone)]
pub(super) enum Content {
    /// The whole file.
    Whole,
    /// The backed-up ranges, laid end to end in the backup, written at their offsets.
    Partial(Vec<Range>),
    /// (source offset, destination offset, length) of each directed range.
    Directed(Vec<(u64, u64, u64)>),
    /// A dedup reparse point (a sparse stub, rehydrated after writing).
    Dedup(Vec<u8>),
    /// Another reparse point, set as it is.
    Reparse(Vec<u8>),
}

impl Content {
    /// Whether the data goes into the file on disk (partial and directed ranges) rather than
    /// replacing it.
    pub(super) fn in_place(&self) -> bool {
        matches!(self, Self::Partial(_) | Self::Directed(_))
    }

    /// Whether the writer directs this file (DIRECTED target with a directed entry for it).
    pub(super) fn directed(&self) -> bool {
        matches!(self, Self::Directed(_))
    }
}

/// One file to write: its backed-up data and its destinations.
#[derive(Debug, Clone)]
pub(super) struct Job {
    /// Original path (the backup's name for it).
    pub(super) source: String,
    /// What the backup holds for it.
    pub(super) info: BackupFile,
    /// What to write.
    pub(super) content: Content,
    /// The destination on the volume.
    pub(super) dest: WinPath,
    /// The alternate location, if the plan gives one (`Err`: refused).
    pub(super) fallback: Option<Result<WinPath, ComponentError>>,
    /// The alternate mapping used when written to `dest`.
    pub(super) mapping: Option<AlternateMappingUsed>,
    /// The alternate mapping used when written to the fallback.
    pub(super) fallback_mapping: Option<AlternateMappingUsed>,
    /// A partial file's ranges file (its path in the backup), restored beside it.
    pub(super) ranges_file: Option<(String, BackupFile)>,
    /// Index of its file report.
    pub(super) report: usize,
}

impl Copier<'_, '_> {
    fn mapping_for(&self, u: &Unit, pf: &PlannedFile) -> Option<AlternateMappingUsed> {
        let wmd = &self.spec.writers[u.writer_index?];
        let fs = wmd
            .components
            .get(pf.wmd_component?)?
            .file_sets
            .get(pf.file_set)?;
        let m = wmd.alternate_mappings.iter().find(|m| {
            m.path
                .trim_end_matches('\\')
                .eq_ignore_ascii_case(fs.path.trim_end_matches('\\'))
                && m.filespec.eq_ignore_ascii_case(&fs.filespec)
                && m.recursive.unwrap_or(false) == fs.is_recursive()
        })?;
        Some(AlternateMappingUsed {
            path: fs.path.clone(),
            filespec: fs.filespec.clone(),
            recursive: fs.recursive,
            destination: m.alternate_path.clone(),
            other_attributes: Vec::new(),
            other_children: Vec::new(),
        })
    }

    /// Reads what the backup holds for a planned file and resolves its destinations.
    pub(super) fn prepare(
        &self,
        u: &Unit,
        pf: &PlannedFile,
        report: usize,
    ) -> Result<Job, ComponentError> {
        let fail = |e: FileError| u.who().file(&pf.source, e);
        let info = self
            .host
            .backup
            .stat(&pf.source)
            .map_err(|e| fail(FileError::Backup(e)))?
            .ok_or_else(|| fail(FileError::NotInBackup))?;
        let (raw, mut content) = match &pf.destination {
            Destination::Original => (pf.source.clone(), Content::Whole),
            Destination::AlternateMapping(s) | Destination::NewTarget(s) => {
                (s.clone(), Content::Whole)
            }
            Destination::Directed(d) => {
                let parse = |s: &str| {
                    parse_range_list(s).map_err(|e| {
                        fail(FileError::DirectedRanges {
                            ranges: s.to_owned(),
                            source: e,
                        })
                    })
                };
                let src = parse(&d.source_ranges)?;
                let dst = parse(&d.destination_ranges)?;
                let pairs = vss_model::ranges::pair_directed(&src, &dst, Some(info.len))
                    .map_err(|e| fail(FileError::Directed(e)))?;
                (d.path.clone(), Content::Directed(pairs))
            }
        };
        let mut ranges_file = None;
        if let Some(p) = &pf.partial {
            let ranges = match p {
                PartialRanges::List(r) => r.clone(),
                PartialRanges::File(path) => {
                    let rf = self
                        .host
                        .backup
                        .stat(path)
                        .map_err(|e| fail(FileError::RangesFileRead(e)))?
                        .ok_or_else(|| fail(FileError::RangesFileMissing { path: path.clone() }))?;
                    // 8 + 16·count bytes; a million ranges is far beyond any real writer.
                    if rf.len > MAX_RANGES_FILE {
                        return Err(fail(FileError::RangesFileTooLarge {
                            path: path.clone(),
                            len: rf.len,
                            max: MAX_RANGES_FILE,
                        }));
                    }
                    let mut bytes = vec![0u8; usize::try_from(rf.len).unwrap_or(0)];
                    self.host
                        .backup
                        .read(path, 0, &mut bytes)
                        .map_err(|e| fail(FileError::RangesFileRead(e)))?;
                    let r = parse_ranges_file(&bytes).map_err(|e| {
                        fail(FileError::RangesFileBad {
                            path: path.clone(),
                            source: e,
                        })
                    })?;
                    ranges_file = Some((path.clone(), rf));
                    r
                }
            };
            let need: u64 = ranges.iter().map(|r| r.length).sum();
            if need != info.len {
                return Err(fail(FileError::PartialLength {
                    backup_bytes: info.len,
                    ranges_bytes: need,
                }));
            }
            if matches!(content, Content::Whole) {
                content = Content::Partial(ranges);
            }
        }
        if let Some(r) = &info.reparse {
            let tag = platform::reparse::tag(r);
            if !matches!(content, Content::Whole) {
                return Err(fail(FileError::ReparseByRanges));
            }
            content = if tag == Some(IO_REPARSE_TAG_DEDUP) {
                if self.host.chunk_store.is_none() {
                    return Err(fail(FileError::NoChunkStore));
                }
                Content::Dedup(r.clone())
            } else {
                Content::Reparse(r.clone())
            };
        }
        let dest = resolve(self.v(), self.host.drive, &raw)
            .map_err(|e| fail(FileError::DestinationRefused(e)))?;
        let fallback = pf.fallback.as_ref().map(|f| {
            resolve(self.v(), self.host.drive, f).map_err(|e| fail(FileError::AlternateRefused(e)))
        });
        let mapping = match &pf.destination {
            Destination::AlternateMapping(_) => self.mapping_for(u, pf),
            _ => None,
        };
        let fallback_mapping = pf.fallback.as_ref().and_then(|_| self.mapping_for(u, pf));
        Ok(Job {
            source: pf.source.clone(),
            info,
            content,
            dest,
            fallback,
            mapping,
            fallback_mapping,
            ranges_file,
            report,
        })
    }
}
