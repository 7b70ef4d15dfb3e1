"""A scheduler that survives its own restarts, on the unmodified PyPI pymesos 0.3.15.

    MESOS_MASTER=host:port python failover_scheduler.py [--name N] [--task T] [--cmd C]
                                                        [--failover-timeout S] [--state-dir D]

For scenarios that test scheduler failover (`c.run_framework(…)`, `kill()`, `start()`).
On its first run it subscribes with a failover timeout, launches one long command task named
--task and writes its framework id and the task's id in --state-dir (default: $STATE_DIR, else
the working directory). Restarted, it finds them there, subscribes again with that framework id
(a failover: the master kept the framework while it was away) and reconciles its task
explicitly, then implicitly. It never launches a second task. SIGTERM makes it tear the
framework down (its tasks are killed) and exit 0; SIGKILL leaves the master to notice.

Stdout, one event a line: `SUBSCRIBED <framework id>`, `RESUBSCRIBED <framework id>`,
`LAUNCHED <task id>`, `UPDATE <task id> <state> <reason>`, `RECONCILED <task id> <state>`,
`TEARDOWN`, `ERROR <message>`. pymesos logs to stderr.
"""
import argparse
import getpass
import os
import signal
import sys
import threading
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

CPUS, MEM = 0.1, 32


def say(line):
    print(line, flush=True)


def scalar(offer, name):
    return sum(r.scalar.value for r in offer.resources if r.name == name and r.type == 'SCALAR')


def read(path):
    try:
        with open(path) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def write(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text + '\n')
    os.replace(tmp, path)


class FailoverScheduler(Scheduler):
    def __init__(self, args, task_id):
        self.args = args
        self.id_file = os.path.join(args.state_dir, 'framework_id')
        self.task_file = os.path.join(args.state_dir, 'task_id')
        self.task_id = task_id
        self.lock = threading.Lock()

    def registered(self, driver, framework_id, master_info):
        write(self.id_file, framework_id.value)
        say('SUBSCRIBED %s' % framework_id.value)
        self.reconcile(driver)

    def reregistered(self, driver, master_info):
        say('RESUBSCRIBED %s' % driver.framework_id)
        self.reconcile(driver)

    def reconcile(self, driver):
        if self.task_id is None:
            return
        # Explicitly for the task it knows of, then implicitly for every task the master has.
        driver.reconcileTasks([Dict(task_id=Dict(value=self.task_id))])
        driver.reconcileTasks([])

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.lock:
                usable = scalar(offer, 'cpus') >= CPUS and scalar(offer, 'mem') >= MEM
                if self.task_id is not None or not usable:
                    driver.declineOffer(offer.id, Dict(refuse_seconds=3600))
                    continue
                self.task_id = '%s-%s' % (self.args.task, uuid.uuid4().hex[:8])
                write(self.task_file, self.task_id)
            task = Dict()
            task.task_id.value = self.task_id
            task.agent_id.value = offer.agent_id.value
            task.name = self.args.task
            task.command.value = self.args.cmd
            task.command.shell = True
            task.resources = [
                dict(name='cpus', type='SCALAR', scalar={'value': CPUS}),
                dict(name='mem', type='SCALAR', scalar={'value': MEM}),
            ]
            driver.launchTasks(offer.id, [task])
            say('LAUNCHED %s' % self.task_id)

    def statusUpdate(self, driver, update):
        reason = update.get('reason') or '-'
        say('UPDATE %s %s %s' % (update.task_id.value, update.state, reason))
        if reason == 'REASON_RECONCILIATION':
            say('RECONCILED %s %s' % (update.task_id.value, update.state))

    def error(self, driver, message):
        say('ERROR %s' % message)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--master', default=os.environ.get('MESOS_MASTER'),
                    help='host:port of the master (default: $MESOS_MASTER)')
    ap.add_argument('--name', default='failover-scheduler')
    ap.add_argument('--task', default='long', help='the task\'s name')
    ap.add_argument('--cmd', default='sleep 3600', help='the task\'s shell command')
    ap.add_argument('--failover-timeout', type=float, default=60)
    ap.add_argument('--state-dir', default=os.environ.get('STATE_DIR', '.'))
    args = ap.parse_args()
    if not args.master:
        ap.error('give the master: --master host:port or MESOS_MASTER')

    framework = Dict()
    framework.user = getpass.getuser()
    framework.name = args.name
    framework.failover_timeout = args.failover_timeout
    framework.checkpoint = True
    sched = FailoverScheduler(args, read(os.path.join(args.state_dir, 'task_id')))
    known = read(sched.id_file)
    if known:
        framework.id = Dict(value=known)
        say('FAILING OVER %s' % known)
    driver = MesosSchedulerDriver(sched, framework, args.master, use_addict=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    driver.start()
    while not stop.wait(0.2):
        pass
    say('TEARDOWN')
    driver.stop()  # failover=False: TEARDOWN, then the stream closes
    done = threading.Thread(target=driver.join, daemon=True)
    done.start()
    done.join(10)
    return 0


if __name__ == '__main__':
    sys.exit(main())
