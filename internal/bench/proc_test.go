package bench

import (
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A real /proc/PID/stat line, with a command name containing a space and
// a closing parenthesis to exercise the parsing of field 2.
const sampleStat = "4242 (nubo) up)) S 1 4242 4242 0 -1 4194560 5263 0 0 0 " +
	"1234 567 0 0 20 0 9 0 33459 1283366912 6174 18446744073709551615 " +
	"4194304 17530253 140722741620208 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0\n"

func TestParseStatCPU(t *testing.T) {
	u, s, err := ParseStatCPU(sampleStat)
	if err != nil {
		t.Fatal(err)
	}
	if u != 1234 || s != 567 {
		t.Errorf("utime, stime = %d, %d; want 1234, 567", u, s)
	}
	for _, bad := range []string{"", "12 (x S 1 2", "12 (x) S 1 2 3", "12 (x) S 1 2 3 4 5 6 7 8 9 10 u 1 2 3"} {
		if _, _, err := ParseStatCPU(bad); err == nil {
			t.Errorf("ParseStatCPU(%q) succeeded", bad)
		}
	}
}

const sampleStatus = `Name:	nubo
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
VmPeak:	 1254656 kB
VmSize:	 1253288 kB
VmHWM:	   31212 kB
VmRSS:	   24696 kB
RssAnon:	   14020 kB
RssFile:	   10676 kB
Threads:	9
`

func TestParseStatusRSS(t *testing.T) {
	got, err := ParseStatusRSS(sampleStatus)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(24696 * 1024); got != want {
		t.Errorf("RSS = %d, want %d", got, want)
	}
	if _, err := ParseStatusRSS("Name:\tkthreadd\nState:\tS\n"); err == nil {
		t.Error("status without VmRSS parsed")
	}
	if _, err := ParseStatusRSS("VmRSS:\t12 MB\n"); err == nil {
		t.Error("VmRSS with unknown unit parsed")
	}
}

func TestParseAuxv(t *testing.T) {
	var b []byte
	for _, kv := range [][2]uint64{{6, 4096}, {17, 250}, {0, 0}, {17, 1}} {
		b = binary.NativeEndian.AppendUint64(b, kv[0])
		b = binary.NativeEndian.AppendUint64(b, kv[1])
	}
	if v, ok := parseAuxv(b, 8, 17); !ok || v != 250 {
		t.Errorf("AT_CLKTCK = %d, %v", v, ok)
	}
	if _, ok := parseAuxv(b, 8, 99); ok {
		t.Error("found absent key")
	}
	var b32 []byte
	b32 = binary.NativeEndian.AppendUint32(b32, 17)
	b32 = binary.NativeEndian.AppendUint32(b32, 100)
	if v, ok := parseAuxv(b32, 4, 17); !ok || v != 100 {
		t.Errorf("32-bit AT_CLKTCK = %d, %v", v, ok)
	}
}

func TestParseMachineCPU(t *testing.T) {
	const stat = "cpu  1000 20 300 50000 400 5 6 7 100 0\ncpu0 500 10 150 25000 200 2 3 3 50 0\nintr 1 2 3\n"
	busy, err := ParseMachineCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(1000 + 20 + 300 + 5 + 6 + 7); busy != want {
		t.Errorf("busy = %d, want %d", busy, want)
	}
	if _, err := ParseMachineCPU("cpu0 1 2 3 4 5\n"); err == nil {
		t.Error("parsed /proc/stat without aggregate line")
	}
	if _, err := ParseMachineCPU("cpu 1 x 3 4 5\n"); err == nil {
		t.Error("parsed a non-numeric field")
	}
	if d, err := ReadMachineCPU(); err != nil || d <= 0 {
		t.Errorf("ReadMachineCPU() = %v, %v", d, err)
	}
}

func TestTicks(t *testing.T) {
	if got := ticksToDuration(1801, 100); got != 18010*time.Millisecond {
		t.Errorf("1801 ticks at 100 Hz = %v", got)
	}
	if hz := ClockTicks(); hz <= 0 || hz > 10000 {
		t.Errorf("ClockTicks() = %d", hz)
	}
}

func TestReadSelf(t *testing.T) {
	// Burn some CPU so that the tick-granular counter moves.
	before, err := ReadCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self0, err := SelfCPUTime()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		x += len(strings.Repeat("a", 64))
	}
	after, _ := ReadCPUTime(os.Getpid())
	self1, _ := SelfCPUTime()
	if after-before < 30*time.Millisecond {
		t.Errorf("/proc CPU time moved by %v after a 100ms busy loop", after-before)
	}
	if self1-self0 < 30*time.Millisecond {
		t.Errorf("getrusage CPU time moved by %v after a 100ms busy loop", self1-self0)
	}
	rss, err := ReadRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("ReadRSS(self) = %d, %v", rss, err)
	}
	if _, err := ReadCPUTime(1 << 30); err == nil {
		t.Error("ReadCPUTime of a non-existent pid succeeded")
	}
}

func TestRSSSampler(t *testing.T) {
	s := StartRSSSampler(os.Getpid(), 10*time.Millisecond)
	keep := make([]byte, 32<<20)
	for i := range keep {
		keep[i] = 1
	}
	time.Sleep(50 * time.Millisecond)
	maxRSS, n, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Errorf("only %d samples", n)
	}
	if maxRSS < 32<<20 {
		t.Errorf("max RSS %d below the 32 MiB just touched", maxRSS)
	}
	runtime.KeepAlive(keep)
}
