package main

// The pipe: what a path holds, taken by handle; creating it; the wait and
// what interrupts it; releasing and removing it. Also what a waiting process
// owes its surroundings: signals, orphans as PID 1, and becoming CMD.

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const (
	oPath        = 0x200000    // O_PATH, the same on every Linux port; package syscall lacks it
	pipefsMagic  = 0x50495045  // the file system that holds anonymous pipes
	tries        = 10          // attempts when the path keeps changing under lockpipe
	removalCheck = time.Second // how often a waiter looks that its pipe is still at its path; release within 2 s
)

// pipe is a handle on what a path names, taken with O_PATH so that nothing
// is opened, as in containerd's fifo package. Everything after looks at or
// opens that inode, never whatever the path names by then.
type pipe struct {
	path   string
	fd     int            // the O_PATH handle; -1 when nothing is there
	st     syscall.Stat_t // what the handle names
	what   string         // what is there, in words; "" for a named pipe or nothing
	byName bool           // no /proc: the inode is opened by its path, then checked
}

// hold takes a handle on what path names, following symbolic links if follow is set.
func hold(path string, follow bool) (*pipe, error) {
	p := &pipe{path: path, fd: -1}
	flags := oPath | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	fd, err := syscall.Open(path, flags, 0)
	switch {
	case err == syscall.ENOENT:
		if isLink(path) {
			p.what = "a dangling symbolic link"
		}
		return p, nil
	case err != nil:
		return nil, sysError("check", path, err)
	}
	p.fd = fd
	if err := syscall.Fstat(fd, &p.st); err != nil {
		p.close()
		return nil, sysError("check", path, err)
	}
	p.what = kind(fd, &p.st)
	if p.what != "" && follow && isLink(path) {
		p.what = "a symbolic link to " + p.what
	}
	return p, nil
}

// there reports whether the handle names anything.
func (p *pipe) there() bool { return p.st.Mode != 0 }

// close lets the handle go.
func (p *pipe) close() {
	if p.fd >= 0 {
		syscall.Close(p.fd)
		p.fd = -1
	}
}

// isLink reports whether path itself is a symbolic link.
func isLink(path string) bool {
	var st syscall.Stat_t
	return syscall.Lstat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFLNK
}

// kind names what fd holds in words, or "" for a named pipe.
func kind(fd int, st *syscall.Stat_t) string {
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return describe(st.Mode)
	}
	// Anonymous pipes stat as FIFOs too (through /proc/PID/fd); they live on pipefs.
	var fs syscall.Statfs_t
	if syscall.Fstatfs(fd, &fs) == nil && uint32(fs.Type) == pipefsMagic {
		return "an anonymous pipe"
	}
	return ""
}

// describe names a kind of file in words.
func describe(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return "a named pipe"
	case syscall.S_IFREG:
		return "a regular file"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFLNK:
		return "a symbolic link"
	}
	return "a file of unknown kind"
}

// reopen opens the inode the handle names, through /proc/self/fd, so that
// whatever the path names by now is never opened.
func (p *pipe) reopen(flags int) (int, error) {
	flags |= syscall.O_CLOEXEC | syscall.O_NOCTTY
	if !p.byName {
		fd, err := syscall.Open("/proc/self/fd/"+strconv.Itoa(p.fd), flags, 0)
		if err != syscall.ENOENT {
			return fd, err
		}
		// No /proc (a bare chroot): open by name, then check it is the same inode.
		p.byName = true
		debugf("no /proc/self/fd: opening " + strconv.Quote(p.path) + " by name")
	}
	fd, err := syscall.Open(p.path, flags, 0)
	if err != nil {
		return -1, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Dev != p.st.Dev || st.Ino != p.st.Ino {
		syscall.Close(fd)
		return -1, syscall.ENOENT // the pipe held is no longer at the path
	}
	return fd, nil
}

// gone reports whether the path no longer names the pipe held: removed, renamed or replaced.
func (p *pipe) gone() bool {
	var st syscall.Stat_t
	switch err := syscall.Stat(p.path, &st); err {
	case nil:
		return st.Dev != p.st.Dev || st.Ino != p.st.Ino
	case syscall.ENOENT, syscall.ENOTDIR:
		return true
	}
	return false
}

// exists reports whether a named pipe is at path; a dangling symbolic link counts as nothing.
func exists(path string) (bool, error) {
	p, err := hold(path, true)
	if err != nil {
		return false, err
	}
	p.close()
	if p.what != "" && p.there() {
		return false, notPipeError(path, p.what)
	}
	return p.there(), nil
}

// makePipe runs mkfifo with exactly mode, whatever the umask; false with no error means something is there.
func makePipe(path string, mode uint32) (bool, error) {
	// A chmod after mkfifo could act on something put at the path in between.
	old := syscall.Umask(0)
	err := syscall.Mkfifo(path, mode)
	syscall.Umask(old)
	switch err {
	case nil:
		return true, nil
	case syscall.EEXIST:
		return false, nil
	case syscall.EPERM:
		// mknod(2)'s EPERM: the file system cannot hold named pipes (sysfs, procfs).
		return false, &failure{int(syscall.EOPNOTSUPP), slog.LevelError, "cannot create pipe at " + strconv.Quote(path) +
			": the file system there does not support named pipes (mkfifo: operation not permitted)"}
	}
	return false, sysError("create pipe at", path, err)
}

// create makes the named pipe at path, logging what it found; a named pipe already there is success.
func create(path string, mode uint32) error {
	q := strconv.Quote(path)
	debugf("creating pipe at " + q)
	for try := 0; try < tries; try++ {
		created, err := makePipe(path, mode)
		if err != nil {
			return err
		}
		if created {
			info("created pipe at " + q)
			return nil
		}
		p, err := holdPipe(path)
		if err != nil {
			return err
		}
		if p != nil {
			p.close()
			warn("pipe already exists at " + q)
			return nil
		}
		// Removed again since mkfifo found it: try once more.
	}
	return vanished(path)
}

// vanished reports a path whose pipe was removed each time lockpipe came to hold it.
func vanished(path string) error {
	return &failure{int(syscall.EAGAIN), slog.LevelError, "cannot hold pipe at " + strconv.Quote(path) + ": it was removed again each of " +
		strconv.Itoa(tries) + " times it was there; something keeps removing it (resource temporarily unavailable)"}
}

// holdPipe holds the named pipe at path; nil with no error when nothing is
// there, 17 for anything else, a dangling symbolic link included.
func holdPipe(path string) (*pipe, error) {
	p, err := hold(path, true)
	switch {
	case err != nil:
		return nil, err
	case p.what != "":
		p.close()
		return nil, notPipeError(path, p.what)
	case !p.there():
		return nil, nil
	}
	return p, nil
}

// ensure holds the named pipe at path, creating it first when nothing is there.
func ensure(path string, mode uint32) (*pipe, error) {
	q := strconv.Quote(path)
	debugf("ensuring pipe exists at " + q)
	for try := 0; try < tries; try++ {
		p, err := holdPipe(path)
		switch {
		case err != nil:
			return nil, err
		case p != nil:
			if try == 0 {
				info("pipe exists at " + q)
			}
			return p, nil
		case try == 0:
			warn("pipe does not exist at " + q)
		}
		if err := create(path, mode); err != nil {
			return nil, err
		}
	}
	return nil, vanished(path)
}

// request is what read or write asks of the pipe.
type request struct {
	path     string
	mode     uint32        // for a pipe this call creates
	timeout  time.Duration // 0: wait for ever
	nowait   bool          // write: release the readers waiting now, never wait
	ifExists bool          // nothing at the path counts as released
}

// hold holds the named pipe the request names, creating it unless --nowait or
// --if-exists say otherwise; nil with no error means released, nothing to wait on.
func (r request) hold() (*pipe, error) {
	if !r.nowait && !r.ifExists {
		return ensure(r.path, r.mode)
	}
	q := strconv.Quote(r.path)
	debugf("checking if pipe exists at " + q)
	p, err := holdPipe(r.path)
	switch {
	case err != nil:
		return nil, err
	case p != nil:
		info("pipe exists at " + q)
		return p, nil
	case r.ifExists:
		info("pipe does not exist at " + q + "; nothing to wait for (--if-exists)")
		return nil, nil
	}
	return nil, &failure{statusNobody, slog.LevelWarn, "pipe does not exist at " + q + "; nobody to release"}
}

// await waits on the named pipe for a partner: a writer when reading, a reader when writing.
func await(r request, reading bool) error {
	q := strconv.Quote(r.path)
	flags, doing, done := syscall.O_WRONLY, "writing to pipe at "+q, "wrote to pipe at "+q
	if reading {
		flags, doing, done = syscall.O_RDONLY, "reading from pipe at "+q, "read from pipe at "+q
	}
	setDoing(doing)

	// 1. A named pipe is at the path and held: created if need be.
	p, err := r.hold()
	if p == nil {
		return err
	}
	defer p.close()
	debugf(doing)

	// 2. A reader already waiting is met at once, with nothing set up for a wait.
	if !reading {
		if met, err := r.meetReader(p); met || err != nil {
			return err
		}
	}

	// 3. What may end the wait early: signals, the deadline, and the pipe leaving its path.
	catchSignals()
	w, err := newWait(p, r.timeout)
	if err != nil {
		return sysError("set up the wait on", r.path, err)
	}

	// 4. Block until a partner opens the other end, or the wait must end.
	fd, err := w.open(flags)

	// 5. Report what ended it.
	switch {
	case err == errTimedOut:
		return &failure{statusTimeout, slog.LevelWarn, "timed out after " + r.timeout.String() + " while " + doing}
	case err == errRemoved:
		info("pipe removed while " + doing + "; nothing left to wait for")
		return nil
	case err != nil:
		return sysError("open pipe at", r.path, err)
	}
	defer syscall.Close(fd)
	trace("opened pipe at " + q + " as descriptor " + strconv.Itoa(fd))
	if reading {
		if err := drain(fd); err != nil {
			return sysError("read from pipe at", r.path, err)
		}
	}
	info(done)
	return nil
}

// meetReader releases the readers waiting on p now, without waiting; met is
// false when there are none, which --nowait reports as its failure.
func (r request) meetReader(p *pipe) (met bool, err error) {
	q := strconv.Quote(r.path)
	// ENXIO (no reader) leaves the pipe's state untouched.
	fd, err := p.reopen(syscall.O_WRONLY | syscall.O_NONBLOCK)
	switch {
	case err == nil:
		syscall.Close(fd)
		info("wrote to pipe at " + q)
		return true, nil
	case err == syscall.ENXIO && r.nowait:
		return false, &failure{statusNobody, slog.LevelWarn, "nobody is waiting to read from pipe at " + q}
	case err != syscall.ENXIO:
		return false, sysError("open pipe at", r.path, err)
	}
	return false, nil
}

// drain reads and discards from fd until end-of-file.
func drain(fd int) error {
	var buf [4096]byte
	for {
		n, err := syscall.Read(fd, buf[:])
		switch {
		case err == syscall.EINTR:
		case err != nil:
			return err
		case n == 0:
			return nil
		}
	}
}

// Why a wait ended without a partner.
var (
	errTimedOut = errors.New("timed out")
	errRemoved  = errors.New("pipe removed")
)

// wait is one blocked open(2) and what may end it first.
type wait struct {
	p        *pipe
	deadline time.Time // zero: none
	pid, tid int       // the thread blocked in open(2), which SIGALRM interrupts
	mu       sync.Mutex
	why      error // errTimedOut or errRemoved once the wait must end; guarded by mu
	over     bool  // open(2) has returned; guarded by mu
}

// newWait readies the calling thread to be interrupted and starts watching for a reason to.
func newWait(p *pipe, timeout time.Duration) (*wait, error) {
	runtime.LockOSThread() // for good: the open must stay on the thread that is signalled
	w := &wait{p: p, pid: syscall.Getpid(), tid: syscall.Gettid()}
	if timeout > 0 {
		w.deadline = time.Now().Add(timeout)
	}
	if err := interruptible(syscall.SIGALRM); err != nil {
		return nil, err
	}
	go w.watch()
	return w, nil
}

// open blocks in open(2) until a partner comes, or returns why the wait ended first.
//
// A timer alone cannot tell a timeout from a partner arriving at the same
// instant. Interrupted with EINTR, the open itself reports which came first,
// atomically under the pipe's lock: a partner that came is never left behind.
func (w *wait) open(flags int) (int, error) {
	for {
		fd, err := w.p.reopen(flags)
		w.mu.Lock()
		why := w.why
		if err == syscall.EINTR && why == nil {
			w.mu.Unlock()
			continue // a SIGALRM from elsewhere
		}
		w.over = true
		w.mu.Unlock()
		switch {
		case err == syscall.EINTR:
			return -1, why
		case err == syscall.ENOENT && w.p.byName:
			return -1, errRemoved
		}
		return fd, err
	}
}

// ended reports whether open(2) has returned.
func (w *wait) ended() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.over
}

// watch decides when the wait must end, at the deadline or once the pipe
// is gone from its path, then interrupts the open until it returns.
func (w *wait) watch() {
	for {
		next := time.Now().Add(removalCheck)
		if !w.deadline.IsZero() && w.deadline.Before(next) {
			next = w.deadline
		}
		time.Sleep(time.Until(next))
		var why error
		switch {
		case !w.deadline.IsZero() && !time.Now().Before(w.deadline):
			why = errTimedOut
		case w.p.gone():
			why = errRemoved
		}
		w.mu.Lock()
		if w.over || why == nil {
			over := w.over
			w.mu.Unlock()
			if over {
				return
			}
			continue
		}
		w.why = why
		w.mu.Unlock()
		// Again and again: a signal that lands just before the open starts is lost.
		for !w.ended() {
			syscall.Tgkill(w.pid, w.tid, syscall.SIGALRM)
			time.Sleep(10 * time.Millisecond)
		}
		return
	}
}

// The kernel's signal structures differ by architecture, and package syscall
// has none of them. mips keeps 128 signals, numbers the sigprocmask
// operations from 1 and puts sa_flags, an unsigned int, before the handler.
// Every other Linux port (amd64, 386, arm, arm64, riscv64, ppc64le, s390x,
// loong64) keeps 64, numbers them from 0 and puts sa_flags, an unsigned
// long, after the handler. SA_RESTART is the same bit everywhere.
const (
	mips      = runtime.GOARCH == "mips" || runtime.GOARCH == "mipsle" || runtime.GOARCH == "mips64" || runtime.GOARCH == "mips64le"
	saRestart = 0x10000000
)

// sigABI returns the numbers of SIG_UNBLOCK and SIG_SETMASK and the size of sigset_t.
func sigABI() (unblock, setmask, size uintptr) {
	if mips {
		return 2, 3, 16
	}
	return 1, 2, 8
}

// sigset is room for the kernel's sigset_t on every port, in unsigned longs as the kernel keeps it.
type sigset [4]uintptr

// sigmask changes the calling thread's signal mask: how is SIG_UNBLOCK or SIG_SETMASK from sigABI.
func sigmask(how uintptr, set *sigset) error {
	_, _, size := sigABI()
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, how, uintptr(unsafe.Pointer(set)), 0, size, 0, 0); e != 0 {
		return e
	}
	return nil
}

// interruptible makes sig interrupt the calling thread's blocking system calls with EINTR.
//
// It unblocks sig on this thread, since a parent may have left it blocked,
// and clears SA_RESTART, which Go sets on every handler and under which the
// kernel would restart the open instead. Only lockpipe sends sig, to one thread.
func interruptible(sig syscall.Signal) error {
	var set sigset
	bits := uint(unsafe.Sizeof(set[0])) * 8
	set[uint(sig-1)/bits] = 1 << (uint(sig-1) % bits)
	unblock, _, size := sigABI()
	if err := sigmask(unblock, &set); err != nil {
		return err
	}
	var act [8]uintptr // room for struct sigaction on every port
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&act)), size, 0, 0); e != 0 {
		return e
	}
	handler, flags := &act[0], unsafe.Pointer(&act[1])
	if mips {
		handler, flags = &act[1], unsafe.Pointer(&act[0])
	}
	if *handler <= 1 { // SIG_DFL or SIG_IGN: the signal would kill lockpipe or not interrupt it
		return syscall.ENOTSUP
	}
	if mips {
		*(*uint32)(flags) &^= saRestart
	} else {
		*(*uintptr)(flags) &^= saRestart
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, size, 0, 0); e != 0 {
		return e
	}
	return nil
}

// remove releases everyone waiting on the named pipe at path, then removes it;
// removed is false when nothing was there.
func remove(path string) (removed bool, err error) {
	p, err := hold(path, false)
	if err != nil || !p.there() {
		return false, err
	}
	defer p.close()
	if p.st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		t, err := hold(path, true)
		if err != nil || !t.there() {
			return false, err // a dangling link: nothing to delete
		}
		t.close()
		if t.what == "" {
			return false, &failure{statusNotPipe, slog.LevelError, "found a symbolic link to a named pipe at " + strconv.Quote(path) +
				"; delete removes only a named pipe named by its own path, leaving the link untouched"}
		}
		return false, notPipeError(path, t.what)
	}
	if p.what != "" {
		return false, notPipeError(path, p.what)
	}
	// Opening for reading and writing never blocks on Linux and counts as a
	// partner for both sides, so everyone waiting in open(2) goes on; readers
	// then see end-of-file when this descriptor closes, after the unlink.
	fd, err := p.reopen(syscall.O_RDWR | syscall.O_NONBLOCK)
	if err == syscall.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, sysError("open pipe to release its waiters at", path, err)
	}
	defer syscall.Close(fd)
	return p.unlink()
}

// unlink removes the path only while it names the pipe held. There is no
// unlink by inode, so it first moves whatever the path names into a fresh
// private directory, looks at what it moved, removes it if it is the pipe
// and puts anything else back.
func (p *pipe) unlink() (bool, error) {
	priv := p.path[:strings.LastIndex(p.path, "/")+1] + ".lockpipe-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := syscall.Mkdir(priv, 0o700); err != nil {
		return false, sysError("delete pipe at", p.path, err)
	}
	defer syscall.Rmdir(priv)
	moved := priv + "/pipe"
	defer holdExit()() // no signal ends lockpipe while the path is moved away
	if err := syscall.Rename(p.path, moved); err == syscall.ENOENT {
		return false, nil
	} else if err != nil {
		return false, sysError("delete pipe at", p.path, err)
	}
	var st syscall.Stat_t
	if syscall.Lstat(moved, &st) == nil && st.Dev == p.st.Dev && st.Ino == p.st.Ino {
		if err := syscall.Unlink(moved); err != nil {
			return false, sysError("delete pipe at", p.path, err)
		}
		return true, nil
	}
	if err := syscall.Rename(moved, p.path); err != nil {
		return false, &failure{statusNotPipe, slog.LevelError, strconv.Quote(p.path) + " was replaced while being deleted and could not be put back (" +
			err.Error() + "); it is now at " + strconv.Quote(moved)}
	}
	return false, &failure{statusNotPipe, slog.LevelError, strconv.Quote(p.path) + " was replaced while being deleted; leaving it untouched"}
}

// watcher ends the process on a termination signal, whatever lockpipe is doing.
type watcher struct {
	once    sync.Once
	doing   atomic.Pointer[string] // what lockpipe is doing, for the message
	ignored []os.Signal            // ignored when lockpipe started: they stay so for CMD
}

// caught is the process's one watcher: signals belong to the process, not to a command.
var caught watcher

// terminating are the signals that end lockpipe with 128+N and one INFO line.
var terminating = [...]struct {
	sig  syscall.Signal
	name string
}{{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGHUP, "SIGHUP"}, {syscall.SIGQUIT, "SIGQUIT"}}

// catchSignals installs lockpipe's handlers, once, and as PID 1 starts reaping orphans.
func catchSignals() { caught.once.Do(caught.install) }

// install installs the handlers and starts the goroutines that answer them.
func (caught *watcher) install() {
	if caught.doing.Load() == nil {
		setDoing("starting")
	}
	var sigs []os.Signal
	for _, t := range terminating {
		if signal.Ignored(t.sig) {
			caught.ignored = append(caught.ignored, t.sig)
			if t.sig == syscall.SIGHUP {
				continue // nohup's choice; SIGINT, which shells ignore for every background job, is handled
			}
		}
		sigs = append(sigs, t.sig)
	}
	// Room for each signal once, in a channel of their own: os/signal drops
	// what does not fit, and a storm of SIGCHLD must never crowd out a SIGTERM.
	stop := make(chan os.Signal, len(terminating))
	signal.Notify(stop, sigs...)
	go func() {
		n := (<-stop).(syscall.Signal)
		name := "signal " + strconv.Itoa(int(n))
		for _, t := range terminating {
			if t.sig == n {
				name = t.name
			}
		}
		status := statusSignal + int(n)
		exit(&failure{status, slog.LevelInfo, "received " + name + " while " + *caught.doing.Load() + "; exiting with status " + strconv.Itoa(status)})
	}()
	if os.Getpid() == 1 {
		chld := make(chan os.Signal, 1)
		signal.Notify(chld, syscall.SIGCHLD)
		go func() {
			for {
				reap() // first for the orphans that exited before the handler was in place
				<-chld
			}
		}()
	}
}

// setDoing says what lockpipe is doing, for the message of a signal that ends it.
func setDoing(s string) { caught.doing.Store(&s) }

// reap collects every child that has exited: as PID 1, every orphan of the namespace.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		trace("reaped process " + strconv.Itoa(pid))
	}
}

// defaultExecPath is where CMD is looked up when PATH is unset or empty.
const defaultExecPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// become replaces lockpipe with argv: the same PID, environment, standard
// streams and working directory. Every descriptor lockpipe opened is
// close-on-exec; no signal is left blocked, and the handled ones return to
// their default, but for SIGHUP or SIGINT ignored when lockpipe started.
func become(argv []string, path string) error {
	file, err := lookPath(argv[0], path)
	if err != nil {
		return err
	}
	for _, s := range caught.ignored {
		signal.Ignore(s)
	}
	runtime.LockOSThread()
	release := holdExit()
	var none sigset
	_, setmask, _ := sigABI()
	if err = sigmask(setmask, &none); err == nil {
		err = syscall.Exec(file, argv, os.Environ())
	}
	release()
	status := statusCannotRun
	if err == syscall.ENOENT {
		status = statusNotFound
	}
	return &failure{status, slog.LevelError, "cannot run " + strconv.Quote(argv[0]) + ": " + err.Error()}
}

// lookPath finds a command as execvp does: a name with a slash as it is, any other in path.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	where := "PATH"
	if path == "" {
		path, where = defaultExecPath, defaultExecPath
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		var st syscall.Stat_t
		if f := dir + "/" + name; name != "" && syscall.Stat(f, &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return f, nil
		}
	}
	return "", &failure{statusNotFound, slog.LevelError, "cannot run " + strconv.Quote(name) + ": not found in " + where}
}

// install copies the running binary to dir/lockpipe with mode 0755, replacing
// a regular file there whole or not at all, and returns the destination.
func install(dir string) (string, error) {
	dst := strings.TrimSuffix(dir, "/") + "/lockpipe"
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return dst, sysError("install into", dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return dst, sysError("install into", dir, syscall.ENOTDIR)
	}
	if err := syscall.Lstat(dst, &st); err == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return dst, &failure{statusNotPipe, slog.LevelError, "found " + describe(st.Mode) + " at " + strconv.Quote(dst) + ", not a regular file; leaving it untouched"}
	}
	self := "/proc/self/exe"
	src, err := syscall.Open(self, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		// No /proc (a bare chroot, a scratch image): the binary argv[0] names.
		if self, err = lookPath(os.Args[0], os.Getenv("PATH")); err != nil {
			return dst, err
		}
		src, err = syscall.Open(self, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return dst, sysError("read", self, err)
	}
	defer syscall.Close(src)
	// A reader of dst sees the old file or the new one, never a part.
	tmp := strings.TrimSuffix(dst, "lockpipe") + ".lockpipe-" + strconv.Itoa(os.Getpid())
	out, err := syscall.Open(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o700)
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
	if cerr := syscall.Close(out); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Rename(tmp, dst)
	}
	if err != nil {
		syscall.Unlink(tmp)
		return dst, sysError("install", dst, err)
	}
	return dst, nil
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
