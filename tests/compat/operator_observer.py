"""An operator watching the master's event stream through the unmodified PyPI pymesos 0.3.15
(`MesosOperatorMasterDriver`, SUBSCRIBE on `POST /api/v1/operator`; see setup-python.sh).

    python operator_observer.py <master host:port>

Prints one JSON line per event the operator's callbacks receive, flushed as it comes:
`{"event": "subscribed", "frameworks": N, "agents": N, "tasks": N}` once (counted from the
SUBSCRIBED state), then `{"event": "taskAdded" | "taskUpdated" | "frameworkAdded" |
"frameworkUpdated" | "frameworkRemoved" | "agentAdded" | "agentRemoved", "data": ...}`.
Runs until killed. pymesos logs to stderr.
"""
import json
import logging
import sys

from pymesos import OperatorMaster
from pymesos.operator_v1 import MesosOperatorMasterDriver


def say(event, **fields):
    print(json.dumps(dict(event=event, **fields)), flush=True)


class Observer(OperatorMaster):
    def taskAdded(self, task_info):
        say('taskAdded', data=task_info)

    def taskUpdated(self, task_info):
        say('taskUpdated', data=task_info)

    def frameworkAdded(self, framework_info):
        say('frameworkAdded', data=framework_info)

    def frameworkUpdated(self, framework_info):
        say('frameworkUpdated', data=framework_info)

    def frameworkRemoved(self, framework_info):
        say('frameworkRemoved', data=framework_info)

    def agentAdded(self, agent_info):
        say('agentAdded', data=agent_info)

    def agentRemoved(self, agent_id):
        say('agentRemoved', data=agent_id)


class Driver(MesosOperatorMasterDriver):
    # pymesos only logs the SUBSCRIBED state; the test needs to know the stream is open.
    def on_subscribed(self, info):
        super().on_subscribed(info)
        state = info['get_state']
        say('subscribed',
            frameworks=len(state.get('get_frameworks', {}).get('frameworks', [])),
            agents=len(state.get('get_agents', {}).get('agents', [])),
            tasks=len(state.get('get_tasks', {}).get('tasks', [])))


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    driver = Driver(sys.argv[1], Observer())
    driver.start()
    driver.join()


if __name__ == '__main__':
    main()
