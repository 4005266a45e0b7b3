//go:build linux && (mips || mipsle || mips64 || mips64le)

package main

import "unsafe"

// The kernel's signal structures on mips: 128 signals, sigprocmask's
// operations numbered from 1, and sa_flags, an unsigned int, before the handler.
const (
	sigBlock    = 1  // SIG_BLOCK
	sigUnblock  = 2  // SIG_UNBLOCK
	sigSetmask  = 3  // SIG_SETMASK
	sigsetBytes = 16 // the kernel's sigset_t
)

// handler returns where the action's handler is.
func (a *sigaction) handler() *uintptr { return &a[1] }

// clearRestart clears SA_RESTART in the action's flags.
func (a *sigaction) clearRestart() { *(*uint32)(unsafe.Pointer(&a[0])) &^= saRestart }
