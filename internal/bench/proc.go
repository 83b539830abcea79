package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// atClkTck is the auxiliary vector entry that holds sysconf(_SC_CLK_TCK).
const atClkTck = 17

var (
	clockTicksOnce sync.Once
	clockTicks     int64
)

// ClockTicks returns the number of clock ticks per second used by the
// utime and stime fields of /proc/PID/stat (sysconf(_SC_CLK_TCK)). It is
// read from the AT_CLKTCK entry of /proc/self/auxv, which is where libc's
// sysconf takes it from, and falls back to 100 (USER_HZ on every Linux
// architecture Go supports) if that fails.
func ClockTicks() int64 {
	clockTicksOnce.Do(func() {
		clockTicks = 100
		b, err := os.ReadFile("/proc/self/auxv")
		if err != nil {
			return
		}
		if v, ok := parseAuxv(b, strconv.IntSize/8, atClkTck); ok && v > 0 {
			clockTicks = int64(v)
		}
	})
	return clockTicks
}

// parseAuxv looks key up in an auxiliary vector made of native-endian
// (key, value) pairs of wordSize bytes each.
func parseAuxv(b []byte, wordSize int, key uint64) (uint64, bool) {
	word := func(p []byte) uint64 {
		if wordSize == 4 {
			return uint64(binary.NativeEndian.Uint32(p))
		}
		return binary.NativeEndian.Uint64(p)
	}
	for len(b) >= 2*wordSize {
		k, v := word(b[:wordSize]), word(b[wordSize:2*wordSize])
		b = b[2*wordSize:]
		if k == 0 { // AT_NULL
			break
		}
		if k == key {
			return v, true
		}
	}
	return 0, false
}

// ParseStatCPU extracts utime and stime (fields 14 and 15, in clock
// ticks) from the content of /proc/PID/stat. The command name (field 2)
// is parenthesised and may itself contain spaces and parentheses, so the
// remaining fields are taken after the last ')'.
func ParseStatCPU(stat string) (utime, stime int64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bench: malformed stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("bench: malformed stat: %d fields after comm", len(f))
	}
	if utime, err = strconv.ParseInt(f[14-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bench: stat utime: %w", err)
	}
	if stime, err = strconv.ParseInt(f[15-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bench: stat stime: %w", err)
	}
	return utime, stime, nil
}

// ParseStatusRSS extracts VmRSS, in bytes, from the content of
// /proc/PID/status.
func ParseStatusRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: malformed VmRSS line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("bench: no VmRSS in status (kernel thread or zombie?)")
}

// ParseMachineCPU extracts the machine-wide busy CPU time, in clock
// ticks, from the aggregate "cpu" line of /proc/stat: every field except
// idle and iowait (guest time is already included in user and nice).
func ParseMachineCPU(stat string) (busy int64, err error) {
	for line := range strings.Lines(stat) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 5 {
			return 0, fmt.Errorf("bench: malformed /proc/stat cpu line %q", strings.TrimSpace(line))
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]
		for i, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bench: /proc/stat: %w", err)
			}
			if i != 3 && i != 4 {
				busy += n
			}
		}
		return busy, nil
	}
	return 0, fmt.Errorf("bench: no cpu line in /proc/stat")
}

// ReadMachineCPU returns the CPU time all processes of the machine have
// consumed since boot, from /proc/stat.
func ReadMachineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	busy, err := ParseMachineCPU(string(b))
	if err != nil {
		return 0, err
	}
	return ticksToDuration(busy, ClockTicks()), nil
}

// ReadCPUTime returns the user+system CPU time consumed so far by process
// pid (all its threads), from /proc/PID/stat.
func ReadCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	u, s, err := ParseStatCPU(string(b))
	if err != nil {
		return 0, err
	}
	return ticksToDuration(u+s, ClockTicks()), nil
}

func ticksToDuration(ticks, hz int64) time.Duration {
	return time.Duration(ticks) * time.Second / time.Duration(hz)
}

// ReadRSS returns the resident set size of process pid in bytes, from
// VmRSS in /proc/PID/status.
func ReadRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return ParseStatusRSS(string(bytes.ToValidUTF8(b, nil)))
}

// SelfCPUTime returns the user+system CPU time consumed so far by the
// calling process (all threads), from getrusage(RUSAGE_SELF).
func SelfCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// RSSSampler samples the RSS of a process at a fixed interval and keeps
// the maximum. Create it with StartRSSSampler and end it with Stop.
type RSSSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	max     int64
	samples int
	err     error
}

// StartRSSSampler samples ReadRSS(pid) immediately and then every
// interval until Stop is called.
func StartRSSSampler(pid int, interval time.Duration) *RSSSampler {
	s := &RSSSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *RSSSampler) sample() {
	rss, err := ReadRSS(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.samples++
	s.max = max(s.max, rss)
}

// Stop takes a last sample, stops sampling and returns the maximum RSS
// seen in bytes and the number of successful samples. The error is the
// first sampling error, if any.
func (s *RSSSampler) Stop() (maxRSS int64, samples int, err error) {
	close(s.stop)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max, s.samples, s.err
}
