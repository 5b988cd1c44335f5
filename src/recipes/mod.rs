//! Recipes built on the keys API: a fair distributed lock and leader
//! election.

pub(crate) mod election;
pub(crate) mod lock;
