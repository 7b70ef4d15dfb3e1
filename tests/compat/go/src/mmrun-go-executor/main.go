// A v1 executor on Debian's mesos-go (golang-github-mesos-mesos-go-dev), unmodified, with the
// library's default codec (protobuf): configured from the MESOS_* environment the agent
// gives it, it subscribes, answers each LAUNCH with TASK_RUNNING, each framework message
// "x" with a message "echo:x" and then TASK_FINISHED for its tasks, each KILL with
// TASK_KILLED, and exits on SHUTDOWN. Built offline by tests/compat/go/build.sh.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "mmrun-go-executor: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	cfg, err := config.FromEnv()
	if err != nil {
		fail("environment: %v", err)
	}
	ctx := context.Background()
	http := httpcli.New(httpcli.Endpoint("http://" + cfg.AgentEndpoint + "/api/v1/executor"))
	sender := httpexec.NewSender(http.Send)
	ids := []executor.CallOpt{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	send := func(call *executor.Call) {
		resp, err := sender.Send(ctx, calls.NonStreaming(call.With(ids...)))
		if err != nil {
			fail("%s: %v", call.GetType(), err)
		}
		if resp != nil {
			resp.Close()
		}
	}
	update := func(task mesos.TaskID, state mesos.TaskState) {
		uuid := make([]byte, 16)
		if _, err := rand.Read(uuid); err != nil {
			fail("uuid: %v", err)
		}
		send(calls.Update(mesos.TaskStatus{
			TaskID:     task,
			State:      state.Enum(),
			Source:     mesos.SOURCE_EXECUTOR.Enum(),
			ExecutorID: &mesos.ExecutorID{Value: cfg.ExecutorID},
			UUID:       uuid,
		}))
	}

	resp, err := sender.Send(ctx, calls.NonStreaming(calls.Subscribe(nil, nil).With(ids...)))
	if err != nil {
		fail("SUBSCRIBE: %v", err)
	}
	defer resp.Close()
	var tasks []mesos.TaskID
	for {
		var e executor.Event
		if err := resp.Decode(&e); err != nil {
			fail("reading the event stream: %v", err)
		}
		switch e.GetType() {
		case executor.Event_SUBSCRIBED:
			fmt.Printf("SUBSCRIBED on %s\n", e.GetSubscribed().AgentInfo.GetID().GetValue())
		case executor.Event_LAUNCH:
			task := e.GetLaunch().GetTask()
			tasks = append(tasks, task.TaskID)
			update(task.TaskID, mesos.TASK_RUNNING)
		case executor.Event_MESSAGE:
			data := e.GetMessage().GetData()
			send(calls.Message(append([]byte("echo:"), data...)))
			for _, task := range tasks {
				update(task, mesos.TASK_FINISHED)
			}
			tasks = nil
		case executor.Event_KILL:
			update(e.GetKill().GetTaskID(), mesos.TASK_KILLED)
		case executor.Event_SHUTDOWN:
			os.Exit(0)
		case executor.Event_ERROR:
			fail("ERROR event: %s", e.GetError().GetMessage())
		}
	}
}
