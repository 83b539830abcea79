package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// fakeControl is an in-memory control plane. With apply set, server
// reports change the State as the control plane would (task cleared,
// vm_state and power_state taken, gone servers dropped).
type fakeControl struct {
	mu      sync.Mutex
	cond    *sync.Cond
	st      hostapi.State
	apply   bool
	images  map[string][]byte
	formats map[string]string // image ID → disk_format (default qcow2)
	uploads map[string][]byte

	servers  []hostapi.ServerReport
	volumes  []hostapi.VolumeReport
	ports    []hostapi.PortReport
	consoles []hostapi.ConsoleReport

	imageHook   func(ctx context.Context) // called by Image (e.g. to block)
	reportErr   error                     // ReportServer fails with it when set
	registerErr int                       // Register fails this many times first
	registered  int
}

func newFakeControl() *fakeControl {
	c := &fakeControl{
		st:      hostapi.State{Revision: 1, HostID: "host-1"},
		images:  map[string][]byte{"img-1": []byte("QFI\xfb base image bytes")},
		uploads: map[string][]byte{},
		formats: map[string]string{},
	}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// set changes the State and bumps the revision.
func (c *fakeControl) set(fn func(st *hostapi.State)) {
	c.mu.Lock()
	fn(&c.st)
	c.st.Revision++
	c.mu.Unlock()
	c.cond.Broadcast()
}

// state returns a deep copy of the State.
func (c *fakeControl) state() *hostapi.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(c.st)
	var st hostapi.State
	json.Unmarshal(b, &st)
	return &st
}

func (c *fakeControl) serverReports() []hostapi.ServerReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.servers)
}

func (c *fakeControl) volumeReports() []hostapi.VolumeReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.volumes)
}

func (c *fakeControl) Register(ctx context.Context, h hostapi.Host) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.registered++
	if c.registered <= c.registerErr {
		return "", errors.New("control plane down")
	}
	return "host-1", nil
}

func (c *fakeControl) State(ctx context.Context, hostID string) (*hostapi.State, error) {
	if hostID != "host-1" {
		return nil, hostapi.ErrNotFound
	}
	return c.state(), nil
}

func (c *fakeControl) Wait(ctx context.Context, after int64) (int64, error) {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.st.Revision <= after && ctx.Err() == nil {
		c.cond.Wait()
	}
	return c.st.Revision, ctx.Err()
}

func (c *fakeControl) ReportServer(ctx context.Context, hostID string, r hostapi.ServerReport) error {
	c.mu.Lock()
	if c.reportErr != nil {
		c.mu.Unlock()
		return c.reportErr
	}
	c.servers = append(c.servers, r)
	apply := c.apply
	c.mu.Unlock()
	if !apply {
		return nil
	}
	c.set(func(st *hostapi.State) {
		for i := range st.Servers {
			sv := &st.Servers[i]
			if sv.ID != r.ServerID || sv.TaskState != r.Task {
				continue
			}
			if r.Gone && (r.Task == taskDeleting || r.Task == taskShelving) {
				st.Servers = slices.Delete(st.Servers, i, i+1)
				return
			}
			sv.TaskState = ""
			if r.Error == "" {
				sv.VMState, sv.PowerState = r.VMState, r.PowerState
			} else if r.Task == taskSpawning {
				sv.VMState = vmError
			}
			return
		}
	})
	return nil
}

func (c *fakeControl) ReportPorts(ctx context.Context, hostID string, ports []hostapi.PortReport) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ports = append(c.ports, ports...)
	return nil
}

func (c *fakeControl) ReportVolume(ctx context.Context, hostID string, r hostapi.VolumeReport) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.volumes = append(c.volumes, r)
	return nil
}

func (c *fakeControl) ReportConsole(ctx context.Context, hostID string, r hostapi.ConsoleReport) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consoles = append(c.consoles, r)
	// The control plane stops offering an answered request.
	c.st.Consoles = slices.DeleteFunc(c.st.Consoles, func(q hostapi.ConsoleRequest) bool { return q.ID == r.ID })
	c.st.Revision++
	c.cond.Broadcast()
	return nil
}

func (c *fakeControl) Tunnel(ctx context.Context, hostID, tunnelID string) (io.ReadWriteCloser, error) {
	return nil, hostapi.ErrNotFound
}

func (c *fakeControl) Metadata(ctx context.Context, q hostapi.MetadataQuery) (*hostapi.Metadata, error) {
	return &hostapi.Metadata{
		ServerID:    q.ServerID,
		MetaData:    json.RawMessage(fmt.Sprintf(`{"uuid":%q,"name":"vm","hostname":"vm","launch_index":0,"devices":[]}`, q.ServerID)),
		NetworkData: json.RawMessage(`{"links":[],"networks":[],"services":[]}`),
		UserData:    []byte("#!/bin/sh\necho hi\n"),
	}, nil
}

func (c *fakeControl) Image(ctx context.Context, imageID string) (io.ReadCloser, *hostapi.ImageInfo, error) {
	c.mu.Lock()
	b, ok := c.images[imageID]
	format := c.formats[imageID]
	hook := c.imageHook
	c.mu.Unlock()
	if hook != nil {
		hook(ctx)
	}
	if format == "" {
		format = "qcow2"
	}
	if !ok {
		return nil, nil, hostapi.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), &hostapi.ImageInfo{ID: imageID, Size: int64(len(b)), DiskFormat: format}, nil
}

func (c *fakeControl) UploadImage(ctx context.Context, imageID string, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("upload: %d bytes, announced %d", len(b), size)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploads[imageID] = b
	return nil
}

// fakeDisks writes small text files instead of images.
type fakeDisks struct {
	mu    sync.Mutex
	calls []string
}

func (d *fakeDisks) note(s string) {
	d.mu.Lock()
	d.calls = append(d.calls, s)
	d.mu.Unlock()
}

func (d *fakeDisks) Info(ctx context.Context, path, format string, shared bool) (qemuimg.Info, error) {
	if _, err := os.Stat(path); err != nil {
		return qemuimg.Info{}, err
	}
	return qemuimg.Info{Filename: path, Format: format, VirtualSize: 1 << 30}, nil
}

func (d *fakeDisks) Create(ctx context.Context, path, format string, size int64) error {
	d.note("create " + path)
	return os.WriteFile(path, fmt.Appendf(nil, "blank %s %d", format, size), 0o600)
}

func (d *fakeDisks) CreateOverlay(ctx context.Context, base, baseFormat, path string, size int64) error {
	d.note("overlay " + path)
	return os.WriteFile(path, fmt.Appendf(nil, "overlay on %s size %d", base, size), 0o600)
}

func (d *fakeDisks) Convert(ctx context.Context, src, srcFormat, dst, dstFormat string, shared bool) error {
	d.note("convert " + src)
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

func (d *fakeDisks) Resize(ctx context.Context, path, format string, size int64) error {
	d.note(fmt.Sprintf("resize %s %d", path, size))
	return nil
}
