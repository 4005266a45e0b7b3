package main

// Benchmarks: the real binaries as processes, lockpipe against the shell
// idiom and the Go floor, interleaved so that their ratios hold on any machine.

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Benchmarks. They run the real binaries as processes and report medians
// with b.ReportMetric; rivals run interleaved with lockpipe in the same loop
// so that their ratios hold on any machine. Run them with
//
//	go test -run '^$' -bench . -benchtime 200x

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
// reports each one's median and its ratio to the Go floor. Each round
// begins with the next rival, so that none always runs after the same one:
// in a fixed order, a start measured about a point slower (docs/figures.md).
func interleave(b *testing.B, unit string, measure func(r rival, p string) float64) {
	rs := rivals(b)
	p := filepath.Join(b.TempDir(), "pipe")
	syscall.Mkfifo(p, 0o600)
	xs := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range rs {
			r := rs[(i+k)%len(rs)]
			r.exe = r.exes[i%len(r.exes)]
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

// BenchmarkStartupFaults counts the page faults of one existence check,
// start to exit: what a start costs is mostly its page faults
// (docs/figures.md), and their count moves far less between runs than time.
func BenchmarkStartupFaults(b *testing.B) {
	interleave(b, "faults", func(r rival, p string) float64 { return faultsOf(b, r.check(p)) })
}

// faultsOf runs argv to the end, failing the benchmark unless it exits 0,
// and returns its page faults (minor: its binary is in the page cache).
func faultsOf(b *testing.B, argv []string) float64 {
	c := exec.Command(argv[0], argv[1:]...)
	if out, err := c.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v %s", argv, err, out)
	}
	return float64(c.ProcessState.SysUsage().(*syscall.Rusage).Minflt)
}

// BenchmarkWakeWaiting measures from starting a writer to the reader having
// exited, as BenchmarkWake does, for a reader that has waited 50 ms: by
// then its own start has ended, Go's runtime included (see docs/figures.md).
func BenchmarkWakeWaiting(b *testing.B) {
	interleave(b, "µs", func(r rival, p string) float64 {
		reader := newChild(nil, r.reader(p)...).start(b)
		blocked(b, reader.pid())
		time.Sleep(50 * time.Millisecond) // the condition measured, not a synchronisation
		t0 := time.Now()
		runOK(b, r.writer(p))
		if st := reader.status(b); st != 0 {
			b.Fatalf("%s reader: %d", r.name, st)
		}
		return micros(time.Since(t0))
	})
}

// BenchmarkWakeFaults counts the page faults of a writer that releases a
// waiting reader, its start to its exit: the share of the wake that moves
// far less between runs than its time (docs/figures.md).
func BenchmarkWakeFaults(b *testing.B) {
	interleave(b, "faults", func(r rival, p string) float64 {
		reader := newChild(nil, r.reader(p)...).start(b)
		blocked(b, reader.pid())
		faults := faultsOf(b, r.writer(p))
		if st := reader.status(b); st != 0 {
			b.Fatalf("%s reader: %d", r.name, st)
		}
		return faults
	})
}

// BenchmarkMemory measures the resident memory (VmRSS) of a waiting reader.
func BenchmarkMemory(b *testing.B) { interleave(b, "kB", waitingReader(b, "VmRSS")) }

// BenchmarkPrivateMemory measures a waiting reader's private memory
// (RssAnon): its resident memory but the binary's pages, which the page
// cache holds once for every process running the binary.
func BenchmarkPrivateMemory(b *testing.B) { interleave(b, "kB", waitingReader(b, "RssAnon")) }

// BenchmarkThreads counts a waiting reader's threads.
func BenchmarkThreads(b *testing.B) { interleave(b, "threads", waitingReader(b, "Threads")) }

// BenchmarkSettle counts the context switches of a reader's threads from its
// start to 300 ms after it blocked: Go's start, and how soon its runtime
// is quiet once the wait has begun (docs/figures.md).
func BenchmarkSettle(b *testing.B) {
	interleave(b, "switches", func(r rival, p string) float64 {
		reader := newChild(nil, r.reader(p)...).start(b)
		blocked(b, reader.pid())
		time.Sleep(300 * time.Millisecond) // the window measured, not a synchronisation
		n, _ := idleCost(reader.pid())
		runOK(b, r.writer(p))
		reader.status(b)
		return float64(n)
	})
}

// waitingReader returns a measure of a waiting reader: the number in field of its /proc/PID/status.
func waitingReader(b *testing.B, field string) func(r rival, p string) float64 {
	return func(r rival, p string) float64 {
		reader := newChild(nil, r.reader(p)...).start(b)
		blocked(b, reader.pid())
		n := statusKB(reader.pid(), field)
		runOK(b, r.writer(p))
		reader.status(b)
		return n
	}
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
		timeToExit(b, func(p string) (*child, int) { return asPID1(b, nil, "read", "-p", p) })
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

// idleCost returns the context switches and the CPU time, in clock ticks, of every thread of pid so far.
func idleCost(pid int) (switches, ticks uint64) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task + "/status")
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				switches += n
			}
		}
		stat, _ := os.ReadFile(task + "/stat")
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		for _, i := range []int{11, 12} { // utime and stime, counted from the field after the name
			if len(f) > i {
				n, _ := strconv.ParseUint(f[i], 10, 64)
				ticks += n
			}
		}
	}
	return switches, ticks
}

// idleFrom is how long BenchmarkIdle lets its waiters wait before it
// watches them: 65s watches the steady state, after the path watch's looks
// at 1, 4, 16 and 64 s, when they come every 2 minutes.
var idleFrom = flag.Duration("idle.from", 0, "BenchmarkIdle: how long the waiters wait before they are watched")

// BenchmarkIdle starts n idle waiters of each kind (lockpipe read, sleep,
// the Go floor) for n = 1, 100 and 1,000, all of one user, and counts their
// context switches and CPU time over b.N seconds (-benchtime 120x watches
// for two minutes), from -idle.from into their wait.
func BenchmarkIdle(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { idle(b, n) })
	}
}

// idle is BenchmarkIdle for n waiters of each kind.
func idle(b *testing.B, n int) {
	floor := floorBinary(b)
	p := filepath.Join(b.TempDir(), "pipe")
	syscall.Mkfifo(p, 0o600)
	kinds := []struct {
		name string
		argv []string
	}{{"lockpipe", []string{bin, "read", "-p", p}}, {"sleep", []string{"sleep", "3600"}}, {"floor", []string{floor, "read", p}}}
	waiters := map[string][]*child{}
	for _, k := range kinds {
		for i := 0; i < n; i++ {
			waiters[k.name] = append(waiters[k.name], newChild(nil, k.argv...).start(b))
		}
	}
	for _, k := range kinds {
		for _, c := range waiters[k.name] {
			if k.name != "sleep" {
				blocked(b, c.pid())
			}
		}
	}
	time.Sleep(*idleFrom) // into the wait, as asked: not a synchronisation
	cost := func(name string) (sw, ticks uint64) {
		for _, c := range waiters[name] {
			s, t := idleCost(c.pid())
			sw, ticks = sw+s, ticks+t
		}
		return sw, ticks
	}
	before := map[string][2]uint64{}
	for _, k := range kinds {
		sw, ticks := cost(k.name)
		before[k.name] = [2]uint64{sw, ticks}
	}
	b.ResetTimer()
	time.Sleep(time.Duration(b.N) * time.Second) // the window watched, not a synchronisation
	b.StopTimer()
	for _, k := range kinds {
		sw, ticks := cost(k.name)
		secs, nf := float64(b.N), float64(n)
		b.ReportMetric(float64(sw-before[k.name][0])/nf/secs, k.name+"-switches/waiter/s")
		b.ReportMetric(float64(ticks-before[k.name][1])*10/nf/secs*60, k.name+"-cpu-ms/waiter/min") // 100 ticks a second
	}
	lockpipe(b, nil, "delete", "-p", p)
}

// BenchmarkNotice measures how long a waiter takes to notice its pipe
// removed 1.5 s into its wait: told by its directory's notifications, and
// by a look alone, where it cannot read the directory (another user, 0711).
func BenchmarkNotice(b *testing.B) {
	for _, mode := range []string{"notified", "looked"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "looked" {
				needRoot(b)
			}
			var xs []float64
			for i := 0; i < b.N; i++ {
				top := b.TempDir()
				os.Chmod(top, 0o755)
				os.Chmod(filepath.Dir(top), 0o755)
				p := filepath.Join(top, "pipe")
				lockpipe(b, nil, "create", "-m", "0666", "-p", p)
				c := newChild(nil, bin, "read", "-p", p)
				if mode == "looked" {
					os.Chmod(top, 0o711)
					c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
				}
				c.start(b)
				blocked(b, c.pid())
				waitFor(b, "1.5 s into the wait", func() bool { return age(b, c.pid()) > 1500*time.Millisecond })
				t0 := time.Now()
				os.Remove(p)
				if st := c.status(b); st != 0 {
					b.Fatalf("reader: %d", st)
				}
				xs = append(xs, float64(time.Since(t0))/float64(time.Millisecond))
			}
			b.ReportMetric(median(xs), "ms-to-notice")
		})
	}
}

// BenchmarkSeveral measures one lockpipe waiting on 1 and on 10 pipes:
// its threads, its resident memory, and its context switches over a second
// and a half between two of its watch's looks.
func BenchmarkSeveral(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var threads, rss, sw []float64
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				args := []string{"read"}
				for j := 0; j < n; j++ {
					args = append(args, "-p", filepath.Join(dir, fmt.Sprintf("p%d", j)))
				}
				c := spawn(b, nil, args...)
				waitFor(b, "every pipe waited on", func() bool {
					tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", c.pid()))
					waits := 0
					for _, f := range tasks {
						if w, _ := os.ReadFile(f); string(w) == "wait_for_partner" {
							waits++
						}
					}
					return waits == n
				})
				waitFor(b, "the look 4 s into the wait done", func() bool { return age(b, c.pid()) > 4500*time.Millisecond })
				settled(b, c.pid())
				tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", c.pid()))
				threads = append(threads, float64(len(tasks)))
				rss = append(rss, statusKB(c.pid(), "VmRSS"))
				before, _ := idleCost(c.pid())
				time.Sleep(1500 * time.Millisecond) // the window watched
				after, _ := idleCost(c.pid())
				sw = append(sw, float64(after-before))
				c.cmd.Process.Kill()
				c.status(b)
			}
			b.ReportMetric(median(threads), "threads")
			b.ReportMetric(median(rss), "rss-kB")
			b.ReportMetric(median(sw), "switches-in-1.5s")
		})
	}
}

// statusKB returns the number in a field of /proc/PID/status: kB for memory.
func statusKB(pid int, name string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return kb
		}
	}
	return 0
}

// BenchmarkStatus measures status on a pipe with 100 lockpipes waiting on it.
func BenchmarkStatus(b *testing.B) {
	p := filepath.Join(b.TempDir(), "pipe")
	lockpipe(b, nil, "create", "-p", p)
	for i := 0; i < 100; i++ {
		blocked(b, spawn(b, nil, "read", "-p", p).pid())
	}
	var xs []float64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if st, out, _ := lockpipe(b, nil, "status", "-p", p); st != 0 || strings.Count(out, " reader pid=") != 100 {
			b.Fatalf("status %d, %d readers listed", st, strings.Count(out, " reader pid="))
		}
		xs = append(xs, float64(time.Since(t0))/float64(time.Millisecond))
	}
	b.ReportMetric(median(xs), "ms")
	lockpipe(b, nil, "delete", "-p", p)
}

// BenchmarkSize reports the release binary's size against the Go floor's,
// both built by this toolchain with the release build's flags, and that of
// LOCKPIPE_BENCH_BEFORE's build as it is.
func BenchmarkSize(b *testing.B) {
	size := func(f string) float64 {
		fi, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		return float64(fi.Size())
	}
	lp, floor := size(bin), size(floorBinary(b))
	b.ReportMetric(lp, "lockpipe-bytes")
	b.ReportMetric(floor, "floor-bytes")
	b.ReportMetric(lp/floor, "lockpipe/floor")
	if before := os.Getenv("LOCKPIPE_BENCH_BEFORE"); before != "" {
		b.ReportMetric(size(before), "before-bytes")
	}
}

// BenchmarkLifetimes measures a holder's end to its waiting reader's exit,
// and a release to run having stopped its CMD and exited.
func BenchmarkLifetimes(b *testing.B) {
	b.Run("hold-end-to-reader", func(b *testing.B) {
		var xs []float64
		for i := 0; i < b.N; i++ {
			p := filepath.Join(b.TempDir(), "pipe")
			h := spawn(b, nil, "hold", "-p", p, "--", "sleep", "3600")
			var cmd int
			waitFor(b, "held", func() bool { cmd = onlyChild(h.pid()); return cmd > 0 && holds(h.pid(), p) })
			r := spawn(b, nil, "read", "-p", p)
			blocked(b, r.pid())
			t0 := time.Now()
			syscall.Kill(cmd, syscall.SIGKILL)
			if st := r.status(b); st != 0 {
				b.Fatalf("reader: %d", st)
			}
			xs = append(xs, micros(time.Since(t0)))
			h.status(b)
		}
		b.ReportMetric(median(xs), "µs")
	})
	b.Run("release-to-run-exit", func(b *testing.B) {
		var xs []float64
		for i := 0; i < b.N; i++ {
			p := filepath.Join(b.TempDir(), "pipe")
			r := spawn(b, nil, "run", "-p", p, "--", "sleep", "3600")
			blocked(b, r.pid())
			t0 := time.Now()
			runOK(b, []string{bin, "write", "-p", p})
			if st := r.status(b); st != 0 {
				b.Fatalf("run: %d", st)
			}
			xs = append(xs, micros(time.Since(t0)))
		}
		b.ReportMetric(median(xs), "µs")
	})
}

// BenchmarkLifetimesMemory measures the resident and the private memory of
// hold and run while their CMD runs, against a waiting read and write; with
// LOCKPIPE_BENCH_BEFORE, of that build too, interleaved.
func BenchmarkLifetimesMemory(b *testing.B) {
	builds := map[string]string{"": bin}
	if before := os.Getenv("LOCKPIPE_BENCH_BEFORE"); before != "" {
		builds["before-"] = before
	}
	roles := []string{"read", "write", "hold", "run"}
	xs := map[string][]float64{}
	for i := 0; i < b.N; i++ {
		for prefix, exe := range builds {
			for j, pid := range lifetimesAlive(b, exe) {
				xs[prefix+roles[j]+"-rss-kB"] = append(xs[prefix+roles[j]+"-rss-kB"], statusKB(pid, "VmRSS"))
				xs[prefix+roles[j]+"-private-kB"] = append(xs[prefix+roles[j]+"-private-kB"], statusKB(pid, "RssAnon"))
				xs[prefix+roles[j]+"-threads"] = append(xs[prefix+roles[j]+"-threads"], statusKB(pid, "Threads"))
			}
			lifetimesEnd(b)
		}
	}
	for unit, v := range xs {
		b.ReportMetric(median(v), unit)
	}
}

// lifetimesStarted holds what lifetimesAlive started, for lifetimesEnd.
var lifetimesStarted []*child

// lifetimesAlive starts exe's read and write, waiting, and its hold and run
// with their CMD running, and returns their pids in that order.
func lifetimesAlive(b *testing.B, exe string) []int {
	dir := b.TempDir()
	p := filepath.Join(dir, "held")
	h := spawnWith(b, exe, nil, "hold", "-p", p, "--", "sleep", "3600")
	waitFor(b, "held", func() bool { return onlyChild(h.pid()) > 0 && holds(h.pid(), p) })
	r := spawnWith(b, exe, nil, "run", "-p", p, "--", "sleep", "3600")
	w := spawnWith(b, exe, nil, "read", "-p", filepath.Join(dir, "read"))
	o := spawnWith(b, exe, nil, "write", "-p", filepath.Join(dir, "write"))
	for _, c := range []*child{r, w, o} {
		blocked(b, c.pid())
	}
	lifetimesStarted = []*child{w, o, h, r}
	return []int{w.pid(), o.pid(), h.pid(), r.pid()}
}

// lifetimesEnd kills what lifetimesAlive started.
func lifetimesEnd(b *testing.B) {
	for _, c := range lifetimesStarted {
		c.cmd.Process.Kill()
		c.status(b)
	}
}
