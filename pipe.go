package main

// The pipe and the wait on it: what a path holds, taken by handle; creating
// it and holding it; the wait for a partner and what ends it first (the
// deadline, the pipe leaving its path); removing it. It stands on
// process.go (signals, the path watch) and exitcode.go (failures, the log,
// the system calls package syscall lacks); nothing below calls back up.

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// heldMark is set by hold, and kept after it: "this pipe was held".
const heldMark = syscall.S_ISVTX

// pipe is a handle on what a path names, taken with O_PATH so that nothing
// is opened, as in containerd's fifo package. Everything after looks at or
// opens that inode, never whatever the path names by then.
type pipe struct {
	path   string
	fd     int            // the O_PATH handle; -1 when nothing is there
	st     syscall.Stat_t // what the handle names
	what   string         // what is there, in words; "" for a named pipe or nothing
	byName bool           // no procfs: the inode is opened by its path, then checked
}

// handle takes a handle on what path names, following symbolic links if follow is set.
func handle(path string, follow bool) (*pipe, error) {
	p := &pipe{path: path, fd: -1, byName: !procfs()}
	flags := oPath | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	fd, err := syscall.Open(path, flags, 0)
	switch {
	case err == syscall.ENOENT:
		return p, nil // a dangling symbolic link is nothing too
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

// reopen opens the inode the handle names, through /proc/self/fd, so that
// whatever the path names by now is never opened; without procfs it opens
// the path, and either way keeps the result only if it is the inode held.
func (p *pipe) reopen(flags int) (int, error) {
	flags |= syscall.O_CLOEXEC | syscall.O_NOCTTY
	name := p.path
	if !p.byName {
		name = "/proc/self/fd/" + strconv.Itoa(p.fd)
	}
	fd, err := syscall.Open(name, flags, 0)
	if err != nil {
		return -1, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || !p.same(&st) {
		syscall.Close(fd)
		return -1, syscall.ENOENT // the pipe held is no longer at the path
	}
	return fd, nil
}

// same reports whether st describes the inode held.
func (p *pipe) same(st *syscall.Stat_t) bool { return st.Dev == p.st.Dev && st.Ino == p.st.Ino }

// leads reports whether the path still leads to the pipe held; any failure to look means it does not.
func (p *pipe) leads() bool {
	var st syscall.Stat_t
	return syscall.Stat(p.path, &st) == nil && p.same(&st)
}

// exists reports whether a named pipe is at path; a dangling symbolic link counts as nothing.
func exists(path string) (bool, error) {
	p, err := handle(path, true)
	if err != nil {
		return false, err
	}
	p.close()
	if p.what != "" {
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
		return false, &failure{int(syscall.EOPNOTSUPP), levelError, "cannot create pipe at " + strconv.Quote(path) +
			": the file system there does not support named pipes (mkfifo: operation not permitted)"}
	}
	return false, sysError("create pipe at", path, err)
}

// create makes the named pipe at path, logging what it found; a named pipe already there is success.
func create(path string, mode uint32) error {
	q := strconv.Quote(path)
	debug("creating pipe at " + q)
	for try := 0; try < tries; try++ {
		created, err := makePipe(path, mode)
		if created || err != nil {
			if created {
				info("created pipe at " + q)
			}
			return err
		}
		p, err := pipeAt(path)
		switch {
		case p != nil:
			p.close()
			warn("pipe already exists at " + q)
			return nil
		case err != nil:
			return err
		case isLink(path): // mkfifo does not follow it, and nothing is there to find
			return notPipeError(path, "a dangling symbolic link")
		}
	}
	return vanished(path)
}

// vanished reports a path whose pipe was removed each time lockpipe came to take it.
func vanished(path string) error {
	return &failure{int(syscall.EAGAIN), levelError, "cannot hold pipe at " + strconv.Quote(path) + ": it was removed again each of " +
		strconv.Itoa(tries) + " times it was there; something keeps removing it (resource temporarily unavailable)"}
}

// pipeAt takes the named pipe at path; nil with no error when nothing is there, 17 for anything else.
func pipeAt(path string) (*pipe, error) {
	p, err := handle(path, true)
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

// ensure takes the named pipe at path, creating it first when nothing is there.
func ensure(path string, mode uint32) (*pipe, error) {
	q := strconv.Quote(path)
	debug("ensuring pipe exists at " + q)
	recoverDelete(path)
	for try := 0; try < tries; try++ {
		p, err := pipeAt(path)
		if p != nil || err != nil {
			if p != nil && try == 0 {
				info("pipe exists at " + q)
			}
			return p, err
		}
		if try == 0 {
			warn("pipe does not exist at " + q)
		}
		if err := create(path, mode); err != nil {
			return nil, err
		}
	}
	return nil, vanished(path)
}

// holdOpen makes sure the named pipe is at path and opens it for reading and
// writing, which never blocks: its readers see end-of-file only once the
// last holder's descriptor closes, however its process ended. It marks the
// pipe, so that a reader that comes later, finding the mark and no writer,
// knows the hold is over: the mark outlives lockpipe, SIGKILL included.
func holdOpen(path string, mode uint32) (int, error) {
	p, err := ensure(path, mode)
	if err != nil {
		return -1, err
	}
	defer p.close()
	fd, err := p.reopen(syscall.O_RDWR)
	if err != nil {
		return -1, sysError("open pipe at", path, err)
	}
	if err := syscall.Fchmod(fd, p.st.Mode&0o7777|heldMark); err != nil && p.st.Mode&heldMark == 0 {
		warn("cannot mark pipe at " + strconv.Quote(path) + " as held (" + err.Error() + "); readers that come after the hold will wait")
	}
	return fd, nil
}

// request is what read, write or run ask of the pipe.
type request struct {
	path     string
	mode     uint32        // for a pipe this call creates
	timeout  time.Duration // 0: wait for ever
	nowait   bool          // write: release the readers waiting now, never wait
	ifExists bool          // nothing at the path counts as released
	keep     bool          // the pipe, once met, is kept open for CMD's standard streams
	taken    *pipe         // the pipe, when the caller has taken it already
}

// take takes the named pipe the request names, creating it unless --nowait or
// --if-exists say otherwise; nil with no error means released, nothing to wait on.
func (r *request) take() (*pipe, error) {
	if p := r.taken; p != nil {
		r.taken = nil
		return p, nil
	}
	if !r.nowait && !r.ifExists {
		return ensure(r.path, r.mode)
	}
	q := strconv.Quote(r.path)
	debug("checking if pipe exists at " + q)
	recoverDelete(r.path)
	p, err := pipeAt(r.path)
	switch {
	case p != nil:
		info("pipe exists at " + q)
		return p, nil
	case err != nil:
		return nil, err
	case r.ifExists:
		info("pipe does not exist at " + q + "; nothing to wait for (--if-exists)")
		return nil, nil
	}
	return nil, &failure{statusNobody, levelWarn, "pipe does not exist at " + q + "; nobody to release"}
}

// Why a wait ended without a partner.
var (
	errTimedOut = errors.New("timed out")
	errRemoved  = errors.New("pipe removed")
	errEnded    = errors.New("hold ended") // the pipe was held, and is no longer
)

// await waits on the named pipe for a partner: a writer when reading, a
// reader when writing. ready runs once lockpipe is about to block, so that
// meeting a partner already there costs no more. It returns the pipe opened,
// blocking, when r.keep asks for it, else -1.
func await(r request, reading bool, ready func()) (int, error) {
	q := strconv.Quote(r.path)
	flags, doing, done := syscall.O_WRONLY, "writing to pipe at "+q, "wrote to pipe at "+q
	if reading {
		flags, doing, done = syscall.O_RDONLY, "reading from pipe at "+q, "read from pipe at "+q
	}
	setDoing(doing)

	// 1. A named pipe is at the path and taken: created if need be.
	p, err := r.take()
	if p == nil {
		return -1, err
	}
	defer p.close()
	debug(doing)

	// 2. A partner already there is met at once: a reader waiting for a
	// writer, or for a reader a hold that has ended (its mark stays).
	fd, met, err := r.meet(p, reading)
	if !met && err == nil {
		// 3. What may end the wait early: signals, the deadline, and the pipe leaving its path.
		ready()
		var w *wait
		if w, err = p.newWait(r.timeout); err == nil {
			// 4. Block until a partner comes, or the wait must end.
			fd, err = w.block(flags, reading && !r.keep, fd)
		}
	}

	// 5. Report what ended it.
	switch {
	case err == errTimedOut:
		return -1, &failure{statusTimeout, levelWarn, "timed out after " + r.timeout.String() + " while " + doing}
	case err == errRemoved && r.keep:
		return removedKept(p, flags, doing)
	case err == errRemoved:
		info("pipe removed while " + doing + "; nothing left to wait for")
	case err == errEnded:
		info("pipe at " + q + " was held and no longer is; nothing left to wait for")
	case err != nil:
		return -1, err
	case reading && !r.keep && held(fd):
		info("the hold on pipe at " + q + " ended")
	default:
		info(done)
	}
	if !r.keep && fd >= 0 {
		syscall.Close(fd)
		fd = -1
	}
	if fd >= 0 {
		setBlocking(fd) // CMD gets the pipe as a shell's redirection would
	}
	return fd, nil
}

// held reports whether the pipe open at fd bears hold's mark.
func held(fd int) bool {
	var st syscall.Stat_t
	return fd >= 0 && syscall.Fstat(fd, &st) == nil && st.Mode&heldMark != 0
}

// removedKept gives CMD the pipe that was removed while lockpipe waited to
// connect it: at end-of-file for reading, and for writing only while a reader still has it.
func removedKept(p *pipe, flags int, doing string) (int, error) {
	fd, err := p.reopen(flags | syscall.O_NONBLOCK)
	if err != nil {
		return -1, &failure{statusNobody, levelWarn, "pipe removed while " + doing + ", and nobody reads it; CMD not run"}
	}
	info("pipe removed while " + doing + "; CMD gets it as it is")
	setBlocking(fd)
	return fd, nil
}

// meet opens the pipe without waiting when a partner is already there:
// for a writer, readers waiting now; for a reader, a hold, or a hold that
// has ended. fd is then the pipe opened, and met says whether the wait is over.
func (r *request) meet(p *pipe, reading bool) (fd int, met bool, err error) {
	if reading {
		if p.st.Mode&heldMark == 0 {
			return -1, false, nil
		}
		if fd, err = p.reopen(syscall.O_RDONLY | syscall.O_NONBLOCK); err != nil {
			return -1, false, sysError("open pipe at", r.path, err)
		}
		if r.keep {
			return fd, true, nil // CMD reads from the holders' writers, or end-of-file
		}
		var b [1]byte // a reader discards what it reads anyway
		if n, err := syscall.Read(fd, b[:]); n == 0 && err == nil {
			return fd, true, errEnded // no writer now: the hold is over
		}
		return fd, false, nil // held now: wait for its end-of-file
	}
	// ENXIO (no reader) leaves the pipe's state untouched.
	fd, err = p.reopen(syscall.O_WRONLY | syscall.O_NONBLOCK)
	switch {
	case err == nil:
		return fd, true, nil
	case err == syscall.ENXIO && r.nowait:
		return -1, true, &failure{statusNobody, levelWarn, "nobody is waiting to read from pipe at " + strconv.Quote(r.path)}
	case err != syscall.ENXIO:
		return -1, true, sysError("open pipe at", r.path, err)
	}
	return -1, false, nil
}

// wait is one waiter's wait: a thread blocked in the kernel (open(2), then
// read(2) for a reader), and what may end it first, decided off that thread:
// the deadline, which only the clock decides, and the pipe leaving its path,
// which the kernel reports (inotify, the mount table) and a look confirms.
type wait struct {
	p        *pipe
	deadline time.Time // zero: none
	pid, tid int       // the blocked thread, which SIGALRM interrupts
	mu       sync.Mutex
	why      error     // errTimedOut or errRemoved once the wait must end; guarded by mu
	over     bool      // the blocked thread is done; guarded by mu
	opened   time.Time // when a partner came; guarded by mu
	watch    watch
}

// drainGrace is how long a writer that came just before the deadline has to
// close its end: one that is let in at the deadline instant was released.
const drainGrace = 100 * time.Millisecond

// newWait readies the calling thread to be interrupted and starts watching for a reason to.
func (p *pipe) newWait(timeout time.Duration) (*wait, error) {
	runtime.LockOSThread() // for good: the blocked call must stay on the thread that is signalled
	w := &wait{p: p, pid: syscall.Getpid(), tid: syscall.Gettid()}
	if timeout > 0 {
		w.deadline = time.Now().Add(timeout)
	}
	if err := interruptible(syscall.SIGALRM); err != nil {
		return nil, sysError("set up the wait on", p.path, err)
	}
	self := p.path
	if !p.byName {
		self = "/proc/self/fd/" + strconv.Itoa(p.fd)
	}
	if err := w.watch.start(p.path, self, p.fd); err != nil {
		return nil, err
	}
	go w.recheck() // the path may have changed since the handle was taken
	go w.decide()
	return w, nil
}

// block blocks until a partner opens the other end (and, when draining,
// until end-of-file), or returns why the wait ended first. fd is the pipe
// if it is already open.
//
// A timer alone cannot tell a timeout from a partner arriving at the same
// instant. Interrupted with EINTR, open(2) itself reports which came first,
// atomically under the pipe's lock: a partner that came is never left behind.
func (w *wait) block(flags int, draining bool, fd int) (int, error) {
	var err error
	for fd < 0 {
		fd, err = w.p.reopen(flags)
		if err = w.interrupted(err, "open pipe at"); err != nil {
			return -1, w.done(err)
		}
	}
	if flags == syscall.O_RDONLY {
		w.mu.Lock()
		if w.why == errTimedOut {
			w.why = nil // the partner came first, as open(2) said: it was released
		}
		w.opened = time.Now()
		w.mu.Unlock()
		setBlocking(fd)
	}
	var buf [4096]byte
	for draining {
		n, err := syscall.Read(fd, buf[:])
		if why := w.interrupted(err, "read from pipe at"); why != nil {
			syscall.Close(fd)
			return -1, w.done(why)
		}
		draining = n != 0 || err != nil // 0 with no error is end-of-file
	}
	return fd, w.done(nil)
}

// interrupted turns an EINTR from the wait's own SIGALRM into why the wait
// ends. nil means go on: the call succeeded, or a SIGALRM that lockpipe did
// not send (or one that came after the wait was decided) interrupted it.
func (w *wait) interrupted(err error, action string) error {
	switch {
	case err == nil:
		return nil
	case err == syscall.ENOENT:
		return errRemoved // reopen found another inode at the path
	case err != syscall.EINTR:
		return sysError(action, w.p.path, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.why
}

// done marks the blocked thread as finished, after which no SIGALRM is sent to it.
func (w *wait) done(err error) error {
	w.mu.Lock()
	w.over = true
	w.mu.Unlock()
	return err
}

// end decides that the wait ends for why, then interrupts the blocked thread until it is done.
func (w *wait) end(why error) {
	w.mu.Lock()
	if w.over || w.why != nil {
		w.mu.Unlock()
		return
	}
	w.why = why
	w.mu.Unlock()
	// Again and again: a signal that lands just before the call starts is lost.
	for w.interrupt() {
		nap(10 * time.Millisecond)
	}
}

// interrupt sends SIGALRM to the blocked thread while it must end; false once it
// need not. Sent under mu, so that none reaches the thread once it is done (and may exec).
func (w *wait) interrupt() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over || w.why == nil {
		return false
	}
	syscall.Tgkill(w.pid, w.tid, syscall.SIGALRM)
	return true
}

// decide sleeps in ppoll(2) until the deadline or an event on the path, and ends the wait on the first that counts.
func (w *wait) decide() {
	for !w.ended() {
		limit := w.limit()
		timeout := time.Duration(-1)
		if !limit.IsZero() {
			timeout = max(time.Until(limit), 0)
		}
		if w.watch.isDegraded() && (timeout < 0 || timeout > time.Second) {
			timeout = time.Second // no inotify here: look once a second instead
		}
		fired := w.watch.sleep(timeout)
		switch {
		case w.ended():
		case !limit.IsZero() && !time.Now().Before(w.limit()):
			w.end(errTimedOut) // returns early if a partner won at the deadline: wait on
		case fired || w.watch.isDegraded():
			go w.recheck()
		}
	}
}

// recheck ends the wait if the path no longer leads to the pipe.
func (w *wait) recheck() { w.watch.recheck(w.p.path, w.p.leads, func() { w.end(errRemoved) }) }

// limit is when the wait times out: the deadline, or a little later for a writer that came just before it.
func (w *wait) limit() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if grace := w.opened.Add(drainGrace); !w.deadline.IsZero() && !w.opened.IsZero() && grace.After(w.deadline) {
		return grace
	}
	return w.deadline
}

// ended reports whether the blocked thread is done.
func (w *wait) ended() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.over
}

// privateName is where delete moves what it removes, beside it: one name
// per name, so that whoever comes next finds what a killed delete left.
func privateName(path string) (dir, name, private string) {
	i := strings.LastIndex(path, "/")
	dir, name = path[:i+1], path[i+1:]
	if dir == "" {
		dir = "."
	}
	private = ".lockpipe-deleting-" + name
	if len(private) > 255 { // NAME_MAX: a name of its own that still tells the two apart
		h := uint64(14695981039346656037) // FNV-1a
		for i := 0; i < len(name); i++ {
			h = (h ^ uint64(name[i])) * 1099511628211
		}
		private = ".lockpipe-deleting-" + strconv.FormatUint(h, 16)
	}
	return dir, name, private
}

// remove releases everyone waiting on the named pipe at path, then removes
// it; removed is false when nothing was there. There is no unlink by inode,
// so it moves whatever the path names to a private name beside it, before
// anyone is released (so that a delete that cannot remove releases nobody),
// releases and removes it if it is a named pipe, and puts anything else back.
func remove(path string) (removed bool, err error) {
	recoverDelete(path) // a killed delete of path may have left it moved away
	p, err := handle(path, false)
	if err != nil || !p.there() {
		return false, err
	}
	defer p.close()
	if p.st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		t, err := handle(path, true)
		if err != nil || !t.there() {
			return false, err // a dangling link: nothing to delete
		}
		t.close()
		if t.what == "" {
			return false, &failure{statusNotPipe, levelError, "found a symbolic link to a named pipe at " + strconv.Quote(path) +
				"; delete removes only a named pipe named by its own path, leaving the link untouched"}
		}
		return false, notPipeError(path, t.what)
	}
	if p.what != "" {
		return false, notPipeError(path, p.what)
	}
	dir, name, private := privateName(path)
	d, _, err := lockDir(dir)
	if err != nil {
		return false, sysError("delete pipe at", path, err)
	}
	defer syscall.Close(d)
	finishDelete(d, path)
	defer unstoppable()() // no signal ends lockpipe while the path is moved away
	switch err := moveNoReplace(d, name, private); err {
	case nil:
	case syscall.ENOENT:
		return false, nil
	default:
		return false, sysError("delete pipe at", path, err)
	}
	removed, putBack, err := settle(d, path)
	if putBack {
		return false, &failure{statusNotPipe, levelError, strconv.Quote(path) + " was replaced while being deleted; leaving it untouched"}
	}
	return removed, err
}

// settle finishes a delete whose object is at its private name: a named
// pipe is released and removed; anything else is put back, never over
// whatever took the path meanwhile, in which case it stays and err says where.
func settle(d int, path string) (removed, putBack bool, err error) {
	dir, name, private := privateName(path)
	at := strings.TrimSuffix(dir, "/") + "/" + private
	fd, err := syscall.Openat(d, private, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, false, nil // a delete that ran meanwhile finished it
	}
	m := &pipe{path: at, fd: fd, byName: !procfs()}
	defer m.close()
	if syscall.Fstat(fd, &m.st) == nil && kind(fd, &m.st) == "" {
		// Opening it for reading and writing never blocks and counts as a partner
		// for both sides, so everyone waiting in open(2) goes on; readers then see
		// end-of-file when it closes. Without permission to open it, the removal
		// itself releases them.
		if rw, err := m.reopen(syscall.O_RDWR | syscall.O_NONBLOCK); err == nil {
			defer syscall.Close(rw)
		}
		if err := syscall.Unlinkat(d, private); err != nil {
			return false, false, sysError("delete pipe at", path, err)
		}
		return true, false, nil
	}
	if err := moveNoReplace(d, private, name); err != nil {
		return false, false, &failure{statusNotPipe, levelError, strconv.Quote(path) + " was replaced while being deleted, and cannot be put back (" +
			err.Error() + "); it is now at " + strconv.Quote(at)}
	}
	return false, true, nil
}

// finishDelete finishes what a delete of path that was killed left at its private name, if anything.
func finishDelete(d int, path string) {
	dir, _, private := privateName(path)
	at := strconv.Quote(strings.TrimSuffix(dir, "/") + "/" + private)
	switch removed, putBack, err := settle(d, path); {
	case removed:
		warn("removed the pipe that a killed delete left at " + at)
	case putBack:
		warn("put back at " + strconv.Quote(path) + " what a killed delete left at " + at)
	case err != nil:
		warn(err.Error())
	}
}

// recoverDelete looks, at the cost of one lstat, for what a killed delete
// of path left, and finishes it under the directory's lock.
func recoverDelete(path string) {
	dir, _, private := privateName(path)
	var st syscall.Stat_t
	if syscall.Lstat(strings.TrimSuffix(dir, "/")+"/"+private, &st) != nil {
		return
	}
	if d, locked, err := lockDir(dir); err == nil {
		if locked { // unlocked, a delete that runs now cannot be told from one that was killed
			release := unstoppable()
			finishDelete(d, path)
			release()
		}
		syscall.Close(d)
	}
}
