//! Masters and ZooKeeper: `c.masters()`, `c.leader()`, `c.await_leader()`, each master's
//! `name`/`is_leader`/`kill`/`stop`/`start`/`restart`/`url`, and `c.zookeeper()`. Everything
//! goes through the cluster backend (`ClusterHandle`), which owns the nodes.

use crate::cluster::{BackendError, MasterStatus};
use crate::framework::{Framework, MasterFinder};
use crate::script::bindings::option_keys;
use crate::script::context::ClusterHandleRef;
use crate::script::context::{ClusterCtx, ScriptResult, backend_error, lock, script_error};
use crate::script::values::Options;
use crate::zookeeper::{LeaderDetector, ZkUrl};
use rhai::{Array, Dynamic, Engine, FuncRegistration, Map};
use std::sync::Arc;
use std::time::Duration;

/// The cluster's ZooKeeper node (`ZooKeeper` in scripts).
#[derive(Clone)]
pub struct ZooKeeperHandle(pub Arc<ClusterCtx>);

/// How long `await_leader` waits by default: a killed leader's session (2 s) must expire first.
const AWAIT_LEADER_DEFAULT: Duration = Duration::from_secs(30);

/// One of the cluster's masters (`Master` in scripts): `index` counts from 0, `master-1` is 0.
#[derive(Clone)]
pub struct MasterHandle {
    pub cluster: Arc<ClusterCtx>,
    pub index: usize,
}

pub fn register(engine: &mut Engine) {
    engine.register_type_with_name::<ZooKeeperHandle>("ZooKeeper");
    FuncRegistration::new("masters")
        .with_params_info(["c: Cluster", "array"])
        .with_comments(["/// Every master (`master-1` …), running or not."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<Array> {
            let count = with_handle(&c.0, |h| Box::pin(async move { Ok(h.master_count()) }))?;
            Ok((0..count)
                .map(|index| {
                    Dynamic::from(MasterHandle {
                        cluster: c.0.clone(),
                        index,
                    })
                })
                .collect())
        });
    FuncRegistration::new("leader")
        .with_params_info(["c: Cluster", "Master"])
        .with_comments([
            "/// The master that leads now; an error while none does (see `await_leader`).",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef| -> ScriptResult<MasterHandle> { leader(&c.0) },
        );
    FuncRegistration::new("await_leader")
        .with_params_info(["c: Cluster", "Master"])
        .with_comments(["/// Waits (up to 30 s) until a master leads, e.g. after the leader was killed; returns it."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<MasterHandle> {
            c.0.scenario.awaiting(|| "await_leader()".into(), || await_leader(&c.0, AWAIT_LEADER_DEFAULT))
        });
    FuncRegistration::new("await_leader")
        .with_params_info(["c: Cluster", "options: map", "Master"])
        .with_comments([
            "/// Waits until a master leads; returns it. Options: `timeout` (e.g. \"10s\").",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, options: Map| -> ScriptResult<MasterHandle> {
                let o = Options::new(&options, "await_leader", option_keys::AWAIT_LEADER.keys)?;
                let timeout = o.duration("timeout")?.unwrap_or(AWAIT_LEADER_DEFAULT);
                c.0.scenario
                    .awaiting(|| "await_leader()".into(), || await_leader(&c.0, timeout))
            },
        );

    FuncRegistration::new("name")
        .with_params_info(["m: Master", "string"])
        .with_comments(["/// `master-1`, `master-2`, … in the order the cluster created them."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> String {
            master_name(m.index)
        });
    FuncRegistration::new("url")
        .with_params_info(["m: Master", "string"])
        .with_comments(["/// The master's URL, e.g. `http://127.0.0.1:41234`."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<String> {
            Ok(status(m)?.url)
        });
    FuncRegistration::new("is_leader")
        .with_params_info(["m: Master", "bool"])
        .with_comments(["/// Whether this master leads now."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<bool> {
            Ok(status(m)?.leading)
        });
    FuncRegistration::new("running")
        .with_params_info(["m: Master", "bool"])
        .with_comments(["/// Whether this master runs (a master that lost its ZooKeeper session stops, as Mesos's aborts)."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<bool> {
            Ok(status(m)?.running)
        });
    FuncRegistration::new("stop")
        .with_params_info(["m: Master", "()"])
        .with_comments(["/// Stops this master gracefully: it leaves the election at once, so another leads within\n/// moments. Its frameworks and agents move to the new leader."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<()> {
            let index = m.index;
            master_op(m, "stop()", move |h| Box::pin(async move { h.stop_master(index, true).await }))
        });
    FuncRegistration::new("kill")
        .with_params_info(["m: Master", "()"])
        .with_comments(["/// Kills this master (a crash): with ZooKeeper it keeps its leadership until its session\n/// expires (2 s), then another master leads."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<()> {
            let index = m.index;
            master_op(m, "kill()", move |h| Box::pin(async move { h.stop_master(index, false).await }))
        });
    FuncRegistration::new("start")
        .with_params_info(["m: Master", "()"])
        .with_comments(["/// Starts this stopped (or killed) master again: a fresh id and an empty registry; it joins\n/// the election behind the masters already there."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<()> {
            let index = m.index;
            master_op(m, "start()", move |h| Box::pin(async move { h.start_master_at(index).await }))
        });
    FuncRegistration::new("restart")
        .with_params_info(["m: Master", "()"])
        .with_comments(["/// Restarts this master (fresh id, empty registry). Agents re-register with their tasks and\n/// mmrun's frameworks subscribe again; with one master, as `c.restart_master()`."])
        .register_into_engine(engine, |m: &mut MasterHandle| -> ScriptResult<()> {
            if !m.cluster.spec.has_zookeeper() {
                return restart_master(&m.cluster);
            }
            let index = m.index;
            master_op(m, "restart()", move |h| {
                Box::pin(async move {
                    h.stop_master(index, true).await?;
                    h.start_master_at(index).await
                })
            })
        });

    FuncRegistration::new("zookeeper")
        .with_params_info(["c: Cluster", "ZooKeeper"])
        .with_comments(["/// The cluster's ZooKeeper node (clusters made with `zookeeper: true` or `masters: n`)."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<ZooKeeperHandle> {
            if !c.0.spec.has_zookeeper() {
                return script_error(
                    "the cluster has no ZooKeeper: create it with cluster(#{ zookeeper: true }) or cluster(#{ masters: 3 })",
                );
            }
            Ok(ZooKeeperHandle(c.0.clone()))
        });
    FuncRegistration::new("url")
        .with_params_info(["z: ZooKeeper", "string"])
        .with_comments([
            "/// The `zk://host:port/mesos` URL frameworks and agents find the leading master at.",
        ])
        .register_into_engine(engine, |z: &mut ZooKeeperHandle| -> ScriptResult<String> {
            zookeeper_url(&z.0)
        });
    FuncRegistration::new("stop")
        .with_params_info(["z: ZooKeeper", "()"])
        .with_comments(["/// Stops ZooKeeper gracefully; its data stays for `start()`. Masters keep their sessions if\n/// it is back within their session timeout, else they stop, as Mesos's do."])
        .register_into_engine(engine, |z: &mut ZooKeeperHandle| -> ScriptResult<()> {
            zookeeper_op(&z.0, "stop()", |h| Box::pin(async move { h.stop_zookeeper(true).await }))
        });
    FuncRegistration::new("kill")
        .with_params_info(["z: ZooKeeper", "()"])
        .with_comments(["/// Kills ZooKeeper (a crash); its data stays for `start()`."])
        .register_into_engine(engine, |z: &mut ZooKeeperHandle| -> ScriptResult<()> {
            zookeeper_op(&z.0, "kill()", |h| {
                Box::pin(async move { h.stop_zookeeper(false).await })
            })
        });
    FuncRegistration::new("start")
        .with_params_info(["z: ZooKeeper", "()"])
        .with_comments([
            "/// Starts ZooKeeper again on the same address and data; returns once it serves.",
        ])
        .register_into_engine(engine, |z: &mut ZooKeeperHandle| -> ScriptResult<()> {
            zookeeper_op(&z.0, "start()", |h| {
                Box::pin(async move { h.start_zookeeper().await })
            })
        });
}

fn master_name(index: usize) -> String {
    format!("master-{}", index + 1)
}

type HandleFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, BackendError>> + Send + 'a>>;

/// Runs `op` on the cluster's backend handle.
fn with_handle<T>(
    ctx: &Arc<ClusterCtx>,
    op: impl for<'a> FnOnce(&'a mut Box<dyn crate::cluster::ClusterHandle>) -> HandleFuture<'a, T>,
) -> ScriptResult<T> {
    with_handle_as(ctx, "", op)
}

/// `with_handle`, its errors after `what` (e.g. `master-2.stop()`).
fn with_handle_as<T>(
    ctx: &Arc<ClusterCtx>,
    what: &str,
    op: impl for<'a> FnOnce(&'a mut Box<dyn crate::cluster::ClusterHandle>) -> HandleFuture<'a, T>,
) -> ScriptResult<T> {
    ctx.scenario
        .block(async {
            let mut handle = ctx.handle.lock().await;
            match handle.as_mut() {
                Some(handle) => op(handle).await,
                None => Err(crate::script::context::torn_down()),
            }
        })?
        .map_err(|e| backend_error(what, e))
}

fn status(m: &MasterHandle) -> ScriptResult<MasterStatus> {
    let index = m.index;
    with_handle_as(&m.cluster, &master_name(index), move |h| {
        Box::pin(async move { h.master_status(index).await })
    })
}

fn master_op(
    m: &MasterHandle,
    what: &str,
    op: impl for<'a> FnOnce(&'a mut Box<dyn crate::cluster::ClusterHandle>) -> HandleFuture<'a, ()>,
) -> ScriptResult<()> {
    let target = master_name(m.index);
    m.cluster.scenario.timeline.fault(&target, what);
    with_handle_as(&m.cluster, &format!("{target}.{what}"), op)
}

fn zookeeper_op(
    ctx: &Arc<ClusterCtx>,
    what: &str,
    op: impl for<'a> FnOnce(&'a mut Box<dyn crate::cluster::ClusterHandle>) -> HandleFuture<'a, ()>,
) -> ScriptResult<()> {
    ctx.scenario.timeline.fault("zookeeper", what);
    with_handle_as(ctx, &format!("zookeeper.{what}"), op)
}

fn zookeeper_url(ctx: &Arc<ClusterCtx>) -> ScriptResult<String> {
    with_handle(ctx, |h| Box::pin(async move { Ok(h.zookeeper_url()) }))?
        .ok_or_else(|| "the cluster has no ZooKeeper".into())
}

/// The index of the master that leads now, if one does — and once the script's own view
/// through ZooKeeper (which its state queries follow) names the same master.
fn leading_index(ctx: &Arc<ClusterCtx>) -> ScriptResult<Option<usize>> {
    let leading = with_handle(ctx, |h| {
        Box::pin(async move {
            for index in 0..h.master_count() {
                let status = h.master_status(index).await?;
                if status.leading {
                    return Ok(Some((index, status.advertised)));
                }
            }
            Ok(None)
        })
    })?;
    let Some((index, advertised)) = leading else {
        return Ok(None);
    };
    let detected = lock(&ctx.leader).as_ref().map(|d| {
        d.current()
            .info()
            .map(|i| format!("{}:{}", i.address.ip, i.address.port))
    });
    match detected {
        Some(Some(seen)) if seen != advertised => Ok(None),
        _ => Ok(Some(index)),
    }
}

pub fn leader(ctx: &Arc<ClusterCtx>) -> ScriptResult<MasterHandle> {
    match leading_index(ctx)? {
        Some(index) => Ok(MasterHandle {
            cluster: ctx.clone(),
            index,
        }),
        None => script_error(
            "no master leads now (an election may be under way): use c.await_leader() to wait for one",
        ),
    }
}

fn await_leader(ctx: &Arc<ClusterCtx>, timeout: Duration) -> ScriptResult<MasterHandle> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        // The script's own detector must name the leader too before the script goes on: its
        // state queries ask the master it names, and while it names none (it is reading the
        // group again) they would go to the leader that just left.
        let detector_names_one = lock(&ctx.leader)
            .as_ref()
            .is_none_or(|d| d.current().info().is_some());
        if let Some(index) = leading_index(ctx)?
            && detector_names_one
        {
            return Ok(MasterHandle {
                cluster: ctx.clone(),
                index,
            });
        }
        if std::time::Instant::now() >= deadline {
            return script_error(format!(
                "await_leader: no master was elected within {timeout:?} (are the masters running? c.masters() lists them)"
            ));
        }
        ctx.scenario
            .block(tokio::time::sleep(Duration::from_millis(20)))?;
    }
}

/// With ZooKeeper, starts following the leader so the script's state queries ask it.
pub fn follow_leader(ctx: &Arc<ClusterCtx>) -> ScriptResult<()> {
    if !ctx.spec.has_zookeeper() || lock(&ctx.leader).is_some() {
        return Ok(());
    }
    let url = ZkUrl::parse(&zookeeper_url(ctx)?).map_err(|e| e.to_string())?;
    let detector = ctx
        .scenario
        .block(async move { LeaderDetector::start(url, ctx.spec.zk_session_timeout) })?;
    *lock(&ctx.leader) = Some(Arc::new(detector));
    Ok(())
}

/// How mmrun's framework finds its master: through ZooKeeper when the cluster has it.
pub fn master_finder(ctx: &Arc<ClusterCtx>) -> ScriptResult<MasterFinder> {
    if ctx.spec.has_zookeeper() {
        let url = ZkUrl::parse(&zookeeper_url(ctx)?).map_err(|e| e.to_string())?;
        return ctx
            .scenario
            .block(async move { MasterFinder::zookeeper(url) });
    }
    Ok(MasterFinder::fixed(&ctx.master_url()?))
}

pub fn restart_master(ctx: &Arc<ClusterCtx>) -> ScriptResult<()> {
    ctx.scenario.timeline.fault("master", "restart()");
    ctx.master_url()?;
    let frameworks: Vec<Framework> = lock(&ctx.frameworks).clone();
    let seen: Vec<u64> = frameworks.iter().map(|f| f.resubscriptions()).collect();
    ctx.with_handle("restart_master()", async |h| h.restart_master().await)?;
    // The old master's subscriptions are gone: wait until mmrun's frameworks have subscribed
    // again (or given up), so the script's next call reaches the new master.
    ctx.scenario
        .block(futures::future::join_all(frameworks.iter().zip(seen).map(
            |(f, seen)| f.await_resubscribed(seen, std::time::Duration::from_secs(30)),
        )))?;
    Ok(())
}
