package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/nubo-cloud/nubo/internal/agent"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/hypervisortest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// fakeKeystone issues numbered tokens valid for ttl and counts them.
type fakeKeystone struct {
	mu     sync.Mutex
	issued int
	ttl    time.Duration
	body   map[string]any // the last request
}

func (k *fakeKeystone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/identity/v3/auth/tokens" {
		http.NotFound(w, r)
		return
	}
	k.body = nil
	if err := json.NewDecoder(r.Body).Decode(&k.body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	auth := k.body["auth"].(map[string]any)
	user := auth["identity"].(map[string]any)["password"].(map[string]any)["user"].(map[string]any)
	if user["password"] != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
		return
	}
	k.issued++
	w.Header().Set("X-Subject-Token", fmt.Sprintf("tok-%d", k.issued))
	w.WriteHeader(http.StatusCreated)
	exp := time.Now().Add(k.ttl).UTC().Format("2006-01-02T15:04:05.000000Z")
	fmt.Fprintf(w, `{"token": {"expires_at": %q, "methods": ["password"]}}`, exp)
}

func TestKeystoneTokens(t *testing.T) {
	ks := &fakeKeystone{ttl: time.Hour}
	srv := httptest.NewServer(ks)
	defer srv.Close()
	now := time.Now()
	k := &keystoneTokens{
		authURL: srv.URL + "/identity/v3/auth/tokens", hc: srv.Client(),
		user: "admin", password: "secret", userDomain: "Default", project: "admin", projectDomain: "Default",
		now: func() time.Time { return now },
	}
	ctx := t.Context()

	tok, err := k.Token(ctx)
	if err != nil || tok != "tok-1" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	scope := ks.body["auth"].(map[string]any)["scope"].(map[string]any)["project"].(map[string]any)
	if scope["name"] != "admin" || scope["domain"].(map[string]any)["name"] != "Default" {
		t.Errorf("scope = %v", scope)
	}
	// Cached while valid.
	now = now.Add(50 * time.Minute)
	if tok, _ := k.Token(ctx); tok != "tok-1" {
		t.Errorf("Token within its lifetime = %q, want tok-1 again", tok)
	}
	// Renewed shortly before it expires.
	now = now.Add(9 * time.Minute)
	if tok, _ := k.Token(ctx); tok != "tok-2" {
		t.Errorf("Token near its expiry = %q, want tok-2", tok)
	}
	// Renewed after a 401; invalidating an older token does nothing.
	k.Invalidate("tok-1")
	if tok, _ := k.Token(ctx); tok != "tok-2" {
		t.Errorf("Token after invalidating another = %q, want tok-2", tok)
	}
	k.Invalidate("tok-2")
	if tok, _ := k.Token(ctx); tok != "tok-3" {
		t.Errorf("Token after invalidation = %q, want tok-3", tok)
	}

	k.password = "wrong"
	k.Invalidate("tok-3")
	if _, err := k.Token(ctx); err == nil {
		t.Error("wrong password authenticated")
	} else if want := "keystone: authenticate admin in project admin: 401 The request you have made requires authentication."; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestKeystoneTokens_ShortLifetime(t *testing.T) {
	// A token living less than the margin is still used for most of its
	// life, not renewed on every call.
	ks := &fakeKeystone{ttl: time.Minute}
	srv := httptest.NewServer(ks)
	defer srv.Close()
	k := &keystoneTokens{authURL: srv.URL + "/identity/v3/auth/tokens", hc: srv.Client(), user: "u", password: "secret"}
	for range 3 {
		if _, err := k.Token(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if ks.issued != 1 {
		t.Errorf("issued %d tokens for three calls, want 1", ks.issued)
	}
}

func TestControlURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.0.0.1:8770":   "http://10.0.0.1:8770",
		"https://cloud.example/": "https://cloud.example",
		"":                       "",
		"10.0.0.1:8770":          "",
		"ftp://x":                "",
	} {
		got, err := controlURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("controlURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDetectHost(t *testing.T) {
	h, err := detectHost(agentFlags{hostName: "h1", networkNode: true}, "http://127.0.0.1:8770", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "h1" || h.HypervisorHostname != "h1" || !h.NetworkNode || h.HypervisorType != "QEMU" {
		t.Errorf("host = %+v", h)
	}
	if ip := net.ParseIP(h.HostIP); ip == nil || !ip.IsLoopback() {
		t.Errorf("host IP towards 127.0.0.1 = %q, want a loopback address", h.HostIP)
	}
	if h.VCPUs < 1 || h.MemoryMB < 1 {
		t.Errorf("capacity = %d vCPUs, %d MB", h.VCPUs, h.MemoryMB)
	}
	if _, err := detectHost(agentFlags{hostName: "h1", hostIP: "not-an-ip"}, "http://127.0.0.1:8770", t.TempDir()); err == nil {
		t.Error("a bad --host-ip was accepted")
	}
}

// stubControl answers Register, State and Wait; the embedded nil Control
// panics on anything else.
type stubControl struct {
	hostapi.Control
	mu         sync.Mutex
	registered []hostapi.Host
	states     int
}

func (s *stubControl) Register(_ context.Context, h hostapi.Host) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registered = append(s.registered, h)
	return "host-1", nil
}

func (s *stubControl) State(_ context.Context, id string) (*hostapi.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states++
	return &hostapi.State{Revision: 3, HostID: id}, nil
}

func (s *stubControl) Wait(ctx context.Context, after int64) (int64, error) {
	<-ctx.Done()
	return after, ctx.Err()
}

// TestAgentOverHostAPI runs the agent's client side against the host
// API behind Keystone-style tokens, as on another machine.
func TestAgentOverHostAPI(t *testing.T) {
	ks := &fakeKeystone{ttl: time.Hour}
	ctl := &stubControl{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	mux.Handle("/identity/", ks)
	mux.Handle(hostAPIPath+"/", http.StripPrefix(hostAPIPath, hostapi.Handler(ctl, log, hostapi.Options{
		WaitBound: 50 * time.Millisecond,
		Authorize: func(r *http.Request) error {
			if !strings.HasPrefix(r.Header.Get("X-Auth-Token"), "tok-") {
				return hostapi.ErrUnauthorized
			}
			return nil
		},
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tokens := &keystoneTokens{authURL: srv.URL + "/identity/v3/auth/tokens", hc: srv.Client(), user: "admin", password: "secret", project: "admin"}
	c, err := hostapi.NewClient(srv.URL+hostAPIPath, tokens, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	host, err := detectHost(agentFlags{hostName: "h1"}, srv.URL, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	a, err := agent.New(agent.Config{Host: host, Control: c, DataDir: t.TempDir(), Hypervisor: hypervisortest.New(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ctl.registered) != 1 || ctl.registered[0].Name != "h1" {
		t.Errorf("registered %+v", ctl.registered)
	}
	// One State read: the bounded Waits that saw no change do not re-read it.
	if ctl.states != 1 {
		t.Errorf("read the state %d times, want 1", ctl.states)
	}
	if ks.issued != 1 {
		t.Errorf("issued %d tokens, want 1", ks.issued)
	}
}
