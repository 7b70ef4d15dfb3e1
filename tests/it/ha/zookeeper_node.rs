//! A real Apache ZooKeeper node, as mmrun runs it: a child process (the embedded backend's) and
//! a container of `mmrun-zookeeper:<hash>` on a cluster network (the Docker backend's). Clients
//! are the `zookeeper-client` crate, speaking ZooKeeper's own protocol.
//!
//! Without ZooKeeper installed (`apt-get install zookeeper`) the tests print `SKIPPED: …` and
//! pass, unless MMRUN_REQUIRE_ZOOKEEPER=1 (set in CI) makes that a failure; the Docker test
//! likewise needs a daemon (MMRUN_REQUIRE_DOCKER=1). Everything a test starts is removed on
//! drop, pass or fail: the server's process and directory, the test run's containers and network.

use crate::common;

use common::docker::{Cleanup, docker_or_skip};
use common::wait_for;
use common::zookeeper::install_or_skip as zookeeper_or_skip;
use mmrun::cluster::docker::layout::{Layout, Reach, subnet_candidates};
use mmrun::cluster::docker::node::NodeContainer;
use mmrun::cluster::docker::zookeeper::{
    ZOOKEEPER_PORT, wait_ready, zookeeper_address, zookeeper_spec,
};
use mmrun::docker::{
    Docker, Role, Selector, ZooKeeperImage, ensure_zookeeper_image, remove_labelled,
};
use mmrun::zookeeper::server::ruok;
use mmrun::zookeeper::{ServerError, ZooKeeperInstall, ZooKeeperServer};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use zookeeper_client::{Acls, Client, CreateMode};

async fn client(connect: &str) -> Client {
    tokio::time::timeout(Duration::from_secs(20), Client::connect(connect))
        .await
        .unwrap_or_else(|_| panic!("no ZooKeeper session with {connect} within 20 s"))
        .unwrap_or_else(|e| panic!("cannot connect to ZooKeeper at {connect}: {e}"))
}

async fn create(client: &Client, path: &str, data: &[u8]) {
    client
        .create(
            path,
            data,
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot create {path}: {e}"));
}

async fn read(client: &Client, path: &str) -> Vec<u8> {
    client
        .get_data(path)
        .await
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
        .0
}

/// Processes, not zombies, whose command line mentions `needle` (the server's zoo.cfg path).
fn processes_mentioning(needle: &Path) -> Vec<u32> {
    let needle = needle.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with(['Z', 'X']));
            !zombie && String::from_utf8_lossy(&cmdline).contains(&needle)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_child_process_serves_clients_and_keeps_its_znodes_across_a_restart() {
    let Some(install) = zookeeper_or_skip("ZooKeeper child process") else {
        return;
    };
    let mut server = ZooKeeperServer::new(&install, None).unwrap();
    let started = Instant::now();
    server.start().await.unwrap();
    eprintln!("child process: imok {:?} after start", started.elapsed());
    assert!(server.is_running());
    let port = server.port();
    assert_eq!(server.connect_string(), format!("127.0.0.1:{port}"));
    assert_eq!(
        server.zk_url("/mesos"),
        format!("zk://127.0.0.1:{port}/mesos")
    );
    let url = mmrun::zookeeper::ZkUrl::parse(&server.zk_url("/mesos")).unwrap();
    assert_eq!(url.connect_string(), server.connect_string());

    let zk = client(&server.connect_string()).await;
    create(&zk, "/mmrun", b"").await;
    create(&zk, "/mmrun/kept", b"across restarts").await;
    assert_eq!(read(&zk, "/mmrun/kept").await, b"across restarts");
    drop(zk);

    server.stop().await;
    assert!(!server.is_running());
    assert!(!ruok(SocketAddr::from(([127, 0, 0, 1], port))).await);
    server.start().await.unwrap();
    assert_eq!(server.port(), port, "same port after a restart");
    let zk = client(&server.connect_string()).await;
    assert_eq!(read(&zk, "/mmrun/kept").await, b"across restarts");
    drop(zk);

    // A crash loses nothing either: ZooKeeper syncs its log before it answers a write.
    let zk = client(&server.connect_string()).await;
    create(&zk, "/mmrun/after-kill", b"synced").await;
    drop(zk);
    server.kill().await;
    server.start().await.unwrap();
    let zk = client(&server.connect_string()).await;
    assert_eq!(read(&zk, "/mmrun/after-kill").await, b"synced");
    assert!(
        server.logs().contains("ZooKeeperServer"),
        "{}",
        server.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_and_drop_leave_no_process_and_no_directory() {
    let Some(install) = zookeeper_or_skip("ZooKeeper kill and drop") else {
        return;
    };
    let mut server = ZooKeeperServer::new(&install, None).unwrap();
    let config = server.config_file();
    server.start().await.unwrap();
    assert_eq!(processes_mentioning(&config).len(), 1, "one java process");
    server.kill().await;
    assert!(
        processes_mentioning(&config).is_empty(),
        "killed and reaped"
    );
    assert!(!server.is_running());

    server.start().await.unwrap();
    let dir = config.parent().unwrap().to_path_buf();
    assert!(server.data_dir().starts_with(&dir));
    drop(server);
    assert!(processes_mentioning(&config).is_empty(), "dropped: killed");
    assert!(!dir.exists(), "dropped: its directory is removed");
}

/// Set in the child of [`nothing_outlives_a_sigkilled_owner`]: the child runs that test's
/// other half.
const OWNER_ENV: &str = "MMRUN_TEST_ZOOKEEPER_OWNER";

/// The child's half: with mmrun's process guard started (as `mmrun run` and `up` start it),
/// start a server, say where its files are, and wait to be killed. Not a test of its own:
/// ignored, so that it never counts as a pass, and run (`--ignored --exact`) only by
/// [`nothing_outlives_a_sigkilled_owner`], which it checks started it.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "the child process of nothing_outlives_a_sigkilled_owner, which runs it"]
async fn zookeeper_owner_child() {
    assert!(
        std::env::var_os(OWNER_ENV).is_some(),
        "zookeeper_owner_child is the child half of nothing_outlives_a_sigkilled_owner: run that"
    );
    mmrun::process::guard::start(Path::new(env!("CARGO_BIN_EXE_mmrun"))).unwrap();
    let install = ZooKeeperInstall::find().unwrap();
    let mut server = ZooKeeperServer::new(&install, None).unwrap();
    server.start().await.unwrap();
    println!("CONFIG={}", server.config_file().display());
    // Killed by the parent; should the parent die first, its end of stdin closes, and the
    // child ends too rather than linger.
    tokio::task::spawn_blocking(|| {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
    })
    .await
    .unwrap()
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_outlives_a_sigkilled_owner() {
    use std::io::BufRead;
    if zookeeper_or_skip("ZooKeeper owner killed").is_none() {
        return;
    }
    // The child test's name as the harness knows it: its path below the crate.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            &format!("{module}::zookeeper_owner_child"),
            "--nocapture",
        ])
        .env(OWNER_ENV, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let config = loop {
        match lines.next() {
            Some(Ok(line)) => match line.strip_prefix("CONFIG=") {
                Some(path) => break std::path::PathBuf::from(path),
                None => continue,
            },
            _ => {
                let _ = child.kill();
                panic!("the child ended without starting ZooKeeper");
            }
        }
    };
    assert_eq!(processes_mentioning(&config).len(), 1);
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    wait_for(
        "java and the server's directory to go with their owner",
        Duration::from_secs(10),
        || async {
            let java = processes_mentioning(&config);
            match java.is_empty() && !config.exists() {
                true => Ok(()),
                false => Err(format!(
                    "java processes {java:?}; the directory exists: {}",
                    config.exists()
                )),
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_cannot_start_says_why_with_its_log() {
    let Some(install) = zookeeper_or_skip("ZooKeeper start failure") else {
        return;
    };
    // The port is taken: ZooKeeper cannot bind it and exits.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut server = ZooKeeperServer::new(&install, Some(port)).unwrap();
    let config = server.config_file();
    let e = server.start().await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ServerError::Exited { .. }), "{text}");
    assert!(text.contains("its last log lines"), "{text}");
    assert!(text.contains("Address already in use"), "{text}");
    assert!(processes_mentioning(&config).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_zookeeper_image_runs_on_a_cluster_network_and_goes_with_the_cluster() {
    let Some(install) = zookeeper_or_skip("ZooKeeper image") else {
        return;
    };
    let Some(docker) = docker_or_skip("ZooKeeper image").await else {
        return;
    };
    let cleanup = Cleanup::new(&docker);
    let install_again = install.clone();
    let expected = tokio::task::spawn_blocking(move || ZooKeeperImage::of(&install_again))
        .await
        .unwrap()
        .unwrap();
    let started = Instant::now();
    let tag = ensure_zookeeper_image(&docker).await.unwrap();
    eprintln!("{tag} ensured in {:?}", started.elapsed());
    assert_eq!(
        tag,
        expected.tag(),
        "the tag is the content hash of this host's install"
    );
    assert!(tag.starts_with("mmrun-zookeeper:"));
    assert!(docker.image_exists(&tag).await.unwrap());

    let layout = network(&docker, &cleanup).await;
    let spec = zookeeper_spec(&layout, &tag);
    assert!(spec.name.starts_with("mmrun-") && spec.name.ends_with("-zookeeper"));
    let mut node = NodeContainer::create(&docker, "zookeeper", spec)
        .await
        .unwrap();
    let started = Instant::now();
    node.start(&docker).await.unwrap();
    wait_ready(&docker, &node, Duration::from_secs(30))
        .await
        .unwrap();
    eprintln!("container: imok {:?} after start", started.elapsed());

    // Reachable from the host through the published port, and at its fixed address on the
    // cluster network (where masters and agents will reach it).
    let published = node.address().unwrap();
    assert!(published.ip().is_loopback(), "{published}");
    let zk = client(&published.to_string()).await;
    create(&zk, "/kept", b"in the container").await;
    drop(zk);
    assert_eq!(zookeeper_address(&layout).port(), ZOOKEEPER_PORT);
    assert!(
        ruok(zookeeper_address(&layout)).await,
        "answers on the network"
    );

    // `docker stop` + `start` keeps its data, as a ZooKeeper restart should.
    docker
        .stop_container(&node.id, Duration::from_secs(5))
        .await
        .unwrap();
    node.start(&docker).await.unwrap();
    wait_ready(&docker, &node, Duration::from_secs(30))
        .await
        .unwrap();
    let zk = client(&node.address().unwrap().to_string()).await;
    assert_eq!(read(&zk, "/kept").await, b"in the container");
    drop(zk);

    // The cluster's teardown (everything labelled with its run) removes it.
    let removed = remove_labelled(&docker, &Selector::run(&cleanup.run))
        .await
        .unwrap();
    assert!(removed.containers.contains(&node.name), "{removed:?}");
    assert!(docker.inspect(&node.id).await.unwrap().is_none());
    assert!(
        docker
            .list_networks(&Selector::run(&cleanup.run))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A cluster network as the Docker backend makes one, labelled with the test's run.
async fn network(docker: &Docker, cleanup: &Cleanup) -> Layout {
    let owner = cleanup.owner("zookeeper");
    let name = owner.name(Role::Network, None);
    let labels = owner.labels(Role::Network);
    for subnet in subnet_candidates() {
        let created = docker
            .create_network_on(&name, &labels, &Layout::subnet_cidr(subnet))
            .await
            .unwrap();
        if created.is_some() {
            // Published, as where the cluster network is not this host's own: the backend's
            // own tests reach nodes directly.
            return Layout {
                owner,
                network: name,
                subnet,
                reach: Reach::Published,
            };
        }
    }
    panic!("no free subnet for a cluster network");
}
