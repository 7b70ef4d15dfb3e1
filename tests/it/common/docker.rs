//! Tests against the real Docker daemon: skipping visibly without one (failing instead under
//! MMRUN_REQUIRE_DOCKER=1, as in CI), and removing what a test created, pass or fail.

use mmrun::docker::cleanup::remove_labelled_blocking;
use mmrun::docker::labels::new_run_id;
use mmrun::docker::{Docker, DockerError, Owner, Selector};

/// The daemon, or `None` after printing why the test skips (a panic under MMRUN_REQUIRE_DOCKER=1).
pub async fn docker_or_skip(test: &str) -> Option<Docker> {
    match Docker::connect().await {
        Ok(docker) => Some(docker),
        Err(e) if std::env::var("MMRUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1") => {
            panic!("MMRUN_REQUIRE_DOCKER=1 but no Docker daemon answers: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: {test}: {e}");
            None
        }
    }
}

/// [`docker_or_skip`] for tests without a runtime: whether a daemon answers.
pub fn docker_available(test: &str) -> bool {
    let test = test.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(docker_or_skip(&test))
            .is_some()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Removes, on drop, every object labelled with the test's run id, then the images it names.
pub struct Cleanup {
    pub host: String,
    pub run: String,
    pub images: Vec<String>,
}

impl Cleanup {
    pub fn new(docker: &Docker) -> Cleanup {
        Cleanup {
            host: docker.host().to_string(),
            run: new_run_id(),
            images: Vec::new(),
        }
    }

    /// An owner in the test's run, so what it creates is removed with the run.
    pub fn owner(&self, scenario: &str) -> Owner {
        Owner::new(&self.run, scenario)
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Err(e) = remove_labelled_blocking(&self.host, &Selector::run(&self.run)) {
            eprintln!("cleanup of run {}: {e}", self.run);
        }
        // Images after containers: Docker refuses to remove an image a container uses.
        let (host, images) = (self.host.clone(), std::mem::take(&mut self.images));
        if images.is_empty() {
            return;
        }
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let docker = Docker::connect_to(&host).await?;
                for image in images {
                    docker.remove_image(&image).await?;
                }
                Ok::<_, DockerError>(())
            })
        })
        .join()
        .unwrap()
        .unwrap_or_else(|e| eprintln!("cleanup of images: {e}"));
    }
}
