use std::process::ExitCode;

fn main() -> ExitCode {
    podmortem::cli::main()
}
