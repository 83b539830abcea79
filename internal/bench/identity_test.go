package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestAuthBodies(t *testing.T) {
	cfg := IdentityConfig{Password: `pa"ss`}
	cfg.defaults()
	var got, want any
	json.Unmarshal(cfg.PasswordAuthBody(), &got)
	json.Unmarshal([]byte(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"pa\"ss"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}`), &want)
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("password body\n got %s\nwant %s", g, w)
	}
	json.Unmarshal(cfg.TokenAuthBody("T1"), &got)
	json.Unmarshal([]byte(`{"auth":{"identity":{"methods":["token"],"token":{"id":"T1"}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}`), &want)
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("token body\n got %s\nwant %s", g, w)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // maps are marshalled with sorted keys
	return string(b)
}

func TestBcryptFloor(t *testing.T) {
	d, err := BcryptFloor("secret", 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Cost 8 is 256 Blowfish key expansions: well above 0.1ms, well
	// below a second on anything.
	if d < 100*time.Microsecond || d > time.Second {
		t.Errorf("bcrypt cost 8 floor = %v", d)
	}
}

// TestIdentitySuiteFake runs the whole suite against the in-process fake:
// the "server" PID is this test process.
func TestIdentitySuiteFake(t *testing.T) {
	const pass = "s3cret"
	fake := newFakeKeystone(pass, 4)
	srv := httptest.NewServer(fake)
	defer srv.Close()

	var progress bytes.Buffer
	rep, err := RunIdentitySuite(context.Background(), IdentityConfig{
		BaseURL:     srv.URL + IdentityPath + "/", // normalised by the suite
		PID:         os.Getpid(),
		ServerDesc:  "fake",
		Password:    pass,
		BcryptCost:  4,
		BcryptRuns:  3,
		Concurrency: []int{1, 8},
		Warmup:      50 * time.Millisecond,
		Duration:    200 * time.Millisecond,
		RSSInterval: 20 * time.Millisecond,
		Progress:    &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 8 {
		t.Fatalf("%d runs", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if r.Result.Errors != 0 || r.Result.WarmupErrors != 0 {
			t.Errorf("%s c=%d: errors %s", r.Name, r.Result.Concurrency, r.Result.ErrorSummary())
		}
		if r.Result.OK == 0 {
			t.Errorf("%s c=%d: no successful request", r.Name, r.Result.Concurrency)
		}
		if r.ServerCPUErr != nil || r.ServerWall < 150*time.Millisecond {
			t.Errorf("%s c=%d: server CPU %v over %v: %v", r.Name, r.Result.Concurrency, r.ServerCPU, r.ServerWall, r.ServerCPUErr)
		}
		if r.MaxRSS <= 0 {
			t.Errorf("%s c=%d: no RSS sample", r.Name, r.Result.Concurrency)
		}
	}
	if rep.IdleRSSErr != nil || rep.IdleRSS <= 0 || rep.MaxRSS < rep.IdleRSS/2 {
		t.Errorf("RSS idle %d (%v), max %d", rep.IdleRSS, rep.IdleRSSErr, rep.MaxRSS)
	}
	if rep.BcryptFloor <= 0 {
		t.Errorf("bcrypt floor %v", rep.BcryptFloor)
	}
	// Every scenario reached the fake.
	for _, k := range []string{"POST /identity/v3/auth/tokens", "GET /identity/v3/auth/tokens", "GET /identity/v3/projects"} {
		if fake.count(k) == 0 {
			t.Errorf("fake never saw %s", k)
		}
	}

	var out bytes.Buffer
	if err := rep.WriteMarkdown(&out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	t.Logf("progress:\n%s\nreport:\n%s", progress.String(), md)
	for _, want := range []string{
		"| scenario | c | req/s | p50 ms | p99 ms | errors | server cores | CPU-ms/req |",
		"| token issue (password) | 1 |", "| token issue (password) | 8 |",
		"| token issue (token) | 8 |", "| token validate | 1 |", "| project list | 8 |",
		"RSS idle", "RSS max under load", "bcrypt check floor",
		"bcrypt check CPU-ms: c=1: ", "Keystone 22.0.2", "| 6.9 |", "| 264–295 |", "| 40.7 |", "| 39.5 |", "| 279 MiB |",
		"≥ 10,000 |", "< 40 MB",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A fake answering a few hundred requests per second cannot meet the
	// 10,000 req/s targets on a loaded test machine... unless it can; do
	// not assert the verdict, only that one was given for each target.
	if n := strings.Count(md, " met |") + strings.Count(md, "**not met**"); n < 4 {
		t.Errorf("only %d verdicts in\n%s", n, md)
	}
}

func TestIdentitySuiteReportsErrors(t *testing.T) {
	fake := newFakeKeystone("pw", 4)
	fake.breakValidate = true
	srv := httptest.NewServer(fake)
	defer srv.Close()
	rep, err := RunIdentitySuite(context.Background(), IdentityConfig{
		BaseURL: srv.URL, Password: "pw", BcryptCost: 4, BcryptRuns: 1,
		Concurrency: []int{2}, Duration: 100 * time.Millisecond,
		Scenarios: []string{ScenarioValidate, ScenarioProjectList},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Scenario != ScenarioValidate {
		t.Fatalf("runs %+v", rep.Runs)
	}
	v := rep.Runs[0].Result
	if v.OK != 0 || v.Errors == 0 || v.ErrorKinds["status 404 (want 200)"] != v.Errors {
		t.Errorf("validate: OK %d errors %d %v", v.OK, v.Errors, v.ErrorKinds)
	}
	var out bytes.Buffer
	rep.WriteMarkdown(&out)
	md := out.String()
	for _, want := range []string{"errors in token validate c=2", "status 404 (want 200)", "body: `{\"error\"", "server cores | CPU-ms/req", "| n/a | n/a |", "RSS idle: n/a", "not measured"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestIdentitySuiteBadPassword(t *testing.T) {
	srv := httptest.NewServer(newFakeKeystone("right", 4))
	defer srv.Close()
	_, err := RunIdentitySuite(context.Background(), IdentityConfig{
		BaseURL: srv.URL, Password: "wrong", BcryptCost: 4, BcryptRuns: 1,
		Concurrency: []int{1}, Duration: 100 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("err = %v", err)
	}
	_, err = RunIdentitySuite(context.Background(), IdentityConfig{
		BaseURL: srv.URL, Password: "right", Concurrency: []int{1}, Duration: time.Second,
		Scenarios: []string{"nope"},
	})
	if err == nil {
		t.Error("unknown scenario accepted")
	}
}
