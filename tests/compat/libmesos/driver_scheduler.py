# -*- coding: utf-8 -*-
"""A scheduler on the REAL libmesos 1.11 scheduler driver (the C++ MesosSchedulerDriver behind
the Java, Scala, Python and C++ APIs), through its Python 2.7 binding, unmodified. Run it with the
interpreter .ci/libmesos-setup.sh builds:

    target/libmesos-ext/libmesos/bin/python2-mesos tests/compat/libmesos/driver_scheduler.py \
        --master HOST:PORT|zk://HOST:PORT/PATH [--tasks N] [--cmd COMMAND] \
        [--executor URI [--message]] [--framework-id ID] [--failover-timeout SECONDS] \
        [--hold] [--reconcile] [--kill-after-running] [--timeout SECONDS] [--address IP]

The driver speaks libprocess: it POSTs mesos.scheduler.Call messages (SUBSCRIBE, ACCEPT,
DECLINE, KILL, ACKNOWLEDGE, RECONCILE, MESSAGE, TEARDOWN) to master@HOST:PORT and receives
mesos.internal.* messages on its own libprocess server, which binds and advertises LIBPROCESS_IP
(python2-mesos sets 127.0.0.1 unless it is set; --address overrides it). Status updates are
acknowledged implicitly (the default).

Same behaviour and stdout protocol as tests/compat/go/src/mmrun-go-v0-scheduler: tasks task-1 …
task-N (0.1 cpus, 32 mem), launched on the first offers with room, other offers declined
(refuse_seconds 5); a command task runs --cmd in a shell ("sleep 600" by default with --hold or
--kill-after-running); with --executor the tasks run on the custom executor "go-v0-executor"
(mmrun-go-v0-executor; the URI is fetched executable and run as ./<its base name>; 0.01 cpus,
32 mem) with task data "wait-for-message" (--message: "ping-<task-id>" is sent once the task is
TASK_RUNNING and "echo:ping-<task-id>" expected back) or "run-forever" (--hold,
--kill-after-running).

Stdout, one line each, flushed: REGISTERED <framework-id>, REREGISTERED <framework-id>,
OFFERS <n> <first offer's hostname>, UPDATE <task-id> <TASK_STATE> <reason or ->,
MESSAGE <data>, ERROR <message>, HOLDING, DONE.

Exit codes: 0 after DONE once stop(False) (the TEARDOWN) returned; 1 when a task reached a
terminal state other than the expected one (TASK_FINISHED, or TASK_KILLED with
--kill-after-running) or finished without echoing the message; 2 on ERROR (the driver aborted)
or a usage error; 3 on --timeout. With --hold: HOLDING once every task is TASK_RUNNING, then it
runs until killed (no timeout). With --reconcile: implicit reconciliation after every
(re)registration, every answer printed; with --reconcile --tasks 0 it also kills every task
reconciliation reports TASK_RUNNING and prints DONE once they are all TASK_KILLED and no
reconciliation answer came for 2 s.
"""
from __future__ import print_function

import argparse
import os
import sys
import threading
import time

EXECUTOR_ID = "go-v0-executor"
TASK_CPUS, TASK_MEM = 0.1, 32.0
EXECUTOR_CPUS, EXECUTOR_MEM = 0.01, 32.0
RECONCILE_QUIET = 2.0
ECHO_GRACE = 5.0

_out = threading.Lock()


def say(line):
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(message):
    sys.stderr.write("driver_scheduler.py: %s\n" % message)
    sys.stderr.flush()


def parse_args():
    p = argparse.ArgumentParser(description="A scheduler on the real libmesos scheduler driver.")
    p.add_argument("--master", required=True, help="HOST:PORT, master@HOST:PORT or zk://HOST:PORT/PATH")
    p.add_argument("--address", help="the IP the driver binds and advertises (sets LIBPROCESS_IP)")
    p.add_argument("--tasks", type=int, default=1, help="how many tasks to launch (0: none)")
    p.add_argument("--cmd", default=None, help='the tasks\' shell command (default "echo hello from libmesos")')
    p.add_argument("--executor", default="", help="run the tasks on mmrun-go-v0-executor, fetched from this URI")
    p.add_argument("--message", action="store_true", help="with --executor: ping each RUNNING task's executor, expect the echo")
    p.add_argument("--framework-id", default="", help="register with this existing framework id (failover)")
    p.add_argument("--failover-timeout", type=float, default=0.0, help="FrameworkInfo.failover_timeout, seconds")
    p.add_argument("--hold", action="store_true", help="once every task is RUNNING print HOLDING and keep running")
    p.add_argument("--reconcile", action="store_true", help="reconcile implicitly after (re)registration")
    p.add_argument("--kill-after-running", action="store_true", help="kill each task once RUNNING; expect TASK_KILLED")
    p.add_argument("--timeout", type=float, default=60.0, help="give up (exit 3) after this many seconds")
    args = p.parse_args()
    if args.message and not args.executor:
        say("ERROR --message needs --executor")
        sys.exit(2)
    if args.cmd is None:
        args.cmd = "sleep 600" if (args.hold or args.kill_after_running) else "echo hello from libmesos"
    return args


def main():
    args = parse_args()
    if args.address:
        os.environ["LIBPROCESS_IP"] = args.address  # read when the driver initializes libprocess
    # Imported after the environment is settled; mesos.interface (hence google.protobuf) must come
    # before mesos.scheduler: importing the binding alone segfaults.
    from mesos.interface import Scheduler, mesos_pb2
    from mesos.scheduler import MesosSchedulerDriver

    state_name = mesos_pb2.TaskState.Name
    reason_name = mesos_pb2.TaskStatus.Reason.Name
    terminal = set(getattr(mesos_pb2, s) for s in (
        "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
        "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR"))
    expected = mesos_pb2.TASK_KILLED if args.kill_after_running else mesos_pb2.TASK_FINISHED
    own = set("task-%d" % i for i in range(1, args.tasks + 1))
    kill_mode = args.reconcile and args.tasks == 0 and not args.hold

    result = {"code": None}
    finished_event = threading.Event()
    holding_event = threading.Event()

    def finish(code):
        if result["code"] is None:
            result["code"] = code
            finished_event.set()

    def scalar(resources, name):
        return sum(r.scalar.value for r in resources
                   if r.name == name and r.type == mesos_pb2.Value.SCALAR)

    def executor_info():
        info = mesos_pb2.ExecutorInfo()
        info.executor_id.value = EXECUTOR_ID
        info.name = "mmrun-go-v0-executor"
        info.command.value = "./" + os.path.basename(args.executor)
        info.command.shell = True
        uri = info.command.uris.add()
        uri.value = args.executor
        uri.executable = True
        for name, value in (("cpus", EXECUTOR_CPUS), ("mem", EXECUTOR_MEM)):
            r = info.resources.add()
            r.name, r.type, r.scalar.value = name, mesos_pb2.Value.SCALAR, value
        return info

    class DriverScheduler(Scheduler):
        def __init__(self):
            self.lock = threading.RLock()
            self.framework_id = args.framework_id
            self.launched = 0
            self.executor_on = set()
            self.running = set()
            self.done = set()
            self.echoed = set()
            self.finished = set()
            self.held = False
            self.to_kill = set()
            self.last_answer = None
            self.generation = 0

        # -- helpers (self.lock held) --
        def check_done(self):
            if kill_mode:
                if (not self.to_kill and self.last_answer is not None
                        and time.time() - self.last_answer >= RECONCILE_QUIET):
                    say("DONE")
                    finish(0)
                return
            if args.hold:
                if not self.held and len(self.running) == args.tasks:
                    self.held = True
                    say("HOLDING")
                    holding_event.set()
                return
            if len(self.done) == args.tasks:
                say("DONE")
                finish(0)

        def arm_quiet_timer(self):
            if not kill_mode:
                return
            generation = self.generation

            def fire():
                with self.lock:
                    if generation == self.generation:
                        self.check_done()
            t = threading.Timer(RECONCILE_QUIET + 0.05, fire)
            t.daemon = True
            t.start()

        def after_registration(self, driver):
            if args.reconcile:
                self.last_answer = time.time()
                self.generation += 1
                self.arm_quiet_timer()
                driver.reconcileTasks([])
            self.check_done()

        # -- callbacks --
        def registered(self, driver, frameworkId, masterInfo):
            with self.lock:
                self.framework_id = frameworkId.value
                say("REGISTERED %s" % self.framework_id)
                log("registered with master %s" % masterInfo.pid)
                self.after_registration(driver)

        def reregistered(self, driver, masterInfo):
            with self.lock:
                say("REREGISTERED %s" % self.framework_id)
                log("re-registered with master %s" % masterInfo.pid)
                self.after_registration(driver)

        def disconnected(self, driver):
            log("disconnected from the master")

        def resourceOffers(self, driver, offers):
            with self.lock:
                if not offers:
                    return
                say("OFFERS %d %s" % (len(offers), offers[0].hostname))
                eps = 1e-9
                for offer in offers:
                    cpus, mem = scalar(offer.resources, "cpus"), scalar(offer.resources, "mem")
                    agent = offer.slave_id.value
                    need_executor = bool(args.executor) and agent not in self.executor_on
                    tasks = []
                    while self.launched < args.tasks:
                        need_cpus, need_mem = TASK_CPUS, TASK_MEM
                        if need_executor and not tasks:
                            need_cpus += EXECUTOR_CPUS
                            need_mem += EXECUTOR_MEM
                        if cpus + eps < need_cpus or mem + eps < need_mem:
                            break
                        cpus -= need_cpus
                        mem -= need_mem
                        self.launched += 1
                        task = mesos_pb2.TaskInfo()
                        task.task_id.value = "task-%d" % self.launched
                        task.name = "mmrun-libmesos " + task.task_id.value
                        task.slave_id.value = agent
                        for name, value in (("cpus", TASK_CPUS), ("mem", TASK_MEM)):
                            r = task.resources.add()
                            r.name, r.type, r.scalar.value = name, mesos_pb2.Value.SCALAR, value
                        if args.executor:
                            task.executor.CopyFrom(executor_info())
                            if args.message:
                                task.data = b"wait-for-message"
                            elif args.hold or args.kill_after_running:
                                task.data = b"run-forever"
                        else:
                            task.command.value = args.cmd
                            task.command.shell = True
                        tasks.append(task)
                    if not tasks:
                        driver.declineOffer(offer.id, mesos_pb2.Filters(refuse_seconds=5))
                        continue
                    if need_executor:
                        self.executor_on.add(agent)
                    log("launching %s on agent %s (%s)" % (
                        ",".join(t.task_id.value for t in tasks), agent, offer.hostname))
                    driver.launchTasks([offer.id], tasks, mesos_pb2.Filters(refuse_seconds=1))

        def offerRescinded(self, driver, offerId):
            log("offer %s rescinded" % offerId.value)

        def statusUpdate(self, driver, status):
            with self.lock:
                task_id = status.task_id.value
                state = status.state
                reason = reason_name(status.reason) if status.HasField("reason") else "-"
                say("UPDATE %s %s %s" % (task_id, state_name(state), reason))
                if status.message:
                    log("update %s %s: %s" % (task_id, state_name(state), status.message))
                reconciled = status.HasField("reason") and status.reason == mesos_pb2.TaskStatus.REASON_RECONCILIATION

                if kill_mode:
                    if reconciled:
                        self.last_answer = time.time()
                        self.generation += 1
                        self.arm_quiet_timer()
                    if state == mesos_pb2.TASK_RUNNING and reconciled:
                        if task_id not in self.to_kill:
                            self.to_kill.add(task_id)
                            log("killing reconciled task %s" % task_id)
                            driver.killTask(status.task_id)
                    elif state == mesos_pb2.TASK_KILLED:
                        self.to_kill.discard(task_id)
                    elif state in terminal and task_id in self.to_kill:
                        log("task %s ended %s instead of TASK_KILLED" % (task_id, state_name(state)))
                        finish(1)
                        return
                    self.check_done()
                    return

                if task_id not in own or task_id in self.done:
                    return
                if state == mesos_pb2.TASK_RUNNING:
                    if task_id in self.running:
                        return
                    self.running.add(task_id)
                    if args.message:
                        executor_id = mesos_pb2.ExecutorID(value=EXECUTOR_ID)
                        data = "ping-" + task_id
                        log("sending %r to %s on agent %s" % (data, EXECUTOR_ID, status.slave_id.value))
                        driver.sendFrameworkMessage(executor_id, status.slave_id, data)
                    if args.kill_after_running:
                        log("killing %s" % task_id)
                        driver.killTask(status.task_id)
                    self.check_done()
                elif state == expected:
                    if args.message and task_id not in self.echoed:
                        # The echo comes from the agent directly, the update via the master.
                        self.finished.add(task_id)

                        def no_echo(task_id=task_id):
                            with self.lock:
                                if task_id not in self.echoed:
                                    log("task %s finished without echoing the message" % task_id)
                                    finish(1)
                        t = threading.Timer(ECHO_GRACE, no_echo)
                        t.daemon = True
                        t.start()
                        return
                    self.done.add(task_id)
                    self.check_done()
                elif state in terminal:
                    log("task %s ended %s (%s): %s" % (task_id, state_name(state), reason, status.message))
                    finish(1)

        def frameworkMessage(self, driver, executorId, slaveId, message):
            with self.lock:
                say("MESSAGE %s" % message)
                log("message from %s on agent %s: %r" % (executorId.value, slaveId.value, message))
                prefix = "echo:ping-"
                if message.startswith(prefix) and message[len(prefix):] in own:
                    task_id = message[len(prefix):]
                    self.echoed.add(task_id)
                    if task_id in self.finished and task_id not in self.done:
                        self.done.add(task_id)
                        self.check_done()

        def slaveLost(self, driver, slaveId):
            log("agent %s lost" % slaveId.value)

        def executorLost(self, driver, executorId, slaveId, status):
            log("executor %s on agent %s exited with status %d" % (executorId.value, slaveId.value, status))

        def error(self, driver, message):
            say("ERROR %s" % message)
            finish(2)

    framework = mesos_pb2.FrameworkInfo()
    framework.user = ""  # the driver fills in the current user
    framework.name = "mmrun-libmesos"
    framework.failover_timeout = args.failover_timeout
    if args.framework_id:
        framework.id.value = args.framework_id

    scheduler = DriverScheduler()
    driver = MesosSchedulerDriver(scheduler, framework, args.master)  # implicit acknowledgements
    status = driver.start()
    if status != mesos_pb2.DRIVER_RUNNING:
        say("ERROR starting the driver: %s" % mesos_pb2.Status.Name(status))
        os._exit(2)

    deadline = time.time() + args.timeout
    while not finished_event.is_set():
        if holding_event.is_set():
            finished_event.wait(3600)  # until killed
            continue
        left = deadline - time.time()
        if left <= 0:
            log("timed out after %gs" % args.timeout)
            sys.stdout.flush()
            os._exit(3)
        finished_event.wait(min(left, 1.0))

    code = result["code"]
    if code != 2:
        # stop(False) sends TEARDOWN (the framework is removed); it returns at once, so give
        # libprocess a moment to put the message on the wire before the process ends.
        status = driver.stop(False)
        driver.join()
        time.sleep(1.0)
        if status != mesos_pb2.DRIVER_RUNNING and status != mesos_pb2.DRIVER_STOPPED:
            say("ERROR stopping the driver: %s" % mesos_pb2.Status.Name(status))
            code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: the driver's libprocess threads must not run into interpreter teardown.
    os._exit(code)


if __name__ == "__main__":
    main()
