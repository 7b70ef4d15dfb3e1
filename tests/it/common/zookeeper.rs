//! This host's Apache ZooKeeper for the tests that need a real one (`apt-get install zookeeper`;
//! `.ci/zookeeper-setup.sh` installs it in CI). Without it a test prints `SKIPPED: …` and
//! passes, unless MMRUN_REQUIRE_ZOOKEEPER=1 (set in CI) makes that a failure.

use mmrun::zookeeper::{ZooKeeperInstall, ZooKeeperServer};

/// This host's ZooKeeper, or `None` after printing why `test` skips (a panic under
/// MMRUN_REQUIRE_ZOOKEEPER=1).
pub fn install_or_skip(test: &str) -> Option<ZooKeeperInstall> {
    match ZooKeeperInstall::find() {
        Ok(install) => Some(install),
        Err(e) if std::env::var("MMRUN_REQUIRE_ZOOKEEPER").is_ok_and(|v| v == "1") => {
            panic!("MMRUN_REQUIRE_ZOOKEEPER=1 but {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: {test}: {e}");
            None
        }
    }
}

/// A standalone server on a free port, started and answering, or `None` (see
/// [`install_or_skip`]). Dropping it kills it and removes its files.
pub async fn server_or_skip(test: &str) -> Option<ZooKeeperServer> {
    let install = install_or_skip(test)?;
    let mut server = ZooKeeperServer::new(&install, None).expect("a ZooKeeper server directory");
    server.start().await.expect("ZooKeeper starts");
    Some(server)
}
