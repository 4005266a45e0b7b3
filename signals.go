//go:build linux

package main

// The process's signals: the ones that end lockpipe (128+N and one INFO
// line), the ones hold and run forward to CMD, handing them over to CMD
// before lockpipe becomes it, and as PID 1 reaping every orphan.

import (
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// signalTable is every signal lockpipe names: whether it ends lockpipe,
// whether hold and run forward it to CMD, and whether run can stop CMD with it.
var signalTable = [...]struct {
	sig                    syscall.Signal
	name                   string
	ends, forwarded, stops bool
}{
	{syscall.SIGTERM, "SIGTERM", true, true, true},
	{syscall.SIGINT, "SIGINT", true, true, true},
	{syscall.SIGHUP, "SIGHUP", true, true, true},
	{syscall.SIGQUIT, "SIGQUIT", true, true, true},
	{syscall.SIGUSR1, "SIGUSR1", false, true, true},
	{syscall.SIGUSR2, "SIGUSR2", false, true, true},
	{syscall.SIGKILL, "SIGKILL", false, false, true},
}

// handled is how many signals of the table lockpipe handles: those it forwards.
const handled = 6

// signalName names sig as lockpipe's messages do.
func signalName(sig syscall.Signal) string {
	for i := range signalTable {
		if s := &signalTable[i]; s.sig == sig {
			return s.name
		}
	}
	return "signal " + strconv.Itoa(int(sig))
}

// signalOwner answers the process's signals: they belong to the process, not to a command.
type signalOwner struct {
	once     sync.Once
	queues   [handled]chan os.Signal // one each, so that a burst of one never crowds out another
	handover chan chan struct{}
	ignored  [handled]bool        // ignored when lockpipe started, as far as Go's runtime can tell
	mu       sync.Mutex           // held while a child starts, so that no signal misses it
	target   int                  // while CMD runs as a child: its PID, or -PGID to forward to its group; guarded by mu
	onEnd    func(syscall.Signal) // what to do before a signal ends lockpipe (hold records it); guarded by mu
}

// signals is the process's one owner of its signals.
var signals signalOwner

// catchSignals starts handling the signals, once, and as PID 1 reaping orphans.
func catchSignals() { signals.once.Do(signals.start) }

// waitSignals readies a wait's signals. A wait keeps none of its own (os/signal
// costs two threads and about 90 kB): the kernel's default action ends it
// with the shell's 128+N, at once. Each signal that ends lockpipe gets that
// default (or stays ignored, as Go's runtime keeps an inherited SIGHUP or
// SIGINT): with Go's handler, the kernel would deliver it to any thread, and
// a signal handled on one thread while another replaces the process with
// CMD is lost with it. As PID 1, where the kernel drops a signal that has no
// handler, or in run, which forwards them to CMD, lockpipe handles them itself.
func waitSignals() {
	signals.once.Do(func() {
		for i := range signalTable {
			if s := &signalTable[i]; s.ends {
				setDisposition(s.sig, signal.Ignored(s.sig))
			}
		}
	})
}

// start installs the handlers and the goroutine that answers them.
func (o *signalOwner) start() {
	if doingNow() == "" {
		setDoing("starting", "")
	}
	o.handover = make(chan chan struct{})
	for i := range o.queues {
		sig := signalTable[i].sig
		o.ignored[i] = signal.Ignored(sig)
		o.queues[i] = make(chan os.Signal, 1)
		// SIGHUP ignored stays so (nohup's choice); SIGINT, which shells ignore
		// for every background job, is handled.
		if !(o.ignored[i] && sig == syscall.SIGHUP) {
			signal.Notify(o.queues[i], sig)
		}
	}
	go o.loop()
	if os.Getpid() == 1 {
		startReaper()
	}
}

// loop answers each signal, until lockpipe hands its signals over to CMD.
func (o *signalOwner) loop() {
	q := &o.queues
	for {
		var s os.Signal
		select {
		case s = <-q[0]:
		case s = <-q[1]:
		case s = <-q[2]:
		case s = <-q[3]:
		case s = <-q[4]:
		case s = <-q[5]:
		case done := <-o.handover:
			o.handOver(done)
			return
		}
		o.act(s.(syscall.Signal))
	}
}

// handOver gives the signals their default action for CMD: one that came
// before either ends lockpipe now, or, arriving later, reaches CMD.
func (o *signalOwner) handOver(done chan struct{}) {
	resetSignals(&o.ignored)
	for i := range o.queues {
		signal.Stop(o.queues[i]) // when it returns, a signal that came before is in the queue
	}
	for i := range o.queues {
		select {
		case s := <-o.queues[i]:
			if signalTable[i].ends {
				o.end(s.(syscall.Signal))
			}
		default:
		}
	}
	close(done)
}

// act forwards sig to CMD while it runs as a child, and otherwise ends lockpipe with 128+N.
func (o *signalOwner) act(sig syscall.Signal) {
	o.mu.Lock()
	target := o.target
	o.mu.Unlock()
	switch {
	case target != 0:
		// CMD may end at once, and lockpipe with it: its exit waits for this line.
		exitMu.Lock()
		if syscall.Kill(target, sig) == nil {
			info("forwarded " + signalName(sig) + " to " + whom(target))
		}
		exitMu.Unlock()
	case sig != syscall.SIGUSR1 && sig != syscall.SIGUSR2:
		o.end(sig)
	default:
		debug("ignoring " + signalName(sig) + " while " + doingNow())
	}
}

// end ends lockpipe on sig within a second, whatever standard error does.
func (o *signalOwner) end(sig syscall.Signal) {
	status := statusSignal + int(sig)
	exitWithin(infoLine(status, "received "+signalName(sig)+" while "+doingNow()+
		"; exiting with status "+strconv.Itoa(status)), time.Second, func() {
		o.mu.Lock()
		last := o.onEnd
		o.mu.Unlock()
		if last != nil {
			last(sig)
		}
	})
}

// handOverSignals gives the signals their default action for CMD, which
// lockpipe is about to become: a signal that came before either ends
// lockpipe now, or, arriving later, reaches CMD.
func handOverSignals() {
	signals.once.Do(func() {}) // from now on, no one starts the owner
	if signals.handover != nil {
		done := make(chan struct{})
		signals.handover <- done
		<-done
		return
	}
	var ignored [handled]bool
	for i := range ignored {
		ignored[i] = signal.Ignored(signalTable[i].sig)
	}
	resetSignals(&ignored)
}

// resetSignals sets each handled signal to SIG_DFL, or SIG_IGN if it was ignored at start.
func resetSignals(ignored *[handled]bool) {
	for i, ign := range ignored {
		setDisposition(signalTable[i].sig, ign)
	}
}

// whom names CMD for messages: its PID, or its process group.
func whom(target int) string {
	if target < 0 {
		return "the process group of CMD (PID " + strconv.Itoa(-target) + ")"
	}
	return "CMD (PID " + strconv.Itoa(target) + ")"
}

// children is the one owner of wait(2): as PID 1 it reaps every orphan, and
// it hands CMD's status, when CMD runs as a child, to whoever waits for it.
var children struct {
	once   sync.Once
	mu     sync.Mutex // held while reaping, and while CMD starts
	pid    int        // CMD's, while it runs
	ended  chan syscall.WaitStatus
	reaped chan struct{} // a process was reaped; coalesced
}

// startReaper starts reaping children on SIGCHLD, once.
func startReaper() {
	children.once.Do(func() {
		children.ended, children.reaped = make(chan syscall.WaitStatus, 1), make(chan struct{}, 1)
		chld := make(chan os.Signal, 1)
		signal.Notify(chld, syscall.SIGCHLD)
		go func() {
			for {
				reap() // first for the orphans that exited before the handler was in place
				<-chld
			}
		}()
	})
}

// reap collects every child that has exited: as PID 1, every orphan of the namespace.
func reap() {
	children.mu.Lock()
	defer children.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if pid == children.pid {
			children.pid = 0
			children.ended <- ws
		} else {
			trace("reaped process " + strconv.Itoa(pid))
		}
		select {
		case children.reaped <- struct{}{}:
		default:
		}
	}
}
