//! What mmrun's master and agent put on the wire, checked byte by byte over raw HTTP/1.1
//! against Mesos's behaviour (../shared/reference): the scheduler, executor and (master and agent)
//! operator APIs,
//! and the media-type rules every v1 endpoint shares (`media_types`, one table).

mod agent_operator;
mod executor;
mod libprocess;
mod media_types;
mod operator;
mod operator_events;
mod scheduler;
