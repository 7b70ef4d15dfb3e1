"""Minimal framework on the unmodified PyPI pymesos 0.3.15 (see setup-python.sh).

    python pymesos_framework.py <master host:port> [--cmd 'echo hello'] [--timeout 30]

Launches one shell task on the first offer with cpus >= 0.1 and mem >= 32,
declines all other offers, tears the framework down when the task ends.
Stdout: `SUBSCRIBED <framework_id>`, `UPDATE <task_id> <state>`, then
`RESULT TASK_FINISHED` (exit 0), `RESULT <other terminal state>` (exit 1),
`RESULT TIMEOUT` (exit 2) or `RESULT ERROR` (exit 3: ERROR event or driver
abort), `RESULT TEARDOWN_HUNG` (exit 4). pymesos logs to stderr.
"""
import argparse
import getpass
import os
import signal
import sys
import threading
import time
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

CPUS, MEM = 0.1, 32
TERMINAL = {'TASK_FINISHED', 'TASK_FAILED', 'TASK_LOST', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED'}


def say(line):
    print(line, flush=True)


def scalar(offer, name):
    return sum(r.scalar.value for r in offer.resources if r.name == name and r.type == 'SCALAR')


class OneTaskScheduler(Scheduler):
    def __init__(self, cmd):
        self.cmd = cmd
        self.task_id = 'compat-%s' % uuid.uuid4().hex[:12]
        self.launched = False
        self.result = None
        self.done = threading.Event()

    def finish(self, driver, result):
        if self.result is None:
            self.result = result
            driver.stop()  # failover=False: pymesos sends TEARDOWN before closing the stream
            self.done.set()

    def registered(self, driver, framework_id, master_info):
        say('SUBSCRIBED %s' % framework_id.value)

    def reregistered(self, driver, master_info):
        say('RESUBSCRIBED %s' % driver.framework_id)

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched or scalar(offer, 'cpus') < CPUS or scalar(offer, 'mem') < MEM:
                driver.declineOffer(offer.id)
                continue
            task = Dict()
            task.task_id.value = self.task_id
            task.agent_id.value = offer.agent_id.value
            task.name = 'pymesos compat task'
            task.command.value = self.cmd
            task.command.shell = True
            task.resources = [
                dict(name='cpus', type='SCALAR', scalar={'value': CPUS}),
                dict(name='mem', type='SCALAR', scalar={'value': MEM}),
            ]
            self.launched = True
            driver.launchTasks(offer.id, [task])

    def statusUpdate(self, driver, update):
        say('UPDATE %s %s' % (update.task_id.value, update.state))
        if update.task_id.value == self.task_id and update.state in TERMINAL:
            self.finish(driver, update.state)

    def error(self, driver, message):
        print('master sent ERROR: %s' % message, file=sys.stderr, flush=True)
        self.finish(driver, 'ERROR')


def join(driver, seconds):  # driver.join() waits for the TEARDOWN call; bound it
    t = threading.Thread(target=driver.join, daemon=True)
    t.start()
    t.join(seconds)
    return not t.is_alive()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('master', help='host:port of the master (no scheme)')
    ap.add_argument('--cmd', default='echo hello')
    ap.add_argument('--timeout', type=float, default=30, help='seconds until RESULT TIMEOUT')
    args = ap.parse_args()

    framework = Dict()
    framework.user = getpass.getuser()
    framework.name = 'mmrun-pymesos-compat'
    sched = OneTaskScheduler(args.cmd)
    driver = MesosSchedulerDriver(sched, framework, args.master, use_addict=True)

    def hard_timeout(signum, frame):  # driver.start() does a blocking GET /version
        print('pymesos_framework: driver.start() blocked past --timeout', file=sys.stderr)
        say('RESULT TIMEOUT')
        os._exit(2)

    deadline = time.monotonic() + args.timeout
    signal.signal(signal.SIGALRM, hard_timeout)
    signal.alarm(max(1, int(args.timeout + 0.5)))
    try:
        driver.start()
        signal.alarm(0)
        finished = sched.done.wait(max(0, deadline - time.monotonic()))
        if not finished:
            say('RESULT TIMEOUT')
            why = ('task not finished' if sched.launched else 'no usable offer') if driver.framework_id \
                else 'never subscribed to %s (is the master running?)' % args.master
            print('pymesos_framework: timed out after %ss: %s' % (args.timeout, why), file=sys.stderr)
            driver.stop()
            join(driver, 5)
            return 2
        if not join(driver, 10):
            say('RESULT TEARDOWN_HUNG')
            return 4
    except Exception as e:  # pymesos re-raises IO-thread failures in the main thread
        print('pymesos_framework: driver aborted: %s: %s' % (type(e).__name__, e), file=sys.stderr)
        say('RESULT ERROR')
        return 3
    say('RESULT %s' % sched.result)
    return {'TASK_FINISHED': 0, 'ERROR': 3}.get(sched.result, 1)


if __name__ == '__main__':
    sys.exit(main())
