// A libprocess ("driver") executor on Debian's mesos-go api/v0 (golang-github-mesos-mesos-go-dev),
// unmodified: MesosExecutorDriver reads MESOS_SLAVE_PID (required), MESOS_SLAVE_ID,
// MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID, MESOS_DIRECTORY and MESOS_CHECKPOINT from the
// environment the agent gives it and registers with RegisterExecutorMessage. Built offline by
// tests/compat/go/build.sh; mmrun-go-v0-scheduler -executor launches it.
//
// Per task: TASK_RUNNING at once, then by the task's data:
//   - "wait-for-message": wait for a framework message, answer "echo:<message>", then
//     TASK_FINISHED;
//   - "run-forever": stay TASK_RUNNING until killed;
//   - anything else: TASK_FINISHED after 200 ms.
//
// A kill answers TASK_KILLED; a shutdown exits 0. Everything is logged to stderr.
//
// Address: the mesos-go driver ignores LIBPROCESS_IP and would bind (and advertise) the IP of
// `hostname -f`; its DriverConfig has BindingAddress/BindingPort/PublishedAddress for that, so
// this program sets them from LIBPROCESS_IP, LIBPROCESS_PORT and LIBPROCESS_ADVERTISE_IP (what a
// libprocess executor would honour) when they are set.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	exec "github.com/mesos/mesos-go/api/v0/executor"
	mesos "github.com/mesos/mesos-go/api/v0/mesosproto"
)

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "mmrun-go-v0-executor: "+format+"\n", args...)
}

type executor struct {
	mu      sync.Mutex
	waiting []*mesos.TaskID          // tasks waiting for a framework message, in launch order
	live    map[string]*mesos.TaskID // tasks not yet in a terminal state
}

func (e *executor) update(driver exec.ExecutorDriver, task *mesos.TaskID, state mesos.TaskState) {
	logf("task %s: %s", task.GetValue(), state)
	status := &mesos.TaskStatus{TaskId: task, State: state.Enum(), Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum()}
	if _, err := driver.SendStatusUpdate(status); err != nil {
		logf("sending %s for %s: %v", state, task.GetValue(), err)
	}
}

// end sends a terminal update for a live task (once); e.mu must be held.
func (e *executor) end(driver exec.ExecutorDriver, task *mesos.TaskID, state mesos.TaskState) {
	if _, live := e.live[task.GetValue()]; !live {
		logf("task %s is not running: no %s", task.GetValue(), state)
		return
	}
	delete(e.live, task.GetValue())
	for i, t := range e.waiting {
		if t.GetValue() == task.GetValue() {
			e.waiting = append(e.waiting[:i], e.waiting[i+1:]...)
			break
		}
	}
	e.update(driver, task, state)
}

func (e *executor) Registered(_ exec.ExecutorDriver, info *mesos.ExecutorInfo, framework *mesos.FrameworkInfo, agent *mesos.SlaveInfo) {
	logf("registered: executor %s of framework %s (%s) on agent %s (%s)", info.GetExecutorId().GetValue(),
		framework.GetId().GetValue(), framework.GetName(), agent.GetId().GetValue(), agent.GetHostname())
}

func (e *executor) Reregistered(_ exec.ExecutorDriver, agent *mesos.SlaveInfo) {
	logf("re-registered with agent %s (%s)", agent.GetId().GetValue(), agent.GetHostname())
}

func (e *executor) Disconnected(exec.ExecutorDriver) {
	logf("disconnected from the agent")
}

func (e *executor) LaunchTask(driver exec.ExecutorDriver, task *mesos.TaskInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := task.GetTaskId()
	data := string(task.GetData())
	logf("launching task %s (data %q)", id.GetValue(), data)
	e.live[id.GetValue()] = id
	e.update(driver, id, mesos.TaskState_TASK_RUNNING)
	switch data {
	case "wait-for-message":
		e.waiting = append(e.waiting, id)
	case "run-forever":
	default:
		// Callbacks must not block: finish from another goroutine.
		go func() {
			time.Sleep(200 * time.Millisecond)
			e.mu.Lock()
			defer e.mu.Unlock()
			e.end(driver, id, mesos.TaskState_TASK_FINISHED)
		}()
	}
}

func (e *executor) KillTask(driver exec.ExecutorDriver, id *mesos.TaskID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	logf("asked to kill %s", id.GetValue())
	e.end(driver, id, mesos.TaskState_TASK_KILLED) // ignored unless the task is live
}

func (e *executor) FrameworkMessage(driver exec.ExecutorDriver, data string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	logf("framework message %q", data)
	reply := "echo:" + data
	if _, err := driver.SendFrameworkMessage(reply); err != nil {
		logf("sending %q: %v", reply, err)
	}
	// "ping-<task-id>" names its task; otherwise finish the oldest waiting one.
	var task *mesos.TaskID
	if id := strings.TrimPrefix(data, "ping-"); id != data {
		for _, t := range e.waiting {
			if t.GetValue() == id {
				task = t
			}
		}
	}
	if task == nil && len(e.waiting) > 0 {
		task = e.waiting[0]
	}
	if task == nil {
		logf("no task waits for a message")
		return
	}
	e.end(driver, task, mesos.TaskState_TASK_FINISHED)
}

func (e *executor) Shutdown(exec.ExecutorDriver) {
	logf("shutdown: exiting")
	os.Exit(0)
}

func (e *executor) Error(_ exec.ExecutorDriver, message string) {
	logf("error: %s", message)
}

func main() {
	// glog (mesos-go's logger) registers its flags on the default flag set; log to stderr.
	if f := flag.Lookup("logtostderr"); f != nil {
		_ = f.Value.Set("true")
	}
	flag.Parse()

	config := exec.DriverConfig{Executor: &executor{live: map[string]*mesos.TaskID{}}}
	if ip := os.Getenv("LIBPROCESS_IP"); ip != "" {
		if config.BindingAddress = net.ParseIP(ip); config.BindingAddress == nil {
			logf("LIBPROCESS_IP=%q is not an IP", ip)
			os.Exit(2)
		}
	}
	if port := os.Getenv("LIBPROCESS_PORT"); port != "" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			logf("LIBPROCESS_PORT=%q is not a port", port)
			os.Exit(2)
		}
		config.BindingPort = uint16(p)
	}
	if ip := os.Getenv("LIBPROCESS_ADVERTISE_IP"); ip != "" {
		if config.PublishedAddress = net.ParseIP(ip); config.PublishedAddress == nil {
			logf("LIBPROCESS_ADVERTISE_IP=%q is not an IP", ip)
			os.Exit(2)
		}
	}
	logf("agent %s, framework %s, executor %s, binding %v:%d", os.Getenv("MESOS_SLAVE_PID"),
		os.Getenv("MESOS_FRAMEWORK_ID"), os.Getenv("MESOS_EXECUTOR_ID"), config.BindingAddress, config.BindingPort)

	driver, err := exec.NewMesosExecutorDriver(config)
	if err != nil {
		logf("creating the driver: %v", err)
		os.Exit(2)
	}
	status, err := driver.Run()
	logf("driver ended: %s %v", status, err)
	if status == mesos.Status_DRIVER_STOPPED {
		os.Exit(0)
	}
	os.Exit(1)
}
