//! A user's framework (scheduler) run as a process on this host: `c.run_framework(…)` without
//! an image, on every backend. Both backends keep their framework processes here.
//!
//! Nothing of a framework process may outlive its scenario, however mmrun ends:
//! - it runs in its own process group, so stopping it signals its children too (a `sh -c`
//!   that forks, a JVM's helpers), and Ctrl-C in the terminal reaches only mmrun, whose
//!   teardown then stops it;
//! - mmrun's process guard (`lifeline::guard`, started by `run` and `up`) is told the group:
//!   when mmrun dies, even by SIGKILL, the guard kills the whole group, as it does for task and
//!   executor groups;
//! - the group's leader also gets SIGKILL from the kernel when mmrun dies
//!   (`PR_SET_PDEATHSIG`), covering the instant before the guard knows the group. The
//!   signal follows the death of the *thread* that spawned the process, so every spawn
//!   happens on one thread that lives as long as mmrun.
//!
//! A process that leaves its group on purpose (`setsid`, a daemon) escapes all three.

use std::fs::OpenOptions;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How long `stop()` waits after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long teardown lets a framework process end on SIGTERM: short, as nothing waits for
/// what it does then.
pub const TEARDOWN_GRACE: Duration = Duration::from_millis(500);
/// How often a stopping process is checked.
const POLL: Duration = Duration::from_millis(10);

/// What a script asks of a framework process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessRequest {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Set on top of mmrun's own environment (after the backend's `MESOS_MASTER` & co, so a
    /// script may override those).
    pub env: Vec<(String, String)>,
    /// Where it runs; default: a fresh directory removed with the cluster.
    pub cwd: Option<PathBuf>,
}

/// Whether a framework (process or container) runs, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameworkStatus {
    Running,
    /// Its exit code; 128 + the signal's number when a signal ended it (as shells and Docker
    /// report it: 137 after SIGKILL, 143 after SIGTERM).
    Exited(i32),
}

/// One framework process: its command, its log and, while it runs, the process.
pub struct FrameworkProcess {
    /// `framework-1`, … : what errors and artifacts call it.
    pub label: String,
    request: ProcessRequest,
    /// Holds the log and, without a `cwd`, the working directory; removed on drop.
    dir: tempfile::TempDir,
    /// Removes `dir` should mmrun die without dropping this (SIGKILL): see `lifeline::guard`.
    _dir_watched: crate::lifeline::guard::Watched,
    log: PathBuf,
    cwd: PathBuf,
    run: Option<Run>,
    exit: Option<i32>,
}

/// One start of the command.
struct Run {
    child: Child,
    /// The process group: the leader's pid.
    group: i32,
    /// Registered with the process guard until the group was killed and the leader reaped.
    _watched: crate::lifeline::guard::Watched,
}

/// Why a framework process could not be started: the request's fault (a usage problem of
/// the script), or the machine's (files, process limits).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("give the command to run: cmd: [\"program\", \"arg\", …] or cmd: \"shell command\"")]
    NoCommand,
    #[error("the command's program (cmd[0]) is empty")]
    EmptyProgram,
    #[error(
        "cwd {} is not a directory: create it first, or leave cwd out to run in a fresh temporary directory",
        .0.display()
    )]
    NotADirectory(PathBuf),
    #[error("it is still running: stop() or kill() it first")]
    StillRunning,
    #[error("cannot run '{program}': no such program (give a path, absolute or relative to {}, or a program on PATH)", .cwd.display())]
    NoSuchProgram { program: String, cwd: PathBuf },
    #[error("cannot run '{program}': permission denied (is it executable?)")]
    NotExecutable { program: String },
    /// The machine failed: a file or directory that cannot be made, a spawn that failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProcessError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProcessError {
        let what = what.into();
        move |source| ProcessError::Io { what, source }
    }
}

/// The machine's failures are environment errors; the rest are the scenario's.
impl From<ProcessError> for super::BackendError {
    fn from(e: ProcessError) -> super::BackendError {
        match e {
            ProcessError::Io { .. } => super::BackendError::environment(e),
            _ => super::BackendError::failed(e),
        }
    }
}

impl FrameworkProcess {
    /// Starts `request` as `label`.
    pub async fn start(
        label: String,
        request: ProcessRequest,
    ) -> Result<FrameworkProcess, ProcessError> {
        let Some(program) = request.argv.first() else {
            return Err(ProcessError::NoCommand);
        };
        if program.is_empty() {
            return Err(ProcessError::EmptyProgram);
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("mmrun-{label}-"))
            .tempdir()
            .map_err(ProcessError::io("cannot create a temporary directory"))?;
        let cwd = match &request.cwd {
            Some(cwd) if cwd.is_dir() => cwd.clone(),
            Some(cwd) => return Err(ProcessError::NotADirectory(cwd.clone())),
            None => {
                let work = dir.path().join("work");
                std::fs::create_dir(&work).map_err(ProcessError::io(format!(
                    "cannot create {}",
                    work.display()
                )))?;
                work
            }
        };
        let log = dir.path().join("output.log");
        let mut process = FrameworkProcess {
            label,
            request,
            _dir_watched: crate::lifeline::guard::watch_dir(dir.path()),
            dir,
            log,
            cwd,
            run: None,
            exit: None,
        };
        process.spawn().await?;
        Ok(process)
    }

    /// The process's name in scripts and errors: `framework-1 (python3)`.
    pub fn name(&self) -> String {
        let program = self.request.argv.first().map_or("", String::as_str);
        let base = Path::new(program)
            .file_name()
            .map_or(program.into(), |n| n.to_string_lossy());
        format!("{} ({base})", self.label)
    }

    /// The temporary directory holding its log (and its default working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything it wrote so far, stdout and stderr interleaved as written, across restarts.
    pub fn logs(&self) -> String {
        match std::fs::read(&self.log) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("(cannot read {}: {e})\n", self.log.display()),
        }
    }

    pub fn status(&mut self) -> FrameworkStatus {
        self.reap();
        match (&self.run, self.exit) {
            (Some(_), _) => FrameworkStatus::Running,
            (None, Some(code)) => FrameworkStatus::Exited(code),
            (None, None) => FrameworkStatus::Exited(-1),
        }
    }

    /// Starts the same command again (a scheduler failover); it must have ended first.
    pub async fn restart(&mut self) -> Result<(), ProcessError> {
        if self.status() == FrameworkStatus::Running {
            return Err(ProcessError::StillRunning);
        }
        self.spawn().await
    }

    /// SIGTERM to the group, then SIGKILL once `grace` has passed (`None`: SIGKILL at once).
    /// Whatever of the group is left when the leader ends is killed too.
    pub async fn stop(&mut self, grace: Option<Duration>) {
        self.reap();
        let Some(run) = &self.run else {
            return;
        };
        let group = run.group;
        if let Some(grace) = grace {
            signal_group(group, libc::SIGTERM);
            let deadline = tokio::time::Instant::now() + grace;
            while self.run.is_some() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(POLL).await;
                self.reap();
            }
        }
        while self.run.is_some() {
            signal_group(group, libc::SIGKILL);
            tokio::time::sleep(POLL).await;
            self.reap();
        }
    }

    async fn spawn(&mut self) -> Result<(), ProcessError> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(ProcessError::io(format!(
                "cannot create {}",
                self.log.display()
            )))?;
        let err = out.try_clone().map_err(ProcessError::io(format!(
            "cannot share {}",
            self.log.display()
        )))?;
        let mut command = Command::new(&self.request.argv[0]);
        command
            .args(&self.request.argv[1..])
            .envs(self.request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // mmrun died between fork and prctl: nobody would ever send the signal.
                if libc::getppid() != parent {
                    libc::_exit(137);
                }
                Ok(())
            });
        }
        let program = self.request.argv[0].clone();
        let child = on_spawner_thread(move || command.spawn())
            .await
            .map_err(|e| spawn_error(&program, &self.cwd, e))?;
        let group = child.id() as i32;
        self.exit = None;
        self.run = Some(Run {
            _watched: crate::lifeline::guard::watch_group(Some(child.id())),
            child,
            group,
        });
        Ok(())
    }

    /// Notices the leader's end without blocking; kills what is left of its group.
    fn reap(&mut self) {
        let Some(run) = &mut self.run else {
            return;
        };
        let status = match run.child.try_wait() {
            Ok(None) => return,
            Ok(Some(status)) => exit_code(status),
            Err(_) => -1,
        };
        let run = self.run.take().expect("checked above");
        signal_group(run.group, libc::SIGKILL);
        drop(run);
        self.exit = Some(status);
    }
}

impl Drop for FrameworkProcess {
    /// Teardown, or a cluster dropped on an error path: nothing of the group survives.
    fn drop(&mut self) {
        if let Some(mut run) = self.run.take() {
            signal_group(run.group, libc::SIGKILL);
            let _ = run.child.kill();
            let _ = run.child.wait();
        }
    }
}

/// The framework processes a backend runs on this host, by the index scripts know them by
/// (`framework-<index + 1>`): what the embedded and external backends share.
#[derive(Default)]
pub struct HostFrameworks(Vec<FrameworkProcess>);

impl HostFrameworks {
    /// Starts `request` as the next framework; its index and name.
    pub async fn start(
        &mut self,
        request: ProcessRequest,
    ) -> Result<(usize, String), super::BackendError> {
        let index = self.0.len();
        let process = FrameworkProcess::start(format!("framework-{}", index + 1), request).await?;
        let name = process.name();
        self.0.push(process);
        Ok((index, name))
    }

    pub fn get(&mut self, index: usize) -> Result<&mut FrameworkProcess, super::BackendError> {
        self.0
            .get_mut(index)
            .ok_or_else(|| no_such_framework(index))
    }

    pub fn logs(&self, index: usize) -> Result<String, super::BackendError> {
        self.0
            .get(index)
            .map(FrameworkProcess::logs)
            .ok_or_else(|| no_such_framework(index))
    }

    /// Writes each one's log to `dir/<label>.log`; returns the files written.
    pub fn save_logs(&self, dir: &Path) -> Vec<PathBuf> {
        save_logs(&self.0, dir)
    }

    /// Stops them all, with the teardown grace, and forgets them.
    pub async fn stop_all(&mut self) {
        for f in &mut self.0 {
            f.stop(Some(TEARDOWN_GRACE)).await;
        }
        self.0.clear();
    }
}

/// The error for a framework index a backend does not have.
pub fn no_such_framework(index: usize) -> super::BackendError {
    super::BackendError::failed(format!("there is no framework-{}", index + 1))
}

/// Writes each process's log to `dir/<label>.log`; returns the files written.
pub fn save_logs<'a>(
    processes: impl IntoIterator<Item = &'a FrameworkProcess>,
    dir: &Path,
) -> Vec<PathBuf> {
    processes
        .into_iter()
        .filter_map(|p| {
            let path = dir.join(format!("{}.log", p.label));
            std::fs::write(&path, p.logs()).ok().map(|_| path)
        })
        .collect()
}

fn spawn_error(program: &str, cwd: &Path, e: std::io::Error) -> ProcessError {
    let program = program.to_string();
    match e.kind() {
        std::io::ErrorKind::NotFound => ProcessError::NoSuchProgram {
            program,
            cwd: cwd.to_path_buf(),
        },
        std::io::ErrorKind::PermissionDenied => ProcessError::NotExecutable { program },
        _ => ProcessError::io(format!("cannot run '{program}'"))(e),
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn signal_group(group: i32, signal: i32) {
    if group > 1 {
        // SAFETY: kill(2) with a negative pid signals that process group only.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

type SpawnJob = Box<dyn FnOnce() + Send>;

/// Runs `spawn` on the one thread that spawns framework processes (see the module comment:
/// `PR_SET_PDEATHSIG` fires when the spawning thread ends, so that thread must live as long as
/// mmrun).
async fn on_spawner_thread<T: Send + 'static>(
    spawn: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("mmrun-framework-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("a thread can be started");
        Mutex::new(tx)
    });
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: SpawnJob = Box::new(move || {
        let _ = reply.send(spawn());
    });
    sender
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job)
        .map_err(|_| std::io::Error::other("the spawner thread is gone"))?;
    answer
        .await
        .map_err(|_| std::io::Error::other("the spawner thread dropped the request"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ProcessRequest {
        ProcessRequest {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            ..ProcessRequest::default()
        }
    }

    /// Running, not a zombie (an orphan's zombie waits for init, which may be slow to reap).
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X']))
        })
    }

    async fn wait_for(path: &Path) -> String {
        for _ in 0..500 {
            if let Ok(text) = std::fs::read_to_string(path)
                && text.ends_with('\n')
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} was never written", path.display());
    }

    #[tokio::test]
    async fn runs_logs_and_reports_the_exit_code() {
        let mut p = FrameworkProcess::start(
            "framework-1".into(),
            ProcessRequest {
                env: vec![("GREETING".into(), "hello".into())],
                ..sh("echo $GREETING; echo oops >&2; pwd; exit 3")
            },
        )
        .await
        .unwrap();
        let work = p.dir().join("work");
        for _ in 0..500 {
            if p.status() != FrameworkStatus::Running {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        assert_eq!(p.status(), FrameworkStatus::Exited(3));
        let logs = p.logs();
        assert!(
            logs.contains("hello\n") && logs.contains("oops\n"),
            "{logs}"
        );
        assert!(logs.contains(&work.display().to_string()), "{logs}");
        assert_eq!(p.name(), "framework-1 (sh)");
        p.restart().await.unwrap();
        while p.status() == FrameworkStatus::Running {
            tokio::time::sleep(POLL).await;
        }
        assert_eq!(
            p.logs().matches("hello").count(),
            2,
            "the log spans restarts"
        );
        let dir = p.dir().to_path_buf();
        drop(p);
        assert!(!dir.exists(), "the temporary directory is removed");
    }

    #[tokio::test]
    async fn stop_reaches_children_and_kill_is_immediate() {
        let mut p = FrameworkProcess::start(
            "framework-1".into(),
            sh("trap 'echo got TERM; exit 0' TERM; sleep 300 & echo $! > child; wait"),
        )
        .await
        .unwrap();
        let child: i32 = wait_for(&p.dir().join("work/child"))
            .await
            .trim()
            .parse()
            .unwrap();
        assert!(alive(child));
        p.stop(Some(Duration::from_secs(5))).await;
        assert_eq!(p.status(), FrameworkStatus::Exited(0));
        assert!(p.logs().contains("got TERM"), "{}", p.logs());
        // Signalled with the group; its death is the kernel's to finish, so wait for it.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(child) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(child), "the grandchild was stopped with the group");

        assert!(p.restart().await.is_ok());
        assert!(matches!(p.restart().await, Err(ProcessError::StillRunning)));
        p.stop(None).await;
        assert_eq!(p.status(), FrameworkStatus::Exited(137));
    }

    #[tokio::test]
    async fn dropping_it_kills_the_whole_group() {
        let p = FrameworkProcess::start(
            "framework-1".into(),
            sh("sleep 300 & echo $! > child; wait"),
        )
        .await
        .unwrap();
        let child: i32 = wait_for(&p.dir().join("work/child"))
            .await
            .trim()
            .parse()
            .unwrap();
        drop(p);
        for _ in 0..200 {
            if !alive(child) {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("the grandchild {child} survived");
    }

    #[tokio::test]
    async fn bad_commands_say_what_to_do() {
        let e = FrameworkProcess::start(
            "framework-1".into(),
            ProcessRequest {
                argv: vec!["/no/such/program".into()],
                ..ProcessRequest::default()
            },
        )
        .await
        .err()
        .unwrap();
        assert!(e.to_string().contains("no such program"), "{e}");
        let e = FrameworkProcess::start(
            "framework-1".into(),
            ProcessRequest {
                cwd: Some("/no/such/dir".into()),
                ..sh("true")
            },
        )
        .await
        .err()
        .unwrap();
        assert!(e.to_string().contains("is not a directory"), "{e}");
        let e = FrameworkProcess::start("framework-1".into(), ProcessRequest::default())
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("give the command"), "{e}");
    }
}
