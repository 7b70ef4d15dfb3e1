"""A scheduler whose task runs on its own executor, fetched by the agent, on the unmodified PyPI
pymesos 0.3.15 (see setup-python.sh).

    MESOS_MASTER=host:port python executor_scheduler.py [--name N] [--failover-timeout S]
                                                         [--state-dir D]

It launches one task, `held`, on a custom executor whose only file is tests/compat/
pymesos_executor.py, given as a file:// URI the agent fetches into the executor's sandbox (the
command names the fetched copy, run by this python). The task's data `hold` keeps it
TASK_RUNNING. On TASK_RUNNING the scheduler sends the executor the framework message `hello`.
Killed and started again (same --state-dir), it subscribes with its framework id (failover),
reconciles, and on finding its task running sends `finish`, which makes the executor finish it.
SIGTERM tears the framework down and exits 0.

Stdout, one event a line: `SUBSCRIBED <id>`, `FAILING OVER <id>`, `RESUBSCRIBED <id>`,
`LAUNCHED <task id>`, `UPDATE <task id> <state> <reason>`, `SENT <data>`, `MESSAGE <data>`,
`TEARDOWN`, `ERROR <message>`. pymesos logs to stderr.
"""
import argparse
import getpass
import os
import signal
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler, decode_data, encode_data

CPUS, MEM = 0.1, 32
EXECUTOR_ID = 'pymesos-executor'
EXECUTOR_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pymesos_executor.py')


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


def executor_info():
    executor = Dict()
    executor.executor_id.value = EXECUTOR_ID
    executor.name = 'pymesos executor'
    # Only the URI brings the executor's code: the command runs the copy in the sandbox.
    executor.command.value = 'exec "%s" pymesos_executor.py' % sys.executable
    executor.command.uris = [dict(value='file://' + EXECUTOR_SCRIPT, extract=False)]
    executor.resources = [dict(name='cpus', type='SCALAR', scalar={'value': 0.1}),
                          dict(name='mem', type='SCALAR', scalar={'value': 32})]
    return executor


class ExecutorScheduler(Scheduler):
    def __init__(self, state_dir, failing_over):
        self.id_file = os.path.join(state_dir, 'framework_id')
        self.launched_file = os.path.join(state_dir, 'launched')
        self.launched = read(self.launched_file) is not None
        self.failing_over = failing_over
        self.lock = threading.Lock()

    def registered(self, driver, framework_id, master_info):
        write(self.id_file, framework_id.value)
        say('SUBSCRIBED %s' % framework_id.value)
        self.reconcile(driver)

    def reregistered(self, driver, master_info):
        say('RESUBSCRIBED %s' % driver.framework_id)
        self.reconcile(driver)

    def reconcile(self, driver):
        if self.launched:
            driver.reconcileTasks([Dict(task_id=Dict(value='held'))])

    def message(self, driver, agent_id, text):
        driver.sendFrameworkMessage(dict(value=EXECUTOR_ID), dict(value=agent_id),
                                    encode_data(text.encode('utf-8')))
        say('SENT %s' % text)

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.lock:
                usable = scalar(offer, 'cpus') >= 2 * CPUS and scalar(offer, 'mem') >= 2 * MEM
                if self.launched or not usable:
                    driver.declineOffer(offer.id, Dict(refuse_seconds=3600))
                    continue
                self.launched = True
                write(self.launched_file, 'held')
            task = Dict()
            task.task_id.value = 'held'
            task.agent_id.value = offer.agent_id.value
            task.name = 'held'
            task.executor = executor_info()
            task.data = encode_data(b'hold')
            task.resources = [
                dict(name='cpus', type='SCALAR', scalar={'value': CPUS}),
                dict(name='mem', type='SCALAR', scalar={'value': MEM}),
            ]
            driver.launchTasks(offer.id, [task])
            say('LAUNCHED held')

    def statusUpdate(self, driver, update):
        reason = update.get('reason') or '-'
        say('UPDATE %s %s %s' % (update.task_id.value, update.state, reason))
        if update.state != 'TASK_RUNNING':
            return
        if reason == 'REASON_RECONCILIATION':
            if self.failing_over:
                self.failing_over = False
                self.message(driver, update.agent_id.value, 'finish')
        elif not self.failing_over:
            self.message(driver, update.agent_id.value, 'hello')

    def frameworkMessage(self, driver, executor_id, agent_id, data):
        say('MESSAGE %s' % decode_data(data).decode('utf-8'))

    def error(self, driver, message):
        say('ERROR %s' % message)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--master', default=os.environ.get('MESOS_MASTER'),
                    help='host:port of the master (default: $MESOS_MASTER)')
    ap.add_argument('--name', default='executor-scheduler')
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
    known = read(os.path.join(args.state_dir, 'framework_id'))
    if known:
        framework.id = Dict(value=known)
        say('FAILING OVER %s' % known)
    sched = ExecutorScheduler(args.state_dir, failing_over=known is not None)
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
