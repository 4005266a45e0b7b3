package main

// Signals end a wait at once, with 128+N (and one line as PID 1),
// during start-up and through storms of orphans; as PID 1 lockpipe reaps
// every orphan; and a signal at the moment lockpipe becomes CMD either ends
// lockpipe or reaches CMD, never neither.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals checks that SIGTERM, SIGINT, SIGHUP and SIGQUIT end a waiting
// reader or writer at once with 128+N, leaving the pipe: through the
// kernel's default action, since a wait keeps no handler of its own, and for
// SIGQUIT without Go's dump of its goroutines.
func TestSignals(t *testing.T) {
	t.Parallel()
	withRace(t, func(t *testing.T, b string) {
		for _, cmd := range []string{"read", "write"} {
			for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
				t.Run(fmt.Sprintf("%s/%d", cmd, sig), func(t *testing.T) {
					t.Parallel()
					p := pipePath(t)
					c := spawnWith(t, b, nil, cmd, "-p", p)
					blocked(t, c.pid())
					c.cmd.Process.Signal(sig)
					want := 128 + int(sig)
					if st := c.status(t); st != want || strings.Contains(c.stderr.String(), "goroutine ") {
						t.Errorf("status %d, want %d; stderr %q", st, want, c.stderr.String())
					}
					if !isPipe(p) {
						t.Error("the pipe is gone")
					}
				})
			}
		}
	})
}

// TestSignalsAsPID1 checks the signal statuses with lockpipe as PID 1 of a PID namespace.
func TestSignalsAsPID1(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"read", "write"} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			t.Run(fmt.Sprintf("%s/%d", cmd, sig), func(t *testing.T) {
				t.Parallel()
				p := pipePath(t)
				u, pid := asPID1(t, nil, cmd, "-p", p)
				blocked(t, pid)
				if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(string(b), "\nNSpid:\t"+strconv.Itoa(pid)+"\t1\n") {
					t.Fatalf("lockpipe is not PID 1 of its namespace:\n%s", b)
				}
				syscall.Kill(pid, sig)
				if st := u.status(t); st != 128+int(sig) {
					t.Errorf("status %d, want %d; stderr %q", st, 128+int(sig), u.stderr.String())
				}
				if !strings.Contains(u.stderr.String(), "received "+sigNames[sig]) || !isPipe(p) {
					t.Errorf("stderr %q, pipe there %v", u.stderr.String(), isPipe(p))
				}
			})
		}
	}
}

// TestReapsOrphansAsPID1 leaves orphans in lockpipe's namespace, sees them
// become lockpipe's children, kills them, and checks that each is reaped:
// gone from the process table, not left a zombie.
func TestReapsOrphansAsPID1(t *testing.T) {
	t.Parallel()
	needRoot(t, "nsenter")
	p := pipePath(t)
	u, pid := asPID1(t, nil, "read", "-p", p)
	blocked(t, pid)
	for round := 0; round < 3; round++ {
		// sh leaves three sleeps behind and exits; they become lockpipe's children.
		c := newChild(nil, "nsenter", "--target", strconv.Itoa(pid), "--pid", "--", "/bin/sh", "-c", "sleep 60 & sleep 60 & sleep 60 & exit 0").start(t)
		if st := c.status(t); st != 0 {
			t.Fatalf("nsenter: %d %s", st, c.stderr.String())
		}
		var orphans []string
		waitFor(t, "three orphans reparented to lockpipe", func() bool {
			orphans = childrenOf(pid)
			return len(orphans) == 3
		})
		for _, o := range orphans {
			n, _ := strconv.Atoi(o)
			syscall.Kill(n, syscall.SIGKILL)
			waitFor(t, "orphan "+o+" reaped", func() bool { return procState(n) == "" }) // a zombie stays, as Z
		}
	}
	lockpipe(t, nil, "write", "-p", p)
	if st := u.status(t); st != 0 {
		t.Errorf("read as PID 1: status %d", st)
	}
}

// TestPID1SignalStorms checks SIGTERM to lockpipe as PID 1 during its start-up, and while thousands of orphans exit.
func TestPID1SignalStorms(t *testing.T) {
	t.Parallel()
	needNative(t)
	needRoot(t, "unshare", "nsenter", "strace")
	// SIGTERM to lockpipe as PID 1 while its own start-up is held (strace delays
	// its first look at the path, after parsing): what the kernel or Go's
	// runtime does before lockpipe's code runs is theirs, the rest is lockpipe's.
	for _, cmd := range []string{"create", "exists", "read", "write", "delete", "hold"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			if cmd == "delete" {
				lockpipe(t, nil, "create", "-p", p)
			}
			log := p + ".strace"
			u := newChild(nil, "strace", "-f", "-qq", "-o", log, "-P", p, "-e", "inject=openat,mknodat:delay_enter=2000000:when=1",
				"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin, cmd, "-p", p).start(t)
			waitFor(t, "lockpipe held in its start-up", func() bool {
				b, _ := os.ReadFile(log)
				return strings.Contains(string(b), "openat(") || strings.Contains(string(b), "mknodat(")
			})
			syscall.Kill(tracedLockpipe(t, u.pid()), syscall.SIGTERM)
			if st := u.status(t); st != 143 || !strings.HasPrefix(u.stderr.String(), "[INFO  lockpipes] received SIGTERM while ") {
				t.Errorf("status %d, stderr %q", st, u.stderr.String())
			}
		})
	}
	t.Run("orphans", func(t *testing.T) {
		t.Parallel()
		for round := 0; round < 2; round++ {
			p := pipePath(t)
			u, pid := asPID1(t, nil, "read", "-p", p)
			blocked(t, pid)
			storm := newChild(nil, "nsenter", "--target", strconv.Itoa(pid), "--pid", "--", "/bin/sh", "-c",
				"i=0; while [ $i -lt 1000 ]; do /bin/true & i=$((i+1)); done; exit 0").start(t)
			waitFor(t, "orphans arriving", func() bool {
				return len(childrenOf(pid)) > 0 || !storm.running()
			})
			syscall.Kill(pid, syscall.SIGTERM)
			if st := u.status(t); st != 143 {
				t.Fatalf("round %d: status %d, stderr %q", round, st, u.stderr.String())
			}
			storm.cmd.Process.Kill()
		}
	})
}

// tracedLockpipe finds the host PID of the lockpipe that runs as PID 1 under unshare, itself under strace.
func tracedLockpipe(t *testing.T, strace int) int {
	var found int
	waitFor(t, "lockpipe under strace", func() bool {
		unshare := onlyChild(strace)
		found = onlyChild(unshare)
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", found))
		return found > 0 && exe == bin
	})
	return found
}

// TestSignalAtExec sends SIGTERM at swept instants right after the write that
// releases read -- CMD: every signal must either end lockpipe before CMD
// starts, or reach CMD (a shell, which it ends); never be swallowed, which
// would let CMD run to its end (status 7).
func TestSignalAtExec(t *testing.T) {
	t.Parallel()
	needNative(t)
	const trials = 100
	results := make(chan string, trials)
	sem := make(chan struct{}, 4)
	for i := 0; i < trials; i++ {
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem }()
			results <- signalAtExec(t, time.Duration(i%50)*8*time.Microsecond)
		}(i)
	}
	for i := 0; i < trials; i++ {
		if r := <-results; r != "" {
			t.Error(r)
		}
	}
}

// signalAtExec runs one trial of TestSignalAtExec, with SIGTERM sent after delay; "" means it held.
func signalAtExec(t *testing.T, delay time.Duration) string {
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		return err.Error()
	}
	c := newChild(nil, bin, "read", "-p", p, "--", "/bin/sh", "-c", "sleep 2; exit 7")
	if err := c.cmd.Start(); err != nil {
		return err.Error()
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	defer c.cmd.Process.Kill()
	for deadline := time.Now().Add(bound); ; time.Sleep(time.Millisecond) {
		if w, exists := waiting(c.pid()); w {
			break
		} else if !exists || time.Now().After(deadline) {
			return fmt.Sprintf("lockpipe never waited: %q", c.stderr.String())
		}
	}
	fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0) // the release
	if err != nil {
		return err.Error()
	}
	syscall.Close(fd)
	for t0 := time.Now(); time.Since(t0) < delay; {
	}
	syscall.Kill(c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(bound):
		return fmt.Sprintf("still running %v after SIGTERM", bound)
	}
	if ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() && ws.ExitStatus() != 143 || ws.Signaled() && ws.Signal() != syscall.SIGTERM {
		return fmt.Sprintf("SIGTERM %v after the release was swallowed: %v, stderr %q", delay, c.cmd.ProcessState, c.stderr.String())
	}
	return ""
}
