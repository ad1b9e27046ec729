//! Rename at reboot: the `PendingFileRenameOperations` list kept as a text file under the
//! root, and [`HostVolume::apply_pending_renames`], which does what the next boot would.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::PoisonError;

use super::{HostVolume, PENDING_FILE, STATE_DIR};
use crate::{Error, PendingRename, WinPath};

/// Result of one operation of [`HostVolume::apply_pending_renames`].
#[derive(Debug)]
pub struct PendingOutcome {
    /// The operation.
    pub op: PendingRename,
    /// `None` if it was carried out, else why not.
    pub error: Option<Error>,
}

impl HostVolume {
    pub(super) fn state_path(&self) -> (WinPath, PathBuf) {
        let wp = WinPath::root()
            .join(STATE_DIR)
            .and_then(|p| p.join(PENDING_FILE))
            .unwrap_or_else(|_| WinPath::root());
        (wp, self.root.join(STATE_DIR).join(PENDING_FILE))
    }

    /// Carries out the pending reboot operations in order, as the next boot would (failures are
    /// reported per operation and do not stop the others), then clears the list. Call it with
    /// no handles open, as after a reboot.
    pub fn apply_pending_renames(&self) -> Result<Vec<PendingOutcome>, Error> {
        let _guard = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ops = self.read_pending()?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let r = op.carry_out(self);
            out.push(PendingOutcome { op, error: r.err() });
        }
        let (wp, host) = self.state_path();
        match fs::remove_file(&host) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::from_io(&wp, e)),
        }
        Ok(out)
    }

    pub(super) fn read_pending(&self) -> Result<Vec<PendingRename>, Error> {
        let (wp, host) = self.state_path();
        let text = match fs::read_to_string(&host) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::from_io(&wp, e)),
        };
        let bad = |reason: &str| Error::Io {
            path: wp.clone(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed pending-rename list: {reason}"),
            ),
        };
        let mut lines = text.lines();
        let mut ops = Vec::new();
        while let Some(src) = lines.next() {
            let dst = lines
                .next()
                .ok_or_else(|| bad("source without a destination line"))?;
            let source = WinPath::new(src).map_err(|_| bad("invalid source path"))?;
            let (replace_existing, dst) = match dst.strip_prefix('!') {
                Some(d) => (true, d),
                None => (false, dst),
            };
            let destination = if dst.is_empty() {
                None
            } else {
                Some(WinPath::new(dst).map_err(|_| bad("invalid destination path"))?)
            };
            ops.push(PendingRename {
                source,
                destination,
                replace_existing,
            });
        }
        Ok(ops)
    }

    /// Appends `op` to the list ([`Volume::add_pending_rename`]).
    pub(super) fn append_pending(&self, op: &PendingRename) -> Result<(), Error> {
        let _guard = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (wp, host) = self.state_path();
        if let Some(dir) = host.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::from_io(&wp, e))?;
        }
        let dst = match &op.destination {
            None => String::new(),
            Some(d) if op.replace_existing => format!("!{d}"),
            Some(d) => d.to_string(),
        };
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&host)
            .map_err(|e| Error::from_io(&wp, e))?;
        writeln!(f, "{}\n{dst}", op.source).map_err(|e| Error::from_io(&wp, e))?;
        f.sync_data().map_err(|e| Error::from_io(&wp, e))
    }

    /// The list as it stands ([`Volume::pending_renames`]).
    pub(super) fn list_pending(&self) -> Result<Vec<PendingRename>, Error> {
        let _guard = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.read_pending()
    }
}
