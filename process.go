package main

// What the process does around the pipe: its signals (ending lockpipe,
// forwarding them to CMD, handing them over before becoming CMD), the one
// owner of wait(2), becoming CMD or running it as a child (hold, run),
// installing itself, and what package syscall lacks, per architecture, in
// one place at the end. Only exitcode.go is below it.

import (
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// terminating are the signals that end lockpipe with 128+N and one INFO line, or that it forwards to CMD.
var terminating = [...]struct {
	sig  syscall.Signal
	name string
}{{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGHUP, "SIGHUP"}, {syscall.SIGQUIT, "SIGQUIT"},
	{syscall.SIGUSR1, "SIGUSR1"}, {syscall.SIGUSR2, "SIGUSR2"}}

// signalName names sig as lockpipe's messages do.
func signalName(sig syscall.Signal) string {
	for _, t := range terminating {
		if t.sig == sig {
			return t.name
		}
	}
	if sig == syscall.SIGKILL {
		return "SIGKILL"
	}
	return "signal " + strconv.Itoa(int(sig))
}

// watcher owns the process's signals: signals belong to the process, not to a command.
type watcher struct {
	once     sync.Once
	stop     chan os.Signal
	handover chan chan struct{}
	ignored  [len(terminating)]bool // ignored when lockpipe started, as far as Go's runtime can tell
	mu       sync.Mutex             // held while a child starts, so that no signal misses it
	target   int                    // while CMD runs as a child: its PID, or -PGID to forward to its group
}

// signals is the process's one watcher.
var signals watcher

// catchSignals starts handling the terminating signals, once, and as PID 1 reaping orphans.
func catchSignals() { signals.once.Do(signals.start) }

// start installs the handlers and the goroutine that answers them.
func (w *watcher) start() {
	if doingNow() == "" {
		setDoing("starting")
	}
	var sigs []os.Signal
	for i, t := range terminating {
		w.ignored[i] = signal.Ignored(t.sig)
		// SIGHUP ignored stays so (nohup's choice); SIGINT, which shells ignore for every
		// background job, is handled. SIGUSR1 and SIGUSR2 are only ever forwarded.
		if !(w.ignored[i] && t.sig == syscall.SIGHUP) {
			sigs = append(sigs, t.sig)
		}
	}
	// Room for each signal once, in a channel of their own: os/signal drops
	// what does not fit, and a storm of SIGCHLD must never crowd out a SIGTERM.
	w.stop = make(chan os.Signal, len(terminating))
	w.handover = make(chan chan struct{})
	signal.Notify(w.stop, sigs...)
	go w.loop()
	if os.Getpid() == 1 {
		startReaper()
	}
}

// loop answers each signal, until lockpipe hands its signals over to CMD.
func (w *watcher) loop() {
	for {
		select {
		case s := <-w.stop:
			w.act(s.(syscall.Signal))
		case done := <-w.handover:
			resetSignals(&w.ignored)
			signal.Stop(w.stop) // when it returns, a signal that came before is in w.stop
			select {
			case s := <-w.stop:
				w.end(s.(syscall.Signal))
			default:
				close(done)
				return
			}
		}
	}
}

// act forwards sig to CMD while it runs as a child, and otherwise ends lockpipe with 128+N.
func (w *watcher) act(sig syscall.Signal) {
	w.mu.Lock()
	target := w.target
	w.mu.Unlock()
	switch {
	case target != 0:
		if syscall.Kill(target, sig) == nil {
			info("forwarded " + signalName(sig) + " to " + whom(target))
		}
	case sig != syscall.SIGUSR1 && sig != syscall.SIGUSR2:
		w.end(sig)
	}
}

// end ends lockpipe on sig within a second, whatever standard error does.
func (w *watcher) end(sig syscall.Signal) {
	status := statusSignal + int(sig)
	exitWithin(&failure{status, slog.LevelInfo, "received " + signalName(sig) + " while " + doingNow() +
		"; exiting with status " + strconv.Itoa(status)}, time.Second)
}

// handOverSignals gives the terminating signals their default action for
// CMD, which lockpipe is about to become: a signal that came before either
// ends lockpipe now, or, arriving later, reaches CMD.
func handOverSignals() {
	started := false
	signals.once.Do(func() {}) // from now on, no one starts the watcher
	if signals.handover != nil {
		done := make(chan struct{})
		signals.handover <- done
		<-done
		started = true
	}
	if !started {
		var ignored [len(terminating)]bool
		for i, t := range terminating {
			ignored[i] = signal.Ignored(t.sig)
		}
		resetSignals(&ignored)
	}
}

// resetSignals sets each terminating signal to SIG_DFL, or SIG_IGN if it was ignored at start.
func resetSignals(ignored *[len(terminating)]bool) {
	for i, t := range terminating {
		var act sigaction
		handler, _ := act.fields()
		if ignored[i] {
			*handler = 1 // SIG_IGN
		}
		rtSigaction(t.sig, &act)
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

// defaultExecPath is where CMD is looked up when PATH is unset or empty.
const defaultExecPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds a command as execvp does: a name with a slash as it is, any
// other in PATH, skipping what cannot be executed; a permission problem is
// reported only when nothing else is found.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	where, denied := "PATH", ""
	if path == "" {
		path, where = defaultExecPath, defaultExecPath
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		f := dir + "/" + name
		var st syscall.Stat_t
		if name == "" || syscall.Stat(f, &st) != nil || st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			continue
		}
		if syscall.Faccessat(atFdcwd, f, 1, 0x200) == nil { // X_OK, AT_EACCESS: as execve judges
			return f, nil
		}
		if denied == "" {
			denied = f
		}
	}
	if denied != "" {
		return "", &failure{statusCannotRun, slog.LevelError, "cannot run " + strconv.Quote(name) + ": " + strconv.Quote(denied) + ": permission denied"}
	}
	return "", &failure{statusNotFound, slog.LevelError, "cannot run " + strconv.Quote(name) + ": not found in " + where}
}

// cannotRun reports a failed exec of argv[0].
func cannotRun(name string, err error) error {
	status := statusCannotRun
	if err == syscall.ENOENT {
		status = statusNotFound
	}
	return &failure{status, slog.LevelError, "cannot run " + strconv.Quote(name) + ": " + err.Error()}
}

// become replaces lockpipe with argv: the same PID, environment and working
// directory, and the standard streams but for those stdio gives (a
// descriptor for 0, 1 or 2; -1 keeps it). Every descriptor lockpipe opened
// is close-on-exec; no signal is left blocked, and the handled ones return
// to their default, but for those ignored when lockpipe started.
func become(argv []string, path string, stdio [3]int) error {
	file, err := lookPath(argv[0], path)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	handOverSignals()
	if stdio[2] >= 0 { // lockpipe's own lines stay on the standard error it was given
		if saved, err := fcntl(2, syscall.F_DUPFD_CLOEXEC, 3); err == nil {
			logTo(saved)
		}
	}
	for n, fd := range stdio {
		if fd >= 0 {
			if err := syscall.Dup3(fd, n, 0); err != nil {
				return sysError("connect the standard streams of CMD to", argv[0], err)
			}
		}
	}
	var none sigset
	_, setmask, _ := sigABI()
	if err = sigmask(setmask, &none); err == nil {
		err = syscall.Exec(file, argv, os.Environ())
	}
	return cannotRun(argv[0], err)
}

// supervision is CMD run as lockpipe's child: by hold for as long as it
// lives, by run until the pipe releases it.
type supervision struct {
	argv    []string
	path    string         // PATH, to find CMD in
	group   bool           // signals go to CMD's process group (run)
	release func() error   // run: the wait on the pipe; nil for hold
	stop    syscall.Signal // run: what stops CMD's group once released
	grace   time.Duration  // run: how long before SIGKILL; 0: at once
	pid     int
}

// start starts CMD in a process group of its own, with no descriptor of
// lockpipe's, killed with SIGKILL if lockpipe is.
func (s *supervision) start() error {
	file, err := lookPath(s.argv[0], s.path)
	if err != nil {
		return err
	}
	startReaper()
	if s.group {
		prctl(36, 1) // PR_SET_CHILD_SUBREAPER: CMD's orphans come to lockpipe, which sees the group end
	}
	runtime.LockOSThread() // for good: PR_SET_PDEATHSIG follows the thread that forks, not the process
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if pgrp, err := foreground(); err == nil && pgrp == syscall.Getpgrp() {
		sys.Foreground, sys.Ctty = true, 0 // the terminal's signals go to CMD, once
	}
	signals.mu.Lock()
	children.mu.Lock()
	s.pid, err = syscall.ForkExec(file, s.argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: sys})
	if err == nil {
		children.pid, signals.target = s.pid, s.pid
		if s.group {
			signals.target = -s.pid
		}
	}
	children.mu.Unlock()
	signals.mu.Unlock()
	if err != nil {
		return cannotRun(s.argv[0], err)
	}
	return nil
}

// foreground returns the foreground process group of the terminal on standard input.
func foreground() (int, error) {
	var pgrp int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	if e != 0 {
		return 0, e
	}
	return int(pgrp), nil
}

// run starts CMD and waits for it, or for its release, and returns lockpipe's status.
func (s *supervision) run() error {
	if err := s.start(); err != nil {
		return err
	}
	name := strconv.Quote(s.argv[0])
	info("started " + name + " as PID " + strconv.Itoa(s.pid))
	released := make(chan error, 1)
	if s.release != nil {
		go func() { released <- s.release() }()
	}
	select {
	case ws := <-children.ended:
		return s.ended(ws)
	case err := <-released:
		return s.stopGroup(err)
	}
}

// ended reports CMD's end and returns its status as lockpipe's.
func (s *supervision) ended(ws syscall.WaitStatus) error {
	status := ws.ExitStatus()
	how := "exited with status " + strconv.Itoa(status)
	if ws.Signaled() {
		status = statusSignal + int(ws.Signal())
		how = "was ended by " + signalName(ws.Signal()) + " (status " + strconv.Itoa(status) + ")"
	}
	info(strconv.Quote(s.argv[0]) + " (PID " + strconv.Itoa(s.pid) + ") " + how)
	return &failure{status, slog.LevelInfo, ""}
}

// stopGroup stops CMD's process group once run is released (why is nil) or
// timed out, then returns 0, or 110 after a timeout, once CMD has ended and
// its group is gone, or SIGKILL was sent to it after the grace period.
func (s *supervision) stopGroup(why error) error {
	if f, ok := why.(*failure); ok && f.status != statusTimeout {
		return why // the wait itself failed
	}
	if why != nil {
		logAt(slog.LevelWarn, why.Error())
		why = &failure{statusTimeout, slog.LevelWarn, ""}
	}
	group := strconv.Itoa(s.pid)
	syscall.Kill(-s.pid, s.stop)
	info("stopping " + strconv.Quote(s.argv[0]) + ": sent " + signalName(s.stop) + " to its process group " + group)
	graceUp := make(chan struct{})
	go func() { nap(s.grace); close(graceUp) }()
	cmdEnded := false
	for {
		if cmdEnded && (graceUp == nil || syscall.Kill(-s.pid, 0) == syscall.ESRCH) {
			return why
		}
		select {
		case ws := <-children.ended:
			s.ended(ws)
			cmdEnded = true
		case <-children.reaped:
		case <-graceUp:
			syscall.Kill(-s.pid, syscall.SIGKILL)
			info("sent SIGKILL to process group " + group + ", still there after " + s.grace.String())
			graceUp = nil
		}
	}
}

// install copies the running binary to dir/lockpipe with mode 0755 and
// returns the destination. A regular file there is replaced whole or not at
// all; anything else there, at any instant, is left untouched (17).
func install(dir string) (string, error) {
	dst := strings.TrimSuffix(dir, "/") + "/lockpipe"
	d, err := syscall.Open(dir, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return dst, sysError("install into", dir, err)
	}
	defer syscall.Close(d)
	var st syscall.Stat_t
	if fstatat(d, "lockpipe", &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return dst, notRegular(dst, st.Mode)
	}
	src, _, err := openSelf()
	if err != nil {
		return dst, err
	}
	defer syscall.Close(src)
	// The copy has no name until it is whole (O_TMPFILE), so a killed install leaves nothing.
	tmp := ""
	out, err := syscall.Openat(d, ".", oTmpfile|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o700)
	if err == syscall.EOPNOTSUPP || err == syscall.EISDIR || err == syscall.EINVAL {
		defer unstoppable()() // a named copy is removed on every way out but SIGKILL
		tmp = uniqueName("install")
		out, err = syscall.Openat(d, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o700)
	}
	if err != nil {
		return dst, sysError("install into", dir, err)
	}
	err = copyAll(out, src)
	if err == nil {
		err = syscall.Fchmod(out, 0o755) // exactly, whatever the umask
	}
	if err == nil {
		err = syscall.Fsync(out)
	}
	if err == nil {
		defer unstoppable()()
		tmp, err = place(d, out, tmp)
	}
	syscall.Close(out)
	if tmp != "" {
		syscall.Unlinkat(d, tmp) // the old copy, or this one if it was not placed
	}
	if _, ok := err.(*failure); ok || err == nil {
		return dst, err
	}
	return dst, sysError("install", dst, err)
}

// notRegular reports what install found in its way.
func notRegular(dst string, mode uint32) error {
	return &failure{statusNotPipe, slog.LevelError, "found " + describe(mode) + " at " + strconv.Quote(dst) + ", not a regular file; leaving it untouched"}
}

// openSelf opens the running binary: /proc/self/exe, or without /proc (a bare chroot) the file argv[0] names.
func openSelf() (int, string, error) {
	self := "/proc/self/exe"
	src, err := syscall.Open(self, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		if self, err = lookPath(os.Args[0], os.Getenv("PATH")); err != nil {
			return -1, self, err
		}
		src, err = syscall.Open(self, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, self, sysError("read", self, err)
	}
	return src, self, nil
}

// place puts the whole copy out at d/lockpipe. Nothing there: it takes the
// name, which never replaces. A file there: the two are swapped atomically,
// and what came out is removed if it is a regular file, else swapped back.
// It returns the private name the copy still has, if any.
func place(d, out int, tmp string) (string, error) {
	if tmp == "" {
		if err := linkFd(out, d, "lockpipe"); err != syscall.EEXIST {
			return "", err
		}
		tmp = uniqueName("install")
		if err := linkFd(out, d, tmp); err != nil {
			return "", err
		}
	}
	for try := 0; try < tries; try++ {
		err := renameat2(d, tmp, d, "lockpipe", renameExchange)
		switch {
		case err == syscall.ENOENT: // nothing there any more
			if err = moveNoReplace(d, tmp, "lockpipe"); err == nil {
				return "", nil
			} else if err != syscall.EEXIST {
				return tmp, err
			}
			continue
		case err == syscall.EINVAL: // no RENAME_EXCHANGE here: replace only after a look, as rename(2) must
			var st syscall.Stat_t
			if fstatat(d, "lockpipe", &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				return tmp, notRegular("lockpipe", st.Mode)
			}
			if err := syscall.Renameat(d, tmp, d, "lockpipe"); err != nil {
				return tmp, err
			}
			return "", nil
		case err != nil:
			return tmp, err
		}
		var st syscall.Stat_t
		if fstatat(d, tmp, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			return tmp, nil // the old copy: removed by the caller
		}
		if err := renameat2(d, tmp, d, "lockpipe", renameExchange); err != nil {
			return "", &failure{statusNotPipe, slog.LevelError, "found " + describe(st.Mode) +
				" at lockpipe while installing, and cannot put it back (" + err.Error() + "); it is now at " + strconv.Quote(tmp)}
		}
		return tmp, notRegular("lockpipe", st.Mode)
	}
	return tmp, syscall.EAGAIN
}

// linkFd gives the unnamed file out the name name in d, failing if the name is taken.
func linkFd(out, d int, name string) error {
	if procfs() {
		return linkat(atFdcwd, "/proc/self/fd/"+strconv.Itoa(out), d, name, atSymlinkFollow)
	}
	return linkat(out, "", d, name, atEmptyPath) // needs CAP_DAC_READ_SEARCH
}

// uniqueName returns a hidden name of lockpipe's that no other process uses.
func uniqueName(what string) string {
	return ".lockpipe-" + what + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// fstatat stats a name in d, not following a symbolic link (package syscall has no fstatat on every port).
func fstatat(d int, name string, st *syscall.Stat_t) error {
	fd, err := syscall.Openat(d, name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Fstat(fd, st)
}

// copyAll copies from src to dst until end-of-file.
func copyAll(dst, src int) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(src, buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return nil
		}
		for b := buf[:n]; len(b) > 0; {
			m, err := syscall.Write(dst, b)
			if err != nil && err != syscall.EINTR {
				return err
			}
			b = b[max(m, 0):]
		}
	}
}

// prctl is prctl(2) with one argument.
func prctl(option, arg uintptr) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, option, arg, 0); e != 0 {
		return e
	}
	return nil
}

// moveNoReplace renames from to to in the directory d, never replacing anything at to.
func moveNoReplace(d int, from, to string) error {
	err := renameat2(d, from, d, to, renameNoReplace)
	if err != syscall.EINVAL && err != syscall.ENOSYS {
		return err
	}
	// A file system without RENAME_NOREPLACE: a link never replaces either.
	if err = linkat(d, from, d, to, 0); err != nil {
		return err
	}
	return syscall.Unlinkat(d, from)
}

// The kernel's signal structures differ by architecture, and package syscall
// has none of them. mips keeps 128 signals, numbers the sigprocmask
// operations from 1 and puts sa_flags, an unsigned int, before the handler.
// Every other Linux port (amd64, 386, arm, arm64, riscv64, ppc64le, s390x,
// loong64) keeps 64, numbers them from 0 and puts sa_flags, an unsigned
// long, after the handler. SA_RESTART is the same bit everywhere. Package
// syscall also lacks renameat2's number on some ports, and O_TMPFILE.
const (
	mips            = runtime.GOARCH == "mips" || runtime.GOARCH == "mipsle" || runtime.GOARCH == "mips64" || runtime.GOARCH == "mips64le"
	saRestart       = 0x10000000
	renameNoReplace = 1
	renameExchange  = 2
	atSymlinkFollow = 0x400
	atEmptyPath     = 0x1000
	atFdcwd         = -100
	oTmpfile        = 0o20000000 | syscall.O_DIRECTORY // __O_TMPFILE is the same on every port here; O_DIRECTORY is not
)

// sysRenameat2 returns renameat2's system call number.
func sysRenameat2() uintptr {
	switch runtime.GOARCH {
	case "amd64":
		return 316
	case "386":
		return 353
	case "arm":
		return 382
	case "ppc64", "ppc64le":
		return 357
	case "s390x":
		return 347
	case "mips", "mipsle":
		return 4351
	case "mips64", "mips64le":
		return 5311
	}
	return 276 // arm64, riscv64, loong64: the generic table
}

// renameat2 is renameat2(2), for RENAME_NOREPLACE and RENAME_EXCHANGE.
func renameat2(olddir int, oldname string, newdir int, newname string, flags uintptr) error {
	return atCall(sysRenameat2(), olddir, oldname, newdir, newname, flags)
}

// linkat is linkat(2).
func linkat(olddir int, oldname string, newdir int, newname string, flags uintptr) error {
	return atCall(syscall.SYS_LINKAT, olddir, oldname, newdir, newname, flags)
}

// atCall makes a system call that takes two directory-relative names and flags.
func atCall(trap uintptr, olddir int, oldname string, newdir int, newname string, flags uintptr) error {
	o, err := syscall.BytePtrFromString(oldname)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(newname)
	if err != nil {
		return err
	}
	if _, _, e := syscall.Syscall6(trap, uintptr(olddir), uintptr(unsafe.Pointer(o)), uintptr(newdir), uintptr(unsafe.Pointer(n)), flags, 0); e != 0 {
		return e
	}
	return nil
}

// sigABI returns the numbers of SIG_UNBLOCK and SIG_SETMASK and the size of sigset_t.
func sigABI() (unblock, setmask, size uintptr) {
	if mips {
		return 2, 3, 16
	}
	return 1, 2, 8
}

// sigset is room for the kernel's sigset_t on every port, in unsigned longs as the kernel keeps it.
type sigset [4]uintptr

// add adds sig to the set.
func (s *sigset) add(sig syscall.Signal) {
	bits := uint(unsafe.Sizeof(s[0])) * 8
	s[uint(sig-1)/bits] |= 1 << (uint(sig-1) % bits)
}

// sigmask changes the calling thread's signal mask: how is SIG_UNBLOCK or SIG_SETMASK from sigABI.
func sigmask(how uintptr, set *sigset) error {
	_, _, size := sigABI()
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, how, uintptr(unsafe.Pointer(set)), 0, size, 0, 0); e != 0 {
		return e
	}
	return nil
}

// sigaction is room for struct sigaction on every port.
type sigaction [8]uintptr

// fields returns where the handler and sa_flags are, as the port lays them out.
func (a *sigaction) fields() (handler *uintptr, flags unsafe.Pointer) {
	if mips {
		return &a[1], unsafe.Pointer(&a[0])
	}
	return &a[0], unsafe.Pointer(&a[1])
}

// rtSigaction sets sig's action to act if act is not nil, and returns the old one.
func rtSigaction(sig syscall.Signal, act *sigaction) (old sigaction, err error) {
	_, _, size := sigABI()
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(&old)), size, 0, 0); e != 0 {
		return old, e
	}
	return old, nil
}

// interruptible makes sig interrupt the calling thread's blocking system calls with EINTR.
//
// It unblocks sig on this thread, since a parent may have left it blocked,
// and clears SA_RESTART, which Go sets on every handler and under which the
// kernel would restart the call instead. Only lockpipe sends sig, to one thread.
func interruptible(sig syscall.Signal) error {
	var set sigset
	set.add(sig)
	unblock, _, _ := sigABI()
	if err := sigmask(unblock, &set); err != nil {
		return err
	}
	act, err := rtSigaction(sig, nil)
	if err != nil {
		return err
	}
	handler, flags := act.fields()
	if *handler <= 1 { // SIG_DFL or SIG_IGN: the signal would kill lockpipe or not interrupt it
		return syscall.ENOTSUP
	}
	if mips {
		*(*uint32)(flags) &^= saRestart
	} else {
		*(*uintptr)(flags) &^= saRestart
	}
	_, err = rtSigaction(sig, &act)
	return err
}

// setBlocking clears O_NONBLOCK, which the descriptor shares with nobody else.
func setBlocking(fd int) {
	if flags, err := fcntl(fd, syscall.F_GETFL, 0); err == nil && flags&syscall.O_NONBLOCK != 0 {
		fcntl(fd, syscall.F_SETFL, flags&^syscall.O_NONBLOCK)
	}
}

// fcntl is fcntl(2) with an integer argument.
func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
