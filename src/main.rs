//! The binary: harden the process, parse, run, map the result to an exit
//! code. Everything else is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    mfacli::main()
}
