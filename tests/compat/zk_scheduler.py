"""A framework on the unmodified PyPI pymesos 0.3.15 that finds its master through ZooKeeper.

    python zk_scheduler.py [zk://host:port/mesos] [--cmd 'echo hi'] [--timeout 60]
                           [--release FILE]

The master defaults to $MESOS_MASTER. pymesos watches the group with kazoo, takes the lowest
`json.info_` member as the leader and reads its `address`; when the leader changes it connects
to the new one and subscribes again with its framework id. This scheduler launches one shell
task on the first offer that fits, declines the rest, acknowledges each update before it
reports it (so a test that acts on an `UPDATE` line does not race the acknowledgement) and
stops when the task ends. With --release it creates FILE once it has subscribed again (after a
failover): a task waiting for FILE then finishes on the new leader.

Stdout, one event a line: `SUBSCRIBED <framework id> <master host:port>`,
`RESUBSCRIBED <framework id> <master host:port>`, `UPDATE <task id> <state>`, then
`RESULT TASK_FINISHED` (exit 0), `RESULT <other terminal state>` (exit 1) or `RESULT TIMEOUT`
(exit 2). pymesos logs to stderr.
"""
import argparse
import getpass
import os
import sys
import threading
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

CPUS, MEM = 0.1, 32
TERMINAL = {'TASK_FINISHED', 'TASK_FAILED', 'TASK_LOST', 'TASK_KILLED', 'TASK_ERROR',
            'TASK_DROPPED', 'TASK_GONE'}


def say(line):
    print(line, flush=True)


def scalar(offer, name):
    return sum(r.scalar.value for r in offer.resources if r.name == name and r.type == 'SCALAR')


class ZkScheduler(Scheduler):
    def __init__(self, cmd, release):
        self.cmd = cmd
        self.release = release
        self.task_id = 'zk-%s' % uuid.uuid4().hex[:12]
        self.launched = False
        self.result = None
        self.done = threading.Event()

    def registered(self, driver, framework_id, master_info):
        say('SUBSCRIBED %s %s' % (framework_id.value, driver.master))

    def reregistered(self, driver, master_info):
        say('RESUBSCRIBED %s %s' % (driver.framework_id, driver.master))
        if self.release:
            open(self.release, 'a').close()
        # What the new leader knows of the task (it learnt it from the re-registered agent).
        driver.reconcileTasks([])

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched or scalar(offer, 'cpus') < CPUS or scalar(offer, 'mem') < MEM:
                driver.declineOffer(offer.id, Dict(refuse_seconds=3600))
                continue
            task = Dict()
            task.task_id.value = self.task_id
            task.agent_id.value = offer.agent_id.value
            task.name = 'zk task'
            task.command.value = self.cmd
            task.command.shell = True
            task.resources = [
                dict(name='cpus', type='SCALAR', scalar={'value': CPUS}),
                dict(name='mem', type='SCALAR', scalar={'value': MEM}),
            ]
            self.launched = True
            driver.launchTasks(offer.id, [task])

    def statusUpdate(self, driver, update):
        if 'uuid' in update:
            driver.acknowledgeStatusUpdate(update)
        say('UPDATE %s %s' % (update.task_id.value, update.state))
        if update.task_id.value == self.task_id and update.state in TERMINAL:
            if self.result is None:
                self.result = update.state
                self.done.set()

    def error(self, driver, message):
        print('master sent ERROR: %s' % message, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('master', nargs='?', default=os.environ.get('MESOS_MASTER'),
                    help='zk://host:port/path (default: $MESOS_MASTER)')
    ap.add_argument('--cmd', default='echo hi from zk')
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--release', help='a file to create once subscribed again')
    args = ap.parse_args()
    if not args.master or not args.master.startswith('zk://'):
        ap.error('give the masters\' ZooKeeper URL: zk://host:port/path (or MESOS_MASTER)')

    framework = Dict()
    framework.user = getpass.getuser()
    framework.name = 'mmrun-pymesos-zk'
    framework.failover_timeout = 60
    framework.checkpoint = True
    sched = ZkScheduler(args.cmd, args.release)
    driver = MesosSchedulerDriver(sched, framework, args.master, use_addict=True,
                                  implicit_acknowledgements=False)
    driver.start()
    finished = sched.done.wait(args.timeout)
    say('RESULT %s' % (sched.result if finished else 'TIMEOUT'))
    driver.stop()  # failover=False: TEARDOWN
    stopping = threading.Thread(target=driver.join, daemon=True)
    stopping.start()
    stopping.join(10)
    if not finished:
        return 2
    return 0 if sched.result == 'TASK_FINISHED' else 1


if __name__ == '__main__':
    sys.exit(main())
