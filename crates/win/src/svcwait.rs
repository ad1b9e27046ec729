//! Waiting for a service to reach a state: the polling loop the Service Control Manager
//! documentation recommends ("Starting a Service" / "Stopping a Service": poll
//! `QueryServiceStatusEx`, sleep a tenth of `dwWaitHint` clamped to 1–10 s, give up when the
//! overall timeout passes). Pure Rust; the SCM query is passed in, so it is tested everywhere.

use std::time::{Duration, Instant};

use platform::{ServiceError, ServiceState};

/// What one status query reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `dwCurrentState`.
    pub state: ServiceState,
    /// `dwWaitHint` in milliseconds.
    pub wait_hint_ms: u32,
    /// `dwCheckPoint`.
    pub checkpoint: u32,
}

/// `SERVICE_STATUS.dwCurrentState` values (`winsvc.h`) as a [`ServiceState`]. The two states the
/// platform enum lacks are folded into the nearest: `SERVICE_CONTINUE_PENDING` (5) is reported
/// as `StartPending` (it ends in `Running`) and `SERVICE_PAUSE_PENDING` (6) as `Paused`.
#[must_use]
pub fn state_from_win32(current_state: u32) -> Option<ServiceState> {
    Some(match current_state {
        1 => ServiceState::Stopped,
        2 | 5 => ServiceState::StartPending,
        3 => ServiceState::StopPending,
        4 => ServiceState::Running,
        6 | 7 => ServiceState::Paused,
        _ => return None,
    })
}

/// Sleep between polls for a wait hint: a tenth of it, at least `min` and at most 10 s.
#[must_use]
pub fn poll_interval(wait_hint_ms: u32, min: Duration) -> Duration {
    Duration::from_millis(u64::from(wait_hint_ms / 10)).clamp(min, Duration::from_secs(10).max(min))
}

/// Polls `query` until the service is in `target` or `timeout` has passed (then
/// [`ServiceError::Failed`] naming the last state). A service that falls back to `Stopped` while
/// starting is a failure at once (it stopped itself).
pub fn wait_for(
    name: &str,
    target: ServiceState,
    timeout: Duration,
    min_poll: Duration,
    mut query: impl FnMut() -> Result<Status, ServiceError>,
) -> Result<(), ServiceError> {
    let start = Instant::now();
    let mut last = query()?;
    loop {
        if last.state == target {
            return Ok(());
        }
        if target == ServiceState::Running && last.state == ServiceState::Stopped {
            return Err(ServiceError::Failed {
                name: name.to_owned(),
                reason: "the service stopped while starting".into(),
            });
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(ServiceError::Failed {
                name: name.to_owned(),
                reason: format!(
                    "did not reach {target:?} within {timeout:?} (still {:?}, checkpoint {})",
                    last.state, last.checkpoint
                ),
            });
        }
        std::thread::sleep(
            poll_interval(last.wait_hint_ms, min_poll).min(timeout.saturating_sub(elapsed)),
        );
        last = query()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: ServiceState) -> Status {
        Status {
            state,
            wait_hint_ms: 0,
            checkpoint: 0,
        }
    }

    #[test]
    fn states() {
        assert_eq!(state_from_win32(1), Some(ServiceState::Stopped));
        assert_eq!(state_from_win32(2), Some(ServiceState::StartPending));
        assert_eq!(state_from_win32(3), Some(ServiceState::StopPending));
        assert_eq!(state_from_win32(4), Some(ServiceState::Running));
        assert_eq!(state_from_win32(5), Some(ServiceState::StartPending));
        assert_eq!(state_from_win32(6), Some(ServiceState::Paused));
        assert_eq!(state_from_win32(7), Some(ServiceState::Paused));
        assert_eq!(state_from_win32(0), None);
        assert_eq!(state_from_win32(8), None);
    }

    #[test]
    fn intervals() {
        let min = Duration::from_secs(1);
        assert_eq!(poll_interval(0, min), min);
        assert_eq!(poll_interval(30_000, min), Duration::from_secs(3));
        assert_eq!(poll_interval(600_000, min), Duration::from_secs(10));
    }

    #[test]
    fn waits_through_pending_states() {
        let mut seq = vec![
            st(ServiceState::StopPending),
            st(ServiceState::StopPending),
            st(ServiceState::Stopped),
        ]
        .into_iter();
        let mut calls = 0;
        wait_for(
            "svc",
            ServiceState::Stopped,
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                calls += 1;
                Ok(seq.next().unwrap())
            },
        )
        .unwrap();
        assert_eq!(calls, 3);
    }

    #[test]
    fn times_out_naming_the_state() {
        let e = wait_for(
            "svc",
            ServiceState::Running,
            Duration::from_millis(30),
            Duration::from_millis(5),
            || Ok(st(ServiceState::StartPending)),
        )
        .unwrap_err();
        match e {
            ServiceError::Failed { name, reason } => {
                assert_eq!(name, "svc");
                assert!(reason.contains("still StartPending"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_service_that_stops_while_starting_fails_at_once() {
        let mut n = 0;
        let e = wait_for(
            "svc",
            ServiceState::Running,
            Duration::from_secs(30),
            Duration::from_millis(1),
            || {
                n += 1;
                Ok(st(if n == 1 {
                    ServiceState::StartPending
                } else {
                    ServiceState::Stopped
                }))
            },
        )
        .unwrap_err();
        assert!(
            matches!(e, ServiceError::Failed { reason, .. } if reason.contains("stopped while starting"))
        );
        assert_eq!(n, 2);
    }

    #[test]
    fn query_errors_end_the_wait() {
        let e = wait_for(
            "gone",
            ServiceState::Stopped,
            Duration::from_secs(1),
            Duration::from_millis(1),
            || {
                Err(ServiceError::NotFound {
                    name: "gone".into(),
                })
            },
        )
        .unwrap_err();
        assert!(matches!(e, ServiceError::NotFound { .. }));
    }
}
