package hostapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
)

// fakeControl is an in-memory Control. It does not model the store: the
// revision only moves when a test calls bump, and State returns what a
// test put in states.
type fakeControl struct {
	mu       sync.Mutex
	rev      int64
	changed  chan struct{} // closed and replaced by bump
	hosts    map[string]Host
	states   map[string]*State
	servers  []ServerReport
	ports    []PortReport
	volumes  []VolumeReport
	consoles []ConsoleReport
	meta     map[string]*Metadata // by server ID and by network+"/"+address
	images   map[string][]byte
	uploads  map[string][]byte

	// imageFn, when set, replaces the images map.
	imageFn func(ctx context.Context, id string) (io.ReadCloser, *ImageInfo, error)
	// waitErr, when set, is what Wait fails with at once.
	waitErr error
}

var _ Control = (*fakeControl)(nil)

func newFake() *fakeControl {
	return &fakeControl{
		changed: make(chan struct{}), hosts: map[string]Host{}, states: map[string]*State{},
		meta: map[string]*Metadata{}, images: map[string][]byte{}, uploads: map[string][]byte{},
	}
}

func (f *fakeControl) bump() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rev++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeControl) Register(_ context.Context, h Host) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "host-" + h.Name
	f.hosts[id] = h
	return id, nil
}

func (f *fakeControl) State(_ context.Context, hostID string) (*State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hostID == "boom" {
		return nil, errors.New("database on fire")
	}
	st, ok := f.states[hostID]
	if !ok {
		return nil, fmt.Errorf("host %s: %w", hostID, ErrNotFound)
	}
	return st, nil
}

func (f *fakeControl) Wait(ctx context.Context, after int64) (int64, error) {
	for {
		f.mu.Lock()
		rev, ch, werr := f.rev, f.changed, f.waitErr
		f.mu.Unlock()
		if werr != nil {
			return 0, werr
		}
		if rev > after {
			return rev, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return rev, ctx.Err()
		}
	}
}

func (f *fakeControl) known(hostID string) error {
	if _, ok := f.hosts[hostID]; !ok {
		return fmt.Errorf("host %s: %w", hostID, ErrNotFound)
	}
	return nil
}

func (f *fakeControl) ReportServer(_ context.Context, hostID string, r ServerReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(hostID); err != nil {
		return err
	}
	f.servers = append(f.servers, r)
	return nil
}

func (f *fakeControl) ReportPorts(_ context.Context, hostID string, ports []PortReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(hostID); err != nil {
		return err
	}
	f.ports = append(f.ports, ports...)
	return nil
}

func (f *fakeControl) Tunnel(_ context.Context, hostID, tunnelID string) (io.ReadWriteCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(hostID); err != nil {
		return nil, err
	}
	if tunnelID != "t1" {
		return nil, ErrNotFound
	}
	// An echo: what the agent sends comes back.
	mine, theirs := net.Pipe()
	go func() { _, _ = io.Copy(mine, mine); mine.Close() }()
	return theirs, nil
}

func (f *fakeControl) ReportConsole(_ context.Context, hostID string, r ConsoleReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(hostID); err != nil {
		return err
	}
	f.consoles = append(f.consoles, r)
	return nil
}

func (f *fakeControl) ReportVolume(_ context.Context, hostID string, r VolumeReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(hostID); err != nil {
		return err
	}
	if r.VolumeID == "conflict" {
		return fault.New(fault.Conflict, "Volume %s is busy.", r.VolumeID)
	}
	f.volumes = append(f.volumes, r)
	return nil
}

func (f *fakeControl) Metadata(_ context.Context, q MetadataQuery) (*Metadata, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := q.ServerID
	if key == "" {
		key = q.NetworkID + "/" + q.Address
	}
	md, ok := f.meta[key]
	if !ok {
		return nil, ErrNotFound
	}
	return md, nil
}

func (f *fakeControl) Image(ctx context.Context, id string) (io.ReadCloser, *ImageInfo, error) {
	if f.imageFn != nil {
		return f.imageFn(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.images[id]
	if !ok {
		return nil, nil, fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), &ImageInfo{ID: id, Size: int64(len(b)), DiskFormat: "qcow2", Checksum: fmt.Sprintf("%x", sha256.Sum256(b))}, nil
}

func (f *fakeControl) UploadImage(_ context.Context, id string, r io.Reader, size int64) error {
	f.mu.Lock()
	_, ok := f.images[id]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fault.New(fault.BadRequest, "got %d bytes, expected %d", len(b), size)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads[id] = b
	return nil
}

// serve runs Handler over f behind the /host/v1 prefix, as the control
// plane mounts it, and returns a Client of it.
func serve(t *testing.T, f *fakeControl, tokens TokenSource, opts Options) (*Client, *httptest.Server) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	mux.Handle("/host/v1/", http.StripPrefix("/host/v1", Handler(f, log, opts)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL+"/host/v1/", tokens, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var se *StatusError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("error = %v, want status %d", err, status)
	}
}

func TestRegisterAndState(t *testing.T) {
	f := newFake()
	c, _ := serve(t, f, nil, Options{})
	ctx := t.Context()

	h := Host{Name: "h1", HypervisorType: "QEMU", HostIP: "10.0.0.2", VCPUs: 8, MemoryMB: 16384, DiskGB: 100, CPUInfo: map[string]any{"arch": "x86_64"}, NetworkNode: true}
	id, err := c.Register(ctx, h)
	if err != nil || id != "host-h1" {
		t.Fatalf("Register = %q, %v", id, err)
	}
	if got := f.hosts[id]; !reflect.DeepEqual(got, h) {
		t.Errorf("registered %+v, want %+v", got, h)
	}
	_, err = c.Register(ctx, Host{})
	wantStatus(t, err, http.StatusBadRequest)

	min := 22
	want := &State{
		Revision: 7, HostID: id,
		Servers:        []Server{{ID: "s1", Name: "vm", VMState: "building", TaskState: "spawning", Ports: []string{"p1"}, Volumes: []Volume{{VolumeID: "v1", Path: "/v/v1", Boot: true}}}},
		Networks:       []Network{{ID: "n1", Type: "vxlan", SegmentationID: 42, MTU: 1450, Subnets: []Subnet{{ID: "sn1", IPVersion: 4, CIDR: "10.1.0.0/24", EnableDHCP: true}}, Remotes: []string{"10.0.0.3"}}},
		Ports:          []Port{{ID: "p1", NetworkID: "n1", MAC: "fa:16:3e:00:00:01", AdminStateUp: true, FixedIPs: []FixedIP{{SubnetID: "sn1", IPAddress: "10.1.0.5"}}, PortSecurity: true, SecurityGroups: []string{"sg1"}}},
		SecurityGroups: []SecurityGroup{{ID: "sg1", Rules: []Rule{{ID: "r1", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: &min, PortRangeMax: &min}}}},
		Routers:        []Router{{ID: "r1", AdminStateUp: true, EnableSNAT: true, FloatingIPs: []FloatingIP{{ID: "f1", External: "172.24.4.10", Internal: "10.1.0.5", PortID: "p1"}}}},
		DHCP:           []DHCP{{NetworkID: "n1", PortID: "pd", Leases: []Lease{{PortID: "p1", MAC: "fa:16:3e:00:00:01", IP: "10.1.0.5", SubnetID: "sn1"}}}},
	}
	f.states[id] = want
	got, err := c.State(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("State = %+v\nwant %+v", got, want)
	}

	_, err = c.State(ctx, "nope")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("State of an unknown host: %v, want ErrNotFound", err)
	}
	wantStatus(t, err, http.StatusNotFound)

	// A plain error is a 500 with a generic message: the cause stays in
	// the server's log.
	_, err = c.State(ctx, "boom")
	wantStatus(t, err, http.StatusInternalServerError)
	if strings.Contains(err.Error(), "fire") {
		t.Errorf("500 leaks its cause: %v", err)
	}
}

func TestReports(t *testing.T) {
	f := newFake()
	c, _ := serve(t, f, nil, Options{})
	ctx := t.Context()
	id, err := c.Register(ctx, Host{Name: "h1"})
	if err != nil {
		t.Fatal(err)
	}

	sr := ServerReport{ServerID: "s1", Task: "spawning", VMState: "active", PowerState: 1}
	if err := c.ReportServer(ctx, id, sr); err != nil {
		t.Fatal(err)
	}
	if len(f.servers) != 1 || f.servers[0] != sr {
		t.Errorf("server reports = %+v", f.servers)
	}
	wantStatus(t, c.ReportServer(ctx, id, ServerReport{Task: "spawning"}), http.StatusBadRequest)
	if err := c.ReportServer(ctx, "nope", sr); !errors.Is(err, ErrNotFound) {
		t.Errorf("report for an unknown host: %v", err)
	}

	ports := []PortReport{{PortID: "p1", Status: "ACTIVE"}, {PortID: "p2", Status: "DOWN"}}
	if err := c.ReportPorts(ctx, id, ports); err != nil {
		t.Fatal(err)
	}
	if err := c.ReportPorts(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.ports, ports) {
		t.Errorf("port reports = %+v", f.ports)
	}
	wantStatus(t, c.ReportPorts(ctx, id, []PortReport{{Status: "ACTIVE"}}), http.StatusBadRequest)

	vr := VolumeReport{ServerID: "s1", VolumeID: "v1", Attached: true}
	if err := c.ReportVolume(ctx, id, vr); err != nil {
		t.Fatal(err)
	}
	if len(f.volumes) != 1 || f.volumes[0] != vr {
		t.Errorf("volume reports = %+v", f.volumes)
	}
	wantStatus(t, c.ReportVolume(ctx, id, VolumeReport{ServerID: "s1"}), http.StatusBadRequest)
	// A fault keeps its status and message.
	err = c.ReportVolume(ctx, id, VolumeReport{ServerID: "s1", VolumeID: "conflict"})
	wantStatus(t, err, http.StatusConflict)
	if !strings.Contains(err.Error(), "Volume conflict is busy.") {
		t.Errorf("fault message lost: %v", err)
	}

	cr := ConsoleReport{ID: "req-1", Output: "login:\n"}
	if err := c.ReportConsole(ctx, id, cr); err != nil {
		t.Fatal(err)
	}
	if len(f.consoles) != 1 || f.consoles[0] != cr {
		t.Errorf("console reports = %+v", f.consoles)
	}
	wantStatus(t, c.ReportConsole(ctx, id, ConsoleReport{Output: "x"}), http.StatusBadRequest)
	wantStatus(t, c.ReportConsole(ctx, id, ConsoleReport{ID: "big", Output: strings.Repeat("x", MaxConsoleOutput+1)}), http.StatusBadRequest)
	if err := c.ReportConsole(ctx, "nope", cr); !errors.Is(err, ErrNotFound) {
		t.Errorf("console report for an unknown host: %v", err)
	}
}

func TestMetadata(t *testing.T) {
	f := newFake()
	c, _ := serve(t, f, nil, Options{})
	ctx := t.Context()
	md := &Metadata{ServerID: "s1", MetaData: json.RawMessage(`{"uuid":"s1"}`), NetworkData: json.RawMessage(`{"links":[]}`), UserData: []byte("#!/bin/sh\necho hi\n")}
	f.meta["s1"] = md
	f.meta["n1/10.1.0.5"] = md

	for _, q := range []MetadataQuery{{ServerID: "s1"}, {NetworkID: "n1", Address: "10.1.0.5"}} {
		got, err := c.Metadata(ctx, q)
		if err != nil {
			t.Fatalf("Metadata(%+v): %v", q, err)
		}
		if !reflect.DeepEqual(got, md) {
			t.Errorf("Metadata(%+v) = %+v, want %+v", q, got, md)
		}
	}
	if _, err := c.Metadata(ctx, MetadataQuery{NetworkID: "n1", Address: "10.1.0.99"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown address: %v, want ErrNotFound", err)
	}
	_, err := c.Metadata(ctx, MetadataQuery{NetworkID: "n1"})
	wantStatus(t, err, http.StatusBadRequest)
}

func TestWait(t *testing.T) {
	f := newFake()
	f.rev = 5
	c, srv := serve(t, f, nil, Options{WaitBound: 300 * time.Millisecond})
	ctx := t.Context()

	// Already past: at once.
	if rev, err := c.Wait(ctx, 3); err != nil || rev != 5 {
		t.Fatalf("Wait(3) = %d, %v; want 5", rev, err)
	}

	// Returns on change, well before the bound.
	go func() {
		time.Sleep(50 * time.Millisecond)
		f.bump()
	}()
	start := time.Now()
	rev, err := c.Wait(ctx, 5)
	if err != nil || rev != 6 {
		t.Fatalf("Wait(5) = %d, %v; want 6", rev, err)
	}
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Errorf("Wait returned after %v, not on the change", d)
	}

	// Nothing changes: the server's bound ends it with the revision as is.
	start = time.Now()
	rev, err = c.Wait(ctx, 6)
	if err != nil || rev != 6 {
		t.Fatalf("Wait(6) = %d, %v; want 6 at the bound", rev, err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("Wait returned after %v, before the bound", d)
	}

	// The client's own timeout, should the server hold too long.
	c.WaitTimeout = 100 * time.Millisecond
	if _, err := c.Wait(ctx, 6); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past the client's timeout: %v", err)
	}
	c.WaitTimeout = time.Minute

	// Bad input.
	resp, err := srv.Client().Get(srv.URL + "/host/v1/wait?after=x")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, readError(resp), http.StatusBadRequest)

	// A failing Wait is an error, not a timeout.
	f.mu.Lock()
	f.waitErr = errors.New("store closed")
	f.mu.Unlock()
	_, err = c.Wait(ctx, 6)
	wantStatus(t, err, http.StatusInternalServerError)
}

func TestWait_Shutdown(t *testing.T) {
	f := newFake()
	f.rev = 2
	shutdown, stop := context.WithCancel(t.Context())
	c, _ := serve(t, f, nil, Options{Shutdown: shutdown})
	time.AfterFunc(50*time.Millisecond, stop)
	start := time.Now()
	rev, err := c.Wait(t.Context(), 2)
	if err != nil || rev != 2 {
		t.Fatalf("Wait = %d, %v; want 2", rev, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Wait held for %v past shutdown", d)
	}
}

func TestImages(t *testing.T) {
	f := newFake()
	c, srv := serve(t, f, nil, Options{})
	ctx := t.Context()
	data := make([]byte, 5<<20+123)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	f.images["img1"] = data

	rc, info, err := c.Image(ctx, "img1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes, not the image's %d", len(got), len(data))
	}
	want := ImageInfo{ID: "img1", Size: int64(len(data)), DiskFormat: "qcow2", Checksum: fmt.Sprintf("%x", sha256.Sum256(data))}
	if *info != want {
		t.Errorf("info = %+v, want %+v", *info, want)
	}
	if _, _, err := c.Image(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown image: %v", err)
	}

	// Upload from a seekable reader and from a plain one.
	up := bytes.Repeat([]byte("nubo"), 1<<20)
	if err := c.UploadImage(ctx, "img1", bytes.NewReader(up), int64(len(up))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.uploads["img1"], up) {
		t.Errorf("uploaded %d bytes, want %d", len(f.uploads["img1"]), len(up))
	}
	if err := c.UploadImage(ctx, "img1", io.MultiReader(bytes.NewReader(up[:10]), bytes.NewReader(up[10:])), int64(len(up))); err != nil {
		t.Fatal(err)
	}
	if err := c.UploadImage(ctx, "img1", strings.NewReader(""), 0); err != nil {
		t.Fatal(err)
	}
	if len(f.uploads["img1"]) != 0 {
		t.Errorf("empty upload left %d bytes", len(f.uploads["img1"]))
	}
	if err := c.UploadImage(ctx, "nope", bytes.NewReader(up), int64(len(up))); !errors.Is(err, ErrNotFound) {
		t.Errorf("upload to an unknown image: %v", err)
	}
	if err := c.UploadImage(ctx, "img1", bytes.NewReader(up[:100]), 200); err == nil {
		t.Error("upload shorter than its size succeeded")
	}
	if err := c.UploadImage(ctx, "img1", bytes.NewReader(up), -1); err == nil {
		t.Error("upload of unknown size succeeded")
	}

	// Without Content-Length (chunked): 411.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/host/v1/images/img1", io.MultiReader(strings.NewReader("abc")))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, readError(resp), http.StatusLengthRequired)
}

// TestImage_Streams checks that bytes reach the client while the server is
// still producing them, and that a stream cut short is an error.
func TestImage_Streams(t *testing.T) {
	f := newFake()
	pr, pw := io.Pipe()
	f.imageFn = func(context.Context, string) (io.ReadCloser, *ImageInfo, error) {
		return pr, &ImageInfo{ID: "big", Size: 4 << 20, DiskFormat: "raw"}, nil
	}
	c, _ := serve(t, f, nil, Options{})
	chunk := bytes.Repeat([]byte{0xab}, 1<<20)
	go pw.Write(chunk) //nolint:errcheck // the pipe reports to the reader

	rc, info, err := c.Image(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if info.Size != 4<<20 || info.DiskFormat != "raw" {
		t.Errorf("info = %+v", info)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(rc, make([]byte, len(chunk)))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first MiB did not arrive while the image was still being produced")
	}
	// The producer fails after 1 of 4 MiB: the client must see an error,
	// not a clean end.
	pw.CloseWithError(errors.New("disk read error"))
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("a truncated image read to a clean EOF")
	}
}

// TestImage_TruncatedChunked: without a known size the stream is chunked,
// and a failure must still not look like a clean end.
func TestImage_TruncatedChunked(t *testing.T) {
	f := newFake()
	f.imageFn = func(context.Context, string) (io.ReadCloser, *ImageInfo, error) {
		r := io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), iotestErrReader{})
		return io.NopCloser(r), &ImageInfo{ID: "x", DiskFormat: "raw"}, nil
	}
	c, _ := serve(t, f, nil, Options{})
	rc, _, err := c.Image(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("a failed chunked stream read to a clean EOF")
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("read error") }

// refreshingTokens hands out "stale" until invalidated, then "good".
type refreshingTokens struct {
	mu          sync.Mutex
	tok         string
	invalidated int
}

func (r *refreshingTokens) Token(context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok == "" {
		r.tok = "good"
	}
	return r.tok, nil
}

func (r *refreshingTokens) Invalidate(tok string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tok == r.tok {
		r.tok = ""
	}
	r.invalidated++
}

func TestAuthorize(t *testing.T) {
	f := newFake()
	f.images["img1"] = []byte("bytes")
	authorize := func(r *http.Request) error {
		switch r.Header.Get("X-Auth-Token") {
		case "good":
			return nil
		case "member":
			return ErrForbidden
		case "fault":
			return fault.New(fault.Unauthorized, "The request you have made requires authentication.")
		}
		return ErrUnauthorized
	}
	tokens := &refreshingTokens{tok: "stale"}
	c, srv := serve(t, f, tokens, Options{Authorize: authorize})
	ctx := t.Context()

	// A refused token is renewed once and the call retried.
	if _, err := c.Register(ctx, Host{Name: "h1"}); err != nil {
		t.Fatal(err)
	}
	if tokens.invalidated != 1 {
		t.Errorf("invalidated %d times, want 1", tokens.invalidated)
	}
	// Also for a seekable upload.
	tokens.tok = "stale"
	if err := c.UploadImage(ctx, "img1", strings.NewReader("new bytes"), 9); err != nil {
		t.Fatal(err)
	}
	if string(f.uploads["img1"]) != "new bytes" {
		t.Errorf("uploaded %q after a retry", f.uploads["img1"])
	}
	// A plain reader cannot be replayed: the 401 stands.
	tokens.tok = "stale"
	err := c.UploadImage(ctx, "img1", io.MultiReader(strings.NewReader("new bytes")), 9)
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("upload of a plain reader with a stale token: %v", err)
	}

	for _, tc := range []struct {
		name   string
		tokens TokenSource
		want   error
	}{
		{"no token", nil, ErrUnauthorized},
		{"static bad token", StaticToken("bad"), ErrUnauthorized},
		{"fault", TokenFunc(func(context.Context) (string, error) { return "fault", nil }), ErrUnauthorized},
		{"not admin", StaticToken("member"), ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(srv.URL+"/host/v1", tc.tokens, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.State(ctx, "x"); !errors.Is(err, tc.want) {
				t.Errorf("State = %v, want %v", err, tc.want)
			}
		})
	}

	// A token source that fails fails the call.
	c2, _ := NewClient(srv.URL+"/host/v1", TokenFunc(func(context.Context) (string, error) { return "", errors.New("keystone down") }), nil)
	if _, err := c2.State(ctx, "x"); err == nil || !strings.Contains(err.Error(), "keystone down") {
		t.Errorf("State with a failing token source: %v", err)
	}
}

func TestHandler_UnknownPathAndBadBody(t *testing.T) {
	f := newFake()
	_, srv := serve(t, f, nil, Options{})
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown path", "GET", "/host/v1/nothing", "", http.StatusNotFound},
		{"empty body", "POST", "/host/v1/hosts", "", http.StatusBadRequest},
		{"malformed body", "POST", "/host/v1/hosts", "{", http.StatusBadRequest},
		{"wrong type", "POST", "/host/v1/hosts", `{"name": 3}`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			wantStatus(t, readError(resp), tc.want)
		})
	}
}

func TestNewClient_BadURL(t *testing.T) {
	for _, u := range []string{"", "10.0.0.1:8770", "ftp://x/host/v1", "http://"} {
		if _, err := NewClient(u, nil, nil); err == nil {
			t.Errorf("NewClient(%q) accepted", u)
		}
	}
}

// TestTunnel: a tunnel call upgrades to a raw stream joined to the
// control plane's end (here an echo); an unknown tunnel is 404 and a call
// without the upgrade 426.
func TestTunnel(t *testing.T) {
	f := newFake()
	c, srv := serve(t, f, nil, Options{})
	ctx := t.Context()
	id, err := c.Register(ctx, Host{Name: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Tunnel(ctx, id, "t1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, msg := range []string{"RFB 003.008\n", strings.Repeat("x", 100000)} {
		if _, err := s.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(s, got); err != nil || string(got) != msg {
			t.Fatalf("echo of %d bytes: %v", len(msg), err)
		}
	}
	if _, err := c.Tunnel(ctx, id, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown tunnel: %v", err)
	}
	resp, err := http.Post(srv.URL+"/host/v1/hosts/"+id+"/tunnels/t1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("tunnel without Upgrade: %d", resp.StatusCode)
	}
}
