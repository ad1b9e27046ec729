//! # Rules and their sources
//!
//! Every rule the executor follows, with the Microsoft documentation it comes from, and every
//! choice the project made where that documentation is silent (marked **Choice**). The
//! research behind them, with confidence marks, is `docs/vss-restore.md`; the tests
//! that hold the executor to them are `tests/decision_table.rs`, `tests/documented_rules.rs`
//! and, from the command line, `crates/cli/tests/vss_decision_table.rs` (method × target ×
//! disk state × mapping × reboot).
//!
//! Sources (learn.microsoft.com, Win32 VSS documentation):
//! * \[RM\] `VSS_RESTOREMETHOD_ENUM` (vswriter.h) and "Setting VSS Restore Methods";
//! * \[RT\] `VSS_RESTORE_TARGET` (vswriter.h) and "Setting VSS Restore Targets";
//! * \[RS\] `VSS_FILE_RESTORE_STATUS` (vswriter.h) and
//!   `IVssBackupComponents::SetFileRestoreStatus`;
//! * \[WRE\] `VSS_WRITERRESTORE_ENUM` (vswriter.h);
//! * \[AALM\] `IVssBackupComponents::AddAlternativeLocationMapping`;
//! * \[ALT\] "Working with Alternate Locations during Restore";
//! * \[DT\] "Working with Directed Targets";
//! * \[NOWR\] "Restores without Writer Participation";
//! * \[STOP\] "Stopping Services for Restore by Requestors";
//! * \[PREP\] "Overview of Preparing for Restore", \[FILE\] "Overview of Actual File Restoration";
//! * \[MFX\] `MoveFileEx` (`MOVEFILE_DELAY_UNTIL_REBOOT`).
//!
//! ## Sequence
//! * PreRestore, then the file copy, then PostRestore; the restore target, directed targets
//!   and failure messages writers set in PreRestore are read back before copying \[PREP\].
//! * `writerRestore`: `never` writers get no events; `ifReplaceFails` writers always get
//!   PreRestore and PostRestore only if the restore failed \[WRE\]. **Choice**: "failed" is a
//!   status other than ALL, whatever the method (PostRestore is per component).
//! * SetFileRestoreStatus for every component explicitly selected, between PreRestore and
//!   PostRestore \[RS\]: NONE after PreRestore, FAILED at the first change to the disk, ALL
//!   after the last byte (BETest's practice, docs/vss-restore.md §3.9).
//! * STOP_RESTORE_START: stop the writer's service after PreRestore, copy, start it before
//!   PostRestore \[RM, STOP\]. RESTORE_STOP_START: copy, PostRestore, then stop and start the
//!   service \[RM\]. **Choice**: RESTORE_STOP_START restarts only a component restored ALL; a
//!   service that will not stop leaves its component NONE, untouched.
//!
//! ## File restore status \[RS\]
//! * ALL: every file restored. NONE: no file restored, nothing left on disk. FAILED: some
//!   files left on disk.
//! * Every change to the volume has an undo, so a component that fails is rolled back and
//!   reported NONE; FAILED only when the rollback itself could not finish.
//! * When no file is written because every file already has a copy at its alternate location
//!   (RESTORE_IF_NOT_THERE), the status is NONE and the outcome `NotRestored` ("no files were
//!   restored"), not ALL (issue 18 item 3).
//!
//! ## Restore methods under the ORIGINAL target \[RM, RT\]
//! * ORIGINAL means "obey the restore method", not "restore in place" \[RT\].
//! * RESTORE_IF_NOT_THERE: if a version of any file of the component is on disk at its
//!   original location, none is restored there; with alternate location mappings the files go
//!   to the alternate location, each only if no version exists there \[RM\]. "A version on
//!   disk" is whatever occupies the path, a file or a directory (issue 18 item 1); checked
//!   with exclusive `CREATE_NEW` opens before anything is written (docs/vss-restore.md §3.2).
//! * RESTORE_IF_CAN_REPLACE: if any file cannot be overwritten, none is restored in place;
//!   with mappings all go to the alternate location \[RM\]. **Choice**: "cannot be
//!   overwritten" is an exclusive open (read, write, delete, no sharing) that fails: a file in
//!   use, a read-only file, a directory on the path (the documentation names files in use).
//! * RESTORE_AT_REBOOT: every file into a temporary file beside its destination, then a
//!   delayed rename with replace \[RM, MFX\]. RESTORE_AT_REBOOT_IF_CANNOT_REPLACE: in place if
//!   every file can be replaced, else **all** files staged for reboot \[RM\].
//!   **Choice**: staging does not check whether the rename will succeed at boot (a read-only
//!   file or a directory at the destination is not replaced by a rename; `MoveFileEx` does not
//!   check either); `rehydrate vss restore --reboot` reports each rename's outcome.
//! * RESTORE_TO_ALTERNATE_LOCATION: always to the mappings; a file set without one is a writer
//!   error \[RM, AALM\].
//! * CUSTOM: writer-specific \[RM\]; a writer with a custom method is generally not involved
//!   by a generic requester unless its documentation says so \[NOWR\]. **Choice**: without a
//!   registered [`crate::CustomHandler`] the writer is left out entirely — not selected for
//!   restore, no PreRestore, no status, no PostRestore — and the report says a custom restore
//!   is required (issue 18 item 6). A registered handler stands for that writer's
//!   documentation: the writer then takes part like any other.
//!
//! ## Restore targets \[RT\]
//! * ALTERNATE: every file to its alternate location mapping; a file set without one is a
//!   writer error (writers should set it only when every file has one) \[RT\]. **Choice**:
//!   replace semantics there (exclusive-open check, no further fallback).
//! * DIRECTED: the files the writer names with directed targets go to their directed
//!   destination, range by range \[DT\]. **Choice** (the documentation says nothing of a
//!   component's other files): they keep the component's restore method — under
//!   RESTORE_IF_NOT_THERE a present file is never overwritten (it goes to its mapping, or the
//!   component is not restored), under RESTORE_IF_CAN_REPLACE a file that cannot be replaced
//!   goes to its mapping when every such file has one (issue 18 item 4).
//! * ORIGINAL_LOCATION: to the backup-time location even for RESTORE_TO_ALTERNATE_LOCATION,
//!   without mapping fallback \[RT\].
//! * UNDEFINED: a writer error \[RT\].
//! * "Setting VSS Restore Targets" says reboot restores cannot be affected by targets, while
//!   \[RT\] says any target other than ORIGINAL overrides the method. **Choice**: the reboot
//!   methods keep staging, at the destination the target gives.
//!
//! ## Alternate location mappings \[AALM, ALT\]
//! * A mapping is the writer's, keyed by an exact (path, filespec, recursive) match with a
//!   component's file set; it replaces the path prefix, keeping names and subdirectories
//!   \[ALT\].
//! * AddAlternativeLocationMapping says a mapping "was used to restore" a file set \[AALM\];
//!   the writer reads it in PostRestore to find its files. It is recorded whenever a file is
//!   written through a mapping, whatever the method — by copy or staged for reboot (issue 18
//!   item 2) — and only then. **Choice**: a file set counts as restored through its mapping
//!   when at least one of its files was written there and the others were written there too
//!   or already had a copy there (RESTORE_IF_NOT_THERE never overwrites at the alternate
//!   location); a set none of whose files was written there records nothing (issue 18 item 3).
//!
//! ## Not modelled
//! Registry hives (`RegReplaceKey`), differenced files, restore options and dependencies: see
//! the crate README ("Not done yet").
