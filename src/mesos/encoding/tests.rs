//! The drift test and the protobuf round trip: rich samples of every call and event mmrun
//! reads or writes, each setting every field its serde type has. Each sample must
//! (1) be what the serde type writes back (so no sample key is silently ignored),
//! (2) fit the schema with unknown fields denied (so the serde type writes nothing the .proto
//!     lacks, and nothing of the wrong type): read by reflection into a `DynamicMessage`, and
//!     encoded by the direct encoder, both in strict mode, and
//! (3) survive JSON → protobuf → JSON unchanged.
//! Then every field of the schema must have been exercised by some sample, so the schema
//! declares nothing mmrun's types do not carry.

use super::*;
use crate::mesos::{agent_operator, executor, operator, operator_event, scheduler};
use prost_reflect::{DynamicMessage, ReflectMessage, Value as Reflected};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Debug;

fn id(value: &str) -> Value {
    json!({ "value": value })
}

fn labels() -> Value {
    json!({"labels": [{"key": "tier", "value": "web"}, {"key": "bare"}]})
}

fn resources() -> Value {
    json!([
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "role": "*",
         "allocation_info": {"role": "web"}},
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31009}]},
         "role": "*"},
        {"name": "zones", "type": "SET", "set": {"item": ["a", "b"]}, "role": "*"},
    ])
}

fn attributes() -> Value {
    json!([
        {"name": "rack", "type": "TEXT", "text": {"value": "r1"}},
        {"name": "weight", "type": "SCALAR", "scalar": {"value": 2.5}},
        {"name": "slots", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 4}]}},
        {"name": "disks", "type": "SET", "set": {"item": ["ssd"]}},
    ])
}

fn framework_info() -> Value {
    json!({
        "user": "root", "name": "sample", "id": id("m-0000"), "failover_timeout": 60.0,
        "checkpoint": true, "role": "*", "roles": ["web", "batch"], "hostname": "host",
        "principal": "p", "webui_url": "http://ui",
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}],
        "labels": labels(),
    })
}

fn command() -> Value {
    json!({
        "value": "echo hi", "shell": false, "arguments": ["echo", "hi"],
        "environment": {"variables": [{"name": "A", "value": "1"}]},
        "uris": [{"value": "http://x/a.tgz", "executable": true, "extract": false, "cache": true,
                  "output_file": "a.tgz"}],
        "user": "nobody",
    })
}

fn secret() -> Value {
    json!({"type": "VALUE", "reference": {"name": "db", "key": "password"},
           "value": {"data": "c2VjcmV0"}})
}

fn image() -> Value {
    json!({
        "type": "DOCKER", "cached": false,
        "appc": {"name": "example.com/app", "id": "sha512-ab", "labels": labels()},
        "docker": {"name": "busybox", "credential": {"principal": "u", "secret": "pw"},
                   "config": secret()},
    })
}

/// A volume of each source, between them every field of `Volume`.
fn volumes() -> Value {
    let csi = |capability: Value| {
        json!({"type": "CSI_VOLUME", "csi_volume": {"plugin_name": "csi-plugin",
               "static_provisioning": {"volume_id": "vol-1", "volume_capability": capability}}})
    };
    json!([
        {"container_path": "/data", "host_path": "/tmp", "mode": "RW", "image": image()},
        {"container_path": "/docker", "mode": "RO", "source": {"type": "DOCKER_VOLUME",
         "docker_volume": {"driver": "local", "name": "v1",
                           "driver_options": {"parameter": [{"key": "size", "value": "1g"}]}}}},
        {"container_path": "/host", "mode": "RW", "source": {"type": "HOST_PATH",
         "host_path": {"path": "/srv", "mount_propagation": {"mode": "BIDIRECTIONAL"}}}},
        {"container_path": "/sandbox", "mode": "RW", "source": {"type": "SANDBOX_PATH",
         "sandbox_path": {"type": "PARENT", "path": "shared"}}},
        {"container_path": "/secret", "mode": "RO",
         "source": {"type": "SECRET", "secret": secret()}},
        {"container_path": "/mounted", "mode": "RW", "source": csi(json!({
            "mount": {"fs_type": "ext4", "mount_flags": ["noatime"]},
            "access_mode": {"mode": "SINGLE_NODE_WRITER"}}))},
        {"container_path": "/block", "mode": "RW", "source": csi(json!({
            "block": {}, "access_mode": {"mode": "MULTI_NODE_MULTI_WRITER"}}))},
    ])
}

/// `ContainerInfo` with every field Mesos's has (a DOCKER and a MESOS part at once, which
/// the wire allows).
fn container() -> Value {
    json!({
        "type": "DOCKER", "hostname": "web-1",
        "docker": {"image": "busybox", "network": "BRIDGE", "privileged": true,
                   "force_pull_image": false, "volume_driver": "local",
                   "port_mappings": [{"host_port": 31001, "container_port": 80, "protocol": "tcp"}],
                   "parameters": [{"key": "label", "value": "a=b"}]},
        "mesos": {"image": image()},
        "volumes": volumes(),
        "network_infos": [{"name": "net", "groups": ["g"], "labels": labels(),
                           "ip_addresses": [{"protocol": "IPv4", "ip_address": "10.0.0.2"}],
                           "port_mappings": [{"host_port": 1, "container_port": 2,
                                              "protocol": "udp"}]}],
        "linux_info": {
            "capability_info": {"capabilities": ["CHOWN"]},
            "bounding_capabilities": {"capabilities": ["NET_ADMIN", "SYS_TTY_CONFIG"]},
            "effective_capabilities": {"capabilities": ["NET_BIND_SERVICE"]},
            "share_pid_namespace": false,
            "seccomp": {"profile_name": "default.json", "unconfined": false},
            "ipc_mode": "SHARE_PARENT", "shm_size": 64, "share_cgroups": true,
        },
        "rlimit_info": {"rlimits": [{"type": "RLMT_NOFILE", "hard": 4096, "soft": 1024}]},
        "tty_info": {"window_size": {"rows": 24, "columns": 80}},
    })
}

fn discovery() -> Value {
    json!({
        "visibility": "CLUSTER", "name": "web", "environment": "QA", "location": "EU",
        "version": "v2", "labels": labels(),
        "ports": {"ports": [{"number": 8080, "name": "http", "protocol": "tcp",
                             "visibility": "EXTERNAL", "labels": labels()}]},
    })
}

fn health_checks() -> [Value; 3] {
    [
        json!({"type": "HTTP", "delay_seconds": 1.5, "interval_seconds": 2.0,
               "timeout_seconds": 3.0, "consecutive_failures": 4, "grace_period_seconds": 5.0,
               "http": {"protocol": "IPv6", "scheme": "https", "port": 8443, "path": "/health",
                        "statuses": [200, 204]}}),
        json!({"type": "TCP", "tcp": {"protocol": "IPv4", "port": 9000}}),
        json!({"type": "COMMAND", "command": command()}),
    ]
}

fn executor_info() -> Value {
    json!({
        "type": "CUSTOM", "executor_id": id("exec"), "framework_id": id("m-0000"),
        "command": command(), "container": container(), "resources": resources(),
        "name": "an executor", "source": "src", "data": "ZGF0YQ==", "discovery": discovery(),
        "shutdown_grace_period": {"nanoseconds": 5_000_000_000_i64}, "labels": labels(),
    })
}

fn task_info() -> Value {
    json!({
        "name": "t", "task_id": id("t1"), "agent_id": id("m-S0"), "resources": resources(),
        "executor": executor_info(), "command": command(), "container": container(),
        "kill_policy": {"grace_period": {"nanoseconds": 3_000_000_000_i64}},
        "labels": labels(), "data": "AAEC", "health_check": health_checks()[0],
        "discovery": discovery(),
    })
}

/// A task with each kind of health check (HTTP, TCP, COMMAND).
fn tasks_with_each_health_check() -> Vec<Value> {
    health_checks()
        .into_iter()
        .map(|check| {
            let mut task = task_info();
            task["health_check"] = check;
            task
        })
        .collect()
}

fn task_status() -> Value {
    json!({
        "task_id": id("t1"), "state": "TASK_RUNNING", "message": "running",
        "source": "SOURCE_EXECUTOR", "reason": "REASON_RECONCILIATION", "data": "AA==",
        "agent_id": id("m-S0"), "executor_id": id("exec"), "timestamp": 1767225600.25,
        "uuid": "q83vEjRWeJA=", "healthy": true,
        "container_status": {"container_id": id("c1"), "executor_pid": 42,
                             "network_infos": [{"ip_addresses": [{"ip_address": "127.0.0.1"}]}],
                             "cgroup_info": {"net_cls": {"classid": 65537}}},
        "unreachable_time": {"nanoseconds": 1_767_225_600_000_000_000_i64},
    })
}

fn master_info() -> Value {
    json!({
        "id": "m", "ip": 16777343, "port": 5050, "pid": "master@127.0.0.1:5050",
        "hostname": "localhost", "version": "1.11.0",
        "address": {"hostname": "localhost", "ip": "127.0.0.1", "port": 5050},
        "capabilities": [{"type": "AGENT_UPDATE"}],
    })
}

fn offer() -> Value {
    json!({
        "id": id("m-O1"), "framework_id": id("m-0000"), "agent_id": id("m-S0"),
        "hostname": "agent-1",
        "url": {"scheme": "http", "path": "/slave(1)",
                "address": {"hostname": "agent-1", "ip": "127.0.0.1", "port": 5051}},
        "resources": resources(), "attributes": attributes(), "executor_ids": [id("exec")],
        "allocation_info": {"role": "web"},
    })
}

fn filters() -> Value {
    json!({"refuse_seconds": 0.5})
}

fn scheduler_calls() -> Vec<Value> {
    let fw = || id("m-0000");
    vec![
        json!({"type": "SUBSCRIBE", "framework_id": fw(),
               "subscribe": {"framework_info": framework_info(), "suppressed_roles": ["batch"]}}),
        json!({"type": "TEARDOWN", "framework_id": fw()}),
        json!({"type": "ACCEPT", "framework_id": fw(),
               "accept": {"offer_ids": [id("m-O1")], "filters": filters(),
                          "operations": [{"type": "LAUNCH",
                                          "launch": {"task_infos": tasks_with_each_health_check()}}]}}),
        json!({"type": "DECLINE", "framework_id": fw(),
               "decline": {"offer_ids": [id("m-O1")], "filters": filters()}}),
        json!({"type": "REVIVE", "framework_id": fw(), "revive": {"roles": ["web"]}}),
        json!({"type": "SUPPRESS", "framework_id": fw(), "suppress": {"roles": ["web"]}}),
        json!({"type": "KILL", "framework_id": fw(),
               "kill": {"task_id": id("t1"), "agent_id": id("m-S0"),
                        "kill_policy": {"grace_period": {"nanoseconds": 1}}}}),
        json!({"type": "SHUTDOWN", "framework_id": fw(),
               "shutdown": {"executor_id": id("exec"), "agent_id": id("m-S0")}}),
        json!({"type": "ACKNOWLEDGE", "framework_id": fw(),
               "acknowledge": {"agent_id": id("m-S0"), "task_id": id("t1"),
                               "uuid": "q83vEjRWeJA="}}),
        json!({"type": "RECONCILE", "framework_id": fw(),
               "reconcile": {"tasks": [{"task_id": id("t1"), "agent_id": id("m-S0")}]}}),
        json!({"type": "MESSAGE", "framework_id": fw(),
               "message": {"agent_id": id("m-S0"), "executor_id": id("exec"), "data": "aGk="}}),
        json!({"type": "REQUEST", "framework_id": fw(),
               "request": {"requests": [{"agent_id": id("m-S0"), "resources": resources()}]}}),
        json!({"type": "UPDATE_FRAMEWORK", "framework_id": fw(),
               "update_framework": {"framework_info": framework_info(),
                                    "suppressed_roles": ["web"]}}),
    ]
}

fn scheduler_events() -> Vec<Value> {
    vec![
        json!({"type": "SUBSCRIBED", "subscribed": {"framework_id": id("m-0000"),
               "heartbeat_interval_seconds": 15.0, "master_info": master_info()}}),
        json!({"type": "OFFERS", "offers": {"offers": [offer()]}}),
        json!({"type": "RESCIND", "rescind": {"offer_id": id("m-O1")}}),
        json!({"type": "UPDATE", "update": {"status": task_status()}}),
        json!({"type": "MESSAGE", "message": {"agent_id": id("m-S0"),
               "executor_id": id("exec"), "data": "aGk="}}),
        json!({"type": "FAILURE", "failure": {"agent_id": id("m-S0"),
               "executor_id": id("exec"), "status": -9}}),
        json!({"type": "ERROR", "error": {"message": "Framework has been removed"}}),
        json!({"type": "HEARTBEAT"}),
    ]
}

fn executor_calls() -> Vec<Value> {
    let ids = json!({"executor_id": id("exec"), "framework_id": id("m-0000")});
    let with = |extra: Value| {
        let mut call = ids.clone();
        call.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        call
    };
    vec![
        with(json!({"type": "SUBSCRIBE", "subscribe": {
            "unacknowledged_tasks": [task_info()],
            "unacknowledged_updates": [{"status": task_status()}]}})),
        with(json!({"type": "UPDATE", "update": {"status": task_status()}})),
        with(json!({"type": "MESSAGE", "message": {"data": "aGk="}})),
        with(json!({"type": "HEARTBEAT"})),
    ]
}

fn executor_events() -> Vec<Value> {
    let agent_info = json!({"hostname": "agent-1", "port": 5051, "resources": resources(),
                            "attributes": attributes(), "id": id("m-S0")});
    vec![
        json!({"type": "SUBSCRIBED", "subscribed": {"executor_info": executor_info(),
               "framework_info": framework_info(), "agent_info": agent_info,
               "container_id": id("c1")}}),
        json!({"type": "LAUNCH", "launch": {"task": task_info()}}),
        json!({"type": "KILL", "kill": {"task_id": id("t1"),
               "kill_policy": {"grace_period": {"nanoseconds": 1}}}}),
        json!({"type": "ACKNOWLEDGED", "acknowledged": {"task_id": id("t1"),
               "uuid": "q83vEjRWeJA="}}),
        json!({"type": "MESSAGE", "message": {"data": "aGk="}}),
        json!({"type": "ERROR", "error": {"message": "no"}}),
        json!({"type": "SHUTDOWN"}),
        json!({"type": "HEARTBEAT"}),
    ]
}

fn operator_calls() -> Vec<Value> {
    vec![
        json!({"type": "GET_STATE"}),
        json!({"type": "GET_METRICS", "get_metrics": {"timeout": {"nanoseconds": 5}}}),
        json!({"type": "TEARDOWN", "teardown": {"framework_id": id("m-0000")}}),
    ]
}

fn time(nanoseconds: i64) -> Value {
    json!({ "nanoseconds": nanoseconds })
}

/// A payload the master builds from a typed `src/mesos/operator.rs` value: the type must write
/// the sample back unchanged, as in (1).
fn typed<T: serde::Serialize + serde::de::DeserializeOwned>(sample: Value) -> Value {
    let typed: T = serde_json::from_value(sample.clone())
        .unwrap_or_else(|e| panic!("sample is not a {}: {e}", std::any::type_name::<T>()));
    assert_eq!(serde_json::to_value(&typed).unwrap(), sample);
    sample
}

fn operator_task(state: &str) -> Value {
    typed::<operator::Task>(json!({
        "name": "t", "task_id": id("t1"), "framework_id": id("m-0000"),
        "executor_id": id("exec"), "agent_id": id("m-S0"), "state": state,
        "resources": resources(), "statuses": [task_status()],
        "status_update_state": "TASK_RUNNING", "status_update_uuid": "q83vEjRWeJA=",
        "labels": labels(), "container": container(), "user": "root",
    }))
}

fn get_tasks() -> Value {
    typed::<operator::GetTasks>(json!({
        "tasks": [operator_task("TASK_RUNNING")],
        "unreachable_tasks": [operator_task("TASK_UNREACHABLE")],
        "completed_tasks": [operator_task("TASK_FINISHED")],
    }))
}

fn get_executors() -> Value {
    typed::<operator::GetExecutors>(json!({
        "executors": [{"executor_info": executor_info(), "agent_id": id("m-S0")}],
    }))
}

fn operator_framework() -> Value {
    typed::<operator::Framework>(json!({
        "framework_info": framework_info(), "active": true, "connected": true,
        "recovered": false, "registered_time": time(1), "unregistered_time": time(2),
        "offers": [offer()], "allocated_resources": resources(), "offered_resources": resources(),
    }))
}

fn get_frameworks() -> Value {
    typed::<operator::GetFrameworks>(json!({
        "frameworks": [operator_framework()], "completed_frameworks": [operator_framework()],
    }))
}

fn operator_agent_info() -> Value {
    json!({"hostname": "agent-1", "port": 5051, "resources": resources(),
           "attributes": attributes(), "id": id("m-S0")})
}

fn operator_agent() -> Value {
    typed::<operator::Agent>(json!({
        "agent_info": operator_agent_info(), "active": true, "version": "1.11.0",
        "pid": "slave(1)@127.0.0.1:5051", "registered_time": time(1),
        "reregistered_time": time(2), "total_resources": resources(),
        "allocated_resources": resources(), "offered_resources": resources(),
        "capabilities": [{"type": "MULTI_ROLE"}],
    }))
}

fn get_agents() -> Value {
    typed::<operator::GetAgents>(json!({
        "agents": [operator_agent()],
        "recovered_agents": [operator_agent_info()],
    }))
}

fn get_state() -> Value {
    typed::<operator::GetState>(json!({
        "get_tasks": get_tasks(), "get_executors": get_executors(),
        "get_frameworks": get_frameworks(), "get_agents": get_agents()}))
}

fn operator_events() -> Vec<Value> {
    vec![
        json!({"type": "SUBSCRIBED", "subscribed": {
            "get_state": get_state(), "heartbeat_interval_seconds": 15.0}}),
        json!({"type": "TASK_ADDED", "task_added": {"task": operator_task("TASK_STAGING")}}),
        json!({"type": "TASK_UPDATED", "task_updated": {
            "framework_id": id("m-0000"), "status": task_status(), "state": "TASK_FINISHED"}}),
        json!({"type": "AGENT_ADDED", "agent_added": {"agent": operator_agent()}}),
        json!({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": id("m-S0")}}),
        json!({"type": "FRAMEWORK_ADDED", "framework_added": {"framework": operator_framework()}}),
        json!({"type": "FRAMEWORK_UPDATED", "framework_updated": {
            "framework": operator_framework()}}),
        json!({"type": "FRAMEWORK_REMOVED", "framework_removed": {
            "framework_info": framework_info()}}),
        json!({"type": "HEARTBEAT"}),
    ]
}

fn operator_responses() -> Vec<Value> {
    let version_info = typed::<crate::mesos::state::VersionInfo>(json!({
        "version": "1.11.0", "build_date": "2026-01-01 00:00:00", "build_time": 1767225600.0,
        "build_user": "mmrun",
    }));
    let master = typed::<operator::GetMaster>(json!({
        "master_info": master_info(), "start_time": 1767225600.5, "elected_time": 1767225601.5,
    }));
    vec![
        json!({"type": "GET_HEALTH", "get_health": {"healthy": true}}),
        json!({"type": "GET_FLAGS", "get_flags": {"flags": [{"name": "port", "value": "5050"}]}}),
        json!({"type": "GET_VERSION", "get_version": {"version_info": version_info}}),
        json!({"type": "GET_METRICS", "get_metrics": {"metrics": [
            {"name": "master/elected", "value": 1.0}]}}),
        json!({"type": "GET_MASTER", "get_master": master}),
        json!({"type": "GET_TASKS", "get_tasks": get_tasks()}),
        json!({"type": "GET_EXECUTORS", "get_executors": get_executors()}),
        json!({"type": "GET_FRAMEWORKS", "get_frameworks": get_frameworks()}),
        json!({"type": "GET_AGENTS", "get_agents": get_agents()}),
        json!({"type": "GET_STATE", "get_state": get_state()}),
    ]
}

fn agent_calls() -> Vec<Value> {
    vec![
        json!({"type": "GET_STATE"}),
        json!({"type": "GET_METRICS", "get_metrics": {"timeout": {"nanoseconds": 5}}}),
        json!({"type": "LIST_FILES", "list_files": {"path": "/tmp/sandbox"}}),
        json!({"type": "READ_FILE", "read_file": {"path": "/tmp/sandbox/stdout", "offset": 3,
                                                   "length": 100}}),
        json!({"type": "LAUNCH_NESTED_CONTAINER"}),
    ]
}

fn agent_get_tasks() -> Value {
    typed::<agent_operator::GetTasks>(json!({
        "pending_tasks": [operator_task("TASK_STAGING")],
        "queued_tasks": [operator_task("TASK_STAGING")],
        "launched_tasks": [operator_task("TASK_RUNNING")],
        "terminated_tasks": [operator_task("TASK_FAILED")],
        "completed_tasks": [operator_task("TASK_FINISHED")],
    }))
}

fn agent_get_executors() -> Value {
    typed::<agent_operator::GetExecutors>(json!({
        "executors": [{"executor_info": executor_info()}],
        "completed_executors": [{"executor_info": executor_info()}],
    }))
}

fn agent_get_frameworks() -> Value {
    typed::<agent_operator::GetFrameworks>(json!({
        "frameworks": [{"framework_info": framework_info()}],
        "completed_frameworks": [{"framework_info": framework_info()}],
    }))
}

fn agent_responses() -> Vec<Value> {
    let files = typed::<agent_operator::ListFilesAnswer>(json!({"file_infos": [{
        "path": "/tmp/sandbox/stdout", "nlink": 1, "size": 12, "mtime": time(3),
        "mode": 33188, "uid": "root", "gid": "root",
    }]}));
    let containers = typed::<agent_operator::GetContainers>(json!({"containers": [{
        "framework_id": id("m-0000"), "executor_id": id("exec"), "executor_name": "an executor",
        "container_id": id("c1"),
        "container_status": {"container_id": id("c1"), "executor_pid": 42},
    }]}));
    let agent = typed::<agent_operator::GetAgent>(json!({"agent_info": {
        "hostname": "agent-1", "port": 5051, "resources": resources(),
        "attributes": attributes(), "id": id("m-S0"),
    }}));
    vec![
        json!({"type": "GET_HEALTH", "get_health": {"healthy": true}}),
        json!({"type": "GET_LOGGING_LEVEL", "get_logging_level": {"level": 0}}),
        json!({"type": "LIST_FILES", "list_files": files}),
        json!({"type": "READ_FILE", "read_file": typed::<agent_operator::ReadFileAnswer>(
            json!({"size": 12, "data": "aGVsbG8="}))}),
        json!({"type": "GET_CONTAINERS", "get_containers": containers}),
        json!({"type": "GET_AGENT", "get_agent": agent}),
        json!({"type": "GET_TASKS", "get_tasks": agent_get_tasks()}),
        json!({"type": "GET_STATE", "get_state": typed::<agent_operator::GetState>(json!({
            "get_tasks": agent_get_tasks(), "get_executors": agent_get_executors(),
            "get_frameworks": agent_get_frameworks()}))}),
        json!({"type": "GET_FLAGS", "get_flags": {"flags": [{"name": "port", "value": "5051"}]}}),
        json!({"type": "GET_METRICS", "get_metrics": {"metrics": [
            {"name": "slave/registered", "value": 1.0}]}}),
        json!({"type": "GET_VERSION", "get_version": {"version_info": {
            "version": "1.11.0", "build_date": "2026-01-01 00:00:00",
            "build_time": 1767225600.0, "build_user": "mmrun"}}}),
        json!({"type": "GET_EXECUTORS", "get_executors": agent_get_executors()}),
        json!({"type": "GET_FRAMEWORKS", "get_frameworks": agent_get_frameworks()}),
    ]
}

/// The scheduler and executor drivers' libprocess messages, each type with one sample.
fn driver_messages() -> Vec<DynamicMessage> {
    use crate::mesos::internal::*;
    let agent_info = json!({"hostname": "agent-1", "port": 5051, "resources": resources(),
                            "attributes": attributes(), "id": id("m-S0")});
    let update = json!({"framework_id": id("m-0000"), "executor_id": id("exec"),
                        "slave_id": id("m-S0"), "status": task_status(), "timestamp": 1.5,
                        "uuid": "q83vEjRWeJA=", "latest_state": "TASK_RUNNING"});
    let fw = || id("m-0000");
    // The C++ driver's Call is the v1 Call on the wire but for SUBSCRIBE's `force`.
    let mut samples: Vec<DynamicMessage> = scheduler_calls()
        .into_iter()
        .map(check::<DriverCall>)
        .collect();
    samples.extend([
        check::<DriverCall>(json!({"type": "SUBSCRIBE", "subscribe": {
            "framework_info": framework_info(), "force": true, "suppressed_roles": ["batch"]}})),
        check::<RegisterFrameworkMessage>(json!({"framework": framework_info()})),
        check::<ReregisterFrameworkMessage>(
            json!({"framework": framework_info(), "failover": true}),
        ),
        check::<FrameworkRegisteredMessage>(
            json!({"framework_id": fw(), "master_info": master_info()}),
        ),
        check::<FrameworkReregisteredMessage>(
            json!({"framework_id": fw(), "master_info": master_info()}),
        ),
        check::<UnregisterFrameworkMessage>(json!({"framework_id": fw()})),
        check::<DeactivateFrameworkMessage>(json!({"framework_id": fw()})),
        check::<ResourceRequestMessage>(json!({"framework_id": fw(),
            "requests": [{"agent_id": id("m-S0"), "resources": resources()}]})),
        check::<ResourceOffersMessage>(
            json!({"offers": [offer()], "pids": ["slave(1)@10.0.0.2:5051"]}),
        ),
        check::<LaunchTasksMessage>(json!({"framework_id": fw(), "tasks": [task_info()],
            "filters": {"refuse_seconds": 5.0}, "offer_ids": [id("m-O1")]})),
        check::<RescindResourceOfferMessage>(json!({"offer_id": id("m-O1")})),
        check::<ReviveOffersMessage>(json!({"framework_id": fw(), "roles": ["web"]})),
        check::<RunTaskMessage>(json!({"framework_id": fw(), "framework": framework_info(),
            "pid": "scheduler(1)@10.0.0.1:4000", "task": task_info()})),
        check::<KillTaskMessage>(json!({"framework_id": fw(), "task_id": id("t1"),
            "kill_policy": {"grace_period": {"nanoseconds": 1}}})),
        check::<StatusUpdateMessage>(
            json!({"update": update.clone(), "pid": "slave(1)@10.0.0.2:5051"}),
        ),
        check::<StatusUpdateAcknowledgementMessage>(json!({"slave_id": id("m-S0"),
            "framework_id": fw(), "task_id": id("t1"), "uuid": "q83vEjRWeJA="})),
        check::<LostSlaveMessage>(json!({"slave_id": id("m-S0")})),
        check::<ReconcileTasksMessage>(json!({"framework_id": fw(), "statuses": [task_status()]})),
        check::<FrameworkErrorMessage>(json!({"message": "Framework failed over"})),
        check::<ExecutorToFrameworkMessage>(json!({"slave_id": id("m-S0"), "framework_id": fw(),
            "executor_id": id("exec"), "data": "aGk="})),
        check::<FrameworkToExecutorMessage>(json!({"slave_id": id("m-S0"), "framework_id": fw(),
            "executor_id": id("exec"), "data": "aGk="})),
        check::<ExitedExecutorMessage>(json!({"slave_id": id("m-S0"), "framework_id": fw(),
            "executor_id": id("exec"), "status": 9})),
        check::<ShutdownExecutorMessage>(json!({"executor_id": id("exec"), "framework_id": fw()})),
        check::<RegisterExecutorMessage>(json!({"framework_id": fw(), "executor_id": id("exec")})),
        check::<ExecutorRegisteredMessage>(json!({"executor_info": executor_info(),
            "framework_id": fw(), "framework_info": framework_info(), "slave_id": id("m-S0"),
            "slave_info": agent_info.clone()})),
        check::<ExecutorReregisteredMessage>(
            json!({"slave_id": id("m-S0"), "slave_info": agent_info}),
        ),
        check::<ReconnectExecutorMessage>(json!({"slave_id": id("m-S0")})),
        check::<ReregisterExecutorMessage>(json!({"executor_id": id("exec"), "framework_id": fw(),
            "tasks": [task_info()], "updates": [update]})),
    ]);
    samples
}

/// Checks (1)–(3) for one sample and returns it as the schema sees it.
fn check<M: WireMessage + Debug>(sample: Value) -> DynamicMessage {
    let typed: M = serde_json::from_value(sample.clone())
        .unwrap_or_else(|e| panic!("sample is not a {}: {e}\n{sample:#}", M::PROTO_NAME));
    let written = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        written,
        sample,
        "{} does not write the sample back as given: a key the type ignores?",
        M::PROTO_NAME
    );
    let dynamic = reflect::to_dynamic(M::PROTO_NAME, written.clone(), true).unwrap_or_else(|e| {
        panic!(
            "{} writes JSON that proto/mesos/v1 cannot hold ({e}): add the field to the \
             .proto with Mesos's number and type\n{written:#}",
            M::PROTO_NAME
        )
    });
    // The encoder holds the serde type to the same: nothing the schema lacks.
    if let Err(e) = transcode::to_protobuf_strict(M::PROTO_NAME, &typed) {
        panic!(
            "{} writes what the schema lacks: {e}\n{written:#}",
            M::PROTO_NAME
        );
    }
    let bytes = encode(Encoding::Protobuf, &typed).unwrap();
    let back: M = decode(Encoding::Protobuf, &bytes)
        .unwrap_or_else(|e| panic!("{} does not decode back: {e}", M::PROTO_NAME));
    assert_eq!(serde_json::to_value(&back).unwrap(), written);
    dynamic
}

pub(super) fn all_samples() -> Vec<DynamicMessage> {
    let mut seen = Vec::new();
    seen.extend(scheduler_calls().into_iter().map(check::<scheduler::Call>));
    seen.extend(
        scheduler_events()
            .into_iter()
            .map(check::<scheduler::Event>),
    );
    seen.extend(executor_calls().into_iter().map(check::<executor::Call>));
    seen.extend(executor_events().into_iter().map(check::<executor::Event>));
    seen.extend(
        operator_calls()
            .into_iter()
            .map(check::<operator::OperatorCall>),
    );
    seen.extend(
        operator_responses()
            .into_iter()
            .map(check::<operator::OperatorResponse>),
    );
    seen.extend(
        operator_events()
            .into_iter()
            .map(check::<operator_event::OperatorEvent>),
    );
    seen.extend(
        agent_calls()
            .into_iter()
            .map(check::<agent_operator::AgentCall>),
    );
    seen.extend(
        agent_responses()
            .into_iter()
            .map(check::<agent_operator::AgentResponse>),
    );
    seen.extend(driver_messages());
    seen
}

/// Every value of the container, volume, health check and discovery enums is read by its
/// serde type as the .proto names it and written back under that name (the samples above
/// use only some of the values).
#[test]
fn every_enum_value_has_its_mesos_name() {
    use crate::mesos::{container, discovery, health_check, volume};
    fn check<T: serde::Serialize + serde::de::DeserializeOwned>(proto: &str) {
        let pool = descriptors::pool();
        let descriptor = pool.get_enum_by_name(proto).unwrap();
        for name in descriptor.values().map(|v| v.name().to_string()) {
            let value: T = serde_json::from_value(json!(name))
                .unwrap_or_else(|e| panic!("{proto}.{name} is not read: {e}"));
            assert_eq!(serde_json::to_value(value).unwrap(), json!(name), "{proto}");
        }
    }
    check::<container::ContainerType>("mesos.v1.ContainerInfo.Type");
    check::<container::DockerNetwork>("mesos.v1.ContainerInfo.DockerInfo.Network");
    check::<container::ImageType>("mesos.v1.Image.Type");
    check::<container::Protocol>("mesos.v1.NetworkInfo.Protocol");
    check::<container::IpcMode>("mesos.v1.LinuxInfo.IpcMode");
    check::<container::Capability>("mesos.v1.CapabilityInfo.Capability");
    check::<container::RLimitType>("mesos.v1.RLimitInfo.RLimit.Type");
    check::<volume::VolumeMode>("mesos.v1.Volume.Mode");
    check::<volume::VolumeSourceType>("mesos.v1.Volume.Source.Type");
    check::<volume::SandboxPathType>("mesos.v1.Volume.Source.SandboxPath.Type");
    check::<volume::PropagationMode>("mesos.v1.MountPropagation.Mode");
    check::<volume::AccessModeKind>(
        "mesos.v1.Volume.Source.CSIVolume.VolumeCapability.AccessMode.Mode",
    );
    check::<volume::SecretType>("mesos.v1.Secret.Type");
    check::<health_check::HealthCheckType>("mesos.v1.HealthCheck.Type");
    check::<discovery::Visibility>("mesos.v1.DiscoveryInfo.Visibility");
}

#[test]
fn every_sample_fits_the_schema_and_round_trips() {
    all_samples();
}

fn collect_fields(message: &DynamicMessage, into: &mut BTreeSet<String>) {
    for (field, value) in message.fields() {
        into.insert(field.full_name().to_string());
        let nested: Vec<&DynamicMessage> = match value {
            Reflected::Message(m) => vec![m],
            Reflected::List(items) => items.iter().filter_map(|v| v.as_message()).collect(),
            _ => vec![],
        };
        for m in nested {
            collect_fields(m, into);
        }
    }
}

#[test]
fn the_schema_declares_nothing_the_samples_do_not_carry() {
    let mut seen = BTreeSet::new();
    for message in all_samples() {
        collect_fields(&message, &mut seen);
    }
    let declared: BTreeSet<String> = descriptors::pool()
        .all_messages()
        .flat_map(|m| m.fields().collect::<Vec<_>>())
        .map(|f| f.full_name().to_string())
        .collect();
    let unused: Vec<&String> = declared.difference(&seen).collect();
    assert!(
        unused.is_empty(),
        "fields declared in proto/mesos/v1 that no sample sets (a field mmrun's types do not \
         carry, or a sample to extend): {unused:#?}"
    );
}

#[test]
fn protobuf_bytes_are_mesos_field_numbers() {
    // ERROR event: type (1) = ERROR (7); error (8) { message (1) = "x" }. Written by hand from
    // Mesos's scheduler.proto so a renumbered field cannot pass by round-tripping alone.
    let bytes = encode(Encoding::Protobuf, &scheduler::Event::error("x")).unwrap();
    assert_eq!(bytes, [0x08, 7, 0x42, 3, 0x0a, 1, b'x']);
    // executor Call.Message.data is field 2, not 1.
    let call: executor::Call =
        decode(Encoding::Protobuf, &[0x18, 3, 0x32, 4, 0x12, 2, b'h', b'i']).unwrap();
    assert_eq!(call.message.unwrap().data, "aGk=");
}

#[test]
fn unknown_fields_and_enum_values_do_not_break_a_decode() {
    // HEARTBEAT, plus field 99 (varint) that mmrun does not know.
    let event: scheduler::Event = decode(Encoding::Protobuf, &[0x08, 8, 0x98, 0x06, 1]).unwrap();
    assert_eq!(event.kind, scheduler::EventType::Heartbeat);
    // A capability newer than mmrun (type 100) in a SUBSCRIBE's FrameworkInfo is dropped, as
    // proto2 drops unknown enum values.
    let info = framework_info();
    let mut call: scheduler::Call = serde_json::from_value(json!({"type": "SUBSCRIBE",
        "subscribe": {"framework_info": info}}))
    .unwrap();
    call.subscribe
        .as_mut()
        .unwrap()
        .framework_info
        .capabilities
        .clear();
    let mut bytes = encode(Encoding::Protobuf, &call).unwrap();
    // Append to Call.subscribe (3) a FrameworkInfo (1) holding capabilities (10) {type: 100}:
    // protobuf merges repeated occurrences of an embedded message.
    bytes.extend_from_slice(&[0x1a, 6, 0x0a, 4, 0x52, 2, 0x08, 100]);
    let decoded: scheduler::Call = decode(Encoding::Protobuf, &bytes).unwrap();
    let capabilities = &decoded.subscribe.unwrap().framework_info.capabilities;
    assert_eq!(capabilities.len(), 1);
    assert_eq!(capabilities[0].kind, "UNKNOWN");
}

#[test]
fn malformed_protobuf_is_an_error_with_a_message() {
    let good = encode(Encoding::Protobuf, &scheduler::Event::error("a message")).unwrap();
    let cases: [(&str, &[u8]); 5] = [
        ("truncated", &good[..good.len() - 2]),
        (
            "garbage",
            &[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ),
        ("wrong wire type for type", &[0x0a, 1, 0]),
        ("invalid UTF-8 string", &[0x42, 3, 0x0a, 1, 0xff]),
        ("length beyond the end", &[0x42, 0x7f]),
    ];
    for (what, bytes) in cases {
        let error = decode::<scheduler::Event>(Encoding::Protobuf, bytes)
            .expect_err(what)
            .to_string();
        assert!(!error.is_empty(), "{what}: empty message");
    }
    // A required field missing: ERROR without its message.
    let error = decode::<scheduler::Event>(Encoding::Protobuf, &[0x08, 7, 0x42, 0])
        .unwrap_err()
        .to_string();
    assert!(error.contains("message"), "{error}");
}

#[test]
fn hostile_nesting_is_refused_not_a_stack_overflow() {
    // The schema has no recursive message, so only unknown fields can nest without bound:
    // 100 000 nested groups of an unknown field 99 (start-group tag 0x9b 0x06), never closed.
    let mut event = vec![0x08, 8];
    for _ in 0..100_000 {
        event.extend_from_slice(&[0x9b, 0x06]);
    }
    assert!(decode::<scheduler::Event>(Encoding::Protobuf, &event).is_err());
}

#[test]
fn media_types() {
    assert_eq!(
        Encoding::from_content_type("application/x-protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        Encoding::from_content_type("Application/JSON; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(Encoding::from_content_type("text/plain"), None);
    let message = DynamicMessage::new(descriptors::message(scheduler::Event::PROTO_NAME));
    assert_eq!(message.descriptor().name(), "Event");
}
