//! `hwc apply FILE [--target iptables|nftables] [--confirm SECONDS] [--netns NAME]`.
//!
//! Loads a compiled policy into the kernel with a safety net, like
//! `iptables-apply`:
//!
//! 1. Refuses to run without root (exit status 2).
//! 2. Saves what it is about to replace: the `filter` table of each family
//!    (`iptables-save -t filter`), or hwc's own nft tables
//!    (`nft list table ip|ip6|inet hwc`). Nothing else is touched.
//! 3. Starts a *watchdog*: a small shell process in its own process group
//!    that restores the saved rules after SECONDS + 5 unless told otherwise.
//!    It survives hwc being killed or the SSH session dropping, which is
//!    exactly when a bad ruleset has locked the admin out.
//! 4. Loads the new rules atomically (`iptables-restore` per family, one
//!    `nft -f` transaction). If loading fails, the old rules are restored
//!    at once.
//! 5. Asks for confirmation: the admin types `yes` (and Enter) on stdin
//!    within SECONDS. Anything else, end of input, or the timeout restores
//!    the saved rules at once (exit status 1). On `yes` the watchdog is
//!    stopped and the new rules stay (exit status 0).
//!
//! `--confirm 0` loads without asking (for automation with its own safety
//! net). `--netns NAME` runs every tool inside that network namespace
//! (`ip netns exec NAME ...`), which is how the tests use it.

use super::compile::{load_checked, print_diagnostics, TargetArg};
use super::{Exit, Terminal};
use crate::backend::{self, nftables, Artifact, Target};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const APPLY_LONG_ABOUT: &str = "\
Check and compile a policy, then load it into the kernel with a safety net. \
hwc saves what it replaces (the filter tables for iptables, hwc's own `hwc` \
tables for nftables), starts a watchdog that restores them, loads the new \
rules atomically and waits for you to type `yes`. Anything else, end of \
input, the timeout, or losing the session (hwc killed, SSH dropped) restores \
the previous rules. Needs root.";

const APPLY_EXAMPLES: &str = "\
Examples:
  hwc apply web.hw                          nftables; type yes within 30 s
  hwc apply web.hw --target iptables --confirm 60
  hwc apply web.hw --confirm 0              Load without asking (automation)
  hwc apply web.hw --netns test             Inside the network namespace `test`

Exit status: 0 the new rules are loaded and kept, 1 the policy has errors or
you did not confirm (the previous rules are back), 2 usage, I/O or load error,
or not root.";

/// Load a policy into the kernel; keep it only if you confirm.
#[derive(Debug, clap::Args)]
#[command(long_about = APPLY_LONG_ABOUT, after_help = APPLY_EXAMPLES)]
pub struct ApplyArgs {
    /// The policy file (`.hw`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The firewall to load the rules into.
    #[arg(long, value_enum, default_value_t = TargetArg::Nftables)]
    pub target: TargetArg,

    /// Seconds to wait for `yes` before restoring the previous rules; 0
    /// loads without asking.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub confirm: u64,

    /// Run every firewall tool inside this network namespace.
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
}

pub(crate) fn run(args: &ApplyArgs, term: &Terminal) -> Exit {
    if !is_root() {
        eprintln!("hwc: error: `hwc apply` loads firewall rules and must run as root");
        eprintln!("  help: run it with sudo, or use `hwc compile` to only write the rules");
        return Exit::Failure;
    }
    if let Some(ns) = &args.netns {
        if !valid_netns(ns) {
            eprintln!("hwc: error: `{ns}` is not a network namespace name");
            return Exit::Failure;
        }
    }
    let Some((policy, sources)) = load_checked(&args.file, term) else {
        return Exit::Findings;
    };
    let artifacts = match backend::compile(&policy, Some(&sources), args.target.into()) {
        Ok(a) => a,
        Err(diags) => {
            print_diagnostics(&diags, &sources, term);
            return Exit::Findings;
        }
    };
    if let Err(e) = super::compile::verify(&policy, &artifacts, "applied") {
        return e;
    }
    let opts = ApplyOptions {
        target: args.target.into(),
        confirm: args.confirm,
        netns: args.netns.clone(),
    };
    let answers = stdin_lines();
    match apply(&artifacts, &opts, &answers, &mut std::io::stderr()) {
        Ok(Outcome::Kept) => Exit::Success,
        Ok(Outcome::RolledBack(_)) => Exit::Findings,
        Err(e) => {
            eprintln!("hwc: error: {e}");
            Exit::Failure
        }
    }
}

/// Extra seconds the watchdog waits beyond the confirmation window, so that
/// it never races a `yes` typed at the last moment.
pub const WATCHDOG_GRACE: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    pub target: Target,
    /// Seconds to wait for `yes`; 0 loads without asking.
    pub confirm: u64,
    /// Run the tools inside this network namespace.
    pub netns: Option<String>,
}

/// How an apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The new rules are loaded and stay.
    Kept,
    /// The new rules were loaded and then replaced by the saved ones.
    RolledBack(String),
}

/// Whether the process runs with effective uid 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Checks a `--netns` name: the names `ip netns` creates.
pub fn valid_netns(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name != "."
        && name != ".."
}

/// Runs firewall tools, inside a network namespace when asked.
#[derive(Debug, Clone)]
pub struct Runner {
    netns: Option<String>,
}

impl Runner {
    pub fn new(netns: Option<String>) -> Runner {
        Runner { netns }
    }

    /// The command line prefix as shell words (for the watchdog script).
    fn shell_prefix(&self) -> String {
        match &self.netns {
            Some(ns) => format!("ip netns exec {ns} "),
            None => String::new(),
        }
    }

    fn command(&self, program: &str) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        }
    }

    /// Runs a tool with `stdin`; its stdout, or an error with its stderr.
    pub fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut cmd = self.command(program);
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run `{program}`: {e}"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to `{program}`: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("`{program}` did not finish: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`{program}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// One restore step: a tool and the text it reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    program: &'static str,
    args: &'static [&'static str],
    text: String,
    file: &'static str,
}

/// The tool that loads an artifact.
fn loader(a: &Artifact) -> (&'static str, &'static [&'static str]) {
    match a.suffix {
        "ipt6" => ("ip6tables-restore", &[]),
        "nft" => ("nft", &["-f", "-"]),
        _ => ("iptables-restore", &[]),
    }
}

/// A `filter` table with no rules and ACCEPT policies: what an empty
/// kernel behaves like.
const EMPTY_FILTER: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

/// Saves what loading `artifacts` replaces, as the steps that restore it.
fn save(runner: &Runner, artifacts: &[Artifact]) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for a in artifacts {
        match a.suffix {
            "ipt4" | "ipt6" => {
                let (save, restore, file) = if a.suffix == "ipt4" {
                    ("iptables-save", "iptables-restore", "rollback.ipt4")
                } else {
                    ("ip6tables-save", "ip6tables-restore", "rollback.ipt6")
                };
                let saved = runner.run(save, &["-t", "filter"], None)?;
                let text = if saved.contains("*filter") {
                    saved
                } else {
                    EMPTY_FILTER.to_string()
                };
                steps.push(Step {
                    program: restore,
                    args: &[],
                    text,
                    file,
                });
            }
            _ => {
                let mut text = String::new();
                for f in nftables::TABLE_FAMILIES {
                    text.push_str(&format!(
                        "table {f} {t} {{}}\ndelete table {f} {t}\n",
                        t = nftables::TABLE
                    ));
                }
                for f in nftables::TABLE_FAMILIES {
                    // A missing table is not an error: there is nothing to
                    // restore for it.
                    if let Ok(listing) =
                        runner.run("nft", &["list", "table", f, nftables::TABLE], None)
                    {
                        text.push_str(&listing);
                    }
                }
                steps.push(Step {
                    program: "nft",
                    args: &["-f", "-"],
                    text,
                    file: "rollback.nft",
                });
            }
        }
    }
    Ok(steps)
}

fn restore(runner: &Runner, steps: &[Step]) -> Result<(), String> {
    let mut errors = Vec::new();
    for s in steps {
        if let Err(e) = runner.run(s.program, s.args, Some(&s.text)) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// A private directory for the rollback files and the watchdog.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn create() -> Result<WorkDir, String> {
        use std::os::unix::fs::PermissionsExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("hwc-apply-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)
            .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot protect `{}`: {e}", path.display()))?;
        Ok(WorkDir { path, keep: false })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The watchdog: restores the saved rules after `seconds` unless the
/// directory holds a `confirmed` file or the process is stopped first.
pub struct Watchdog {
    child: Child,
}

impl Watchdog {
    fn start(
        runner: &Runner,
        dir: &Path,
        steps: &[Step],
        seconds: u64,
    ) -> Result<Watchdog, String> {
        use std::os::unix::process::CommandExt;
        let d = dir.display();
        let mut script = format!("sleep {seconds}\n[ -e '{d}/confirmed' ] && exit 0\n");
        for s in steps {
            let args = s.args.join(" ");
            script.push_str(&format!(
                "{}{} {args} < '{d}/{}'\n",
                runner.shell_prefix(),
                s.program,
                s.file
            ));
        }
        script.push_str(&format!("rm -rf '{d}'\n"));
        let path = dir.join("watchdog.sh");
        std::fs::write(&path, script).map_err(|e| format!("cannot write the watchdog: {e}"))?;
        let child = Command::new("sh")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a hangup or Ctrl-C sent to hwc's
            // terminal does not reach it.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the watchdog: {e}"))?;
        Ok(Watchdog { child })
    }

    /// Stops the watchdog and its `sleep` (the whole process group).
    fn stop(mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loads `artifacts` with the safety net described in the module docs.
/// `answers` delivers the lines the admin types (a closed channel is end of
/// input); progress goes to `status`.
pub fn apply(
    artifacts: &[Artifact],
    opts: &ApplyOptions,
    answers: &Receiver<String>,
    status: &mut dyn Write,
) -> Result<Outcome, String> {
    if let Some(ns) = &opts.netns {
        if !valid_netns(ns) {
            return Err(format!("`{ns}` is not a network namespace name"));
        }
    }
    let runner = Runner::new(opts.netns.clone());
    let steps = save(&runner, artifacts)?;
    let mut dir = WorkDir::create()?;
    for s in &steps {
        std::fs::write(dir.path.join(s.file), &s.text)
            .map_err(|e| format!("cannot save the current rules: {e}"))?;
    }
    let watchdog = if opts.confirm > 0 {
        Some(Watchdog::start(
            &runner,
            &dir.path,
            &steps,
            opts.confirm + WATCHDOG_GRACE,
        )?)
    } else {
        None
    };

    for a in artifacts {
        let (program, args) = loader(a);
        if let Err(e) = runner.run(program, args, Some(&a.text)) {
            if let Some(w) = watchdog {
                w.stop();
            }
            return match restore(&runner, &steps) {
                Ok(()) => Err(format!(
                    "loading the new rules failed, the previous rules are back: {e}"
                )),
                Err(r) => {
                    dir.keep = true;
                    Err(format!(
                        "loading the new rules failed ({e}), and restoring the previous rules failed too ({r}); they are saved in `{}`",
                        dir.path.display()
                    ))
                }
            };
        }
    }
    let Some(watchdog) = watchdog else {
        let _ = writeln!(status, "hwc: the new rules are loaded");
        return Ok(Outcome::Kept);
    };

    let _ = writeln!(
        status,
        "hwc: the new rules are loaded. Type `yes` within {} seconds to keep them;\n\
         anything else, end of input or the timeout restores the previous rules.",
        opts.confirm
    );
    let _ = status.flush();
    let deadline = Instant::now() + Duration::from_secs(opts.confirm);
    let verdict = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match answers.recv_timeout(left) {
            Ok(line) if line.trim() == "yes" => break Ok(()),
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => break Err(format!("the answer was `{}`, not `yes`", line.trim())),
            Err(RecvTimeoutError::Timeout) => {
                break Err(format!("no confirmation within {} seconds", opts.confirm))
            }
            Err(RecvTimeoutError::Disconnected) => {
                break Err("end of input before `yes`".to_string())
            }
        }
    };
    match verdict {
        Ok(()) => {
            let _ = std::fs::write(dir.path.join("confirmed"), "");
            watchdog.stop();
            let _ = writeln!(status, "hwc: confirmed; the new rules stay");
            Ok(Outcome::Kept)
        }
        Err(why) => {
            watchdog.stop();
            match restore(&runner, &steps) {
                Ok(()) => {
                    let _ = writeln!(status, "hwc: {why}; the previous rules are back");
                    Ok(Outcome::RolledBack(why))
                }
                Err(r) => {
                    dir.keep = true;
                    Err(format!(
                        "{why}, and restoring the previous rules failed ({r}); they are saved in `{}`",
                        dir.path.display()
                    ))
                }
            }
        }
    }
}

/// Reads stdin lines on a thread into a channel (closed at end of input).
pub fn stdin_lines() -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line.clone()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netns_names_are_checked() {
        assert!(valid_netns("hwc-t-1-2"));
        assert!(!valid_netns("a b"));
        assert!(!valid_netns("x;rm"));
        assert!(!valid_netns(".."));
    }
}
