//! `SimServices`: a service control manager with state, for the VSS restore executor's
//! stop/restore/start method; and `SimWriters`: VSS writers that record their events.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use platform::{
    ComponentRef, FileRestoreStatus, ServiceError, ServiceState, Services, WriterError, Writers,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One control request as [`SimServices`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceEvent {
    /// `stop(name)` changed the state from running (or paused) to stopped.
    Stopped(String),
    /// `start(name)` changed the state from stopped to running.
    Started(String),
    /// A request failed (injected failure or unknown service).
    Failed {
        /// The service.
        name: String,
        /// "stop" or "start".
        request: &'static str,
    },
}

#[derive(Debug, Clone)]
struct Service {
    name: String,
    state: ServiceState,
    fail_stop: bool,
    fail_start: bool,
}

/// Services with state. Names are case-insensitive. Every effective change and every failure
/// is recorded in [`SimServices::events`].
#[derive(Debug, Default)]
pub struct SimServices {
    services: Mutex<BTreeMap<String, Service>>,
    events: Mutex<Vec<ServiceEvent>>,
}

impl SimServices {
    /// No services.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a service in `state`.
    pub fn add(&self, name: &str, state: ServiceState) {
        lock(&self.services).insert(
            name.to_uppercase(),
            Service {
                name: name.to_owned(),
                state,
                fail_stop: false,
                fail_start: false,
            },
        );
    }

    /// Makes later `stop` / `start` requests of `name` fail (`true`) or work again (`false`).
    pub fn set_failures(&self, name: &str, fail_stop: bool, fail_start: bool) {
        if let Some(s) = lock(&self.services).get_mut(&name.to_uppercase()) {
            s.fail_stop = fail_stop;
            s.fail_start = fail_start;
        }
    }

    /// What happened so far, in order.
    #[must_use]
    pub fn events(&self) -> Vec<ServiceEvent> {
        lock(&self.events).clone()
    }

    fn control(&self, name: &str, start: bool) -> Result<(), ServiceError> {
        let mut services = lock(&self.services);
        let request = if start { "start" } else { "stop" };
        let Some(s) = services.get_mut(&name.to_uppercase()) else {
            lock(&self.events).push(ServiceEvent::Failed {
                name: name.to_owned(),
                request,
            });
            return Err(ServiceError::NotFound {
                name: name.to_owned(),
            });
        };
        if (start && s.fail_start) || (!start && s.fail_stop) {
            lock(&self.events).push(ServiceEvent::Failed {
                name: s.name.clone(),
                request,
            });
            return Err(ServiceError::Failed {
                name: s.name.clone(),
                reason: format!("injected failure of {request}"),
            });
        }
        let target = if start {
            ServiceState::Running
        } else {
            ServiceState::Stopped
        };
        if s.state != target {
            s.state = target;
            lock(&self.events).push(if start {
                ServiceEvent::Started(s.name.clone())
            } else {
                ServiceEvent::Stopped(s.name.clone())
            });
        }
        Ok(())
    }
}

impl Services for SimServices {
    fn query(&self, name: &str) -> Result<ServiceState, ServiceError> {
        lock(&self.services)
            .get(&name.to_uppercase())
            .map(|s| s.state)
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

/// One writer event as [`SimWriters`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterEvent {
    /// PreRestore of a component.
    PreRestore(ComponentRef),
    /// PostRestore of a component with the status the requester set.
    PostRestore(ComponentRef, FileRestoreStatus),
}

/// VSS writers that record every PreRestore/PostRestore event and can be told to fail one
/// component's PreRestore.
#[derive(Debug, Default)]
pub struct SimWriters {
    events: Mutex<Vec<WriterEvent>>,
    fail_pre_restore: Mutex<Vec<ComponentRef>>,
}

impl SimWriters {
    /// Writers that accept everything.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes PreRestore of `component` fail (as a writer vetoing the restore).
    pub fn fail_pre_restore(&self, component: ComponentRef) {
        lock(&self.fail_pre_restore).push(component);
    }

    /// Events so far, in order.
    #[must_use]
    pub fn events(&self) -> Vec<WriterEvent> {
        lock(&self.events).clone()
    }
}

impl Writers for SimWriters {
    fn pre_restore(&self, component: &ComponentRef) -> Result<(), WriterError> {
        lock(&self.events).push(WriterEvent::PreRestore(component.clone()));
        if lock(&self.fail_pre_restore).contains(component) {
            return Err(WriterError {
                writer_id: component.writer_id.clone(),
                logical_path: component.logical_path.clone(),
                name: component.name.clone(),
                reason: "VSS_E_WRITERERROR_RETRYABLE (injected)".to_owned(),
            });
        }
        Ok(())
    }

    fn post_restore(
        &self,
        component: &ComponentRef,
        status: FileRestoreStatus,
    ) -> Result<(), WriterError> {
        lock(&self.events).push(WriterEvent::PostRestore(component.clone(), status));
        Ok(())
    }
}
