package main

// What package syscall lacks, in one place: constants and thin wrappers of
// system calls. What differs by architecture (renameat2's number, the
// kernel's signal structures) is in abi_linux_*.go.

import (
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Constants of the kernel's ABI that package syscall does not name, the same on every port lockpipe runs on.
const (
	oPath            = 0x200000                          // O_PATH: a handle that opens nothing
	oTmpfile         = 0o20000000 | syscall.O_DIRECTORY  // O_TMPFILE; O_DIRECTORY differs by port
	renameNoReplace  = 1                                 // RENAME_NOREPLACE
	renameExchange   = 2                                 // RENAME_EXCHANGE
	atFdcwd          = -100                              // AT_FDCWD
	clockMonotonic   = 1                                 // CLOCK_MONOTONIC
	sigevThreadID    = 4                                 // SIGEV_THREAD_ID: a timer's signal goes to one thread
	atSymlinkFollow  = 0x400                             // AT_SYMLINK_FOLLOW
	atEmptyPath      = 0x1000                            // AT_EMPTY_PATH
	atEaccess        = 0x200                             // AT_EACCESS: judge by the effective ids, as execve and open do
	xOK, wOK, rOK    = 1, 2, 4                           // access(2)'s modes
	prSetChildReaper = 36                                // PR_SET_CHILD_SUBREAPER
	pollIn, pollOut  = 0x1, 0x4                          // POLLIN, POLLOUT
	fOwnerTid        = 0                                 // F_OWNER_TID: F_SETOWN_EX signals one thread
	dnDelete         = 0x8                               // DN_DELETE: a name in the directory was removed
	dnRename         = 0x10                              // DN_RENAME: a name in the directory was renamed
	dnMultishot      = 0x80000000                        // DN_MULTISHOT: keep notifying
	sigDfl, sigIgn   = 0, 1                              // SIG_DFL, SIG_IGN
	saRestart        = 0x10000000                        // SA_RESTART, the same bit on every port
	procMagic        = 0x9fa0                            // procfs, through which a handle is reopened
	pipefsMagic      = 0x50495045                        // the file system that holds anonymous pipes
	tries            = 10                                // attempts when a name keeps changing under lockpipe
	sigsetWords      = 4                                 // room for the kernel's sigset_t in unsigned longs, on every port
	sigactionWords   = 8                                 // room for struct sigaction, on every port
	wordBits         = 8 * unsafe.Sizeof(uintptr(0))     // bits in an unsigned long
	interruptSignal  = syscall.SIGALRM                   // what lockpipe sends its own threads to interrupt a blocking call
	nameMax          = 255                               // NAME_MAX
	pipeBuf          = 4096                              // PIPE_BUF: written to a pipe whole, once it has room
	procSelfFd       = "/proc/self/fd/"                  // where a descriptor is reopened
	bootIDPath       = "/proc/sys/kernel/random/boot_id" // this boot's identity
)

// proc holds whether /proc is procfs once procfs has checked.
var proc struct {
	once sync.Once
	is   bool
}

// procfs reports whether /proc is procfs, checked once, when first needed: a chroot may hold anything there.
func procfs() bool {
	proc.once.Do(func() {
		var fs syscall.Statfs_t
		proc.is = syscall.Statfs("/proc/self/fd", &fs) == nil && uint32(fs.Type) == procMagic
	})
	return proc.is
}

// renameat2 is renameat2(2), for RENAME_NOREPLACE and RENAME_EXCHANGE.
func renameat2(olddir int, oldname string, newdir int, newname string, flags uintptr) error {
	return atCall(sysRenameat2, olddir, oldname, newdir, newname, flags)
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

// openPipe opens the named pipe at path. An open that waits for a partner
// hands its thread's processor back to Go's scheduler as it begins, as Go's
// runtime does for its own long sleeps: left to Go, a processor held in a
// system call is taken back only 10 ms later, and until then Go's monitor
// thread wakes every 20 µs or so to look at it (docs/figures.md).
func openPipe(path string, flags int) (int, error) {
	if flags&syscall.O_NONBLOCK != 0 || flags&syscall.O_ACCMODE == syscall.O_RDWR {
		return syscall.Open(path, flags, 0) // never waits
	}
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	fd, e := openWaiting(p, flags|syscall.O_LARGEFILE)
	if e != 0 {
		return -1, e
	}
	return fd, nil
}

// openWaiting is openat(2) from the working directory, made as a call that
// blocks: entersyscallblock and exitsyscall are what syscall.Syscall6 does
// with entersyscall, and Go keeps both for other programs (go.dev/issue/67401).
// Nothing between them may grow the stack or need a processor.
//
//go:nosplit
//go:norace
func openWaiting(path *byte, flags int) (int, syscall.Errno) {
	dir := atFdcwd
	entersyscallblock()
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(dir), uintptr(unsafe.Pointer(path)), uintptr(flags), 0, 0, 0)
	exitsyscall()
	return int(fd), e
}

// entersyscallblock tells Go's scheduler that this thread enters a system
// call that blocks, and gives its processor away at once.
//
//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

// exitsyscall takes a processor back after a system call.
//
//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// environ returns a copy of the environment the process began with, the
// runtime's own list (what os.Getenv reads after building a map of it).
//
//go:linkname environ syscall.runtime_envs
func environ() []string

// symlinkat makes name in d a symbolic link holding target.
func symlinkat(target string, d int, name string) error {
	t, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	if _, _, e := syscall.Syscall(syscall.SYS_SYMLINKAT, uintptr(unsafe.Pointer(t)), uintptr(d), uintptr(unsafe.Pointer(n))); e != 0 {
		return e
	}
	return nil
}

// readlinkat returns what the symbolic link name in d holds. A short name
// goes to the kernel in buf, which the kernel copies in before it writes
// the link's text there: a released reader allocates nothing to look for
// its hold's record (see prepare in wait.go).
func readlinkat(d int, name string) (string, error) {
	var buf [256]byte
	n := &buf[0]
	if len(name) < len(buf) && strings.IndexByte(name, 0) < 0 {
		copy(buf[:], name) // the rest of buf is zero: its end
	} else if p, err := syscall.BytePtrFromString(name); err == nil {
		n = p
	} else {
		return "", err
	}
	for {
		r, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(d), uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		if e != syscall.EINTR {
			if e != 0 {
				return "", e
			}
			return string(buf[:r]), nil
		}
	}
}

// readFile returns what the small file at path holds (64 kB at most), as /proc's are.
func readFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, 512)
	for len(b) < 64<<10 {
		if len(b) == cap(b) {
			b = append(b, make([]byte, cap(b))...)[:len(b)]
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			return b, err
		}
		b = b[:len(b)+n]
	}
	return b, nil
}

// listDir returns the names in the directory at path.
func listDir(path string) ([]string, error) {
	d, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(d)
	return namesIn(d), nil
}

// namesIn lists the names in the directory open at d.
func namesIn(d int) (names []string) {
	buf := make([]byte, 8192)
	for {
		n, err := syscall.ReadDirent(d, buf)
		if n <= 0 || err != nil {
			return names
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}

// readlink returns what the symbolic link at path holds.
func readlink(path string) (string, error) {
	var buf [4096]byte
	n, err := syscall.Readlink(path, buf[:])
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
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

// fcntl is fcntl(2) with an integer argument.
func fcntl(fd, cmd int, arg uintptr) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), arg)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// setBlocking clears O_NONBLOCK, which the descriptor shares with nobody else.
func setBlocking(fd int) {
	if flags, err := fcntl(fd, syscall.F_GETFL, 0); err == nil && flags&syscall.O_NONBLOCK != 0 {
		fcntl(fd, syscall.F_SETFL, uintptr(flags&^syscall.O_NONBLOCK))
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

// prctl is prctl(2) with one integer argument.
func prctl(option, arg uintptr) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, option, arg, 0); e != 0 {
		return e
	}
	return nil
}

// pollFd is struct pollfd.
type pollFd struct {
	fd             int32
	events, revent int16
}

// ready returns which of events poll(2) reports on fd now, without waiting
// (a hang-up is reported whatever was asked); none when it cannot tell.
func ready(fd int, events int16) int16 {
	fds := [1]pollFd{{fd: int32(fd), events: events}}
	ts := syscall.Timespec{}
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if e != 0 || n != 1 {
		return 0
	}
	return fds[0].revent
}

// send writes b to the socket fd without blocking and without SIGPIPE.
func send(fd int, b []byte) (int, error) {
	if err := syscall.Sendto(fd, b, syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, nil); err != nil {
		return 0, err
	}
	return len(b), nil
}

// notifyDir asks the kernel to send interruptSignal to the thread tid
// whenever a name in the directory open at d is removed or renamed (dnotify).
// Unlike inotify, it takes nothing from a per-user budget.
func notifyDir(d, tid int) error {
	if _, err := fcntl(d, syscall.F_SETSIG, uintptr(interruptSignal)); err != nil {
		return err
	}
	if _, err := fcntl(d, syscall.F_NOTIFY, dnDelete|dnRename|dnMultishot); err != nil {
		return err
	}
	// After F_NOTIFY, which makes the whole process the owner.
	owner := [2]int32{fOwnerTid, int32(tid)}
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(d), syscall.F_SETOWN_EX, uintptr(unsafe.Pointer(&owner))); e != 0 {
		return e
	}
	return nil
}

// sigset is the kernel's sigset_t, in unsigned longs as the kernel keeps it.
type sigset [sigsetWords]uintptr

// add adds sig to the set.
func (s *sigset) add(sig syscall.Signal) {
	s[uint(sig-1)/uint(wordBits)] |= 1 << (uint(sig-1) % uint(wordBits))
}

// del removes sig from the set.
func (s *sigset) del(sig syscall.Signal) {
	s[uint(sig-1)/uint(wordBits)] &^= 1 << (uint(sig-1) % uint(wordBits))
}

// sigmask changes the calling thread's signal mask (how is sigBlock,
// sigUnblock or sigSetmask), and stores the mask before in old unless it is nil.
func sigmask(how uintptr, set, old *sigset) error {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, how, uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)), sigsetBytes, 0, 0); e != 0 {
		return e
	}
	return nil
}

// blockSignal blocks sig on the calling thread, and returns the mask that
// lets it through: the thread's mask before, without sig.
func blockSignal(sig syscall.Signal) (sigset, error) {
	var set, old sigset
	set.add(sig)
	err := sigmask(sigBlock, &set, &old)
	old.del(sig)
	return old, err
}

// sigsuspend waits in the kernel, the calling thread's signal mask set to
// mask meanwhile, until a signal mask lets through has been handled: one
// that came while it was blocked ends the wait at once (ppoll with a signal
// mask: the signal reaches Go's handler, as it does for a blocked waiter;
// under qemu-user a looker in rt_sigtimedwait once missed its timer's).
// With poll, it returns at once. It returns EINTR after a signal.
func sigsuspend(mask *sigset, poll bool) error {
	var zero *syscall.Timespec
	if poll {
		zero = new(syscall.Timespec)
	}
	if _, _, e := syscall.Syscall6(syscall.SYS_PPOLL, 0, 0, uintptr(unsafe.Pointer(zero)), uintptr(unsafe.Pointer(mask)), sigsetBytes, 0); e != 0 {
		return e
	}
	return nil
}

// sigaction is room for struct sigaction on every port.
type sigaction [sigactionWords]uintptr

// rtSigaction sets sig's action to act if act is not nil, and returns the old one.
func rtSigaction(sig syscall.Signal, act *sigaction) (old sigaction, err error) {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(&old)), sigsetBytes, 0, 0); e != 0 {
		return old, e
	}
	return old, nil
}

// setDisposition sets sig to SIG_DFL, or to SIG_IGN if ignore is set.
func setDisposition(sig syscall.Signal, ignore bool) {
	var act sigaction
	if ignore {
		*act.handler() = sigIgn
	}
	rtSigaction(sig, &act)
}

// interruptible makes interruptSignal interrupt the calling thread's
// blocking system calls with EINTR. It unblocks the signal on this thread,
// since a parent may have left it blocked, and clears SA_RESTART, which Go
// sets on every handler and under which the kernel would restart the call
// instead. Only lockpipe sends it, to one thread at a time.
func interruptible() error {
	var set sigset
	set.add(interruptSignal)
	if err := sigmask(sigUnblock, &set, nil); err != nil {
		return err
	}
	act, err := rtSigaction(interruptSignal, nil)
	if err != nil {
		return err
	}
	if *act.handler() <= sigIgn { // SIG_DFL or SIG_IGN: the signal would kill lockpipe or not interrupt it
		return syscall.ENOTSUP
	}
	act.clearRestart()
	_, err = rtSigaction(interruptSignal, &act)
	return err
}

// interrupt sends interruptSignal to the thread tid of this process.
func interrupt(tid int) { syscall.Tgkill(syscall.Getpid(), tid, interruptSignal) }

// sleepUntil sleeps in the kernel until t (monotonic), or until a signal interrupts it.
func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		syscall.Nanosleep(&ts, nil)
	}
}
