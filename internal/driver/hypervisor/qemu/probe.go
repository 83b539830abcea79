package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// probeBootSector is a 512-byte MBR that prints "K\n" on COM1 and halts:
//
//	mov dx, 0x3f8 ; mov al, 'K' ; out dx, al ; mov al, 10 ; out dx, al ; hlt ; jmp $-1
func probeBootSector() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xBA, 0xF8, 0x03, 0xB0, 'K', 0xEE, 0xB0, 0x0A, 0xEE, 0xF4, 0xEB, 0xFD})
	b[510], b[511] = 0x55, 0xAA
	return b
}

// ProbeKVM reports whether a guest really runs under accel ("kvm"; "tcg"
// exercises the probe itself in tests): /dev/kvm must open read-write and
// a boot-sector guest must print its marker within timeout. On some nested
// hosts /dev/kvm exists but QEMU aborts setting MSRs (-cpu host) or the
// guest never runs, which only a real run detects.
func ProbeKVM(ctx context.Context, qemuBin, accel string, timeout time.Duration) (bool, string) {
	cpu := "max"
	if accel == "kvm" {
		f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
		if err != nil {
			return false, err.Error()
		}
		f.Close()
		cpu = "host"
	}
	dir, err := os.MkdirTemp("", "nubo-kvm-probe")
	if err != nil {
		return false, err.Error()
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "probe.img")
	if err := os.WriteFile(img, probeBootSector(), 0o600); err != nil {
		return false, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(qemuBin, "-nodefaults", "-no-user-config", "-display", "none",
		"-machine", "pc", "-accel", accel, "-cpu", cpu, "-m", "16M", "-no-reboot",
		"-drive", "file="+esc(img)+",format=raw,if=ide,index=0",
		"-serial", "stdio", "-monitor", "none")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, err.Error()
	}
	if err := cmd.Start(); err != nil {
		return false, err.Error()
	}
	found := make(chan bool, 1)
	go func() {
		buf := make([]byte, 256)
		var seen []byte
		for {
			n, err := out.Read(buf)
			seen = append(seen, buf[:n]...)
			if bytes.Contains(seen, []byte("K\n")) {
				found <- true
				io.Copy(io.Discard, out)
				return
			}
			if err != nil {
				found <- false
				return
			}
		}
	}()
	var ok bool
	select {
	case ok = <-found:
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	cmd.Wait()
	if ok {
		return true, ""
	}
	msg := strings.TrimSpace(stderr.String())
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	if msg == "" {
		msg = fmt.Sprintf("probe guest printed nothing within %v", timeout)
	}
	return false, accel + " probe failed: " + msg
}

var versionRE = regexp.MustCompile(`version (\d+\.\d+\.\d+)`)

// qemuVersion runs `qemu --version`.
func qemuVersion(ctx context.Context, qemuBin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemuBin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("qemu: %s --version: %w", qemuBin, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("qemu: cannot parse %q", strings.SplitN(string(out), "\n", 2)[0])
	}
	return string(m[1]), nil
}
