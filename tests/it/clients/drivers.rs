//! The real scheduler drivers, unmodified, against mmrun's libprocess ("driver") protocol: the
//! libmesos 1.11 C++ MesosSchedulerDriver (the code behind the Java, Scala, Python and C++ APIs)
//! through its Python 2.7 binding (tests/compat/libmesos/driver_scheduler.py), and mesos-go's
//! api/v0 MesosSchedulerDriver (tests/compat/go/src/mmrun-go-v0-scheduler). Tasks that need a
//! custom executor run on mesos-go's api/v0 executor driver (mmrun-go-v0-executor), fetched
//! from a URI, under either scheduler.
//!
//! Both schedulers take the same flags and print the same lines (REGISTERED <id>, UPDATE <task>
//! <state> <reason>, MESSAGE <data>, HOLDING, DONE, …), so each scenario is written once and
//! run for each driver: command tasks; executor tasks with framework messages both ways; a
//! kill; a scheduler failover that keeps its task; a master failover found through ZooKeeper;
//! a driver framework beside a v1 HTTP one. All against `mmrun up` (embedded), except the
//! master failover, which needs an in-process HA cluster to kill its leader.
//!
//! Needs libmesos (`.ci/libmesos-setup.sh`), mesos-go (`.ci/go-setup.sh`) and, for the master
//! failover, ZooKeeper: without them a test skips saying so, unless MMRUN_REQUIRE_LIBMESOS=1,
//! MMRUN_REQUIRE_MESOS_GO=1 or MMRUN_REQUIRE_ZOOKEEPER=1 (as in CI) makes that a failure.

use crate::common;

use common::WaitFor;
use common::ha::Ha;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::sync::mpsc;

/// A whole client run, start to exit: the clients give up on their own after 60 s (exit 3).
const RUN: Duration = Duration::from_secs(90);
/// One awaited line or state.
const STEP: Duration = Duration::from_secs(60);
/// The master's view catching up with what a client printed.
const STATE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The drivers
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    /// The C++ MesosSchedulerDriver of libmesos 1.11, through Python 2.7.
    Libmesos,
    /// mesos-go's api/v0 MesosSchedulerDriver.
    MesosGo,
}

impl Driver {
    fn label(self) -> &'static str {
        match self {
            Driver::Libmesos => "the libmesos (C++) driver scheduler",
            Driver::MesosGo => "the mesos-go v0 driver scheduler",
        }
    }

    /// The FrameworkInfo.name its scheduler registers with.
    fn framework_name(self) -> &'static str {
        match self {
            Driver::Libmesos => "mmrun-libmesos",
            Driver::MesosGo => "mmrun-go-v0",
        }
    }

    /// Whether `pid` is this driver's scheduler UPID on loopback: `scheduler-<uuid>@…` for the
    /// C++ driver, `scheduler(N)@…` for mesos-go.
    fn is_scheduler_pid(self, pid: &str) -> bool {
        let Some((id, addr)) = pid.split_once('@') else {
            return false;
        };
        let port = addr
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok());
        let id_ok = match self {
            Driver::Libmesos => id
                .strip_prefix("scheduler-")
                .is_some_and(|uuid| uuid.len() == 36 && uuid.matches('-').count() == 4),
            Driver::MesosGo => id
                .strip_prefix("scheduler(")
                .and_then(|n| n.strip_suffix(')'))
                .is_some_and(|n| n.parse::<u32>().is_ok()),
        };
        id_ok && port.is_some_and(|p| p != 0)
    }

    /// Where to look when it misbehaves.
    fn hint(self) -> &'static str {
        match self {
            Driver::Libmesos => {
                "hint: the C++ driver logs (glog, sched.cpp) on its stderr; the master's log \
                 shows what it received (POST /master/mesos.scheduler.Call) and sent"
            }
            Driver::MesosGo => {
                "hint: mesos-go logs (glog) on its stderr; run it with -v=2 for every message; \
                 the master's log shows what it received (POST /master/mesos.internal.*)"
            }
        }
    }
}

/// What a scenario runs: the driver scheduler's command line, and the executor's URI when the
/// scenario needs it.
struct Tools {
    driver: Driver,
    scheduler: Vec<OsString>,
    executor: Option<String>,
    /// tests/compat/go's built programs, when mesos-go is installed.
    go: Option<PathBuf>,
}

/// The programs `driver` needs (and mmrun-go-v0-executor with `executor`), or `None` after
/// saying why the test skips (a panic under MMRUN_REQUIRE_LIBMESOS / MMRUN_REQUIRE_MESOS_GO).
fn tools(driver: Driver, executor: bool) -> Option<Tools> {
    let (scheduler, go) = match driver {
        Driver::Libmesos => {
            let python = common::libmesos::python2_mesos()?;
            let go = if executor {
                Some(common::mesos_go::programs()?)
            } else {
                None
            };
            (
                vec![
                    python.into_os_string(),
                    common::libmesos::driver_scheduler().into_os_string(),
                ],
                go,
            )
        }
        Driver::MesosGo => {
            let go = common::mesos_go::programs()?;
            (
                vec![go.join("mmrun-go-v0-scheduler").into_os_string()],
                Some(go),
            )
        }
    };
    let executor = executor.then(|| {
        let path = go.as_ref().unwrap().join("mmrun-go-v0-executor");
        assert!(path.is_absolute(), "{}", path.display());
        path.display().to_string()
    });
    Some(Tools {
        driver,
        scheduler,
        executor,
        go,
    })
}

impl Tools {
    /// Starts the driver scheduler against `master` (`HOST:PORT` or `zk://…`) with `args`
    /// (both programs take `--flag value`; Go's flag package reads two dashes as one).
    fn scheduler(&self, master: &str, args: &[&str], up: Option<&Up>) -> Client {
        let mut command = tokio::process::Command::new(&self.scheduler[0]);
        command
            .args(&self.scheduler[1..])
            .args(["--master", master])
            .args(args);
        Client::spawn(self.driver.label(), command, up, self.driver.hint())
    }

    fn executor(&self) -> &str {
        self.executor.as_deref().expect("tools(…, true)")
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

/// A client program as a child process (SIGKILLed when dropped): its stdout line by line as
/// it comes, its stderr kept for failure messages.
struct Client {
    label: String,
    hint: String,
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
    /// `mmrun up`'s log and TMPDIR (its nodes' sandboxes): the log's tail and what the
    /// executors logged go into failure messages.
    up: Option<(PathBuf, PathBuf)>,
    /// Where `await_line` looks from.
    cursor: usize,
}

impl Client {
    fn spawn(
        label: &str,
        mut command: tokio::process::Command,
        up: Option<&Up>,
        hint: &str,
    ) -> Client {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{label} does not start: {e}"));
        let (tx, lines) = mpsc::unbounded_channel();
        let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut err, kept) = (child.stderr.take().unwrap(), stderr.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Client {
            label: label.to_string(),
            hint: hint.to_string(),
            child,
            lines,
            stdout: vec![],
            stderr,
            up: up.map(|up| (up.log.clone(), up.tmp.clone())),
            cursor: 0,
        }
    }

    /// Its stdout so far, its stderr's tail and the server log's tail, for a failure message.
    fn transcript(&mut self) -> String {
        self.drain();
        let stderr = tail_chars(&self.stderr.lock().unwrap(), 12_000).to_string();
        let mut text = format!(
            "--- {} stdout:\n{}\n--- its stderr (tail):\n{stderr}",
            self.label,
            self.stdout.join("\n")
        );
        if let Some((log, tmp)) = &self.up {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            text.push_str(&format!(
                "\n--- mmrun up's log (tail):\n{}",
                tail_lines(&log, 80)
            ));
            text.push_str(&executor_logs(tmp));
        }
        text.push_str(&format!("\n{}", self.hint));
        text
    }

    fn fail(&mut self, message: &str) -> ! {
        let transcript = self.transcript();
        panic!("{}: {message}\n{transcript}", self.label)
    }

    /// Takes in the lines it has printed so far.
    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.stdout.push(line);
        }
    }

    /// Waits (5 s at most) for `text` in its stderr: the clients log whom they registered with
    /// (`registered with master master@…`) just after printing the line.
    async fn await_stderr(&mut self, text: &str) {
        let stderr = self.stderr.clone();
        let logged = WaitFor::new(format!("it to log `{text}`"), Duration::from_secs(5))
            .until(|| async { stderr.lock().unwrap().contains(text) })
            .await;
        if logged.is_err() {
            self.fail(&format!("it did not log `{text}`"));
        }
    }

    /// Waits until `check` holds for its whole stdout so far; panics after `within`.
    async fn await_stdout(
        &mut self,
        what: &str,
        within: Duration,
        check: impl Fn(&[String]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + within;
        while !check(&self.stdout) {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.stdout.push(line),
                Ok(None) => {
                    let status = self.child.try_wait().ok().flatten();
                    self.fail(&format!("ended ({status:?}) before {what}"))
                }
                Err(_) => self.fail(&format!("no {what} within {within:?}")),
            }
        }
    }

    /// The first line after the last one this returned that `matches`; panics after `within`.
    async fn await_line(
        &mut self,
        what: &str,
        within: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        let from = self.cursor;
        self.await_stdout(what, within, |lines| {
            lines[from..].iter().any(|l| matches(l))
        })
        .await;
        let at = from + self.stdout[from..].iter().position(|l| matches(l)).unwrap();
        self.cursor = at + 1;
        self.stdout[at].clone()
    }

    /// Waits for it to exit; returns its status once all of its stdout is in.
    async fn exit(&mut self, within: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => self.fail(&format!("still running after {within:?}")),
        };
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_secs(10), self.lines.recv()).await
        {
            self.stdout.push(line);
        }
        status
    }

    /// Waits for it to exit 0 after `DONE`; returns its stdout.
    async fn done(&mut self, within: Duration) -> Vec<String> {
        let status = self.exit(within).await;
        if !status.success() {
            self.fail(&format!("exited {status}, not 0"));
        }
        if self.stdout.last().map(String::as_str) != Some("DONE") {
            self.fail("exited 0 without DONE as its last line");
        }
        self.stdout.clone()
    }

    /// SIGKILL, and waits for it to be gone.
    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = self.exit(Duration::from_secs(10)).await;
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "{} ended by SIGKILL, not on its own ({status})",
            self.label
        );
    }
}

/// What mmrun-go-v0-executor logged itself (its `mmrun-go-v0-executor: …` lines) in each
/// sandbox under `dir`.
fn executor_logs(dir: &Path) -> String {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.ends_with("stderr") {
                found.push(path);
            }
        }
    }
    let mut stderrs = vec![];
    walk(dir, &mut stderrs);
    let mut text = String::new();
    for path in stderrs {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        let own: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with("mmrun-go-v0-executor: "))
            .collect();
        if !own.is_empty() {
            text.push_str(&format!(
                "\n--- {}:\n{}",
                path.display(),
                own[own.len().saturating_sub(40)..].join("\n")
            ));
        }
    }
    text
}

fn tail_chars(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `mmrun up` (embedded) as a child process with its own TMPDIR, its log in a file. Dropping
/// it interrupts it (it then kills its tasks and removes its files), SIGKILL after 10 s.
struct Up {
    child: std::process::Child,
    /// `127.0.0.1:<port>`.
    master: String,
    log: PathBuf,
    /// Its TMPDIR, where its nodes' files (sandboxes included) are.
    tmp: PathBuf,
    _dir: tempfile::TempDir,
}

impl Up {
    fn start(agents: usize) -> Up {
        let dir = tempfile::Builder::new()
            .prefix("mmrun-drivers-")
            .tempdir()
            .unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let log = dir.path().join("mmrun-up.log");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mmrun"))
            .args(["up", "--port", "0", "--agents", &agents.to_string()])
            .env("TMPDIR", &tmp)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("mmrun up starts");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads (and so drains) its stdout for as long as it runs.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(m) = line.strip_prefix("MESOS_MASTER=") {
                    let _ = tx.send(m.to_string());
                }
            }
        });
        let mut up = Up {
            child,
            master: String::new(),
            log,
            tmp,
            _dir: dir,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(master) => up.master = master,
            Err(_) => panic!(
                "mmrun up printed no MESOS_MASTER= within 30 s; its log:\n{}",
                std::fs::read_to_string(&up.log).unwrap_or_default()
            ),
        }
        up
    }

    fn url(&self) -> String {
        format!("http://{}", self.master)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        if common::exit_within(&mut self.child, Duration::from_secs(10)).is_some() {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Reading what they printed and what the master says
// ---------------------------------------------------------------------------------------------

/// The framework id of `REGISTERED <id>` / `REREGISTERED <id>`.
fn registration_id(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("REGISTERED ")
        .or_else(|| line.strip_prefix("REREGISTERED "))?;
    Some(rest.trim())
}

/// The states the scheduler printed for `task`, in order.
fn states<'a>(stdout: &'a [String], task: &str) -> Vec<&'a str> {
    stdout
        .iter()
        .filter_map(|l| l.strip_prefix("UPDATE "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(task)).then(|| words.next()).flatten()
        })
        .collect()
}

fn the_registration(client: &mut Client, stdout: &[String]) -> String {
    match stdout.iter().find_map(|l| registration_id(l)) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => client.fail("no REGISTERED <framework id> line"),
    }
}

async fn master_state(master_url: &str) -> Result<serde_json::Value, String> {
    let url = format!("{master_url}/master/state");
    let response = reqwest::get(&url)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if status != 200 {
        return Err(format!("GET {url}: {status}"));
    }
    response
        .json()
        .await
        .map_err(|e| format!("GET {url}: not JSON: {e}"))
}

/// Polls the master's /master/state until `check` gives something; panics after `within` with
/// the last state and the client's transcript.
async fn await_state<T>(
    client: &mut Client,
    master_url: &str,
    what: &str,
    within: Duration,
    check: impl Fn(&serde_json::Value) -> Option<T>,
) -> T {
    let found = WaitFor::new(format!("the master's state to show {what}"), within)
        .every(Duration::from_millis(50))
        .until(|| async {
            let state = master_state(master_url).await?;
            check(&state).ok_or_else(|| format!("{state:#}"))
        })
        .await;
    found.unwrap_or_else(|e| client.fail(&e.to_string()))
}

/// The framework `id` among the active or inactive (not completed) ones.
fn framework<'a>(state: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    state["frameworks"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
}

fn completed_framework<'a>(
    state: &'a serde_json::Value,
    id: &str,
) -> Option<&'a serde_json::Value> {
    state["completed_frameworks"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
}

/// `(task id, state)` of the framework's tasks in `field` (`tasks` or `completed_tasks`), sorted.
fn task_states(framework: &serde_json::Value, field: &str) -> Vec<(String, String)> {
    let mut tasks: Vec<(String, String)> = framework[field]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .map(|t| {
                    (
                        t["id"].as_str().unwrap_or_default().to_string(),
                        t["state"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    tasks.sort();
    tasks
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Waits until the framework is completed (torn down) with exactly these completed tasks and
/// no live ones; returns it.
async fn await_completed(
    client: &mut Client,
    master_url: &str,
    id: &str,
    tasks: &[(&str, &str)],
) -> serde_json::Value {
    let expected = pairs(tasks);
    await_state(
        client,
        master_url,
        &format!("framework {id} completed with its tasks {tasks:?}"),
        STATE,
        |state| {
            completed_framework(state, id)
                .filter(|f| {
                    framework(state, id).is_none()
                        && task_states(f, "completed_tasks") == expected
                        && task_states(f, "tasks").is_empty()
                })
                .cloned()
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The scenarios, each run for both drivers
// ---------------------------------------------------------------------------------------------

/// Two command tasks run to TASK_FINISHED; the scheduler tears down (DONE, exit 0) and the
/// master keeps the framework among the completed ones with both tasks finished.
async fn command_tasks_finish(driver: Driver) {
    let Some(tools) = tools(driver, false) else {
        return;
    };
    let up = Up::start(1);
    let mut scheduler = tools.scheduler(
        &up.master,
        &["--tasks", "2", "--cmd", "echo from a driver task; exit 0"],
        Some(&up),
    );
    let stdout = scheduler.done(RUN).await;
    let id = the_registration(&mut scheduler, &stdout);
    for task in ["task-1", "task-2"] {
        let seen = states(&stdout, task);
        if seen != ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"] {
            scheduler.fail(&format!("{task} went through {seen:?}"));
        }
    }
    let fw = await_completed(
        &mut scheduler,
        &up.url(),
        &id,
        &[("task-1", "TASK_FINISHED"), ("task-2", "TASK_FINISHED")],
    )
    .await;
    assert_eq!(fw["name"], driver.framework_name(), "{fw:#}");
}

/// Two tasks on mesos-go's executor driver, fetched from the built binary's absolute path: each
/// gets "ping-<task>" from the scheduler (sent to the agent the offer came from) and answers
/// "echo:ping-<task>" (back through the agent), then finishes.
async fn executor_tasks_echo_messages(driver: Driver) {
    let Some(tools) = tools(driver, true) else {
        return;
    };
    let up = Up::start(1);
    let mut scheduler = tools.scheduler(
        &up.master,
        &["--tasks", "2", "--executor", tools.executor(), "--message"],
        Some(&up),
    );
    // Each echo first: a lost message shows as the scheduler timing out (exit 3).
    scheduler.exit(RUN).await;
    for task in ["task-1", "task-2"] {
        let echo = format!("MESSAGE echo:ping-{task}");
        if !scheduler.stdout.contains(&echo) {
            scheduler.fail(&format!(
                "no `{echo}`: the ping or its echo was lost on its way (scheduler → agent → \
                 executor → agent → master → scheduler). If the executor's log (its sandbox's \
                 stderr) has no `framework message \"ping-{task}\"`, the agent dropped the \
                 FrameworkToExecutorMessage the driver POSTed to slave(1): the C++ driver sends \
                 it on a libprocess temporary socket, closed as soon as the request is written, \
                 and an HTTP/1 server without half-close support (hyper's default) drops a \
                 request whose connection is already closed when it gets to it"
            ));
        }
    }
    let stdout = scheduler.done(RUN).await;
    let id = the_registration(&mut scheduler, &stdout);
    for task in ["task-1", "task-2"] {
        let seen = states(&stdout, task);
        if seen != ["TASK_RUNNING", "TASK_FINISHED"] {
            scheduler.fail(&format!("{task} went through {seen:?}"));
        }
    }
    let fw = await_completed(
        &mut scheduler,
        &up.url(),
        &id,
        &[("task-1", "TASK_FINISHED"), ("task-2", "TASK_FINISHED")],
    )
    .await;
    for task in fw["completed_tasks"].as_array().unwrap() {
        assert_eq!(
            task["executor_id"], "go-v0-executor",
            "the task ran on the fetched executor: {fw:#}"
        );
    }
}

/// A command task killed once RUNNING ends TASK_KILLED.
async fn a_killed_task_ends_killed(driver: Driver) {
    let Some(tools) = tools(driver, false) else {
        return;
    };
    let up = Up::start(1);
    let mut scheduler = tools.scheduler(&up.master, &["--kill-after-running"], Some(&up));
    let stdout = scheduler.done(RUN).await;
    let id = the_registration(&mut scheduler, &stdout);
    let seen = states(&stdout, "task-1");
    if seen.last() != Some(&"TASK_KILLED") || !seen.contains(&"TASK_RUNNING") {
        scheduler.fail(&format!("task-1 went through {seen:?}"));
    }
    await_completed(&mut scheduler, &up.url(), &id, &[("task-1", "TASK_KILLED")]).await;
}

/// Scheduler A (failover_timeout 60) holds a running task and is SIGKILLed; the master notices
/// the broken link and deactivates the framework but keeps it and its task; scheduler B
/// registers with A's framework id, finds the task RUNNING through implicit reconciliation,
/// kills it and tears down.
async fn a_failed_over_scheduler_keeps_its_task(driver: Driver, on_executor: bool) {
    let Some(tools) = tools(driver, on_executor) else {
        return;
    };
    let up = Up::start(1);
    let mut args = vec!["--hold", "--failover-timeout", "60"];
    if on_executor {
        args.extend(["--executor", tools.executor()]);
    }
    let mut a = tools.scheduler(&up.master, &args, Some(&up));
    a.await_stdout("HOLDING", STEP, |l| l.iter().any(|l| l == "HOLDING"))
        .await;
    let stdout = a.stdout.clone();
    let id = the_registration(&mut a, &stdout);
    let a_pid = await_state(
        &mut a,
        &up.url(),
        &format!("framework {id} active, with its driver's pid and task-1 RUNNING"),
        STATE,
        |state| {
            let f = framework(state, &id)?;
            let pid = f["pid"].as_str()?;
            (f["active"] == true
                && driver.is_scheduler_pid(pid)
                && task_states(f, "tasks") == pairs(&[("task-1", "TASK_RUNNING")]))
            .then(|| pid.to_string())
        },
    )
    .await;

    a.kill().await;
    await_state(
        &mut a,
        &up.url(),
        &format!("framework {id} inactive (its scheduler's link broken), task-1 still RUNNING"),
        STATE,
        |state| {
            let f = framework(state, &id)?;
            (f["active"] == false
                && task_states(f, "tasks") == pairs(&[("task-1", "TASK_RUNNING")]))
            .then_some(())
        },
    )
    .await;

    let mut b = tools.scheduler(
        &up.master,
        &[
            "--framework-id",
            &id,
            "--failover-timeout",
            "60",
            "--reconcile",
            "--tasks",
            "0",
        ],
        Some(&up),
    );
    let line = b
        .await_line("a (re)registration", STEP, |l| registration_id(l).is_some())
        .await;
    if registration_id(&line) != Some(id.as_str()) {
        b.fail(&format!(
            "registered as `{line}`, not with framework id {id}"
        ));
    }
    // While B runs, the master sends to B: its pid replaced A's. (B tears down 2 s after the
    // last reconciliation answer; once it has, the framework is completed, checked below.)
    let state = match master_state(&up.url()).await {
        Ok(state) => state,
        Err(e) => b.fail(&e),
    };
    if let Some(f) = framework(&state, &id) {
        let pid = f["pid"].as_str().unwrap_or_default();
        if f["active"] != true || !driver.is_scheduler_pid(pid) || pid == a_pid {
            b.fail(&format!(
                "after B registered, the framework is not active at a new pid (A's was \
                 {a_pid}): {f:#}"
            ));
        }
    }
    let stdout = b.done(RUN).await;
    let reconciled = stdout
        .iter()
        .position(|l| l == "UPDATE task-1 TASK_RUNNING REASON_RECONCILIATION");
    let killed = stdout
        .iter()
        .position(|l| l.starts_with("UPDATE task-1 TASK_KILLED "));
    match (reconciled, killed) {
        (Some(r), Some(k)) if r < k => {}
        _ => b.fail("no reconciled TASK_RUNNING for task-1 followed by its TASK_KILLED"),
    }
    if stdout
        .iter()
        .any(|l| registration_id(l).is_some_and(|i| i != id))
    {
        b.fail(&format!("a registration under an id other than {id}"));
    }
    await_completed(&mut b, &up.url(), &id, &[("task-1", "TASK_KILLED")]).await;
}

/// The ZooKeeper session timeout of the HA cluster's masters.
const SESSION: Duration = Duration::from_secs(2);

/// The driver, given only `zk://…/mesos`, finds the leader and holds a running task; the leader
/// dies; the driver follows the new leader there (same framework id) and the new leader shows
/// the framework active with its task RUNNING.
async fn the_driver_follows_a_master_failover_through_zookeeper(driver: Driver) {
    let Some(tools) = tools(driver, false) else {
        return;
    };
    let test = format!("{driver:?} driver through a ZooKeeper master failover");
    let Some(mut ha) = Ha::start(&test, 3, SESSION).await else {
        return;
    };
    ha.cluster.add_agent(Default::default()).await.unwrap();
    let zk_url = ha.url.to_string();
    let old = ha.leader().expect("a leader");

    let mut scheduler = tools.scheduler(&zk_url, &["--hold", "--failover-timeout", "60"], None);
    scheduler
        .await_stdout("HOLDING", STEP, |l| l.iter().any(|l| l == "HOLDING"))
        .await;
    let stdout = scheduler.stdout.clone();
    let id = the_registration(&mut scheduler, &stdout);
    scheduler
        .await_stderr(&format!(
            "registered with master master@{}",
            ha.host_port(old)
        ))
        .await;
    await_state(
        &mut scheduler,
        &ha.url(old),
        &format!("framework {id} active on the first leader with task-1 RUNNING"),
        STATE,
        |state| {
            let f = framework(state, &id)?;
            (f["active"] == true
                && f["pid"]
                    .as_str()
                    .is_some_and(|p| driver.is_scheduler_pid(p))
                && task_states(f, "tasks") == pairs(&[("task-1", "TASK_RUNNING")]))
            .then_some(())
        },
    )
    .await;

    // Only registrations printed from now on count as following the failover.
    scheduler.drain();
    scheduler.cursor = scheduler.stdout.len();
    ha.cluster.stop_master(old, false).await.unwrap();
    let new = ha
        .await_leader(Some(old), SESSION + Duration::from_secs(10))
        .await;
    let line = scheduler
        .await_line("a (re)registration after the failover", STEP, |l| {
            registration_id(l).is_some()
        })
        .await;
    if registration_id(&line) != Some(id.as_str()) {
        scheduler.fail(&format!(
            "after the failover: `{line}`, not framework id {id}"
        ));
    }
    eprintln!("{driver:?} after the master failover: {line}");
    scheduler
        .await_stderr(&format!(
            "registered with master master@{}",
            ha.host_port(new)
        ))
        .await;
    await_state(
        &mut scheduler,
        &ha.url(new),
        &format!("framework {id} active on the new leader with task-1 RUNNING"),
        Duration::from_secs(40),
        |state| {
            let f = framework(state, &id)?;
            (f["active"] == true
                && f["pid"]
                    .as_str()
                    .is_some_and(|p| driver.is_scheduler_pid(p))
                && task_states(f, "tasks") == pairs(&[("task-1", "TASK_RUNNING")]))
            .then_some(())
        },
    )
    .await;
    scheduler.kill().await;
    ha.shutdown().await;
}

/// A v1 HTTP framework (mesos-go's v1 scheduler, protobuf) and a driver framework on one
/// cluster at once: both have running tasks at the same time, the master tells them apart (a
/// `pid` only for the driver's), and both finish.
async fn side_by_side_with_a_v1_framework(driver: Driver) {
    let Some(tools) = tools(driver, false) else {
        return;
    };
    let Some(go) = tools.go.clone().or_else(common::mesos_go::programs) else {
        return;
    };
    let up = Up::start(1);
    // Each framework's tasks run until the test lets them finish, so both frameworks have
    // running tasks at the same time.
    let gate = tempfile::tempdir().unwrap();
    let open = gate.path().join("open");
    let cmd = format!(
        "while [ ! -e '{}' ]; do sleep 0.05; done; echo gate open",
        open.display()
    );

    let mut driven = tools.scheduler(&up.master, &["--tasks", "2", "--cmd", &cmd], Some(&up));
    driven
        .await_stdout("both tasks TASK_RUNNING", STEP, |l| {
            ["task-1", "task-2"]
                .iter()
                .all(|t| states(l, t).contains(&"TASK_RUNNING"))
        })
        .await;
    let stdout = driven.stdout.clone();
    let driver_id = the_registration(&mut driven, &stdout);

    let mut v1_command = tokio::process::Command::new(go.join("mmrun-go-scheduler"));
    v1_command.args(["-cmd", &cmd]).arg(up.url());
    let mut v1 = Client::spawn(
        "the mesos-go v1 (HTTP) scheduler",
        v1_command,
        Some(&up),
        "hint: it speaks /api/v1/scheduler in protobuf; see tests/it/clients/mesos_go.rs",
    );
    let subscribed = v1
        .await_line("SUBSCRIBED", STEP, |l| l.starts_with("SUBSCRIBED "))
        .await;
    let v1_id = subscribed["SUBSCRIBED ".len()..].trim().to_string();
    v1.await_line("go-task TASK_RUNNING", STEP, |l| {
        l == "UPDATE go-task TASK_RUNNING"
    })
    .await;

    let both = await_state(
        &mut driven,
        &up.url(),
        "both frameworks active with their tasks RUNNING",
        STATE,
        |state| {
            let d = framework(state, &driver_id)?;
            let h = framework(state, &v1_id)?;
            (d["active"] == true
                && h["active"] == true
                && task_states(d, "tasks")
                    == pairs(&[("task-1", "TASK_RUNNING"), ("task-2", "TASK_RUNNING")])
                && task_states(h, "tasks") == pairs(&[("go-task", "TASK_RUNNING")]))
            .then(|| (d.clone(), h.clone()))
        },
    )
    .await;
    let (d, h) = both;
    assert!(
        d["pid"]
            .as_str()
            .is_some_and(|p| driver.is_scheduler_pid(p)),
        "the driver framework shows its scheduler's pid: {d:#}"
    );
    assert!(
        h.get("pid").is_none(),
        "an HTTP framework has no pid: {h:#}"
    );

    std::fs::write(&open, b"").unwrap();
    let status = v1.exit(RUN).await;
    if !status.success() {
        v1.fail(&format!("exited {status}"));
    }
    if states(&v1.stdout, "go-task").last() != Some(&"TASK_FINISHED") {
        v1.fail("go-task did not end TASK_FINISHED");
    }
    let stdout = driven.done(RUN).await;
    for task in ["task-1", "task-2"] {
        if states(&stdout, task).last() != Some(&"TASK_FINISHED") {
            driven.fail(&format!("{task} did not end TASK_FINISHED"));
        }
    }
    await_completed(
        &mut driven,
        &up.url(),
        &driver_id,
        &[("task-1", "TASK_FINISHED"), ("task-2", "TASK_FINISHED")],
    )
    .await;
    await_completed(&mut v1, &up.url(), &v1_id, &[("go-task", "TASK_FINISHED")]).await;
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn libmesos_driver_runs_two_command_tasks_to_finished() {
    command_tasks_finish(Driver::Libmesos).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_driver_runs_two_command_tasks_to_finished() {
    command_tasks_finish(Driver::MesosGo).await;
}

/// The C++ driver POSTs FrameworkToExecutorMessage straight to the agent on a libprocess
/// temporary socket, closed right after the request: the agent must still handle it (mmrun's
/// HTTP server serves half-closed connections; without that this failed every other run).
#[tokio::test(flavor = "multi_thread")]
async fn libmesos_driver_runs_tasks_on_the_fetched_mesos_go_executor_with_messages_both_ways() {
    executor_tasks_echo_messages(Driver::Libmesos).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_driver_runs_tasks_on_the_fetched_mesos_go_executor_with_messages_both_ways() {
    executor_tasks_echo_messages(Driver::MesosGo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn libmesos_driver_kills_a_running_task() {
    a_killed_task_ends_killed(Driver::Libmesos).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_driver_kills_a_running_task() {
    a_killed_task_ends_killed(Driver::MesosGo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn libmesos_scheduler_failover_keeps_its_command_task() {
    a_failed_over_scheduler_keeps_its_task(Driver::Libmesos, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_scheduler_failover_keeps_its_task_on_the_mesos_go_executor() {
    a_failed_over_scheduler_keeps_its_task(Driver::MesosGo, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn libmesos_driver_follows_a_master_failover_through_zookeeper() {
    the_driver_follows_a_master_failover_through_zookeeper(Driver::Libmesos).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_driver_follows_a_master_failover_through_zookeeper() {
    the_driver_follows_a_master_failover_through_zookeeper(Driver::MesosGo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn libmesos_driver_framework_side_by_side_with_a_v1_framework() {
    side_by_side_with_a_v1_framework(Driver::Libmesos).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_driver_framework_side_by_side_with_a_v1_framework() {
    side_by_side_with_a_v1_framework(Driver::MesosGo).await;
}

#[test]
fn scheduler_pids_are_told_apart() {
    assert!(Driver::MesosGo.is_scheduler_pid("scheduler(1)@127.0.0.1:41234"));
    assert!(!Driver::MesosGo.is_scheduler_pid("scheduler(1)@127.0.0.1:0"));
    assert!(!Driver::MesosGo.is_scheduler_pid("master@127.0.0.1:5050"));
    assert!(
        Driver::Libmesos
            .is_scheduler_pid("scheduler-effdaa5c-bdbc-4cfb-9853-405b12b15502@127.0.0.1:40385")
    );
    assert!(!Driver::Libmesos.is_scheduler_pid("scheduler(1)@127.0.0.1:41234"));
    assert_eq!(registration_id("REREGISTERED abc-0001"), Some("abc-0001"));
    let stdout: Vec<String> = [
        "UPDATE task-1 TASK_RUNNING -",
        "UPDATE task-10 TASK_FAILED -",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(states(&stdout, "task-1"), ["TASK_RUNNING"]);
}
