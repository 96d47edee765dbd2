//! Private Docker and containerd daemons for the tests that load images
//! (issue 19, point 6): Debian's `containerd` with its own root, state and
//! socket, and Debian's `dockerd` (classic image store, `vfs`, no network
//! set-up) pointed at it with `--containerd`, all under one short temporary
//! directory. Every test starts its own pair, so every test begins with an
//! EMPTY store: Docker and containerd skip a layer they already have, which
//! would hide a broken blob. Starting takes well under a second here.
//!
//! They are stopped by PID when dropped (SIGTERM, then SIGKILL after a
//! timeout), also when the test fails: running containers are killed first
//! (dockerd would wait 10 s for each, containerd would leave its shims
//! running), leftover mounts under the directory are unmounted, and the
//! directory is removed. What stays on the host is what any use of these
//! packages leaves: /etc/docker/key.json, the empty directories
//! /var/run/docker/plugins and /run/containerd/{fifo,runc,s}, and the
//! `docker` and `default` cgroup parents.
//!
//! The Docker client is Debian's `/usr/bin/docker` (20.10, the daemon's own
//! version), named by path: a newer client earlier in PATH (here
//! /usr/local/bin/docker 28.2) negotiates down to API 1.41 and works too,
//! but the tests should not depend on what else is installed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::run::{describe, run_cmd};
use super::tools::{have, in_ci, is_root};

/// Debian's docker.io daemon.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
/// Debian's docker.io client, the daemon's version.
pub const DOCKER: &str = "/usr/bin/docker";
/// Debian's containerd.
pub const CONTAINERD: &str = "/usr/bin/containerd";
/// containerd's client.
pub const CTR: &str = "/usr/bin/ctr";

/// How long a daemon may take to answer, or to stop after SIGTERM.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a starting daemon is asked whether it is up.
const POLL: Duration = Duration::from_millis(25);

/// The namespaces the tests use (ctr's default, kind's, Docker's): their
/// tasks are killed before containerd stops.
const NAMESPACES: [&str; 3] = ["default", "k8s.io", "moby"];

/// Writes straight to the process's stderr, past libtest's capture, so
/// skips and start-up times show in the CI log.
pub fn daemon_log(msg: &str) {
    let _ = writeln!(std::io::stderr(), "[daemons] {msg}");
}

/// Whether `test` may start the daemons: it needs root and the Debian
/// packages docker.io and containerd. Without root it skips (saying so)
/// unless `CI` is set; a missing program fails under CI (see [`have`]).
pub fn daemons_or_skip(test: &str) -> bool {
    if !is_root() {
        assert!(
            !in_ci(),
            "{test}: the Docker and containerd tests run the daemons and need root; CI is set, so they do not skip"
        );
        daemon_log(&format!(
            "SKIPPED {test}: dockerd and containerd need root (with CI set this fails instead)"
        ));
        return false;
    }
    [DOCKERD, DOCKER, CONTAINERD, CTR]
        .iter()
        .all(|tool| have(tool))
}

/// A running private containerd: `ctr` commands go to its socket.
pub struct Containerd {
    /// The short temporary directory everything lives in (removed on drop).
    dir: PathBuf,
    child: Child,
    started: Duration,
}

impl Containerd {
    /// Starts containerd in a fresh directory and waits until `ctr version`
    /// answers. Panics with the daemon's log if it does not come up.
    pub fn start() -> Containerd {
        let dir = short_tempdir();
        let config = dir.join("containerd.toml");
        let sock = dir.join("c.sock");
        // The CRI plugin is not needed (and would start a CNI set-up); the
        // native snapshotter is built in and needs no mounts.
        let toml = format!(
            "version = 2\nroot = {root:?}\nstate = {state:?}\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = {sock:?}\n[ttrpc]\n  address = {ttrpc:?}\n\
             [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
            root = dir.join("c-root"),
            state = dir.join("c-state"),
            sock = sock,
            ttrpc = dir.join("c.sock.ttrpc"),
        );
        fs::write(&config, toml).expect("writing containerd.toml");
        let t0 = Instant::now();
        let child = spawn_logged(
            Command::new(CONTAINERD).arg("--config").arg(&config),
            &dir.join("containerd.log"),
        );
        let mut c = Containerd {
            dir,
            child,
            started: Duration::ZERO,
        };
        let probe = || {
            run_cmd(&mut ctr_cmd(&sock, "default", &["version"]))
                .status
                .success()
        };
        wait_until(
            "containerd",
            &mut c.child,
            &c.dir.join("containerd.log"),
            probe,
        );
        c.started = t0.elapsed();
        c
    }

    /// The socket containerd serves on.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("c.sock")
    }

    /// The temporary directory of this daemon (and of a [`Docker`] on it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long the start took, until `ctr version` answered.
    pub fn start_time(&self) -> Duration {
        self.started
    }

    /// `ctr --address SOCKET -n NAMESPACE ARGS`, unpacking into the native
    /// snapshotter (`CONTAINERD_SNAPSHOTTER`, what `--snapshotter` defaults
    /// to): overlayfs would leave mounts behind a failed test.
    pub fn ctr_in(&self, namespace: &str, args: &[&str]) -> Command {
        let mut cmd = ctr_cmd(&self.socket(), namespace, args);
        cmd.current_dir(&self.dir);
        cmd
    }

    /// `ctr` in the default namespace.
    pub fn ctr(&self, args: &[&str]) -> Command {
        self.ctr_in("default", args)
    }

    /// Kills every task of the test namespaces, so no shim outlives the
    /// daemon (containerd leaves its shims running when it stops).
    fn kill_tasks(&self) {
        for ns in NAMESPACES {
            let tasks = run_cmd(&mut self.ctr_in(ns, &["tasks", "ls", "-q"])).out();
            for id in tasks.lines().filter(|l| !l.is_empty()) {
                let _ = run_cmd(&mut self.ctr_in(ns, &["tasks", "kill", "-s", "SIGKILL", id]));
                let _ = run_cmd(&mut self.ctr_in(ns, &["tasks", "delete", "-f", id]));
            }
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.kill_tasks();
        stop("containerd", &mut self.child);
        kill_shims(&self.socket());
        unmount_under(&self.dir);
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            daemon_log(&format!("cannot remove {}: {e}", self.dir.display()));
        }
    }
}

/// A running private dockerd on its own [`Containerd`]: `docker` commands
/// go to its socket. Dropping it stops dockerd, then containerd.
pub struct Docker {
    child: Child,
    started: Duration,
    /// Dropped after dockerd is stopped (fields drop after `Drop::drop`).
    containerd: Containerd,
}

impl Docker {
    /// Starts containerd, then dockerd on it, and waits until
    /// `docker version` answers. Panics with the daemon's log if it does not
    /// come up.
    pub fn start() -> Docker {
        let containerd = Containerd::start();
        let d = containerd.dir().to_path_buf();
        fs::write(d.join("daemon.json"), "{}\n").expect("writing daemon.json");
        fs::create_dir(d.join("cfg")).expect("creating the client's config dir");
        // dockerd 20.10 creates /etc/docker/key.json at start (no flag moves
        // it); two starting at once could read each other's half-written key.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let starting = STARTING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let t0 = Instant::now();
        let child = spawn_logged(
            Command::new(DOCKERD)
                .args([
                    "--storage-driver",
                    "vfs",
                    "--iptables=false",
                    "--ip-masq=false",
                ])
                .args(["--bridge=none"])
                // Not /etc/docker/daemon.json: the host's settings stay out.
                .arg("--config-file")
                .arg(d.join("daemon.json"))
                .arg("--data-root")
                .arg(d.join("d-root"))
                .arg("--exec-root")
                .arg(d.join("d-exec"))
                .arg("--pidfile")
                .arg(d.join("d.pid"))
                .arg("-H")
                .arg(format!("unix://{}", d.join("d.sock").display()))
                .arg("--containerd")
                .arg(containerd.socket()),
            &d.join("dockerd.log"),
        );
        let mut docker = Docker {
            child,
            started: Duration::ZERO,
            containerd,
        };
        let log = d.join("dockerd.log");
        let probe = || run_cmd(&mut docker_cmd(&d, &["version"])).status.success();
        wait_until("dockerd", &mut docker.child, &log, probe);
        docker.started = t0.elapsed();
        drop(starting);
        daemon_log(&format!(
            "containerd answered after {} ms, dockerd {} ms later ({})",
            docker.containerd.start_time().as_millis(),
            docker.started.as_millis(),
            d.display()
        ));
        docker
    }

    /// `docker -H unix://SOCKET ARGS`, with a config directory of its own
    /// (no credentials or contexts from the host).
    pub fn docker(&self, args: &[&str]) -> Command {
        docker_cmd(self.containerd.dir(), args)
    }

    /// The containerd under this dockerd.
    pub fn containerd(&self) -> &Containerd {
        &self.containerd
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        // dockerd would give each running container 10 s to stop.
        let running = run_cmd(&mut self.docker(&["ps", "-q"])).out();
        let ids: Vec<&str> = running.split_whitespace().collect();
        if !ids.is_empty() {
            let mut kill = vec!["kill"];
            kill.extend(&ids);
            let _ = run_cmd(&mut self.docker(&kill));
        }
        stop("dockerd", &mut self.child);
    }
}

/// `ctr` on the containerd at `socket`; see [`Containerd::ctr_in`].
fn ctr_cmd(socket: &Path, namespace: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(CTR);
    cmd.arg("--address")
        .arg(socket)
        .args(["-n", namespace])
        .args(args)
        .env("CONTAINERD_SNAPSHOTTER", "native");
    cmd
}

/// `docker` on the dockerd of directory `d`; see [`Docker::docker`].
fn docker_cmd(d: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(DOCKER);
    cmd.arg("-H")
        .arg(format!("unix://{}", d.join("d.sock").display()))
        .args(args)
        .env("DOCKER_CONFIG", d.join("cfg"))
        .current_dir(d);
    cmd
}

/// A new directory under /tmp with a short name: unix socket paths are
/// limited to 108 bytes, and TMPDIR may be long.
fn short_tempdir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("oid")
        .tempdir_in("/tmp")
        .expect("creating a directory in /tmp")
        .keep()
}

/// Starts `cmd` with its output going to `log`.
fn spawn_logged(cmd: &mut Command, log: &Path) -> Child {
    let out = fs::File::create(log).expect("creating a daemon log");
    let err = out.try_clone().expect("daemon log");
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", describe(cmd)))
}

/// Polls `probe` until it holds; panics with the log if `name` exits or
/// does not answer within [`START_TIMEOUT`].
fn wait_until(name: &str, child: &mut Child, log: &Path, mut probe: impl FnMut() -> bool) {
    let t0 = Instant::now();
    loop {
        if probe() {
            return;
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || t0.elapsed() > START_TIMEOUT {
            let text = fs::read_to_string(log).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name} did not answer within {START_TIMEOUT:?} (exit: {exited:?}); its log {}:\n{text}",
                log.display()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// SIGTERM, wait up to [`STOP_TIMEOUT`], then SIGKILL.
fn stop(name: &str, child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill has no memory preconditions; pid is our own child, not
    // yet reaped, so it cannot name another process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let t0 = Instant::now();
    while t0.elapsed() < STOP_TIMEOUT {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(POLL);
    }
    daemon_log(&format!(
        "{name} (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT:?}; killing it"
    ));
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILLs the containerd shims started for the daemon at `socket` (their
/// command line has `-address SOCKET`); normally there are none left.
fn kill_shims(socket: &Path) {
    let Ok(procs) = fs::read_dir("/proc") else {
        return;
    };
    let want = socket.as_os_str().as_encoded_bytes();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let shim = args
            .first()
            .is_some_and(|a| a.ends_with(b"containerd-shim-runc-v2"));
        if shim && args.windows(2).any(|w| w[0] == b"-address" && w[1] == want) {
            daemon_log(&format!("killing leftover shim {pid}"));
            // SAFETY: kill has no memory preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The mount points under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let prefix = format!("{}/", dir.display());
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    points
}

/// The PIDs of the processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<i32> {
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid = p.file_name().to_str()?.parse::<i32>().ok()?;
            let cmdline = fs::read(p.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(marker).then_some(pid)
        })
        .collect()
}

/// Unmounts (lazily, deepest first) every mount point under `dir`.
fn unmount_under(dir: &Path) {
    for p in mounts_under(dir) {
        daemon_log(&format!("unmounting leftover {p}"));
        let Ok(c) = std::ffi::CString::new(p) else {
            continue;
        };
        // SAFETY: c is a valid NUL-terminated path.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn mountinfo_escapes_are_undone() {
    assert_eq!(unescape_mountinfo(r"/tmp/a\040b\134c"), "/tmp/a b\\c");
    assert_eq!(unescape_mountinfo(r"/tmp/x\"), "/tmp/x\\");
}
