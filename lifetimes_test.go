package main

// Lifetimes held by the kernel: hold keeps its readers waiting exactly as
// long as CMD lives, however it ends, and lets later readers pass; run stops
// its CMD once released, by a write, a delete or a holder's end.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startHold starts lockpipe hold on p with CMD, and returns it and CMD's PID once CMD runs and the pipe is held.
func startHold(t *testing.T, p string, cmd ...string) (*child, int) {
	t.Helper()
	h := spawn(t, nil, append([]string{"hold", "-p", p, "--"}, cmd...)...)
	var pid int
	waitFor(t, "CMD started and the pipe held", func() bool {
		pid = onlyChild(h.pid())
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return pid > 0 && exe != bin && holds(h.pid(), p)
	})
	return h, pid
}

// released checks that r ended with 0 and the line a hold's end gives.
func released(t *testing.T, r *child, p string) {
	t.Helper()
	if st := r.status(t); st != 0 || !strings.Contains(r.stderr.String(), "hold on pipe at "+strconv.Quote(p)+" ended") &&
		!strings.Contains(r.stderr.String(), "pipe at "+strconv.Quote(p)+" was held and no longer is") {
		t.Errorf("reader: status %d, stderr %q", st, r.stderr.String())
	}
}

// TestHoldReleasesWhenCMDEnds checks that readers that came before the hold
// and during it wait until CMD ends, however it ends, and that readers that
// come after pass at once.
func TestHoldReleasesWhenCMDEnds(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"exit 3", "SIGKILL", "SIGSEGV"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			lockpipe(t, nil, "create", "-p", p)
			early := spawn(t, nil, "read", "-p", p)
			blocked(t, early.pid())
			h, cmd := startHold(t, p, "/bin/sh", "-c", "trap 'exit 3' USR1; while :; do sleep 1; done")
			waitFor(t, "the trap set", func() bool { return trapSet(t, cmd, syscall.SIGUSR1) })
			during := spawn(t, nil, "read", "-p", p)
			blocked(t, during.pid())
			if !stillWaits(early.pid()) {
				t.Fatal("the early reader was released when the hold began")
			}
			want := 3
			switch end {
			case "SIGKILL":
				syscall.Kill(cmd, syscall.SIGKILL)
				want = 137
			case "SIGSEGV":
				syscall.Kill(cmd, syscall.SIGSEGV)
				want = 139
			default:
				syscall.Kill(cmd, syscall.SIGUSR1) // sh's trap exits 3
			}
			if st := h.status(t); st != want {
				t.Errorf("hold: status %d, want %d; stderr %q", st, want, h.stderr.String())
			}
			released(t, early, p)
			released(t, during, p)
			for i := 0; i < 3; i++ {
				if st, _, stderr := lockpipe(t, nil, "read", "-p", p); st != 0 || !strings.Contains(stderr, "was held and no longer is") {
					t.Errorf("a later reader: status %d, stderr %q", st, stderr)
				}
			}
		})
	}
}

// TestHoldSurvivesSIGKILLOfBoth kills lockpipe and CMD together, as an OOM
// kill of the container does: readers waiting then are released, and a
// reader that comes later passes at once, by what the hold left on the pipe.
func TestHoldSurvivesSIGKILLOfBoth(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	h, cmd := startHold(t, p, "sleep", "3600")
	r := spawn(t, nil, "read", "-p", p)
	blocked(t, r.pid())
	syscall.Kill(h.pid(), syscall.SIGKILL)
	syscall.Kill(cmd, syscall.SIGKILL)
	if st := h.status(t); st != 137 {
		t.Errorf("hold: status %d", st)
	}
	released(t, r, p)
	if st, _, stderr := lockpipe(t, nil, "read", "-p", p); st != 0 || !strings.Contains(stderr, "was held and no longer is") {
		t.Errorf("a later reader: status %d, stderr %q", st, stderr)
	}
	if st, _, _ := lockpipe(t, nil, "exists", "-p", p); st != 0 {
		t.Errorf("exists after the hold: %d", st)
	}
}

// TestHoldKilledKillsCMD checks that CMD does not outlive a lockpipe killed with SIGKILL.
func TestHoldKilledKillsCMD(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	h, cmd := startHold(t, p, "sleep", "3600")
	syscall.Kill(h.pid(), syscall.SIGKILL)
	h.status(t)
	waitFor(t, "CMD killed with lockpipe", func() bool { s := procState(cmd); return s == "" || s == "Z" })
}

// TestHoldSeveralAndAgain checks that readers wait for the last of two
// holders, and that a pipe held again makes new readers wait for the new holder.
func TestHoldSeveralAndAgain(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	h1, c1 := startHold(t, p, "sleep", "3600")
	h2, c2 := startHold(t, p, "sleep", "3600")
	r := spawn(t, nil, "read", "-p", p)
	blocked(t, r.pid())
	syscall.Kill(c1, syscall.SIGKILL)
	h1.status(t)
	blocked(t, r.pid()) // woken by the first holder's record, it waits again: a second holder holds
	syscall.Kill(c2, syscall.SIGKILL)
	h2.status(t)
	released(t, r, p)
	h3, c3 := startHold(t, p, "sleep", "3600")
	r = spawn(t, nil, "read", "-p", p)
	blocked(t, r.pid())
	syscall.Kill(c3, syscall.SIGKILL)
	h3.status(t)
	released(t, r, p)
}

// TestHoldPipeUse checks what else meets a held pipe: a write returns at once
// and releases no reader; delete releases the readers and removes the pipe,
// while hold goes on until CMD ends; CMD inherits none of lockpipe's descriptors.
func TestHoldPipeUse(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	// CMD lists its descriptors with builtins only, then sleeps.
	h, cmd := startHold(t, p, "/bin/sh", "-c", `n=0; while [ $n -lt 64 ]; do [ -h /proc/$$/fd/$n ] && printf '%s ' $n; n=$((n+1)); done; echo; exec sleep 3600`)
	r := spawn(t, nil, "read", "-p", p)
	blocked(t, r.pid())
	if st, _, _ := lockpipe(t, nil, "write", "-p", p); st != 0 {
		t.Errorf("write to a held pipe: %d", st)
	}
	if !stillWaits(r.pid()) {
		t.Error("a write released a reader of the held pipe")
	}
	if st, _, _ := lockpipe(t, nil, "delete", "-p", p); st != 0 || there(p) {
		t.Errorf("delete of a held pipe: %d, still there %v", st, there(p))
	}
	checkRemoved(t, r, "read", p, byEvent)
	if !h.running() {
		t.Error("hold ended with the delete")
	}
	syscall.Kill(cmd, syscall.SIGTERM)
	if st := h.status(t); st != 143 {
		t.Errorf("hold: %d", st)
	}
	// Other tests may hold a descriptor open without close-on-exec for a moment: look only for more.
	passed := strings.Fields(inheritedFDs(t))
	for _, fd := range strings.Fields(h.stdout.String()) {
		if !slices.Contains(passed, fd) {
			t.Errorf("CMD has descriptor %s, which the test did not pass on (%q)", fd, h.stdout.String())
		}
	}
}

// TestHoldSignals checks that SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to
// hold reach CMD, whose status hold returns; and that hold without CMD
// holds until such a signal, releasing its readers.
func TestHoldSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(signalName(sig), func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			// The shell says when its trap is set: dash catches SIGINT from its start, so trapSet cannot tell.
			ready := filepath.Join(t.TempDir(), "ready")
			h, cmd := startHold(t, p, "/bin/sh", "-c", fmt.Sprintf(`trap 'exit 7' %d; : > "$0"; while :; do sleep 1; done`, sig), ready)
			waitFor(t, "the trap set", func() bool { _, err := os.Stat(ready); return err == nil })
			h.cmd.Process.Signal(sig)
			if st := h.status(t); st != 7 || !strings.Contains(h.stderr.String(), "forwarded "+signalName(sig)+" to CMD (PID "+strconv.Itoa(cmd)+")") {
				t.Errorf("status %d, stderr %q", st, h.stderr.String())
			}
		})
	}
	t.Run("without CMD", func(t *testing.T) {
		t.Parallel()
		p := pipePath(t)
		h := spawn(t, []string{"LOCKPIPE_LOG_FILTER=debug"}, "hold", "-p", p)
		waitFor(t, "the pipe held", func() bool { return holds(h.pid(), p) })
		// Logged once hold answers its signals; one that comes before is dropped, unlogged.
		waitFor(t, "hold's signals caught", func() bool { return strings.Contains(h.stderr.String(), "until a signal") })
		r := spawn(t, nil, "read", "-p", p)
		blocked(t, r.pid())
		for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2} { // ignored, as by every command
			h.cmd.Process.Signal(sig)
			waitFor(t, signalName(sig)+" ignored", func() bool {
				return strings.Contains(h.stderr.String(), "ignoring "+signalName(sig)+" while holding pipe at")
			})
		}
		h.cmd.Process.Signal(syscall.SIGTERM)
		if st := h.status(t); st != 143 {
			t.Errorf("hold: %d %q", st, h.stderr.String())
		}
		released(t, r, p)
	})
}

// TestHoldAsPID1 runs hold as PID 1: the orphans CMD leaves are reaped, and
// CMD's own status is never lost to the reaper, however many orphans end with it.
func TestHoldAsPID1(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare")
	p := pipePath(t)
	u, pid := asPID1(t, nil, "hold", "-p", p, "--", "/bin/sh", "-c", `(sleep 0.01 &); (sleep 0.01 &); exec sleep 3600`)
	waitFor(t, "the orphans reaped", func() bool {
		return len(childrenOf(pid)) == 1 // CMD alone
	})
	syscall.Kill(onlyChild(pid), syscall.SIGTERM)
	if st := u.status(t); st != 143 {
		t.Errorf("status %d, stderr %q", st, u.stderr.String())
	}
	for i := 0; i < 5; i++ {
		c := newChild(nil, "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin, "hold", "-p", p, "--",
			"/bin/sh", "-c", `i=0; while [ $i -lt 30 ]; do (true &); i=$((i+1)); done; exit 5`).start(t)
		if st := c.status(t); st != 5 {
			t.Errorf("CMD's status among orphans: %d, stderr %q", st, c.stderr.String())
		}
	}
}

// TestHoldRefuses checks that hold leaves anything but a named pipe alone and never runs CMD then.
func TestHoldRefuses(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(p, []byte("data"), 0o644))
	marker := filepath.Join(t.TempDir(), "ran")
	checkBad(t, nil, p, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "hold", "-p", p, "--", "touch", marker)
	checkBad(t, nil, p, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "run", "-p", p, "--", "touch", marker)
	if there(marker) {
		t.Error("CMD ran")
	}
}

// TestRunCannotOpen runs run as a user who may not read the pipe: it says
// so with 13 before CMD starts, which never runs.
func TestRunCannotOpen(t *testing.T) {
	t.Parallel()
	needRoot(t)
	p, marker := pipePath(t), filepath.Join(t.TempDir(), "ran")
	os.Chmod(filepath.Dir(p), 0o755)
	os.Chmod(filepath.Dir(filepath.Dir(p)), 0o755)
	os.Chmod(filepath.Dir(marker), 0o777)
	lockpipe(t, nil, "create", "-m", "0600", "-p", p)
	c := newChild(nil, bin, "run", "-p", p, "--", "touch", marker)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	c.start(t)
	if st := c.status(t); st != 13 || there(marker) || !strings.Contains(c.stderr.String(), "permission denied") {
		t.Errorf("status %d, CMD ran %v, stderr %q", st, there(marker), c.stderr.String())
	}
}

// startRun starts lockpipe run on p with args before -- and CMD, and returns it and CMD's PID once both wait.
func startRun(t *testing.T, p string, args []string, cmd ...string) (*child, int) {
	t.Helper()
	r := spawn(t, nil, append(append(append([]string{"run", "-p", p}, args...), "--"), cmd...)...)
	var pid int
	waitFor(t, "CMD started", func() bool { pid = onlyChild(r.pid()); return pid > 0 })
	blocked(t, r.pid())
	return r, pid
}

// TestRunStops checks what releases run and how it stops CMD: its signal,
// to CMD's whole process group, SIGKILL after the grace period, and 0 once CMD has ended.
func TestRunStops(t *testing.T) {
	t.Parallel()
	sleeps, ignoresTerm := `sleep 3600 & wait`, `trap '' TERM; sleep 3600 & wait` // a group of two
	for _, c := range []struct {
		name, release string
		args          []string
		cmd           string
		says          string
	}{
		{"by a write", "write", nil, sleeps, "sent SIGTERM to its process group"},
		{"by write --nowait", "write --nowait", nil, sleeps, "sent SIGTERM to its process group"},
		{"by delete", "delete", nil, sleeps, "sent SIGTERM to its process group"},
		{"by the end of a hold", "hold", nil, sleeps, "sent SIGTERM to its process group"},
		{"with --signal int", "write", []string{"--signal", "int", "--grace", "300ms"}, sleeps, "sent SIGINT to its process group"},
		{"CMD ignores SIGTERM", "write", []string{"--grace", "200ms"}, ignoresTerm, "sent SIGKILL to process group"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			var holder *child
			var held int
			if c.release == "hold" {
				holder, held = startHold(t, p, "sleep", "3600")
			}
			r, cmd := startRun(t, p, c.args, "/bin/sh", "-c", c.cmd)
			var group []int
			waitFor(t, "CMD's child started", func() bool { group = append(group[:0], cmd, onlyChild(cmd)); return group[1] > 0 })
			switch c.release {
			case "hold":
				syscall.Kill(held, syscall.SIGKILL)
				holder.status(t)
			default:
				if st, _, stderr := lockpipe(t, nil, append(strings.Fields(c.release), "-p", p)...); st != 0 {
					t.Fatalf("%s: %d %q", c.release, st, stderr)
				}
			}
			if st := r.status(t); st != 0 || !strings.Contains(r.stderr.String(), c.says) {
				t.Errorf("status %d, stderr %q", st, r.stderr.String())
			}
			// A group that ended on SIGTERM gets no SIGKILL, also where run cannot be its reaper (qemu-user).
			// (sh's background sleep ignores SIGINT.)
			if strings.Contains(c.says, "SIGTERM") && strings.Contains(r.stderr.String(), "sent SIGKILL") {
				t.Errorf("SIGKILL sent to a group that ended: stderr %q", r.stderr.String())
			}
			for _, pid := range group {
				if s := procState(pid); s != "" && s != "Z" {
					t.Errorf("process %d of CMD's group still there (%s)", pid, s)
				}
			}
		})
	}
	t.Run("by a latch already fired", func(t *testing.T) {
		t.Parallel()
		p := pipePath(t)
		st, _, held := lockpipe(t, nil, "hold", "-p", p, "--", "true")
		if st != 0 {
			t.Fatalf("hold: %d %q", st, held)
		}
		r := spawn(t, nil, "run", "-p", p, "--", "sleep", "3600")
		select {
		case <-r.done:
		case <-time.After(bound):
			_, status, _ := lockpipe(t, nil, "status", "-p", p)
			t.Fatalf("run still waits %v after a hold that ended; the hold said %q; status says:\n%s", bound, held, status)
		}
		if st := r.status(t); st != 0 || !strings.Contains(r.stderr.String(), "was held and no longer is") {
			t.Errorf("status %d, stderr %q", st, r.stderr.String())
		}
	})
}

// TestRunWaitsForItsGroup checks that run, after SIGKILL, waits for CMD's
// group to end, and a second at most: a member the test starts into the
// group, its own child, stays a zombie until the test reaps it.
func TestRunWaitsForItsGroup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		reap  bool // the test reaps its member once run has sent SIGKILL
		warns bool
	}{
		{"a member that stays", false, true},
		{"a member that ends after SIGKILL", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			r, cmd := startRun(t, p, []string{"--grace", "100ms"}, "sleep", "3600")
			member := exec.Command("sleep", "3600")
			member.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: cmd}
			if err := member.Start(); err != nil {
				t.Fatal(err)
			}
			reaped := false
			t.Cleanup(func() {
				if !reaped {
					member.Process.Kill()
					member.Wait()
				}
			})
			if st, _, stderr := lockpipe(t, nil, "write", "-p", p); st != 0 {
				t.Fatalf("write: %d %q", st, stderr)
			}
			if c.reap {
				waitFor(t, "run sent SIGKILL", func() bool { return strings.Contains(r.stderr.String(), "sent SIGKILL") })
				member.Wait()
				reaped = true
			}
			st := r.status(t)
			if warned := strings.Contains(r.stderr.String(), "still there 1s after SIGKILL"); st != 0 || warned != c.warns {
				t.Errorf("status %d, stderr %q", st, r.stderr.String())
			}
		})
	}
}

// TestRunCMDEnds checks run's status when CMD ends first, signals sent to
// run reaching CMD's group, and --timeout.
func TestRunCMDEnds(t *testing.T) {
	t.Parallel()
	t.Run("exits first", func(t *testing.T) {
		t.Parallel()
		if st, _, stderr := lockpipe(t, nil, "run", "-p", pipePath(t), "--", "/bin/sh", "-c", "exit 4"); st != 4 || !strings.Contains(stderr, "exited with status 4") {
			t.Errorf("status %d, stderr %q", st, stderr)
		}
	})
	t.Run("killed", func(t *testing.T) {
		t.Parallel()
		r, cmd := startRun(t, pipePath(t), nil, "sleep", "3600")
		syscall.Kill(cmd, syscall.SIGKILL)
		if st := r.status(t); st != 137 || !strings.Contains(r.stderr.String(), "was ended by SIGKILL (status 137)") {
			t.Errorf("status %d, stderr %q", st, r.stderr.String())
		}
	})
	t.Run("signal forwarded", func(t *testing.T) {
		t.Parallel()
		r, cmd := startRun(t, pipePath(t), nil, "/bin/sh", "-c", `trap 'exit 9' HUP; while :; do sleep 1; done`)
		waitFor(t, "the trap set", func() bool { return trapSet(t, cmd, syscall.SIGHUP) })
		r.cmd.Process.Signal(syscall.SIGHUP)
		if st := r.status(t); st != 9 || !strings.Contains(r.stderr.String(), "forwarded SIGHUP to the process group of CMD") {
			t.Errorf("status %d, stderr %q", st, r.stderr.String())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		st, _, stderr := lockpipe(t, nil, "run", "-t", "200ms", "-p", pipePath(t), "--", "sleep", "3600")
		if st != 110 || !strings.Contains(stderr, "timed out after 200ms while reading from pipe at") || !strings.Contains(stderr, "sent SIGTERM") {
			t.Errorf("status %d, stderr %q", st, stderr)
		}
	})
	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		if st, _, stderr := lockpipe(t, nil, "run", "-p", pipePath(t), "--", "no-such-tool"); st != 127 || !strings.Contains(stderr, "not found") {
			t.Errorf("status %d, stderr %q", st, stderr)
		}
	})
}

// TestRunAsPID1 runs run as PID 1 with CMD leaving orphans: they are reaped,
// and a write still stops CMD and ends run with 0.
func TestRunAsPID1(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare")
	p := pipePath(t)
	u, pid := asPID1(t, nil, "run", "-p", p, "--", "/bin/sh", "-c", `(sleep 0.01 &); (sleep 0.01 &); exec sleep 3600`)
	blocked(t, pid)
	waitFor(t, "the orphans reaped", func() bool {
		return len(childrenOf(pid)) == 1 // CMD alone
	})
	lockpipe(t, nil, "write", "-p", p)
	if st := u.status(t); st != 0 {
		t.Errorf("status %d, stderr %q", st, u.stderr.String())
	}
}

// fullStderr returns a pipe to give a child as its standard error, and a
// function that fills it, as a stuck log collector leaves it.
func fullStderr(t *testing.T) (w *os.File, fill func()) {
	r, w, err := os.Pipe()
	must(t, err)
	t.Cleanup(func() { r.Close() })
	return w, func() {
		full := fillPipe(t, r)
		t.Cleanup(func() {
			if n := queued(t, r); n < full {
				t.Errorf("the pipe was drained meanwhile (%d of %d bytes left): the test proves nothing", n, full)
			}
		})
	}
}

// TestSupervisorsWithFullStderr checks that a log nobody drains stops no
// supervision: hold still returns CMD's status, releasing its readers, and
// run still stops CMD once released.
func TestSupervisorsWithFullStderr(t *testing.T) {
	t.Parallel()
	t.Run("hold", func(t *testing.T) {
		t.Parallel()
		p, q := pipePath(t), pipePath(t)
		must(t, syscall.Mkfifo(q, 0o600))
		w, fill := fullStderr(t)
		h := newChild(nil, bin, "hold", "-p", p, "--", "/bin/sh", "-c", `read x < "$0"; exit 3`, q)
		h.cmd.Stderr = w
		h.start(t)
		w.Close()
		waitFor(t, "the pipe held", func() bool { return holds(h.pid(), p) })
		r := spawn(t, nil, "read", "-p", p)
		blocked(t, r.pid())
		fill()
		must(t, os.WriteFile(q, []byte("end\n"), 0o600)) // CMD reads it and exits 3
		if st := h.status(t); st != 3 {
			t.Errorf("hold: status %d", st)
		}
		released(t, r, p)
	})
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		p, marker := pipePath(t), filepath.Join(t.TempDir(), "marker")
		w, fill := fullStderr(t)
		c := newChild(nil, bin, "run", "-p", p, "--", "/bin/sh", "-c", `exec 2>/dev/null; trap 'echo stopped > "$0"; exit 0' TERM; while :; do sleep 0.1; done`, marker)
		c.cmd.Stderr = w
		c.start(t)
		w.Close()
		blocked(t, c.pid())
		fill()
		lockpipe(t, nil, "write", "-p", p)
		if st := c.status(t); st != 0 || !there(marker) {
			t.Errorf("run: status %d, CMD stopped: %v", st, there(marker))
		}
	})
}

// TestSignalBurst sends hold a burst of SIGUSR1 while its log is stuck,
// then SIGTERM: every signal has a queue of its own, so SIGTERM reaches CMD.
func TestSignalBurst(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	w, fill := fullStderr(t)
	h := newChild(nil, bin, "hold", "-p", p, "--", "/bin/sh", "-c", `exec 2>/dev/null; trap : USR1; trap 'exit 7' TERM; while :; do sleep 0.1; done`)
	h.cmd.Stderr = w
	h.start(t)
	w.Close()
	var cmd int
	waitFor(t, "CMD's traps set", func() bool {
		cmd = onlyChild(h.pid())
		return cmd > 0 && trapSet(t, cmd, syscall.SIGTERM)
	})
	fill()
	for i := 0; i < 50; i++ {
		h.cmd.Process.Signal(syscall.SIGUSR1)
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	if st := h.status(t); st != 7 {
		t.Errorf("hold: status %d: SIGTERM did not reach CMD", st)
	}
}

// TestRunFewDescriptors runs run under low descriptor limits: it fails
// before CMD starts, or it works; if its wait fails after CMD started, CMD
// is stopped as on a release (its signal, then the grace), never left to die
// unwarned by SIGKILL with lockpipe.
func TestRunFewDescriptors(t *testing.T) {
	t.Parallel()
	for limit := 4; limit <= 9; limit++ {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			c := newChild(nil, "/bin/sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" run -p "$1" -- sleep 3600`, limit), bin, p).start(t)
			waitFor(t, "run waiting, or ended", func() bool { waits, exists := waiting(c.pid()); return waits || !exists || !c.running() })
			lockpipe(t, nil, "write", "--nowait", "-p", p) // 6 if it is gone
			st, stderr := c.status(t), c.stderr.String()
			started, stopped := strings.Contains(stderr, `started "sleep"`), strings.Contains(stderr, "sent SIGTERM to its process group")
			if started && !stopped || !started && st == 0 {
				t.Errorf("ulimit -n %d: status %d, stderr %q", limit, st, stderr)
			}
		})
	}
}
