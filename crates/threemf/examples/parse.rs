//! Parses a 3MF file N times and prints the median time per parse.
//!
//! Used to check the target "≤ 3 ms median for sample-a" in release mode:
//!
//! ```text
//! cargo run --release -p threemf --example parse -- FILE.3mf 200
//! ```
//!
//! The file is loaded into memory once, so the timing is the parser's, not
//! the disk's. With `--json` the parsed project is printed as JSON first.

use std::io::Cursor;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(path) = positional.first() else {
        eprintln!("usage: parse FILE.3mf [RUNS] [--json]");
        return ExitCode::from(2);
    };
    let runs: usize = match positional.get(1).map(|s| s.parse()) {
        None => 100,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("RUNS must be a positive integer");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = threemf::Limits::default();

    // One untimed parse: reports errors and warms caches.
    let project = match threemf::read(Cursor::new(&bytes), &limits) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&project) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("cannot print JSON: {e}"),
        }
    }

    let mut micros = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let parsed = threemf::read(Cursor::new(&bytes), &limits);
        micros.push(start.elapsed().as_secs_f64() * 1e6);
        // Keep the result alive so the work can't be optimised away.
        std::hint::black_box(parsed.is_ok());
    }
    micros.sort_by(f64::total_cmp);
    let median = micros[micros.len() / 2];
    let min = micros[0];
    let max = micros[micros.len() - 1];
    println!(
        "{path}: {runs} runs, median {median:.0} µs (min {min:.0} µs, max {max:.0} µs), {} plate(s), sliced: {}",
        project.plates.len(),
        project.sliced
    );
    ExitCode::SUCCESS
}
