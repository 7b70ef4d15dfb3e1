//! Sending messages to one peer process, in order, over one connection, and noticing when the
//! peer is gone: Mesos's `link()` with its `ExitedEvent`.
//!
//! Every message is `POST /<peer id>/<name>` with `Libprocess-From: <our pid>`, and its 202 is
//! awaited before the next is sent, so the peer sees them in the order they were sent (mesos-go
//! handles each request on its own goroutine: pipelining would let an offer overtake the
//! registration). No `libprocess/` User-Agent is sent: a peer that sees one does not answer.
//!
//! The link is broken, and `exited()` fires, when the peer cannot be connected to, or when
//! its connection closes and it cannot be connected to again at once — a dead process, or a
//! container whose address is gone. A message that cannot be delivered is dropped, as
//! libprocess drops it.

use super::message::LIBPROCESS_FROM;
use super::upid::Upid;
use crate::errors::error_chain;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a connection attempt may take before the peer counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a peer may take to answer one message (mesos-go gives its own sends 10 s).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

struct Outgoing {
    name: String,
    body: Bytes,
    /// Told whether the peer took the message (answered 2xx), for a sender that waits.
    delivered: Option<oneshot::Sender<bool>>,
}

/// The sending end of a link. Dropping it lets the queued messages go out, then closes.
pub struct Link {
    peer: Upid,
    tx: mpsc::UnboundedSender<Outgoing>,
    exited: CancellationToken,
}

impl Link {
    /// Opens a link from `from` to `peer`. The connection is made with the first message;
    /// `stopped` (the node stopping) ends the link at once. A peer that closes an idle
    /// connection but takes a new one is still there: mesos-go's drivers close every inbound
    /// connection after 10 s without a message.
    pub fn open(from: Upid, peer: Upid, stopped: CancellationToken) -> Link {
        Link::start(from, peer, stopped, false)
    }

    /// A link to a peer that never closes a connection while it lives (a Mesos master, as
    /// libprocess keeps its sockets): the connection closing is the peer's exit, even if a
    /// process at the same address (a restarted master) would take a new one.
    pub fn open_strict(from: Upid, peer: Upid, stopped: CancellationToken) -> Link {
        Link::start(from, peer, stopped, true)
    }

    fn start(from: Upid, peer: Upid, stopped: CancellationToken, strict: bool) -> Link {
        let (tx, rx) = mpsc::unbounded_channel();
        let exited = CancellationToken::new();
        let peer_for_task = peer.clone();
        crate::node_log::spawn(deliver(
            from,
            peer_for_task,
            rx,
            exited.clone(),
            stopped,
            strict,
        ));
        Link { peer, tx, exited }
    }

    pub fn peer(&self) -> &Upid {
        &self.peer
    }

    /// Queues a message (protobuf bytes) named by its fully qualified type name.
    pub fn send(&self, name: &str, body: Vec<u8>) {
        let _ = self.tx.send(Outgoing {
            name: name.to_string(),
            body: Bytes::from(body),
            delivered: None,
        });
    }

    /// Queues a message and waits until the peer has taken it (libprocess answers once the
    /// message is in the process's queue; mmrun's nodes once they have handled it). Returns
    /// whether it was taken.
    pub async fn send_and_wait(&self, name: &str, body: Vec<u8>) -> bool {
        let (delivered, taken) = oneshot::channel();
        let queued = self.tx.send(Outgoing {
            name: name.to_string(),
            body: Bytes::from(body),
            delivered: Some(delivered),
        });
        queued.is_ok() && taken.await.unwrap_or(false)
    }

    /// Fires once the peer is found gone.
    pub fn exited(&self) -> CancellationToken {
        self.exited.clone()
    }
}

/// One open connection to the peer; `closed` resolves when the peer closes it.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    closed: oneshot::Receiver<()>,
}

/// Why a message could not be delivered on the link.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("no connection within {CONNECT_TIMEOUT:?}")]
    ConnectTimeout,
    #[error(transparent)]
    Connect(std::io::Error),
    #[error(transparent)]
    Http(#[from] hyper::Error),
    #[error(transparent)]
    Request(#[from] hyper::http::Error),
    #[error("no answer within {ANSWER_TIMEOUT:?}")]
    AnswerTimeout,
}

async fn connect(peer: &Upid) -> Result<Connection, LinkError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer.address()))
        .await
        .map_err(|_| LinkError::ConnectTimeout)?
        .map_err(LinkError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let (done, closed) = oneshot::channel();
    crate::node_log::spawn(async move {
        let _ = connection.await;
        let _ = done.send(());
    });
    Ok(Connection { sender, closed })
}

enum Next {
    Send(Outgoing),
    PeerClosed,
    Stop,
}

async fn deliver(
    from: Upid,
    peer: Upid,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    exited: CancellationToken,
    stopped: CancellationToken,
    strict: bool,
) {
    let mut connection: Option<Connection> = None;
    loop {
        let next = {
            let closed = async {
                match connection.as_mut() {
                    Some(c) => {
                        let _ = (&mut c.closed).await;
                    }
                    None => std::future::pending().await,
                }
            };
            // A close already seen comes before the next message: sent on a fresh connection,
            // that message would hide a strict peer's exit.
            tokio::select! {
                biased;
                _ = stopped.cancelled() => Next::Stop,
                _ = closed => Next::PeerClosed,
                message = rx.recv() => message.map_or(Next::Stop, Next::Send),
            }
        };
        let message = match next {
            Next::Stop => return,
            Next::Send(message) => message,
            Next::PeerClosed => {
                // The peer closed an idle connection: gone, unless it takes a new one.
                connection = None;
                if strict {
                    broken(&peer, &exited, "the peer closed the connection");
                    continue;
                }
                match connect(&peer).await {
                    Ok(c) => connection = Some(c),
                    Err(e) => broken(&peer, &exited, error_chain(&e)),
                }
                continue;
            }
        };
        // A kept connection may have been closed by the peer since its last use: one fresh
        // attempt before the message counts as undeliverable (none to a strict peer).
        let mut attempts = 0;
        let mut taken = false;
        loop {
            attempts += 1;
            let c = match &mut connection {
                Some(c) => c,
                None => match connect(&peer).await {
                    Ok(c) => connection.insert(c),
                    Err(e) => {
                        let why = error_chain(&e);
                        broken(&peer, &exited, &why);
                        tracing::debug!("dropped {} to {peer}: {why}", message.name);
                        break;
                    }
                },
            };
            match post(c, &from, &peer, &message).await {
                Ok(accepted) => {
                    taken = accepted;
                    break;
                }
                Err(e) => {
                    connection = None;
                    // A strict peer's connection breaking under a message is its exit, as
                    // libprocess reports it: delivering the message to whatever answers at
                    // that address now (a restarted master) would hide the exit for good.
                    if strict {
                        broken(&peer, &exited, error_chain(&e));
                        tracing::debug!("dropped {} to {peer}: the peer is gone", message.name);
                        break;
                    }
                    if attempts >= 2 {
                        tracing::warn!("dropped {} to {peer}: {}", message.name, error_chain(&e));
                        break;
                    }
                }
            }
        }
        if let Some(delivered) = message.delivered {
            let _ = delivered.send(taken);
        }
    }
}

fn broken(peer: &Upid, exited: &CancellationToken, why: impl std::fmt::Display) {
    if !exited.is_cancelled() {
        tracing::info!("link to {peer} broken: {why}");
        exited.cancel();
    }
}

async fn post(
    connection: &mut Connection,
    from: &Upid,
    peer: &Upid,
    message: &Outgoing,
) -> Result<bool, LinkError> {
    connection.sender.ready().await?;
    let request = hyper::Request::post(format!("/{}/{}", peer.id, message.name))
        .header(hyper::header::HOST, peer.address())
        .header(LIBPROCESS_FROM, from.to_string())
        // mesos-go keeps a connection open only when this is exactly "Keep-Alive".
        .header(hyper::header::CONNECTION, "Keep-Alive")
        .header(hyper::header::CONTENT_TYPE, "application/x-protobuf")
        .body(Full::new(message.body.clone()))?;
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, connection.sender.send_request(request))
        .await
        .map_err(|_| LinkError::AnswerTimeout)??;
    let status = answer.status();
    if !status.is_success() {
        // Delivered, but the peer does not take it (404: no such process): libprocess logs
        // and moves on; so does mmrun.
        tracing::warn!("{peer} answered {status} to {}", message.name);
    }
    Ok(status.is_success())
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
