//! podmortem keeps a durable record of every container exit in a Kubernetes cluster and explains
//! why each one happened, with the evidence.
//!
//! The modules follow the data path: sources ([`objects`], [`kubelet`]) produce observations,
//! the pure core ([`detect`], [`assemble`], [`diagnose`]) turns them into [`model::Termination`]
//! records, and sinks ([`store`], the CLI) keep and show them. Core modules import nothing from
//! `store` or `cli`.

pub mod assemble;
pub mod cli;
pub mod cluster;
pub mod detect;
pub mod diagnose;
pub mod kubelet;
pub mod merge;
pub mod model;
pub mod objects;
pub mod server;
pub mod store;
