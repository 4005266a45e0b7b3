package main

// The bottom layer: exit statuses, failures and their one line (a misspelt
// name with its close match), the env_logger-style log and its settings, and
// the one way out of the process;
// at the end, in one place, what package syscall lacks (per architecture),
// on which pipe.go and process.go both stand.

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Exit statuses that are not the errno of a failed system call.
const (
	statusOK        = 0
	statusNoPipe    = 1                   // exists: nothing at the path
	statusNobody    = int(syscall.ENXIO)  // write --nowait: nobody was waiting
	statusNotPipe   = int(syscall.EEXIST) // something other than a named pipe is at the path
	statusUsage     = int(syscall.EINVAL) // bad command line or environment
	statusTimeout   = 110                 // --timeout ran out: ETIMEDOUT, but 110 on mips too, where ETIMEDOUT is 145
	statusCannotRun = 126                 // CMD found but not executable, as env and shells say
	statusNotFound  = 127                 // CMD not found
	statusSignal    = 128                 // plus the signal number, as shells report it
	statusOther     = int(syscall.EIO)    // an error that carries no errno
)

// failure is an error that knows its exit status, its log level and the one line that explains it.
type failure struct {
	status int
	level  level
	msg    string // empty when the status speaks for itself
}

// Error returns the explanation.
func (f *failure) Error() string { return f.msg }

// usageError reports a bad command line or environment.
func usageError(msg string) error {
	return &failure{statusUsage, levelUsage, msg}
}

// notPipeError reports that path holds something that lockpipe must leave alone.
func notPipeError(path, what string) error {
	return &failure{statusNotPipe, levelError, "found " + what + " at " + strconv.Quote(path) + ", not a named pipe; leaving it untouched"}
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

// kind names what fd holds in words, or "" for a named pipe (not an anonymous one).
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

// sysError reports a failed system call on path in plain words, with its errno as the status.
func sysError(action, path string, err error) error {
	msg := "cannot " + action + " " + strconv.Quote(path) + ": " + err.Error()
	errno, ok := err.(syscall.Errno)
	if !ok {
		return &failure{statusOther, levelError, msg}
	}
	if errno == syscall.ENOENT {
		msg += " (a directory on the path is missing)"
	}
	return &failure{int(errno), levelError, msg}
}

// outputError reports a failed write of help or version text, with its errno as the status.
func outputError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return &failure{exitStatus(err), levelError, "cannot write to standard output: " + err.Error()}
}

// statusHelp describes the exit statuses, for the help.
const statusHelp = `Exit status: 0 done; 1 exists found nothing; 6 write --nowait found nobody
waiting; 17 something that is not a named pipe is at the path (left
untouched); 22 usage error; 24 too many open files; 110 timed out; 126 CMD
cannot run; 127 CMD not found; 128+N ended by signal N (143 SIGTERM, 131
SIGQUIT); hold and run: CMD's status; otherwise the errno of the failed call.
`

// suggest returns "; did you mean PREFIX+NAME?" for the one name close to
// typed, and otherwise a pointer to the help.
func suggest(typed string, names []string, prefix string) string {
	best, bestD, count := "", 3, 0
	for _, n := range names {
		switch d := distance(typed, n); {
		case 2*d > len(n) || d > bestD:
		case d < bestD:
			best, bestD, count = n, d, 1
		default:
			count++
		}
	}
	if count != 1 {
		return "; run 'lockpipe help'"
	}
	return "; did you mean " + prefix + best + "?"
}

// distance counts the edits that turn a into b: insertions, deletions,
// substitutions and swaps of neighbours (optimal string alignment).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// exitStatus returns the exit status that reports err.
func exitStatus(err error) int {
	switch e := err.(type) {
	case nil:
		return statusOK
	case *failure:
		return e.status
	case syscall.Errno:
		return int(e)
	}
	return statusOther
}

// exitMu is taken for good by the first way out, so that a signal and the
// end of a command never both report; stepMu is held through a step that no
// signal may cut short (a path moved away), and taken for good by a signal.
var exitMu, stepMu sync.Mutex

// exit logs err's line and ends the process with its status; nil is success.
func exit(err error) {
	exitMu.Lock()
	if err != nil && err.Error() != "" {
		level := levelError
		if f, ok := err.(*failure); ok {
			level = f.level
		}
		logAt(level, err.Error())
	}
	os.Exit(exitStatus(err))
}

// exitWithin is exit for a signal: it waits for a step in progress, then
// ends the process within d even if its line cannot be written by then
// (standard error a pipe nobody drains), dropping the line.
func exitWithin(err error, d time.Duration) {
	stepMu.Lock()
	go func() {
		nap(d)
		os.Exit(exitStatus(err))
	}()
	exit(err)
}

// unstoppable marks a step that no signal may cut short: the process does
// not end on a signal until the returned function is called.
func unstoppable() (done func()) {
	stepMu.Lock()
	return stepMu.Unlock
}

// doing is what lockpipe is doing, for the message of a signal that ends it.
var doing atomic.Pointer[string]

// setDoing says what lockpipe is doing.
func setDoing(s string) { doing.Store(&s) }

// doingNow returns what lockpipe is doing, or "".
func doingNow() string {
	if s := doing.Load(); s != nil {
		return *s
	}
	return ""
}

// nap sleeps in the kernel, without Go's timers, which need descriptors of their own.
func nap(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// level is a log level, as env_logger orders them.
type level int8

const (
	levelTrace level = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
	levelUsage // an ERROR that no filter hides: it is about the command line, not the run
	levelOff   // above every level that is logged
)

// levelNames are the levels as each line shows them, and their colours.
var levelNames = [...]struct{ name, color string }{
	{"TRACE", "\x1b[36m"}, {"DEBUG", "\x1b[34m"}, {"INFO ", "\x1b[32m"}, {"WARN ", "\x1b[33m"}, {"ERROR", "\x1b[1;31m"}, {"ERROR", "\x1b[1;31m"},
}

// logger is where the log goes and what it lets through.
var logger = struct {
	min   level
	color bool
	w     io.Writer
}{min: levelInfo, w: fdWriter(2)}

// fdWriter writes to a descriptor with write(2) itself: no lock, no poller,
// so that a signal's line never waits behind another, nor opens descriptors.
type fdWriter int

// Write writes b whole, or stops at the first error.
func (fd fdWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(int(fd), b[n:])
		if err != nil && err != syscall.EINTR {
			return n, err
		}
		n += max(m, 0)
	}
	return n, nil
}

// logTo sends the log to fd from now on.
func logTo(fd int) { logger.w = fdWriter(fd) }

// logAt writes msg as env_logger would, "[LEVEL lockpipes] msg", if the filter lets it through.
func logAt(l level, msg string) {
	if l < logger.min && l != levelUsage || l >= levelOff {
		return
	}
	name := levelNames[l].name
	if logger.color {
		name = levelNames[l].color + name + "\x1b[0m"
	}
	io.WriteString(logger.w, "["+name+" lockpipes] "+msg+"\n")
}

// trace logs at TRACE.
func trace(msg string) { logAt(levelTrace, msg) }

// debug logs at DEBUG.
func debug(msg string) { logAt(levelDebug, msg) }

// info logs at INFO.
func info(msg string) { logAt(levelInfo, msg) }

// warn logs at WARN.
func warn(msg string) { logAt(levelWarn, msg) }

// loggingHelp describes the log's settings, for the help.
const loggingHelp = `Logging: LOCKPIPE_LOG_FILTER=off|error|warn|info|debug|trace (default info),
LOCKPIPE_LOG_STYLE=auto|always|never (default auto), on standard error.
`

// parseLevel reads one level name, in any case.
func parseLevel(s string) (level, bool) {
	switch strings.ToLower(s) {
	case "off":
		return levelOff, true
	case "error":
		return levelError, true
	case "warn":
		return levelWarn, true
	case "info":
		return levelInfo, true
	case "debug":
		return levelDebug, true
	case "trace":
		return levelTrace, true
	}
	return 0, false
}

// parseFilter reads LOCKPIPE_LOG_FILTER as env_logger reads RUST_LOG for the
// lockpipes target; bad holds the items it ignored.
func parseFilter(s string) (min level, bad []string) {
	global, target, haveTarget := levelInfo, levelInfo, false
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, lvl, named := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		switch l, ok := parseLevel(strings.TrimSpace(lvl)); {
		case item == "":
		case !named:
			if l, ok := parseLevel(item); ok {
				global = l
			} else if item == "lockpipes" {
				target, haveTarget = levelTrace, true
			} else if !strings.Contains(item, "::") {
				// env_logger would take a bare word for a crate's name, but
				// here it is far more likely a misspelt level.
				bad = append(bad, item)
			}
		case !ok || name == "":
			bad = append(bad, item)
		case name == "lockpipes":
			target, haveTarget = l, true
		}
	}
	if haveTarget {
		return target, bad
	}
	return global, bad
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// setupLogging applies LOCKPIPE_LOG_FILTER and LOCKPIPE_LOG_STYLE, warning about what it ignores.
func setupLogging(getenv func(string) string) {
	min, bad := parseFilter(getenv("LOCKPIPE_LOG_FILTER"))
	logger.min = min
	style := strings.ToLower(strings.TrimSpace(getenv("LOCKPIPE_LOG_STYLE")))
	switch style {
	case "always":
		logger.color = true
	case "never":
		logger.color = false
	default:
		logger.color = isTerminal(2) && getenv("TERM") != "dumb" && getenv("NO_COLOR") == ""
	}
	for _, item := range bad {
		warn("ignoring " + strconv.Quote(item) + " in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipes=LEVEL")
	}
	if style != "" && style != "auto" && style != "always" && style != "never" {
		warn("ignoring LOCKPIPE_LOG_STYLE " + strconv.Quote(getenv("LOCKPIPE_LOG_STYLE")) + ": not auto, always or never")
	}
}

// What package syscall lacks, in one place. The kernel's signal structures
// differ by architecture: mips keeps 128 signals, numbers the sigprocmask
// operations from 1 and puts sa_flags, an unsigned int, before the handler.
// Every other Linux port (amd64, 386, arm, arm64, riscv64, ppc64le, s390x,
// loong64) keeps 64, numbers them from 0 and puts sa_flags, an unsigned
// long, after the handler. SA_RESTART is the same bit everywhere.
// renameat2's number differs by port; O_PATH and __O_TMPFILE do not.
const (
	mips            = runtime.GOARCH == "mips" || runtime.GOARCH == "mipsle" || runtime.GOARCH == "mips64" || runtime.GOARCH == "mips64le"
	saRestart       = 0x10000000
	oPath           = 0x200000
	oTmpfile        = 0o20000000 | syscall.O_DIRECTORY // O_DIRECTORY is not the same everywhere
	renameNoReplace = 1
	renameExchange  = 2
	atSymlinkFollow = 0x400
	atEmptyPath     = 0x1000
	atFdcwd         = -100
	procMagic       = 0x9fa0     // procfs, through which a handle is reopened
	pipefsMagic     = 0x50495045 // the file system that holds anonymous pipes
	tries           = 10         // attempts when a name keeps changing under lockpipe
)

// procfs reports whether /proc is procfs, checked once: a chroot may hold anything there.
var procfs = sync.OnceValue(func() bool {
	var fs syscall.Statfs_t
	return syscall.Statfs("/proc/self/fd", &fs) == nil && uint32(fs.Type) == procMagic
})

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

// fstatat stats a name in d, not following a symbolic link (package syscall has no fstatat on every port).
func fstatat(d int, name string, st *syscall.Stat_t) error {
	fd, err := syscall.Openat(d, name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Fstat(fd, st)
}

// lockDir opens dir and takes its lock, which every delete of a name there
// holds while it moves things; locked is false where dir cannot be read.
func lockDir(dir string) (fd int, locked bool, err error) {
	fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err == syscall.EACCES {
		fd, err = syscall.Open(dir, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		return fd, false, err
	}
	if err != nil {
		return -1, false, err
	}
	for err = syscall.Flock(fd, syscall.LOCK_EX); err == syscall.EINTR; err = syscall.Flock(fd, syscall.LOCK_EX) {
	}
	return fd, err == nil, nil
}

// isLink reports whether path itself is a symbolic link.
func isLink(path string) bool {
	var st syscall.Stat_t
	return syscall.Lstat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFLNK
}

// pollFd is struct pollfd.
type pollFd struct {
	fd             int32
	events, revent int16
}

// ppoll is ppoll(2) with no signal mask; a negative timeout waits for ever.
func ppoll(fds []pollFd, timeout time.Duration) (int, error) {
	var ts *syscall.Timespec
	if timeout >= 0 {
		t := syscall.NsecToTimespec(int64(timeout))
		ts = &t
	}
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// fcntl is fcntl(2) with an integer argument.
func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// setBlocking clears O_NONBLOCK, which the descriptor shares with nobody else.
func setBlocking(fd int) {
	if flags, err := fcntl(fd, syscall.F_GETFL, 0); err == nil && flags&syscall.O_NONBLOCK != 0 {
		fcntl(fd, syscall.F_SETFL, flags&^syscall.O_NONBLOCK)
	}
}

// fdLeft reports whether the process may still open a descriptor; fd is one it has.
func fdLeft(fd int) bool {
	dup, err := fcntl(fd, syscall.F_DUPFD_CLOEXEC, 0)
	if err == nil {
		syscall.Close(dup)
	}
	return err == nil
}

// prctl is prctl(2) with one argument.
func prctl(option, arg uintptr) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, option, arg, 0); e != 0 {
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

// walk resolves path as open(2) does and returns each directory it looks a
// name up in, the last one the pipe's own, and each symbolic link it follows,
// each by a path that leads to it.
func walk(path string) (dirs, links []string) {
	dir, rest := ".", path
	if strings.HasPrefix(path, "/") {
		dir = "/"
	}
	buf := make([]byte, 4096)
	for n := 0; rest != "" && n <= 40; {
		var name string
		name, rest, _ = strings.Cut(strings.TrimLeft(rest, "/"), "/")
		if name == "" || name == "." {
			continue
		}
		if len(dirs) == 0 || dirs[len(dirs)-1] != dir {
			dirs = append(dirs, dir)
		}
		next := strings.TrimSuffix(dir, "/") + "/" + name
		k, err := syscall.Readlink(next, buf)
		if err != nil || name == ".." {
			dir = next // a directory, or the pipe itself at the end
			continue
		}
		n++
		links = append(links, next)
		if target := string(buf[:k]); strings.HasPrefix(target, "/") {
			dir, rest = "/", target+"/"+rest
		} else {
			rest = target + "/" + rest
		}
	}
	return dirs, links
}
