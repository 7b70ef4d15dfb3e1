// A libprocess ("driver") scheduler on Debian's mesos-go api/v0 (golang-github-mesos-mesos-go-dev),
// unmodified: MesosSchedulerDriver registers with RegisterFrameworkMessage (or
// ReregisterFrameworkMessage with -framework-id), launches with LaunchTasksMessage, acknowledges
// every update, and tears down with UnregisterFrameworkMessage on Stop(false). Built offline by
// tests/compat/go/build.sh.
//
// Usage: mmrun-go-v0-scheduler -master HOST:PORT|zk://HOST:PORT/PATH [-address IP] [-tasks N]
//
//	[-cmd COMMAND] [-executor URI [-message]] [-framework-id ID] [-failover-timeout SECONDS]
//	[-hold] [-reconcile] [-kill-after-running] [-timeout SECONDS]
//
// A standalone master is found the mesos-go way: GET http://HOST:PORT/state, whose "leader" is
// the master's UPID (polled again every 30 s, so the master should be up before this starts).
// -address is the IP its libprocess server binds and advertises (the master must reach it).
//
// Tasks are task-1 … task-N (0.1 cpus, 32 mem each), launched on the first offers with room;
// other offers are declined (refuse_seconds 5). A command task runs -cmd in a shell ("sleep 600"
// by default with -hold or -kill-after-running). With -executor the tasks run on the custom
// executor "go-v0-executor" (mmrun-go-v0-executor): the URI is fetched (executable) and run as
// ./<its base name>; the executor takes 0.01 cpus and 32 mem. The task's data tells it what to do:
// "wait-for-message" with -message (the scheduler sends "ping-<task-id>" once the task is
// TASK_RUNNING, expects "echo:ping-<task-id>" back, and the executor then finishes the task),
// "run-forever" with -hold or -kill-after-running.
//
// Stdout, one line each: REGISTERED <framework-id>, REREGISTERED <framework-id>,
// OFFERS <n> <first offer's hostname>, UPDATE <task-id> <TASK_STATE> <reason or ->,
// MESSAGE <data>, ERROR <message>, HOLDING, DONE.
//
// Exit codes: 0 after DONE once Stop(false) (the teardown) returned; 1 when a task reached a
// terminal state other than the expected one (TASK_FINISHED, or TASK_KILLED with
// -kill-after-running), or finished without echoing the message; 2 on ERROR (the driver
// aborted, or a usage error); 3 on -timeout. With -hold it prints HOLDING once every task is
// TASK_RUNNING and then runs until killed (the timeout no longer applies). With -reconcile it
// reconciles implicitly after every (re)registration and prints the answers; with -reconcile and
// -tasks 0 it also kills every task reconciliation reports TASK_RUNNING, and prints DONE once
// they are all TASK_KILLED and no reconciliation answer came for 2 s.
//
// glog flags (-v, -logtostderr, …) are accepted too; logs go to stderr by default. Do not use
// -v=3 or more: mesos-go then hex-dumps every inbound connection to stdout.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v0/mesosproto"
	util "github.com/mesos/mesos-go/api/v0/mesosutil"
	sched "github.com/mesos/mesos-go/api/v0/scheduler"

	// Registers the zk:// master detector.
	_ "github.com/mesos/mesos-go/api/v0/detector/zoo"
)

const (
	executorID     = "go-v0-executor"
	taskCpus       = 0.1
	taskMem        = 32.0
	executorCpus   = 0.01
	executorMem    = 32.0
	reconcileQuiet = 2 * time.Second
	echoGrace      = 5 * time.Second
)

var stdout sync.Mutex

// say prints one protocol line on stdout (unbuffered in Go: written at once).
func say(format string, args ...interface{}) {
	stdout.Lock()
	defer stdout.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "mmrun-go-v0-scheduler: "+format+"\n", args...)
}

type options struct {
	tasks            int
	cmd              string
	executor         string
	message          bool
	hold             bool
	reconcile        bool
	killAfterRunning bool
}

type scheduler struct {
	opts options

	mu          sync.Mutex
	frameworkID string
	launched    int
	executorOn  map[string]bool // agent ids that run our executor
	running     map[string]bool // own tasks seen TASK_RUNNING
	done        map[string]bool // own tasks in their expected terminal state
	echoed      map[string]bool // own tasks whose "echo:ping-<id>" arrived
	finished    map[string]bool // own tasks TASK_FINISHED (waiting for the echo, with -message)
	held        bool
	// reconcile-and-kill mode (-reconcile -tasks 0)
	toKill       map[string]bool // reconciled tasks killed, not yet TASK_KILLED
	lastAnswer   time.Time
	reconcileGen int

	result  chan int      // first exit code wins
	holding chan struct{} // closed on HOLDING
}

func newScheduler(opts options) *scheduler {
	return &scheduler{
		opts:       opts,
		executorOn: map[string]bool{},
		running:    map[string]bool{},
		done:       map[string]bool{},
		echoed:     map[string]bool{},
		finished:   map[string]bool{},
		toKill:     map[string]bool{},
		result:     make(chan int, 1),
		holding:    make(chan struct{}),
	}
}

func (s *scheduler) finish(code int) {
	select {
	case s.result <- code:
	default:
	}
}

func (s *scheduler) killMode() bool {
	return s.opts.reconcile && s.opts.tasks == 0 && !s.opts.hold
}

func (s *scheduler) expected() mesos.TaskState {
	if s.opts.killAfterRunning {
		return mesos.TaskState_TASK_KILLED
	}
	return mesos.TaskState_TASK_FINISHED
}

func ownTask(id string, total int) bool {
	for i := 1; i <= total; i++ {
		if id == fmt.Sprintf("task-%d", i) {
			return true
		}
	}
	return false
}

// checkDone prints DONE (or HOLDING) when the run's goal is reached; s.mu must be held.
func (s *scheduler) checkDone() {
	if s.killMode() {
		if len(s.toKill) == 0 && !s.lastAnswer.IsZero() && time.Since(s.lastAnswer) >= reconcileQuiet {
			say("DONE")
			s.finish(0)
		}
		return
	}
	if s.opts.hold {
		if !s.held && len(s.running) == s.opts.tasks {
			s.held = true
			say("HOLDING")
			close(s.holding)
		}
		return
	}
	if len(s.done) == s.opts.tasks {
		say("DONE")
		s.finish(0)
	}
}

func (s *scheduler) afterRegistration(driver sched.SchedulerDriver) {
	if s.opts.reconcile {
		s.lastAnswer = time.Now()
		s.reconcileGen++
		s.armQuietTimer()
		if _, err := driver.ReconcileTasks([]*mesos.TaskStatus{}); err != nil {
			logf("ReconcileTasks: %v", err)
		}
	}
	s.checkDone()
}

// armQuietTimer re-checks for DONE once no reconciliation answer came for reconcileQuiet.
func (s *scheduler) armQuietTimer() {
	if !s.killMode() {
		return
	}
	gen := s.reconcileGen
	time.AfterFunc(reconcileQuiet+50*time.Millisecond, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if gen == s.reconcileGen {
			s.checkDone()
		}
	})
}

func (s *scheduler) Registered(driver sched.SchedulerDriver, id *mesos.FrameworkID, master *mesos.MasterInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frameworkID = id.GetValue()
	say("REGISTERED %s", s.frameworkID)
	logf("registered with master %s", master.GetPid())
	s.afterRegistration(driver)
}

func (s *scheduler) Reregistered(driver sched.SchedulerDriver, master *mesos.MasterInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	say("REREGISTERED %s", s.frameworkID)
	logf("re-registered with master %s", master.GetPid())
	s.afterRegistration(driver)
}

func (s *scheduler) Disconnected(sched.SchedulerDriver) {
	logf("disconnected from the master")
}

func scalar(resources []*mesos.Resource, name string) float64 {
	total := 0.0
	for _, r := range resources {
		if r.GetName() == name && r.GetType() == mesos.Value_SCALAR {
			total += r.GetScalar().GetValue()
		}
	}
	return total
}

func (s *scheduler) taskData() []byte {
	switch {
	case s.opts.message:
		return []byte("wait-for-message")
	case s.opts.hold || s.opts.killAfterRunning:
		return []byte("run-forever")
	}
	return nil
}

func (s *scheduler) ResourceOffers(driver sched.SchedulerDriver, offers []*mesos.Offer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(offers) == 0 {
		return
	}
	say("OFFERS %d %s", len(offers), offers[0].GetHostname())
	const eps = 1e-9
	for _, offer := range offers {
		cpus, mem := scalar(offer.Resources, "cpus"), scalar(offer.Resources, "mem")
		agent := offer.GetSlaveId().GetValue()
		needExecutor := s.opts.executor != "" && !s.executorOn[agent]
		var tasks []*mesos.TaskInfo
		for s.launched < s.opts.tasks {
			needCpus, needMem := taskCpus, taskMem
			if needExecutor && len(tasks) == 0 {
				needCpus += executorCpus
				needMem += executorMem
			}
			if cpus+eps < needCpus || mem+eps < needMem {
				break
			}
			cpus -= needCpus
			mem -= needMem
			s.launched++
			id := fmt.Sprintf("task-%d", s.launched)
			task := &mesos.TaskInfo{
				Name:    proto.String("mmrun-go-v0 " + id),
				TaskId:  util.NewTaskID(id),
				SlaveId: offer.SlaveId,
				Resources: []*mesos.Resource{
					util.NewScalarResource("cpus", taskCpus),
					util.NewScalarResource("mem", taskMem),
				},
			}
			if s.opts.executor == "" {
				task.Command = &mesos.CommandInfo{Value: proto.String(s.opts.cmd), Shell: proto.Bool(true)}
			} else {
				task.Executor = &mesos.ExecutorInfo{
					ExecutorId: util.NewExecutorID(executorID),
					Name:       proto.String("mmrun-go-v0-executor"),
					Command: &mesos.CommandInfo{
						Value: proto.String("./" + path.Base(s.opts.executor)),
						Shell: proto.Bool(true),
						Uris: []*mesos.CommandInfo_URI{{
							Value:      proto.String(s.opts.executor),
							Executable: proto.Bool(true),
						}},
					},
					Resources: []*mesos.Resource{
						util.NewScalarResource("cpus", executorCpus),
						util.NewScalarResource("mem", executorMem),
					},
				}
				task.Data = s.taskData()
			}
			tasks = append(tasks, task)
		}
		if len(tasks) == 0 {
			if _, err := driver.DeclineOffer(offer.Id, &mesos.Filters{RefuseSeconds: proto.Float64(5)}); err != nil {
				logf("DeclineOffer: %v", err)
			}
			continue
		}
		if needExecutor {
			s.executorOn[agent] = true
		}
		ids := make([]string, len(tasks))
		for i, t := range tasks {
			ids[i] = t.GetTaskId().GetValue()
		}
		logf("launching %s on agent %s (%s)", strings.Join(ids, ","), agent, offer.GetHostname())
		if _, err := driver.LaunchTasks([]*mesos.OfferID{offer.Id}, tasks, &mesos.Filters{RefuseSeconds: proto.Float64(1)}); err != nil {
			logf("LaunchTasks: %v", err)
		}
	}
}

func (s *scheduler) OfferRescinded(_ sched.SchedulerDriver, id *mesos.OfferID) {
	logf("offer %s rescinded", id.GetValue())
}

func (s *scheduler) StatusUpdate(driver sched.SchedulerDriver, status *mesos.TaskStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := status.GetTaskId().GetValue()
	state := status.GetState()
	reason := "-"
	if status.Reason != nil {
		reason = status.GetReason().String()
	}
	say("UPDATE %s %s %s", id, stateName(state), reason)
	if status.GetMessage() != "" {
		logf("update %s %s: %s", id, stateName(state), status.GetMessage())
	}

	if s.killMode() {
		if status.GetReason() == mesos.TaskStatus_REASON_RECONCILIATION {
			s.lastAnswer = time.Now()
			s.reconcileGen++
			s.armQuietTimer()
		}
		switch {
		case state == mesos.TaskState_TASK_RUNNING && status.GetReason() == mesos.TaskStatus_REASON_RECONCILIATION:
			if !s.toKill[id] {
				s.toKill[id] = true
				logf("killing reconciled task %s", id)
				if _, err := driver.KillTask(status.TaskId); err != nil {
					logf("KillTask %s: %v", id, err)
				}
			}
		case state == mesos.TaskState_TASK_KILLED:
			delete(s.toKill, id)
		case isTerminal(state) && s.toKill[id]:
			logf("task %s ended %s instead of TASK_KILLED", id, stateName(state))
			s.finish(1)
			return
		}
		s.checkDone()
		return
	}

	if !ownTask(id, s.opts.tasks) || s.done[id] {
		return
	}
	switch {
	case state == mesos.TaskState_TASK_RUNNING:
		if s.running[id] {
			return
		}
		s.running[id] = true
		if s.opts.message {
			data := "ping-" + id
			logf("sending %q to %s on agent %s", data, executorID, status.GetSlaveId().GetValue())
			if _, err := driver.SendFrameworkMessage(util.NewExecutorID(executorID), status.SlaveId, data); err != nil {
				logf("SendFrameworkMessage: %v", err)
			}
		}
		if s.opts.killAfterRunning {
			logf("killing %s", id)
			if _, err := driver.KillTask(status.TaskId); err != nil {
				logf("KillTask %s: %v", id, err)
			}
		}
		s.checkDone()
	case state == s.expected():
		if s.opts.message && !s.echoed[id] {
			// The echo travels agent→scheduler directly, the update via the master: give it a moment.
			s.finished[id] = true
			time.AfterFunc(echoGrace, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if !s.echoed[id] {
					logf("task %s finished without echoing the message", id)
					s.finish(1)
				}
			})
			return
		}
		s.done[id] = true
		s.checkDone()
	case isTerminal(state):
		logf("task %s ended %s (%s): %s", id, stateName(state), reason, status.GetMessage())
		s.finish(1)
	}
}

// Task states newer than this mesos-go's proto (it stops at TASK_ERROR = 7): the driver still
// delivers them, as bare numbers.
var newerStates = map[mesos.TaskState]string{
	8: "TASK_KILLING", 9: "TASK_DROPPED", 10: "TASK_UNREACHABLE", 11: "TASK_GONE",
	12: "TASK_GONE_BY_OPERATOR", 13: "TASK_UNKNOWN",
}

func stateName(state mesos.TaskState) string {
	if name, ok := newerStates[state]; ok {
		return name
	}
	return state.String()
}

func isTerminal(state mesos.TaskState) bool {
	switch stateName(state) {
	case "TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_UNREACHABLE", "TASK_UNKNOWN":
		return false
	}
	return true
}

func (s *scheduler) FrameworkMessage(_ sched.SchedulerDriver, executor *mesos.ExecutorID, agent *mesos.SlaveID, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	say("MESSAGE %s", data)
	logf("message from %s on agent %s: %q", executor.GetValue(), agent.GetValue(), data)
	if id := strings.TrimPrefix(data, "echo:ping-"); id != data && ownTask(id, s.opts.tasks) {
		s.echoed[id] = true
		if s.finished[id] && !s.done[id] {
			s.done[id] = true
			s.checkDone()
		}
	}
}

func (s *scheduler) SlaveLost(_ sched.SchedulerDriver, id *mesos.SlaveID) {
	logf("agent %s lost", id.GetValue())
}

func (s *scheduler) ExecutorLost(_ sched.SchedulerDriver, executor *mesos.ExecutorID, agent *mesos.SlaveID, status int) {
	logf("executor %s on agent %s exited with status %d", executor.GetValue(), agent.GetValue(), status)
}

func (s *scheduler) Error(_ sched.SchedulerDriver, message string) {
	say("ERROR %s", message)
	s.finish(2)
}

func main() {
	// glog (mesos-go's logger) registers its flags on the same flag set; log to stderr unless told otherwise.
	if f := flag.Lookup("logtostderr"); f != nil {
		_ = f.Value.Set("true")
	}
	master := flag.String("master", "", "the master: HOST:PORT (standalone, found through GET /state) or zk://HOST:PORT/PATH")
	address := flag.String("address", "127.0.0.1", "the IP this scheduler's libprocess server binds and advertises")
	tasks := flag.Int("tasks", 1, "how many tasks to launch (0: none)")
	cmd := flag.String("cmd", "echo hello from mesos-go v0", "the tasks' shell command (without -executor)")
	executorURI := flag.String("executor", "", "run the tasks on mmrun-go-v0-executor, fetched from this URI")
	message := flag.Bool("message", false, "with -executor: ping each RUNNING task's executor and expect the echo")
	frameworkID := flag.String("framework-id", "", "register with this existing framework id (failover)")
	failoverTimeout := flag.Float64("failover-timeout", 0, "FrameworkInfo.failover_timeout, seconds")
	hold := flag.Bool("hold", false, "once every task is RUNNING print HOLDING and keep running")
	reconcile := flag.Bool("reconcile", false, "reconcile implicitly after (re)registration (with -tasks 0: kill what is RUNNING)")
	killAfterRunning := flag.Bool("kill-after-running", false, "kill each task once RUNNING; expect TASK_KILLED")
	timeout := flag.Float64("timeout", 60, "give up (exit 3) after this many seconds")
	flag.Parse()

	if *master == "" || flag.NArg() != 0 {
		say("ERROR usage: mmrun-go-v0-scheduler -master HOST:PORT|zk://... [flags]")
		os.Exit(2)
	}
	if *message && *executorURI == "" {
		say("ERROR -message needs -executor")
		os.Exit(2)
	}
	bind := net.ParseIP(*address)
	if bind == nil {
		say("ERROR -address %q is not an IP", *address)
		os.Exit(2)
	}
	cmdSet := false
	flag.Visit(func(f *flag.Flag) { cmdSet = cmdSet || f.Name == "cmd" })
	if !cmdSet && (*hold || *killAfterRunning) {
		*cmd = "sleep 600"
	}

	s := newScheduler(options{
		tasks:            *tasks,
		cmd:              *cmd,
		executor:         *executorURI,
		message:          *message,
		hold:             *hold,
		reconcile:        *reconcile,
		killAfterRunning: *killAfterRunning,
	})
	info := &mesos.FrameworkInfo{
		User:            proto.String(""), // the driver fills in the current user
		Name:            proto.String("mmrun-go-v0"),
		FailoverTimeout: proto.Float64(*failoverTimeout),
	}
	if *frameworkID != "" {
		info.Id = util.NewFrameworkID(*frameworkID)
		s.frameworkID = *frameworkID
	}
	driver, err := sched.NewMesosSchedulerDriver(sched.DriverConfig{
		Scheduler:      s,
		Framework:      info,
		Master:         *master,
		BindingAddress: bind,
	})
	if err != nil {
		say("ERROR creating the driver: %v", err)
		os.Exit(2)
	}
	if status, err := driver.Start(); err != nil {
		say("ERROR starting the driver (%s): %v", status, err)
		os.Exit(2)
	}

	deadline := time.NewTimer(time.Duration(*timeout * float64(time.Second)))
	holding := s.holding
	for {
		select {
		case code := <-s.result:
			if code != 2 {
				// Stop(false) unregisters the framework (UnregisterFrameworkMessage) and
				// returns after about 2 s.
				if status, err := driver.Stop(false); err != nil {
					say("ERROR stopping the driver (%s): %v", status, err)
					os.Exit(2)
				}
			}
			os.Exit(code)
		case <-holding:
			deadline.Stop()
			holding = nil
		case <-deadline.C:
			logf("timed out after %gs", *timeout)
			os.Exit(3)
		}
	}
}
