//! The floor for a cache hit: a Rust process that reads one small file and
//! prints it, with nothing else (no config parsing, no JSON, no clock).
use std::io::Write;

fn main() {
    let path = std::env::args_os().nth(1).expect("usage: floor FILE");
    let bytes = std::fs::read(path).expect("read");
    std::io::stdout().lock().write_all(&bytes).expect("write");
}
