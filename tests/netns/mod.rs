//! Throw-away network namespaces for tests that talk to the kernel.
//!
//! Every test that loads rules does so inside a namespace it creates here
//! (`hwc-t-PID-N`) and that is deleted when the guard drops, also when the
//! test fails: the host's own firewall is never touched. Tests that need
//! root or a tool call [`Netns::new`] / [`have_tools`], which print a loud
//! message and return `None` / `false` when they cannot run; under CI
//! (`CI` set in the environment) a missing prerequisite fails the test
//! instead, because CI has root and every tool.
//!
//! Reused by the kernel-truth tests: [`Netns::run`] runs any command inside
//! the namespace, and [`Netns::sh`] a shell line.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace that exists as long as this value.
pub struct Netns {
    name: String,
}

fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("kernel test cannot run under CI: {why}");
    }
    eprintln!();
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED a kernel check: {why}");
    eprintln!("!!! Run the tests as root with iptables and nft installed to check");
    eprintln!("!!! the generated rules against the kernel.");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
}

fn which(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(tool).is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Whether every tool is installed (loud skip message otherwise).
pub fn have_tools(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !which(t)).collect();
    if missing.is_empty() {
        true
    } else {
        skip(&format!("missing tools: {}", missing.join(", ")));
        false
    }
}

impl Netns {
    /// Creates a fresh namespace, or `None` (after a loud message) when the
    /// test cannot create one.
    pub fn new() -> Option<Netns> {
        if !is_root() {
            skip("not running as root");
            return None;
        }
        if !have_tools(&["ip"]) {
            return None;
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("hwc-t-{}-{n}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output();
        match out {
            Ok(o) if o.status.success() => Some(Netns { name }),
            Ok(o) => {
                skip(&format!(
                    "`ip netns add` failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
                None
            }
            Err(e) => {
                skip(&format!("cannot run `ip`: {e}"));
                None
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a program inside the namespace, feeding `stdin` if given.
    pub fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program])
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ip netns exec");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("wait for child")
    }

    /// Runs a bash line inside the namespace.
    pub fn sh(&self, line: &str) -> Output {
        self.run("bash", &["-c", line], None)
    }

    /// Runs a program and returns its stdout, or an error with its stderr.
    pub fn ok(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let out = self.run(program, args, stdin);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`{program} {}` failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Checks `iptables-restore` input the way the kernel sees it: the
    /// tool's `--test`, then a real load into this namespace (the nf_tables
    /// variant's `--test` does not ask the kernel), then a load through the
    /// legacy x_tables interface when that tool exists.
    pub fn check_iptables(&self, v6: bool, text: &str) -> Result<(), String> {
        let (restore, legacy) = if v6 {
            ("ip6tables-restore", "ip6tables-legacy-restore")
        } else {
            ("iptables-restore", "iptables-legacy-restore")
        };
        self.ok(restore, &["--test"], Some(text))?;
        self.ok(restore, &[], Some(text))?;
        if which(legacy) {
            self.ok(legacy, &[], Some(text))?;
        }
        Ok(())
    }

    /// Checks an `nft -f` script: `nft -c`, then a real load.
    pub fn check_nft(&self, text: &str) -> Result<(), String> {
        self.ok("nft", &["-c", "-f", "-"], Some(text))?;
        self.ok("nft", &["-f", "-"], Some(text))?;
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
