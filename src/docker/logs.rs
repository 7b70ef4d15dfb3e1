//! Following a container's output as it is written, stdout and stderr kept apart (containers
//! run without a TTY, so Docker multiplexes the two and says which is which).

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
    /// returns when the container has stopped (or been removed) and its output is all read.
    pub async fn follow_logs(
        &self,
        container: &str,
        mut on_output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<(), DockerError> {
        let options = LogsOptionsBuilder::default()
            .follow(true)
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
