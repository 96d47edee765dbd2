//! Running the binary under test (and the tools around it) and saying what
//! was expected of the run: a failed expectation prints the command line,
//! the exit status, stdout and stderr.

use std::fmt::Write as _;
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ociimport"))
}

/// `ociimport ARGS` in `cwd`, with no `SOURCE_DATE_EPOCH` from the test's
/// environment (it would change `created`).
pub fn ociimport_in<S: AsRef<std::ffi::OsStr>>(
    cwd: &Path,
    args: impl IntoIterator<Item = S>,
) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH");
    cmd
}

/// Run ociimport with `args` in `cwd`, feeding `stdin`, with `env` set.
pub fn run_in(cwd: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut cmd = ociimport_in(cwd, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    match stdin {
        Some(data) => run_cmd_input(&mut cmd, data),
        None => run_cmd(&mut cmd),
    }
}

/// Run ociimport with `args` in `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Run {
    run_in(cwd, args, None, &[])
}

/// Run `cmd` with no input, capturing stdout and stderr, whatever its exit.
pub fn run_cmd(cmd: &mut Command) -> Run {
    spawn(cmd, None)
}

/// Run `cmd` with `input` on its stdin, capturing stdout and stderr.
pub fn run_cmd_input(cmd: &mut Command, input: &[u8]) -> Run {
    spawn(cmd, Some(input))
}

/// Run `cmd`, which must exit 0.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Run {
    run_cmd(cmd).succeeds()
}

/// Run `cmd` with `input` on its stdin; it must exit 0.
#[track_caller]
pub fn run_ok_input(cmd: &mut Command, input: &[u8]) -> Run {
    run_cmd_input(cmd, input).succeeds()
}

/// Run `cmd`, which must exit 0 and print JSON; that JSON.
#[track_caller]
pub fn stdout_json(cmd: &mut Command) -> serde_json::Value {
    run_ok(cmd).json()
}

/// Start every command at once (no input, output captured), then wait for
/// them all: their runs, in order.
pub fn run_together(mut cmds: Vec<Command>) -> Vec<Run> {
    let children: Vec<_> = cmds
        .iter_mut()
        .map(|cmd| {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", describe(cmd)))
        })
        .collect();
    cmds.iter()
        .zip(children)
        .map(|(cmd, child)| {
            let output = child
                .wait_with_output()
                .unwrap_or_else(|e| panic!("waiting for `{}`: {e}", describe(cmd)));
            Run::of(cmd, output)
        })
        .collect()
}

/// `cmd` as a shell would show it: environment changes, the program's
/// name and the arguments.
pub fn describe(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => {
                let _ = write!(s, "{}={} ", k.to_string_lossy(), v.to_string_lossy());
            }
            // Removing SOURCE_DATE_EPOCH is what every ociimport run does.
            None if k == "SOURCE_DATE_EPOCH" => {}
            None => {
                let _ = write!(s, "-u {} ", k.to_string_lossy());
            }
        }
    }
    let program = Path::new(cmd.get_program());
    s.push_str(
        &program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy(),
    );
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    if let Some(dir) = cmd.get_current_dir() {
        let _ = write!(s, " (in {})", dir.display());
    }
    s
}

fn spawn(cmd: &mut Command, input: Option<&[u8]>) -> Run {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let command = describe(cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    // The input is written from a thread: a child that exits early, or
    // fills its stdout before reading everything, cannot deadlock us.
    let output = std::thread::scope(|s| {
        if let (Some(data), Some(mut pipe)) = (input, child.stdin.take()) {
            s.spawn(move || {
                let _ = pipe.write_all(data);
            });
        }
        child.wait_with_output()
    })
    .unwrap_or_else(|e| panic!("waiting for `{command}`: {e}"));
    Run { command, output }
}

/// One finished run: the command line and what came of it. It derefs to
/// its [`Output`].
pub struct Run {
    /// The command line, as [`describe`] shows it.
    pub command: String,
    /// What the run printed and how it exited.
    pub output: Output,
}

impl Deref for Run {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.output
    }
}

/// At most this much of stdout is shown: an archive on stdout is binary.
const SHOWN: usize = 4000;

impl Run {
    /// A run made elsewhere (a child spawned by hand), described by `cmd`.
    pub fn of(cmd: &Command, output: Output) -> Run {
        Run {
            command: describe(cmd),
            output,
        }
    }

    /// Its stderr, as text.
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Its stdout, as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// The command line, the exit status, stdout and stderr: what a failed
    /// expectation shows.
    pub fn context(&self) -> String {
        let out = self.out();
        let shown = match out.char_indices().nth(SHOWN) {
            Some((i, _)) => format!("{}... ({} bytes)", &out[..i], self.output.stdout.len()),
            None => out,
        };
        format!(
            "`{}` exited with {}\n--- stdout:\n{shown}\n--- stderr:\n{}",
            self.command,
            self.output.status,
            self.err()
        )
    }

    /// It exited with `code`.
    #[track_caller]
    pub fn exits(self, code: i32) -> Run {
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "expected exit {code}: {}",
            self.context()
        );
        self
    }

    /// It exited 0.
    #[track_caller]
    pub fn succeeds(self) -> Run {
        self.exits(0)
    }

    /// It failed: refused (exit 1) or a usage error (exit 2).
    #[track_caller]
    pub fn fails(self) -> Run {
        assert!(
            matches!(self.output.status.code(), Some(1 | 2)),
            "expected exit 1 or 2: {}",
            self.context()
        );
        self
    }

    /// A usage error: exit 2, and stderr says `want`.
    #[track_caller]
    pub fn usage_error(self, want: &str) -> Run {
        self.exits(2).says(want)
    }

    /// Refused: exit 1, and stderr says `want`.
    #[track_caller]
    pub fn refused(self, want: &str) -> Run {
        self.exits(1).says(want)
    }

    /// Stderr holds `want` (whatever the exit).
    #[track_caller]
    pub fn says(self, want: &str) -> Run {
        assert!(
            self.err().contains(want),
            "expected {want:?} on stderr: {}",
            self.context()
        );
        self
    }

    /// Stderr is exactly one line.
    #[track_caller]
    pub fn one_line(self) -> Run {
        assert_eq!(
            self.err().lines().count(),
            1,
            "expected one line on stderr: {}",
            self.context()
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.context()))
    }

    /// The `--json` report of a successful run.
    #[track_caller]
    pub fn report(&self) -> serde_json::Value {
        assert_eq!(
            self.output.status.code(),
            Some(0),
            "expected exit 0: {}",
            self.context()
        );
        self.json()
    }
}

/// The stderr of a run, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse the `--json` report of a successful run.
#[track_caller]
pub fn report(o: &Run) -> serde_json::Value {
    o.report()
}

/// A failed expectation names the command line, the exit status and both
/// outputs; one that holds returns the run for the next.
#[test]
fn a_failed_expectation_shows_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(tmp.path(), &["missing.tar", "-o", "out"]).succeeds();
    }));
    let panic = failed.expect_err("a refused import does not succeed");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("expected exit 0"), "{message}");
    assert!(
        message.contains("`ociimport missing.tar -o out (in "),
        "{message}"
    );
    assert!(message.contains("exit status: 1"), "{message}");
    assert!(message.contains("--- stdout:\n"), "{message}");
    assert!(
        message.contains("--- stderr:\nociimport: error: missing.tar: No such file"),
        "{message}"
    );
    let refused = run(tmp.path(), &["missing.tar", "-o", "out"])
        .refused("No such file")
        .one_line();
    assert_eq!(refused.status.code(), Some(1));
}
