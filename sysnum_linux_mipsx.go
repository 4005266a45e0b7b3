//go:build linux && (mips || mipsle)

package main

// sysRenameat2 is renameat2(2)'s number on mips and mipsle (o32).
const sysRenameat2 = 4351
