//go:build linux && (arm64 || riscv64 || loong64)

package main

// sysRenameat2 is renameat2(2)'s number on the ports that use the generic table: arm64, riscv64 and loong64.
const sysRenameat2 = 276
