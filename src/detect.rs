//! Container instances from pod status.
