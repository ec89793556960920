//! Diagnosis of container exits: cause rules, exit codes and signals, key-line finders.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

/// What the rules may consult besides the record itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The pod the instance ran in, when its object is known.
    pub pod: Option<&'a Pod>,
    /// The Job that controls the pod, when known.
    pub job: Option<&'a Job>,
}

/// Returns the name of a Linux signal number.
pub fn signal_name(number: i64) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    let index = usize::try_from(number.checked_sub(1)?).ok()?;
    NAMES.get(index).copied()
}

/// Returns the signal that ended a process whose exit code is 128 + n.
pub fn signal_from_exit_code(exit_code: i64) -> Option<&'static str> {
    if exit_code <= 128 || exit_code >= 255 {
        return None;
    }
    signal_name(exit_code - 128)
}
