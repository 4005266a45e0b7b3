package main

// A task's standard streams through the pipe: write --stdout/--stderr
// becomes a CMD that writes into it, read --stdin a CMD that reads from it,
// as crinit's IO_REDIRECT ... PIPE does, in either start order.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestCrinitSmoke is crinit's own smoke test for pipe redirection, in
// lockpipe's terms: echo's output into the pipe, bc reading it prints 42,
// and the pipe, made with mode 0640, is prw-r-----. Both start orders.
func TestCrinitSmoke(t *testing.T) {
	t.Parallel()
	needRoot(t, "bc")
	for _, first := range []string{"receiver", "sender"} {
		t.Run(first+" first", func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			receiver := newChild(nil, bin, "read", "--stdin", "-m", "0640", "-p", p, "--", "bc")
			sender := newChild(nil, bin, "write", "--stdout", "-m", "0640", "-p", p, "--", "/bin/echo", "56/2 + 7*2")
			a, b := receiver, sender
			if first == "sender" {
				a, b = sender, receiver
			}
			a.start(t)
			blocked(t, a.pid())
			b.start(t)
			if st := sender.status(t); st != 0 {
				t.Errorf("sender: %d %q", st, sender.stderr.String())
			}
			if st := receiver.status(t); st != 0 || receiver.stdout.String() != "42\n" {
				t.Errorf("receiver: status %d, stdout %q, stderr %q", st, receiver.stdout.String(), receiver.stderr.String())
			}
			fi, err := os.Lstat(p)
			must(t, err)
			if fi.Mode().String() != "prw-r-----" {
				t.Errorf("the pipe is %s", fi.Mode())
			}
		})
	}
}

// TestRedirectedStreams checks a stream of megabytes arriving intact, --stderr
// carrying only CMD's standard error while lockpipe's own lines stay on its
// own, and the receiver seeing end-of-file when the sender is killed.
func TestRedirectedStreams(t *testing.T) {
	t.Parallel()
	t.Run("megabytes intact", func(t *testing.T) {
		t.Parallel()
		p, data := pipePath(t), filepath.Join(t.TempDir(), "data")
		b := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
		for i := range b {
			b[i] ^= byte(i * 7 / 5)
		}
		must(t, os.WriteFile(data, b, 0o644))
		r := spawn(t, nil, "read", "--stdin", "-p", p, "--", "cat")
		w := spawn(t, nil, "write", "--stdout", "-p", p, "--", "cat", data)
		if st := w.status(t); st != 0 {
			t.Errorf("sender: %d %q", st, w.stderr.String())
		}
		if st := r.status(t); st != 0 || sha256.Sum256(r.stdout.Bytes()) != sha256.Sum256(b) {
			t.Errorf("receiver: status %d, %d of %d bytes, stderr %q", st, r.stdout.Len(), len(b), r.stderr.String())
		}
	})
	t.Run("stderr only", func(t *testing.T) {
		t.Parallel()
		p := pipePath(t)
		r := spawn(t, nil, "read", "--stdin", "-p", p, "--", "cat")
		blocked(t, r.pid())
		w := spawn(t, nil, "write", "--stderr", "-p", p, "--", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2")
		if st := w.status(t); st != 0 || w.stdout.String() != "to-stdout\n" || !strings.HasSuffix(w.stderr.String(), line("INFO", "wrote to pipe at", p)) {
			t.Errorf("sender: status %d, stdout %q, stderr %q", st, w.stdout.String(), w.stderr.String())
		}
		if st := r.status(t); st != 0 || r.stdout.String() != "to-stderr\n" {
			t.Errorf("receiver: status %d, stdout %q", st, r.stdout.String())
		}
	})
	t.Run("sender killed", func(t *testing.T) {
		t.Parallel()
		p := pipePath(t)
		r := spawn(t, nil, "read", "--stdin", "-p", p, "--", "cat")
		w := spawn(t, nil, "write", "--stdout", "-p", p, "--", "/bin/sh", "-c", "echo partial; exec sleep 3600")
		waitFor(t, "the sender became sleep", func() bool {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", w.pid()))
			return strings.HasSuffix(exe, "sleep")
		})
		w.cmd.Process.Kill()
		if st := r.status(t); st != 0 || r.stdout.String() != "partial\n" {
			t.Errorf("receiver: status %d, stdout %q", st, r.stdout.String())
		}
	})
	t.Run("nowait with nobody reading", func(t *testing.T) {
		t.Parallel()
		p, marker := pipePath(t), filepath.Join(t.TempDir(), "ran")
		lockpipe(t, nil, "create", "-p", p)
		if st, _, stderr := lockpipe(t, nil, "write", "--nowait", "--stdout", "-p", p, "--", "touch", marker); st != 6 || there(marker) {
			t.Errorf("status %d, CMD ran %v, stderr %q", st, there(marker), stderr)
		}
	})
}

// TestRedirectedDescriptor checks, from outside, that the descriptor CMD
// gets is the named pipe itself, with the right access, blocking, and that
// CMD has no other descriptor of lockpipe's. The receiver waits first, so
// the sender meets it with an open that does not block: CMD's must block again.
func TestRedirectedDescriptor(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	r := spawn(t, nil, "read", "--stdin", "-p", p, "--", "sleep", "3600")
	blocked(t, r.pid())
	w := spawn(t, nil, "write", "--stdout", "-p", p, "--", "sleep", "3600")
	passed := strings.Fields(inheritedFDs(t))
	for _, c := range []struct {
		who    *child
		fd     int
		access int
	}{{r, 0, syscall.O_RDONLY}, {w, 1, syscall.O_WRONLY}} {
		// Asleep, so past the dynamic loader, which holds a descriptor of its own for a moment.
		waitFor(t, "CMD asleep", func() bool {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.who.pid()))
			wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", c.who.pid()))
			return strings.HasSuffix(exe, "sleep") && string(wchan) == "hrtimer_nanosleep"
		})
		fi, err1 := os.Stat(fmt.Sprintf("/proc/%d/fd/%d", c.who.pid(), c.fd))
		want, err2 := os.Stat(p)
		info, err3 := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", c.who.pid(), c.fd))
		if err1 != nil || err2 != nil || err3 != nil || !os.SameFile(fi, want) {
			t.Errorf("descriptor %d of CMD is not the pipe: %v %v %v", c.fd, err1, err2, err3)
		}
		var flags uint64
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "flags:\t"); ok {
				flags, _ = strconv.ParseUint(v, 8, 64)
			}
		}
		if flags&syscall.O_NONBLOCK != 0 || int(flags)&syscall.O_ACCMODE != c.access {
			t.Errorf("descriptor %d of CMD has flags %o; want access %o, blocking", c.fd, flags, c.access)
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.who.pid()))
		for _, fd := range fds {
			if !slices.Contains(passed, fd.Name()) {
				t.Errorf("CMD has descriptor %s, which the test did not pass on", fd.Name())
			}
		}
	}
}

// TestRedirectRefuses checks that nothing that is not a named pipe is connected to CMD, which never runs then.
func TestRedirectRefuses(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(p, []byte("data"), 0o644))
	marker := filepath.Join(t.TempDir(), "ran")
	checkBad(t, nil, p, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "read", "--stdin", "-p", p, "--", "touch", marker)
	checkBad(t, nil, p, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "write", "--stdout", "-p", p, "--", "touch", marker)
	if there(marker) {
		t.Error("CMD ran")
	}
}

// TestRedirectAsPID1AndBareRoot connects a receiver that is PID 1, and one
// in a root without /proc, where the pipe is opened by name and checked.
func TestRedirectAsPID1AndBareRoot(t *testing.T) {
	t.Parallel()
	needRoot(t, "chroot", "busybox")
	t.Run("pid1", func(t *testing.T) {
		t.Parallel()
		p := pipePath(t)
		u, pid := asPID1(t, nil, "read", "--stdin", "-p", p, "--", "cat")
		blocked(t, pid)
		if st, _, stderr := lockpipe(t, nil, "write", "--stdout", "-p", p, "--", "echo", "to PID 1"); st != 0 {
			t.Fatalf("sender: %d %q", st, stderr)
		}
		if st := u.status(t); st != 0 || u.stdout.String() != "to PID 1\n" {
			t.Errorf("status %d, stdout %q", st, u.stdout.String())
		}
	})
	t.Run("no /proc", func(t *testing.T) {
		t.Parallel()
		busybox, _ := exec.LookPath("busybox")
		root := bareRoot(t, "cat", busybox)
		r := newChild(nil, "chroot", root, "/lockpipe", "read", "--stdin", "-p", "/run/p", "--", "/cat").start(t)
		blocked(t, r.pid())
		if st, _, stderr := lockpipe(t, nil, "write", "--stdout", "-p", filepath.Join(root, "run", "p"), "--", "echo", "into a bare root"); st != 0 {
			t.Fatalf("sender: %d %q", st, stderr)
		}
		if st := r.status(t); st != 0 || r.stdout.String() != "into a bare root\n" {
			t.Errorf("status %d, stdout %q, stderr %q", st, r.stdout.String(), r.stderr.String())
		}
	})
}

// TestRedirectRemoved deletes or removes the pipe while lockpipe waits to
// connect it: a sender's CMD never runs (6: the pipe it would write into
// is gone, whoever let it in), 20 times over against delete's own open; a
// receiver's CMD reads end-of-file, also in a root without /proc.
func TestRedirectRemoved(t *testing.T) {
	t.Parallel()
	t.Run("sender, by delete", func(t *testing.T) {
		t.Parallel()
		for i := 0; i < 20; i++ {
			p, marker := pipePath(t), filepath.Join(t.TempDir(), "ran")
			w := spawn(t, nil, "write", "--stdout", "-p", p, "--", "touch", marker)
			blocked(t, w.pid())
			lockpipe(t, nil, "delete", "-p", p)
			if st := w.status(t); st != 6 || there(marker) || !strings.Contains(w.stderr.String(), "and nobody reads it; CMD not run") {
				t.Fatalf("round %d: status %d, CMD ran %v, stderr %q", i, st, there(marker), w.stderr.String())
			}
		}
	})
	t.Run("receiver in a root without /proc", func(t *testing.T) {
		t.Parallel()
		needRoot(t, "chroot", "busybox")
		busybox, _ := exec.LookPath("busybox")
		root := bareRoot(t, "cat", busybox)
		r := newChild(nil, "chroot", root, "/lockpipe", "read", "--stdin", "-p", "/run/p", "--", "/cat").start(t)
		blocked(t, r.pid())
		must(t, os.Remove(filepath.Join(root, "run", "p")))
		if st := r.statusWithin(t, lookBound); st != 0 || r.stdout.String() != "" || !strings.Contains(r.stderr.String(), "CMD reads end-of-file") {
			t.Errorf("status %d, stdout %q, stderr %q", st, r.stdout.String(), r.stderr.String())
		}
	})
}
