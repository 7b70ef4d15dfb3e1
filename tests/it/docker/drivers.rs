//! Driver-based schedulers on this host against a Docker cluster, as a user runs them from a
//! scenario (`c.run_framework`): the genuine libmesos C++ scheduler driver (Python 2.7 binding)
//! and mesos-go's api/v0 driver, their tasks as command tasks and on mesos-go's v0 executor
//! driver, which the agent fetches over HTTP and runs inside its own container. The master
//! must reach the schedulers (LIBPROCESS_IP, the cluster network's gateway), the schedulers
//! must take the master's messages (MESOS_MASTER is its advertised address), and the agent
//! must reach the executor at the address it binds (its LIBPROCESS_IP, the agent's).

use crate::common;
use crate::common::workspace::{Workspace, code_and_text};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// Serves the files of `dir` over HTTP on every address of this host (the agents' containers
/// fetch from the cluster network's gateway) until dropped.
struct FileServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FileServer {
    fn start(dir: &Path) -> FileServer {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (dir, stopping) = (dir.to_path_buf(), stop.clone());
        // Blocks in accept; the drop wakes it with a connection of its own once `stop` is set.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve_one(stream, &dir);
                }
            }
        });
        FileServer { port, stop }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_one(mut stream: std::net::TcpStream, dir: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let name = request
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/');
    let file = dir.join(name);
    let answer = match std::fs::read(&file) {
        Ok(body) if !name.contains("..") => {
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            head.extend(body);
            head
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&answer);
}

#[test]
fn driver_schedulers_on_this_host_run_tasks_on_a_docker_cluster_and_its_fetched_driver_executor() {
    if !common::docker::docker_available("driver schedulers against a Docker cluster") {
        return;
    }
    let Some(python) = common::libmesos::python2_mesos() else {
        return;
    };
    let Some(programs) = common::mesos_go::programs() else {
        return;
    };
    let server = FileServer::start(&programs);
    let w = Workspace::new("mmrun-docker-drivers-", &["scripts"]);
    let script: PathBuf = w.path("scripts/drivers.rhai");
    std::fs::write(
        &script,
        r#"
requires_docker();
let c = cluster(#{ agents: 1 });
// libmesos (C++ driver): two command tasks.
let cpp = c.run_framework(#{ cmd: `exec "${env("PY2")}" "${env("LIBMESOS_SCHEDULER")}" --master $MESOS_MASTER --tasks 2` });
assert_eq(cpp.wait("90s"), 0, cpp.logs());
assert(cpp.logs().contains("UPDATE task-2 TASK_FINISHED") && cpp.logs().contains("DONE"), cpp.logs());
// mesos-go v0: two tasks on its v0 executor, fetched by the agent, a message both ways each.
let v0 = c.run_framework(#{ cmd: `exec "${env("GO_SCHEDULER")}" -master $MESOS_MASTER -address $LIBPROCESS_IP -tasks 2 -executor "http://$LIBPROCESS_IP:${env("EXECUTOR_PORT")}/mmrun-go-v0-executor" -message` });
assert_eq(v0.wait("90s"), 0, v0.logs());
assert(v0.logs().contains("MESSAGE echo:ping-task-1") && v0.logs().contains("MESSAGE echo:ping-task-2"), v0.logs());
// And the C++ driver's tasks on that executor: its framework message goes straight to the
// agent in its container.
let both = c.run_framework(#{ cmd: `exec "${env("PY2")}" "${env("LIBMESOS_SCHEDULER")}" --master $MESOS_MASTER --tasks 1 --executor "http://$LIBPROCESS_IP:${env("EXECUTOR_PORT")}/mmrun-go-v0-executor" --message` });
assert_eq(both.wait("90s"), 0, both.logs());
assert(both.logs().contains("MESSAGE echo:ping-task-1"), both.logs());
"#,
    )
    .unwrap();
    let out = w
        .mmrun(&["run", "--backend", "docker", script.to_str().unwrap()])
        .current_dir(w.root())
        .env("PY2", &python)
        .env("LIBMESOS_SCHEDULER", common::libmesos::driver_scheduler())
        .env("GO_SCHEDULER", programs.join("mmrun-go-v0-scheduler"))
        .env("EXECUTOR_PORT", server.port.to_string())
        .output()
        .unwrap();
    let (code, text) = code_and_text(&out);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS ["), "{text}");
    drop(server);
}
