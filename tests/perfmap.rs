//! `--perf-map`: the map perf reads (`/tmp/perf-PID.map`) is written before
//! the code runs, names the program and each loop by its place, and its
//! pieces lie in the executable mapping of the JIT's code, in order,
//! without overlapping. Read back while the program waits for input, so
//! the mapping can be checked in /proc; perf itself is not needed.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bfc, echo_and_end, spawn_waiting_jit, tempdir, write_file};

/// One line of the map: start, size, name.
fn parse(line: &str) -> (u64, u64, String) {
    let mut fields = line.splitn(3, ' ');
    let mut hex = || u64::from_str_radix(fields.next().expect("a field"), 16).expect("hex");
    let (start, size) = (hex(), hex());
    (start, size, fields.next().expect("a name").to_string())
}

/// The executable mappings of a process.
fn executable_ranges(pid: u32) -> Vec<(u64, u64)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("/proc/PID/maps");
    maps.lines()
        .filter(|l| l.split_whitespace().nth(1).is_some_and(|perms| perms.contains('x')))
        .map(|l| {
            let range = l.split_whitespace().next().expect("range");
            let (lo, hi) = range.split_once('-').expect("lo-hi");
            (u64::from_str_radix(lo, 16).unwrap(), u64::from_str_radix(hi, 16).unwrap())
        })
        .collect()
}

#[test]
fn the_map_names_each_loop_and_lies_in_the_code() {
    let dir = tempdir();
    // Two loops that stay loops when optimised; the first waits for input.
    write_file(dir.path(), "p.b", b"+++[>,.<-]\n  ,[.,]");
    let child = spawn_waiting_jit(dir.path(), "--perf-map");
    let pid = child.id();
    let path = format!("/tmp/perf-{pid}.map");
    let started = Instant::now();
    // Written before the code runs, which then waits for its first byte.
    let text = loop {
        match std::fs::read_to_string(&path) {
            Ok(text) if text.ends_with('\n') => break text,
            _ if started.elapsed() > Duration::from_secs(30) => panic!("no {path}"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let executable = executable_ranges(pid);
    echo_and_end(child);
    let _ = std::fs::remove_file(&path);

    let pieces: Vec<(u64, u64, String)> = text.lines().map(parse).collect();
    let names: Vec<&str> = pieces.iter().map(|p| p.2.as_str()).collect();
    assert!(names.contains(&"bf:p.b"), "{text}");
    assert!(names.contains(&"bf:p.b:1:4 loop"), "{text}");
    assert!(names.contains(&"bf:p.b:2:4 loop"), "{text}");
    assert!(names.iter().all(|n| *n == "bf:p.b" || (n.starts_with("bf:p.b:") && n.ends_with(" loop"))), "{text}");
    // In order, without overlapping, all in one executable mapping.
    assert!(pieces.iter().all(|p| p.1 > 0), "{text}");
    assert!(pieces.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0), "{text}");
    let (first, last) = (&pieces[0], &pieces[pieces.len() - 1]);
    let (lo, hi) = (first.0, last.0 + last.1);
    assert!(executable.iter().any(|&(start, end)| start <= lo && hi <= end), "{text} not in {executable:x?}");
}

#[test]
fn no_map_unless_asked() {
    let dir = tempdir();
    write_file(dir.path(), "p.b", b",[.,]");
    let child = Command::new(bfc())
        .current_dir(dir.path())
        .args(["--jit", "p.b"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("bfc starts");
    let pid = child.id();
    let out = child.wait_with_output().expect("bfc ends");
    assert!(out.status.success());
    assert!(!std::path::Path::new(&format!("/tmp/perf-{pid}.map")).exists());
    // Only with --jit.
    let out = Command::new(bfc()).current_dir(dir.path()).args(["--interp", "--perf-map", "p.b"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
