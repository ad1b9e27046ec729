//! [`WinServices`]: [`platform::Services`] on the Service Control Manager.

use std::ptr;
use std::time::Duration;

use platform::{ServiceError, ServiceState, Services};
use windows_sys::Win32::Foundation::GetLastError;
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, OpenSCManagerW, OpenServiceW, QueryServiceStatusEx,
    SC_HANDLE, SC_MANAGER_CONNECT, SC_STATUS_PROCESS_INFO, SERVICE_CONTROL_STOP,
    SERVICE_QUERY_STATUS, SERVICE_START, SERVICE_STATUS, SERVICE_STATUS_PROCESS, SERVICE_STOP,
    StartServiceW,
};

use crate::errors::{code, service_from_win32};
use crate::paths::wide;
use crate::svcwait::{self, Status};

fn last_error() -> u32 {
    // SAFETY: no preconditions.
    unsafe { GetLastError() }
}

struct Sc(SC_HANDLE);

impl Drop for Sc {
    fn drop(&mut self) {
        // SAFETY: a handle from OpenSCManagerW/OpenServiceW, closed once.
        unsafe { CloseServiceHandle(self.0) };
    }
}

/// The local Service Control Manager. `stop`/`start` wait (polling as the SCM documentation
/// recommends) until the service reports the state, or fail after [`WinServices::timeout`].
/// Stopping and starting need an administrator; querying does not.
#[derive(Debug, Clone)]
pub struct WinServices {
    timeout: Duration,
    min_poll: Duration,
}

impl Default for WinServices {
    fn default() -> Self {
        Self::new(Duration::from_mins(1))
    }
}

impl WinServices {
    /// Waits at most `timeout` for each stop or start.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            min_poll: Duration::from_millis(250),
        }
    }

    /// The wait limit of `stop` and `start`.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn open(name: &str, access: u32) -> Result<Sc, ServiceError> {
        // SAFETY: NULL machine and database name select the local active database.
        let scm = unsafe { OpenSCManagerW(ptr::null(), ptr::null(), SC_MANAGER_CONNECT) };
        if scm.is_null() {
            return Err(service_from_win32(last_error(), name, "OpenSCManagerW"));
        }
        let scm = Sc(scm);
        let w = wide(name);
        // SAFETY: open SCM handle; `w` NUL-terminated.
        let svc = unsafe { OpenServiceW(scm.0, w.as_ptr(), access) };
        if svc.is_null() {
            return Err(service_from_win32(last_error(), name, "OpenServiceW"));
        }
        Ok(Sc(svc))
    }

    fn status(svc: &Sc, name: &str) -> Result<Status, ServiceError> {
        let mut s = SERVICE_STATUS_PROCESS::default();
        let mut needed = 0u32;
        // SAFETY: open service handle with SERVICE_QUERY_STATUS; the buffer is a
        // SERVICE_STATUS_PROCESS of the size passed.
        let ok = unsafe {
            QueryServiceStatusEx(
                svc.0,
                SC_STATUS_PROCESS_INFO,
                (&raw mut s).cast::<u8>(),
                size_of::<SERVICE_STATUS_PROCESS>() as u32,
                &raw mut needed,
            )
        };
        if ok == 0 {
            return Err(service_from_win32(
                last_error(),
                name,
                "QueryServiceStatusEx",
            ));
        }
        let state =
            svcwait::state_from_win32(s.dwCurrentState).ok_or_else(|| ServiceError::Failed {
                name: name.to_owned(),
                reason: format!("unknown service state {}", s.dwCurrentState),
            })?;
        Ok(Status {
            state,
            wait_hint_ms: s.dwWaitHint,
            checkpoint: s.dwCheckPoint,
        })
    }
}

impl Services for WinServices {
    fn query(&self, name: &str) -> Result<ServiceState, ServiceError> {
        let svc = Self::open(name, SERVICE_QUERY_STATUS)?;
        Ok(Self::status(&svc, name)?.state)
    }

    fn stop(&self, name: &str) -> Result<(), ServiceError> {
        let svc = Self::open(name, SERVICE_STOP | SERVICE_QUERY_STATUS)?;
        let now = Self::status(&svc, name)?;
        if now.state == ServiceState::Stopped {
            return Ok(());
        }
        if now.state != ServiceState::StopPending {
            let mut st = SERVICE_STATUS::default();
            // SAFETY: open service handle with SERVICE_STOP; `st` writable.
            if unsafe { ControlService(svc.0, SERVICE_CONTROL_STOP, &raw mut st) } == 0 {
                let e = last_error();
                if e != code::SERVICE_NOT_ACTIVE {
                    return Err(service_from_win32(e, name, "ControlService(STOP)"));
                }
            }
        }
        svcwait::wait_for(
            name,
            ServiceState::Stopped,
            self.timeout,
            self.min_poll,
            || Self::status(&svc, name),
        )
    }

    fn start(&self, name: &str) -> Result<(), ServiceError> {
        let svc = Self::open(name, SERVICE_START | SERVICE_QUERY_STATUS)?;
        let now = Self::status(&svc, name)?;
        if now.state == ServiceState::Running {
            return Ok(());
        }
        if now.state != ServiceState::StartPending {
            // SAFETY: open service handle with SERVICE_START; no arguments.
            if unsafe { StartServiceW(svc.0, 0, ptr::null()) } == 0 {
                let e = last_error();
                if e != code::SERVICE_ALREADY_RUNNING {
                    return Err(service_from_win32(e, name, "StartServiceW"));
                }
            }
        }
        svcwait::wait_for(
            name,
            ServiceState::Running,
            self.timeout,
            self.min_poll,
            || Self::status(&svc, name),
        )
    }
}
