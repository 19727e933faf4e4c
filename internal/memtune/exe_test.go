package memtune

import (
	"bufio"
	"bytes"
	"os"
	"reflect"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadOnlyMappings(t *testing.T) {
	maps := []byte(`00400000-00790000 r-xp 00000000 fe:01 1234 /usr/bin/parsec
00790000-00b3c000 r--p 00390000 fe:01 1234 /usr/bin/parsec
00b3c000-00b78000 rw-p 0073c000 fe:01 1234 /usr/bin/parsec
00b78000-00b79000 r--s 0073c000 fe:01 1234 /usr/bin/parsec
00c00000-00c10000 r--p 00000000 fe:01 99 /usr/lib/other
00d00000-00d10000 r--p 00000000 fe:02 1234 /mnt/same-inode-other-device
00e00000-00e10000 rwxp 00000000 fe:01 1234 /usr/bin/parsec
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
7ffc00798000-7ffc007b9000 rw-p 00000000 00:00 0 [stack]
garbage line
10f00000-10f01000 r--p 00000000 103:10e 5 /dev/big-minor (deleted)
11000000-11010000 r-xp 00000000 00:2a 777 /usr/sbin/on overlay
11010000-11020000 rw-p 00010000 00:2a 777 /usr/sbin/on overlay
`)
	for _, tc := range []struct {
		name string
		exe  exeFile
		want [][2]uintptr
	}{
		{"text and constants only", exeFile{0xfe, 1, 1234, ""}, [][2]uintptr{{0x400000, 0x790000}, {0x790000, 0xb3c000}}},
		{"other file", exeFile{0xfe, 1, 99, ""}, [][2]uintptr{{0xc00000, 0xc10000}}},
		{"wide device numbers", exeFile{0x103, 0x10e, 5, ""}, [][2]uintptr{{0x10f00000, 0x10f01000}}},
		{"not mapped", exeFile{0xfe, 1, 7, "/usr/bin/none"}, nil},
		{"by path (overlayfs: other device and inode)", exeFile{0x0, 0x30, 12, "/usr/sbin/on overlay"}, [][2]uintptr{{0x11000000, 0x11010000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readOnlyMappings(maps, tc.exe); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#x, want %#x", got, tc.want)
			}
		})
	}
}

// written must survive the drop: it lives in the writable data segment.
var written = []int{1, 2, 3}

func TestDropExecutablePages(t *testing.T) {
	written[1] = 42
	before := exeRSS(t)
	if err := DropExecutablePages(); err != nil {
		t.Fatal(err)
	}
	after := exeRSS(t)
	t.Logf("resident read-only pages of the test binary: %d kB before, %d kB after", before, after)
	if after >= before {
		t.Fatalf("read-only pages of the executable still resident: %d kB before, %d kB after", before, after)
	}
	if written[1] != 42 || written[2] != 3 {
		t.Fatalf("writable data lost: %v", written)
	}
}

// exeRSS sums the Rss of the executable's read-only private mappings.
func exeRSS(t *testing.T) int {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	ranges := readOnlyMappings(smaps, exeFile{unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino, ""})
	if len(ranges) == 0 {
		t.Fatal("no read-only mapping of the executable found")
	}
	total, in := 0, false
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) > 0 && bytes.IndexByte(f[0], '-') > 0 && !bytes.HasSuffix(f[0], []byte{':'}) {
			in = false
			for _, r := range ranges {
				start, _ := strconv.ParseUint(string(f[0][:bytes.IndexByte(f[0], '-')]), 16, 64)
				in = in || uintptr(start) == r[0]
			}
			continue
		}
		if in && len(f) >= 2 && string(f[0]) == "Rss:" {
			n, _ := strconv.Atoi(string(f[1]))
			total += n
		}
	}
	return total
}
