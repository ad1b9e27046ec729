//! VSS writers and the services behind them, built from real Writer Metadata Documents, for
//! testing the requester's restore executor (`vss-restore`).
//!
//! [`SimVss`] is one object that implements both [`platform::Writers`] and
//! [`platform::Services`], so that every event it receives lands in one ordered log
//! ([`SimVss::log`]) with a sequence number and the volume's write count at that moment (which
//! shows whether files were written before or after an event). From the WMDs it takes each
//! writer's id and components and, when `RESTORE_METHOD/@service` names one, a service that starts
//! out running.
//!
//! Behaviour a test can ask for:
//! * a running service holds files open ([`SimVss::lock_files`]), as a database server keeps
//!   its files open: they cannot be replaced until the service is stopped;
//! * a writer changes a component's restore target or adds directed targets in PreRestore
//!   ([`SimVss::on_pre_restore`]), or fails PreRestore / PostRestore
//!   ([`SimVss::fail_pre_restore`], [`SimVss::fail_post_restore`]);
//! * a writer checks the files on disk in PostRestore ([`SimVss::expect_on_disk`]): a mismatch
//!   while the requester reports `ALL` is recorded and fails PostRestore;
//! * the disk states a restore may meet, as `rehydrate vss restore --lock / --service-lock /
//!   --read-only` asks for them: a file in use by a process no restore method stops
//!   ([`SimVss::hold_open`]), by a writer's service ([`SimVss::service_holds_open`]), or
//!   read-only ([`SimVss::set_read_only`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use platform::{
    Access, ComponentRef, Disposition, FileHandle, FileRestoreStatus, OpenOptions,
    PreRestoreChanges, ServiceError, ServiceState, Services, ShareMode, Volume, WinPath,
    WriterError, Writers,
};
use vss_model::WriterMetadata;

use crate::SimVolume;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The service name under which [`SimVss::hold_open`] models a process no restore stops.
pub const OTHER_PROCESS: &str = "(another process)";

/// Something [`SimVss`] received or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VssEvent {
    /// PreRestore of a component.
    PreRestore(ComponentRef),
    /// PostRestore of a component, with the status the requester reported.
    PostRestore(ComponentRef, FileRestoreStatus),
    /// A service was stopped (it was running).
    ServiceStopped(String),
    /// A service was started (it was stopped).
    ServiceStarted(String),
    /// A stop or start request failed.
    ServiceFailed {
        /// The service.
        name: String,
        /// `"stop"` or `"start"`.
        request: &'static str,
    },
    /// The PostRestore check of on-disk state found a difference (`detail` says which file).
    CheckFailed {
        /// The component checked.
        component: ComponentRef,
        /// What differs.
        detail: String,
    },
    /// The PostRestore check of on-disk state found every expected file as expected.
    CheckPassed(ComponentRef),
}

/// One entry of [`SimVss::log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the log (0-based, increasing).
    pub seq: u64,
    /// `write_at` calls the volume had seen when the event happened.
    pub writes_before: u64,
    /// The event.
    pub event: VssEvent,
}

/// A writer known to [`SimVss`].
#[derive(Debug, Clone)]
struct SimWriter {
    writer_id: String,
    components: Vec<(String, String)>,
}

struct SimService {
    name: String,
    state: ServiceState,
    locked: Vec<(WinPath, ShareMode)>,
    handles: Vec<Box<dyn FileHandle>>,
    fail_stop: bool,
    fail_start: bool,
}

#[derive(Default)]
struct Behaviour {
    pre_changes: Vec<(ComponentRef, PreRestoreChanges)>,
    fail_pre: Vec<(ComponentRef, String)>,
    fail_post: Vec<(ComponentRef, String)>,
    expect: Vec<(ComponentRef, WinPath, Option<Vec<u8>>)>,
}

struct Inner {
    volume: SimVolume,
    writers: Vec<SimWriter>,
    services: Mutex<BTreeMap<String, SimService>>,
    behaviour: Mutex<Behaviour>,
    log: Mutex<Vec<LogEntry>>,
}

/// Simulated VSS writers and services (see the module docs). Clones share state.
#[derive(Clone)]
pub struct SimVss {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimVss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimVss")
            .field("writers", &self.inner.writers)
            .finish_non_exhaustive()
    }
}

fn same_id(a: &str, b: &str) -> bool {
    a.trim_matches(['{', '}'])
        .eq_ignore_ascii_case(b.trim_matches(['{', '}']))
}

fn same_component(a: &ComponentRef, b: &ComponentRef) -> bool {
    same_id(&a.writer_id, &b.writer_id)
        && a.logical_path
            .trim_matches('\\')
            .eq_ignore_ascii_case(b.logical_path.trim_matches('\\'))
        && a.name.eq_ignore_ascii_case(&b.name)
}

impl SimVss {
    /// Writers and services for `wmds` on `volume`: one writer per WMD (its writer id and
    /// components), one running service per distinct `RESTORE_METHOD/@service`.
    #[must_use]
    pub fn from_wmds(volume: &SimVolume, wmds: &[WriterMetadata]) -> Self {
        let mut writers = Vec::new();
        let mut services = BTreeMap::new();
        for w in wmds {
            let Some(id) = w.identification.as_ref() else {
                continue;
            };
            writers.push(SimWriter {
                writer_id: id.writer_id.to_string(),
                components: w
                    .components
                    .iter()
                    .map(|c| (c.logical_path.clone().unwrap_or_default(), c.name.clone()))
                    .collect(),
            });
            if let Some(name) = w.restore_method.as_ref().and_then(|r| r.service.clone()) {
                services.insert(
                    name.to_uppercase(),
                    SimService {
                        name,
                        state: ServiceState::Running,
                        locked: Vec::new(),
                        handles: Vec::new(),
                        fail_stop: false,
                        fail_start: false,
                    },
                );
            }
        }
        Self {
            inner: Arc::new(Inner {
                volume: volume.clone(),
                writers,
                services: Mutex::new(services),
                behaviour: Mutex::new(Behaviour::default()),
                log: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The log so far, in order.
    #[must_use]
    pub fn log(&self) -> Vec<LogEntry> {
        lock(&self.inner.log).clone()
    }

    /// The events so far, in order (the log without positions).
    #[must_use]
    pub fn events(&self) -> Vec<VssEvent> {
        lock(&self.inner.log)
            .iter()
            .map(|e| e.event.clone())
            .collect()
    }

    /// Whether `component` belongs to one of the writers (from the WMDs).
    #[must_use]
    pub fn knows(&self, component: &ComponentRef) -> bool {
        self.inner.writers.iter().any(|w| {
            same_id(&w.writer_id, &component.writer_id)
                && w.components.iter().any(|(lp, n)| {
                    lp.trim_matches('\\')
                        .eq_ignore_ascii_case(component.logical_path.trim_matches('\\'))
                        && n.eq_ignore_ascii_case(&component.name)
                })
        })
    }

    /// While `service` runs it holds `paths` open with read/write access and `share` (use
    /// [`ShareMode::READ`] for a database server). Files are opened now if the service is
    /// running (missing files are skipped) and again each time it starts.
    pub fn lock_files(&self, service: &str, paths: &[WinPath], share: ShareMode) {
        let mut services = lock(&self.inner.services);
        let s = services
            .entry(service.to_uppercase())
            .or_insert_with(|| SimService {
                name: service.to_owned(),
                state: ServiceState::Running,
                locked: Vec::new(),
                handles: Vec::new(),
                fail_stop: false,
                fail_start: false,
            });
        s.locked.extend(paths.iter().map(|p| (p.clone(), share)));
        if s.state == ServiceState::Running {
            s.handles.clear();
            acquire(&self.inner.volume, s);
        }
    }

    /// A process that no restore method stops holds `paths` open (read/write access, sharing
    /// reads only) until the simulated reboot ([`SimVolume::reboot`] closes every handle).
    /// It is modelled as a running service named [`OTHER_PROCESS`] that no writer names.
    ///
    /// # Errors
    /// A path that is not an existing file, or that could not be held open.
    pub fn hold_open(&self, paths: &[WinPath]) -> Result<(), platform::Error> {
        self.service_holds_open(OTHER_PROCESS, paths)
    }

    /// Like [`SimVss::lock_files`] with [`ShareMode::READ`], but each path must be an
    /// existing file that the service then really holds open.
    ///
    /// # Errors
    /// A path that is missing or a directory, or that could not be held open (a read-only
    /// file cannot be opened for writing; make it read-only after locking it).
    pub fn service_holds_open(
        &self,
        service: &str,
        paths: &[WinPath],
    ) -> Result<(), platform::Error> {
        let v = &self.inner.volume;
        for p in paths {
            if v.metadata(p)?.is_dir() {
                return Err(platform::Error::IsADirectory { path: p.clone() });
            }
        }
        self.lock_files(service, paths, ShareMode::READ);
        for p in paths {
            // Held open: an exclusive open must now fail.
            match v.open(
                p,
                OpenOptions::new(
                    Access::READ_WRITE,
                    ShareMode::ALL,
                    Disposition::OpenExisting,
                ),
            ) {
                Err(platform::Error::SharingViolation { .. }) => {}
                Ok(_) => {
                    return Err(platform::Error::Io {
                        path: p.clone(),
                        source: std::io::Error::other(format!(
                            "{service} could not hold the file open (is it read-only?)"
                        )),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sets the read-only attribute of the file `path` (writing, replacing or deleting it is
    /// then refused, as on NTFS).
    ///
    /// # Errors
    /// A path that is missing or a directory, or a file held open without sharing writes.
    pub fn set_read_only(&self, path: &WinPath) -> Result<(), platform::Error> {
        let h = self.inner.volume.open(
            path,
            OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::ALL,
                Disposition::OpenExisting,
            ),
        )?;
        let a = h.attributes()?;
        h.set_attributes(a | platform::attr::READONLY)
    }

    /// Adds a service (not named by any WMD) in `state`.
    pub fn add_service(&self, name: &str, state: ServiceState) {
        lock(&self.inner.services).insert(
            name.to_uppercase(),
            SimService {
                name: name.to_owned(),
                state,
                locked: Vec::new(),
                handles: Vec::new(),
                fail_stop: false,
                fail_start: false,
            },
        );
    }

    /// Makes later stop / start requests of `service` fail.
    pub fn set_service_failures(&self, service: &str, fail_stop: bool, fail_start: bool) {
        if let Some(s) = lock(&self.inner.services).get_mut(&service.to_uppercase()) {
            s.fail_stop = fail_stop;
            s.fail_start = fail_start;
        }
    }

    /// In PreRestore of `component`, the writer makes `changes` (restore target, directed
    /// targets).
    pub fn on_pre_restore(&self, component: ComponentRef, changes: PreRestoreChanges) {
        lock(&self.inner.behaviour)
            .pre_changes
            .push((component, changes));
    }

    /// PreRestore of `component` fails with `reason` (the writer's failure message).
    pub fn fail_pre_restore(&self, component: ComponentRef, reason: &str) {
        lock(&self.inner.behaviour)
            .fail_pre
            .push((component, reason.to_owned()));
    }

    /// PostRestore of `component` fails with `reason`.
    pub fn fail_post_restore(&self, component: ComponentRef, reason: &str) {
        lock(&self.inner.behaviour)
            .fail_post
            .push((component, reason.to_owned()));
    }

    /// In PostRestore of `component` with status `ALL`, the writer checks that `path` holds
    /// exactly `contents` (`None`: that it does not exist).
    pub fn expect_on_disk(
        &self,
        component: ComponentRef,
        path: WinPath,
        contents: Option<Vec<u8>>,
    ) {
        lock(&self.inner.behaviour)
            .expect
            .push((component, path, contents));
    }

    /// State of a service, if it exists.
    #[must_use]
    pub fn service_state(&self, name: &str) -> Option<ServiceState> {
        lock(&self.inner.services)
            .get(&name.to_uppercase())
            .map(|s| s.state)
    }

    fn record(&self, event: VssEvent) {
        let writes_before = self.inner.volume.io_counts().writes;
        let mut log = lock(&self.inner.log);
        let seq = log.len() as u64;
        log.push(LogEntry {
            seq,
            writes_before,
            event,
        });
    }

    fn error(component: &ComponentRef, reason: &str) -> WriterError {
        WriterError {
            writer_id: component.writer_id.clone(),
            logical_path: component.logical_path.clone(),
            name: component.name.clone(),
            reason: reason.to_owned(),
        }
    }

    fn check_disk(&self, component: &ComponentRef) -> Option<String> {
        let expect: Vec<(WinPath, Option<Vec<u8>>)> = lock(&self.inner.behaviour)
            .expect
            .iter()
            .filter(|(c, _, _)| same_component(c, component))
            .map(|(_, p, b)| (p.clone(), b.clone()))
            .collect();
        if expect.is_empty() {
            return None;
        }
        let v = &self.inner.volume;
        let mut bad = Vec::new();
        for (path, want) in &expect {
            let have = match v.read_file(path) {
                Ok(b) => Some(b),
                Err(platform::Error::NotFound { .. }) => None,
                Err(e) => {
                    bad.push(format!("{path}: {e}"));
                    continue;
                }
            };
            if &have != want {
                bad.push(match (want, have) {
                    (None, Some(_)) => format!("{path}: exists, expected absent"),
                    (Some(_), None) => format!("{path}: missing"),
                    _ => format!("{path}: contents differ"),
                });
            }
        }
        if bad.is_empty() {
            self.record(VssEvent::CheckPassed(component.clone()));
            None
        } else {
            let detail = bad.join("; ");
            self.record(VssEvent::CheckFailed {
                component: component.clone(),
                detail: detail.clone(),
            });
            Some(detail)
        }
    }

    fn control(&self, name: &str, start: bool) -> Result<(), ServiceError> {
        let request = if start { "start" } else { "stop" };
        let mut services = lock(&self.inner.services);
        let Some(s) = services.get_mut(&name.to_uppercase()) else {
            drop(services);
            self.record(VssEvent::ServiceFailed {
                name: name.to_owned(),
                request,
            });
            return Err(ServiceError::NotFound {
                name: name.to_owned(),
            });
        };
        if (start && s.fail_start) || (!start && s.fail_stop) {
            let n = s.name.clone();
            drop(services);
            self.record(VssEvent::ServiceFailed {
                name: n.clone(),
                request,
            });
            return Err(ServiceError::Failed {
                name: n,
                reason: format!("injected failure of {request}"),
            });
        }
        let target = if start {
            ServiceState::Running
        } else {
            ServiceState::Stopped
        };
        if s.state == target {
            return Ok(());
        }
        s.state = target;
        if start {
            acquire(&self.inner.volume, s);
        } else {
            s.handles.clear();
        }
        let n = s.name.clone();
        drop(services);
        self.record(if start {
            VssEvent::ServiceStarted(n)
        } else {
            VssEvent::ServiceStopped(n)
        });
        Ok(())
    }
}

fn acquire(volume: &SimVolume, s: &mut SimService) {
    for (path, share) in &s.locked {
        if let Ok(h) = volume.open(
            path,
            OpenOptions::new(Access::READ_WRITE, *share, Disposition::OpenExisting),
        ) {
            s.handles.push(h);
        }
    }
}

impl Writers for SimVss {
    fn pre_restore(&self, component: &ComponentRef) -> Result<(), WriterError> {
        self.pre_restore_changes(component).map(|_| ())
    }

    fn pre_restore_changes(
        &self,
        component: &ComponentRef,
    ) -> Result<PreRestoreChanges, WriterError> {
        self.record(VssEvent::PreRestore(component.clone()));
        if !self.knows(component) {
            return Err(Self::error(
                component,
                "VSS_E_OBJECT_NOT_FOUND: no such writer component",
            ));
        }
        let b = lock(&self.inner.behaviour);
        if let Some((_, reason)) = b
            .fail_pre
            .iter()
            .find(|(c, _)| same_component(c, component))
        {
            return Err(Self::error(component, reason));
        }
        let mut out = PreRestoreChanges::default();
        for (_, ch) in b
            .pre_changes
            .iter()
            .filter(|(c, _)| same_component(c, component))
        {
            if ch.restore_target.is_some() {
                out.restore_target.clone_from(&ch.restore_target);
            }
            out.directed_targets
                .extend(ch.directed_targets.iter().cloned());
        }
        Ok(out)
    }

    fn post_restore(
        &self,
        component: &ComponentRef,
        status: FileRestoreStatus,
    ) -> Result<(), WriterError> {
        self.record(VssEvent::PostRestore(component.clone(), status));
        if status == FileRestoreStatus::All
            && let Some(detail) = self.check_disk(component)
        {
            return Err(Self::error(
                component,
                &format!("on-disk check failed: {detail}"),
            ));
        }
        let reason = lock(&self.inner.behaviour)
            .fail_post
            .iter()
            .find(|(c, _)| same_component(c, component))
            .map(|(_, r)| r.clone());
        match reason {
            Some(r) => Err(Self::error(component, &r)),
            None => Ok(()),
        }
    }
}

impl Services for SimVss {
    fn query(&self, name: &str) -> Result<ServiceState, ServiceError> {
        self.service_state(name)
            .ok_or_else(|| ServiceError::NotFound {
                name: name.to_owned(),
            })
    }

    fn stop(&self, name: &str) -> Result<(), ServiceError> {
        self.control(name, false)
    }

    fn start(&self, name: &str) -> Result<(), ServiceError> {
        self.control(name, true)
    }
}
