//! A container's output, stdout and stderr kept apart (containers run without a TTY, so Docker
//! multiplexes the two and says which is which): followed as it is written, or read whole.

use super::client::Docker;
use super::error::{DockerError, reason};
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;

/// Which of a container's output streams a chunk was written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl Docker {
    /// Hands everything the container writes, from its start, to `on_output` as it comes, and
    /// returns when the container has stopped (or been removed). Docker 20.10's `json-file`
    /// driver may miss the end of a short-lived container's output when followed: read it
    /// again with [`Docker::output`] once the container has stopped.
    pub async fn follow_output(
        &self,
        container: &str,
        on_output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<(), DockerError> {
        self.read_output(container, true, on_output).await
    }

    /// Everything the container wrote so far: (stdout, stderr).
    pub async fn output(&self, container: &str) -> Result<(Vec<u8>, Vec<u8>), DockerError> {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        self.read_output(container, false, |stream, bytes| match stream {
            OutputStream::Stdout => stdout.extend_from_slice(bytes),
            OutputStream::Stderr => stderr.extend_from_slice(bytes),
        })
        .await?;
        Ok((stdout, stderr))
    }

    async fn read_output(
        &self,
        container: &str,
        follow: bool,
        mut on_output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<(), DockerError> {
        let options = LogsOptionsBuilder::default()
            .follow(follow)
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = self.api.logs(container, Some(options));
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    on_output(OutputStream::Stdout, &message)
                }
                Ok(LogOutput::StdErr { message }) => on_output(OutputStream::Stderr, &message),
                Ok(LogOutput::StdIn { .. }) => {}
                Err(e) => {
                    return Err(DockerError::ContainerLogs {
                        container: container.to_string(),
                        reason: reason(&e),
                    });
                }
            }
        }
        Ok(())
    }
}
