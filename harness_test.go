package main

// The harness of the end-to-end tests: the real binary, built once, run as
// child processes on real named pipes in temporary directories, and the
// kernel's own state, polled, to know when a process waits.

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	rtdebug "runtime/debug"
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

// workDir holds what the tests build, and is removed when they end.
var workDir string

// bound is how long any single wait in a test may take before it counts as a hang.
const bound = 30 * time.Second

// TestMain builds the release binary and the race-detecting one, at once, for every test.
func TestMain(m *testing.M) {
	if argv := os.Getenv("LOCKPIPE_TEST_BLOCK_SIGALRM"); argv != "" {
		blockAndExec(strings.Split(argv, "\x1f"))
	}
	if n := os.Getenv("LOCKPIPE_TEST_INOTIFY"); n != "" {
		holdInotify(atoiBase(n))
	}
	flag.Parse()
	// Fuzz workers re-run this binary many times and never need the build.
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	// Most tests only wait on child processes: run more of them at once than there are cores.
	if p := flag.Lookup("test.parallel"); p.Value.String() == strconv.Itoa(runtime.GOMAXPROCS(0)) {
		p.Value.Set("12")
	}
	dir, err := os.MkdirTemp("", "lockpipe-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // tests run it as another user too
	workDir = dir
	bin, raceBin = filepath.Join(dir, "lockpipe"), filepath.Join(dir, "lockpipe-race")
	var wg sync.WaitGroup
	var raceErr error
	var raceOut []byte
	if foreign == "" {
		wg.Add(1)
		go func() { defer wg.Done(); raceOut, raceErr = goBuild(raceBin, []string{"CGO_ENABLED=1"}, "-race") }()
	}
	// LOCKPIPE_TEST_GOARCH builds for another architecture, which qemu-user runs through binfmt_misc.
	if out, err := goBuild(bin, []string{"GOARCH=" + foreign}, "-trimpath", "-ldflags=-s -w"); err != nil {
		fmt.Fprintf(os.Stderr, "building lockpipe: %v\n%s", err, out)
		os.Exit(1)
	}
	wg.Wait()
	if foreign != "" || raceErr != nil {
		fmt.Fprintf(os.Stderr, "no -race build, its tests will skip: %v\n%s", raceErr, raceOut)
		raceBin = ""
	}
	// LOCKPIPE_TEST_BINARY runs the tests against another build, such as an
	// older or deliberately broken one, to see that their assertions can fail.
	if other := os.Getenv("LOCKPIPE_TEST_BINARY"); other != "" {
		bin, raceBin = other, ""
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// foreign is the GOARCH the binary under test is built for, when it is not this machine's.
var foreign = os.Getenv("LOCKPIPE_TEST_GOARCH")

// inCI is set where a test that cannot run must fail instead of skipping: CI runs as root with every tool installed.
var inCI = os.Getenv("CI") == "true"

// skip skips t with the reason, or fails it under CI=true.
func skip(t testing.TB, why string) {
	t.Helper()
	if inCI {
		t.Fatal("CI=true, yet " + why)
	}
	t.Skip(why)
}

// needNative skips tests that find lockpipe through /proc/PID/exe, or need
// PID namespaces: under qemu-user the process is qemu's. CI runs them natively.
func needNative(t testing.TB) {
	t.Helper()
	if foreign != "" {
		t.Skip("under qemu-user (" + foreign + "): /proc/PID/exe names qemu, and it cannot enter PID namespaces")
	}
}

// needRoot skips t unless it runs as root with the named commands at hand.
func needRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			skip(t, "needs "+tool+": "+err.Error())
		}
	}
}

// goBuild builds lockpipe to out, static unless env says otherwise, with the flags given.
func goBuild(out string, env []string, flags ...string) ([]byte, error) {
	build := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, ".")...)
	build.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	return build.CombinedOutput()
}

// withRace runs f for the release binary, and as a second subtest for the
// -race one: for the behaviours that lockpipe's own goroutines decide.
func withRace(t *testing.T, f func(t *testing.T, bin string)) {
	t.Run("release", func(t *testing.T) { t.Parallel(); f(t, bin) })
	t.Run("race", func(t *testing.T) {
		if raceBin == "" {
			t.Skip("no -race build here (cgo, or another architecture)")
		}
		t.Parallel()
		f(t, raceBin)
	})
}

// cleanEnv is the environment without any LOCKPIPE_ variable, NO_COLOR or
// TERM, and with the race detector's one-second pause at exit turned off.
func cleanEnv() []string {
	env := []string{"GORACE=atexit_sleep_ms=0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOCKPIPE_") && !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return env
}

// child is a running process with its output captured.
type child struct {
	cmd    *exec.Cmd
	stdout output
	stderr output
	done   chan struct{}
}

// output is what a child writes to a stream, which the test may read while the child runs.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends to the output.
func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

// String returns what was written so far.
func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Bytes returns a copy of what was written so far.
func (o *output) Bytes() []byte { return []byte(o.String()) }

// Len returns how many bytes were written so far.
func (o *output) Len() int { return len(o.String()) }

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
		if t.Failed() { // what each process the test started was doing, for a failure seen once in a while
			t.Logf("%v: %s\nstderr:\n%s", c.cmd.Args, tree(c.pid(), ""), c.stderr.String())
		}
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

// pid returns the process's id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// status waits for the process and returns its exit status, 128+N for death by signal N.
func (c *child) status(t testing.TB) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(bound):
		where := tree(c.pid(), "") // what each thread waits in, for a hang under qemu-user or a missed release
		c.cmd.Process.Kill()       // then its output is whole, and no longer written
		<-c.done
		t.Fatalf("%v still running after %v: %s; stderr:\n%s", c.cmd.Args, bound, strings.TrimSpace(where), c.stderr.String())
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

// waiting reports whether pid has a thread waiting for the other side of a
// named pipe (in open(2), or in read(2) while a writer holds it open), and
// whether the process exists at all.
func waiting(pid int) (waits, exists bool) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task + "/wchan")
		if string(b) == "wait_for_partner" || strings.HasSuffix(string(b), "pipe_read") && readsNamedPipe(pid, task) {
			return true, true
		}
	}
	return false, len(tasks) > 0
}

// readsNamedPipe reports whether the thread task of pid is in a call on a
// named pipe: the kernel sleeps in the same function reading an anonymous
// one, such as the pipe that tells Go's ForkExec whether CMD started.
func readsNamedPipe(pid int, task string) bool {
	b, _ := os.ReadFile(task + "/syscall") // "NR fd ...", the call's number and arguments
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return false
	}
	fd, err := strconv.ParseInt(strings.TrimPrefix(f[1], "0x"), 16, 64)
	if err != nil {
		return false
	}
	at, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	return err == nil && !strings.HasPrefix(at, "pipe:")
}

// TestWaitingOnlyOnNamedPipes checks the tests' sign that a process waits on
// a named pipe: a read of an anonymous pipe, where the kernel sleeps in the
// same function, is not one.
func TestWaitingOnlyOnNamedPipes(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	held, err := os.OpenFile(p, os.O_RDWR, 0) // a writer, so that a reader of the named pipe waits in read(2)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	in, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	anonymous := newChild(nil, "cat")
	anonymous.cmd.Stdin = in // cat's standard input: an anonymous pipe nobody writes to
	anonymous.start(t)
	in.Close()
	named := newChild(nil, "cat", p).start(t)
	inRead := func(c *child) bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", c.pid()))
		return strings.HasSuffix(string(b), "pipe_read")
	}
	waitFor(t, "both in read(2)", func() bool { return inRead(anonymous) && inRead(named) })
	if w, _ := waiting(anonymous.pid()); w {
		t.Error("a read of an anonymous pipe counted as a wait on a named pipe")
	}
	if w, _ := waiting(named.pid()); !w {
		t.Error("a read of a named pipe did not count as a wait on it")
	}
}

// stillWaits reports whether pid waits on a named pipe, polling through the
// moments a waiter spends awake (to look at its path when its directory
// changed): false once it has ended instead, or never waits again.
func stillWaits(pid int) bool {
	for deadline := time.Now().Add(bound); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if waits, exists := waiting(pid); waits {
			return true
		} else if !exists || procState(pid) == "Z" || procState(pid) == "" {
			return false
		}
	}
	return false
}

// blocked polls until pid waits on a named pipe.
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
		time.Sleep(2 * time.Millisecond)
	}
}

// release runs the partner of a waiting child on p once pid is blocked.
func release(t *testing.T, pid int, partner, p string) {
	t.Helper()
	blocked(t, pid)
	if st, _, stderr := lockpipe(t, nil, partner, "-p", p); st != 0 {
		t.Fatalf("%s: %d %q", partner, st, stderr)
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
			s += fmt.Sprintf(" content=%q sum=%x", b[:min(len(b), 64)], sha256.Sum256(b))
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			names, _ := filepath.Glob(filepath.Join(p, "*"))
			s += fmt.Sprintf(" entries=%q", names)
		}
	}
	return s
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

// bareRoot makes a directory holding only the lockpipe binary (at /lockpipe),
// an empty /run, and the files named in extra (name in the root, then the
// file to copy), for chroot: no /proc, no /etc, no shell.
func bareRoot(t *testing.T, extra ...string) string {
	t.Helper()
	needRoot(t, "chroot")
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "run"), 0o755))
	files := append([]string{"lockpipe", bin}, extra...)
	for i := 0; i+1 < len(files); i += 2 {
		data, err := os.ReadFile(files[i+1])
		must(t, err)
		writeExecutable(t, filepath.Join(root, files[i]), data)
	}
	return root
}

// writeExecutable writes an executable file while no child is being forked:
// a child forked while the file is open for writing would keep it so until
// its exec, and running the file then fails with ETXTBSY.
func writeExecutable(t testing.TB, path string, data []byte) {
	t.Helper()
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	must(t, os.WriteFile(path, data, 0o755))
}

// asPID1 starts lockpipe as PID 1 of a new PID namespace and returns unshare and lockpipe's host PID.
func asPID1(t testing.TB, env []string, args ...string) (*child, int) {
	t.Helper()
	needNative(t)
	needRoot(t, "unshare")
	u := newChild(env, append([]string{"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin}, args...)...).start(t)
	var pid int
	waitFor(t, "lockpipe started under unshare", func() bool {
		pid = onlyChild(u.pid())
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return pid > 0 && exe == bin
	})
	return u, pid
}

// onlyChild returns the first child of pid, or 0: of any of its threads,
// since a child belongs to the thread that forked it.
func onlyChild(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		if n, _ := strconv.Atoi(strings.Fields(string(b) + " 0")[0]); n > 0 {
			return n
		}
	}
	return 0
}

// childrenOf lists the children of every thread of pid.
func childrenOf(pid int) []string {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var all []string
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		all = append(all, strings.Fields(string(b))...)
	}
	return all
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

// trapSet reports whether the shell CMD, started by lockpipe as pid, has
// set a trap for sig: only once pid runs /bin/sh, since before its exec it
// is lockpipe's forked copy (or qemu's), which catches every signal and
// would leave one sent then pending for the shell's default action. dash
// catches SIGINT from its start, trap or not: for SIGINT this cannot tell.
func trapSet(t testing.TB, pid int, sig syscall.Signal) bool {
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != sh {
		return false
	}
	return statusField(t, pid, "SigCgt", 16)&(1<<(sig-1)) != 0
}

// tree describes pid and its descendants: state, what each thread waits in, command line.
func tree(pid int, indent string) string {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return indent + strconv.Itoa(pid) + " gone\n"
	}
	var wchans []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		wchans = append(wchans, string(b))
	}
	s := fmt.Sprintf("%s%d %s in %s: %q\n", indent, pid, procState(pid), strings.Join(wchans, ","), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
	for _, kid := range childrenOf(pid) {
		n, _ := strconv.Atoi(kid)
		s += tree(n, indent+"  ")
	}
	return s
}

// procState returns the state letter of pid in /proc/PID/stat ("Z" for a zombie), or "" when it is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	return strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[0]
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

// sigNames are the names lockpipe gives the signals that end it.
var sigNames = map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP", syscall.SIGQUIT: "SIGQUIT"}

// holds reports whether pid has the inode p leads to open.
func holds(pid int, p string) bool {
	want, err := os.Stat(p)
	links, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, l := range links {
		if fi, err2 := os.Stat(l); err == nil && err2 == nil && os.SameFile(fi, want) {
			return true
		}
	}
	return false
}

// atoiBase returns the number s holds, or 0.
func atoiBase(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// holdInotify takes n inotify instances and holds them until killed, or,
// for n = 1, takes one and exits 0 if it could (1 if not).
func holdInotify(n int) {
	for i := 0; i < n; i++ {
		if _, err := syscall.InotifyInit1(syscall.IN_CLOEXEC); err != nil {
			fmt.Fprintln(os.Stderr, "inotify_init1:", err)
			os.Exit(1)
		}
	}
	if n == 1 {
		os.Exit(0)
	}
	fmt.Println("holding")
	var forever [1]byte
	syscall.Read(int(os.Stdin.Fd()), forever[:]) // until standard input ends, or a signal kills it
	os.Exit(0)
}

// allocationsCounted reports whether the test binary counts allocations as
// lockpipe's release build makes them: built with -race, a line's buffer
// goes to the heap for the detector's bookkeeping.
func allocationsCounted() bool {
	if bi, ok := rtdebug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return false
			}
		}
	}
	return true
}
