"""A custom executor on the unmodified PyPI pymesos 0.3.15 executor driver (see setup-python.sh),
started by an agent as a task's executor (it reads the MESOS_* environment the agent sets).

Each LAUNCHed task is reported TASK_RUNNING, then TASK_FINISHED with the task's `data` (decoded)
as the status message; a task whose data is `hold` stays TASK_RUNNING until a framework message
`finish` arrives. Each framework message is answered with `pymesos:<data>`. On SHUTDOWN it
prints `SHUTDOWN` and exits. Everything it sees is printed to stdout (the sandbox's `stdout`).
"""
import sys
import threading
import time
from threading import Thread

from addict import Dict
from pymesos import Executor, MesosExecutorDriver, decode_data, encode_data


def say(line):
    print(line, flush=True)


def update(driver, task_id, state, message):
    status = Dict()
    status.task_id.value = task_id
    status.state = state
    status.message = message
    driver.sendStatusUpdate(status)
    say('SENT %s %s' % (task_id, state))


class EchoExecutor(Executor):
    def __init__(self):
        self.held = []
        self.lock = threading.Lock()

    def registered(self, driver, executor_info, framework_info, agent_info):
        say('REGISTERED %s %s' % (executor_info['executor_id']['value'], framework_info['id']['value']))

    def launchTask(self, driver, task):
        def run():
            # The driver hands tasks over as plain dicts, as decoded from JSON.
            task_id = task['task_id']['value']
            data = decode_data(task['data']).decode('utf-8') if task.get('data') else ''
            update(driver, task_id, 'TASK_RUNNING', data)
            if data == 'hold':
                with self.lock:
                    self.held.append(task_id)
                return
            time.sleep(0.1)
            update(driver, task_id, 'TASK_FINISHED', data)
        Thread(target=run, daemon=True).start()

    def frameworkMessage(self, driver, message):
        text = decode_data(message).decode('utf-8')
        say('MESSAGE %s' % text)
        driver.sendFrameworkMessage(encode_data(('pymesos:' + text).encode('utf-8')))
        if text == 'finish':
            with self.lock:
                held, self.held = self.held, []
            for task_id in held:
                update(driver, task_id, 'TASK_FINISHED', 'finished on request')

    def shutdown(self, driver):
        say('SHUTDOWN')


if __name__ == '__main__':
    driver = MesosExecutorDriver(EchoExecutor())
    driver.run()
    say('EXITED')
    sys.exit(0)
