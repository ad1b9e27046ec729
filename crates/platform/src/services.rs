//! Windows services, as the VSS restore executor needs them (`VSS_RME_STOP_RESTORE_START`:
//! stop the writer's service, restore, start it again).

/// State of a service (`SERVICE_STATUS.dwCurrentState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceState {
    /// `SERVICE_STOPPED`.
    Stopped,
    /// `SERVICE_START_PENDING`.
    StartPending,
    /// `SERVICE_STOP_PENDING`.
    StopPending,
    /// `SERVICE_RUNNING`.
    Running,
    /// `SERVICE_PAUSED`.
    Paused,
}

/// Error of a [`Services`] call; names the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No such service (ERROR_SERVICE_DOES_NOT_EXIST).
    #[error("service {name:?}: not found")]
    NotFound {
        /// Service name.
        name: String,
    },
    /// The caller may not control it.
    #[error("service {name:?}: access denied")]
    AccessDenied {
        /// Service name.
        name: String,
    },
    /// It did not reach the requested state.
    #[error("service {name:?}: {reason}")]
    Failed {
        /// Service name.
        name: String,
        /// What happened.
        reason: String,
    },
}

/// Service control. `stop` and `start` return once the service has reached the state (or
/// failed); stopping a stopped service and starting a running one succeed without effect.
/// Names are compared case-insensitively, as the service control manager does.
pub trait Services: Send + Sync {
    /// Current state.
    fn query(&self, name: &str) -> Result<ServiceState, ServiceError>;
    /// Stops the service.
    fn stop(&self, name: &str) -> Result<(), ServiceError>;
    /// Starts the service.
    fn start(&self, name: &str) -> Result<(), ServiceError>;
}
