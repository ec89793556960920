//! Linux signal names, and the signal behind an exit code of the form 128 + n.
//!
//! Numbers are those of the Linux generic and x86 ABIs (`asm-generic/signal.h`), which
//! amd64 and arm64 nodes share. Real-time signals 34..=64 carry the names `kill -l` prints
//! with glibc, which keeps 32 and 33 for its own threads; those two are named `SIG32` and
//! `SIG33`. A shell reports a child killed by signal n as exit status 128 + n, and container
//! runtimes (runc, crun) report the same form in `terminated.exitCode`.

/// Largest Linux signal number (`SIGRTMAX`, `_NSIG - 1`).
pub const MAX_SIGNAL: i64 = 64;

/// Names of signals 1..=64, indexed by number minus one.
const SIGNAL_NAMES: [&str; 64] = [
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
    "SIG32",
    "SIG33",
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMAX-14",
    "SIGRTMAX-13",
    "SIGRTMAX-12",
    "SIGRTMAX-11",
    "SIGRTMAX-10",
    "SIGRTMAX-9",
    "SIGRTMAX-8",
    "SIGRTMAX-7",
    "SIGRTMAX-6",
    "SIGRTMAX-5",
    "SIGRTMAX-4",
    "SIGRTMAX-3",
    "SIGRTMAX-2",
    "SIGRTMAX-1",
    "SIGRTMAX",
];

/// Returns the name of Linux signal `number` (`"SIGKILL"` for 9), or `None` outside 1..=64.
pub fn signal_name(number: i64) -> Option<&'static str> {
    if !(1..=MAX_SIGNAL).contains(&number) {
        return None;
    }
    let index = usize::try_from(number - 1).ok()?;
    SIGNAL_NAMES.get(index).copied()
}

/// Returns the number of a signal given by name, with or without the `SIG` prefix and in any
/// case (`"kill"`, `"SIGKILL"`), including the aliases `SIGIOT`, `SIGPOLL` and `SIGCLD`.
pub fn signal_number(name: &str) -> Option<i64> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let alias = match bare {
        "IOT" => Some(6),
        "POLL" => Some(29),
        "CLD" => Some(17),
        _ => None,
    };
    if alias.is_some() {
        return alias;
    }

    let position = SIGNAL_NAMES
        .iter()
        .position(|known| known.strip_prefix("SIG") == Some(bare))?;
    i64::try_from(position).ok().map(|index| index + 1)
}

/// Returns the signal behind an exit code of the form 128 + n (`Some("SIGKILL")` for
/// 137), for 129..=192 only.
///
/// 128 itself is not "signal 0": containerd and Docker report it when the process could not
/// be started. 255 is not a signal either, because klog's fatal (`F`) lines and `exit(-1)`
/// both end a process with 255. Codes below 128 are the program's own exit status.
pub fn signal_from_exit_code(exit_code: i64) -> Option<&'static str> {
    if !(129..=128 + MAX_SIGNAL).contains(&exit_code) {
        return None;
    }
    signal_name(exit_code - 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_of_common_numbers() {
        let table = [
            (1, "SIGHUP"),
            (2, "SIGINT"),
            (6, "SIGABRT"),
            (9, "SIGKILL"),
            (11, "SIGSEGV"),
            (15, "SIGTERM"),
            (31, "SIGSYS"),
            (34, "SIGRTMIN"),
            (64, "SIGRTMAX"),
        ];
        for (number, name) in table {
            assert_eq!(signal_name(number), Some(name), "signal {number}");
        }
    }

    #[test]
    fn signal_name_rejects_out_of_range() {
        for number in [-9, 0, 65, 128, i64::MAX, i64::MIN] {
            assert_eq!(signal_name(number), None, "signal {number}");
        }
    }

    #[test]
    fn signal_from_exit_code_table() {
        let table = [
            (129, Some("SIGHUP")),
            (130, Some("SIGINT")),
            (134, Some("SIGABRT")),
            (137, Some("SIGKILL")),
            (139, Some("SIGSEGV")),
            (143, Some("SIGTERM")),
            (192, Some("SIGRTMAX")),
            (128, None),
            (193, None),
            (255, None),
            (127, None),
            (9, None),
            (0, None),
            (-1, None),
            (3_221_225_477, None),
        ];
        for (code, expected) in table {
            assert_eq!(signal_from_exit_code(code), expected, "exit code {code}");
        }
    }

    #[test]
    fn signal_number_accepts_names_and_aliases() {
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("term"), Some(15));
        assert_eq!(signal_number("SIGIOT"), Some(6));
        assert_eq!(signal_number("RTMIN+1"), Some(35));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_number(""), None);
    }

    #[test]
    fn every_number_round_trips_by_name() {
        for number in 1..=MAX_SIGNAL {
            let name = signal_name(number).unwrap();
            assert_eq!(signal_number(name), Some(number), "{name}");
        }
    }
}
