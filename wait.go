//go:build linux

package main

// The wait on one pipe or several. Each pipe has a waiter: a thread that
// takes the pipe, then blocks in the kernel, in open(2) until a partner
// comes and, for a reader, in read(2) until end-of-file. Only a blocked
// open lets the kernel decide, under the pipe's lock, whether a partner came
// before lockpipe gave up: interrupted, it fails with EINTR and the partner
// was not released; otherwise it was. What ends a wait early (the
// deadline, the pipe leaving its path, another pipe deciding the wait) sets
// a flag, then interrupts the waiter with a signal, again until it answers;
// the waiter looks at the flags on every pass, whatever its call returned.

import (
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// request is what read, write or run ask of their pipes.
type request struct {
	paths    []string
	mode     uint32        // for a pipe this call creates
	timeout  time.Duration // 0: wait for ever
	nowait   bool          // write: release the readers waiting now, never wait
	ifExists bool          // nothing at the path counts as released
	keep     bool          // the pipe, once met, is kept open for CMD's standard streams
	any      bool          // released by the first pipe that releases, not by every one
	status   bool          // exit with the status of the hold whose end released it
	taken    []*handle     // the pipes, when the caller has taken them already (run)
	last     bool          // the process ends or becomes CMD once the wait does (read, write)
}

// ending is how one pipe's wait ended.
type ending int8

const (
	pending   ending = iota
	met              // a partner came: a writer, then end-of-file, or a reader
	holdEnded        // a hold ended: its end-of-file, or before this reader came
	absent           // --if-exists: nothing at the path
	removed          // the path no longer leads to the pipe
	expired          // the deadline came first
	abandoned        // another pipe decided the wait
	failed
)

// phase is where a waiter is, which decides what the deadline may do to it.
type phase int8

const (
	taking  phase = iota // at the path, taking the pipe: nobody can have been released yet
	meeting              // opening or reading the pipe: the kernel decides who meets whom
	finished
)

// drainGrace is how long a writer that came just before the deadline has to
// close its end: one that is let in at the deadline instant was released.
const drainGrace = 100 * time.Millisecond

// floodLook is how often a reader looks at its path while a writer floods it.
const floodLook = 100 * time.Millisecond

// waiter is one pipe's wait: blocked, on a thread of its own.
type waiter struct {
	w        *wait
	path     string
	h        *handle
	tid      int
	fd       int       // the pipe open, when it is kept for CMD; -1 otherwise
	ear      int       // a reader's own descriptor of the pipe, held open while it waits; -1 otherwise
	watch    watch     // what tells it to look at its path
	phase    phase     // guarded by w.mu
	opened   time.Time // when a writer came, for a reader; guarded by w.mu
	result   ending    // how it ended, once finished
	rec      record    // the hold's record, when its end released the waiter
	recorded bool      // the pipe had a record of this run when the waiter opened it
	late     bool      // the hold had ended before the waiter came
	main     bool      // it runs on the main goroutine
	looker   int       // a writer's looker's thread, 0 once it has ended; guarded by w.mu
	away     bool      // the looker found the path no longer leads to the pipe; guarded by w.mu
	name     string    // the pipe's own name, in its directory
	recName  string    // its hold's record's name, beside it
	q        string    // the path quoted, for messages
	err      error     // when failed
}

// wait is the wait on every pipe of a request.
type wait struct {
	r        *request
	reading  bool
	doing    string // "reading from pipe at" or "writing to pipe at"
	deadline time.Time
	waiters  []waiter  // one per path, in its order
	one      [1]waiter // the waiter of a wait on one pipe, allocated with it: an object of a size not yet allocated takes a fresh heap page (docs/figures.md)
	mu       sync.Mutex
	expired  bool          // the deadline has passed; guarded by mu
	decided  bool          // the outcome is known: the waiters still waiting must stop; guarded by mu
	left     int           // waiters not finished; guarded by mu
	outcome  chan struct{} // closed once decided, and the waiters still waiting have stopped or been left
}

// newWait makes the wait on the request's pipes, a waiter for each.
func newWait(r *request, reading bool) *wait {
	w := &wait{r: r, reading: reading, doing: "writing to pipe at", outcome: make(chan struct{})}
	if reading {
		w.doing = "reading from pipe at"
	}
	w.left = len(r.paths)
	w.waiters = w.one[:]
	if len(r.paths) > 1 {
		w.waiters = make([]waiter, len(r.paths))
	}
	for i, p := range r.paths {
		wr := &w.waiters[i]
		*wr = waiter{w: w, path: p, q: strconv.Quote(p), fd: -1, ear: -1, watch: watch{home: -1, timer: -1}}
		if i < len(r.taken) {
			wr.h = r.taken[i]
		}
	}
	return w
}

// await waits on the request's pipes for partners: writers when reading,
// readers when writing. The deadline starts before anything looks at a path.
func await(r *request, reading bool) (*wait, error) {
	w := newWait(r, reading)
	setDoing(w.doing, quoteList(r.paths))
	if r.timeout > 0 {
		w.deadline = time.Now().Add(r.timeout)
		go w.clock()
	}
	first := 0
	if r.last {
		first = 1
	}
	for i := first; i < len(w.waiters); i++ {
		go w.waiters[i].run()
	}
	if r.last {
		w.waiters[0].main = true
		w.waiters[0].run() // on this goroutine: a thread fewer for the common wait on one pipe
	}
	<-w.outcome
	return w, w.report()
}

// run takes the pipe, meets a partner already there, or blocks until one
// comes or the wait must end.
func (wr *waiter) run() {
	end, err := pending, error(nil)
	if wr.h == nil {
		end, err = wr.take()
	}
	if end != pending || err != nil {
		wr.finish(end, err)
		return
	}
	if logs(levelDebug) {
		debug(wr.w.doing + " " + wr.q)
	}
	if wr.w.reading {
		wr.prepare() // a reader's meet reads the record
	}
	if end = wr.enter(); end != pending {
		wr.finish(end, nil)
		return
	}
	if end, err = wr.meet(); end == pending && err == nil {
		if !wr.w.reading {
			wr.prepare() // after a meet that released nobody
		}
		if err = wr.lock(); err == nil {
			end, err = wr.block()
		}
	}
	wr.finish(end, err)
}

// lock keeps the waiter on its thread for good, the one the signal that
// interrupts its blocking calls is sent to, and readies that thread for it.
func (wr *waiter) lock() error {
	lockThread(wr.main)
	wr.w.mu.Lock()
	wr.tid = syscall.Gettid()
	wr.w.mu.Unlock()
	if err := interruptible(); err != nil {
		return sysError("set up the wait on", wr.path, err)
	}
	to := wr.tid
	if !wr.w.reading {
		if looker := wr.startLooker(); looker != 0 { // 0: it could not start, and the writer looks itself
			to = looker
		}
	}
	wr.w.mu.Lock()
	wr.watch.start(to)
	wr.w.mu.Unlock()
	return nil
}

// prepare does what the wait needs of the path before the waiter blocks:
// it readies the path's watch and the names its end uses: what a released
// waiter allocates may take a fresh page of Go's heap (page faults), as it
// may come back on another of Go's processors.
func (wr *waiter) prepare() {
	dir, name := wr.h.location()
	wr.name, wr.recName = name, privateName("record", name)
	wr.watch.open(wr.h, dir)
}

// take takes the named pipe, creating it unless --nowait or --if-exists say otherwise.
func (wr *waiter) take() (ending, error) {
	r, q := wr.w.r, wr.q
	if !r.nowait && !r.ifExists {
		h, err := ensure(wr.path, r.mode)
		wr.h = h
		return pending, err
	}
	debugAt("checking if pipe exists at ", q)
	h, err := pipeAt(wr.path)
	switch {
	case h != nil:
		info("pipe exists at " + q)
		wr.h = h
		return pending, nil
	case err != nil:
		return failed, err
	case r.ifExists:
		info("pipe does not exist at " + q + "; nothing to wait for (--if-exists)")
		return absent, nil
	}
	return failed, warnLine(statusNobody, "pipe does not exist at "+q+"; nobody to release")
}

// enter moves the waiter from its path to its pipe, unless the wait was decided meanwhile.
func (wr *waiter) enter() ending {
	w := wr.w
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.decided:
		return abandoned
	case w.expired:
		return expired
	}
	wr.phase = meeting
	return pending
}

// meet opens the pipe without waiting when a partner is already there: for
// a writer, readers waiting now; for a reader, a hold, or a hold that has ended.
func (wr *waiter) meet() (ending, error) {
	if !wr.w.reading {
		// ENXIO (no reader) leaves the pipe's state untouched.
		fd, err := wr.h.reopen(syscall.O_WRONLY | syscall.O_NONBLOCK)
		switch {
		case err == nil:
			return wr.keepOrClose(fd, met), nil
		case err == syscall.ENXIO && wr.w.r.nowait:
			return failed, warnLine(statusNobody, "nobody is waiting to read from pipe at "+wr.q)
		case err != syscall.ENXIO:
			return failed, sysError("open pipe at", wr.path, err)
		}
		return pending, nil
	}
	fd, err := wr.h.reopen(syscall.O_RDONLY | syscall.O_NONBLOCK)
	if err != nil {
		return failed, sysError("open pipe at", wr.path, err)
	}
	// The record is read once the pipe is open: a hold gone before then
	// wrote it first, and one still there, even rewriting it (no record for
	// an instant), is a writer this descriptor sees leave.
	wr.recorded = wr.heldOrMet() == holdEnded
	if !wr.recorded {
		wr.ear = fd
		return pending, nil
	}
	if wr.w.r.keep {
		return wr.keepOrClose(fd, wr.heldOrMet()), nil // CMD reads from the holders' writers, or end-of-file
	}
	var b [1]byte // a reader discards what it reads anyway
	if n, err := syscall.Read(fd, b[:]); n == 0 && err == nil {
		syscall.Close(fd)
		wr.late = true
		return wr.heldOrMet(), nil // no writer now: the hold is over
	}
	setBlocking(fd) // held now: wait for its end-of-file
	wr.fd = fd
	return pending, nil
}

// heldOrMet is how a reader ends at end-of-file: by a hold's end when the
// pipe has a record of this run, which it reads into wr.rec.
func (wr *waiter) heldOrMet() ending {
	var found bool
	if d := wr.watch.home; d >= 0 {
		wr.rec, found, _ = wr.h.readRecordAt(d, wr.recName)
	} else {
		wr.rec, found = wr.h.readRecord()
	}
	if found {
		return holdEnded
	}
	return met
}

// keepOrClose keeps the pipe open for CMD when asked to, and closes it otherwise.
func (wr *waiter) keepOrClose(fd int, end ending) ending {
	if wr.w.r.keep {
		setBlocking(fd) // CMD gets the pipe as a shell's redirection would
		wr.fd = fd
	} else {
		syscall.Close(fd)
	}
	return end
}

// block waits in open(2) until a partner comes, then, for a reader, in
// read(2) until end-of-file. Before each call it looks at the flags, and at
// its path (a writer, at what its looker found). A reader also
// holds the pipe open while it waits, so that a writer that comes and goes
// while it is out of open(2), looking at its path, still meets it: the
// kernel then reports a hang-up on that descriptor until the reader reads it.
func (wr *waiter) block() (ending, error) {
	if wr.fd >= 0 { // a held pipe, already open: its end-of-file ends the wait
		fd := wr.fd
		wr.fd = -1
		return wr.drain(fd), nil
	}
	flags := syscall.O_WRONLY
	if wr.w.reading {
		flags = syscall.O_RDONLY
	}
	for first := true; ; first = false {
		end := wr.stop()
		if end != abandoned && wr.heard() {
			fd := wr.ear
			wr.ear = -1
			return wr.met(fd), nil
		}
		if end != pending {
			wr.deafen()
			return end, nil
		}
		if wr.moved(first) {
			return removed, nil
		}
		fd, err := wr.h.reopen(flags)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.ENOENT:
			return removed, nil // without procfs: another inode is at the path
		case err != nil:
			return failed, sysError("open pipe at", wr.path, err)
		}
		// The kernel decided: a partner came.
		if !wr.w.reading {
			if wr.w.r.keep && wr.movedAway() {
				syscall.Close(fd) // a delete let this writer in, and took its readers
				return removed, nil
			}
			return wr.keepOrClose(fd, met), nil
		}
		return wr.met(fd), nil
	}
}

// heard reports whether a writer came to the reader's held descriptor while
// it was out of open(2), or has the pipe open now.
func (wr *waiter) heard() bool {
	if wr.ear < 0 {
		return false
	}
	if ready(wr.ear, pollIn) != 0 {
		return true
	}
	if wr.w.r.keep {
		return false // a read would take what CMD must get
	}
	// With nothing in it, a pipe read without blocking fails with EAGAIN only while a writer has it open.
	var b [1]byte
	n, err := syscall.Read(wr.ear, b[:])
	return n > 0 || err == syscall.EAGAIN
}

// deafen closes the reader's held descriptor the moment it gives up, so that
// a writer opening the pipe after the reader's last look is not let in.
func (wr *waiter) deafen() {
	if wr.ear >= 0 {
		syscall.Close(wr.ear)
		wr.ear = -1
	}
}

// met ends a reader's wait on fd, where a writer came: CMD gets it, or the
// reader reads it to its end-of-file.
func (wr *waiter) met(fd int) ending {
	wr.w.mu.Lock()
	wr.opened = time.Now()
	wr.w.mu.Unlock()
	setBlocking(fd)
	if wr.w.r.keep {
		return wr.keepOrClose(fd, met)
	}
	return wr.drain(fd)
}

// movedAway reports whether the pipe is no longer at its name (delete
// moves it before it releases anyone), from /proc, which walks no path.
func (wr *waiter) movedAway() bool {
	if !procfs() {
		return !wr.h.leads()
	}
	at, err := readlink(procSelfFd + strconv.Itoa(wr.h.fd))
	return err != nil || !strings.HasSuffix(at, "/"+wr.name)
}

// drain reads the pipe until end-of-file, looking at the flags on every
// pass, so that a writer that never stops writing cannot hold it.
func (wr *waiter) drain(fd int) ending {
	defer syscall.Close(fd)
	// Small: a reader's stack is 4 kB while it waits, and a frame past that
	// would have Go copy it into a new one, five page faults, as the wake ends.
	var buf [512]byte
	lastLook := time.Now()
	for {
		n, err := syscall.Read(fd, buf[:])
		if n == 0 && err == nil {
			return wr.heldOrMet()
		}
		if end := wr.stop(); end != pending {
			if end == expired && endOfFile(fd, buf[:]) {
				return wr.heldOrMet() // its writers closed in time; this thread only ran late
			}
			return end
		}
		// Interrupted, it was told to look; a writer that never stops writing
		// keeps read(2) from being interrupted, and gets a look every 100 ms.
		if now := time.Now(); (err == syscall.EINTR || now.Sub(lastLook) > floodLook) && wr.gone() {
			return removed
		} else if err == syscall.EINTR || now.Sub(lastLook) > floodLook {
			lastLook = now
		}
		if err != nil && err != syscall.EINTR && err != syscall.EAGAIN {
			wr.err = sysError("read from pipe at", wr.path, err)
			return failed
		}
	}
}

// stop returns why the waiter must stop waiting, or pending.
func (wr *waiter) stop() ending {
	w := wr.w
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.decided:
		return abandoned
	case w.expired && !time.Now().Before(wr.limit()):
		return expired
	}
	return pending
}

// limit is when the waiter times out: the deadline, or a little later for a
// writer that came just before it. Called with w.mu held.
func (wr *waiter) limit() time.Time {
	if g := wr.opened.Add(drainGrace); !wr.opened.IsZero() && g.After(wr.w.deadline) {
		return g
	}
	return wr.w.deadline
}

// finish records how the waiter ended and decides the wait if that settles it.
func (wr *waiter) finish(end ending, err error) {
	if err != nil && end == pending {
		end = failed
	}
	w := wr.w
	wr.deafen()
	w.mu.Lock()
	wr.watch.stop() // under the lock, which a writer's looker takes to rearm it
	w.mu.Unlock()
	if wr.h != nil && wr.fd < 0 {
		wr.h.close()
	}
	w.mu.Lock()
	wr.phase, wr.result = finished, end
	if wr.looker != 0 {
		interrupt(wr.looker) // it ends
	}
	if wr.err == nil {
		wr.err = err
	}
	w.left--
	decided := w.left == 0 || end == failed || w.r.any && end != abandoned && end != expired
	w.mu.Unlock()
	if decided {
		w.decide()
	}
}

// decide ends the wait: the waiters still waiting stop, and whoever awaits
// it learns the outcome once they have (or have been left, stuck in a file
// system that stopped answering).
func (w *wait) decide() {
	w.mu.Lock()
	if w.decided {
		w.mu.Unlock()
		return
	}
	w.decided = true
	w.mu.Unlock()
	w.interruptAll()
	close(w.outcome)
}

// interruptAll interrupts every waiter that is in its pipe's open or read
// until it has finished, again and again, since a signal that lands just
// before the call starts is lost; a waiter that has not answered within a
// second is stuck in a file system, where nobody can have met it.
func (w *wait) interruptAll() {
	for try := 0; try < 100; try++ {
		w.mu.Lock()
		var tids []int
		waiting := false
		for i := range w.waiters {
			if wr := &w.waiters[i]; wr.phase == meeting {
				waiting = true
				if wr.tid != 0 { // not yet locked: it looks at the flags before it blocks
					tids = append(tids, wr.tid)
				}
			}
		}
		w.mu.Unlock()
		if !waiting {
			return
		}
		for _, tid := range tids {
			interrupt(tid)
		}
		nap(10 * time.Millisecond)
	}
}

// clock sleeps until the deadline, then ends the wait: waiters in the
// pipe's open or read are interrupted and report what the kernel decided
// (a writer that came at that instant has its grace); waiters still at
// their path released nobody, and are left there.
func (w *wait) clock() {
	for {
		sleepUntil(w.limit())
		w.mu.Lock()
		decided, early := w.decided, time.Now().Before(w.limitLocked())
		w.expired = !decided && !early
		w.mu.Unlock()
		switch {
		case decided:
			return
		case early: // a signal, or a writer's grace
			continue
		}
		w.interruptAll()
		w.decide()
		w.mu.Lock()
		stuck := w.waiters[0].phase != finished
		w.mu.Unlock()
		if stuck && w.r.last { // this goroutine waits on its path, for a file system that stopped answering
			exit(w.report())
		}
		return
	}
}

// limit is when the wait times out.
func (w *wait) limit() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limitLocked()
}

// limitLocked is limit, with w.mu held: the latest limit of the waiters still meeting.
func (w *wait) limitLocked() time.Time {
	l := w.deadline
	for i := range w.waiters {
		wr := &w.waiters[i]
		if g := wr.limit(); wr.phase == meeting && g.After(l) {
			l = g
		}
	}
	return l
}

// report logs how each pipe released the wait and returns its outcome: nil,
// the first failure, the timeout naming what is still missing, or with
// --status the first holder's status that is not 0.
func (w *wait) report() error {
	var released, missing []*waiter
	for i := range w.waiters {
		switch wr := &w.waiters[i]; wr.result {
		case failed:
			return wr.err
		case met, holdEnded, absent, removed:
			released = append(released, wr)
		default:
			missing = append(missing, wr)
		}
	}
	if len(released) == 0 || !w.r.any && len(missing) > 0 {
		return w.timedOut(missing)
	}
	status := 0
	for _, wr := range released {
		if err := wr.report(); err != nil {
			return err
		}
		if s := wr.rec.status(); wr.result == holdEnded && w.r.status && status == 0 {
			status = s
		}
	}
	if status != 0 {
		return infoLine(status, "exiting with the hold's status, "+strconv.Itoa(status)+" (--status)")
	}
	return nil
}

// report logs how the pipe released its waiter; a pipe kept for CMD that
// was removed gives a reader end-of-file, and a writer nothing to write to.
func (wr *waiter) report() error {
	q := wr.q
	switch {
	case wr.result == met && wr.w.reading:
		infoAt("read from pipe at ", q)
	case wr.result == met:
		infoAt("wrote to pipe at ", q)
	case wr.result == holdEnded && wr.late:
		info("pipe at " + q + " was held and no longer is; nothing left to wait for (" + wr.rec.String() + ")")
	case wr.result == holdEnded:
		info("the hold on pipe at " + q + " ended (" + wr.rec.String() + ")")
	case wr.result == removed && wr.w.r.keep && !wr.w.reading:
		return warnLine(statusNobody, "pipe removed while "+wr.w.doing+" "+q+", and nobody reads it; CMD not run")
	case wr.result == removed && wr.w.r.keep:
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			return sysError("give CMD end-of-file for", wr.path, err)
		}
		syscall.Close(p[1])
		wr.fd = p[0]
		info("pipe removed while " + wr.w.doing + " " + q + "; CMD reads end-of-file")
	case wr.result == removed:
		info("pipe removed while " + wr.w.doing + " " + q + "; nothing left to wait for")
	}
	return nil
}

// timedOut is the failure of a wait whose deadline came first, naming,
// when it waited on several pipes, each one still waiting and why.
func (w *wait) timedOut(missing []*waiter) error {
	msg := "timed out after " + w.r.timeout.String() + " while " + w.doing + " " + strconv.Quote(w.r.paths[0])
	if len(w.waiters) > 1 {
		msg = "timed out after " + w.r.timeout.String() + " while " + strings.TrimSuffix(w.doing, " pipe at") + " pipes at " +
			quoteList(w.r.paths) + "; still waiting:"
		for i, wr := range missing {
			if i > 0 {
				msg += ","
			}
			msg += " " + wr.q + " (" + wr.why() + ")"
		}
	}
	return warnLine(statusTimeout, msg)
}

// why says why a pipe still waited at the deadline.
func (wr *waiter) why() string {
	switch {
	case wr.h == nil || !wr.h.present():
		return "its path did not answer"
	case !wr.w.reading:
		return "nobody reads it"
	}
	if pids := writersOf(&wr.h.st); len(pids) > 0 {
		return "held by PID " + strings.Join(pids, ", ")
	}
	return "nobody has written to it"
}
