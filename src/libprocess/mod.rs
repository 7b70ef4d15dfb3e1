//! libprocess messaging, as Mesos's scheduler and executor drivers speak it: a message is a
//! `POST /<process id>/<message name>` whose body is the protobuf message and whose sender is
//! named by the `Libprocess-From` header (or a `libprocess/<pid>` User-Agent). Replies never
//! travel back on the request's connection: every process sends to the others' advertised
//! addresses (`Upid`), so both ends run an HTTP server.
//!
//! `upid` names processes, `message` reads an incoming request as a message, `link` sends to
//! one peer in order over one connection and tells when the peer has gone (Mesos's `link()`
//! and `ExitedEvent`). The master and the agent build their driver faces on these.

pub mod link;
pub mod message;
pub mod upid;

pub use link::Link;
pub use message::{Message, Refusal};
pub use upid::Upid;
