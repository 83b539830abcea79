package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const fakeNuboEnv = "NUBO_BENCH_FAKE_NUBO"

// TestMain lets the test binary double as a fake `nubo` executable for
// StartNubo: with fakeNuboEnv set it behaves like `nubo up` serving the
// fake Identity API instead of running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeNuboEnv); mode != "" {
		os.Exit(fakeNuboMain(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeNuboMain(mode string, args []string) int {
	if mode == "crash" {
		fmt.Fprintln(os.Stderr, "fake nubo: boom, cannot open database")
		return 3
	}
	if len(args) == 0 || args[0] != "up" {
		fmt.Fprintf(os.Stderr, "fake nubo: want `up`, got %q\n", args)
		return 2
	}
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "")
	listen := fs.String("listen", "", "")
	pass := fs.String("admin-password", "", "")
	cost := fs.Int("bcrypt-cost", 12, "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *dataDir == "" || *listen == "" || *pass == "" {
		fmt.Fprintln(os.Stderr, "fake nubo: missing flag")
		return 2
	}
	if err := os.WriteFile(filepath.Join(*dataDir, "fake.db"), []byte("x"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "fake nubo:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: newFakeKeystone(*pass, *cost)}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	fmt.Printf("fake nubo listening on %s\n", *listen)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "fake nubo:", err)
		return 1
	}
	fmt.Println("fake nubo: terminated")
	return 0
}

func TestStartNuboAndSuite(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartNubo(context.Background(), exe, NuboOptions{
		AdminPassword: "pw",
		BcryptCost:    4,
		ReadyTimeout:  10 * time.Second,
		Env:           []string{fakeNuboEnv + "=up"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if srv.PID == os.Getpid() || !strings.HasPrefix(srv.BaseURL, "http://127.0.0.1:") {
		t.Fatalf("server %+v", srv)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "data", "fake.db")); err != nil {
		t.Errorf("data dir not used: %v", err)
	}

	rep, err := RunIdentitySuite(context.Background(), IdentityConfig{
		BaseURL: srv.BaseURL, PID: srv.PID, Password: "pw", BcryptCost: 4, BcryptRuns: 2,
		Concurrency: []int{2}, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond,
		Settle: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Runs {
		if r.Result.Errors != 0 || r.Result.OK == 0 {
			t.Errorf("%s: OK %d, errors %s", r.Name, r.Result.OK, r.Result.ErrorSummary())
		}
		// The child process does real work: its CPU must show up.
		if r.ServerCPUErr != nil || r.ServerCPU <= 0 {
			t.Errorf("%s: server CPU %v (%v)", r.Name, r.ServerCPU, r.ServerCPUErr)
		}
	}
	if rep.IdleRSS <= 0 || rep.MaxRSS <= 0 {
		t.Errorf("RSS idle %d max %d", rep.IdleRSS, rep.MaxRSS)
	}

	dir := srv.Dir
	if err := srv.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s not removed: %v", dir, err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", srv.PID)); err == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", srv.PID)); !strings.Contains(string(st), ") Z") {
			t.Errorf("server pid %d still alive", srv.PID)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartNuboCrash(t *testing.T) {
	exe, _ := os.Executable()
	t0 := time.Now()
	_, err := StartNubo(context.Background(), exe, NuboOptions{
		AdminPassword: "pw", ReadyTimeout: 10 * time.Second,
		Env: []string{fakeNuboEnv + "=crash"},
	})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v", err)
	}
	if time.Since(t0) > 5*time.Second {
		t.Errorf("took %v to notice the crash", time.Since(t0))
	}
	if _, err := StartNubo(context.Background(), "/nonexistent/nubo", NuboOptions{AdminPassword: "pw"}); err == nil {
		t.Error("started a non-existent binary")
	}
}
