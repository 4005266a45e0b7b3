package main

// What the process does around the pipe: its signals (ending lockpipe,
// forwarding them to CMD, handing them over before becoming CMD), the one
// owner of wait(2), becoming CMD or running it as a child (hold, run),
// installing itself, and at the end the watch that tells a waiter, from the
// kernel's events, when its path may have changed. Only exitcode.go is below it.

import (
	"io"
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

// terminating are the signals that end lockpipe with 128+N and one INFO line
// (but SIGUSR1 and SIGUSR2, which it ignores), and that it forwards to CMD.
var terminating = [...]syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// signalNames names the signals lockpipe's messages mention.
var signalNames = map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP",
	syscall.SIGQUIT: "SIGQUIT", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGKILL: "SIGKILL"}

// signalName names sig as lockpipe's messages do.
func signalName(sig syscall.Signal) string {
	if name, ok := signalNames[sig]; ok {
		return name
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
	for i, sig := range terminating {
		w.ignored[i] = signal.Ignored(sig)
		// SIGHUP ignored stays so (nohup's choice); SIGINT, which shells ignore
		// for every background job, is handled.
		if !(w.ignored[i] && sig == syscall.SIGHUP) {
			sigs = append(sigs, sig)
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
	exitWithin(&failure{status, levelInfo, "received " + signalName(sig) + " while " + doingNow() +
		"; exiting with status " + strconv.Itoa(status)}, time.Second)
}

// handOverSignals gives the terminating signals their default action for
// CMD, which lockpipe is about to become: a signal that came before either
// ends lockpipe now, or, arriving later, reaches CMD.
func handOverSignals() {
	signals.once.Do(func() {}) // from now on, no one starts the watcher
	if signals.handover != nil {
		done := make(chan struct{})
		signals.handover <- done
		<-done
		return
	}
	var ignored [len(terminating)]bool
	for i, sig := range terminating {
		ignored[i] = signal.Ignored(sig)
	}
	resetSignals(&ignored)
}

// resetSignals sets each terminating signal to SIG_DFL, or SIG_IGN if it was ignored at start.
func resetSignals(ignored *[len(terminating)]bool) {
	for i, sig := range terminating {
		var act sigaction
		handler, _ := act.fields()
		if ignored[i] {
			*handler = 1 // SIG_IGN
		}
		rtSigaction(sig, &act)
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
		return "", &failure{statusCannotRun, levelError, "cannot run " + strconv.Quote(name) + ": " + strconv.Quote(denied) + ": permission denied"}
	}
	return "", &failure{statusNotFound, levelError, "cannot run " + strconv.Quote(name) + ": not found in " + where}
}

// cannotRun reports a failed exec of argv[0].
func cannotRun(name string, err error) error {
	status := statusCannotRun
	if err == syscall.ENOENT {
		status = statusNotFound
	}
	return &failure{status, levelError, "cannot run " + strconv.Quote(name) + ": " + err.Error()}
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
	info("started " + strconv.Quote(s.argv[0]) + " as PID " + strconv.Itoa(s.pid))
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
	return &failure{status, levelInfo, ""}
}

// stopGroup stops CMD's process group once run is released (why is nil) or
// timed out, then returns 0, or 110 after a timeout, once CMD has ended and
// its group is gone, or SIGKILL was sent to it after the grace period.
func (s *supervision) stopGroup(why error) error {
	if f, ok := why.(*failure); ok && f.status != statusTimeout {
		return why // the wait itself failed
	}
	if why != nil {
		logAt(levelWarn, why.Error())
		why = &failure{statusTimeout, levelWarn, ""}
	}
	group := strconv.Itoa(s.pid)
	syscall.Kill(-s.pid, s.stop)
	info("stopping " + strconv.Quote(s.argv[0]) + ": sent " + signalName(s.stop) + " to its process group " + group)
	graceUp := make(chan struct{})
	go func() { nap(s.grace); close(graceUp) }()
	for cmdEnded := false; ; {
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
	src, err := openSelf()
	if err != nil {
		return dst, err
	}
	defer src.Close()
	// The copy has no name until it is whole (O_TMPFILE), so a killed install leaves nothing.
	tmp := ""
	fd, err := syscall.Openat(d, ".", oTmpfile|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o700)
	if err == syscall.EOPNOTSUPP || err == syscall.EISDIR || err == syscall.EINVAL {
		defer unstoppable()() // a named copy is removed on every way out but SIGKILL
		tmp = uniqueName("install")
		fd, err = syscall.Openat(d, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o700)
	}
	if err != nil {
		return dst, sysError("install into", dir, err)
	}
	out := os.NewFile(uintptr(fd), dst)
	if _, err = io.Copy(out, src); err == nil {
		if err = out.Chmod(0o755); err == nil { // exactly, whatever the umask
			err = out.Sync()
		}
	}
	if err == nil {
		defer unstoppable()()
		tmp, err = place(d, fd, tmp, dst)
	}
	out.Close()
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
	return &failure{statusNotPipe, levelError, "found " + describe(mode) + " at " + strconv.Quote(dst) + ", not a regular file; leaving it untouched"}
}

// openSelf opens the running binary: /proc/self/exe, or without /proc (a bare chroot) the file argv[0] names.
func openSelf() (*os.File, error) {
	f, err := os.Open("/proc/self/exe")
	if os.IsNotExist(err) {
		self, lookErr := lookPath(os.Args[0], os.Getenv("PATH"))
		if lookErr != nil {
			return nil, lookErr
		}
		f, err = os.Open(self)
	}
	if pe, ok := err.(*os.PathError); ok {
		return nil, sysError("read", pe.Path, pe.Err)
	}
	return f, err
}

// place puts the whole copy out at d/lockpipe. Nothing there: it takes the
// name, which never replaces. A file there: the two are swapped atomically,
// and what came out is removed if it is a regular file, else swapped back.
// It returns the private name the copy still has, if any.
func place(d, out int, tmp, dst string) (string, error) {
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
			if err = moveNoReplace(d, tmp, "lockpipe"); err != syscall.EEXIST {
				return tmp, err
			}
			continue
		case err == syscall.EINVAL: // no RENAME_EXCHANGE here: replace only after a look, as rename(2) must
			var st syscall.Stat_t
			if fstatat(d, "lockpipe", &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				return tmp, notRegular(dst, st.Mode)
			}
			return tmp, syscall.Renameat(d, tmp, d, "lockpipe")
		case err != nil:
			return tmp, err
		}
		var st syscall.Stat_t
		if fstatat(d, tmp, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			return tmp, nil // the old copy: removed by the caller
		}
		if err := renameat2(d, tmp, d, "lockpipe", renameExchange); err != nil {
			return "", &failure{statusNotPipe, levelError, "found " + describe(st.Mode) + " at " + strconv.Quote(dst) +
				" while installing, and cannot put it back (" + err.Error() + "); it is now at " + strconv.Quote(strings.TrimSuffix(dst, "lockpipe")+tmp)}
		}
		return tmp, notRegular(dst, st.Mode)
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

// watch tells a waiter when its path may have changed, so that it looks only
// then: inotify on the pipe itself and on each directory and symbolic link
// its path goes through, for their own removal or move (not their
// entries', which would wake every waiter under a busy /tmp), the pipe's
// own directory's permissions, and the mount table's poll(2).
type watch struct {
	fd, mounts int // inotify and /proc/self/mountinfo; -1 when absent
	mu         sync.Mutex
	self       int32          // the pipe's own watch; guarded by mu
	wds        map[int32]bool // the watches on the path; guarded by mu
	degraded   bool           // some of the path cannot be watched: look once a second; guarded by mu
	checking   bool           // a recheck runs; guarded by mu
	dirty      bool           // an event came during it; guarded by mu
}

// Inotify masks: what changes where a path leads, for each kind of inode on it.
const (
	selfMask = syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF
	pipeMask = selfMask | syscall.IN_ATTRIB // its link count and permissions
	dirMask  = selfMask | syscall.IN_ONLYDIR
	linkMask = selfMask | syscall.IN_ATTRIB | syscall.IN_DONT_FOLLOW
)

// start opens what the watch listens on, self being a name of the pipe's
// own inode and fd a descriptor lockpipe has; failing that for want of
// descriptors, it fails with 24, and for want of inotify it looks once a second.
func (wt *watch) start(path, self string, fd int) error {
	wt.fd, wt.mounts, wt.self = -1, -1, -1
	ino, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	switch {
	case err == syscall.EMFILE && !fdLeft(fd):
		return sysError("watch the path of pipe at", path, err)
	case err != nil: // the per-user limit of inotify instances, most likely
		wt.degraded = true
		warn("cannot watch the path of pipe at " + strconv.Quote(path) + " (inotify: " + err.Error() +
			"); looking at it once a second instead")
	default:
		wt.fd = ino
	}
	if procfs() {
		if wt.mounts, err = syscall.Open("/proc/self/mountinfo", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == syscall.EMFILE {
			return sysError("watch the path of pipe at", path, err)
		}
	}
	if wt.fd >= 0 { // once: a watch follows its inode wherever the inode goes
		wd, err := syscall.InotifyAddWatch(wt.fd, self, pipeMask)
		wt.self, wt.degraded = int32(wd), err != nil
	}
	return nil
}

// isDegraded reports whether the path is looked at once a second, for want of watches.
func (wt *watch) isDegraded() bool {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	return wt.degraded
}

// sleep blocks in ppoll(2) for up to timeout (negative: no limit) and
// reports whether an event came that may change where the path leads.
func (wt *watch) sleep(timeout time.Duration) bool {
	fds := []pollFd{{fd: int32(wt.fd), events: 0x1}, {fd: int32(wt.mounts), events: 0x2}} // POLLIN, POLLPRI
	if n, err := ppoll(fds, timeout); err != nil || n == 0 {
		return false
	}
	return fds[1].revent != 0 || fds[0].revent != 0 && wt.relevant()
}

// relevant reads the pending inotify events and reports whether one is about
// an inode of the path itself; one about an entry of a directory is not.
func (wt *watch) relevant() bool {
	var raw [1024]uint32 // aligned, as the kernel lays events out
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&raw[0])), len(raw)*4)
	found := false
	for {
		n, err := syscall.Read(wt.fd, buf)
		if err != nil || n <= 0 {
			return found
		}
		wt.mu.Lock()
		for b := buf[:n]; len(b) >= syscall.SizeofInotifyEvent; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&b[0]))
			b = b[syscall.SizeofInotifyEvent+int(ev.Len):]
			found = found || ev.Mask&syscall.IN_Q_OVERFLOW != 0 || ev.Len == 0 && (ev.Wd == wt.self || wt.wds[ev.Wd])
		}
		wt.mu.Unlock()
	}
}

// recheck renews the watches, then calls gone if path no longer leads
// where it did, as leads tells; one at a time, again while events came.
// It may block on a file system that stops answering, never the deadline.
func (wt *watch) recheck(path string, leads func() bool, gone func()) {
	wt.mu.Lock()
	if wt.checking {
		wt.dirty = true
		wt.mu.Unlock()
		return
	}
	wt.checking = true
	wt.mu.Unlock()
	for again := true; again; {
		wt.renew(path)
		if !leads() {
			gone()
			return
		}
		wt.mu.Lock()
		again = wt.dirty
		wt.checking, wt.dirty = again, false
		wt.mu.Unlock()
	}
}

// renew watches the directories and links path goes through now, and drops
// the watches on those it no longer does.
func (wt *watch) renew(path string) {
	if wt.fd < 0 {
		return
	}
	dirs, links := walk(path)
	degraded, wds := false, map[int32]bool{}
	add := func(name string, mask uint32) {
		wd, err := syscall.InotifyAddWatch(wt.fd, name, mask)
		degraded = degraded || err != nil && err != syscall.ENOENT && err != syscall.ENOTDIR
		if err == nil {
			wds[int32(wd)] = true
		}
	}
	for i, d := range dirs {
		if i == len(dirs)-1 {
			add(d, dirMask|syscall.IN_ATTRIB) // the pipe's own directory: its permissions too
		} else {
			add(d, dirMask)
		}
	}
	for _, l := range links {
		add(l, linkMask)
	}
	wt.mu.Lock()
	old, self := wt.wds, wt.self
	wt.wds, wt.degraded = wds, degraded || self < 0
	wt.mu.Unlock()
	for wd := range old {
		if !wds[wd] && wd != self {
			syscall.InotifyRmWatch(wt.fd, uint32(wd))
		}
	}
}
