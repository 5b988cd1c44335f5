//! Deadlines: how long one request may take ([`Limit`]), and the single
//! deadline that all of its attempts, redirects and waits spend. Knows no
//! request and no API.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::transport::failure::Failure;

/// How long one request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The client's read timeout.
    Default,
    /// This long.
    Within(Duration),
    /// As long as it takes (a watch without timeout).
    Unlimited,
}

impl Limit {
    /// When something started now under this limit must be over;
    /// `read_timeout` is what [`Limit::Default`] means.
    pub fn deadline(self, read_timeout: Duration) -> Option<Instant> {
        match self {
            Limit::Default => Some(Instant::now() + read_timeout),
            Limit::Within(d) => Some(Instant::now() + d),
            Limit::Unlimited => None,
        }
    }
}

/// What is left of `deadline` as a limit; a spent one is a timeout of a
/// request that was not sent (to `endpoint`, which the error names).
pub(crate) fn remaining(
    deadline: Option<Instant>,
    endpoint: &str,
) -> std::result::Result<Limit, Failure> {
    let Some(deadline) = deadline else {
        return Ok(Limit::Unlimited);
    };
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(Limit::Within(left)),
        _ => Err(Failure::NotSent(Error::Timeout {
            endpoint: endpoint.to_owned(),
        })),
    }
}
