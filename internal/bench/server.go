package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// IdentityPath is where Nubo serves its Keystone v3 compatible API.
const IdentityPath = "/identity/v3"

// NuboOptions configures StartNubo.
type NuboOptions struct {
	// AdminPassword is passed as --admin-password.
	AdminPassword string
	// BcryptCost, if > 0, is passed as --bcrypt-cost.
	BcryptCost int
	// ReadyTimeout bounds the wait for GET /identity/v3 to answer 200
	// (default 60s).
	ReadyTimeout time.Duration
	// Env is added to the environment of the server process.
	Env []string
	// Args are appended to the `nubo up` command line.
	Args []string
}

// Server is a `nubo up` process started by StartNubo.
type Server struct {
	// BaseURL is http://127.0.0.1:PORT (without IdentityPath).
	BaseURL string
	PID     int
	// Dir is the temporary directory holding the data dir and the log.
	Dir     string
	LogPath string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// FreeLoopbackAddr returns a 127.0.0.1:PORT address that was free a
// moment ago.
func FreeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// StartNubo runs `path up --data-dir DIR --listen 127.0.0.1:PORT
// --admin-password PASS [--bcrypt-cost N]` on a fresh temporary data
// directory and a free loopback port, and waits until GET /identity/v3
// answers 200. The caller must call Stop.
func StartNubo(ctx context.Context, path string, opts NuboOptions) (*Server, error) {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp("", "nubo-bench-")
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr, err := FreeLoopbackAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logPath := filepath.Join(dir, "nubo.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	args := []string{"up", "--data-dir", dataDir, "--listen", addr, "--admin-password", opts.AdminPassword}
	if opts.BcryptCost > 0 {
		args = append(args, "--bcrypt-cost", strconv.Itoa(opts.BcryptCost))
	}
	args = append(args, opts.Args...)
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), opts.Env...)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: starting %s: %w", path, err)
	}
	s := &Server{
		BaseURL: "http://" + addr,
		PID:     cmd.Process.Pid,
		Dir:     dir,
		LogPath: logPath,
		cmd:     cmd,
		exited:  make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	if err := WaitReady(ctx, s.BaseURL, opts.ReadyTimeout, s.exited); err != nil {
		tail := s.LogTail(4096)
		s.Stop()
		if tail != "" {
			err = fmt.Errorf("%w\n--- nubo log (tail) ---\n%s", err, tail)
		}
		return nil, err
	}
	return s, nil
}

// WaitReady polls GET baseURL/identity/v3 until it answers 200, the
// timeout expires, the context is cancelled or exited (which may be nil)
// is closed.
func WaitReady(ctx context.Context, baseURL string, timeout time.Duration, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+IdentityPath, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = "status " + resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s%s not ready after %v: %s", baseURL, IdentityPath, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("bench: server exited before it was ready (last probe: %s)", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Exited is closed when the server process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// LogTail returns up to the last n bytes of the server's output.
func (s *Server) LogTail(n int64) string {
	f, err := os.Open(s.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimRight(string(bytes.ToValidUTF8(b, nil)), "\n")
}

// Stop terminates the server (SIGTERM, then SIGKILL after 10s), waits for
// it and removes its temporary directory. It is safe to call more than
// once.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			return err
		}
		s.Dir = ""
	}
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		return nil // terminated by us or exited with a status: not our error
	}
	return s.waitErr
}
