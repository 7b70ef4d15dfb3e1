// A v1 scheduler on Debian's mesos-go (golang-github-mesos-mesos-go-dev), unmodified, with the
// library's default codec (protobuf): subscribes, launches one task on the first offer,
// acknowledges every update, tears down and exits 0 when the task is TASK_FINISHED (1 on any
// other terminal state, 2 on a protocol error). Built offline by tests/compat/go/build.sh.
//
// Usage: mmrun-go-scheduler [-cmd COMMAND] [-executor PATH] http://MASTER:PORT
//
// With -executor the task runs on that custom executor (mmrun-go-executor): once the task is
// TASK_RUNNING the scheduler sends it the framework message "ping", expects "echo:ping" back,
// and the executor then finishes the task.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "mmrun-go-scheduler: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	command := flag.String("cmd", "echo hello from mesos-go", "the task's shell command")
	executorPath := flag.String("executor", "", "run the task on this custom executor")
	flag.Parse()
	if flag.NArg() != 1 {
		fail(2, "usage: mmrun-go-scheduler [-cmd COMMAND] [-executor PATH] http://MASTER:PORT")
	}
	master := flag.Arg(0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// httpcli.New's default codec is protobuf: calls go as application/x-protobuf and the
	// event stream is asked for in protobuf.
	http := httpcli.New(httpcli.Endpoint(master + "/api/v1/scheduler"))
	caller := httpsched.NewCaller(http)

	user, name := "root", "mesos-go"
	info := &mesos.FrameworkInfo{User: user, Name: name}
	resp, err := caller.Call(ctx, calls.Subscribe(info))
	if err != nil {
		fail(2, "SUBSCRIBE: %v", err)
	}
	defer resp.Close()

	var frameworkID string
	launched, echoed := false, false
	send := func(call *scheduler.Call) {
		call = call.With(calls.Framework(frameworkID))
		r, err := caller.Call(ctx, call)
		if err != nil {
			fail(2, "%s: %v", call.GetType(), err)
		}
		if r != nil {
			r.Close()
		}
	}
	for {
		var e scheduler.Event
		if err := resp.Decode(&e); err != nil {
			fail(2, "reading the event stream: %v", err)
		}
		switch e.GetType() {
		case scheduler.Event_SUBSCRIBED:
			frameworkID = e.GetSubscribed().GetFrameworkID().GetValue()
			fmt.Printf("SUBSCRIBED %s\n", frameworkID)
		case scheduler.Event_OFFERS:
			for _, offer := range e.GetOffers().GetOffers() {
				if launched {
					send(calls.Decline(offer.ID))
					continue
				}
				launched = true
				shell := true
				task := mesos.TaskInfo{
					Name:    "go-task",
					TaskID:  mesos.TaskID{Value: "go-task"},
					AgentID: offer.AgentID,
					Resources: []mesos.Resource{
						resource("cpus", 0.1),
						resource("mem", 32),
					},
				}
				if *executorPath == "" {
					task.Command = &mesos.CommandInfo{Value: command, Shell: &shell}
				} else {
					task.Executor = &mesos.ExecutorInfo{
						Type:       mesos.ExecutorInfo_CUSTOM,
						ExecutorID: mesos.ExecutorID{Value: "go-executor"},
						Command:    &mesos.CommandInfo{Value: executorPath, Shell: &shell},
					}
				}
				send(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(offer.ID)))
				fmt.Printf("LAUNCHED go-task on %s\n", offer.AgentID.Value)
			}
		case scheduler.Event_UPDATE:
			status := e.GetUpdate().GetStatus()
			fmt.Printf("UPDATE %s %s\n", status.TaskID.Value, status.GetState())
			if status.UUID != nil {
				send(calls.Acknowledge(status.GetAgentID().GetValue(), status.TaskID.Value, status.UUID))
			}
			switch status.GetState() {
			case mesos.TASK_RUNNING:
				if *executorPath != "" {
					send(calls.Message(status.GetAgentID().GetValue(), "go-executor", []byte("ping")))
				}
			case mesos.TASK_FINISHED:
				if *executorPath != "" && !echoed {
					fail(1, "TASK_FINISHED before the executor's message")
				}
				send(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
				os.Exit(0)
			case mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_LOST, mesos.TASK_ERROR,
				mesos.TASK_DROPPED, mesos.TASK_GONE:
				fail(1, "task ended %s: %s", status.GetState(), status.GetMessage())
			}
		case scheduler.Event_MESSAGE:
			data := string(e.GetMessage().GetData())
			fmt.Printf("MESSAGE %s from %s\n", data, e.GetMessage().ExecutorID.Value)
			echoed = data == "echo:ping"
		case scheduler.Event_ERROR:
			fail(2, "ERROR event: %s", e.GetError().GetMessage())
		}
	}
}

func resource(name string, value float64) mesos.Resource {
	return mesos.Resource{
		Name:   name,
		Type:   mesos.SCALAR.Enum(),
		Scalar: &mesos.Value_Scalar{Value: value},
	}
}
