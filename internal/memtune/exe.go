package memtune

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// DropExecutablePages takes the executable's read-only pages (code,
// constants, function tables) out of the process's page tables.
//
// Start-up (package initialisation, the config, the key stores, the
// providers) runs code that serving never runs again, and the kernel maps
// file pages in blocks around each fault, so after start-up most of the
// executable is resident although serving needs part of it. The pages
// stay in the page cache: those serving uses come back with a minor fault
// the first time, the others no longer count in the service's RSS and the
// kernel can reclaim them like any unmapped cache.
//
// Only private mappings without write permission are dropped: discarding
// a written private page would discard the write. A debugger's or a
// uprobe's breakpoint planted before the call is one such write (the
// kernel copies the page), so it is lost; plant them after start-up.
func DropExecutablePages() error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return fmt.Errorf("finding the executable: %w", err)
	}
	// On overlayfs the map may show the underlying layer's device and inode,
	// not the ones stat gives: the path identifies the file there.
	path, _ := os.Readlink("/proc/self/exe")
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return fmt.Errorf("reading the memory map: %w", err)
	}
	for _, r := range readOnlyMappings(maps, exeFile{unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino, path}) {
		// Raw addresses, not a []byte: the range is not Go memory.
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, r[0], r[1]-r[0], unix.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("releasing %#x-%#x: %w", r[0], r[1], e)
		}
	}
	return nil
}

// exeFile identifies the executable in a memory map: by device and inode,
// or by path.
type exeFile struct {
	major, minor uint32
	ino          uint64
	path         string
}

// readOnlyMappings returns the [start, end) ranges, in a /proc/<pid>/maps
// listing, of the file that are private and not writable.
func readOnlyMappings(maps []byte, exe exeFile) [][2]uintptr {
	var out [][2]uintptr
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 || !exe.is(f) {
			continue
		}
		if p := f[1]; len(p) != 4 || p[0] != 'r' || p[1] != '-' || p[3] != 'p' {
			continue
		}
		a, b, ok := bytes.Cut(f[0], []byte{'-'})
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(a), 16, 64)
		end, err2 := strconv.ParseUint(string(b), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, [2]uintptr{uintptr(start), uintptr(end)})
	}
	return out
}

// is reports whether the fields of a map line name the executable.
func (exe exeFile) is(f [][]byte) bool {
	if exe.path != "" && len(f) > 5 && string(bytes.Join(f[5:], []byte{' '})) == exe.path {
		return true
	}
	if i, err := strconv.ParseUint(string(f[4]), 10, 64); err != nil || i != exe.ino {
		return false
	}
	ma, mi, _ := bytes.Cut(f[3], []byte{':'})
	if x, err := strconv.ParseUint(string(ma), 16, 32); err != nil || uint32(x) != exe.major {
		return false
	}
	x, err := strconv.ParseUint(string(mi), 16, 32)
	return err == nil && uint32(x) == exe.minor
}
