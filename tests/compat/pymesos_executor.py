"""A custom executor on the unmodified PyPI pymesos 0.3.15 executor driver (see setup-python.sh),
started by an agent as a task's executor (it reads the MESOS_* environment the agent sets).

Each LAUNCHed task is reported TASK_RUNNING, then TASK_FINISHED with the task's `data` (decoded)
as the status message. Each framework message is answered with `pymesos:<data>`. On SHUTDOWN it
prints `SHUTDOWN` and exits. Everything it sees is printed to stdout (the sandbox's `stdout`).
"""
import sys
import time
from threading import Thread

from addict import Dict
from pymesos import Executor, MesosExecutorDriver, decode_data, encode_data


def say(line):
    print(line, flush=True)


class EchoExecutor(Executor):
    def registered(self, driver, executor_info, framework_info, agent_info):
        say('REGISTERED %s %s' % (executor_info['executor_id']['value'], framework_info['id']['value']))

    def launchTask(self, driver, task):
        def run():
            # The driver hands tasks over as plain dicts, as decoded from JSON.
            task_id = task['task_id']['value']
            data = decode_data(task['data']).decode('utf-8') if task.get('data') else ''
            for state in ('TASK_RUNNING', 'TASK_FINISHED'):
                update = Dict()
                update.task_id.value = task_id
                update.state = state
                update.message = data
                driver.sendStatusUpdate(update)
                say('SENT %s %s' % (task_id, state))
                time.sleep(0.1)
        Thread(target=run, daemon=True).start()

    def frameworkMessage(self, driver, message):
        text = decode_data(message).decode('utf-8')
        say('MESSAGE %s' % text)
        driver.sendFrameworkMessage(encode_data(('pymesos:' + text).encode('utf-8')))

    def shutdown(self, driver):
        say('SHUTDOWN')


if __name__ == '__main__':
    driver = MesosExecutorDriver(EchoExecutor())
    driver.run()
    say('EXITED')
    sys.exit(0)
