//go:build linux && (mips64 || mips64le)

package main

// sysRenameat2 is renameat2(2)'s number on mips64 and mips64le (n64).
const sysRenameat2 = 5311
