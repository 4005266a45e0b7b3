package main

// End-to-end tests: the real binary, built once, run as child processes on
// real named pipes in temporary directories.

import (
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// bin is the lockpipe binary under test, built by TestMain as users build it
// for an image; raceBin is the same built with -race, for the tests of
// lockpipe's own goroutines (signals, timeouts, removal), or "" where -race cannot build.
var bin, raceBin string

// bound is how long any single wait in a test may take before it counts as a hang.
const bound = 30 * time.Second

// TestMain builds the release binary, and the race-detecting one, once for every test.
func TestMain(m *testing.M) {
	if argv := os.Getenv("LOCKPIPE_TEST_BLOCK_SIGALRM"); argv != "" {
		blockAndExec(strings.Split(argv, "\x1f"))
	}
	flag.Parse()
	// Fuzz workers re-run this binary many times and never need the build.
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "lockpipe-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // tests run it as another user too
	bin = filepath.Join(dir, "lockpipe")
	// LOCKPIPE_TEST_GOARCH builds for another architecture, which qemu-user runs through binfmt_misc.
	if out, err := goBuild(bin, []string{"GOARCH=" + foreign}, "-trimpath", "-ldflags=-s -w"); err != nil {
		fmt.Fprintf(os.Stderr, "building lockpipe: %v\n%s", err, out)
		os.Exit(1)
	}
	raceBin = filepath.Join(dir, "lockpipe-race")
	if foreign != "" {
		raceBin = ""
	} else if out, err := goBuild(raceBin, []string{"CGO_ENABLED=1"}, "-race"); err != nil {
		fmt.Fprintf(os.Stderr, "no -race build, its tests will skip: %v\n%s", err, out)
		raceBin = ""
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// foreign is the GOARCH the binary under test is built for, when it is not this machine's.
var foreign = os.Getenv("LOCKPIPE_TEST_GOARCH")

// needNative skips tests that find lockpipe through /proc/PID/exe, or need
// PID namespaces: under qemu-user the process is qemu's.
func needNative(t testing.TB) {
	t.Helper()
	if foreign != "" {
		t.Skip("under qemu-user (" + foreign + "): /proc/PID/exe names qemu, and it cannot enter PID namespaces")
	}
}

// goBuild builds lockpipe to out, static unless env says otherwise, with the flags given.
func goBuild(out string, env []string, flags ...string) ([]byte, error) {
	build := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, ".")...)
	build.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	return build.CombinedOutput()
}

// binaries runs f once for the release binary and once for the -race one, as subtests.
func binaries(t *testing.T, f func(t *testing.T, bin string)) {
	t.Run("release", func(t *testing.T) { f(t, bin) })
	t.Run("race", func(t *testing.T) {
		if raceBin == "" {
			t.Skip("no -race build on this machine")
		}
		f(t, raceBin)
	})
}

// cleanEnv is the environment without any LOCKPIPE_ variable, NO_COLOR or TERM.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOCKPIPE_") && !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	return env
}

// child is a running process with its output captured.
type child struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

// newChild prepares argv with env added to the clean environment.
func newChild(env []string, argv ...string) *child {
	c := &child{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	c.cmd.Env = append(cleanEnv(), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	// A grandchild that outlives its parent must not keep Wait reading its output forever.
	c.cmd.WaitDelay = time.Second
	return c
}

// start starts c and kills it when the test ends, if it is still running.
func (c *child) start(t testing.TB) *child {
	t.Helper()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		if c.running() {
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// spawn starts lockpipe with args and env.
func spawn(t testing.TB, env []string, args ...string) *child {
	t.Helper()
	return spawnWith(t, bin, env, args...)
}

// spawnWith starts the lockpipe binary b with args and env.
func spawnWith(t testing.TB, b string, env []string, args ...string) *child {
	t.Helper()
	return newChild(env, append([]string{b}, args...)...).start(t)
}

// running reports whether the process has not exited yet.
func (c *child) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// status waits for the process and returns its exit status, 128+N for death by signal N.
func (c *child) status(t testing.TB) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(bound):
		c.cmd.Process.Kill() // then its output is whole, and no longer written
		<-c.done
		t.Fatalf("%v still running after %v; stderr:\n%s", c.cmd.Args, bound, c.stderr.String())
	}
	ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// lockpipe runs lockpipe to the end and returns its status and output.
func lockpipe(t testing.TB, env []string, args ...string) (int, string, string) {
	t.Helper()
	return lockpipeWith(t, bin, env, args...)
}

// lockpipeWith runs the lockpipe binary b to the end and returns its status and output.
func lockpipeWith(t testing.TB, b string, env []string, args ...string) (int, string, string) {
	t.Helper()
	c := spawnWith(t, b, env, args...)
	st := c.status(t)
	return st, c.stdout.String(), c.stderr.String()
}

// waiting reports whether pid has a thread waiting in open(2) for the other side of a named pipe,
// and whether the process exists at all.
func waiting(pid int) (waits, exists bool) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, f := range tasks {
		if b, _ := os.ReadFile(f); string(b) == "wait_for_partner" {
			return true, true
		}
	}
	return false, len(tasks) > 0
}

// blocked polls until pid waits in open(2) for the other side of a named pipe.
func blocked(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		waits, exists := waiting(pid)
		if waits {
			return
		}
		if !exists {
			t.Fatalf("process %d is gone", pid)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("process %d never waited on a named pipe within %v", pid, bound)
}

// waitFor polls cond until it holds, failing the test after bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// line returns one log line as lockpipe writes it without colour.
func line(level, msg, path string) string {
	return fmt.Sprintf("[%-5s lockpipes] %s %q\n", level, msg, path)
}

// isPipe reports whether a named pipe is at path.
func isPipe(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeNamedPipe != 0
}

// pipePath returns a path in a fresh temporary directory.
func pipePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "pipe")
}

// pid returns the process's id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// TestReadWaitsForWrite checks that a reader waits until a writer releases it, and the pipe stays.
func TestReadWaitsForWrite(t *testing.T) {
	p := pipePath(t)
	r := spawn(t, nil, "read", "--path", p)
	blocked(t, r.pid())
	if !r.running() || !isPipe(p) {
		t.Fatalf("reader running=%v, pipe created=%v", r.running(), isPipe(p))
	}
	st, _, werr := lockpipe(t, nil, "write", "--path", p)
	if st != 0 {
		t.Fatalf("write: status %d, stderr %q", st, werr)
	}
	if st := r.status(t); st != 0 {
		t.Fatalf("read: status %d", st)
	}
	if want := line("WARN", "pipe does not exist at", p) + line("INFO", "created pipe at", p) + line("INFO", "read from pipe at", p); r.stderr.String() != want {
		t.Errorf("read stderr:\n%s\nwant:\n%s", r.stderr.String(), want)
	}
	if want := line("INFO", "pipe exists at", p) + line("INFO", "wrote to pipe at", p); werr != want {
		t.Errorf("write stderr:\n%s\nwant:\n%s", werr, want)
	}
	if !isPipe(p) {
		t.Error("the pipe is gone after read and write")
	}
}

// TestWriteWaitsForRead checks that a writer waits until a reader releases it.
func TestWriteWaitsForRead(t *testing.T) {
	p := pipePath(t)
	w := spawn(t, nil, "w", "-p", p)
	blocked(t, w.pid())
	if st, _, rerr := lockpipe(t, nil, "r", "-p", p); st != 0 {
		t.Fatalf("read: status %d, stderr %q", st, rerr)
	}
	if st := w.status(t); st != 0 {
		t.Fatalf("write: status %d", st)
	}
	if w.stdout.Len() != 0 || !isPipe(p) {
		t.Errorf("stdout %q, pipe there %v", w.stdout.String(), isPipe(p))
	}
}

// TestBroadcast checks that one write releases every waiting reader, one read
// every waiting writer, and that latecomers wait for the next one.
func TestBroadcast(t *testing.T) {
	for _, side := range []struct{ waiter, releaser string }{{"read", "write"}, {"write", "read"}} {
		t.Run(side.waiter, func(t *testing.T) {
			p := pipePath(t)
			if st, _, _ := lockpipe(t, nil, "create", "-p", p); st != 0 {
				t.Fatal("create failed")
			}
			var waiters []*child
			for i := 0; i < 10; i++ {
				waiters = append(waiters, spawn(t, nil, side.waiter, "-p", p))
			}
			for _, c := range waiters {
				blocked(t, c.pid())
			}
			if st, _, _ := lockpipe(t, nil, side.releaser, "-p", p); st != 0 {
				t.Fatalf("%s: status %d", side.releaser, st)
			}
			for i, c := range waiters {
				if st := c.status(t); st != 0 {
					t.Errorf("waiter %d: status %d", i, st)
				}
			}
			late := spawn(t, nil, side.waiter, "-p", p)
			blocked(t, late.pid())
			if !late.running() {
				t.Fatal("a latecomer did not wait for the next partner")
			}
			lockpipe(t, nil, side.releaser, "-p", p)
			if st := late.status(t); st != 0 {
				t.Errorf("latecomer: status %d", st)
			}
		})
	}
}

// TestDeleteReleasesWaiters checks that delete releases every waiting reader or writer, then removes the pipe.
func TestDeleteReleasesWaiters(t *testing.T) {
	for _, waiter := range []string{"read", "write"} {
		t.Run(waiter, func(t *testing.T) {
			p := pipePath(t)
			var ws []*child
			for i := 0; i < 5; i++ {
				ws = append(ws, spawn(t, nil, waiter, "-p", p))
			}
			for _, c := range ws {
				blocked(t, c.pid())
			}
			st, _, stderr := lockpipe(t, nil, "delete", "-p", p)
			if st != 0 || stderr != line("INFO", "deleted pipe at", p) {
				t.Fatalf("delete: status %d, stderr %q", st, stderr)
			}
			for i, c := range ws {
				if st := c.status(t); st != 0 {
					t.Errorf("waiter %d: status %d, stderr %q", i, st, c.stderr.String())
				}
			}
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("pipe still there: %v", err)
			}
		})
	}
}

// TestCommands runs every command and alias with its fixed messages at the debug level.
func TestCommands(t *testing.T) {
	p := pipePath(t)
	env := []string{"LOCKPIPE_LOG_FILTER=debug", "LOCKPIPE_PATH=" + p}
	steps := []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"exists"}, 1, line("DEBUG", "checking if pipe exists at", p) + line("INFO", "pipe does not exist at", p)},
		{[]string{"create"}, 0, line("DEBUG", "creating pipe at", p) + line("INFO", "created pipe at", p)},
		{[]string{"c"}, 0, line("DEBUG", "creating pipe at", p) + line("WARN", "pipe already exists at", p)},
		{[]string{"e"}, 0, line("DEBUG", "checking if pipe exists at", p) + line("INFO", "pipe exists at", p)},
		{[]string{"delete"}, 0, line("DEBUG", "deleting pipe at", p) + line("INFO", "deleted pipe at", p)},
		{[]string{"d"}, 0, line("DEBUG", "deleting pipe at", p) + line("WARN", "pipe does not exist at", p)},
		{[]string{"exists"}, 1, line("DEBUG", "checking if pipe exists at", p) + line("INFO", "pipe does not exist at", p)},
	}
	for _, s := range steps {
		st, stdout, stderr := lockpipe(t, env, s.args...)
		if st != s.status || stderr != s.stderr || stdout != "" {
			t.Errorf("%v: status %d, stdout %q, stderr:\n%s\nwant status %d, stderr:\n%s", s.args, st, stdout, stderr, s.status, s.stderr)
		}
	}
	// read and write, each waiting for the other, with their debug lines.
	r := spawn(t, env, "r")
	blocked(t, r.pid())
	st, _, werr := lockpipe(t, env, "w")
	if st != 0 || r.status(t) != 0 {
		t.Fatalf("w status %d, r stderr %q", st, r.stderr.String())
	}
	wantR := line("DEBUG", "ensuring pipe exists at", p) + line("WARN", "pipe does not exist at", p) +
		line("DEBUG", "creating pipe at", p) + line("INFO", "created pipe at", p) +
		line("DEBUG", "reading from pipe at", p) + line("INFO", "read from pipe at", p)
	wantW := line("DEBUG", "ensuring pipe exists at", p) + line("INFO", "pipe exists at", p) +
		line("DEBUG", "writing to pipe at", p) + line("INFO", "wrote to pipe at", p)
	if r.stderr.String() != wantR || werr != wantW {
		t.Errorf("read stderr:\n%s\nwant:\n%s\nwrite stderr:\n%s\nwant:\n%s", r.stderr.String(), wantR, werr, wantW)
	}
}

// TestMode checks that --mode holds exactly for a pipe the call creates, whatever the umask, and leaves others alone.
func TestMode(t *testing.T) {
	dir := t.TempDir()
	umasked := func(umask string, env []string, args ...string) {
		t.Helper()
		c := newChild(env, append([]string{"/bin/sh", "-c", "umask " + umask + " && exec \"$0\" \"$@\"", bin}, args...)...).start(t)
		if st := c.status(t); st != 0 {
			t.Fatalf("%v: status %d, stderr %q", args, st, c.stderr.String())
		}
	}
	modeOf := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	cases := []struct {
		name  string
		env   []string
		args  []string
		umask string
		want  os.FileMode
	}{
		{"default", nil, []string{"create"}, "022", 0o600},
		{"flag wide", nil, []string{"create", "-m", "0666"}, "077", 0o666},
		{"flag no leading zero", nil, []string{"c", "--mode=640"}, "0", 0o640},
		{"env", []string{"LOCKPIPE_MODE=0604"}, []string{"create"}, "077", 0o604},
		{"flag beats env", []string{"LOCKPIPE_MODE=0604"}, []string{"-m", "0620", "create"}, "077", 0o620},
		{"zero", nil, []string{"create", "--mode", "0"}, "022", 0},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		umasked(c.umask, c.env, append(c.args, "-p", p)...)
		if got := modeOf(p); got != c.want {
			t.Errorf("%s: mode %#o, want %#o", c.name, got, c.want)
		}
	}
	// read creates with the mode too; an existing pipe keeps its own.
	p := filepath.Join(dir, "by-read")
	r := newChild(nil, "/bin/sh", "-c", "umask 077 && exec \"$0\" read -m 0660 -p \"$1\"", bin, p).start(t)
	blocked(t, r.cmd.Process.Pid)
	if got := modeOf(p); got != 0o660 {
		t.Errorf("read created mode %#o, want 0660", got)
	}
	lockpipe(t, nil, "write", "-m", "0600", "-p", p)
	r.status(t)
	umasked("0", nil, "create", "-m", "0600", "-p", p)
	if got := modeOf(p); got != 0o660 {
		t.Errorf("an existing pipe's mode changed to %#o", got)
	}
}

// TestNotPipeLeftAlone checks that every command refuses, with 17, anything at the path that is not a named pipe.
func TestNotPipeLeftAlone(t *testing.T) {
	for _, k := range notPipes(t) {
		for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
			t.Run(k.name+"/"+cmd, func(t *testing.T) {
				p := k.make(t)
				before := snapshot(t, p)
				st, _, stderr := lockpipe(t, []string{"LOCKPIPE_TIMEOUT=" + bound.String()}, cmd, "-p", p)
				if st != 17 || !strings.Contains(stderr, "[ERROR lockpipes] found "+k.what+" at "+strconv.Quote(p)+", not a named pipe") {
					t.Errorf("status %d, stderr %q; want 17 naming %s", st, stderr, k.what)
				}
				if after := snapshot(t, p); after != before {
					t.Errorf("changed:\n%s\nbecame:\n%s", before, after)
				}
			})
		}
	}
}

// intruder is one kind of thing that is not a named pipe.
type intruder struct {
	name, what string
	make       func(t *testing.T) string
}

// notPipes lists every kind of non-pipe this machine can make, and symbolic links to each.
func notPipes(t *testing.T) []intruder {
	file := func(content string) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x")
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	dir := func(full bool) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x")
			os.Mkdir(p, 0o755)
			if full {
				os.WriteFile(filepath.Join(p, "keep"), []byte("keep"), 0o644)
			}
			return p
		}
	}
	sock := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "x")
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: p}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dev := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "x")
		// Same numbers as /dev/null, so that nothing happens even if it were opened.
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skipf("cannot make a character device (needs root): %v", err)
		}
		return p
	}
	kinds := []intruder{
		{"file", "a regular file", file("precious data\n")},
		{"empty-file", "a regular file", file("")},
		{"dir", "a directory", dir(false)},
		{"full-dir", "a directory", dir(true)},
		{"socket", "a socket", sock},
		{"chardev", "a character device", dev},
	}
	for _, k := range kinds[:len(kinds):len(kinds)] {
		k := k
		kinds = append(kinds, intruder{"link-to-" + k.name, "a symbolic link to " + k.what, func(t *testing.T) string {
			target := k.make(t)
			p := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			return p
		}})
	}
	return kinds
}

// snapshot describes what is at p, through symbolic links, closely enough to see any change.
func snapshot(t *testing.T, p string) string {
	var st, lst syscall.Stat_t
	if err := syscall.Lstat(p, &lst); err != nil {
		return "missing: " + err.Error()
	}
	s := fmt.Sprintf("lstat ino=%d mode=%o size=%d mtime=%d", lst.Ino, lst.Mode, lst.Size, lst.Mtim.Nano())
	if err := syscall.Stat(p, &st); err == nil {
		s += fmt.Sprintf("\nstat ino=%d mode=%o size=%d mtime=%d ctime=%d", st.Ino, st.Mode, st.Size, st.Mtim.Nano(), st.Ctim.Nano())
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			b, _ := os.ReadFile(p)
			s += fmt.Sprintf(" content=%q", b)
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			names, _ := filepath.Glob(filepath.Join(p, "*"))
			s += fmt.Sprintf(" entries=%q", names)
		}
	}
	return s
}

// TestLogStyle checks colour on and off, including on a real terminal.
func TestLogStyle(t *testing.T) {
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	plain := line("INFO", "pipe exists at", p)
	colour := "[\x1b[32mINFO \x1b[0m lockpipes] pipe exists at " + strconv.Quote(p) + "\n"
	for style, want := range map[string]string{
		"":       plain,
		"auto":   plain,
		"never":  plain,
		"always": colour,
		"ALWAYS": colour,
		"loud":   "[WARN  lockpipes] ignoring LOCKPIPE_LOG_STYLE \"loud\": not auto, always or never\n" + plain,
	} {
		if _, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_STYLE=" + style}, "exists", "-p", p); stderr != want {
			t.Errorf("LOCKPIPE_LOG_STYLE=%q: stderr %q, want %q", style, stderr, want)
		}
	}
	_, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_STYLE=always", "LOCKPIPE_LOG_FILTER=trace"}, "create", "-p", p)
	for _, code := range []string{"\x1b[36mTRACE", "\x1b[34mDEBUG", "\x1b[33mWARN "} {
		if !strings.Contains(stderr, code) {
			t.Errorf("no %q in %q", code, stderr)
		}
	}
	// auto: colour on a terminal, unless TERM=dumb or NO_COLOR is set.
	for env, want := range map[string]string{"TERM=xterm": colour, "TERM=dumb": plain, "NO_COLOR=1": plain, "NO_COLOR=": colour} {
		if got := onTerminal(t, []string{env}, "exists", "-p", p); got != want {
			t.Errorf("on a terminal with %s: %q, want %q", env, got, want)
		}
	}
}

// onTerminal runs lockpipe with standard error on a pseudo-terminal and returns what it wrote there.
func onTerminal(t *testing.T, env []string, args ...string) string {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer ptmx.Close()
	var n, unlock uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlockpt: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("ptsname: %v", e)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	c := newChild(append([]string{"TERM=xterm"}, env...), append([]string{bin}, args...)...)
	c.cmd.Stderr = pts
	c.start(t)
	c.status(t)
	pts.Close()
	var out []byte
	buf := make([]byte, 4096)
	for {
		k, err := ptmx.Read(buf)
		out = append(out, buf[:k]...)
		if err != nil || bytes.HasSuffix(out, []byte("\n")) {
			break
		}
	}
	// The terminal turns "\n" into "\r\n".
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// TestHelpAndVersion checks that help and version reach standard output, and a failed write of them is its errno.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"read", "--help"}} {
		st, stdout, stderr := lockpipe(t, nil, args...)
		want, _ := helpText(map[bool]string{true: "read"}[len(args) == 2])
		if st != 0 || stderr != "" || stdout != want {
			t.Errorf("%v: status %d, stderr %q, stdout %q", args, st, stderr, stdout)
		}
	}
	for _, args := range [][]string{{"version"}, {"-V"}, {"--version"}, {"exists", "-V"}} {
		st, stdout, stderr := lockpipe(t, nil, args...)
		if st != 0 || stderr != "" || !strings.HasPrefix(stdout, "lockpipe ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: status %d, stdout %q, stderr %q", args, st, stdout, stderr)
		}
	}
	for _, args := range [][]string{{"version"}, {"help"}, {"help", "write"}} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skipf("no /dev/full: %v", err)
		}
		c := newChild(nil, append([]string{bin}, args...)...)
		c.cmd.Stdout = full
		st := c.start(t).status(t)
		full.Close()
		if want := "[ERROR lockpipes] cannot write to standard output: no space left on device\n"; st != 28 || c.stderr.String() != want {
			t.Errorf("%v >/dev/full: status %d, stderr %q", args, st, c.stderr.String())
		}
	}
	stamped := filepath.Join(t.TempDir(), "lockpipe")
	if out, err := goBuild(stamped, nil, "-ldflags=-X main.version=v9.8.7"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := exec.Command(stamped, "--version").Output(); err != nil || string(out) != "lockpipe v9.8.7\n" {
		t.Errorf("-X main.version: %q, %v", out, err)
	}
}

// TestUsageErrorLine checks the wiring of a usage error: status 22, one ERROR
// line on standard error, nothing on standard output, nothing touched.
func TestUsageErrorLine(t *testing.T) {
	p := pipePath(t)
	for _, args := range [][]string{{"raed", "-p", p}, {"read", "--pth", p}, {"exists", "-m", "0600", "-p", p}} {
		st, stdout, stderr := lockpipe(t, nil, args...)
		err := run(args, func(string) string { return "" }, io.Discard)
		if st != 22 || stdout != "" || stderr != "[ERROR lockpipes] "+err.Error()+"\n" {
			t.Errorf("%q: status %d, stdout %q, stderr %q", args, st, stdout, stderr)
		}
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Error("a usage error touched the path")
	}
}

// TestVariables checks that the variables reach lockpipe: the path, and the log filter.
func TestVariables(t *testing.T) {
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	if st, _, stderr := lockpipe(t, []string{"LOCKPIPE_PATH=" + p}, "exists"); st != 0 || stderr != line("INFO", "pipe exists at", p) {
		t.Errorf("LOCKPIPE_PATH: %d %q", st, stderr)
	}
	trace := fmt.Sprintf("[TRACE lockpipes] command exists, path %q, mode 0600, timeout 0s\n", p)
	debug := line("DEBUG", "checking if pipe exists at", p)
	info := line("INFO", "pipe exists at", p)
	bad := "[WARN  lockpipes] ignoring \"debgu\" in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipes=LEVEL\n"
	for filter, want := range map[string]string{"": info, "off": "", "lockpipes": trace + debug + info, "debgu": bad + info, "=debug,error": ""} {
		if st, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_FILTER=" + filter}, "exists", "-p", p); st != 0 || stderr != want {
			t.Errorf("LOCKPIPE_LOG_FILTER=%q: status %d, stderr:\n%s\nwant:\n%s", filter, st, stderr, want)
		}
	}
	_, _, stderr := lockpipe(t, []string{"LOCKPIPE_PATH=", "LOCKPIPE_LOG_FILTER=debug"}, "exists")
	if !strings.HasPrefix(stderr, line("DEBUG", "checking if pipe exists at", "/run/forever")) {
		t.Errorf("default path not used: %q", stderr)
	}
}

// TestStdinIgnored checks that a closed or absent standard input changes nothing.
func TestStdinIgnored(t *testing.T) {
	p := pipePath(t)
	for _, redirect := range []string{"<&-", "</dev/null"} {
		r := newChild(nil, "/bin/sh", "-c", "exec \"$0\" read -p \"$1\" "+redirect, bin, p).start(t)
		blocked(t, r.cmd.Process.Pid)
		if st, _, _ := lockpipe(t, nil, "write", "-p", p); st != 0 || r.status(t) != 0 {
			t.Errorf("%s: write %d, read %d, stderr %q", redirect, st, r.status(t), r.stderr.String())
		}
	}
}

// TestSignals checks that SIGTERM, SIGINT, SIGHUP and SIGQUIT (no stack dump) end a waiting reader or writer with 128+N, leaving the pipe.
func TestSignals(t *testing.T) {
	binaries(t, func(t *testing.T, b string) {
		for _, cmd := range []string{"read", "write"} {
			for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
				t.Run(fmt.Sprintf("%s/%d", cmd, sig), func(t *testing.T) {
					p := pipePath(t)
					c := spawnWith(t, b, nil, cmd, "-p", p)
					blocked(t, c.pid())
					c.cmd.Process.Signal(sig)
					want := 128 + int(sig)
					if st := c.status(t); st != want {
						t.Errorf("status %d, want %d", st, want)
					}
					doing := map[string]string{"read": "reading from", "write": "writing to"}[cmd]
					msg := fmt.Sprintf("[INFO  lockpipes] received %s while %s pipe at %q; exiting with status %d\n", sigNames[sig], doing, p, want)
					if !strings.HasSuffix(c.stderr.String(), msg) {
						t.Errorf("stderr %q, want it to end with %q", c.stderr.String(), msg)
					}
					if !isPipe(p) {
						t.Error("the pipe is gone")
					}
				})
			}
		}
	})
}

// sigNames are the names lockpipe gives the signals that end it.
var sigNames = map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP", syscall.SIGQUIT: "SIGQUIT"}

// needRoot skips t unless it runs as root with the named commands at hand.
func needRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
}

// asPID1 starts lockpipe as PID 1 of a new PID namespace and returns unshare and lockpipe's host PID.
func asPID1(t testing.TB, args ...string) (*child, int) {
	t.Helper()
	needNative(t)
	needRoot(t, "unshare")
	u := newChild(nil, append([]string{"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin}, args...)...).start(t)
	var pid int
	waitFor(t, "lockpipe started under unshare", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", u.pid(), u.pid()))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return pid > 0 && exe == bin
	})
	return u, pid
}

// TestSignalsAsPID1 checks the signal statuses with lockpipe as PID 1 of a PID namespace.
func TestSignalsAsPID1(t *testing.T) {
	for _, cmd := range []string{"read", "write"} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			t.Run(fmt.Sprintf("%s/%d", cmd, sig), func(t *testing.T) {
				p := pipePath(t)
				u, pid := asPID1(t, cmd, "-p", p)
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

// TestReapsOrphansAsPID1 leaves orphans in lockpipe's namespace and checks none stays a zombie.
func TestReapsOrphansAsPID1(t *testing.T) {
	needRoot(t, "nsenter")
	p := pipePath(t)
	u, pid := asPID1(t, "read", "-p", p)
	blocked(t, pid)
	children := func() []string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		return strings.Fields(string(b))
	}
	for round := 0; round < 3; round++ {
		// sh leaves three sleeps behind and exits; they become lockpipe's children.
		c := newChild(nil, "nsenter", "--target", strconv.Itoa(pid), "--pid", "--", "/bin/sh", "-c", "sleep 0.2 & sleep 0.3 & sleep 0.1 & exit 0").start(t)
		if st := c.status(t); st != 0 {
			t.Fatalf("nsenter: %d %s", st, c.stderr.String())
		}
		waitFor(t, "every orphan reaped", func() bool { return len(children()) == 0 })
	}
	zombies := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, _ := os.ReadFile(f)
		if fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(fields) > 1 && fields[0] == "Z" && fields[1] == strconv.Itoa(pid) {
			zombies++
		}
	}
	if zombies != 0 {
		t.Errorf("%d zombies whose parent is lockpipe", zombies)
	}
	lockpipe(t, nil, "write", "-p", p)
	if st := u.status(t); st != 0 {
		t.Errorf("read as PID 1: status %d", st)
	}
}

// TestTimeout checks --timeout in every form, that 0 and infinity wait, and that a rendezvous in time is success.
func TestTimeout(t *testing.T) {
	binaries(t, func(t *testing.T, b string) {
		p := pipePath(t)
		expired := []struct {
			env  []string
			args []string
			says string
		}{
			{nil, []string{"read", "-t", "200ms"}, "timed out after 200ms while reading from pipe at"},
			{nil, []string{"write", "--timeout=0.2"}, "timed out after 200ms while writing to pipe at"},
			{[]string{"LOCKPIPE_TIMEOUT=1"}, []string{"r"}, "timed out after 1s while reading from pipe at"},
			{[]string{"LOCKPIPE_TIMEOUT=1h"}, []string{"w", "-t", "0.05"}, "timed out after 50ms while writing to pipe at"},
		}
		for _, c := range expired {
			st, _, stderr := lockpipeWith(t, b, c.env, append(c.args, "-p", p)...)
			if st != 110 || !strings.HasSuffix(stderr, fmt.Sprintf("[WARN  lockpipes] %s %q\n", c.says, p)) {
				t.Errorf("%v %v: status %d, stderr %q", c.env, c.args, st, stderr)
			}
			if !isPipe(p) {
				t.Fatal("a timeout removed the pipe")
			}
		}
		for _, forever := range []string{"0", "infinity", "0s"} {
			r := spawnWith(t, b, []string{"LOCKPIPE_TIMEOUT=" + forever}, "read", "-p", p)
			blocked(t, r.pid())
			time.Sleep(100 * time.Millisecond) // longer than any timeout above: 0 must not mean "at once"
			if !r.running() {
				t.Fatalf("timeout %s: reader ended with %d", forever, r.status(t))
			}
			lockpipe(t, nil, "write", "-p", p)
			if st := r.status(t); st != 0 {
				t.Errorf("timeout %s: status %d", forever, st)
			}
		}
		w := spawnWith(t, b, nil, "write", "-t", "1h", "-p", p)
		blocked(t, w.pid())
		if st, _, _ := lockpipeWith(t, b, nil, "read", "--timeout", "90s", "-p", p); st != 0 || w.status(t) != 0 {
			t.Errorf("a rendezvous within the timeout: read %d, write %d", st, w.status(t))
		}
	})
}

// TestBadPaths runs every command against paths that cannot work and checks
// the status, the ERROR line naming path and cause, and that nothing appeared.
func TestBadPaths(t *testing.T) {
	type want struct {
		status int
		says   string // in the last line of stderr
	}
	cmds := []string{"create", "exists", "read", "write", "delete"}
	cases := []struct {
		name  string
		setup func(t *testing.T) string
		want  map[string]want // by command; "*" for the rest
	}{
		{"missing parent", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "pipe") },
			map[string]want{"*": {2, "cannot create pipe at %q: no such file or directory (a directory on the path is missing)"},
				"exists": {1, "[INFO  lockpipes] pipe does not exist at %q"}, "delete": {0, "[WARN  lockpipes] pipe does not exist at %q"}}},
		{"through a file", func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "file")
			os.WriteFile(f, []byte("data"), 0o644)
			return filepath.Join(f, "pipe")
		}, map[string]want{"*": {20, "cannot check %q: not a directory"}, "create": {20, "cannot create pipe at %q: not a directory"}}},
		{"symlink loop", func(t *testing.T) string {
			d := t.TempDir()
			os.Symlink(filepath.Join(d, "b"), filepath.Join(d, "a"))
			os.Symlink(filepath.Join(d, "a"), filepath.Join(d, "b"))
			return filepath.Join(d, "a")
		}, map[string]want{"*": {40, "cannot check %q: too many levels of symbolic links"}}},
		{"name too long", func(t *testing.T) string { return filepath.Join(t.TempDir(), strings.Repeat("n", 300)) },
			map[string]want{"*": {36, "cannot check %q: file name too long"}, "create": {36, "cannot create pipe at %q: file name too long"}}},
		{"dangling symlink", func(t *testing.T) string {
			d := t.TempDir()
			os.Symlink(filepath.Join(d, "nowhere"), filepath.Join(d, "link"))
			return filepath.Join(d, "link")
		}, map[string]want{"*": {17, "found a dangling symbolic link at %q, not a named pipe; leaving it untouched"},
			"exists": {1, "[INFO  lockpipes] pipe does not exist at %q"}, "delete": {0, "[WARN  lockpipes] pipe does not exist at %q"}}},
	}
	for _, c := range cases {
		for _, cmd := range cmds {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				p := c.setup(t)
				w, ok := c.want[cmd]
				if !ok {
					w = c.want["*"]
				}
				checkBad(t, nil, p, w.status, w.says, bin, cmd, "-p", p)
			})
		}
	}
}

// checkBad runs argv and checks its status, that stderr ends with says (path filled in), and that p did not change.
func checkBad(t *testing.T, cred *syscall.Credential, p string, status int, says string, argv ...string) {
	t.Helper()
	before := snapshot(t, p)
	c := newChild([]string{"LOCKPIPE_TIMEOUT=" + bound.String()}, argv...)
	if cred != nil {
		c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	st := c.start(t).status(t)
	stderr := c.stderr.String()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if want := fmt.Sprintf(says, p); st != status || !strings.HasSuffix(last, want) {
		t.Errorf("status %d, stderr %q; want %d and a last line ending %q", st, stderr, status, want)
	}
	if status != 0 && !strings.HasPrefix(says, "[") && !strings.HasPrefix(last, "[ERROR lockpipes] ") {
		t.Errorf("no ERROR line: %q", stderr)
	}
	if after := snapshot(t, p); after != before {
		t.Errorf("%s changed:\n%s\nbecame:\n%s", p, before, after)
	}
}

// TestPermissionDenied runs lockpipe as uid 65534 against root's directories and pipes.
func TestPermissionDenied(t *testing.T) {
	needRoot(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	open := func(t *testing.T) string { // a root-owned directory anyone may enter but not write
		d := t.TempDir()
		for _, x := range []string{filepath.Dir(d), d} {
			os.Chmod(x, 0o755)
		}
		return d
	}
	for _, cmd := range []string{"create", "read", "write"} {
		t.Run("create in "+cmd, func(t *testing.T) {
			p := filepath.Join(open(t), "pipe")
			checkBad(t, nobody, p, 13, "cannot create pipe at %q: permission denied", bin, cmd, "-p", p)
		})
	}
	for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
		t.Run("locked directory "+cmd, func(t *testing.T) {
			locked := filepath.Join(open(t), "locked")
			os.Mkdir(locked, 0o700)
			p := filepath.Join(locked, "pipe")
			syscall.Mkfifo(p, 0o600)
			want := "cannot check %q: permission denied"
			if cmd == "create" {
				want = "cannot create pipe at %q: permission denied"
			}
			checkBad(t, nobody, p, 13, want, bin, cmd, "-p", p)
		})
	}
	for _, cmd := range []string{"read", "write", "delete"} {
		t.Run("root's pipe "+cmd, func(t *testing.T) {
			p := filepath.Join(open(t), "pipe")
			syscall.Mkfifo(p, 0o600)
			want := "cannot open pipe at %q: permission denied"
			if cmd == "delete" {
				want = "cannot open pipe to release its waiters at %q: permission denied"
			}
			checkBad(t, nobody, p, 13, want, bin, cmd, "-p", p)
			if !isPipe(p) {
				t.Error("the pipe is gone")
			}
		})
	}
}

// TestReadOnlyFilesystem runs lockpipe in a directory bind-mounted read-only in a private mount namespace.
func TestReadOnlyFilesystem(t *testing.T) {
	needRoot(t, "unshare", "mount")
	cases := []struct {
		cmd, existing string
		status        int
		says          string
	}{
		{"create", "", 30, "cannot create pipe at %q: read-only file system"},
		{"read", "", 30, "cannot create pipe at %q: read-only file system"},
		{"write", "", 30, "cannot create pipe at %q: read-only file system"},
		{"exists", "", 1, "[INFO  lockpipes] pipe does not exist at %q"},
		{"delete", "", 0, "[WARN  lockpipes] pipe does not exist at %q"},
		{"delete", "pipe", 30, "cannot delete pipe at %q: read-only file system"},
		{"exists", "pipe", 0, "[INFO  lockpipes] pipe exists at %q"},
	}
	for _, c := range cases {
		t.Run(c.cmd+"/"+c.existing, func(t *testing.T) {
			d := t.TempDir()
			p := filepath.Join(d, "pipe")
			if c.existing != "" {
				syscall.Mkfifo(p, 0o600)
			}
			checkBad(t, nil, p, c.status, c.says, "unshare", "--mount", "/bin/sh", "-c",
				"mount --bind -o ro \"$1\" \"$1\" && exec \"$2\" \"$3\" -p \"$4\"", "sh", d, bin, c.cmd, p)
		})
	}
}

// startAll starts n copies of lockpipe with args at once and returns them.
func startAll(t *testing.T, n int, args ...string) []*child {
	cs := make([]*child, n)
	for i := range cs {
		cs[i] = newChild(nil, append([]string{bin}, args...)...)
	}
	for _, c := range cs {
		c.start(t)
	}
	return cs
}

// leftBehind lists the lockpipe processes still in the process table.
func leftBehind() []string {
	var pids []string
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, e := range exes {
		if target, _ := os.Readlink(e); target == bin {
			pids = append(pids, filepath.Base(filepath.Dir(e)))
		}
	}
	return pids
}

// TestConcurrentCreate runs 50 creates on one fresh path at once: all succeed and one pipe is left.
func TestConcurrentCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	for i, c := range startAll(t, 50, "create", "-m", "0640", "-p", p) {
		if st := c.status(t); st != 0 {
			t.Errorf("create %d: status %d, %q", i, st, c.stderr.String())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !isPipe(p) {
		t.Errorf("%d entries, pipe there %v", len(entries), isPipe(p))
	}
}

// TestManyRacingWaiters starts 50 readers (then 50 writers) at once on a path
// that does not exist yet, releases them with one partner, and checks nothing is left.
func TestManyRacingWaiters(t *testing.T) {
	needNative(t)
	for round := 0; round < 3; round++ {
		for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
			p := pipePath(t)
			waiters := startAll(t, 50, side[0], "-p", p)
			for _, c := range waiters {
				blocked(t, c.pid())
			}
			if st, _, stderr := lockpipe(t, nil, side[1], "-p", p); st != 0 {
				t.Fatalf("%s: %d %q", side[1], st, stderr)
			}
			for i, c := range waiters {
				if st := c.status(t); st != 0 {
					t.Errorf("round %d %s %d: status %d %q", round, side[0], i, st, c.stderr.String())
				}
			}
			if left := leftBehind(); len(left) != 0 {
				t.Fatalf("lockpipe processes left behind: %v", left)
			}
		}
	}
}

// TestDeleteRace deletes the pipe while more waiters arrive: those waiting are
// released, and latecomers wait on a fresh pipe that one partner releases.
func TestDeleteRace(t *testing.T) {
	for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
		t.Run(side[0], func(t *testing.T) {
			p := pipePath(t)
			early := startAll(t, 20, side[0], "-p", p)
			for _, c := range early {
				blocked(t, c.pid())
			}
			late := startAll(t, 20, side[0], "-p", p)
			if st, _, stderr := lockpipe(t, nil, "delete", "-p", p); st != 0 {
				t.Fatalf("delete: %d %q", st, stderr)
			}
			for i, c := range early {
				if st := c.status(t); st != 0 {
					t.Errorf("early %d: %d", i, st)
				}
			}
			// Each latecomer is done (released by the delete), waits on the fresh
			// pipe at the path, or holds the deleted pipe, from which the removal
			// check releases it within 2 s.
			var stay []*child
			for _, c := range late {
				waitFor(t, "latecomer done or waiting", func() bool {
					waits, _ := waiting(c.pid())
					return waits || !c.running()
				})
				if c.running() && !holdsDeleted(c.pid()) {
					stay = append(stay, c)
				}
			}
			if len(stay) > 0 {
				if st, _, stderr := lockpipe(t, nil, side[1], "-p", p); st != 0 {
					t.Fatalf("%s: %d %q", side[1], st, stderr)
				}
			}
			for i, c := range late {
				if st := c.status(t); st != 0 {
					t.Errorf("late %d: %d %q", i, st, c.stderr.String())
				}
			}
			t.Logf("%d latecomers waited on the fresh pipe", len(stay))
		})
	}
}

// holdsDeleted reports whether pid holds a descriptor on a file that has been removed.
func holdsDeleted(pid int) bool {
	links, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, l := range links {
		if target, _ := os.Readlink(l); strings.HasSuffix(target, " (deleted)") {
			return true
		}
	}
	return false
}

// TestTimeoutAtDeadline brings a writer at a reader's deadline, many times.
// Whatever the reader reports must be true: 0 only if the writer was released,
// 110 only if no writer was, so that the writer is still waiting; never a hang.
func TestTimeoutAtDeadline(t *testing.T) {
	for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
		outcomes := map[int]int{}
		for i := 0; i < 40; i++ {
			p := pipePath(t)
			lockpipe(t, nil, "create", "-p", p)
			r := spawn(t, nil, side[0], "-t", "50ms", "-p", p)
			blocked(t, r.pid())
			// Not synchronisation: the partner's start is swept across the deadline on purpose.
			time.Sleep(time.Duration(30+i) * time.Millisecond)
			w := spawn(t, nil, side[1], "-p", p)
			st := r.status(t)
			outcomes[st]++
			switch st {
			case 0:
				if wst := w.status(t); wst != 0 {
					t.Errorf("%s round %d: succeeded but the partner ended %d", side[0], i, wst)
				}
			case 110:
				blocked(t, w.pid()) // fails if the partner was released and exited
				if st, _, _ := lockpipe(t, nil, side[0], "-p", p); st != 0 || w.status(t) != 0 {
					t.Errorf("%s round %d: releasing the waiting partner failed", side[0], i)
				}
			default:
				t.Errorf("%s round %d: ended %d: %q", side[0], i, st, r.stderr.String())
			}
		}
		t.Logf("%s --timeout outcomes by status: %v", side[0], outcomes)
		if outcomes[110] == 0 {
			t.Errorf("%s: no round timed out: %v", side[0], outcomes)
		}
	}
}

// TestRunsAloneInChroot copies the static binary alone into an empty root and uses every command there.
func TestRunsAloneInChroot(t *testing.T) {
	needRoot(t, "chroot")
	root := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "lockpipe"), data, 0o755)
	os.Mkdir(filepath.Join(root, "run"), 0o755)
	in := func(args ...string) *child {
		return newChild(nil, append([]string{"chroot", root, "/lockpipe"}, args...)...).start(t)
	}
	expect := func(c *child, status int, stdout string) {
		t.Helper()
		if st := c.status(t); st != status || (stdout != "" && c.stdout.String() != stdout) {
			t.Errorf("%v: status %d, stdout %q, stderr %q", c.cmd.Args, st, c.stdout.String(), c.stderr.String())
		}
	}
	expect(in("create"), 0, "")
	expect(in("exists"), 0, "")
	if !isPipe(filepath.Join(root, "run", "forever")) {
		t.Fatal("no pipe at /run/forever inside the root")
	}
	r := in("read")
	blocked(t, r.pid())
	expect(in("write"), 0, "")
	expect(r, 0, "")
	expect(in("delete"), 0, "")
	expect(in("exists"), 1, "")
	v := in("--version")
	expect(v, 0, "")
	if !strings.HasPrefix(v.stdout.String(), "lockpipe ") {
		t.Errorf("--version printed %q", v.stdout.String())
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 2 {
		t.Errorf("the root holds %d entries, want lockpipe and run", len(entries))
	}
}

// TestStaticBinary checks the release build has no program interpreter, so it needs no libc.
func TestStaticBinary(t *testing.T) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has a PT_INTERP header: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("imports %v", libs)
	}
}

// Benchmarks. They run the real binaries as processes and report medians
// with b.ReportMetric; rivals run interleaved with lockpipe in the same loop
// so that their ratios hold on any machine. Run them with
//
//	go test -run '^$' -bench . -benchtime 200x

// floorOnce builds testdata/floor.go.txt, the Go floor, once per run.
var floorOnce struct {
	sync.Once
	path string
	err  error
}

// floorBinary returns the built Go floor program.
func floorBinary(b *testing.B) string {
	floorOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lockpipe-floor-")
		if err != nil {
			floorOnce.err = err
			return
		}
		src, err := os.ReadFile("testdata/floor.go.txt")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.22\n"), 0o644)
		}
		if err != nil {
			floorOnce.err = err
			return
		}
		floorOnce.path = filepath.Join(dir, "floor")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", floorOnce.path, ".")
		build.Dir = dir
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			floorOnce.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if floorOnce.err != nil {
		b.Fatal(floorOnce.err)
	}
	return floorOnce.path
}

// rival is one way to wait on a named pipe: the argv for each role.
type rival struct {
	name                  string
	reader, writer, check func(p string) []string
}

// rivals returns lockpipe, the shell idiom and the Go floor.
func rivals(b *testing.B) []rival {
	floor := floorBinary(b)
	return []rival{
		{"lockpipe",
			func(p string) []string { return []string{bin, "read", "-p", p} },
			func(p string) []string { return []string{bin, "write", "-p", p} },
			func(p string) []string { return []string{bin, "exists", "-p", p} }},
		{"shell",
			func(p string) []string { return []string{"cat", p} }, // standard output is /dev/null
			func(p string) []string { return []string{"/bin/sh", "-c", `: > "$0"`, p} },
			func(p string) []string { return []string{"/usr/bin/test", "-p", p} }},
		{"floor",
			func(p string) []string { return []string{floor, "read", p} },
			func(p string) []string { return []string{floor, "write", p} },
			func(p string) []string { return []string{floor, "exists", p} }},
	}
}

// median returns the middle of xs.
func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// micros returns d in microseconds.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// runOK runs argv to the end, failing the benchmark unless it exits 0.
func runOK(b *testing.B, argv []string) {
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		b.Fatalf("%v: %v %s", argv, err, out)
	}
}

// interleave measures every rival in turn, b.N rounds, on one pipe, and
// reports each one's median and its ratio to the Go floor.
func interleave(b *testing.B, unit string, measure func(r rival, p string) float64) {
	rs := rivals(b)
	p := filepath.Join(b.TempDir(), "pipe")
	syscall.Mkfifo(p, 0o600)
	xs := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range rs {
			xs[r.name] = append(xs[r.name], measure(r, p))
		}
	}
	floor := median(xs["floor"])
	for _, r := range rs {
		m := median(xs[r.name])
		b.ReportMetric(m, r.name+"-"+unit)
		if r.name != "floor" {
			b.ReportMetric(m/floor, r.name+"/floor")
		}
	}
}

// BenchmarkWake measures from starting a writer to the waiting reader having exited.
func BenchmarkWake(b *testing.B) {
	interleave(b, "µs", func(r rival, p string) float64 {
		reader := newChild(nil, r.reader(p)...).start(b)
		blocked(b, reader.pid())
		t0 := time.Now()
		runOK(b, r.writer(p))
		if st := reader.status(b); st != 0 {
			b.Fatalf("%s reader: %d", r.name, st)
		}
		return micros(time.Since(t0))
	})
}

// BenchmarkStartup measures one existence check of an existing pipe, start to exit.
func BenchmarkStartup(b *testing.B) {
	interleave(b, "µs", func(r rival, p string) float64 {
		t0 := time.Now()
		runOK(b, r.check(p))
		return micros(time.Since(t0))
	})
}

// BenchmarkMemory measures the resident memory (VmRSS) of a waiting reader.
func BenchmarkMemory(b *testing.B) {
	interleave(b, "kB", func(r rival, p string) float64 {
		reader := newChild(nil, r.reader(p)...).start(b)
		blocked(b, reader.pid())
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", reader.pid()))
		if err != nil {
			b.Fatal(err)
		}
		var kb float64
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				kb, _ = strconv.ParseFloat(strings.Fields(l)[1], 64)
			}
		}
		runOK(b, r.writer(p))
		reader.status(b)
		return kb
	})
}

// BenchmarkBroadcast measures one write releasing n waiting readers, all
// exited, for lockpipe and for the Go floor: process teardown dominates.
func BenchmarkBroadcast(b *testing.B) {
	for _, r := range rivals(b) {
		if r.name == "shell" {
			continue
		}
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/%d", r.name, n), func(b *testing.B) {
				p := filepath.Join(b.TempDir(), "pipe")
				syscall.Mkfifo(p, 0o600)
				var xs []float64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					readers := make([]*child, n)
					for j := range readers {
						readers[j] = newChild(nil, r.reader(p)...).start(b)
					}
					for _, c := range readers {
						blocked(b, c.pid())
					}
					b.StartTimer()
					t0 := time.Now()
					runOK(b, r.writer(p))
					for _, c := range readers {
						if st := c.status(b); st != 0 {
							b.Fatalf("reader: %d", st)
						}
					}
					xs = append(xs, micros(time.Since(t0)))
				}
				m := median(xs)
				b.ReportMetric(m/1000, "ms-all")
				b.ReportMetric(m/float64(n), "µs/reader")
			})
		}
	}
}

// BenchmarkSignalExit measures from SIGTERM to a waiting lockpipe read having
// exited, as a normal process and as PID 1, and shows that sleep as PID 1 ignores SIGTERM.
func BenchmarkSignalExit(b *testing.B) {
	// timeToExit starts a waiting reader with start, then times SIGTERM to its exit.
	timeToExit := func(b *testing.B, start func(p string) (*child, int)) {
		p := filepath.Join(b.TempDir(), "pipe")
		var xs []float64
		for i := 0; i < b.N; i++ {
			c, pid := start(p)
			blocked(b, pid)
			t0 := time.Now()
			syscall.Kill(pid, syscall.SIGTERM)
			if st := c.status(b); st != 143 {
				b.Fatalf("status %d", st)
			}
			xs = append(xs, micros(time.Since(t0)))
		}
		b.ReportMetric(median(xs), "µs-to-exit")
	}
	b.Run("process", func(b *testing.B) {
		timeToExit(b, func(p string) (*child, int) {
			c := spawn(b, nil, "read", "-p", p)
			return c, c.pid()
		})
	})
	b.Run("pid1", func(b *testing.B) {
		timeToExit(b, func(p string) (*child, int) { return asPID1(b, "read", "-p", p) })
	})
	b.Run("sleep-pid1", func(b *testing.B) {
		needRoot(b, "unshare")
		alive := 0
		for i := 0; i < b.N; i++ {
			u := newChild(nil, "unshare", "--pid", "--fork", "--kill-child", "sleep", "3600").start(b)
			var pid int
			waitFor(b, "sleep started", func() bool {
				s, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", u.pid(), u.pid()))
				pid, _ = strconv.Atoi(strings.TrimSpace(string(s)))
				exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				return pid > 0 && strings.HasSuffix(exe, "/sleep")
			})
			syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-u.done:
			case <-time.After(time.Second):
				alive++
			}
			u.cmd.Process.Kill()
		}
		b.ReportMetric(float64(alive)/float64(b.N), "alive-1s-after-SIGTERM")
	})
}

// blockAndExec runs argv with SIGALRM blocked, as a parent that uses signalfd leaves it.
func blockAndExec(argv []string) {
	runtime.LockOSThread()
	set := sigset{1 << (syscall.SIGALRM - 1)}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 0, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "blocking SIGALRM:", e)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "exec:", syscall.Exec(argv[0], argv, os.Environ()))
	os.Exit(1)
}

// statusField returns a field of /proc/PID/status as a number in base (16 for signal masks).
func statusField(t testing.TB, pid int, field string, base int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":\t"); ok {
			n, _ := strconv.ParseUint(v, base, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestTimeoutWithSIGALRMBlocked checks that --timeout works whatever signal mask lockpipe inherits.
func TestTimeoutWithSIGALRMBlocked(t *testing.T) {
	needNative(t)
	for _, cmd := range []string{"read", "write"} {
		p := pipePath(t)
		c := newChild([]string{"LOCKPIPE_TEST_BLOCK_SIGALRM=" + strings.Join([]string{bin, cmd, "-t", "200ms", "-p", p}, "\x1f")}, os.Args[0]).start(t)
		waitFor(t, "lockpipe started with SIGALRM blocked", func() bool {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.pid()))
			return exe == bin
		})
		if blk := statusField(t, c.pid(), "SigBlk", 16); blk&(1<<(syscall.SIGALRM-1)) == 0 {
			t.Fatalf("SIGALRM not blocked at start: %x", blk)
		}
		if st := c.status(t); st != 110 {
			t.Errorf("%s: status %d, stderr %q", cmd, st, c.stderr.String())
		}
	}
}

// TestAnonymousPipe checks that a pipe reached through /proc/PID/fd is refused and its data left alone.
func TestAnonymousPipe(t *testing.T) {
	for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
		r, w, err := os.Pipe()
		must(t, err)
		w.WriteString("a\nb\n")
		w.Close()
		c := newChild(nil, bin, cmd, "-p", "/proc/self/fd/0")
		c.cmd.Stdin = r
		st := c.start(t).status(t)
		rest, _ := io.ReadAll(r)
		r.Close()
		if st != 17 || string(rest) != "a\nb\n" || !strings.Contains(c.stderr.String(), "anonymous pipe") {
			t.Errorf("%s: status %d, left %q, stderr %q", cmd, st, rest, c.stderr.String())
		}
	}
}

// TestGhostRelease checks that a waiter whose pipe leaves its path is released within 2 s, with one INFO line.
func TestGhostRelease(t *testing.T) {
	binaries(t, func(t *testing.T, b string) {
		ways := map[string]func(p string){
			"rm":           func(p string) { must(t, os.Remove(p)) },
			"rename over":  func(p string) { must(t, os.WriteFile(p+".new", []byte("x"), 0o644)); must(t, os.Rename(p+".new", p)) },
			"rename away":  func(p string) { must(t, os.Rename(p, p+".away")) },
			"new pipe too": func(p string) { must(t, os.Remove(p)); must(t, syscall.Mkfifo(p, 0o600)) },
		}
		for name, remove := range ways {
			for _, cmd := range []string{"read", "write"} {
				t.Run(name+"/"+cmd, func(t *testing.T) {
					p := pipePath(t)
					c := spawnWith(t, b, nil, cmd, "-p", p)
					blocked(t, c.pid())
					t0 := time.Now()
					remove(p)
					if st := c.status(t); st != 0 {
						t.Errorf("status %d, stderr %q", st, c.stderr.String())
					}
					doing := map[string]string{"read": "reading from", "write": "writing to"}[cmd]
					if want := fmt.Sprintf("[INFO  lockpipes] pipe removed while %s pipe at %q; nothing left to wait for\n", doing, p); !strings.HasSuffix(c.stderr.String(), want) {
						t.Errorf("stderr %q, want it to end with %q", c.stderr.String(), want)
					}
					t.Logf("released %v after the removal", time.Since(t0).Round(time.Millisecond))
				})
			}
		}
	})
}

// TestPID1SignalStorms checks SIGTERM to lockpipe as PID 1 during its start-up, and while thousands of orphans exit.
func TestPID1SignalStorms(t *testing.T) {
	needNative(t)
	needRoot(t, "unshare", "nsenter")
	// SIGTERM to lockpipe as PID 1 while its own start-up is held (strace delays
	// its first look at the path, after parsing): what the kernel or Go's
	// runtime does before lockpipe's code runs is theirs, the rest is lockpipe's.
	if _, err := exec.LookPath("strace"); err == nil {
		for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
			p := pipePath(t)
			log := p + ".strace"
			u := newChild(nil, "strace", "-f", "-qq", "-o", log, "-P", p, "-e", "inject=openat,mknodat:delay_enter=3000000:when=1",
				"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin, cmd, "-p", p).start(t)
			waitFor(t, "lockpipe held in its start-up", func() bool {
				b, _ := os.ReadFile(log)
				return strings.Contains(string(b), "openat(") || strings.Contains(string(b), "mknodat(")
			})
			syscall.Kill(tracedLockpipe(t), syscall.SIGTERM)
			if st := u.status(t); st != 143 || !strings.HasPrefix(u.stderr.String(), "[INFO  lockpipes] received SIGTERM while ") {
				t.Errorf("%s: status %d, stderr %q", cmd, st, u.stderr.String())
			}
		}
	}
	for round := 0; round < 3; round++ {
		p := pipePath(t)
		u, pid := asPID1(t, "read", "-p", p)
		blocked(t, pid)
		storm := newChild(nil, "nsenter", "--target", strconv.Itoa(pid), "--pid", "--", "/bin/sh", "-c",
			"i=0; while [ $i -lt 2000 ]; do /bin/true & i=$((i+1)); done; exit 0").start(t)
		waitFor(t, "orphans arriving", func() bool {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
			return len(b) > 0 || !storm.running()
		})
		syscall.Kill(pid, syscall.SIGTERM)
		if st := u.status(t); st != 143 {
			t.Fatalf("round %d: status %d, stderr %q", round, st, u.stderr.String())
		}
		storm.cmd.Process.Kill()
	}
}

// tracedLockpipe finds the host PID of the lockpipe that runs as PID 1 under unshare, traced by strace.
func tracedLockpipe(t *testing.T) int {
	var found int
	waitFor(t, "lockpipe under strace", func() bool {
		exes, _ := filepath.Glob("/proc/[0-9]*/exe")
		for _, e := range exes {
			if target, _ := os.Readlink(e); target == bin {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(e)))
				ppid := int(statusField(t, pid, "PPid", 10))
				if parent, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", ppid)); strings.HasSuffix(parent, "/unshare") {
					found = pid
					return true
				}
			}
		}
		return false
	})
	return found
}

// TestVanishingPipe checks the message when the pipe is gone each time lockpipe comes to hold it.
func TestVanishingPipe(t *testing.T) {
	needRoot(t, "strace")
	p := pipePath(t)
	c := newChild(nil, "strace", "-f", "-qq", "-o", "/dev/null", "-P", p, "-e", "inject=openat:error=ENOENT", bin, "read", "-p", p).start(t)
	if st := c.status(t); st != 11 || !strings.Contains(c.stderr.String(), "something keeps removing it (resource temporarily unavailable)") {
		t.Errorf("status %d, stderr %q", st, c.stderr.String())
	}
}

// TestNoNamedPipesHere checks the message on a file system that cannot hold named pipes.
func TestNoNamedPipesHere(t *testing.T) {
	needRoot(t)
	p := "/sys/kernel/lockpipe-test"
	st, _, stderr := lockpipe(t, nil, "create", "-p", p)
	if st != 95 || !strings.Contains(stderr, "does not support named pipes") {
		t.Errorf("status %d, stderr %q", st, stderr)
	}
}

// TestSwapUnderneath swaps an intruder in at the path while strace holds
// lockpipe's look at it, for every command. Whatever is swapped in is never
// opened for reading or writing, waited on, truncated or unlinked.
func TestSwapUnderneath(t *testing.T) {
	needRoot(t, "strace")
	intruders := map[string]func(t *testing.T, p string){
		"file": func(t *testing.T, p string) { must(t, os.WriteFile(p, []byte("precious data\n"), 0o644)) },
		"dir": func(t *testing.T, p string) {
			must(t, os.Mkdir(p, 0o755))
			must(t, os.WriteFile(p+"/keep", []byte("keep"), 0o644))
		},
		"chardev": func(t *testing.T, p string) { must(t, syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3)) },
	}
	type hold struct{ cmd, syscall string }
	var holds []hold
	for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
		holds = append(holds, hold{cmd, "openat"})
	}
	holds = append(holds, hold{"delete", "renameat"})
	for name, make := range intruders {
		for _, h := range holds {
			name, make, h := name, make, h
			t.Run(name+"/"+h.cmd+"/"+h.syscall, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				p, intruder, log := dir+"/pipe", dir+"/intruder", dir+"/strace.log"
				must(t, syscall.Mkfifo(p, 0o600))
				make(t, intruder)
				c := newChild([]string{"LOCKPIPE_TIMEOUT=5s"}, "strace", "-f", "-qq", "-o", log, "-P", p,
					"-e", "inject="+h.syscall+":delay_enter=1500000:when=1", "-e", "trace=%file,%desc",
					bin, h.cmd, "-p", p).start(t)
				entry := h.syscall + "(" // the held call, printed as it starts
				waitFor(t, "lockpipe held in "+h.syscall, func() bool {
					b, _ := os.ReadFile(log)
					return strings.Contains(string(b), entry) && c.running()
				})
				must(t, os.Rename(p, p+".away"))
				must(t, os.Rename(intruder, p))
				// delete's guard may move the intruder away and back: its ctime may change, nothing else.
				unchanged := func() string { return regexp.MustCompile(` ctime=\d+`).ReplaceAllString(snapshot(t, p), "") }
				before := unchanged()
				st := c.status(t)
				if st != 17 && st != 0 {
					t.Errorf("status %d, stderr %q", st, c.stderr.String())
				}
				if after := unchanged(); after != before {
					t.Errorf("the intruder changed:\n%s\nbecame:\n%s", before, after)
				}
				b, _ := os.ReadFile(log)
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, `"`+p+`"`) && (strings.Contains(l, "openat(") && !strings.Contains(l, "O_PATH") ||
						strings.Contains(l, "unlink") && !strings.Contains(l, "= -1")) {
						t.Errorf("touched the path: %s", l)
					}
				}
			})
		}
	}
}

// release runs the partner of a waiting child c on p once c is blocked.
func release(t *testing.T, c *child, pid int, partner, p string) {
	t.Helper()
	blocked(t, pid)
	if st, _, stderr := lockpipe(t, nil, partner, "-p", p); st != 0 {
		t.Fatalf("%s: %d %q", partner, st, stderr)
	}
}

// inheritedFDs lists, in numeric order, the descriptors a child of this test starts
// with: 0, 1, 2 and whatever this process holds without close-on-exec.
func inheritedFDs(t *testing.T) string {
	fds := []int{0, 1, 2}
	entries, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	for _, e := range entries {
		n, _ := strconv.Atoi(e.Name())
		b, _ := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "flags:\t"); ok {
				if flags, _ := strconv.ParseUint(v, 8, 64); flags&syscall.O_CLOEXEC == 0 && n > 2 {
					fds = append(fds, n)
				}
			}
		}
	}
	sort.Ints(fds)
	var list string
	for _, n := range fds {
		list += strconv.Itoa(n) + " "
	}
	return list
}

// TestRunCommand checks that read and write become CMD once released, and only then.
func TestRunCommand(t *testing.T) {
	// CMD reports its PID, descriptors, signal state and directory, as the process it became,
	// with builtins only: dash blocks every signal around each vfork and holds pipe ends
	// while a pipeline starts, so a child reading /proc/$$ would see the shell's state, not lockpipe's.
	report := `echo "$$ $*"; n=0; while [ $n -lt 1024 ]; do [ -h /proc/$$/fd/$n ] && printf '%s ' $n; n=$((n+1)); done; echo
		while read -r l; do case $l in SigBlk*|SigIgn*) echo "$l";; esac; done </proc/$$/status; pwd`
	for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
		t.Run(side[0], func(t *testing.T) {
			p := pipePath(t)
			dir := t.TempDir()
			c := newChild([]string{"X=kept"}, bin, side[0], "-p", p, "--", "/bin/sh", "-c", report+`; echo "X=$X"; exit 3`, "sh", "-p", "x", "--timeout", "y")
			c.cmd.Dir = dir
			c.start(t)
			release(t, c, c.pid(), side[1], p)
			if st := c.status(t); st != 3 {
				t.Fatalf("status %d, stderr %q", st, c.stderr.String())
			}
			want := fmt.Sprintf("%d -p x --timeout y\n%s\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n%s\nX=kept\n", c.pid(), inheritedFDs(t), dir)
			if c.stdout.String() != want {
				t.Errorf("CMD printed:\n%s\nwant:\n%s", c.stdout.String(), want)
			}
		})
	}
	t.Run("ignored signals stay ignored", func(t *testing.T) {
		p := pipePath(t)
		c := newChild(nil, "/bin/sh", "-c", `trap "" HUP INT; exec "$0" read -p "$1" -- /bin/sh -c 'grep "^SigIgn" /proc/$$/status'`, bin, p).start(t)
		release(t, c, c.pid(), "write", p)
		if st := c.status(t); st != 0 || c.stdout.String() != "SigIgn:\t0000000000000003\n" {
			t.Errorf("status %d, stdout %q", st, c.stdout.String())
		}
	})
	t.Run("looked up when released", func(t *testing.T) {
		p, bindir := pipePath(t), t.TempDir()
		c := newChild([]string{"PATH=" + bindir}, bin, "read", "-p", p, "--", "late-tool").start(t)
		blocked(t, c.pid())
		must(t, os.WriteFile(filepath.Join(bindir, "late-tool"), []byte("#!/bin/sh\necho installed while waiting\n"), 0o755))
		release(t, c, c.pid(), "write", p)
		if st := c.status(t); st != 0 || c.stdout.String() != "installed while waiting\n" {
			t.Errorf("status %d, stdout %q, stderr %q", st, c.stdout.String(), c.stderr.String())
		}
	})
	bad := t.TempDir()
	must(t, os.WriteFile(filepath.Join(bad, "text"), []byte("no interpreter line\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(bad, "private"), []byte("#!/bin/sh\n"), 0o644))
	for _, r := range []struct {
		name, cmd string
		status    int
		says      string
	}{
		{"not found", "no-such-tool", 127, `cannot run "no-such-tool": not found in PATH`},
		{"no such file", bad + "/missing", 127, "no such file or directory"},
		{"not executable", bad + "/private", 126, "permission denied"},
		{"no interpreter", bad + "/text", 126, "exec format error"},
	} {
		t.Run(r.name, func(t *testing.T) {
			p := pipePath(t)
			c := spawn(t, nil, "read", "-p", p, "--", r.cmd)
			release(t, c, c.pid(), "write", p)
			if st := c.status(t); st != r.status || !strings.HasSuffix(c.stderr.String(), r.says+"\n") || !strings.Contains(c.stderr.String(), "[ERROR lockpipes] cannot run ") {
				t.Errorf("status %d, stderr %q", st, c.stderr.String())
			}
		})
	}
	t.Run("never after a timeout or a signal", func(t *testing.T) {
		p := pipePath(t)
		marker := filepath.Join(t.TempDir(), "ran")
		if st, _, _ := lockpipe(t, nil, "read", "-t", "100ms", "-p", p, "--", "/bin/touch", marker); st != 110 {
			t.Errorf("timeout: status %d", st)
		}
		c := spawn(t, nil, "write", "-p", p, "--", "/bin/touch", marker)
		blocked(t, c.pid())
		c.cmd.Process.Signal(syscall.SIGTERM)
		if st := c.status(t); st != 143 {
			t.Errorf("signal: status %d", st)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Error("CMD ran")
		}
	})
	t.Run("becomes PID 1", func(t *testing.T) {
		p := pipePath(t)
		u, pid := asPID1(t, "read", "-p", p, "--", "/bin/sh", "-c", "echo $$")
		release(t, u, pid, "write", p)
		if st := u.status(t); st != 0 || u.stdout.String() != "1\n" {
			t.Errorf("status %d, stdout %q", st, u.stdout.String())
		}
	})
}

// TestNowait checks that write --nowait releases the readers waiting now and never waits.
func TestNowait(t *testing.T) {
	p := pipePath(t)
	if st, _, stderr := lockpipe(t, nil, "write", "-n", "-p", p); st != 6 || stderr != "[WARN  lockpipes] pipe does not exist at "+strconv.Quote(p)+"; nobody to release\n" || isPipe(p) {
		t.Errorf("missing pipe: status %d, stderr %q, created %v", st, stderr, isPipe(p))
	}
	lockpipe(t, nil, "create", "-p", p)
	if st, _, stderr := lockpipe(t, nil, "write", "--nowait", "-p", p, "--", "/bin/echo", "ran"); st != 6 || !strings.HasSuffix(stderr, "[WARN  lockpipes] nobody is waiting to read from pipe at "+strconv.Quote(p)+"\n") {
		t.Errorf("nobody waiting: status %d, stderr %q", st, stderr)
	}
	readers := startAll(t, 3, "read", "-p", p)
	for _, r := range readers {
		blocked(t, r.pid())
	}
	st, stdout, _ := lockpipe(t, nil, "write", "-n", "-p", p, "--", "/bin/echo", "ran")
	if st != 0 || stdout != "ran\n" {
		t.Errorf("write -n: status %d, stdout %q", st, stdout)
	}
	for i, r := range readers {
		if st := r.status(t); st != 0 {
			t.Errorf("reader %d: %d", i, st)
		}
	}
	f := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(f, []byte("data"), 0o644))
	checkBad(t, nil, f, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "write", "-n", "-p", f)
}

// TestIfExistsLatch checks --if-exists, and the latch it makes with create and delete.
func TestIfExistsLatch(t *testing.T) {
	p := pipePath(t)
	for _, args := range [][]string{{"read", "--if-exists"}, {"write", "--if-exists"}, {"write", "--nowait", "--if-exists"}} {
		st, stdout, stderr := lockpipe(t, nil, append(args, "-p", p, "--", "/bin/echo", "passed")...)
		if st != 0 || stdout != "passed\n" || !strings.Contains(stderr, "nothing to wait for (--if-exists)") || isPipe(p) {
			t.Errorf("%v on nothing: status %d, stdout %q, stderr %q", args, st, stdout, stderr)
		}
	}
	lockpipe(t, nil, "create", "-p", p) // arm
	waiters := startAll(t, 5, "read", "--if-exists", "-p", p)
	for _, w := range waiters {
		blocked(t, w.pid())
	}
	if st, _, _ := lockpipe(t, nil, "delete", "-p", p); st != 0 { // fire
		t.Fatalf("delete: %d", st)
	}
	for i, w := range waiters {
		if st := w.status(t); st != 0 {
			t.Errorf("waiter %d: %d", i, st)
		}
	}
	if st, _, _ := lockpipe(t, nil, "read", "--if-exists", "-p", p); st != 0 || isPipe(p) {
		t.Errorf("a latecomer: status %d", st)
	}
	f := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(f, []byte("data"), 0o644))
	checkBad(t, nil, f, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "read", "--if-exists", "-p", f)
}

// TestInstallCommand checks install from a bare root with no /proc, and what it refuses.
func TestInstallCommand(t *testing.T) {
	needRoot(t, "chroot")
	root := t.TempDir()
	data, err := os.ReadFile(bin)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "lockpipe"), data, 0o755))
	must(t, os.Mkdir(filepath.Join(root, "shared"), 0o777))
	c := newChild(nil, "/bin/sh", "-c", `umask 077 && exec chroot "$0" /lockpipe install /shared`, root).start(t)
	if st := c.status(t); st != 0 || c.stderr.String() != "[INFO  lockpipes] installed lockpipe at \"/shared/lockpipe\"\n" {
		t.Fatalf("status %d, stderr %q", st, c.stderr.String())
	}
	got, _ := os.ReadFile(filepath.Join(root, "shared", "lockpipe"))
	fi, _ := os.Stat(filepath.Join(root, "shared", "lockpipe"))
	if !bytes.Equal(got, data) || fi.Mode().Perm() != 0o755 {
		t.Errorf("copy differs (%d bytes) or mode %v", len(got), fi.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "shared")); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	for _, r := range []struct {
		name   string
		make   func(p string)
		status int
	}{
		{"directory", func(p string) { must(t, os.Mkdir(p, 0o755)) }, 17},
		{"named pipe", func(p string) { must(t, syscall.Mkfifo(p, 0o600)) }, 17},
		{"symbolic link", func(p string) { must(t, os.Symlink("/etc/passwd", p)) }, 17},
	} {
		dir := t.TempDir()
		r.make(filepath.Join(dir, "lockpipe"))
		checkBad(t, nil, filepath.Join(dir, "lockpipe"), r.status, "at %q, not a regular file; leaving it untouched", bin, "install", dir)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if st, _, _ := lockpipe(t, nil, "install", missing); st != 2 {
		t.Errorf("missing dir: %d", st)
	}
}

// example is one shell example of the README marked to be run, and what it must print.
type example struct {
	line         int
	script, want string
	hasWant      bool
}

// readmeExamples extracts the README's examples marked "<!-- test: run -->",
// each with the output block marked "<!-- test: output -->" after it, if any.
func readmeExamples(t *testing.T) []example {
	b, err := os.ReadFile("README.md")
	must(t, err)
	lines := strings.Split(string(b), "\n")
	// block returns the fenced block that starts after line i, and the line after it.
	block := func(i int) (string, int) {
		for i < len(lines) && !strings.HasPrefix(lines[i], "```") {
			i++
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		return strings.Join(body, "\n") + "\n", i + 1
	}
	var out []example
	for i := 0; i < len(lines); i++ {
		switch strings.TrimSpace(lines[i]) {
		case "<!-- test: run -->":
			script, next := block(i + 1)
			out = append(out, example{line: i + 1, script: script})
			i = next - 1
		case "<!-- test: output -->":
			want, next := block(i + 1)
			out[len(out)-1].want, out[len(out)-1].hasWant = want, true
			i = next - 1
		}
	}
	return out
}

// TestREADMEExamples runs the README's marked examples as a user would copy
// them, under sh and busybox sh, each in a fresh directory holding the
// sources, with lockpipe on PATH; a "go test" line is left out.
func TestREADMEExamples(t *testing.T) {
	examples := readmeExamples(t)
	if len(examples) < 5 {
		t.Fatalf("only %d marked examples in README.md", len(examples))
	}
	shells := [][]string{{"/bin/sh", "-c"}}
	if busybox, err := exec.LookPath("busybox"); err == nil {
		shells = append(shells, []string{busybox, "sh", "-c"})
	}
	sources, _ := filepath.Glob("*.go")
	for _, ex := range examples {
		for _, sh := range shells {
			t.Run(fmt.Sprintf("line %d/%s", ex.line, filepath.Base(sh[0])), func(t *testing.T) {
				dir := t.TempDir()
				for _, f := range append(sources, "go.mod") {
					if !strings.HasSuffix(f, "_test.go") {
						data, err := os.ReadFile(f)
						must(t, err)
						must(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
					}
				}
				var script []string
				for _, l := range strings.Split(ex.script, "\n") {
					if !strings.HasPrefix(strings.TrimSpace(l), "go test") {
						script = append(script, l)
					}
				}
				c := newChild([]string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}, append(sh, strings.Join(script, "\n"))...)
				c.cmd.Dir = dir
				var out bytes.Buffer
				c.cmd.Stdout, c.cmd.Stderr = &out, &out
				if st := c.start(t).status(t); st != 0 {
					t.Errorf("README.md line %d: status %d, output:\n%s", ex.line, st, out.String())
				}
				if ex.hasWant && out.String() != ex.want {
					t.Errorf("README.md line %d printed:\n%s\nthe README says:\n%s", ex.line, out.String(), ex.want)
				}
			})
		}
	}
}
