//! Meanings of exit codes by themselves: shell conventions, signals, the runtime's own codes and
//! Windows NTSTATUS values.
//!
//! Sources of the conventions: bash and POSIX shells exit 126 when a command is found but not
//! executable and 127 when it is not found, and report death by signal n as 128 + n. runc and
//! containerd report 128 for a process that could not be started (`StartError`). Some runtimes
//! report -1 when they never read an exit status. Windows containers report the process exit
//! code, which for a crash is an NTSTATUS value (`ntstatus.h`). The value passes through 32-bit
//! fields, so 0xC0000005 arrives as 3221225477 or as -1073741819.

use serde::Serialize;

use super::signal::signal_from_exit_code;
use crate::model::CauseKind;

/// The meaning of one exit code, without any other context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExitCodeExplanation {
    /// The code as given.
    pub code: i64,
    /// The cause kind the code points to when nothing else is known.
    pub kind: CauseKind,
    /// The signal, for codes of the form 128 + n.
    pub signal: Option<SignalExit>,
    /// The NTSTATUS value, for codes of Windows containers.
    pub ntstatus: Option<NtStatus>,
    /// One sentence for a person.
    pub meaning: String,
    /// Facts that keep the code from being misread.
    pub notes: Vec<&'static str>,
}

/// A signal decoded from an exit code of the form 128 + n.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SignalExit {
    pub number: i64,
    pub name: &'static str,
}

/// A decoded Windows NTSTATUS exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NtStatus {
    /// The 32-bit value, shown in hex as `0xC0000005`.
    #[serde(serialize_with = "serialize_hex")]
    pub value: u32,
    /// The `ntstatus.h` name, such as `STATUS_ACCESS_VIOLATION`; `None` for unknown values.
    pub name: Option<&'static str>,
    /// Description of the status in words.
    pub description: &'static str,
}

impl NtStatus {
    /// Returns the value in the usual hex form, `0xC0000005`.
    pub fn hex(&self) -> String {
        format!("0x{:08X}", self.value)
    }
}

fn serialize_hex<S: serde::Serializer>(value: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("0x{value:08X}"))
}

/// Known NTSTATUS exit codes: value, name, description and the cause kind it points to.
const NTSTATUS_TABLE: &[(u32, &str, &str, CauseKind)] = &[
    (
        0x4001_0004,
        "DBG_TERMINATE_PROCESS",
        "the process was terminated from outside (debugger or TerminateProcess)",
        CauseKind::Killed,
    ),
    (
        0x8000_0003,
        "STATUS_BREAKPOINT",
        "a breakpoint or assertion trap was hit",
        CauseKind::Crashed,
    ),
    (
        0xC000_0005,
        "STATUS_ACCESS_VIOLATION",
        "access violation: the process read or wrote memory it does not own",
        CauseKind::Crashed,
    ),
    (
        0xC000_0017,
        "STATUS_NO_MEMORY",
        "not enough memory or page-file quota to complete the request",
        CauseKind::AppError,
    ),
    (
        0xC000_001D,
        "STATUS_ILLEGAL_INSTRUCTION",
        "the process executed an illegal instruction",
        CauseKind::Crashed,
    ),
    (
        0xC000_0022,
        "STATUS_ACCESS_DENIED",
        "access denied",
        CauseKind::AppError,
    ),
    (
        0xC000_007B,
        "STATUS_INVALID_IMAGE_FORMAT",
        "the executable or one of its DLLs is not a valid image for this platform",
        CauseKind::StartFailed,
    ),
    (
        0xC000_0094,
        "STATUS_INTEGER_DIVIDE_BY_ZERO",
        "integer division by zero",
        CauseKind::Crashed,
    ),
    (
        0xC000_00FD,
        "STATUS_STACK_OVERFLOW",
        "stack overflow",
        CauseKind::Crashed,
    ),
    (
        0xC000_0135,
        "STATUS_DLL_NOT_FOUND",
        "a DLL the executable needs was not found",
        CauseKind::StartFailed,
    ),
    (
        0xC000_0139,
        "STATUS_ENTRYPOINT_NOT_FOUND",
        "a function the executable imports was not found in its DLL",
        CauseKind::StartFailed,
    ),
    (
        0xC000_013A,
        "STATUS_CONTROL_C_EXIT",
        "the process was ended by CTRL+C or a console close request",
        CauseKind::Killed,
    ),
    (
        0xC000_0142,
        "STATUS_DLL_INIT_FAILED",
        "a DLL failed to initialize",
        CauseKind::StartFailed,
    ),
    (
        0xC000_0374,
        "STATUS_HEAP_CORRUPTION",
        "heap corruption",
        CauseKind::Crashed,
    ),
    (
        0xC000_0409,
        "STATUS_STACK_BUFFER_OVERRUN",
        "stack buffer overrun or fail-fast exit (`__fastfail`)",
        CauseKind::Crashed,
    ),
    (
        0xC000_0420,
        "STATUS_ASSERTION_FAILURE",
        "an assertion failed",
        CauseKind::Crashed,
    ),
    (
        0xC000_0602,
        "STATUS_FAIL_FAST_EXCEPTION",
        "fail-fast exception",
        CauseKind::Crashed,
    ),
    (
        0xE043_4352,
        "CLR unhandled exception",
        "an unhandled .NET Framework exception ended the process",
        CauseKind::AppError,
    ),
];

/// Explains an exit code: `explain_exit_code(137)` is SIGKILL, 3221225477 is an access
/// violation.
pub fn explain_exit_code(code: i64) -> ExitCodeExplanation {
    if let Some(ntstatus) = ntstatus_from_exit_code(code) {
        return explain_ntstatus(code, ntstatus);
    }
    if let Some(name) = signal_from_exit_code(code) {
        return explain_signal_exit(code, name);
    }

    let (kind, meaning) = match code {
        0 => (
            CauseKind::Completed,
            "success: the process exited normally".to_owned(),
        ),
        126 => (
            CauseKind::NotExecutable,
            "command found but not executable (shell convention: permission denied or not a \
             binary)"
                .to_owned(),
        ),
        127 => (
            CauseKind::CommandNotFound,
            "command not found (shell convention: the executable or interpreter is missing from \
             the image or `$PATH`)"
                .to_owned(),
        ),
        128 => (
            CauseKind::StartFailed,
            "the runtime could not start the process (containerd and Docker report 128 with \
             `StartError` or `ContainerCannotRun`); it is not signal 0"
                .to_owned(),
        ),
        255 => (
            CauseKind::AppError,
            "exit status 255: the program called `exit(-1)` or logged a fatal error (klog `F` \
             lines exit 255); it is not a signal"
                .to_owned(),
        ),
        -1 => (
            CauseKind::StartFailed,
            "-1: the runtime reported no exit status, most often because the process never \
             started"
                .to_owned(),
        ),
        1..=125 => (
            CauseKind::AppError,
            format!("the program exited with status {code}, an error it chose itself"),
        ),
        _ => (
            CauseKind::AppError,
            format!("the program exited with status {code}, which is not 128 + a Linux signal"),
        ),
    };
    ExitCodeExplanation {
        code,
        kind,
        signal: None,
        ntstatus: None,
        meaning,
        notes: notes_for(code),
    }
}

/// Returns the notes that keep common codes from being misread.
fn notes_for(code: i64) -> Vec<&'static str> {
    match code {
        0 => vec!["under `restartPolicy: Always` a container that exits 0 is restarted anyway"],
        1..=125 => vec!["the program chose this code; its log or termination message explains why"],
        128 => vec!["look at the `message` of the terminated state for the runtime's error"],
        137 => vec![
            "137 alone does not mean an OOM kill: only `reason: OOMKilled` or a node \
             `OOMKilling` event says so",
            "kubelet also sends SIGKILL when a container does not stop within its grace period",
            "kubelet writes 137 as a placeholder with `reason: ContainerStatusUnknown`, which is \
             not an observed exit",
        ],
        143 => vec![
            "a program that exits on SIGTERM the default way ends with 143; kubelet labels every \
             non-zero exit `reason: Error`, so it is no proof of a crash",
        ],
        139 | 134 => vec!["a Go panic exits 2, not 139, even when its text names SIGSEGV"],
        255 => vec![
            "Kubernetes reports `reason: Unknown` with 255 when the runtime lost the container, as across a node reboot",
        ],
        _ => Vec::new(),
    }
}

fn explain_signal_exit(code: i64, name: &'static str) -> ExitCodeExplanation {
    let number = code - 128;
    let kind = if is_crash_signal(name) {
        CauseKind::Crashed
    } else {
        CauseKind::Killed
    };
    let meaning = format!(
        "killed by signal {number} ({name}): {}",
        describe_signal(name)
    );
    ExitCodeExplanation {
        code,
        kind,
        signal: Some(SignalExit { number, name }),
        ntstatus: None,
        meaning,
        notes: notes_for(code),
    }
}

fn explain_ntstatus(code: i64, ntstatus: NtStatus) -> ExitCodeExplanation {
    let kind = ntstatus_kind(ntstatus.value);
    let meaning = match ntstatus.name {
        Some(name) => format!(
            "Windows NTSTATUS {} ({name}): {}",
            ntstatus.hex(),
            ntstatus.description
        ),
        None => format!(
            "Windows exit code {}: {}",
            ntstatus.hex(),
            ntstatus.description
        ),
    };
    ExitCodeExplanation {
        code,
        kind,
        signal: None,
        ntstatus: Some(ntstatus),
        meaning,
        notes: vec![
            "Windows containers report the process exit code, which is an NTSTATUS value for a crash",
        ],
    }
}

/// Returns true for the signals the kernel sends a process for its own fault.
pub fn is_crash_signal(name: &str) -> bool {
    matches!(
        name,
        "SIGSEGV" | "SIGABRT" | "SIGBUS" | "SIGILL" | "SIGFPE" | "SIGSYS" | "SIGTRAP"
    )
}

/// Describes what usually sends a signal, in words.
pub fn describe_signal(name: &str) -> &'static str {
    match name {
        "SIGKILL" => {
            "cannot be caught; sent by kubelet after the grace period, by the kernel OOM killer or by another process"
        }
        "SIGTERM" => "a request to stop; kubelet sends it first when it stops a container",
        "SIGSEGV" => "segmentation fault: the process accessed invalid memory",
        "SIGABRT" => {
            "the process aborted itself (`abort()`, a failed assertion, a C++ uncaught exception)"
        }
        "SIGBUS" => {
            "bus error: invalid memory access, often a truncated memory-mapped file or full `/dev/shm`"
        }
        "SIGILL" => "illegal instruction: a binary built for another CPU, or a deliberate trap",
        "SIGFPE" => "arithmetic fault such as integer division by zero",
        "SIGSYS" => "a system call was rejected, often by a seccomp profile",
        "SIGTRAP" => "a trace or breakpoint trap",
        "SIGINT" => "an interrupt, as from CTRL+C",
        "SIGHUP" => "hang-up of the controlling terminal, or a reload request",
        "SIGQUIT" => "a quit request; some runtimes dump threads and exit",
        "SIGPIPE" => "the process wrote to a pipe or socket with no reader",
        "SIGALRM" => "a timer the process set expired",
        "SIGXCPU" => "the CPU time limit (`RLIMIT_CPU`) was exceeded",
        "SIGXFSZ" => "the file size limit (`RLIMIT_FSIZE`) was exceeded",
        "SIGUSR1" | "SIGUSR2" => "a user-defined signal the process did not handle",
        _ => "the process did not handle this signal",
    }
}

/// Returns the NTSTATUS value of a Windows exit code: codes above 255 that fit in 32 bits,
/// and codes below -1 read as a signed 32-bit value.
pub fn ntstatus_from_exit_code(code: i64) -> Option<NtStatus> {
    let value = if code > 255 {
        u32::try_from(code).ok()?
    } else if code < -1 {
        let signed = i32::try_from(code).ok()?;
        u32::from_ne_bytes(signed.to_ne_bytes())
    } else {
        return None;
    };
    Some(lookup_ntstatus(value))
}

fn lookup_ntstatus(value: u32) -> NtStatus {
    let known = NTSTATUS_TABLE
        .iter()
        .find(|(known_value, ..)| *known_value == value);
    match known {
        Some((_, name, description, _)) => NtStatus {
            value,
            name: Some(name),
            description,
        },
        None => NtStatus {
            value,
            name: None,
            description: describe_unknown_ntstatus(value),
        },
    }
}

/// Describes an NTSTATUS value podmortem has no name for by its severity bits (the top two).
/// Values from 0xFFFFFF01 up are small negative numbers, which a program passes to `exit`
/// itself rather than a status from the system.
fn describe_unknown_ntstatus(value: u32) -> &'static str {
    if value > 0xFFFF_FF00 {
        return "a small negative exit status the program chose, such as `exit(-2)`, not an \
                NTSTATUS value";
    }
    match value >> 30 {
        3 => "an error status with no name known to podmortem",
        2 => "a warning status with no name known to podmortem",
        1 => "an informational status with no name known to podmortem",
        _ => "not a known NTSTATUS value, possibly an exit status the program chose",
    }
}

fn ntstatus_kind(value: u32) -> CauseKind {
    NTSTATUS_TABLE
        .iter()
        .find(|(known_value, ..)| *known_value == value)
        .map_or(CauseKind::AppError, |(.., kind)| *kind)
}

/// Parses an exit code as typed by a person: decimal (`137`, `-1073741819`), hex (`0xC0000005`)
/// or a signal name (`SIGKILL`, `kill`), which becomes 128 + n.
pub fn parse_exit_code(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok().map(i64::from);
    }
    if let Ok(code) = text.parse::<i64>() {
        return Some(code);
    }
    super::signal::signal_number(text).map(|number| 128 + number)
}

/// Formats the "exit code 137 = 128 + 9 (SIGKILL)" evidence item, or the plain code.
pub fn exit_code_evidence(code: i64) -> String {
    if let Some(name) = signal_from_exit_code(code) {
        return format!("exit code {code} = 128 + {} ({name})", code - 128);
    }
    if let Some(ntstatus) = ntstatus_from_exit_code(code) {
        let name = ntstatus.name.unwrap_or("unknown NTSTATUS");
        return format!("exit code {code} = {} ({name})", ntstatus.hex());
    }
    format!("exit code {code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_kinds_table() {
        let table = [
            (0, CauseKind::Completed),
            (1, CauseKind::AppError),
            (2, CauseKind::AppError),
            (126, CauseKind::NotExecutable),
            (127, CauseKind::CommandNotFound),
            (128, CauseKind::StartFailed),
            (134, CauseKind::Crashed),
            (137, CauseKind::Killed),
            (139, CauseKind::Crashed),
            (143, CauseKind::Killed),
            (200, CauseKind::AppError),
            (255, CauseKind::AppError),
            (-1, CauseKind::StartFailed),
            (3_221_225_477, CauseKind::Crashed),
            (-1_073_741_819, CauseKind::Crashed),
            (3_221_225_781, CauseKind::StartFailed),
            (3_221_226_505, CauseKind::Crashed),
            (3_221_225_786, CauseKind::Killed),
        ];
        for (code, kind) in table {
            assert_eq!(explain_exit_code(code).kind, kind, "exit code {code}");
        }
    }

    #[test]
    fn signal_exit_names_the_signal() {
        let explanation = explain_exit_code(137);
        let signal = explanation.signal.unwrap();
        assert_eq!(signal.number, 9);
        assert_eq!(signal.name, "SIGKILL");
        assert!(explanation.meaning.contains("signal 9 (SIGKILL)"));
    }

    #[test]
    fn code_128_and_255_are_not_signals() {
        assert_eq!(explain_exit_code(128).signal, None);
        assert_eq!(explain_exit_code(255).signal, None);
        assert!(explain_exit_code(128).meaning.contains("not signal 0"));
    }

    #[test]
    fn ntstatus_from_both_signed_forms() {
        let unsigned = ntstatus_from_exit_code(3_221_225_477).unwrap();
        let signed = ntstatus_from_exit_code(-1_073_741_819).unwrap();
        assert_eq!(unsigned, signed);
        assert_eq!(unsigned.name, Some("STATUS_ACCESS_VIOLATION"));
        assert_eq!(unsigned.hex(), "0xC0000005");
    }

    #[test]
    fn ntstatus_rejects_small_and_huge_codes() {
        assert_eq!(ntstatus_from_exit_code(255), None);
        assert_eq!(ntstatus_from_exit_code(-1), None);
        assert_eq!(ntstatus_from_exit_code(1 << 40), None);
        assert_eq!(ntstatus_from_exit_code(i64::MIN), None);
    }

    #[test]
    fn small_negative_code_is_not_ntstatus() {
        let status = ntstatus_from_exit_code(-2).unwrap();
        assert_eq!(status.name, None);
        assert!(status.description.contains("exit(-2)"));
        assert_eq!(explain_exit_code(-2).kind, CauseKind::AppError);
    }

    #[test]
    fn unknown_ntstatus_keeps_severity() {
        let status = ntstatus_from_exit_code(0xC0FF_FFFF).unwrap();
        assert_eq!(status.name, None);
        assert!(status.description.starts_with("an error status"));
    }

    #[test]
    fn parse_exit_code_forms() {
        assert_eq!(parse_exit_code("137"), Some(137));
        assert_eq!(parse_exit_code("-1073741819"), Some(-1_073_741_819));
        assert_eq!(parse_exit_code("0xC0000005"), Some(3_221_225_477));
        assert_eq!(parse_exit_code("SIGKILL"), Some(137));
        assert_eq!(parse_exit_code("segv"), Some(139));
        assert_eq!(parse_exit_code("0xZZ"), None);
        assert_eq!(parse_exit_code("twelve"), None);
    }

    #[test]
    fn exit_code_evidence_forms() {
        assert_eq!(exit_code_evidence(137), "exit code 137 = 128 + 9 (SIGKILL)");
        assert_eq!(exit_code_evidence(1), "exit code 1");
        assert_eq!(
            exit_code_evidence(3_221_225_477),
            "exit code 3221225477 = 0xC0000005 (STATUS_ACCESS_VIOLATION)"
        );
    }
}
